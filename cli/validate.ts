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
  let json = false;
  const paths: string[] = [];
  for (const arg of args) {
    if (arg === "--json") json = true;
    else if (arg === "--help" || arg === "-h") return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };
    else if (arg.startsWith("-")) return { exitCode: 2, stdout: "", stderr: `unknown option "${arg}"\n${USAGE}\n` };
    else paths.push(arg);
  }
  const { files, missing } = readTenantPaths(paths.length > 0 ? paths : [path.join(projectRoot, "tenants")]);
  if (missing.length > 0) return { exitCode: 2, stdout: "", stderr: missing.map((p) => `no such file or directory: ${p}`).join("\n") + `\n${USAGE}\n` };
  if (files.length === 0) return { exitCode: 2, stdout: "", stderr: `no tenant files (*.yaml) found in ${paths.join(", ") || "tenants/"}\n${USAGE}\n` };

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
