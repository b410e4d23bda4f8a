import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { missingImages, runPulumi, type Toolchain } from "../devstack/toolchain";
import { formatDiagnostic } from "../model/diagnostics";
import { dockerNames, LABEL } from "../model/naming";
import { parsePreviewStackName, previewStackName, type PreviewName } from "../model/preview-stack";
import { displayPath, listStackNames, readTenantDirectory, stackFileName } from "../model/project-files";
import type { StackDefinition } from "../model/stack";
import type { TenantPlan } from "../model/tenant-plan";
import { validateTenants, type TenantValidationResult } from "../model/validate";
import { loadStackFromFile } from "../stacks/load-from-files";
import { UsageError, type AppUp, type PlatformUp, type PreviewCommand } from "./args";
import { changedTenants, defaultSince, GitError } from "./changed-tenants";
import { ensureStack, failingTenants, firstError, lastLines, listStacks, runPulumiShown } from "./pulumi";
import { hasStackFile, removePreviewStackFile, writePreviewStackFile, type PreviewKey } from "./stack-file";

/**
 * What `npm run preview` does: bring a preview stack up beside its base, take it down, list and sweep them. Every
 * failure names the preview's tenants and the step that failed; a mistake in the request is a UsageError (exit 2).
 */

export interface PreviewContext {
  projectRoot: string;
  /** Found only when a step needs pulumi, so usage mistakes are reported without a toolchain. */
  toolchain(): Toolchain;
  log(line: string): void;
}

export class PreviewFailure extends Error {
  constructor(stack: string, tenants: readonly string[], step: string, detail: string) {
    const who = tenants.length === 0 ? "" : `${tenants.length === 1 ? "tenant" : "tenants"} ${tenants.join(", ")}, `;
    super(`preview ${stack} failed: ${who}step "${step}": ${detail}`);
  }
}

/** One preview stack as `list` shows it (and `list --json` prints, one object each). */
export interface PreviewSummary {
  stack: string;
  kind: "pr" | "app";
  pr: number;
  repo?: string;
  base?: string;
  tenants: string[];
  /** Per tenant, its URLs. */
  urls: Record<string, string[]>;
  lastUpdate?: string;
}

export async function runPreview(command: PreviewCommand, ctx: PreviewContext): Promise<number> {
  switch (command.action) {
    case "up":
      return "app" in command ? upApp(command, ctx) : upPlatform(command, ctx);
    case "down":
      return down(command.repo !== undefined ? { pr: command.pr, repo: command.repo } : { pr: command.pr }, ctx);
    case "list":
      return list(command.json, ctx);
    case "sweep":
      return sweep(command.open, command.maxAgeHours, ctx);
  }
}

interface BaseView {
  stack: StackDefinition;
  tenantsDir: string;
  /** The tenant files checked against the base alone: which tenants run there and how. */
  check: TenantValidationResult;
}

function loadBase(projectRoot: string, base: string): BaseView {
  if (!existsSync(path.join(projectRoot, stackFileName(base)))) {
    const stacks = listStackNames(projectRoot).filter((s) => !parsePreviewStackName(s));
    throw new UsageError(`--base ${base}: no ${stackFileName(base)} (stacks: ${stacks.join(", ")})`);
  }
  const loaded = loadStackFromFile(projectRoot, base);
  if (!loaded.stack) throw new PreviewFailure(previewOf(base), [], `stack ${base}`, loaded.diagnostics.map(formatDiagnostic).join("\n"));
  const tenantsDir = path.resolve(projectRoot, loaded.stack.tenantsDir);
  const check = validateTenants({ files: readTenantDirectory(tenantsDir), stacks: [loaded.stack], stackNames: listStackNames(projectRoot) });
  return { stack: loaded.stack, tenantsDir, check };
}

const previewOf = (base: string) => `beside ${base}`;

function tenantFileExists(base: BaseView, tenant: string): boolean {
  return [".yaml", ".yml"].some((ext) => existsSync(path.join(base.tenantsDir, `${tenant}${ext}`)));
}

/** A tenant the request names must have a file and run on the base; a file that does not parse is left to `validate`. */
function requireTenant(base: BaseView, tenant: string): void {
  if (!tenantFileExists(base, tenant))
    throw new UsageError(`unknown tenant "${tenant}": no ${displayPath(path.join(base.tenantsDir, `${tenant}.yaml`))}`);
  const parsed = base.check.tenants.find((t) => t.name === tenant);
  if (parsed && !parsed.environments.includes(base.stack.name))
    throw new UsageError(`tenant ${tenant} does not run on stack ${base.stack.name} (${parsed.file} environments: ${parsed.environments.join(", ")})`);
}

async function upPlatform(command: PlatformUp, ctx: PreviewContext): Promise<number> {
  const stack = previewStackName({ pr: command.pr });
  const base = loadBase(ctx.projectRoot, command.base);
  let tenants: string[];
  if (command.tenants) {
    for (const tenant of command.tenants) requireTenant(base, tenant);
    tenants = command.tenants;
  } else {
    let since: string;
    let changed: string[];
    try {
      since = command.since ?? defaultSince(ctx.projectRoot);
      changed = changedTenants(ctx.projectRoot, base.stack.tenantsDir, since);
    } catch (error) {
      if (error instanceof GitError && command.since !== undefined && error.message.startsWith("--since")) throw new UsageError(error.message);
      throw new PreviewFailure(stack, [], "changed tenants", (error as Error).message);
    }
    if (changed.length === 0) {
      ctx.log(`preview ${stack}: no tenant file added or changed since ${since.slice(0, 12)}: nothing to preview`);
      return 0;
    }
    const elsewhere = changed.filter((t) => {
      const parsed = base.check.tenants.find((p) => p.name === t);
      return parsed !== undefined && !parsed.environments.includes(base.stack.name);
    });
    for (const tenant of elsewhere) ctx.log(`preview ${stack}: ${tenant} changed but does not run on stack ${base.stack.name}: not previewed`);
    tenants = changed.filter((t) => !elsewhere.includes(t));
    if (tenants.length === 0) {
      ctx.log(`preview ${stack}: no changed tenant runs on stack ${base.stack.name}: nothing to preview`);
      return 0;
    }
    ctx.log(`preview ${stack}: tenants added or changed since ${since.slice(0, 12)}: ${tenants.join(", ")}`);
  }
  return deploy(ctx, stack, base, { base: base.stack.name, pr: command.pr, tenants, edgePauseIds: {} });
}

async function upApp(command: AppUp, ctx: PreviewContext): Promise<number> {
  const { repo, tenant, service, image } = command.app;
  const stack = previewStackName({ pr: command.pr, repo });
  const base = loadBase(ctx.projectRoot, command.base);
  requireTenant(base, tenant);
  const plan = base.check.plans[base.stack.name]?.find((p) => p.name === tenant);
  if (plan && !plan.services.some((s) => s.name === service))
    throw new UsageError(`unknown service "${service}" of tenant ${tenant} (services: ${plan.services.map((s) => s.name).join(", ")})`);
  return deploy(ctx, stack, base, { base: base.stack.name, pr: command.pr, tenants: [tenant], app: { repo, service, image }, edgePauseIds: {} });
}

async function deploy(ctx: PreviewContext, stack: string, base: BaseView, key: PreviewKey): Promise<number> {
  const fail = (step: string, detail: string, tenants: readonly string[] = key.tenants) => new PreviewFailure(stack, tenants, step, detail);
  const edgePauseIds = baseEdgePauseIds(base.stack, (detail) => fail("base edge", detail));
  writePreviewStackFile(ctx.projectRoot, stack, { ...key, edgePauseIds });
  ctx.log(`preview ${stack}: wrote ${stackFileName(stack)} from ${stackFileName(key.base)} (not committed), tenants ${key.tenants.join(", ")}`);

  // The program validates too; checking first names the tenant before anything is created.
  const plans = validatePreview(ctx.projectRoot, stack, (detail, tenants) => fail("validate", detail, tenants));
  if (Object.values(base.stack.hosts).every((h) => h.url.startsWith("unix://"))) {
    const missing = missingImages(plans.flatMap(imagesOf));
    if (missing.length > 0) throw fail("images", `local images missing: ${missing.join(", ")}: run \`npm run images\``);
  }

  const toolchain = ctx.toolchain();
  try {
    ensureStack(toolchain, ctx.projectRoot, stack);
  } catch (error) {
    throw fail("stack init", (error as Error).message);
  }
  const run = await runPulumiShown(toolchain, ctx.projectRoot, ["up", "--yes", "--skip-preview", "--stack", stack]);
  if (run.status !== 0) {
    const output = `${run.stdout}\n${run.stderr}`;
    const named = failingTenants(output, key.tenants);
    throw fail("pulumi up", firstError(output) ?? lastLines(run), named.length > 0 ? named : key.tenants);
  }
  const summary = summarize(toolchain, ctx.projectRoot, { name: stack });
  ctx.log(`\npreview ${stack} is up beside ${key.base}:`);
  for (const tenant of key.tenants) ctx.log(`  ${tenant.padEnd(20)} ${summary.urls[tenant]?.join("  ") || "(no routes)"}`);
  return 0;
}

function validatePreview(projectRoot: string, stack: string, fail: (detail: string, tenants: readonly string[]) => Error): TenantPlan[] {
  const loaded = loadStackFromFile(projectRoot, stack);
  const preview = loaded.stack?.preview;
  const tenants = preview?.tenants ?? [];
  if (!loaded.stack) throw fail(loaded.diagnostics.map(formatDiagnostic).join("\n"), tenants);
  const result = validateTenants({
    files: readTenantDirectory(path.resolve(projectRoot, loaded.stack.tenantsDir)),
    stacks: [loaded.stack],
    stackNames: listStackNames(projectRoot),
  });
  if (result.diagnostics.length > 0) {
    const text = result.diagnostics.map(formatDiagnostic).join("\n");
    const named = failingTenants(text, tenants);
    throw fail(`\n${text}`, named.length > 0 ? named : tenants);
  }
  return result.plans[stack] ?? [];
}

function imagesOf(plan: TenantPlan): string[] {
  return [...plan.services.map((s) => s.runImage), ...(plan.database ? [plan.database.image] : []), ...(plan.cache ? [plan.cache.image] : [])];
}

/**
 * The base's edge on each host: its pause container must run (the preview's networks attach to it). Its id goes in
 * the preview's config, so a base whose edge was re-created since gets the preview's networks attached again.
 */
function baseEdgePauseIds(base: StackDefinition, fail: (detail: string) => Error): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const host of Object.values(base.hosts)) {
    const pause = dockerNames.edgePause(base.name);
    const inspect = docker(host.url, ["inspect", "-f", "{{.Id}} {{.State.Running}}", pause]);
    const [id, running] = inspect.stdout.trim().split(" ");
    if (inspect.status !== 0 || running !== "true" || !id)
      throw fail(`stack ${base.name}'s edge is not running on host ${host.name} (${pause}: ${inspect.stderr.trim() || "not running"}): bring ${base.name} up first${base.name === "dev" ? " (npm run dev)" : ""}`);
    ids[host.name] = id;
  }
  return ids;
}

function docker(hostUrl: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync("docker", args, { encoding: "utf8", env: { ...process.env, DOCKER_HOST: hostUrl } });
  if (result.error) return { status: 1, stdout: "", stderr: `docker: ${result.error.message}` };
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

interface StackOutputs {
  preview?: { base: string; pr: number; tenants: string[]; app?: { repo: string } };
  tenants?: Record<string, { urls: string[] }>;
  edges?: Record<string, { dockerHost: string }>;
}

function outputsOf(toolchain: Toolchain, projectRoot: string, stack: string): StackOutputs {
  const run = runPulumi(toolchain, projectRoot, ["stack", "output", "--json", "--stack", stack]);
  if (run.status !== 0) return {};
  try {
    return JSON.parse(run.stdout || "{}") as StackOutputs;
  } catch {
    return {};
  }
}

function summarize(toolchain: Toolchain, projectRoot: string, stack: { name: string; lastUpdate?: string }): PreviewSummary & { hosts: string[] } {
  const name = parsePreviewStackName(stack.name)!;
  const outputs = outputsOf(toolchain, projectRoot, stack.name);
  const tenants = outputs.preview?.tenants ?? Object.keys(outputs.tenants ?? {});
  return {
    stack: stack.name,
    kind: "repo" in name ? "app" : "pr",
    pr: name.pr,
    ...("repo" in name ? { repo: name.repo } : {}),
    ...(outputs.preview?.base ? { base: outputs.preview.base } : {}),
    tenants,
    urls: Object.fromEntries(tenants.map((t) => [t, outputs.tenants?.[t]?.urls ?? []])),
    ...(stack.lastUpdate ? { lastUpdate: stack.lastUpdate } : {}),
    hosts: Object.values(outputs.edges ?? {}).map((e) => e.dockerHost),
  };
}

function previewStacks(ctx: PreviewContext) {
  return listStacks(ctx.toolchain(), ctx.projectRoot).filter((s) => parsePreviewStackName(s.name) !== undefined);
}

/** Destroys the preview, removes its stack and its file, and checks its hosts keep nothing of it. */
async function down(name: PreviewName, ctx: PreviewContext): Promise<number> {
  const stack = previewStackName(name);
  const toolchain = ctx.toolchain();
  const existing = previewStacks(ctx).find((s) => s.name === stack);
  if (!existing) {
    removePreviewStackFile(ctx.projectRoot, stack);
    ctx.log(`preview ${stack}: no such stack, nothing to remove`);
    return 0;
  }
  const summary = summarize(toolchain, ctx.projectRoot, existing);
  const fail = (step: string, detail: string) => new PreviewFailure(stack, summary.tenants, step, detail);
  const destroy = await runPulumiShown(toolchain, ctx.projectRoot, ["destroy", "--yes", "--skip-preview", "--stack", stack]);
  if (destroy.status !== 0) throw fail("destroy", firstError(`${destroy.stdout}\n${destroy.stderr}`) ?? lastLines(destroy));
  const removed = runPulumi(toolchain, ctx.projectRoot, ["stack", "rm", "--yes", "--stack", stack]);
  if (removed.status !== 0) throw fail("stack rm", lastLines(removed));
  if (hasStackFile(ctx.projectRoot, stack)) removePreviewStackFile(ctx.projectRoot, stack);
  const left = leftovers(stack, summary.hosts);
  if (left.length > 0) throw fail("leftovers", `still on its hosts after destroy: ${left.join(", ")}`);
  ctx.log(`preview ${stack}: removed (no container, network, volume or stack left)`);
  return 0;
}

/** Docker objects still labelled with the stack on its hosts. */
function leftovers(stack: string, hosts: readonly string[]): string[] {
  const filter = ["--filter", `label=${LABEL.stack}=${stack}`];
  const found: string[] = [];
  for (const host of hosts) {
    for (const [kind, args] of [
      ["container", ["ps", "-a", "--format", "{{.Names}}", ...filter]],
      ["network", ["network", "ls", "--format", "{{.Name}}", ...filter]],
      ["volume", ["volume", "ls", "--format", "{{.Name}}", ...filter]],
    ] as const) {
      const result = docker(host, [...args]);
      for (const item of result.stdout.split("\n").filter(Boolean)) found.push(`${kind} ${item}`);
    }
  }
  return found;
}

function list(json: boolean, ctx: PreviewContext): number {
  const toolchain = ctx.toolchain();
  const summaries = previewStacks(ctx).map((s) => {
    const { hosts: _hosts, ...summary } = summarize(toolchain, ctx.projectRoot, s);
    return summary;
  });
  if (json) {
    ctx.log(JSON.stringify(summaries, null, 2));
    return 0;
  }
  if (summaries.length === 0) ctx.log("no preview stacks");
  for (const s of summaries) {
    ctx.log(`${s.stack}${s.base ? ` (beside ${s.base})` : ""}, last update ${s.lastUpdate ?? "unknown"}`);
    for (const tenant of s.tenants) ctx.log(`  ${tenant.padEnd(20)} ${s.urls[tenant]?.join("  ") || "(no routes)"}`);
  }
  return 0;
}

/**
 * Removes the previews whose pull request is closed (a platform `pr-<n>` not in `open`) or older than the age.
 * An application repository's previews belong to pull requests elsewhere: only the age removes them here.
 */
async function sweep(open: readonly number[], maxAgeHours: number | undefined, ctx: PreviewContext): Promise<number> {
  const now = Date.now();
  const failures: string[] = [];
  let removed = 0;
  for (const stack of previewStacks(ctx)) {
    const name = parsePreviewStackName(stack.name)!;
    const ageHours = stack.lastUpdate ? (now - Date.parse(stack.lastUpdate)) / 3_600_000 : undefined;
    const closed = !("repo" in name) && !open.includes(name.pr);
    const old = maxAgeHours !== undefined && ageHours !== undefined && ageHours > maxAgeHours;
    if (!closed && !old) continue;
    ctx.log(`sweep: ${stack.name}: ${closed ? `pull request ${name.pr} is not open` : `last updated ${ageHours!.toFixed(1)} h ago`}`);
    try {
      await down(name, ctx);
      removed += 1;
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  ctx.log(`sweep: removed ${removed} preview(s)${failures.length > 0 ? `, ${failures.length} failed` : ""}`);
  if (failures.length === 0) return 0;
  throw new Error(failures.join("\n"));
}
