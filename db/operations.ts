import { randomBytes } from "node:crypto";
import { BACKUP_DIR, BACKUP_SCRIPT_PATH } from "../components/backup-script";
import { COUNT_ROWS } from "../components/row-counts";
import { dockerNames, LABEL, platformLabels } from "../model/naming";
import { DATABASE_ENDPOINT } from "../model/platform-env";
import type { DatabasePlan } from "../model/tenant-plan";
import { LISTING_COMMAND, parseBackupListing, summarize, type BackupRun, type BackupSummary } from "./backup-log";
import type { DockerHost } from "./host";

/** What `npm run db` acts on: one tenant's database on its home host. */
export interface DatabaseTarget {
  stack: string;
  tenant: string;
  hostName: string;
  host: DockerHost;
  database: DatabasePlan & { backups: NonNullable<DatabasePlan["backups"]> };
}

/** A failure at a named step: exit 1 with "<tenant>: <step>: <message>". */
export class StepError extends Error {
  constructor(readonly step: string, message: string, readonly usage = false) {
    super(message);
  }
}

async function docker(target: DatabaseTarget, step: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await target.host.run(args, timeoutMs);
  if (result.ok) return result.stdout;
  if (result.unreachable) throw new StepError(step, `host ${target.hostName} (${target.host.target.url}) unreachable: ${result.error}`);
  throw new StepError(step, result.error);
}

const backupsVolume = (t: DatabaseTarget) => dockerNames.backupsVolume(t.stack, t.tenant);
const backupContainer = (t: DatabaseTarget) => dockerNames.backupContainer(t.stack, t.tenant);

/** The runs in the backups volume, read by a throw-away container without network (the backup container may be down). */
export async function listBackups(target: DatabaseTarget, now = new Date()): Promise<BackupSummary & { volume: string }> {
  const volume = backupsVolume(target);
  await docker(target, "find the backups volume", ["volume", "inspect", "--format", "{{.Name}}", volume]).catch((error: unknown) => {
    if (error instanceof StepError && /no such volume/i.test(error.message))
      throw new StepError("find the backups volume", `no volume ${volume} on host ${target.hostName}: deploy the stack first (pulumi up)`);
    throw error;
  });
  const listing = await docker(target, "read the backup log", [
    "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", "-v", `${volume}:${BACKUP_DIR}:ro`, target.database.backups.image, "-c", LISTING_COMMAND,
  ]);
  return { volume, ...summarize(parseBackupListing(listing), target.database.backups.everySeconds, now) };
}

/** One run now, in the backup container (so it runs exactly as the schedule's runs do, and is logged alike); a reason names it. */
export async function backupNow(target: DatabaseTarget, reason?: string): Promise<BackupRun> {
  const container = backupContainer(target);
  const state = await docker(target, "find the backup container", ["container", "inspect", "--format", "{{.State.Status}}", container]).catch((error: unknown) => {
    if (error instanceof StepError && /no such (container|object)/i.test(error.message))
      throw new StepError("find the backup container", `no container ${container} on host ${target.hostName}: deploy the stack first (pulumi up)`);
    throw error;
  });
  if (state.trim() !== "running") throw new StepError("find the backup container", `${container} is ${state.trim()}, not running`);
  const result = await target.host.run(["exec", container, "/bin/sh", BACKUP_SCRIPT_PATH, "once", ...(reason ? [reason] : [])], 6 * 3600_000);
  if (result.unreachable) throw new StepError("run pg_dump", `host ${target.hostName} (${target.host.target.url}) unreachable: ${result.error}`);
  const [run] = parseBackupListing(result.stdout.split("\n").filter((l) => l.startsWith("{")).slice(-1).join("\n"));
  if (!run) throw new StepError("run pg_dump", result.error || "the backup container printed no result");
  if (run.result !== "ok") throw new StepError("run pg_dump", `backup ${run.id} failed: ${run.error || "no message"}`);
  if (run.offsite === "failed") throw new StepError("copy off-host", `backup ${run.id} is on the host, but its off-host copy failed: ${run.offsiteError || "no message"}`);
  return { ...run, present: true };
}

export interface RestoreResult {
  backup: BackupRun;
  volume: string;
  /** The restore's number: `database.postgres.restore: <n>` runs the tenant on `volume`. */
  n: number;
  /** Rows per table ("schema.table"), as counted in the restored database. */
  rowCounts: Record<string, number>;
  seconds: number;
}

/**
 * Restores a dump into a NEW volume `…-pgdata-pg<major>-r<n>` with a throw-away Postgres (no network), verifies it
 * restored without error and counts every table's rows. The live data volume is never mounted.
 */
export async function restoreBackup(target: DatabaseTarget, at: string | undefined, onStep: (step: string) => void = () => {}): Promise<RestoreResult> {
  const started = Date.now();
  const listing = await listBackups(target);
  const available = listing.runs.filter((r) => r.result === "ok" && r.present);
  const backup = at === undefined ? available.at(-1) : available.find((r) => r.id === at);
  if (!backup) {
    const ids = available.map((r) => r.id).join(", ") || "none";
    throw new StepError("choose the backup", at === undefined ? `no successful backup to restore (kept: ${ids})` : `no backup ${at} (kept: ${ids})`, at !== undefined);
  }

  const { stack, tenant, database } = target;
  const prefix = dockerNames.restoredDataVolume(stack, tenant, database.major, 0).replace(/0$/, "");
  const existing = await docker(target, "name the new volume", ["volume", "ls", "--quiet", "--filter", `name=${prefix}`]);
  const taken = existing.split("\n").map((v) => v.trim()).filter((v) => v.startsWith(prefix)).map((v) => Number(v.slice(prefix.length))).filter(Number.isInteger);
  const n = Math.max(0, ...taken) + 1;
  const volume = dockerNames.restoredDataVolume(stack, tenant, database.major, n);
  const labels = Object.entries(platformLabels(stack, { tenant, service: "postgres" })).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
  onStep(`creating volume ${volume}`);
  await docker(target, "create the new volume", ["volume", "create", ...labels, volume]);

  const container = `platform-${stack}-${tenant}-restore-r${n}`;
  const password = randomBytes(18).toString("hex");
  const { user, database: name } = DATABASE_ENDPOINT;
  onStep(`starting a throw-away Postgres (${database.image}) on it`);
  await docker(target, "start a throw-away Postgres", [
    "run", "--detach", "--name", container, "--network", "none",
    "--label", `${LABEL.managed}=true`, "--label", `platform.restore=${stack}/${tenant}`,
    "-e", `POSTGRES_USER=${user}`, "-e", `POSTGRES_DB=${name}`, "-e", `POSTGRES_PASSWORD=${password}`,
    "-v", `${volume}:/var/lib/postgresql/data`, "-v", `${backupsVolume(target)}:${BACKUP_DIR}:ro`,
    database.image,
  ]);
  try {
    const psql = ["exec", "-e", `PGPASSWORD=${password}`, container];
    const until = Date.now() + 180_000;
    for (;;) {
      const ready = await target.host.run([...psql, "pg_isready", "-q", "-h", "127.0.0.1", "-U", user, "-d", name]);
      if (ready.ok) break;
      if (Date.now() > until) throw new StepError("start a throw-away Postgres", `not ready after 180s: ${ready.error}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    onStep(`restoring ${backup.id}`);
    await docker(target, "pg_restore", [...psql, "pg_restore", "--exit-on-error", "-h", "127.0.0.1", "-U", user, "-d", name, `${BACKUP_DIR}/${backup.id}.dump`], 6 * 3600_000);
    onStep("counting rows");
    const counted = await docker(target, "count rows", [...psql, "psql", "-h", "127.0.0.1", "-U", user, "-d", name, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", COUNT_ROWS]);
    const rowCounts: Record<string, number> = {};
    for (const line of counted.split("\n")) {
      const [table, count] = line.split("\t");
      if (table && count !== undefined && /^[0-9]+$/.test(count.trim())) rowCounts[table] = Number(count);
    }
    return { backup, volume, n, rowCounts, seconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    // Fast shutdown, so the new data directory is left clean; the volume stays.
    await target.host.run(["stop", "--time", "60", container], 90_000);
    await target.host.run(["rm", "--force", container]);
  }
}
