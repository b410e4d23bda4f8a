import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { SOCKET_PROXY_ENDPOINT } from "../../components/socket-proxy";
import {
  addTenant,
  changedSteps,
  docker,
  edgeContainer,
  edgePauseContainer,
  expectOk,
  get,
  IMAGES,
  LABELLED_LOCAL_IMAGE,
  pulumi,
  readTenant,
  removeTenant,
  STACK,
  statusCli,
  tenantHost,
  up,
  waitFor,
  type World,
} from "./harness";
import { useWorld } from "./world-hooks";

// Fault drills on the edge (issue 19). The promise each checks: a crash or an engine-driven restart of an edge
// container heals by itself (the edge keeper, components/edge-keeper-script.ts), and a deliberate stop (`docker
// kill`, which the engine records as a stop by hand) is reported by `npm run status` and undone by the next
// `pulumi up --refresh`. One tenant (alpha) keeps the world small; each heal time is printed for bench/REAL-ENGINE.md.
let world: World;

useWorld((created) => {
  world = created;
  removeTenant(world, "beta.yaml");
}, { ownEngine: { name: "e2e-faults", index: 3 } });

const KEEPER = `platform-${STACK}-edge-keeper`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const answers = () => get(tenantHost("alpha"), "/", 1000).then((a) => a.status === 200, () => false);
const inspect = (container: string, format: string) => docker(["inspect", "-f", format, container]).stdout;

/** Milliseconds from `since` until alpha answers 200 through the edge again (polled every 100 ms). */
async function answersAgainAfter(since: number, what: string, seconds = 60): Promise<number> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (await answers()) {
      const ms = Date.now() - since;
      console.log(`faults: ${what}: alpha answers again ${ms} ms after the fault`);
      return ms;
    }
    await sleep(100);
  }
  throw new Error(`alpha did not answer within ${seconds}s after ${what}`);
}

/** SIGKILL of a container's main process from the host, as a crash or the OOM killer would. */
function crash(container: string): void {
  const pid = Number(inspect(container, "{{.State.Pid}}"));
  // Pid 0 (not running) would signal this test's own process group.
  if (!(pid > 0)) throw new Error(`${container} is not running (pid ${pid})`);
  process.kill(pid, "SIGKILL");
}

const keeperLog = () => {
  const logs = docker(["logs", KEEPER]);
  return `${logs.stdout}\n${logs.stderr}`;
};

describe("edge fault drills on a real engine", () => {
  it("the stack comes up with its edge keeper, and alpha answers", async () => {
    expectOk(up(world), "pulumi up");
    expect(inspect(KEEPER, "{{.State.Running}} {{.HostConfig.NetworkMode}}")).toBe("true none");
    expect(await answers()).toBe(true);
  });

  it("from inside Traefik the Docker API only reads: listing works; create, exec, stop, secrets and logs are refused", () => {
    const traefik = edgeContainer();
    // Traefik's image has no client for a unix socket: copy in the keeper image's docker CLI.
    const dir = mkdtempSync(path.join(tmpdir(), "edge-cli-"));
    try {
      expectOk(docker(["cp", `${KEEPER}:/usr/local/bin/docker`, path.join(dir, "docker")]), "docker cp from the keeper");
      expectOk(docker(["cp", path.join(dir, "docker"), `${traefik}:/tmp/docker`]), "docker cp into Traefik");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const api = (...args: string[]) => docker(["exec", traefik, "/tmp/docker", "-H", SOCKET_PROXY_ENDPOINT, ...args]);
    // The probe works: what Traefik needs answers.
    const listed = api("ps", "--format", "{{.Names}}");
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(edgePauseContainer());
    expect(api("inspect", "-f", "{{.Name}}", edgePauseContainer()).stdout).toBe(`/${edgePauseContainer()}`);
    const refused: [string, string[]][] = [
      ["create a container", ["create", "--name", "from-traefik", "platform-local/pause:1"]],
      ["exec", ["exec", KEEPER, "true"]],
      ["stop a container", ["stop", KEEPER]],
      ["read a container's logs", ["logs", KEEPER]],
      ["list secrets", ["secret", "ls"]],
      ["create a network", ["network", "create", "from-traefik"]],
    ];
    for (const [what, args] of refused) {
      const run = api(...args);
      expect(run.status, `${what}: ${run.stdout}`).not.toBe(0);
      expect(run.stderr, what).toContain("refused by the edge socket proxy");
    }
    expect(inspect(KEEPER, "{{.State.Running}}")).toBe("true");
    expect(docker(["inspect", "from-traefik"]).status).not.toBe(0);
  });

  it("docker restart of the pause container: Traefik follows it into the new namespace by itself", async () => {
    const traefikStarted = inspect(edgeContainer(), "{{.State.StartedAt}}");
    const fault = Date.now();
    expect(docker(["restart", edgePauseContainer()]).status).toBe(0);
    // Right after the restart nothing listens in the new namespace: the probe must see the outage before the heal.
    await answersAgainAfter(fault, "docker restart of the pause container");
    expect(inspect(edgeContainer(), "{{.State.StartedAt}}")).not.toBe(traefikStarted);
    expect(keeperLog()).toMatch(/started before its pause container's current run, so its network namespace is gone: restarting it/);
  });

  it("a crash of the pause container's process (SIGKILL; the engine restarts it): heals by itself", async () => {
    const pauseStarted = inspect(edgePauseContainer(), "{{.State.StartedAt}}");
    const fault = Date.now();
    crash(edgePauseContainer());
    await waitFor("the engine to restart the pause container", () => inspect(edgePauseContainer(), "{{.State.StartedAt}}") !== pauseStarted, 30);
    await answersAgainAfter(fault, "SIGKILL of the pause container's process");
    expect(inspect(edgeContainer(), "{{.State.Running}}")).toBe("true");
  });

  it("Traefik started while its pause container is down (an engine restart's race): started once the pause runs", async () => {
    expect(docker(["stop", edgeContainer(), edgePauseContainer()]).status).toBe(0);
    // What the engine does after a restart when it starts Traefik first: the start fails and is never retried.
    const early = docker(["start", edgeContainer()]);
    expect(early.status).not.toBe(0);
    expect(early.stderr).toMatch(/cannot join network of a non running container/);
    expect(inspect(edgeContainer(), "{{.State.Running}}")).toBe("false");
    const fault = Date.now();
    expect(docker(["start", edgePauseContainer()]).status).toBe(0);
    await answersAgainAfter(fault, "the pause container started after Traefik's failed start");
    expect(keeperLog()).toMatch(/failed to start \(.*cannot join network.*\): starting it now that its pause container runs/);
  });

  it("a crash of Traefik's process: the engine restarts it", async () => {
    const pid = Number(inspect(edgeContainer(), "{{.State.Pid}}"));
    const fault = Date.now();
    crash(edgeContainer());
    await waitFor("the engine to restart Traefik", () => Number(inspect(edgeContainer(), "{{.State.Pid}}")) !== pid, 30);
    await answersAgainAfter(fault, "SIGKILL of Traefik's process");
  });

  it("docker kill of Traefik (a stop by hand): stays down, status names it, the next up --refresh starts it", async () => {
    expect(docker(["kill", edgeContainer()]).status).toBe(0);
    await sleep(4000);
    expect(inspect(edgeContainer(), "{{.State.Running}}")).toBe("false");
    expect(await answers()).toBe(false);
    const report = statusCli(world);
    expect(report.status, report.stdout).toBe(1);
    expect(report.stdout).toContain(edgeContainer());

    const preview = pulumi(world, ["preview", "--refresh", "--json"]);
    expectOk(preview, "pulumi preview --refresh");
    // The refresh finds Traefik stopped (the provider records must_run false), so the plan starts it again.
    expect(changedSteps(preview.stdout).map((s) => `${s.op} ${s.urn.split("::").at(-1)}`)).toEqual(["update edge-local-traefik"]);
    const fault = Date.now();
    expectOk(pulumi(world, ["up", "--refresh", "--yes", "--skip-preview"]), "pulumi up --refresh");
    await answersAgainAfter(fault, "pulumi up --refresh after docker kill of Traefik");
    expectOk(pulumi(world, ["preview", "--refresh", "--expect-no-changes"]), "pulumi preview --refresh --expect-no-changes");
  });

  it("docker kill of the pause container (a stop by hand): status names it, the next up --refresh brings the edge back", async () => {
    expect(docker(["kill", edgePauseContainer()]).status).toBe(0);
    await sleep(2000);
    expect(await answers()).toBe(false);
    const report = statusCli(world);
    expect(report.status, report.stdout).toBe(1);
    expect(report.stdout).toContain(edgePauseContainer());
    const fault = Date.now();
    expectOk(pulumi(world, ["up", "--refresh", "--yes", "--skip-preview"]), "pulumi up --refresh");
    await answersAgainAfter(fault, "pulumi up --refresh after docker kill of the pause container");
    expectOk(pulumi(world, ["preview", "--refresh", "--expect-no-changes"]), "pulumi preview --refresh --expect-no-changes");
    await waitFor("npm run status to report every container healthy", () => statusCli(world).status === 0, 90);
  });

  it("a tenant image carrying Traefik labels of its own is refused before any container runs it; the old one serves", async () => {
    // An image's labels reach every container made from it: these would route another host to alpha's container.
    const dockerfile = `FROM platform-local/demo-app:1\nLABEL traefik.http.routers.hijack.rule="Host(\`hijack.dev.localhost\`)" platform.edge=${STACK}\n`;
    const built = spawnSync("docker", ["build", "-q", "-t", LABELLED_LOCAL_IMAGE, "-"], { input: dockerfile, encoding: "utf8", env: { ...process.env, DOCKER_BUILDKIT: "0" } });
    expect(built.status, built.stderr).toBe(0);
    const good = readTenant(world, "alpha.yaml");
    try {
      addTenant(world, "alpha.yaml", good.replace(/registry\.example\.com\/e2e\/demo:\w+/, IMAGES.labelled));
      const refused = pulumi(world, ["up", "--yes", "--skip-preview"]);
      expect(refused.status).not.toBe(0);
      expect(`${refused.stdout}${refused.stderr}`).toContain(`tenant alpha, service web: image ${LABELLED_LOCAL_IMAGE} carries labels that decide routing`);
      expect(docker(["ps", "-q", "--filter", `ancestor=${LABELLED_LOCAL_IMAGE}`]).stdout).toBe("");
      expect(await answers()).toBe(true);
      expect((await get("hijack.dev.localhost", "/", 2000)).status).toBe(404);
    } finally {
      addTenant(world, "alpha.yaml", good);
      docker(["rmi", LABELLED_LOCAL_IMAGE]);
    }
    expectOk(up(world), "pulumi up (the good image back)");
  });
});
