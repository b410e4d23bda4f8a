import { renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { closestMatch, formatDiagnostic, formatPath, sortDiagnostics } from "../model/diagnostics";
import { parseImageRef } from "../model/image-ref";
import { readTenantDirectory, readTenantFile, type TenantSourceFile } from "../model/project-files";
import { TENANT_NAME_PATTERN } from "../model/tenant-schema";
import { validateTenants } from "../model/validate";
import { setStringAt } from "../model/yaml-edit";
import { parseYamlSource } from "../model/yaml-source";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import type { CliResult } from "./validate";

/**
 * `npm run set-image -- <tenant> <service> <image> [--stack <stack>]`: changes that one value in
 * tenants/<tenant>.yaml (with --stack, `overrides.<stack>.services.<service>.image`), byte for byte, and writes the
 * file only when every tenant still validates against every stack file. The image-published workflow runs it
 * (docs/promotion.md). Exit 0 written (or already so), 1 the result would be invalid, 2 usage.
 */

const PROJECT_ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: npm run set-image -- <tenant> <service> <image> [--stack <stack>] [--root <project-dir>]";

interface Options {
  tenant: string;
  service: string;
  image: string;
  stack?: string;
  root: string;
}

export function runSetImage(args: readonly string[], projectRoot = PROJECT_ROOT): CliResult {
  const usage = (message: string): CliResult => ({ exitCode: 2, stdout: "", stderr: `set-image: ${message}\n${USAGE}\n` });
  const parsed = parseArgs(args, projectRoot);
  if ("help" in parsed) return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };
  if ("usage" in parsed) return usage(parsed.usage);
  try {
    return setImage(parsed, usage);
  } catch (error) {
    // A bug must still leave one readable line, not a stack trace.
    return { exitCode: 1, stdout: "", stderr: `set-image failed: ${String((error as Error | undefined)?.message ?? error).split("\n")[0]}\n` };
  }
}

function parseArgs(args: readonly string[], projectRoot: string): Options | { usage: string } | { help: true } {
  const positional: string[] = [];
  const flags: Record<"stack" | "root", string | undefined> = { stack: undefined, root: undefined };
  let optionsEnd = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    // After `--` every argument is a value, so a payload like "--root=/" can never be read as an option.
    if (optionsEnd) {
      positional.push(arg);
      continue;
    }
    if (arg === "--") optionsEnd = true;
    else if (arg === "--help" || arg === "-h") return { help: true };
    else if (/^--(stack|root)(=|$)/.test(arg)) {
      const flag = /^--(stack|root)(?:=(.*))?$/.exec(arg)!;
      const name = flag[1] as "stack" | "root";
      const value = flag[2] ?? args[++i];
      if (value === undefined || value === "" || (flag[2] === undefined && value.startsWith("-"))) return { usage: `--${name} needs a value` };
      if (flags[name] !== undefined) return { usage: `--${name} given twice` };
      flags[name] = value;
    } else if (arg.startsWith("-")) return { usage: `unknown option ${quoted(arg)}` };
    else positional.push(arg);
  }
  if (positional.length !== 3) return { usage: `expected <tenant> <service> <image>, got ${positional.length} argument(s)` };
  const [tenant, service, image] = positional as [string, string, string];
  return { tenant, service, image, stack: flags.stack, root: path.resolve(flags.root ?? projectRoot) };
}

function setImage(options: Options, usage: (message: string) => CliResult): CliResult {
  const invalid = (lines: string[]): CliResult => ({ exitCode: 1, stdout: "", stderr: lines.map((l) => `${l}\n`).join("") });
  const tenantsDir = path.join(options.root, "tenants");
  if (!isDirectory(tenantsDir)) return usage(`no tenants/ directory in ${options.root}`);
  const all = readTenantDirectory(tenantsDir);
  const names = all.map((f) => path.basename(f.file).replace(/\.ya?ml$/, ""));
  const index = TENANT_NAME_PATTERN.test(options.tenant) ? names.indexOf(options.tenant) : -1;
  if (index === -1) return usage(`unknown tenant ${quoted(options.tenant)}${hint(options.tenant, names, "tenants")}`);

  const file = readTenantFile(path.join(tenantsDir, path.basename(all[index]!.file)));
  if (file.problem !== undefined) return invalid([`${file.file}: ${file.problem}`]);
  const source = parseYamlSource(file.file, file.text);
  if (source.diagnostics.length > 0 || !isPlainObject(source.value))
    return invalid([...source.diagnostics.map(formatDiagnostic), `${file.file}: cannot be edited until it is valid YAML with a map at the top (npm run validate)`]);

  const stacks = loadStacksFromFiles(options.root);
  const tenant = source.value;
  const baseServices = isPlainObject(tenant["services"]) ? Object.keys(tenant["services"]) : [];
  const overrides = isPlainObject(tenant["overrides"]) ? tenant["overrides"] : {};
  const overrideServices = (stack: string): Record<string, unknown> => {
    const services = (overrides[stack] as { services?: unknown } | null | undefined)?.services;
    return isPlainObject(services) ? services : {};
  };
  const label = `${options.tenant}/${options.service}${options.stack ? ` (stack ${options.stack})` : ""}`;

  let keyPath: string[];
  let effectiveBefore: unknown;
  if (options.stack === undefined) {
    if (!baseServices.includes(options.service)) {
      const onlyIn = Object.keys(overrides).filter((stack) => options.service in overrideServices(stack));
      const where = onlyIn.length > 0 ? `; it is defined only in overrides.${onlyIn[0]}: use --stack ${onlyIn[0]}` : "";
      return usage(`tenant ${options.tenant} has no service ${quoted(options.service)}${where || hint(options.service, baseServices, "services")}`);
    }
    keyPath = ["services", options.service, "image"];
    effectiveBefore = (tenant["services"] as Record<string, { image?: unknown }>)[options.service]?.image;
  } else {
    if (!stacks.stackNames.includes(options.stack)) return usage(`unknown stack ${quoted(options.stack)}${hint(options.stack, stacks.stackNames, "stacks")}`);
    const environments = Array.isArray(tenant["environments"]) ? (tenant["environments"] as unknown[]).map(String) : stacks.stackNames;
    if (!environments.includes(options.stack))
      return usage(`tenant ${options.tenant} does not run on stack ${options.stack} (environments: ${environments.join(", ")})`);
    const inOverride = overrideServices(options.stack);
    const known = [...new Set([...baseServices, ...Object.keys(inOverride)])];
    if (!known.includes(options.service)) return usage(`tenant ${options.tenant} has no service ${quoted(options.service)}${hint(options.service, known, "services")}`);
    keyPath = ["overrides", options.stack, "services", options.service, "image"];
    const own = (inOverride[options.service] as { image?: unknown } | null | undefined)?.image;
    effectiveBefore = own ?? (tenant["services"] as Record<string, { image?: unknown }>)[options.service]?.image;
  }

  if (parseImageRef(options.image) === undefined)
    return invalid([`${quoted(options.image)} is not an image reference like registry.example.com/team/app:1.2.3 or registry.example.com/team/app@sha256:<64 hex digits>; ${file.file} not changed`]);

  const edit = setStringAt(file.text, keyPath, options.image);
  if ("problem" in edit) return invalid([`${file.file} ${edit.problem}; not changed`]);
  const before = typeof effectiveBefore === "string" ? effectiveBefore : "(none)";
  if (edit.text === file.text) return { exitCode: 0, stdout: `${label}: already ${options.image}, nothing to change\n`, stderr: "" };

  // The same validation as `npm run validate`: every tenant file (this one as edited) against every stack file.
  const files: TenantSourceFile[] = all.map((f, i) => (i === index ? { file: file.file, text: edit.text } : f));
  const result = validateTenants({ files, stacks: stacks.stacks, stackNames: stacks.stackNames });
  const diagnostics = sortDiagnostics([...stacks.diagnostics, ...result.diagnostics]);
  if (diagnostics.length > 0)
    return invalid([...diagnostics.map(formatDiagnostic), `${file.file} not changed: with ${formatPath(keyPath)} = ${options.image} the tenants would not validate`]);

  writeAtomically(path.join(tenantsDir, path.basename(file.file)), edit.text);
  const notes = options.stack === undefined ? shadowingOverrides(overrides, options.service, overrideServices) : [];
  return { exitCode: 0, stdout: [`${label}: ${before} → ${options.image}`, ...notes].map((l) => `${l}\n`).join(""), stderr: "" };
}

/** Stacks whose override pins its own image for the service: a base change does not reach them. */
function shadowingOverrides(overrides: Record<string, unknown>, service: string, servicesOf: (stack: string) => Record<string, unknown>): string[] {
  return Object.keys(overrides).flatMap((stack) => {
    const image = (servicesOf(stack)[service] as { image?: unknown } | null | undefined)?.image;
    return typeof image === "string" ? [`note: stack ${stack} keeps its own image ${image} (overrides.${stack}.services.${service}.image)`] : [];
  });
}

/** Written beside the file, then renamed over it: a reader (or a crash) never sees half a file. */
function writeAtomically(file: string, text: string): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.set-image-${process.pid}`);
  writeFileSync(temporary, text, { mode: statSync(file).mode & 0o777 });
  renameSync(temporary, file);
}

/** Values come from a dispatch's payload too: quoted as JSON, so a line break in one cannot start a new message line. */
function quoted(value: string): string {
  return JSON.stringify(value);
}

function hint(word: string, candidates: readonly string[], what: string): string {
  const close = closestMatch(word, candidates);
  return ` (${close ? `did you mean "${close}"? ` : ""}${what}: ${candidates.join(", ") || "none"})`;
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

if (require.main === module) {
  const result = runSetImage(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
