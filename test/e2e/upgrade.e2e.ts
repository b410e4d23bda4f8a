import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  addTenant, changedSteps, docker, expectOk, get, pulumi, pulumiAsync, readTenant, removeTenant, REPO, STACK,
  tenantHost, up, type World,
} from "./harness";
import { useWorld } from "./world-hooks";

// A Postgres major upgrade by changing one line (issue 13): alpha (web + Postgres 15) goes to 17 and back.
let world: World;
const database = `platform-${STACK}-alpha-postgres`;
const volume = (major: string) => `platform-${STACK}-alpha-pgdata-pg${major}`;
/** Rows of filler data; UPGRADE_E2E_ITEMS=1500000 makes a database of about 100 MB (bench/REAL-ENGINE.md's figure). */
const ITEMS = Number(process.env.UPGRADE_E2E_ITEMS ?? 20_000);

useWorld((created) => {
  world = created;
  removeTenant(world, "beta.yaml");
}, { ownEngine: { name: "e2e-upgrade", index: 7 } });

/** Bounded: a write lock left behind by a failed upgrade must fail the test, not hang it. */
function psql(sql: string): { status: number; stdout: string } {
  const run = spawnSync("docker", ["exec", database, "psql", "-h", "/var/run/postgresql", "-U", "app", "-d", "app", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8", timeout: 120_000 });
  return { status: run.status ?? 1, stdout: run.stdout.trim() };
}
const count = (table: string) => Number(psql(`SELECT count(*) FROM ${table}`).stdout);
const mounted = () => docker(["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", database]).stdout;
const serverMajor = () => psql("SHOW server_version_num").stdout.slice(0, 2);
const memory = () => JSON.parse(pulumi(world, ["stack", "output", "databaseVolumes", "--json"]).stdout) as Record<string, unknown>;

function setVersion(major: string): void {
  const text = readTenant(world, "alpha.yaml");
  addTenant(world, "alpha.yaml", text.replace(/postgres: \{ version: "\d+" \}/, `postgres: { version: "${major}" }`));
}

/** With E2E_RECORD_PREVIEWS set, the plan's `pulumi preview --json` becomes a fixture of test/summarize-upgrade.test.ts. */
function recordPreview(name: string): void {
  if (!process.env.E2E_RECORD_PREVIEWS) return;
  const preview = pulumi(world, ["preview", "--json", "--show-sames"]);
  expectOk(preview, `pulumi preview (${name})`);
  writeFileSync(path.join(REPO, "test/fixtures/preview", `${name}.json`), preview.stdout);
}

/** Writes through the app, one after another, until `done`: when each succeeded, and the longest time without one. */
async function writeProbe(done: Promise<unknown>, urlPath: string): Promise<{ ok: number; failed: number; longestGapMs: number }> {
  let finished = false;
  void done.finally(() => (finished = true));
  let ok = 0;
  let failed = 0;
  let last = Date.now();
  let longestGapMs = 0;
  while (!finished) {
    const answer = await get(tenantHost("alpha"), urlPath, 60_000).catch(() => undefined);
    if (answer?.status === 200) {
      ok += 1;
      longestGapMs = Math.max(longestGapMs, Date.now() - last);
      last = Date.now();
    } else {
      failed += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { ok, failed, longestGapMs: Math.max(longestGapMs, Date.now() - last) };
}

describe("Postgres major upgrade on a real engine", () => {
  let visitsAtUpgrade = 0;

  it("15 → 17 by changing one line: every row on 17, the 15 volume kept, writes blocked only during the upgrade", async () => {
    expectOk(up(world), "pulumi up (Postgres 15)");
    for (let i = 0; i < 3; i++) expect((await get(tenantHost("alpha"), "/db")).status).toBe(200);
    expect(psql(`CREATE TABLE items AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, ${ITEMS}) g`).status).toBe(0);
    expect(memory()).toEqual({ alpha: { original: "15", live: "15", majors: ["15"] } });
    const size = psql("SELECT pg_size_pretty(pg_database_size(current_database()))").stdout;

    setVersion("17");
    // First a data step that fails: the new major's volume already holds data no upgrade run left there (a volume
    // kept on the host from before). `up` stops with one line naming tenant and step; Postgres 15 serves as before.
    const inVolume = (script: string) => docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", "-v", `${volume("17")}:/data`, "platform-local/postgres:17", "-c", script]);
    // Labelled with the stack, so the world's teardown removes it (Pulumi adopts an existing volume's name as it is).
    expectOk(docker(["volume", "create", "--label", `platform.stack=${STACK}`, volume("17")]), "docker volume create");
    expectOk(inVolume("echo stray > /data/stray"), "a stray file in the 17 volume");
    const failed = up(world);
    expect(failed.status).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(new RegExp(`postgres upgrade of tenant alpha \\(15 -> 17\\) failed at step \\\\?"prepare the new volume ${volume("17")}\\\\?": it already holds data`));
    expect(serverMajor()).toBe("15");
    expect(mounted()).toBe(volume("15"));
    expect((await get(tenantHost("alpha"), "/db")).status).toBe(200); // writes go on
    expect(memory()).toEqual({ alpha: { original: "15", live: "15", majors: ["15"] } });
    expectOk(inVolume("rm /data/stray"), "the stray file removed");

    recordPreview("postgres-upgrade");
    const started = Date.now();
    const upgrade = pulumiAsync(world, ["up", "--yes", "--skip-preview"]);
    const [run, writes, reads] = await Promise.all([upgrade, writeProbe(upgrade, "/db"), writeProbe(upgrade, "/db/read")]);
    const seconds = (Date.now() - started) / 1000;
    expectOk(run, "pulumi up (Postgres 17)");
    console.log(`upgrade figures (database ${size}): up ${seconds.toFixed(1)} s; writes: longest gap ${(writes.longestGapMs / 1000).toFixed(1)} s (${writes.ok} ok, ${writes.failed} failed); reads: longest gap ${(reads.longestGapMs / 1000).toFixed(1)} s (${reads.failed} failed)`);

    expect(serverMajor()).toBe("17");
    expect(mounted()).toBe(volume("17"));
    expect(count("items")).toBe(ITEMS);
    // Every write the app acknowledged (3 before, 1 after the failed step, those during the upgrade) is on 17.
    expect(count("visits")).toBe(3 + 1 + writes.ok);
    expect(docker(["volume", "inspect", "-f", "{{.Name}}", volume("15")]).stdout).toBe(volume("15"));
    expect(docker(["exec", `platform-${STACK}-alpha-backup`, "sh", "-c", "ls /backups"]).stdout).toMatch(/^\d{8}T\d{6}Z-upgrade-pg15-to-pg17\.dump$/m);
    expect(memory()).toEqual({ alpha: { original: "15", live: "17", majors: ["15", "17"], upgraded: { from: "15", to: "17" } } });
    visitsAtUpgrade = count("visits");
    // `pulumi up` twice changes nothing the second time: the finished data step stays declared as it was.
    const again = pulumi(world, ["preview", "--json"]);
    expectOk(again, "pulumi preview (after the upgrade)");
    const changed = changedSteps(again.stdout);
    expect(changed.map((s) => `${s.op} ${s.urn.split("::").at(-1)}`)).toEqual([]);
  }, 600_000);

  it("back to 15 re-attaches the retained 15 volume: its data as of the upgrade, the 17 volume kept", () => {
    expect(psql("INSERT INTO items VALUES (0, 'written on 17')").status).toBe(0);
    setVersion("15");
    recordPreview("postgres-rollback");
    expectOk(up(world), "pulumi up (back to Postgres 15)");
    expect(serverMajor()).toBe("15");
    expect(mounted()).toBe(volume("15"));
    expect(count("items")).toBe(ITEMS);
    expect(count("visits")).toBeLessThanOrEqual(visitsAtUpgrade);
    expect(docker(["volume", "inspect", "-f", "{{.Name}}", volume("17")]).stdout).toBe(volume("17"));
    expect(memory()).toEqual({ alpha: { original: "15", live: "15", majors: ["15", "17"] } });

    // A decrease to a major with no retained volume: the program refuses it with one line at the version's key.
    setVersion("13");
    const refused = pulumi(world, ["preview"]);
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/alpha\.yaml:\d+:\d+ database\.postgres\.version: tenant alpha in stack e2e: Postgres 15 → 13 is a downgrade and no volume of Postgres 13 is retained/);
  }, 600_000);
});
