// bench/REAL-ENGINE.md "## Backups": a ~130 MB Postgres 15 database (550,000 rows of random text), dumped by the
// backup container's own script through `npm run db -- backup`'s code (db/operations.ts backupNow) and restored by
// restoreBackup, on this machine's engine. Everything it makes is labelled platform.stack=benchbk and removed at the end.
// Run: flock /tmp/platform-engine.lock npx tsx bench/backups.ts
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BACKUP_SCRIPT, BACKUP_SCRIPT_PATH } from "../components/backup-script";
import { DockerHost } from "../db/host";
import { backupNow, restoreBackup } from "../db/operations";

const stack = "benchbk", tenant = "big", image = "platform-local/postgres:15";
const label = ["--label", `platform.stack=${stack}`, "--label", `platform.tenant=${tenant}`];
const d = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const net = `platform-${stack}-${tenant}-data`, data = `platform-${stack}-${tenant}-pgdata-pg15`, backups = `platform-${stack}-${tenant}-backups`;
const db = `platform-${stack}-${tenant}-postgres`, backup = `platform-${stack}-${tenant}-backup`;
async function main() {
  d("network", "create", "--internal", ...label, net);
  d("volume", "create", ...label, data);
  d("volume", "create", ...label, backups);
  d("run", "-d", "--name", db, ...label, "--network", net, "--network-alias", "postgres", "-e", "POSTGRES_USER=app", "-e", "POSTGRES_DB=app", "-e", "POSTGRES_PASSWORD=pw", "-v", `${data}:/var/lib/postgresql/data`, image);
  for (let i = 0; ; i++) { try { d("exec", db, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "app", "-d", "app"); break; } catch { if (i > 120) throw new Error("db not ready"); await new Promise((r) => setTimeout(r, 1000)); } }
  const psql = (sql: string) => d("exec", db, "psql", "-h", "/var/run/postgresql", "-U", "app", "-d", "app", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql);
  psql("CREATE TABLE items (id bigint PRIMARY KEY, body text); INSERT INTO items SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) FROM generate_series(1, 550000) g; ANALYZE items");
  const size = psql("SELECT pg_database_size('app')");
  d("create", "--name", backup, ...label, "--network", net, "-e", "PGHOST=postgres", "-e", "PGUSER=app", "-e", "PGDATABASE=app", "-e", "PGPASSWORD=pw", "-e", "EVERY_SECONDS=86400", "-e", "KEEP_DAILY=7", "-e", "KEEP_WEEKLY=4", "-v", `${backups}:/backups`, "--entrypoint", "/bin/sh", image, BACKUP_SCRIPT_PATH, "loop");
  const scratch = mkdtempSync(path.join(tmpdir(), "bench-backups-"));
  writeFileSync(path.join(scratch, "platform-backup"), BACKUP_SCRIPT);
  d("cp", path.join(scratch, "platform-backup"), `${backup}:${BACKUP_SCRIPT_PATH}`);
  rmSync(scratch, { recursive: true, force: true });
  d("start", backup);
  await new Promise((r) => setTimeout(r, 15000)); // the loop's own first dump at start; ours is the second
  const host = new DockerHost({ url: "unix:///var/run/docker.sock", sshOpts: [] });
  const target = { stack, tenant, hostName: "local", host, database: { version: "15", major: "15", image, resources: { cpus: 1, memoryBytes: 1 << 29 }, backups: { every: "24h", everySeconds: 86400, keepDaily: 7, keepWeekly: 4, image } } };
  let t = Date.now();
  const run = await backupNow(target);
  const backupWall = (Date.now() - t) / 1000;
  t = Date.now();
  const restored = await restoreBackup(target, run.id);
  const restoreWall = (Date.now() - t) / 1000;
  console.log(JSON.stringify({ databaseBytes: Number(size), dumpBytes: run.sizeBytes, dumpSeconds: run.durationSeconds, backupWall, restoreWall, restored }));
}
main().catch((e) => { console.error(e); process.exitCode = 1; }).finally(() => {
  for (const c of [db, backup]) try { d("rm", "-f", c); } catch {}
  for (const v of d("volume", "ls", "-q", "--filter", `label=platform.stack=${stack}`).split("\n").filter(Boolean)) try { d("volume", "rm", "-f", v); } catch {}
  try { d("network", "rm", net); } catch {}
});
