import { describe, expect, it } from "vitest";
import { dbCli, docker, expectOk, get, removeTenant, STACK, tenantHost, up, type World } from "./harness";
import { useWorld } from "./world-hooks";

// Issue 19, drill 5: a backup that fills its volume. A world of its own: its backups volume is a tmpfs made for the
// test, which a refresh would plan to replace (its driver options are not the program's), so it stays out of the
// worlds that refresh.
let world: World;

/**
 * alpha's backups volume, made before the first up as a 16 MiB tmpfs with the labels the program gives it (the engine
 * hands the program the existing volume): a file system of the test's own that a backup can fill, never the machine's
 * disk. A tmpfs volume keeps its files only while a container mounts it: the backup container runs throughout.
 */
const BACKUPS_VOLUME_BYTES = 16 * 1024 * 1024;

useWorld((created) => {
  world = created;
  removeTenant(world, "beta.yaml");
  const labels = ["platform.managed=true", `platform.stack=${STACK}`, "platform.tenant=alpha", "platform.service=postgres"].flatMap((l) => ["--label", l]);
  const volume = docker(["volume", "create", ...labels, "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", `o=size=${BACKUPS_VOLUME_BYTES}`, `platform-${STACK}-alpha-backups`]);
  if (volume.status !== 0) throw new Error(`docker volume create: ${volume.stderr}`);
}, { ownEngine: { name: "e2e-full", index: 5 } });

describe("a backup on a full volume", () => {
  it("a full backups volume (drill 5): the dump fails loudly, nothing half-written is kept, the last good dump stays, the database serves", async () => {
    const database = `platform-${STACK}-alpha-postgres`;
    const backupContainer = `platform-${STACK}-alpha-backup`;
    const psql = (sql: string) => docker(["exec", database, "psql", "-h", "/var/run/postgresql", "-U", "app", "-d", "app", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]);
    expectOk(up(world), "pulumi up");
    const taken = dbCli(world, "backup", "alpha", "--json");
    expect(taken.status, taken.stdout + taken.stderr).toBe(0);
    const lastGood = (JSON.parse(taken.stdout) as { backup: { id: string } }).backup.id;
    // About 40 MB of random hex: its compressed dump is larger than the volume.
    const filled = psql("CREATE TABLE filler AS SELECT r, string_agg(md5(random()::text), '') AS noise FROM generate_series(1, 20000) r, generate_series(1, 64) g GROUP BY r");
    expect(filled.status, filled.stderr).toBe(0);
    try {
      const run = dbCli(world, "backup", "alpha");
      expect(run.status, run.stdout + run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^db: alpha: run pg_dump: backup [0-9T]+Z failed: .*No space left on device/m);
      const list = JSON.parse(dbCli(world, "list", "alpha", "--json").stdout) as { backups: { result: string; sizeBytes: number }[] };
      expect(list.backups.at(-1)).toMatchObject({ result: "failed", sizeBytes: 0 });
      const files = docker(["exec", backupContainer, "ls", "-a", "/backups"]).stdout.split("\n");
      expect(files.filter((f) => f.endsWith(".partial")), "no half-written dump stays").toEqual([]);
      expect(files, "retention never deletes the last good dump").toContain(`${lastGood}.dump`);
      // The database keeps serving through the edge.
      expect((await get(tenantHost("alpha"), "/db")).status).toBe(200);
      expect(psql("SELECT count(*) FROM filler").stdout).toBe("20000");
    } finally {
      psql("DROP TABLE filler");
    }
  }, 300_000);
});
