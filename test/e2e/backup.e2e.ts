import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { addTenant, docker, expectOk, get, readTenant, removeTenant, REPO, STACK, tenantHost, up, type World } from "./harness";
import { useWorld } from "./world-hooks";

// Backups and restore on the real engine (issue 13): one tenant (alpha: web + Postgres 15), on the default schedule
// (its first dump at start, the next in 24h) until the overdue check shortens it to 20s.
let world: World;
const database = `platform-${STACK}-alpha-postgres`;
const backupContainer = `platform-${STACK}-alpha-backup`;

useWorld((created) => {
  world = created;
  removeTenant(world, "beta.yaml");
});

/** This repository's `npm run db`, run on the world (a copy of the repo). */
function db(...args: string[]) {
  const run = spawnSync(path.join(REPO, "node_modules/.bin/tsx"), [path.join(REPO, "cli/db.ts"), ...args, "--stack", STACK, "--cwd", world.dir], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function dbJson<T>(...args: string[]): { status: number | null; value: T } {
  const run = db(...args, "--json");
  return { status: run.status, value: JSON.parse(run.stdout) as T };
}

const psql = (container: string, sql: string) => docker(["exec", container, "psql", "-h", "/var/run/postgresql", "-U", "app", "-d", "app", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]);

async function waitFor(what: string, check: () => boolean, seconds = 60): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

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
    expect(list.stdout).toMatch(new RegExp(`^${backupId}\\s+\\S+\\s+[0-9.]+ (B|KiB)\\s+[0-9]+s\\s+ok$`, "m"));
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
    const switched = up(world);
    expectOk(switched, "pulumi up (restore: 1)");
    expect(switched.stdout).toMatch(/alpha-postgres\s.*replaced/);
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
    addTenant(world, "alpha.yaml", readTenant(world, "alpha.yaml").replace('postgres: { version: "15", restore: 1 }', 'postgres: { version: "15", restore: 1 }\n  backups: { every: 20s }'));
    expectOk(up(world), "pulumi up (every 20s)");
    expect(db("backup", "alpha").status).toBe(0);
    const fresh = db("list", "alpha");
    expect(fresh.status, fresh.stdout + fresh.stderr).toBe(0);
    // The schedule cannot run while its container is stopped: after 1.5 intervals the newest dump is overdue.
    docker(["stop", backupContainer]);
    await new Promise((r) => setTimeout(r, 32_000));
    const list = db("list", "alpha");
    expect(list.status, list.stdout + list.stderr).toBe(1);
    expect(list.stdout).toMatch(/alpha: backup overdue: the last successful backup is [0-9]+s old, the schedule is every 20s/);
    docker(["start", backupContainer]);
  }, 300_000);

  it("an unknown tenant is a usage error", () => {
    const unknown = db("list", "nobody");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown tenant "nobody"');
  });
});
