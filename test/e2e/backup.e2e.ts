import { describe, expect, it } from "vitest";
import { addresses, addTenant, dbCli, docker, expectOk, get, getFromEngine, pulumi, readTenant, removeTenant, STACK, tenantHost, up, waitFor, type World } from "./harness";
import { useWorld } from "./world-hooks";

// Backups and restore on the real engine (issue 13): one tenant (alpha: web + Postgres 15), on the default schedule
// (its first dump at start, the next in 24h) until the overdue check shortens it to 20s.
let world: World;
const database = `platform-${STACK}-alpha-postgres`;
const backupContainer = `platform-${STACK}-alpha-backup`;

// Off-host storage and the failure webhook, standing in for S3 and an alerting endpoint (engine/images/backup-sinks,
// test-only). Labelled with the stack, so the world's teardown removes it.
const sinks = `platform-${STACK}-backup-sinks`;
const SINKS_ALIAS = "backup-sinks";
const BUCKET = "e2e-backups";
const S3_KEY_ID = "e2e-offsite-key-id";
const S3_SECRET = "e2e-offsite-secret-key";

useWorld(
  (created) => {
    world = created;
    removeTenant(world, "beta.yaml");
  },
  { moreDiagnostics: () => `--- docker logs ${sinks}\n${docker(["logs", "--tail", "60", sinks]).stderr}`, ownEngine: { name: "e2e-backup", index: 6 } },
);

const db = (...args: string[]) => dbCli(world, ...args);

function dbJson<T>(...args: string[]): { status: number | null; value: T } {
  const run = db(...args, "--json");
  return { status: run.status, value: JSON.parse(run.stdout) as T };
}

const psql = (container: string, sql: string) => docker(["exec", container, "psql", "-h", "/var/run/postgresql", "-U", "app", "-d", "app", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]);

interface Run { id: string; result: string; sizeBytes: number; error: string; time: string }

describe("backups on a real engine", () => {
  let backupId = "";
  let restoredVolume = "";

  it("a backup taken now holds the rows written through the app", async () => {
    expectOk(up(world), "pulumi up");
    for (let i = 0; i < 3; i++) expect((await get(tenantHost("alpha"), "/db")).status).toBe(200);
    const rows = psql(database, "SELECT count(*) FROM visits").stdout;
    expect(Number(rows)).toBeGreaterThanOrEqual(3);

    const backup = dbJson<{ backup: Run }>("backup", "alpha");
    expect(backup.status).toBe(0);
    expect(backup.value.backup).toMatchObject({ result: "ok" });
    expect(backup.value.backup.sizeBytes).toBeGreaterThan(0);
    backupId = backup.value.backup.id;

    const list = db("list", "alpha");
    expect(list.status, list.stdout + list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${backupId}\\s+\\S+\\s+scheduled\\s+[0-9.]+ (B|KiB)\\s+[0-9]+s\\s+ok$`, "m"));
    expect(list.stdout).toContain("alpha: last successful backup");

    // The backup machinery reaches the database over the tenant's data network only.
    const networks = Object.keys(JSON.parse(docker(["inspect", "-f", "{{json .NetworkSettings.Networks}}", backupContainer]).stdout) as object);
    expect(networks).toEqual([`platform-${STACK}-alpha-data`]);
  }, 600_000);

  it("after the table is dropped, restore brings the rows back in a new volume, and the tenant file switches to it", async () => {
    const before = Number(psql(database, "SELECT count(*) FROM visits").stdout);
    expect(psql(database, "DROP TABLE visits").status).toBe(0);
    expect((JSON.parse((await get(tenantHost("alpha"), "/db/read")).body) as { count: number }).count).toBe(0);

    const restored = dbJson<{ volume: string; rowCounts: Record<string, number>; backup: Run }>("restore", "alpha", "--at", backupId);
    expect(restored.status).toBe(0);
    expect(restored.value.volume).toBe(`platform-${STACK}-alpha-pgdata-pg15-r1`);
    expect(restored.value.backup.id).toBe(backupId);
    expect(restored.value.rowCounts["public.visits"]).toBe(before);
    restoredVolume = restored.value.volume;

    // The rows are in the new volume, as any Postgres started on it sees them; the live database still has no table.
    const check = `platform-${STACK}-alpha-restore-check`;
    expect(docker(["run", "-d", "--name", check, "--network", "none", "--label", `platform.stack=${STACK}`, "-e", "POSTGRES_PASSWORD=x", "-v", `${restoredVolume}:/var/lib/postgresql/data`, "platform-local/postgres:15"]).status).toBe(0);
    try {
      await waitFor("the check container", () => psql(check, "SELECT 1").status === 0, 120);
      expect(Number(psql(check, "SELECT count(*) FROM visits").stdout)).toBe(before);
    } finally {
      docker(["rm", "-f", check]);
    }
    expect(psql(database, "SELECT count(*) FROM visits").status).not.toBe(0);

    // The next step the restore printed: the tenant file names the restored volume, and the next up runs on it.
    expect(readTenant(world, "alpha.yaml")).toContain('postgres: { version: "15" }');
    addTenant(world, "alpha.yaml", readTenant(world, "alpha.yaml").replace('postgres: { version: "15" }', 'postgres: { version: "15", restore: 1 }'));
    const dumpsBefore = dbJson<{ backups: Run[] }>("list", "alpha").value.backups.length;
    const switched = up(world);
    expectOk(switched, "pulumi up (restore: 1)");
    expect(switched.stdout).toMatch(/alpha-postgres\s.*replaced/);
    // The planned replace took a dump of the live database first (the one without the table), named for it.
    const preReplace = dbJson<{ backups: (Run & { reason: string })[] }>("list", "alpha").value.backups.slice(dumpsBefore);
    expect(preReplace.map((r) => [r.reason, r.result])).toEqual([["pre-replace", "ok"]]);
    expect(preReplace[0]!.id).toMatch(/^[0-9]{8}T[0-9]{6}Z-pre-replace$/);
    expect((JSON.parse((await get(tenantHost("alpha"), "/db/read")).body) as { count: number }).count).toBe(before);
    const mounts = docker(["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", database]).stdout.trim();
    expect(mounts).toBe(restoredVolume);
    // The original volume is still there (retained, and still declared), its data as it was after the drop.
    expect(docker(["volume", "inspect", "-f", "{{.Name}}", `platform-${STACK}-alpha-pgdata-pg15`]).stdout).toBe(`platform-${STACK}-alpha-pgdata-pg15`);

    // An unknown backup is a usage error.
    const text = db("restore", "alpha", "--at", "20000101T000000Z");
    expect(text.status).toBe(2);
    expect(text.stderr).toContain("alpha: choose the backup: no backup 20000101T000000Z");
  }, 600_000);

  it("a backup that cannot reach the database is recorded as failed, and db backup exits 1 naming tenant and step", () => {
    docker(["stop", database]);
    try {
      const run = db("backup", "alpha");
      expect(run.status, run.stdout + run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^db: alpha: run pg_dump: backup [0-9T]+Z failed: .+/m);
      const list = dbJson<{ backups: Run[] }>("list", "alpha");
      expect(list.value.backups.at(-1)).toMatchObject({ result: "failed", sizeBytes: 0 });
      expect(list.value.backups.at(-1)!.error).not.toBe("");
    } finally {
      docker(["start", database]);
    }
  }, 300_000);

  it("a backup that never happened is reported overdue by db list (exit 1)", async () => {
    await waitFor("the database", () => psql(database, "SELECT 1").status === 0, 120);
    // With a new CPU limit, which replaces the database container: a pre-replace dump first, and every row survives.
    const rows = psql(database, "SELECT count(*) FROM visits").stdout;
    const dumps = () => dbJson<{ backups: (Run & { reason: string })[] }>("list", "alpha").value.backups.filter((r) => r.reason === "pre-replace");
    const preReplaceBefore = dumps().length;
    addTenant(world, "alpha.yaml", readTenant(world, "alpha.yaml").replace('postgres: { version: "15", restore: 1 }', 'postgres: { version: "15", restore: 1, resources: { cpus: 0.75 } }\n  backups: { every: 20s }'));
    const replaced = up(world);
    expectOk(replaced, "pulumi up (every 20s, cpus 0.75)");
    expect(replaced.stdout).toMatch(/alpha-postgres\s.*replaced/);
    expect(dumps().length).toBe(preReplaceBefore + 1);
    expect(psql(database, "SELECT count(*) FROM visits").stdout).toBe(rows);
    expect(db("backup", "alpha").status).toBe(0);
    const fresh = db("list", "alpha");
    expect(fresh.status, fresh.stdout + fresh.stderr).toBe(0);
    // The schedule cannot run while its container is stopped: after 1.5 intervals the newest dump is overdue.
    docker(["stop", backupContainer]);
    await new Promise((r) => setTimeout(r, 32_000));
    const list = db("list", "alpha");
    expect(list.status, list.stdout + list.stderr).toBe(1);
    expect(list.stdout).toMatch(/alpha: backup overdue: the last successful backup is [0-9]+s old, the schedule is every 20s/);
    // A named dump lists its reason.
    expect(list.stdout).toMatch(/^[0-9]{8}T[0-9]{6}Z-pre-replace\s+\S+\s+pre-replace\s/m);
    docker(["start", backupContainer]);
  }, 300_000);

  it("an unknown tenant is a usage error", () => {
    const unknown = db("list", "nobody");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown tenant "nobody"');
  });

  it("with platform:backups.offsite, a dump lands in the tenant's folder of the bucket; a failed run POSTs its line to the hook", async () => {
    docker(["rm", "-f", sinks]);
    const started = docker(["run", "-d", "--name", sinks, "--label", `platform.stack=${STACK}`, "-e", `BUCKET=${BUCKET}`, "-e", `ACCESS_KEY_ID=${S3_KEY_ID}`, "platform-local/backup-sinks:1"]);
    expect(started.status, started.stderr).toBe(0);
    const config = (path: string, value: string, secret = false) =>
      expectOk(pulumi(world, ["config", "set", "--path", secret ? "--secret" : "--plaintext", path, value]), `pulumi config set ${path}`);
    config("platform:backups.offsite.endpoint", `http://${SINKS_ALIAS}:9000`);
    config("platform:backups.offsite.bucket", BUCKET);
    config("platform:backups.offsite.prefix", "platform");
    config("platform:backups.hookSecret", "BACKUP_HOOK_URL");
    config("platform:secrets.platform.BACKUP_S3_ACCESS_KEY_ID", S3_KEY_ID, true);
    config("platform:secrets.platform.BACKUP_S3_SECRET_ACCESS_KEY", S3_SECRET, true);
    config("platform:secrets.platform.BACKUP_HOOK_URL", `http://${SINKS_ALIAS}:8080/hook`, true);
    expectOk(up(world), "pulumi up (offsite and hook)");

    // The backup container alone gained an egress network; the tenant's data network is still internal.
    const egress = `platform-${STACK}-alpha-backup-egress`;
    expect(Object.keys(addresses(backupContainer)).sort()).toEqual([`platform-${STACK}-alpha-backup-egress`, `platform-${STACK}-alpha-data`]);
    expect(docker(["network", "inspect", "-f", "{{.Internal}}", `platform-${STACK}-alpha-data`]).stdout).toBe("true");
    expect(docker(["network", "inspect", "-f", "{{.Internal}}", egress]).stdout).toBe("false");
    expect(docker(["network", "connect", "--alias", SINKS_ALIAS, egress, sinks]).status).toBe(0);

    const backup = dbJson<{ backup: Run & { offsite: string } }>("backup", "alpha");
    expect(backup.status, JSON.stringify(backup.value)).toBe(0);
    expect(backup.value.backup.offsite).toBe("ok");
    const id = backup.value.backup.id;
    // Listed by rclone with the container's own (secret) remote settings, in <bucket>/<prefix>/<stack>/<tenant>/.
    const listed = docker(["exec", backupContainer, "rclone", "lsf", `offsite:${BUCKET}/platform/${STACK}/alpha`]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.split("\n")).toContain(`${id}.dump`);
    const list = db("list", "alpha");
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s.*ok, copied off-host$`, "m"));
    // The keys are in no label and nowhere in the stack's state but as ciphertext.
    expect(docker(["inspect", "-f", "{{json .Config.Labels}}", backupContainer]).stdout).not.toContain(S3_SECRET);
    const state = pulumi(world, ["stack", "export"]);
    expect(state.status).toBe(0);
    expect(state.stdout).not.toContain(S3_SECRET);
    expect(state.stdout).not.toContain(S3_KEY_ID);

    // A failed run calls the hook with its run line.
    docker(["stop", database]);
    let failedId = "";
    try {
      const failed = db("backup", "alpha");
      expect(failed.status, failed.stdout + failed.stderr).toBe(1);
      failedId = /backup ([0-9]{8}T[0-9]{6}Z) failed/.exec(failed.stderr)?.[1] ?? "";
      expect(failedId).not.toBe("");
    } finally {
      docker(["start", database]);
    }
    const hookUrl = `http://${addresses(sinks).bridge}:8080/hook`;
    const calls = JSON.parse(getFromEngine(hookUrl)) as string[];
    const call = calls.map((c) => JSON.parse(c) as { stack: string; tenant: string; run: Run }).find((c) => c.run.id === failedId);
    expect(call, JSON.stringify(calls)).toMatchObject({ stack: STACK, tenant: "alpha", run: { id: failedId, result: "failed", sizeBytes: 0 } });
    expect(call!.run.error).not.toBe("");
    await waitFor("the database", () => psql(database, "SELECT 1").status === 0, 120);
  }, 600_000);
});
