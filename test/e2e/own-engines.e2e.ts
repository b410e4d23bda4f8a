import { beforeAll, describe, expect, it } from "vitest";
import { aimHarnessAt, edgeImages, engineNode, removeEngine, startEngine, stopEngine, type EngineNode } from "./engine-nodes";
import {
  addTenant,
  changedSteps,
  convergeCli,
  docker,
  editStackConfig,
  expectOk,
  get,
  IMAGES,
  pulumi,
  pulumiAsync,
  readTenant,
  removeTenant,
  statusCli,
  tenantHost,
  up,
  type World,
} from "./harness";
import { useWorld } from "./world-hooks";

// Drills that need Docker engines of the test's own (issue 19, drills 1 and 6), so the machine's engine is never
// restarted or taken away under other work: two hosts, `a` and `b`, each a dockerd in namespaces of its own
// (scripts/engine-node.sh). alpha (an app and its Postgres) lives on a, gamma (one app) on b.
// Drill 1: dockerd of host a stopped and started, as a reboot or an engine upgrade does, with writes flowing.
// Drill 6: host b unreachable during `up`: the error names b, what does not depend on b is deployed, the next `up`
// finishes the job. Each measured figure is printed for bench/REAL-ENGINE.md.
const APP_IMAGES = ["platform-local/demo-app:1", "platform-local/demo-app:2"];
let hostA: EngineNode;
let hostB: EngineNode;
let world: World;

beforeAll(() => {
  hostA = engineNode("e2e-a", 1, [...edgeImages(), ...APP_IMAGES, "platform-local/postgres:15"]);
  hostB = engineNode("e2e-b", 2, [...edgeImages(), ...APP_IMAGES]);
  // The harness's docker CLI and diagnostics look at host a; requests to b's edge name its address.
  aimHarnessAt(hostA);
}, 600_000);

const GAMMA = `# on host b, the host the unreachable-host drill takes away
name: gamma
host: b
services:
  web:
    image: ${IMAGES.v1}
    port: 8080
    routes: []
    healthcheck: { path: /health, interval: 1s, timeout: 2s, retries: 3, startPeriod: 30s }
`;

useWorld(
  (created) => {
    world = created;
    removeTenant(world, "beta.yaml");
    addTenant(world, "gamma.yaml", GAMMA);
    editStackConfig(world, (config) => {
      config["platform:hosts"] = { a: { url: hostA.dockerHost, healthcheckStartInterval: false }, b: { url: hostB.dockerHost, healthcheckStartInterval: false } };
      config["platform:defaultHost"] = "a";
    });
  },
  {
    // The world's resources go with its engines: destroy first (while both answer), then remove the nodes.
    afterDestroy: () => {
      removeEngine(hostA);
      removeEngine(hostB);
    },
  },
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const answersOn = (node: EngineNode, tenant: string, urlPath = "/") =>
  get(tenantHost(tenant), urlPath, 1000, undefined, node.address).then(
    (a) => (a.status === 200 ? a.body : undefined),
    () => undefined,
  );

/** Milliseconds from `since` until `tenant` answers 200 on `node`'s edge (polled every 100 ms). */
async function answersAgainAfter(node: EngineNode, tenant: string, since: number, seconds = 120): Promise<number> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if ((await answersOn(node, tenant)) !== undefined) return Date.now() - since;
    await sleep(100);
  }
  throw new Error(`${tenant} did not answer on ${node.name} within ${seconds}s`);
}

/** Row count of alpha's visits table through the app (`/db/read`). */
async function visits(): Promise<number> {
  const body = await answersOn(hostA, "alpha", "/db/read");
  if (body === undefined) throw new Error("alpha's /db/read did not answer");
  return (JSON.parse(body) as { count: number }).count;
}

/** Writes through the edge (`GET /db` inserts a row) at `perSecond` until `stop` resolves: what was acknowledged. */
async function writeLoop(perSecond: number, stop: Promise<unknown>): Promise<{ sent: number; acknowledged: number; highest: number }> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const result = { sent: 0, acknowledged: 0, highest: 0 };
  const inflight: Promise<void>[] = [];
  while (!stopped) {
    result.sent += 1;
    inflight.push(
      get(tenantHost("alpha"), "/db", 5000, undefined, hostA.address).then(
        (answer) => {
          if (answer.status !== 200) return;
          result.acknowledged += 1;
          result.highest = Math.max(result.highest, (JSON.parse(answer.body) as { count: number }).count);
        },
        () => undefined,
      ),
    );
    await sleep(1000 / perSecond);
  }
  await Promise.all(inflight);
  return result;
}

describe("drills on engines of the test's own", () => {
  it("the stack comes up on two hosts: alpha answers on a's edge, gamma on b's", async () => {
    expectOk(up(world), "pulumi up");
    expect(await answersOn(hostA, "alpha")).toBeDefined();
    expect(await answersOn(hostB, "gamma")).toBeDefined();
    // The probe works; so a tenant not on a host does not answer there (it is routed by its own host's edge only).
    expect(await answersOn(hostB, "alpha")).toBeUndefined();
  });

  it("drill 1: dockerd of host a restarted twice with writes flowing: alpha answers again, every acknowledged row is kept, and nothing is planned", async () => {
    const before = await visits();
    for (const round of [1, 2]) {
      let engineBack = 0;
      let answeredAfter = 0;
      const restart = (async () => {
        await sleep(2000);
        const stopping = Date.now();
        stopEngine(hostA);
        const stopMs = Date.now() - stopping;
        await sleep(1000);
        startEngine(hostA);
        engineBack = Date.now();
        answeredAfter = await answersAgainAfter(hostA, "alpha", engineBack);
        console.log(`own-engines: restart ${round}: dockerd stopped in ${stopMs} ms; alpha answers ${answeredAfter} ms after dockerd answered again`);
        await sleep(2000);
      })();
      const writes = await writeLoop(10, restart);
      await restart;
      const count = await visits();
      console.log(`own-engines: restart ${round}: ${writes.sent} writes sent, ${writes.acknowledged} acknowledged; ${count} rows after`);
      expect(writes.acknowledged).toBeGreaterThan(0);
      // Every acknowledged insert is still there: the highest count any write returned, and no fewer rows than
      // were there before plus every write acknowledged since (across both rounds).
      expect(count).toBeGreaterThanOrEqual(writes.highest);
      expect(answeredAfter).toBeLessThan(60_000);
    }
    expect(await visits()).toBeGreaterThan(before);
    const logs = docker(["logs", docker(["ps", "-q", "--filter", "label=platform.tenant=alpha", "--filter", "label=platform.service=postgres"]).stdout]);
    // A clean shutdown, not crash recovery: dockerd gave Postgres its stop timeout.
    expect(`${logs.stdout}\n${logs.stderr}`).not.toMatch(/database system was interrupted|not properly shut down/);
    for (const args of [["preview", "--json"], ["preview", "--json", "--refresh"]]) {
      const preview = pulumi(world, args);
      expectOk(preview, args.join(" "));
      expect(changedSteps(preview.stdout), args.join(" ")).toEqual([]);
    }
  });

  it("drill 6: host b down during a deploy: converge names b (exit 3), the up without refresh deploys alpha's change on a and fails naming b, status names b, and the next up finishes", async () => {
    stopEngine(hostB);
    addTenant(world, "alpha.yaml", readTenant(world, "alpha.yaml").replace(IMAGES.v1, IMAGES.v2));
    addTenant(world, "gamma.yaml", GAMMA.replace(IMAGES.v1, IMAGES.v2));

    // The deploy job's sequence (.github/workflows/deploy.yml): converge, then up without --refresh on exit 3.
    const converged = convergeCli(world);
    expect(converged.status, converged.stderr).toBe(3);
    expect(converged.stderr).toMatch(/^converge: host b \(unix:\S+\) does not answer .*deploy without --refresh and with --continue-on-error/);
    const run = await pulumiAsync(world, ["up", "--yes", "--skip-preview", "--continue-on-error"]);
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output.slice(-3000)).not.toBe(0);
    expect(output).toMatch(/host b \(unix:\S+\) does not answer: tenant gamma, service web is left as it is there/);
    expect(await answersOn(hostA, "alpha")).toMatch(/version 2/);

    const status = statusCli(world);
    expect(status.status).toBe(1);
    expect(`${status.stdout}${status.stderr}`).toMatch(/host b \(unix:\S+\) unreachable/);

    startEngine(hostB);
    expect(convergeCli(world).status).toBe(0);
    expectOk(pulumi(world, ["up", "--yes", "--skip-preview", "--refresh", "--continue-on-error"]), "pulumi up with host b back");
    expect(await answersOn(hostB, "gamma")).toMatch(/version 2/);
    const preview = pulumi(world, ["preview", "--json", "--refresh"]);
    expectOk(preview, "preview --refresh");
    expect(changedSteps(preview.stdout)).toEqual([]);
  });
});
