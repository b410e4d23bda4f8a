import { existsSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { converge } from "../converge/converge";

/**
 * `npm run converge -- --stack <s> [--lock-timeout-minutes <m>] [--dry-run] [--cwd <project>]`: run before
 * `pulumi up` (the deploy jobs do), so that an up after a killed run converges by itself (converge/converge.ts,
 * docs/pipeline.md#an-interrupted-deploy). One line per finding and action on stdout. Exit codes (fixed): 0 the
 * stack is ready for `up` (or was already), 1 it is not and nothing was changed (a live lock, an unreachable host
 * with pending operations, a failed step: one line on stderr), 2 usage, 3 ready except on the hosts that do not
 * answer (named on stderr: deploy without --refresh and with --continue-on-error).
 */

const TOOL_ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: npm run converge -- --stack <stack> [--lock-timeout-minutes <minutes>] [--dry-run] [--cwd <project-dir>]";
/** The deploy jobs' timeout-minutes (.github/workflows/deploy.yml), which pass it explicitly too. */
export const DEFAULT_LOCK_TIMEOUT_MINUTES = 45;

export interface CliResult {
  exitCode: 0 | 1 | 2 | 3;
  stdout: string;
  stderr: string;
}

export async function runConverge(args: readonly string[]): Promise<CliResult> {
  const usage = (message: string): CliResult => ({ exitCode: 2, stdout: "", stderr: `converge: ${message}\n${USAGE}\n` });
  let options: { stack?: string; cwd?: string; "lock-timeout-minutes"?: string; "dry-run"?: boolean; help?: boolean };
  try {
    options = parseArgs({
      args: [...args],
      options: {
        stack: { type: "string" },
        cwd: { type: "string" },
        "lock-timeout-minutes": { type: "string" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return usage((error as Error).message.split("\n")[0]!);
  }
  if (options.help) return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };
  if (!options.stack) return usage("--stack is required");
  const timeoutText = options["lock-timeout-minutes"] ?? String(DEFAULT_LOCK_TIMEOUT_MINUTES);
  const lockTimeoutMinutes = Number(timeoutText);
  if (!/^[0-9]+$/.test(timeoutText) || lockTimeoutMinutes < 1) return usage(`--lock-timeout-minutes must be a whole number of minutes, at least 1 (got "${timeoutText}")`);
  const projectDir = path.resolve(options.cwd ?? TOOL_ROOT);
  if (!existsSync(path.join(projectDir, "Pulumi.yaml"))) return usage(`${projectDir} is not a Pulumi project (no Pulumi.yaml)`);

  const result = await converge({ stack: options.stack, projectDir, toolRoot: TOOL_ROOT, lockTimeoutMinutes, dryRun: options["dry-run"] ?? false });
  const stdout = result.lines.map((line) => `converge: ${line}\n`).join("");
  if (result.exitCode === 0) return { exitCode: 0, stdout, stderr: "" };
  return { exitCode: result.exitCode, stdout, stderr: `converge: ${result.error}\n${result.exitCode === 2 ? `${USAGE}\n` : ""}` };
}

if (require.main === module) {
  void runConverge(process.argv.slice(2)).then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
}
