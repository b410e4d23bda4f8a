import { spawnSync } from "node:child_process";
import { existsSync, rmSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  docker, expectOk, get, IMAGES, pulumi, REPO, removeTenant, STACK, tenantHost, up, type World,
} from "./harness";
import { useWorld } from "./world-hooks";

// Preview environments on the real engine: the e2e world's stack is the base (one tenant, alpha), and
// `npm run preview` brings pull-request previews up beside it, behind its Traefik, and takes them down again.
let world: World;
const PREVIEW = "pr-7";
const APP_PREVIEW = "app-demo-pr-7";

useWorld(
  (created) => {
    world = created;
    // Small: the base runs alpha only.
    removeTenant(world, "beta.yaml");
    // The CLI finds the toolchain in the project it runs in, as it does in a checkout.
    if (!existsSync(path.join(world.dir, ".engine"))) symlinkSync(path.join(REPO, ".engine"), path.join(world.dir, ".engine"));
  },
  {
    moreDiagnostics: () => labelled(PREVIEW, "ps", "-a").join("\n"),
    beforeDestroy: () => {
      for (const [stack, args] of [[PREVIEW, ["--pr", "7"]], [APP_PREVIEW, ["--app", "demo", "--pr", "7"]], ["app-demo-pr-8", ["--app", "demo", "--pr", "8"]]] as const) {
        if (labelled(stack, "ps", "-a").length > 0 || labelled(stack, "volume", "ls").length > 0) preview(["down", ...args]);
        removeLabelled(stack);
      }
    },
  },
);

/** `npm run preview` in the world, with its state: the world's file backend, as CI's PULUMI_BACKEND_URL would name one. */
function preview(args: string[]): { status: number; output: string } {
  const result = spawnSync(path.join(world.dir, "node_modules/.bin/tsx"), ["cli/preview.ts", ...args], {
    cwd: world.dir,
    encoding: "utf8",
    env: { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(world.dir, ".state")}`, PULUMI_CONFIG_PASSPHRASE: world.toolchain.env.PULUMI_CONFIG_PASSPHRASE },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  return { status: result.status ?? 1, output: `${result.stdout}\n${result.stderr}` };
}

/** Names of the Docker objects labelled with a stack: `ps -a`, `network ls` or `volume ls`. */
function labelled(stack: string, ...list: string[]): string[] {
  const format = list[0] === "ps" ? "{{.Names}}" : "{{.Name}}";
  return docker([...list, "--filter", `label=platform.stack=${stack}`, "--format", format]).stdout.split("\n").filter(Boolean).sort();
}

/** Only ever this test's own preview stacks' objects. */
function removeLabelled(stack: string): void {
  for (const name of labelled(stack, "ps", "-a")) docker(["rm", "-f", name]);
  for (const name of labelled(stack, "volume", "ls")) docker(["volume", "rm", "-f", name]);
  for (const name of labelled(stack, "network", "ls")) {
    docker(["network", "disconnect", "--force", name, `platform-${STACK}-edge-pause`]);
    docker(["network", "rm", name]);
  }
}

/** Every base container as id and start time, and the base's networks and volumes: what "untouched" compares. */
function baseState(): string {
  const names = labelled(STACK, "ps", "-a");
  const containers = docker(["inspect", "-f", "{{.Name}} {{.Id}} {{.State.StartedAt}} {{.RestartCount}}", ...names]).stdout;
  return [containers, ...labelled(STACK, "network", "ls"), ...labelled(STACK, "volume", "ls")].join("\n");
}

function expectNoBaseChanges(): void {
  const check = pulumi(world, ["preview", "--expect-no-changes", "--diff"]);
  expect(check.status, `${check.stdout}\n${check.stderr}`).toBe(0);
}

const previewHost = (tenant: string, suffix = "-pr-7") => `${tenant}${suffix}.dev.localhost`;

describe("preview environments beside a base stack", () => {
  let before: string;
  let baseRows: number;

  it("1. the base stack is up and serves alpha", async () => {
    expectOk(up(world), "pulumi up (base)");
    for (let i = 0; i < 3; i += 1) {
      const wrote = await get(tenantHost("alpha"), "/db");
      expect(wrote.status, wrote.body).toBe(200);
    }
    baseRows = Number(/count[^0-9]*([0-9]+)/.exec((await get(tenantHost("alpha"), "/db/read")).body)?.[1]);
    expect(baseRows).toBeGreaterThanOrEqual(3);
    before = baseState();
  });

  it("2. preview up --pr 7 comes up beside the base and answers at alpha-pr-7 through the base's Traefik", async () => {
    const run = preview(["up", "--pr", "7", "--base", STACK, "--tenants", "alpha"]);
    expect(run.status, run.output.slice(-4000)).toBe(0);
    expect(run.output).toContain(`http://${previewHost("alpha")}:18000/`);
    expect(existsSync(path.join(world.dir, `Pulumi.${PREVIEW}.yaml`))).toBe(true);

    const answer = await get(previewHost("alpha"));
    expect(answer.status, answer.body).toBe(200);
    // Served by the preview's own container, not the base's.
    const served = /on (\S+)/.exec(answer.body)?.[1] ?? "";
    const previewIds = docker(["ps", "-q", "--no-trunc", "--filter", `label=platform.stack=${PREVIEW}`, "--filter", "label=platform.service=web"]).stdout;
    expect(served.length).toBeGreaterThan(0);
    expect(previewIds).toContain(served);
    // A fresh, empty database of its own: its first row is its only one.
    const rows = await get(previewHost("alpha"), "/db");
    expect(rows.status, rows.body).toBe(200);
    expect(rows.body).toMatch(/"count":1\b/);
    // The preview declared no edge: nothing of it publishes a port.
    expect(docker(["ps", "--filter", `label=platform.stack=${PREVIEW}`, "--filter", "publish=18000"]).stdout.split("\n").length).toBe(1);
  });

  it("3. the base's resources are untouched: same containers (ids, start times), networks, volumes; no pending change", async () => {
    expect(baseState()).toBe(before);
    expectNoBaseChanges();
    expect((await get(tenantHost("alpha"), "/db/read")).body).toMatch(new RegExp(`count[^0-9]*${baseRows}\\b`));
  });

  it("4. an application repository's preview runs its image beside both, and list shows the two previews", async () => {
    const run = preview(["up", "--app", "demo", "--pr", "7", "--tenant", "alpha", "--service", "web", "--image", IMAGES.v2, "--base", STACK]);
    expect(run.status, run.output.slice(-4000)).toBe(0);
    expect((await get(previewHost("alpha", "-demo-pr-7"))).body).toMatch(/version 2/);
    expect((await get(previewHost("alpha"))).body).toMatch(/version 1/);
    expect((await get(tenantHost("alpha"))).body).toMatch(/version 1/);

    const listed = preview(["list", "--json"]);
    expect(listed.status, listed.output).toBe(0);
    const rows = JSON.parse(listed.output.slice(listed.output.indexOf("["), listed.output.lastIndexOf("]") + 1)) as {
      stack: string; base: string; tenants: string[]; urls: Record<string, string[]>; lastUpdate: string;
    }[];
    expect(rows.map((r) => r.stack).sort()).toEqual([APP_PREVIEW, PREVIEW]);
    const pr = rows.find((r) => r.stack === PREVIEW)!;
    expect(pr).toMatchObject({ base: STACK, tenants: ["alpha"], urls: { alpha: [`http://${previewHost("alpha")}:18000/`] } });
    expect(Date.parse(pr.lastUpdate)).toBeGreaterThan(Date.now() - 3_600_000);
    expect(baseState()).toBe(before);
  });

  it("5. down leaves no container, network, volume, stack or stack file; the base is still untouched", async () => {
    // A teardown job's fresh checkout has no stack file: the app preview's is gone before its down.
    rmSync(path.join(world.dir, `Pulumi.${APP_PREVIEW}.yaml`));
    for (const [stack, args] of [[PREVIEW, ["down", "--pr", "7"]], [APP_PREVIEW, ["down", "--app", "demo", "--pr", "7"]]] as const) {
      const run = preview([...args]);
      expect(run.status, run.output.slice(-4000)).toBe(0);
      expect(labelled(stack, "ps", "-a"), stack).toEqual([]);
      expect(labelled(stack, "network", "ls"), stack).toEqual([]);
      expect(labelled(stack, "volume", "ls"), stack).toEqual([]);
      expect(existsSync(path.join(world.dir, `Pulumi.${stack}.yaml`))).toBe(false);
    }
    const stacks = pulumi(world, ["stack", "ls", "--json"]);
    expect((JSON.parse(stacks.stdout) as { name: string }[]).map((s) => s.name)).toEqual([STACK]);
    // The base's pause container no longer holds a preview network.
    const attached = docker(["inspect", "-f", "{{json .NetworkSettings.Networks}}", `platform-${STACK}-edge-pause`]).stdout;
    expect(attached).not.toContain("pr-7");
    expect((await get(previewHost("alpha"))).status).toBe(404);
    expect((await get(tenantHost("alpha"))).status).toBe(200);
    expect(baseState()).toBe(before);
    expectNoBaseChanges();
  });

  it("6. a failing preview exits 1 naming the tenant and the step; sweep removes previews older than the age", async () => {
    const broken = preview(["up", "--app", "demo", "--pr", "8", "--tenant", "alpha", "--service", "web", "--image", IMAGES.broken, "--base", STACK]);
    expect(broken.status, broken.output.slice(-4000)).toBe(1);
    expect(broken.output).toContain('preview app-demo-pr-8 failed: tenant alpha, step "pulumi up"');
    const sweep = preview(["sweep", "--open", "7", "--max-age-hours", "0.0001"]);
    expect(sweep.status, sweep.output.slice(-4000)).toBe(0);
    expect(sweep.output).toContain("sweep: app-demo-pr-8: last updated");
    for (const list of [["ps", "-a"], ["network", "ls"], ["volume", "ls"]]) expect(labelled("app-demo-pr-8", ...list)).toEqual([]);
    expect((await get(tenantHost("alpha"))).status).toBe(200);
    expect(baseState()).toBe(before);
  });
});
