import { existsSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { DUMP_ID, DUMP_REASON } from "../components/backup-script";
import { humanDuration, humanSize, type BackupRun } from "../db/backup-log";
import { DockerHost } from "../db/host";
import { backupNow, listBackups, restoreBackup, StepError, type DatabaseTarget } from "../db/operations";
import { formatDiagnostic } from "../model/diagnostics";
import { directoryProblem, readTenantDirectory } from "../model/project-files";
import { validateTenants } from "../model/validate";
import { loadStacksFromFiles } from "../stacks/load-from-files";

/**
 * `npm run db -- backup|list|restore <tenant> --stack <s> [--at <id>] [--json] [--cwd <project>]`: a tenant's
 * database backups on its home host (components/backups.ts writes them). Exit codes (fixed): 0 done, 1 the operation
 * failed or a backup is overdue (the message names tenant and step), 2 usage (unknown tenant, no such backup, bad flag).
 */

const TOOL_ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: npm run db -- backup|list|restore <tenant> --stack <stack> [--at <backup-id>] [--reason <why>] [--json] [--cwd <project-dir>]";
const COMMANDS = ["backup", "list", "restore"] as const;
type Command = (typeof COMMANDS)[number];

export interface CliResult {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

export async function runDb(args: readonly string[], progress: (line: string) => void = () => {}): Promise<CliResult> {
  const json = args.includes("--json");
  const fail = (exitCode: 1 | 2, message: string): CliResult =>
    json
      ? { exitCode, stdout: `${JSON.stringify({ error: message }, null, 2)}\n`, stderr: "" }
      : { exitCode, stdout: "", stderr: `db: ${message}\n${exitCode === 2 ? `${USAGE}\n` : ""}` };

  let parsed: { values: { stack?: string; at?: string; reason?: string; cwd?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: { stack: { type: "string" }, at: { type: "string" }, reason: { type: "string" }, json: { type: "boolean" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    return fail(2, (error as Error).message.split("\n")[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };
  const [command, tenant, ...extra] = positionals;
  if (!command || !(COMMANDS as readonly string[]).includes(command)) return fail(2, command ? `unknown command "${command}" (${COMMANDS.join(", ")})` : "a command is required");
  if (!tenant) return fail(2, "a tenant is required");
  if (extra.length > 0) return fail(2, `unexpected argument "${extra[0]}"`);
  if (!values.stack) return fail(2, "--stack is required");
  if (values.at !== undefined && command !== "restore") return fail(2, "--at is only for restore");
  if (values.at !== undefined && !DUMP_ID.test(values.at))
    return fail(2, `--at "${values.at}" is not a backup id like 20261124T030000Z or 20261124T030000Z-pre-release-api (see: npm run db -- list)`);
  if (values.reason !== undefined && command !== "backup") return fail(2, "--reason is only for backup");
  if (values.reason !== undefined && !DUMP_REASON.test(values.reason))
    return fail(2, `--reason "${values.reason}" is not lowercase letters, digits and dashes like pre-manual-fix (it becomes part of the dump's name)`);
  const projectDir = path.resolve(values.cwd ?? TOOL_ROOT);
  if (!existsSync(path.join(projectDir, "Pulumi.yaml"))) return fail(2, `${projectDir} is not a Pulumi project (no Pulumi.yaml)`);

  const found = findTarget(projectDir, values.stack, tenant);
  if ("usage" in found) return fail(2, found.usage);
  if ("error" in found) return fail(1, found.error);
  const target = found.target;
  try {
    return await run(command as Command, target, values, json, progress);
  } catch (error) {
    if (error instanceof StepError) return fail(error.usage ? 2 : 1, `${tenant}: ${error.step}: ${error.message}`);
    return fail(1, `${tenant}: ${String((error as Error | undefined)?.message ?? error).split("\n")[0]}`);
  } finally {
    target.host.close();
  }
}

function findTarget(projectDir: string, stackName: string, tenant: string): { target: DatabaseTarget } | { usage: string } | { error: string } {
  const { stacks, stackNames, diagnostics } = loadStacksFromFiles(projectDir);
  if (!stackNames.includes(stackName)) return { usage: `unknown stack "${stackName}" (stacks: ${stackNames.join(", ") || "none"})` };
  const stack = stacks.find((s) => s.name === stackName);
  if (!stack) return { error: diagnostics.filter((d) => path.basename(d.file) === `Pulumi.${stackName}.yaml`).map(formatDiagnostic).join("; ") || `Pulumi.${stackName}.yaml is invalid` };
  const tenantsDir = path.resolve(projectDir, stack.tenantsDir);
  const problem = directoryProblem(tenantsDir);
  if (problem) return { error: `${stack.tenantsDir}: ${problem}` };
  const validation = validateTenants({ files: readTenantDirectory(tenantsDir), stacks: [stack], stackNames });
  const plan = validation.plans[stackName]?.find((p) => p.name === tenant);
  if (!plan) {
    const own = validation.diagnostics.filter((d) => path.basename(d.file, path.extname(d.file)) === tenant);
    if (own.length > 0) return { error: own.map(formatDiagnostic).join("; ") };
    const names = (validation.plans[stackName] ?? []).map((p) => p.name);
    return { usage: `unknown tenant "${tenant}" in stack ${stackName} (tenants: ${names.join(", ") || "none"})` };
  }
  if (!plan.database) return { usage: `tenant ${tenant} has no database in stack ${stackName}` };
  if (!plan.database.backups) return { usage: `tenant ${tenant} has no backups in stack ${stackName} (a preview's data goes with it)` };
  const host = stack.hosts[plan.homeHost]!;
  return {
    target: {
      stack: stackName,
      tenant,
      hostName: host.name,
      host: new DockerHost({ url: host.url, sshOpts: host.sshOpts }),
      database: { ...plan.database, backups: plan.database.backups },
    },
  };
}

async function run(command: Command, target: DatabaseTarget, { at, reason }: { at?: string; reason?: string }, json: boolean, progress: (line: string) => void): Promise<CliResult> {
  const out = (exitCode: 0 | 1, value: unknown, text: string): CliResult => ({ exitCode, stdout: json ? `${JSON.stringify(value, null, 2)}\n` : text, stderr: "" });
  const where = { stack: target.stack, tenant: target.tenant, host: target.hostName };
  switch (command) {
    case "list": {
      const listing = await listBackups(target);
      const every = target.database.backups.every;
      const verdict = listing.overdue
        ? `${target.tenant}: backup overdue: ${listing.lastSuccess ? `the last successful backup is ${humanDuration(listing.ageSeconds!)} old` : "no successful backup yet"}, the schedule is every ${every}`
        : `${target.tenant}: last successful backup ${listing.lastSuccess!.id}, ${humanDuration(listing.ageSeconds!)} ago (every ${every})`;
      const latest = listing.runs.at(-1);
      const lastFailed = latest?.result === "failed" ? `\n${target.tenant}: the latest run failed: ${latest.error}` : "";
      // A good dump that did not reach off-host storage is not silent either: exit 1 until a run copies it.
      const offsiteFailed = latest?.offsite === "failed";
      const lastOffsite = offsiteFailed ? `\n${target.tenant}: copy off-host: the latest run's off-host copy failed: ${latest.offsiteError}` : "";
      return out(
        listing.overdue || offsiteFailed ? 1 : 0,
        { ...where, volume: listing.volume, every, overdue: listing.overdue, lastSuccess: listing.lastSuccess, backups: listing.runs },
        `${table(listing.runs)}${verdict}${lastFailed}${lastOffsite}\n`,
      );
    }
    case "backup": {
      const backup = await backupNow(target, reason);
      return out(0, { ...where, backup }, `${target.tenant}: backup ${backup.id} done: ${humanSize(backup.sizeBytes)} in ${backup.durationSeconds}s\n`);
    }
    case "restore": {
      const restored = await restoreBackup(target, at, json ? undefined : (step) => progress(`${target.tenant}: ${step}`));
      const tables = Object.entries(restored.rowCounts);
      const text = [
        `${target.tenant}: restored backup ${restored.backup.id} into the new volume ${restored.volume} in ${restored.seconds}s (pg_restore without error)`,
        `rows per table (${tables.length} tables):`,
        ...tables.map(([name, rows]) => `  ${name.padEnd(40)} ${rows}`),
        "",
        "Nothing live was touched: the tenant still runs on its current data volume.",
        `Next step: to run ${target.tenant} on it, set in its tenant file (through a pull request: preview, approval)`,
        `  database:\n    postgres: { version: "${target.database.version}", restore: ${restored.n} }`,
        "The deployment then replaces the database container onto the restored volume; the current volume stays declared",
        "and retained, its URN unchanged.",
      ].join("\n");
      return out(0, { ...where, ...restored }, `${text}\n`);
    }
  }
}

function offsiteNote(run: BackupRun): string {
  if (run.offsite === "ok") return ", copied off-host";
  if (run.offsite === "failed") return `, off-host copy failed: ${run.offsiteError}`;
  return "";
}

function table(runs: readonly BackupRun[]): string {
  if (runs.length === 0) return "no backup runs recorded\n";
  const rows = [["ID", "TIME", "REASON", "SIZE", "DURATION", "RESULT"], ...runs.map((r) => [
    r.id,
    r.time,
    r.reason || "scheduled",
    r.result === "ok" ? humanSize(r.sizeBytes) : "-",
    `${r.durationSeconds}s`,
    r.result === "ok" ? `${r.present ? "ok" : "ok (pruned)"}${offsiteNote(r)}` : `failed: ${r.error}`,
  ])];
  const last = rows[0]!.length - 1;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (i === last ? 0 : row[i]!.length))));
  return `${rows.map((row) => row.map((cell, i) => (i === last ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n")}\n`;
}

if (require.main === module) {
  void runDb(process.argv.slice(2), (line) => process.stderr.write(`${line}\n`)).then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  });
}
