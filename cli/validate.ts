import * as path from "node:path";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../model/diagnostics";
import { readTenantPaths } from "../model/project-files";
import { validateTenants, type TenantValidationResult } from "../model/validate";
import type { StackDefinition } from "../stacks/definition";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import { placementTable, tenantSummaries } from "./validate-report";

/**
 * `npm run validate [-- [--json] <file-or-dir>...]`: checks tenant files against every stack file, with no Pulumi
 * CLI, credentials or network. Exit 0 valid, 1 invalid, 2 usage error.
 */

const PROJECT_ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: npm run validate -- [--json] [<tenant-file-or-directory>...]   (default: tenants/)";

export interface CliResult {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

export function runValidate(args: readonly string[], projectRoot = PROJECT_ROOT): CliResult {
  const json = args.includes("--json");
  // With --json every outcome, usage errors included, is JSON on stdout for bots to parse; without it, sentences on stderr.
  const fail = (exitCode: 1 | 2, message: string, key: "usageError" | "internalError"): CliResult =>
    json
      ? { exitCode, stdout: `${JSON.stringify({ valid: false, [key]: message, tenants: [], errors: [] }, null, 2)}\n`, stderr: "" }
      : { exitCode, stdout: "", stderr: `${message}\n${exitCode === 2 ? `${USAGE}\n` : ""}` };
  const paths: string[] = [];
  for (const arg of args) {
    if (arg === "--json") continue;
    else if (arg === "--help" || arg === "-h") return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };
    else if (arg.startsWith("-")) return fail(2, `unknown option "${arg}"`, "usageError");
    else paths.push(arg);
  }
  try {
    return validatePaths(paths, projectRoot, json, (message) => fail(2, message, "usageError"));
  } catch (error) {
    // A bug must still leave one readable line (and JSON for bots), not a stack trace.
    return fail(1, `validate failed: ${String((error as Error | undefined)?.message ?? error).split("\n")[0]}`, "internalError");
  }
}

function validatePaths(paths: readonly string[], projectRoot: string, json: boolean, usageError: (message: string) => CliResult): CliResult {
  const { files, usageErrors } = readTenantPaths(paths.length > 0 ? paths : [path.join(projectRoot, "tenants")]);
  if (usageErrors.length > 0) return usageError(usageErrors.join("\n"));
  if (files.length === 0) return usageError(`no tenant files (*.yaml) found in ${paths.join(", ") || "tenants/"}`);

  const stacks = loadStacksFromFiles(projectRoot);
  const result = validateTenants({ files, stacks: stacks.stacks, stackNames: stacks.stackNames });
  const diagnostics = sortDiagnostics([...stacks.diagnostics, ...result.diagnostics]);
  const exitCode = diagnostics.length === 0 ? 0 : 1;
  if (json) return { exitCode, stdout: `${JSON.stringify(jsonReport(result, diagnostics, stacks.stacks), null, 2)}\n`, stderr: "" };
  if (exitCode === 1) {
    const lines = diagnostics.map(formatDiagnostic);
    return { exitCode, stdout: "", stderr: `${lines.join("\n")}\n${lines.length} problem(s) in ${new Set(diagnostics.map((d) => d.file)).size} file(s)\n` };
  }
  return { exitCode, stdout: placementTable(tenantSummaries(result, stacks.stacks), stacks.stacks), stderr: "" };
}

function jsonReport(result: TenantValidationResult, diagnostics: readonly Diagnostic[], stacks: readonly StackDefinition[]) {
  return { valid: diagnostics.length === 0, tenants: tenantSummaries(result, stacks), errors: diagnostics };
}

if (require.main === module) {
  const result = runValidate(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
