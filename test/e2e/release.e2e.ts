import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  changedSteps, containers, docker, expectOk, get, IMAGES, pulumi, pulumiAsync, REPO, requestLoop, STACK, tenantHost,
  up, type World,
} from "./harness";
import { useWorld } from "./world-hooks";

/**
 * Issue 13's release tasks on the real engine. The demo app's `migrate` mode records its version in table
 * `releases`; its `/db/release` answers 200 only when its own version is recorded there. So under a request loop
 * on /db/release, any request a new container answered before its migration ran would fail, and a failing release
 * task that let a new container start would show a new version or a failure.
 */

let world: World;

const TENANT = "rel";
const file = (image: string, release: string) => `# e2e: a routed service with a release task, and its database.
name: ${TENANT}
services:
  web:
    image: ${image}
    port: 8080
    routes: []
    healthcheck: { path: /health, interval: 1s, timeout: 2s, retries: 3, startPeriod: 30s }
    release: { command: [${release}] }
database:
  postgres: { version: "15" }
`;

useWorld((created) => {
  world = created;
  // Only this tenant: the stack reads tenants/ of the world, which starts empty.
  expectOk(pulumi(world, ["config", "set", "platform:tenantsDir", "tenants"]), "pulumi config set tenantsDir");
});

const write = (image: string, release: string) => writeFileSync(path.join(world.dir, "tenants", `${TENANT}.yaml`), file(image, release));
const releaseContainers = () => docker(["ps", "-aq", "--filter", "label=platform.stack=e2e", "--filter", "label=platform.release=web"]).stdout;
const ids = () => containers({ tenant: TENANT, service: "web" }).map((name) => docker(["inspect", "-f", "{{.Id}}", name]).stdout);

/** The tenant's backup runs as `npm run db -- list` reports them. */
function backupRuns(): { id: string; result: string; reason: string; present: boolean; sizeBytes: number }[] {
  const run = spawnSync(path.join(REPO, "node_modules/.bin/tsx"), [path.join(REPO, "cli/db.ts"), "list", TENANT, "--stack", STACK, "--cwd", world.dir, "--json"], { encoding: "utf8" });
  expect(run.status, run.stdout + run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { backups: ReturnType<typeof backupRuns> }).backups;
}
const preReleaseDumps = () => backupRuns().filter((r) => r.reason === "pre-release-web");

/** Runs `pulumi up` while requests go to /db/release through the edge; both results. */
async function upUnderLoad() {
  const run = pulumiAsync(world, ["up", "--yes", "--skip-preview"]);
  const load = await requestLoop(tenantHost(TENANT), 10, 30, run, 300, "/db/release");
  return { run: await run, load };
}

describe("release tasks on a real engine", () => {
  it("runs the release task before the first containers: the app finds its migration", async () => {
    write(IMAGES.v1, "migrate");
    expectOk(up(world), "pulumi up");
    const answer = await get(tenantHost(TENANT), "/db/release");
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ version: "1", migrated: true });
    expect(releaseContainers()).toBe("");
    // A dump was taken just before it, through the tenant's backup container.
    expect(preReleaseDumps()).toEqual([expect.objectContaining({ result: "ok", present: true })]);
    expect(preReleaseDumps()[0]!.id).toMatch(/^[0-9]{8}T[0-9]{6}Z-pre-release-web$/);
  });

  it("a failing release task stops the rollout: the old version keeps serving, the error names tenant, service and output", async () => {
    const before = ids();
    write(IMAGES.v2, "migrate, fail");
    const { run, load } = await upUnderLoad();
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output.slice(-3000)).not.toBe(0);
    expect(output).toContain("release task of tenant rel, service web failed (exit 1) running: migrate fail");
    expect(output).toContain("migration 0002_add_releases failed: simulated failure");
    expect(load.failed, JSON.stringify(load.failed.slice(0, 5))).toEqual([]);
    expect(load.sent).toBeGreaterThanOrEqual(30);
    expect([...load.bodies]).toEqual([JSON.stringify({ migrated: true, version: "1" })]);
    expect(ids()).toEqual(before);
    expect(releaseContainers()).toBe("");
    // The database password (part of the task's environment) is in neither the output nor the state in the clear.
    const password = /POSTGRES_PASSWORD=([^\s,\]"]+)/.exec(docker(["inspect", "-f", "{{json .Config.Env}}", `platform-e2e-${TENANT}-postgres`]).stdout)?.[1];
    expect(password).toBeTruthy();
    expect(output).not.toContain(password!);
    const state = pulumi(world, ["stack", "export"]);
    expectOk(state, "pulumi stack export");
    expect(state.stdout).not.toContain(password!);
  });

  it("a dump that cannot be taken stops the release before it runs: the error names tenant, service and step", async () => {
    const before = ids();
    const dumps = preReleaseDumps().length;
    const backup = `platform-${STACK}-${TENANT}-backup`;
    expect(docker(["stop", backup]).status).toBe(0);
    try {
      write(IMAGES.v2, "migrate");
      const run = up(world);
      const output = `${run.stdout}\n${run.stderr}`;
      expect(run.status, output.slice(-3000)).not.toBe(0);
      expect(output).toContain('tenant rel, service web: the dump before the release task failed (step "dump pre-release-web"');
      expect(ids()).toEqual(before);
      expect(JSON.parse((await get(tenantHost(TENANT), "/db/release")).body)).toEqual({ version: "1", migrated: true });
    } finally {
      expect(docker(["start", backup]).status).toBe(0);
    }
    expect(preReleaseDumps().length).toBe(dumps);
  });

  it("a succeeding release task has migrated before the new version takes traffic, and does not run again unchanged", async () => {
    write(IMAGES.v2, "migrate");
    const { run, load } = await upUnderLoad();
    expectOk(run, "pulumi up (v2)");
    expect(load.failed, JSON.stringify(load.failed.slice(0, 5))).toEqual([]);
    expect(load.bodies).toContain(JSON.stringify({ migrated: true, version: "2" }));
    expect(JSON.parse((await get(tenantHost(TENANT), "/db/release")).body)).toEqual({ version: "2", migrated: true });
    expect(releaseContainers()).toBe("");
    // One dump before each run of the task (the first, the failing one, this one); retention keeps each day's newest.
    const dumps = preReleaseDumps();
    expect(dumps.map((d) => d.result)).toEqual(["ok", "ok", "ok"]);
    expect(dumps.map((d) => d.present)).toEqual([false, false, true]);

    const preview = pulumi(world, ["preview", "--json"]);
    expectOk(preview, "pulumi preview");
    const changed = changedSteps(preview.stdout).filter((s) => s.urn.includes(`::${TENANT}-web`));
    expect(changed.map((s) => `${s.op} ${s.urn}`)).toEqual([]);
  });
});
