import { existsSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { findToolchain } from "../devstack/toolchain";
import { formatDiagnostic } from "../model/diagnostics";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import { chooseBackend } from "../status/backend";
import { readDeployment } from "../status/deployment";
import { observeHost, type HostTarget } from "../status/docker-host";
import { renderStatus } from "../status/render";
import { buildStatus, namesExpected } from "../status/report";

/**
 * `npm run status -- --stack <s> [--json] [--cwd <project>]`: per tenant, the image each service runs, container
 * health, restarts and URLs, from the stack's state (its outputs and the containers it holds) and its Docker hosts.
 * Exit codes (fixed): 0 all healthy, 1 something unhealthy, missing, a container the state does not know, a stale
 * edge or a host unreachable (also: no state yet), 2 usage.
 */

const TOOL_ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: npm run status -- --stack <stack> [--json] [--cwd <project-dir>]";

export interface CliResult {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

export async function runStatus(args: readonly string[]): Promise<CliResult> {
  const json = args.includes("--json");
  // With --json every outcome is JSON on stdout, errors included; without it, sentences on stderr.
  const fail = (exitCode: 1 | 2, message: string): CliResult =>
    json
      ? { exitCode, stdout: `${JSON.stringify({ error: message }, null, 2)}\n`, stderr: "" }
      : { exitCode, stdout: "", stderr: `status: ${message}\n${exitCode === 2 ? `${USAGE}\n` : ""}` };

  let options: { stack?: string; cwd?: string; help?: boolean };
  try {
    options = parseArgs({
      args: [...args],
      options: { stack: { type: "string" }, json: { type: "boolean" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return fail(2, (error as Error).message.split("\n")[0]!);
  }
  if (options.help) return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };
  if (!options.stack) return fail(2, "--stack is required");
  const projectDir = path.resolve(options.cwd ?? TOOL_ROOT);
  if (!existsSync(path.join(projectDir, "Pulumi.yaml"))) return fail(2, `${projectDir} is not a Pulumi project (no Pulumi.yaml)`);

  try {
    return await status(options.stack, projectDir, json, fail);
  } catch (error) {
    // A bug or a missing tool must still leave one readable line (and JSON for bots), not a stack trace.
    return fail(1, String((error as Error | undefined)?.message ?? error).split("\n")[0]!);
  }
}

async function status(stackName: string, projectDir: string, json: boolean, fail: (code: 1 | 2, message: string) => CliResult): Promise<CliResult> {
  const { stacks, stackNames, diagnostics } = loadStacksFromFiles(projectDir);
  if (!stackNames.includes(stackName)) return fail(2, `unknown stack "${stackName}" (stacks: ${stackNames.join(", ") || "none"})`);
  const stack = stacks.find((s) => s.name === stackName);
  if (!stack) return fail(1, diagnostics.filter((d) => path.basename(d.file) === `Pulumi.${stackName}.yaml`).map(formatDiagnostic).join("; ") || `Pulumi.${stackName}.yaml is invalid`);

  const backend = chooseBackend(process.env, projectDir, stack);
  // The toolchain is this repository's (its .engine/bin), even when the project is another directory (a copy).
  const toolchain = findToolchain(TOOL_ROOT, backend.stateDir);
  if (backend.url) toolchain.env.PULUMI_BACKEND_URL = backend.url;
  else delete toolchain.env.PULUMI_BACKEND_URL;

  const read = readDeployment(toolchain, projectDir, stackName);
  if (read.kind === "no-state")
    return fail(1, `stack ${stackName} has no state yet (${read.reason}) in ${backend.description}: deploy it first with pulumi up --stack ${stackName}${stackName === "dev" ? " (or npm run dev)" : ""}`);
  if (read.kind === "error") return fail(1, read.message);
  const deployment = read.deployment;

  // The stack file's hosts (with their ssh options), and any host the deployment names that the file no longer has.
  const targets: Record<string, HostTarget> = {};
  for (const [name, edge] of Object.entries(deployment.edges)) targets[name] = { url: edge.dockerHost, sshOpts: [] };
  for (const host of Object.values(stack.hosts)) targets[host.name] = { url: host.url, sshOpts: host.sshOpts };
  const expected = namesExpected(stackName, deployment);
  const observed = await Promise.all(
    Object.entries(targets).map(async ([name, target]) => [name, { url: target.url, observation: await observeHost(target, stackName, expected[name] ?? []) }] as const),
  );
  const report = buildStatus({ stack: stackName, deployment, state: read.containers, hosts: Object.fromEntries(observed.sort(([a], [b]) => a.localeCompare(b))) });
  const exitCode = report.healthy ? 0 : 1;
  return { exitCode, stdout: json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report), stderr: "" };
}

if (require.main === module) {
  void runStatus(process.argv.slice(2)).then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
}
