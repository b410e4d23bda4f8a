import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { changedSteps, containers, expectOk, get, IMAGES, pulumi, REPO, tenantHost, up, type World } from "./harness";
import { useWorld } from "./world-hooks";

/**
 * Issue 12's promotion round-trip on the real engine: what the image-published workflow does (set-image on the
 * tenant file) followed by the pipeline's preview and up changes exactly the one service's containers; set-image
 * with the old reference is the rollback and restores the file byte for byte.
 */

let world: World;

const TENANT = "promo";
const FILE = `# e2e: a routed web service and an internal worker on the same image.
name: ${TENANT}
services:
  web:
    image: ${IMAGES.v1}   # promoted by the app's pipeline
    port: 8080
    routes: []
    healthcheck: { path: /health, interval: 1s, timeout: 2s, retries: 3, startPeriod: 30s }
  worker:
    image: ${IMAGES.v1}
`;

useWorld((created) => {
  world = created;
  // set-image edits tenants/<tenant>.yaml, as in the platform repo: this stack reads tenants/.
  writeFileSync(path.join(world.dir, "tenants", `${TENANT}.yaml`), FILE);
  expectOk(pulumi(world, ["config", "set", "platform:tenantsDir", "tenants"]), "pulumi config set tenantsDir");
});

function setImage(...args: string[]): { status: number; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [path.join(REPO, "node_modules/tsx/dist/cli.mjs"), path.join(REPO, "cli/set-image.ts"), ...args, "--root", world.dir], {
    encoding: "utf8",
  });
  return { status: run.status ?? 1, stdout: run.stdout, stderr: run.stderr };
}

const ids = (service: string) => containers({ tenant: TENANT, service }).map((name) => spawnSync("docker", ["inspect", "-f", "{{.Id}}", name], { encoding: "utf8" }).stdout.trim());

describe("image promotion on a real engine", () => {
  it("set-image → preview → up replaces only the promoted service's containers; set-image back rolls it back", async () => {
    expectOk(up(world), "pulumi up");
    expect((await get(tenantHost(TENANT))).body).toContain("demo-app version 1");
    const web = ids("web");
    const worker = ids("worker");
    expect(web).toHaveLength(1);
    expect(worker).toHaveLength(1);

    const promoted = setImage(TENANT, "web", IMAGES.v2);
    expect(promoted.status, promoted.stderr).toBe(0);
    const file = path.join(world.dir, "tenants", `${TENANT}.yaml`);
    expect(readFileSync(file, "utf8")).toBe(FILE.replace(`image: ${IMAGES.v1}   #`, `image: ${IMAGES.v2}   #`));

    const preview = pulumi(world, ["preview", "--json"]);
    expectOk(preview, "pulumi preview");
    const changed = changedSteps(preview.stdout);
    expect(changed.length).toBeGreaterThan(0);
    for (const step of changed) expect(step.urn, `${step.op} ${step.urn}`).toMatch(new RegExp(`::${TENANT}-web\\b`));

    expectOk(up(world), "pulumi up (promoted)");
    expect((await get(tenantHost(TENANT))).body).toContain("demo-app version 2");
    expect(ids("worker")).toEqual(worker);
    expect(ids("web")).not.toEqual(web);

    // Rollback: the same command with the previous reference, through the same preview and up.
    const rolledBack = setImage(TENANT, "web", IMAGES.v1);
    expect(rolledBack.status, rolledBack.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(FILE);
    expectOk(up(world), "pulumi up (rolled back)");
    expect((await get(tenantHost(TENANT))).body).toContain("demo-app version 1");
    expect(ids("worker")).toEqual(worker);
  });
});
