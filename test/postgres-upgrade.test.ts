import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { DeployedDatabase } from "../model/database-volumes";
import { EXAMPLE_TENANTS, exampleTenantsIn, fixtureConfig, ofType, runProgram, TYPES, type ProgramRun, type RecordedResource } from "./program-harness";
import { tempDirs } from "./temp-dirs";

// Postgres major upgrades (issue 13), planned from what the stack remembers deploying (its output databaseVolumes).
const dirs = tempDirs("platform-upgrade-");
const STACK = "production";

/** The example tenants with notes (Postgres 15 there) on `version`, plus extra lines under database.postgres. */
function tenants(version: string, postgresExtra = ""): string {
  const extra = postgresExtra ? `, ${postgresExtra}` : "";
  const notes = readFileSync(path.join(EXAMPLE_TENANTS, "notes.yaml"), "utf8");
  return exampleTenantsIn(dirs.make(), { "notes.yaml": notes.replace('postgres: { version: "15" }', `postgres: { version: "${version}"${extra} }`) });
}

const run = (version: string, memory?: Record<string, DeployedDatabase>, postgresExtra = "") =>
  runProgram(STACK, fixtureConfig(STACK, tenants(version, postgresExtra)), memory ? { databaseVolumes: memory } : {});

/** Every resource but the StackReference, in a stable order (tenants are declared once the memory is read). */
const declared = (r: ProgramRun): RecordedResource[] =>
  r.resources.filter((x) => x.type !== "pulumi:pulumi:StackReference").sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
const volumes = (r: ProgramRun) =>
  Object.fromEntries(ofType(r, TYPES.volume).filter((v) => /-pgdata/.test(v.name)).map((v) => [v.name, v.inputs.name]));
const mountOf = (r: ProgramRun, tenant: string) =>
  (ofType(r, TYPES.container).find((c) => c.name === `${tenant}-postgres`)!.inputs.mounts as { source: string }[])[0]!.source;
const upgradeSteps = (r: ProgramRun) => ofType(r, TYPES.command).filter((c) => /-postgres-upgrade-pg/.test(c.name));
/** The protection each data volume was declared with, in declaration order ([protect, preview] per volume). */
const dataVolumeProtection = (r: ProgramRun) => r.options.filter((o) => o.kind === "dataVolume").map((o) => o.options.protect);

describe("what the stack remembers decides a tenant's database volumes", () => {
  it("nothing remembered (a first run): every volume keeps its resource name and Docker name; the output starts the memory", async () => {
    const first = await run("15");
    expect(first.error).toBeUndefined();
    expect(volumes(first)).toMatchObject({
      "notes-pgdata": "platform-production-notes-pgdata-pg15",
      "acme-pgdata": "platform-production-acme-pgdata-pg16",
    });
    expect(upgradeSteps(first)).toEqual([]);
    expect(first.outputs.databaseVolumes).toMatchObject({
      notes: { original: "15", live: "15", majors: ["15"] },
      acme: { original: "16", live: "16", majors: ["16"] },
    });
    // Reading that memory back changes nothing at all.
    const again = await runProgram(STACK, fixtureConfig(STACK, tenants("15")), { databaseVolumes: first.outputs.databaseVolumes });
    expect(declared(again)).toEqual(declared(first));
    expect(again.outputs.databaseVolumes).toEqual(first.outputs.databaseVolumes);
  });

  it("15 → 17: a new volume resource for 17, the data step, the container on the new volume; 15 keeps URN, name and protection", async () => {
    const upgraded = await run("17", { notes: { original: "15", live: "15", majors: ["15"] } });
    expect(upgraded.error).toBeUndefined();
    expect(volumes(upgraded)).toMatchObject({
      "notes-pgdata": "platform-production-notes-pgdata-pg15",
      "notes-pgdata-pg17": "platform-production-notes-pgdata-pg17",
    });
    expect(mountOf(upgraded, "notes")).toBe("platform-production-notes-pgdata-pg17");
    const [step, ...more] = upgradeSteps(upgraded);
    expect(more).toEqual([]);
    expect(step!.name).toBe("notes-postgres-upgrade-pg17");
    const env = step!.inputs.environment as Record<string, string>;
    expect(env).toMatchObject({
      FROM: "15",
      TO: "17",
      VOLUME: "platform-production-notes-pgdata-pg17",
      DB: "platform-production-notes-postgres",
      BACKUP: "platform-production-notes-backup",
      REASON: "upgrade-pg15-to-pg17",
    });
    expect(env.IMAGE).toContain("postgres:17");
    // Production protects every data volume, the retained 15 one included.
    expect(dataVolumeProtection(upgraded).every((protect) => protect === true)).toBe(true);
    expect(upgraded.outputs.databaseVolumes).toMatchObject({ notes: { original: "15", live: "17", majors: ["15", "17"], upgraded: { from: "15", to: "17" } } });
  });

  it("after the upgrade, the next run declares exactly what the upgrade run did: `up` twice changes nothing", async () => {
    const upgraded = await run("17", { notes: { original: "15", live: "15", majors: ["15"] } });
    const next = await run("17", upgraded.outputs.databaseVolumes as Record<string, DeployedDatabase>);
    expect(next.error).toBeUndefined();
    // The finished data step stays declared with the same inputs (so it does not run again and is not deleted).
    expect(declared(next)).toEqual(declared(upgraded));
    expect(volumes(next)).toMatchObject({ "notes-pgdata": "platform-production-notes-pgdata-pg15", "notes-pgdata-pg17": "platform-production-notes-pgdata-pg17" });
    expect(mountOf(next, "notes")).toBe("platform-production-notes-pgdata-pg17");
    expect(next.outputs.databaseVolumes).toEqual(upgraded.outputs.databaseVolumes);
  });

  it("rolling back to 15 re-attaches the retained 15 volume: no data step, no new volume, 17 stays declared", async () => {
    const back = await run("15", { notes: { original: "15", live: "17", majors: ["15", "17"] } });
    expect(back.error).toBeUndefined();
    expect(upgradeSteps(back)).toEqual([]);
    expect(mountOf(back, "notes")).toBe("platform-production-notes-pgdata-pg15");
    expect(volumes(back)).toMatchObject({ "notes-pgdata": "platform-production-notes-pgdata-pg15", "notes-pgdata-pg17": "platform-production-notes-pgdata-pg17" });
    expect(back.outputs.databaseVolumes).toMatchObject({ notes: { original: "15", live: "15", majors: ["15", "17"] } });
  });

  it("a decrease with no retained volume to go back to stops the program at the version's line", async () => {
    const down = await run("15", { notes: { original: "17", live: "17", majors: ["17"] } });
    expect(down.error?.message).toMatch(/notes\.yaml:22:\d+ database\.postgres\.version: tenant notes in stack production: Postgres 17 → 15 is a downgrade and no volume of Postgres 15 is retained/);
  });

  it("oldVolumes: retiring lifts the old volume's protection, removed stops declaring it (and the memory forgets it)", async () => {
    const memory = { notes: { original: "15", live: "17", majors: ["15", "17"] } };
    const retiring = await run("17", memory, 'oldVolumes: { "15": retiring }');
    expect(retiring.error).toBeUndefined();
    const notesVolumes = retiring.options.filter((o) => o.kind === "dataVolume");
    expect(volumes(retiring)).toHaveProperty("notes-pgdata");
    expect(notesVolumes.filter((o) => o.options.protect === false)).toHaveLength(1);

    const removed = await run("17", memory, 'oldVolumes: { "15": removed }');
    expect(volumes(removed)).not.toHaveProperty("notes-pgdata");
    expect(volumes(removed)).toHaveProperty("notes-pgdata-pg17");
    expect(removed.outputs.databaseVolumes).toMatchObject({ notes: { original: "15", live: "17", majors: ["17"] } });
  });

  it("oldVolumes may not name the major the tenant runs", async () => {
    const invalid = await run("17", undefined, 'oldVolumes: { "17": retiring }');
    expect(invalid.error?.message).toMatch(/notes\.yaml:\d+:\d+ database\.postgres\.oldVolumes\.17: Postgres 17 is the version this tenant runs/);
  });

  it("a remembered value this program did not write stops the program", async () => {
    const odd = await runProgram(STACK, fixtureConfig(STACK, tenants("15")), { databaseVolumes: { notes: { live: 15 } } });
    expect(odd.error?.message).toContain("stack output databaseVolumes of stack production is not what this program writes");
  });
});
