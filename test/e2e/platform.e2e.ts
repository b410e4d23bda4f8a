import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  addresses, addTenant, canConnect, changedSteps, containers, DASHBOARD_PORT, docker, edgeContainer,
  edgePauseContainer, expectOk, get, httpFrom, IMAGES, pulumi, pulumiAsync, readTenant, removeTenant, REPO,
  requestLoop, STACK, tenantHost, up, type World,
} from "./harness";
import { useWorld } from "./world-hooks";

// The nine behaviours of the real-engine issue, in one ordered run against one stack (each `pulumi up` costs
// tens of seconds, so the steps build on each other). A failing step prints the stack's containers and logs.
let world: World;

useWorld((created) => {
  world = created;
});

const LOAD = { perSecond: 25, minimum: 600 };
const edgeState = () => docker(["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", edgeContainer(), edgePauseContainer()]).stdout;

describe("the platform on a real Docker engine", () => {
  it("1. up: every routed service answers through Traefik", async () => {
    expectOk(up(world), "pulumi up");
    for (const tenant of ["alpha", "beta"]) {
      const answer = await get(tenantHost(tenant));
      expect(answer.status, `${tenant}: ${answer.body}`).toBe(200);
    }
    const db = await get(tenantHost("alpha"), "/db");
    expect(db.status, db.body).toBe(200);
  });

  it("2. a second preview reports no changes", () => {
    const preview = pulumi(world, ["preview", "--expect-no-changes", "--diff"]);
    expect(preview.status, `${preview.stdout}\n${preview.stderr}`).toBe(0);
  });

  it("3. tenants reach neither each other nor Traefik's own endpoints; Traefik reaches no database", async () => {
    const alpha = containers({ tenant: "alpha", service: "web" })[0]!;
    const betaWeb = containers({ tenant: "beta", service: "web" });
    const betaDb = `platform-${STACK}-beta-postgres`;
    const alphaDb = `platform-${STACK}-alpha-postgres`;
    expect(betaWeb).toHaveLength(2);

    for (const target of [...betaWeb, betaDb]) {
      expect(canConnect(alpha, target, target === betaDb ? 5432 : 8080), `alpha -> ${target} by name`).toBe(false);
      for (const ip of Object.values(addresses(target)))
        expect(canConnect(alpha, ip, target === betaDb ? 5432 : 8080), `alpha -> ${target} at ${ip}`).toBe(false);
    }
    expect(canConnect(alpha, "postgres", 5432), "alpha -> its own database").toBe(true);

    const edge = edgeContainer();
    for (const db of [alphaDb, betaDb])
      for (const ip of Object.values(addresses(db))) expect(canConnect(edge, ip, 5432), `Traefik -> ${db} at ${ip}`).toBe(false);

    // Traefik's address on alpha's ingress network (its namespace is the pause container's): only the routed
    // entrypoint answers.
    const edgeIps = addresses(edgePauseContainer());
    const shared = Object.entries(edgeIps).find(([network]) => network === `platform-${STACK}-alpha-ingress-local`);
    expect(shared, `Traefik on alpha's ingress network: ${JSON.stringify(edgeIps)}`).toBeDefined();
    const edgeIp = shared![1];
    for (const [port, urlPath] of [[8082, "/api/http/services"], [8082, "/ping"], [8080, "/api/http/services"], [8080, "/dashboard/"], [8080, "/ping"], [8082, "/metrics"], [8080, "/metrics"]] as const) {
      const answer = httpFrom(alpha, `http://${edgeIp}:${port}${urlPath}`);
      expect(answer.ok, `alpha -> Traefik :${port}${urlPath}: ${answer.output}`).toBe(false);
    }
    expect(docker(["inspect", "-f", "{{.State.Health.Status}}", edge]).stdout).toBe("healthy");
    // The dashboard still works from the host's loopback (an SSH tunnel's end).
    const dashboard = await get("localhost", "/api/http/routers", 5000, DASHBOARD_PORT);
    expect(dashboard.status).toBe(200);
    expect(dashboard.body).toContain("alpha-web");
  });

  it("7. a bad tenant file fails the preview and the update with the validation error, changing nothing", () => {
    const before = containers();
    const good = readTenant(world, "alpha.yaml");
    addTenant(world, "alpha.yaml", good.replace("port: 8080", "port: web"));
    try {
      for (const args of [["preview"], ["up", "--yes", "--skip-preview"]]) {
        const run = pulumi(world, args);
        expect(run.status).not.toBe(0);
        expect(`${run.stdout}${run.stderr}`).toMatch(/alpha\.yaml:\d+:\d+ services\.web\.port: /);
        expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at .*\(.*\.ts:\d+:\d+\)/);
      }
      expect(containers()).toEqual(before);
    } finally {
      addTenant(world, "alpha.yaml", good);
    }
  });

  it("4. adding a tenant creates only that tenant's resources and leaves Traefik running as it was", async () => {
    const edgeBefore = edgeState();
    addTenant(world, "gamma.yaml", readFileSync(path.join(REPO, "test/e2e/extra/gamma.yaml"), "utf8"));
    // As production's pipeline does it: the approved preview's saved plan is what `up` applies.
    const plan = path.join(world.dir, "gamma-plan.json");
    const preview = pulumi(world, ["preview", "--json", "--show-sames", "--save-plan", plan]);
    expectOk(preview, "pulumi preview");
    const steps = changedSteps(preview.stdout);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) {
      expect(step.op, step.urn).toBe("create");
      expect(step.urn, step.urn).toMatch(/gamma/);
    }
    expectOk(pulumi(world, ["up", "--yes", "--plan", plan]), "pulumi up --plan");
    expect((await get(tenantHost("gamma"))).status).toBe(200);
    expect(edgeState()).toBe(edgeBefore);
  });

  it("5. an image change drops no request", async () => {
    const change = pulumiAsync(world, ["up", "--yes", "--skip-preview"]);
    addTenant(world, "alpha.yaml", readTenant(world, "alpha.yaml").replace(IMAGES.v1, IMAGES.v2));
    const load = await requestLoop(tenantHost("alpha"), LOAD.perSecond, LOAD.minimum, change.then(async (r) => expectOk(r, "pulumi up")));
    expectOk(await change, "pulumi up");
    expect(load.sent).toBeGreaterThanOrEqual(LOAD.minimum);
    expect(load.failed, JSON.stringify(load.failed.slice(0, 10))).toEqual([]);
    expect((await get(tenantHost("alpha"))).body).toMatch(/version 2/);
  });

  it("8. an image that never gets healthy fails the update, names the service, and the old containers keep serving", async () => {
    const good = readTenant(world, "alpha.yaml");
    try {
      addTenant(world, "alpha.yaml", good.replace(/registry\.example\.com\/e2e\/demo:\w+/, IMAGES.broken));
      const broken = pulumiAsync(world, ["up", "--yes", "--skip-preview"]);
      const load = await requestLoop(tenantHost("alpha"), LOAD.perSecond, LOAD.minimum, broken);
      const run = await broken;
      expect(run.status).not.toBe(0);
      expect(`${run.stdout}${run.stderr}`).toMatch(/alpha-web/);
      expect(load.failed, JSON.stringify(load.failed.slice(0, 10))).toEqual([]);
      expect((await get(tenantHost("alpha"))).body).toMatch(good.includes(IMAGES.v2) ? /version 2/ : /version 1/);
    } finally {
      addTenant(world, "alpha.yaml", good.replace(/registry\.example\.com\/e2e\/demo:\w+/, IMAGES.v1));
    }
    expectOk(up(world), "pulumi up with a good image");
    expect((await get(tenantHost("alpha"))).body).toMatch(/version 1/);
  });

  it("10. replacing Traefik: a new one starts beside the old, no connection fails; pause container, networks and tenants stay", async () => {
    const pauseBefore = docker(["inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{json .NetworkSettings.Networks}}", edgePauseContainer()]).stdout;
    const oldTraefik = edgeContainer();
    const tenantsBefore = containers().filter((name) => !name.startsWith(`platform-${STACK}-edge`) && name !== oldTraefik);
    const image = docker(["inspect", "-f", "{{.Config.Image}}", oldTraefik]).stdout;
    const retagged = `${image}-e2e-replaced`;
    expectOk(docker(["tag", image, retagged]), "docker tag");
    try {
      expectOk(pulumi(world, ["config", "set", "--path", "platform:edge.image", retagged]), "pulumi config set");
      const preview = pulumi(world, ["preview", "--json"]);
      expectOk(preview, "pulumi preview");
      const changed = changedSteps(preview.stdout);
      expect(changed.map((s) => `${s.op} ${s.urn.split("::").at(-1)}`)).toEqual(["replace edge-local-traefik", "update edge-local-traefik-handover"]);
      // Two tenants under load through the edge while it is replaced: not one request may fail. The keeper pinned the
      // public ports to their oldest listener (components/listener-pin-script.ts), so the new Traefik gets no
      // connection before the old one stops listening, and by then it has loaded every route (the handover).
      const replacing = pulumiAsync(world, ["up", "--yes", "--skip-preview"]);
      const loads = await Promise.all(["alpha", "beta"].map((tenant) => requestLoop(tenantHost(tenant), LOAD.perSecond / 2, LOAD.minimum / 2, replacing)));
      expectOk(await replacing, "pulumi up (Traefik replaced)");
      const failed = loads.flatMap((load) => load.failed);
      console.log(`edge replacement: ${failed.length} of ${loads.reduce((n, l) => n + l.sent, 0)} requests failed: ${JSON.stringify(failed)}`);
      for (const load of loads) expect(load.sent).toBeGreaterThanOrEqual(LOAD.minimum / 2);
      expect(failed, "no request fails while Traefik is replaced").toEqual([]);
      const keeperLog = docker(["logs", `platform-${STACK}-edge-keeper`]);
      expect(`${keeperLog.stdout}\n${keeperLog.stderr}`).toMatch(new RegExp(`${edgeContainer()}: pinned tcp6? port 80 to its oldest listener`));
      expect(edgeContainer()).not.toBe(oldTraefik);
      expect(docker(["inspect", oldTraefik]).status, "the old Traefik is removed").not.toBe(0);
      expect(docker(["inspect", "-f", "{{.Config.Image}}", edgeContainer()]).stdout).toBe(retagged);
      expect(docker(["inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{json .NetworkSettings.Networks}}", edgePauseContainer()]).stdout).toBe(pauseBefore);
      expect(containers().filter((name) => !name.startsWith(`platform-${STACK}-edge`) && name !== edgeContainer())).toEqual(tenantsBefore);
      expectOk(pulumi(world, ["preview", "--expect-no-changes"]), "pulumi preview --expect-no-changes after the replacement");
      for (const tenant of ["alpha", "beta", "gamma"]) {
        const answer = await get(tenantHost(tenant));
        expect(answer.status, `${tenant}: ${answer.body}`).toBe(200);
      }
    } finally {
      expectOk(pulumi(world, ["config", "set", "--path", "platform:edge.image", image]), "pulumi config set (back)");
      expectOk(up(world), "pulumi up (Traefik back)");
      docker(["rmi", retagged]);
    }
  });

  it("6 and 9. data survives a database replacement and the tenant file's removal; Postgres stops cleanly", async () => {
    const written = await get(tenantHost("alpha"), "/db");
    expect(written.status, written.body).toBe(200);
    const rows = Number(/count[^0-9]*([0-9]+)/.exec(written.body)?.[1]);
    expect(rows).toBeGreaterThan(0);

    // Replace the database container; follow the old one's log until it is gone.
    const database = `platform-${STACK}-alpha-postgres`;
    const oldLog = followLogs(database);
    const urn = pulumi(world, ["stack", "--show-urns"]).stdout.split("\n").map((l) => /URN: (\S+)/.exec(l)?.[1]).find((u) => u?.endsWith("docker:index/container:Container::alpha-postgres"));
    expect(urn).toBeDefined();
    expectOk(pulumi(world, ["up", "--yes", "--skip-preview", "--replace", urn!]), "pulumi up --replace (database)");
    const stopped = await oldLog;
    expect(stopped, stopped.slice(-2000)).toMatch(/database system is shut down/);
    const logs = docker(["logs", database]);
    const started = `${logs.stdout}\n${logs.stderr}`;
    expect(started).toMatch(/database system was shut down at/);
    expect(started).not.toMatch(/not properly shut down|automatic recovery in progress/);
    expect((await get(tenantHost("alpha"), "/db/read")).body).toMatch(new RegExp(`count[^0-9]*${rows}\\b`));

    // Remove the tenant file, deploy, re-add it: a new password on the retained volume, the old rows.
    const file = readTenant(world, "alpha.yaml");
    removeTenant(world, "alpha.yaml");
    expectOk(up(world), "pulumi up without alpha");
    expect(containers({ tenant: "alpha" })).toEqual([]);
    expect(docker(["volume", "inspect", `platform-${STACK}-alpha-pgdata-pg15`]).status).toBe(0);
    addTenant(world, "alpha.yaml", file);
    expectOk(up(world), "pulumi up with alpha again");
    const read = await get(tenantHost("alpha"), "/db/read");
    expect(read.status, read.body).toBe(200);
    expect(read.body).toMatch(new RegExp(`count[^0-9]*${rows}\\b`));
  });
});

/** The container's log from now until it stops existing (docker logs -f ends when the container goes). */
function followLogs(container: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn("docker", ["logs", "-f", "--since", "0s", container]);
    let text = "";
    child.stdout.on("data", (c: Buffer) => (text += c.toString()));
    child.stderr.on("data", (c: Buffer) => (text += c.toString()));
    child.on("close", () => resolve(text));
  });
}
