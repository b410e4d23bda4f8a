import { spawn } from "node:child_process";
import * as path from "node:path";
import { findToolchain, runPulumi, type PulumiRun, type Toolchain } from "../devstack/toolchain";

/**
 * Pulumi as `npm run preview` uses it. Locally: the dev stack's file state in .pulumi-state/ (passphrase
 * `dev-only-passphrase` unless PULUMI_CONFIG_PASSPHRASE is set), like `npm run dev`. In CI the environment names the
 * state backend: PULUMI_BACKEND_URL (S3, or any backend URL), or PULUMI_ACCESS_TOKEN alone for Pulumi Cloud.
 */
export function previewToolchain(projectRoot: string, env: NodeJS.ProcessEnv = process.env): { toolchain: Toolchain; backend: string } {
  const toolchain = findToolchain(projectRoot, path.join(projectRoot, ".pulumi-state"));
  if (env.PULUMI_BACKEND_URL) {
    toolchain.env.PULUMI_BACKEND_URL = env.PULUMI_BACKEND_URL;
    return { toolchain, backend: "the state backend PULUMI_BACKEND_URL names" };
  }
  if (env.PULUMI_ACCESS_TOKEN) {
    delete toolchain.env.PULUMI_BACKEND_URL;
    return { toolchain, backend: "Pulumi Cloud (PULUMI_ACCESS_TOKEN)" };
  }
  return { toolchain, backend: ".pulumi-state/ (the dev stack's state)" };
}

export interface StackSummary {
  name: string;
  lastUpdate?: string;
  resourceCount?: number;
}

export function listStacks(toolchain: Toolchain, cwd: string): StackSummary[] {
  const run = runPulumi(toolchain, cwd, ["stack", "ls", "--json"]);
  if (run.status !== 0) throw new Error(`pulumi stack ls failed: ${lastLines(run)}`);
  // A Pulumi Cloud stack of another organisation is listed as <org>/<project>/<stack>.
  return (JSON.parse(run.stdout || "[]") as StackSummary[]).map((s) => ({ ...s, name: s.name.split("/").at(-1)! }));
}

/**
 * Creates the stack when it does not exist, without selecting it (every command names its stack): a person's
 * selected stack stays what it was. With the passphrase provider, `stack init` keeps the salt the stack file has.
 */
export function ensureStack(toolchain: Toolchain, cwd: string, stack: string): void {
  if (listStacks(toolchain, cwd).some((s) => s.name === stack)) return;
  const created = runPulumi(toolchain, cwd, ["stack", "init", stack, "--secrets-provider", "passphrase", "--no-select"]);
  if (created.status !== 0) throw new Error(`pulumi stack init ${stack} failed: ${lastLines(created)}`);
}

/** Runs pulumi with its output shown as it comes (a long `up` in a CI log) and kept, to find what failed. */
export function runPulumiShown(toolchain: Toolchain, cwd: string, args: readonly string[]): Promise<PulumiRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(toolchain.cli, [...args, "--non-interactive"], { cwd, env: toolchain.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

export function lastLines(run: PulumiRun, count = 5): string {
  return `${run.stderr}\n${run.stdout}`.trim().split("\n").filter((l) => l.trim() !== "").slice(-count).join(" | ");
}

/**
 * The tenants a failed run names: by their resources, whose names start with the tenant (model/naming.ts) and which
 * pulumi reports as `<type> (<name>):` followed by `error:`, or by their files in a validation error.
 */
export function failingTenants(output: string, tenants: readonly string[]): string[] {
  const names = [
    ...[...output.matchAll(/\(([a-z0-9][a-z0-9-]*)\):\s*\n\s*error:/g)].map((m) => m[1]!),
    ...[...output.matchAll(/([a-z0-9][a-z0-9-]*)\.ya?ml:[0-9]+:[0-9]+ /g)].map((m) => m[1]!),
  ];
  const byLength = [...tenants].sort((a, b) => b.length - a.length);
  const found = new Set<string>();
  for (const name of names) {
    const tenant = byLength.find((t) => name === t || name.startsWith(`${t}-`));
    if (tenant) found.add(tenant);
  }
  return tenants.filter((t) => found.has(t));
}

/** The first error pulumi reported, as one line. */
export function firstError(output: string): string | undefined {
  const line = output.split("\n").find((l) => /^\s*error:/.test(l));
  return line?.trim().replace(/^error:\s*/, "");
}
