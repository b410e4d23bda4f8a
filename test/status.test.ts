import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runStatus } from "../cli/status";
import { standInProject } from "./stand-in-project";
import { startedAtNanos, type StatusReport } from "../status/report";

/**
 * `npm run status` against stand-ins: a `pulumi` that prints the stack's state as `pulumi stack export` does (its
 * outputs on the root stack resource, and a Container resource for each container of the stack the world puts in
 * it), and a `docker` that plays each Docker host (chosen by DOCKER_HOST) from a list of containers, filtering by
 * label and inspecting by id or name as the engine does. A host with no list does not answer. (The real engine:
 * test/e2e/status.e2e.ts.)
 */

const FAKE_PULUMI = `#!/bin/sh
echo "pulumi $* backend=$PULUMI_BACKEND_URL" >> "$FAKE_STATUS/calls"
if [ -f "$FAKE_STATUS/state.json" ]; then cat "$FAKE_STATUS/state.json"; exit 0; fi
echo "error: no stack named 'qa' found" >&2
exit 255
`;

const FAKE_DOCKER = `#!/usr/bin/env node
const fs = require("fs"), path = require("path"), { spawnSync } = require("child_process");
const dir = process.env.FAKE_STATUS, args = process.argv.slice(2), host = process.env.DOCKER_HOST || "";
fs.appendFileSync(path.join(dir, "calls"), "docker " + args.join(" ") + " host=" + host + "\\n");
// Over ssh the CLI runs the ssh from PATH: do the same, so the options it is given can be checked.
if (host.startsWith("ssh://")) spawnSync("ssh", ["-o", "probe", host.slice(6)], { stdio: "ignore" });
const file = path.join(dir, "hosts", host.replace(/[^a-z0-9]/gi, "_") + ".json");
if (!fs.existsSync(file)) {
  process.stderr.write("Cannot connect to the Docker daemon at " + host + ". Is the docker daemon running?\\n");
  process.exit(1);
}
const containers = JSON.parse(fs.readFileSync(file, "utf8"));
if (args[0] === "ps") {
  const labels = args.flatMap((a, i) => (args[i - 1] === "--filter" && a.startsWith("label=") ? [a.slice(6)] : []));
  const match = (c) => labels.every((l) => { const [k, v] = l.split("="); return c.Config.Labels[k] === v; });
  for (const c of containers.filter(match)) console.log(c.Id);
} else if (args[0] === "container" && args[1] === "inspect") {
  const wanted = args.slice(2), found = [];
  for (const w of wanted) {
    const c = containers.find((c) => c.Id === w || c.Name === "/" + w);
    if (c) found.push(c); else process.stderr.write("Error: No such container: " + w + "\\n");
  }
  console.log(JSON.stringify(found, null, 4));
  process.exit(found.length === wanted.length ? 0 : 1);
} else process.exit(2);
`;

const FAKE_SSH = `#!/bin/sh
echo "ssh $*" >> "$FAKE_STATUS/calls"
`;

const STACK_FILE = `config:
  platform:domain: qa.example.com
  platform:tls: none
  platform:defaultHost: one
  platform:hosts:
    one:
      url: unix:///fake/one.sock
    two:
      url: ssh://deploy@two.example.net
      sshOpts: ["-o", "StrictHostKeyChecking=yes"]
`;

const HOSTS = { one: "unix:///fake/one.sock", two: "ssh://deploy@two.example.net" };

/** What index.ts exports after an up: alpha (web + Postgres), beta (2 web replicas, api on host two, Redis). */
const OUTPUTS = {
  tenants: {
    alpha: {
      homeHost: "one",
      retiring: false,
      urls: ["http://alpha.qa.example.com/"],
      services: { web: { host: "one", replicas: 1, image: "registry.example.com/alpha/web:1.4.2" } },
      databaseVolume: "platform-qa-alpha-pgdata-pg16",
      databaseContainer: "platform-qa-alpha-postgres",
      cacheContainer: null,
    },
    beta: {
      homeHost: "one",
      retiring: false,
      urls: ["http://beta.qa.example.com/", "http://beta-api.qa.example.com/"],
      services: {
        web: { host: "one", replicas: 2, image: "registry.example.com/beta/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
        api: { host: "two", replicas: 1, image: "registry.example.com/beta/api:7" },
      },
      databaseVolume: null,
      databaseContainer: null,
      cacheContainer: "platform-qa-beta-redis",
    },
  },
  edges: {
    one: { dockerHost: HOSTS.one, container: "platform-qa-traefik" },
    two: { dockerHost: HOSTS.two, container: "platform-qa-traefik" },
  },
};

interface Fake {
  name: string;
  image: string;
  labels?: Record<string, string>;
  state?: string;
  health?: string | null;
  probe?: string;
  restarts?: number;
  exitCode?: number;
  startedAt?: string;
  networkMode?: string;
}

let counter = 0;
function container(fake: Fake) {
  counter += 1;
  return {
    Id: `${String(counter).padStart(4, "0")}${"c".repeat(60)}`,
    Name: `/${fake.name}`,
    RestartCount: fake.restarts ?? 0,
    HostConfig: { NetworkMode: fake.networkMode ?? "bridge" },
    Config: { Image: fake.image, Labels: { "platform.managed": "true", "platform.stack": "qa", ...fake.labels } },
    State: {
      Status: fake.state ?? "running",
      ExitCode: fake.exitCode ?? 0,
      StartedAt: fake.startedAt ?? "2026-11-24T10:00:00Z",
      ...(fake.health === null ? {} : { Health: { Status: fake.health ?? "healthy", Log: fake.probe ? [{ ExitCode: 1, Output: fake.probe }] : [] } }),
    },
  };
}
const owned = (tenant: string, service: string) => ({ "platform.tenant": tenant, "platform.service": service });

/** Traefik in its pause container's network namespace, started after it (as `pulumi up` does); `change` edits either. */
function edgePair(change: { pause?: Partial<Fake>; traefik?: Partial<Fake> } = {}) {
  const pause = container({ name: "platform-qa-edge-pause", image: "registry.k8s.io/pause:3.10", labels: {}, health: null, startedAt: "2026-11-24T09:59:58.5Z", ...change.pause });
  const traefik = container({ name: "platform-qa-traefik", image: "traefik:v3.6.12", labels: {}, networkMode: `container:${pause.Id}`, ...change.traefik });
  return [traefik, pause];
}

/** Every container the outputs expect, healthy; `change` edits one host's list before it is written. */
function healthyHosts() {
  return {
    one: [
      ...edgePair(),
      container({ name: "eager_alpha", image: "registry.example.com/alpha/web:1.4.2", labels: owned("alpha", "web") }),
      container({ name: "platform-qa-alpha-postgres", image: "postgres:16", labels: owned("alpha", "postgres") }),
      container({ name: "brave_beta", image: "registry.example.com/beta/web@sha256:0123", labels: owned("beta", "web") }),
      container({ name: "calm_beta", image: "registry.example.com/beta/web@sha256:0123", labels: owned("beta", "web") }),
      container({ name: "platform-qa-beta-redis", image: "redis:7-alpine", labels: owned("beta", "redis") }),
      // Another stack's container on the same host, unhealthy: not this stack's business.
      container({ name: "other_alpha", image: "x:1", labels: { "platform.stack": "other", ...owned("alpha", "web") }, health: "unhealthy" }),
    ],
    two: [
      ...edgePair(),
      container({ name: "quick_api", image: "registry.example.com/beta/api:7", labels: owned("beta", "api") }),
    ],
  };
}

let dir: string;
type Hosts = ReturnType<typeof healthyHosts>;

/**
 * Writes the hosts' containers and the stack's state. The state holds every container labelled for stack qa except
 * those named in `notInState`; `pendingCreates` adds pending "creating" operations (no id) by container name.
 * `outputs: null`: no such stack; `{}`: a stack never brought up (no resources).
 */
function world(opts: { hosts?: Partial<Hosts>; outputs?: unknown | null; notInState?: string[]; pendingCreates?: string[] } = {}) {
  rmSync(path.join(dir, "hosts"), { recursive: true, force: true });
  mkdirSync(path.join(dir, "hosts"));
  writeFileSync(path.join(dir, "calls"), "");
  const hosts = { ...healthyHosts(), ...opts.hosts };
  for (const [name, list] of Object.entries(hosts)) {
    if (list) writeFileSync(path.join(dir, "hosts", `${HOSTS[name as keyof typeof HOSTS].replace(/[^a-z0-9]/gi, "_")}.json`), JSON.stringify(list));
  }
  rmSync(path.join(dir, "state.json"), { force: true });
  if (opts.outputs === null) return;
  const outputs = opts.outputs ?? OUTPUTS;
  const inState = Object.values(hosts)
    .flatMap((list) => list ?? [])
    .filter((c) => c.Config.Labels["platform.stack"] === "qa" && !opts.notInState?.includes(c.Name.slice(1)));
  const urn = (type: string, name: string) => `urn:pulumi:qa::platform::${type}::${name}`;
  const resources =
    Object.keys(outputs as object).length === 0
      ? []
      : [
          { urn: urn("pulumi:pulumi:Stack", "platform-qa"), custom: false, type: "pulumi:pulumi:Stack", outputs },
          { urn: urn("pulumi:providers:docker", "host-one"), custom: true, id: "a1b2c3", type: "pulumi:providers:docker" },
          // Not a container: its id must not count as one.
          { urn: urn("docker:index/network:Network", "alpha-data"), custom: true, id: "f".repeat(64), type: "docker:index/network:Network" },
          ...inState.map((c) => ({ urn: urn("docker:index/container:Container", c.Name.slice(1)), custom: true, id: c.Id, type: "docker:index/container:Container", outputs: { name: c.Name.slice(1) } })),
        ];
  const pending_operations = (opts.pendingCreates ?? []).map((name) => ({
    resource: { urn: urn("docker:index/container:Container", name), custom: true, type: "docker:index/container:Container", inputs: { name } },
    type: "creating",
  }));
  writeFileSync(path.join(dir, "state.json"), JSON.stringify({ version: 3, deployment: { manifest: { version: "v3.259.0" }, resources, pending_operations } }, null, 4));
}

/** One host's healthy list with one container changed (or removed when `change` returns undefined). */
function withChange(host: keyof Hosts, name: string, change: (c: ReturnType<typeof container>) => ReturnType<typeof container> | undefined): Partial<Hosts> {
  const list = healthyHosts()[host];
  expect(list.some((c) => c.Name === `/${name}`), name).toBe(true);
  return { [host]: list.flatMap((c) => (c.Name === `/${name}` ? [change(c)].filter((x) => x !== undefined) : [c])) };
}

const status = (...args: string[]) => runStatus(["--cwd", path.join(dir, "project"), ...args]);
async function report(...args: string[]) {
  const result = await status("--stack", "qa", "--json", ...args);
  return { exitCode: result.exitCode, report: JSON.parse(result.stdout) as StatusReport };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "status-"));
  const bin = standInProject(dir, { pulumi: FAKE_PULUMI, docker: FAKE_DOCKER, ssh: FAKE_SSH }, STACK_FILE);
  // This test file runs in its own process (vitest forks): the stand-ins go first on its PATH.
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.FAKE_STATUS = dir;
  process.env.PULUMI_BACKEND_URL = `file://${dir}/state`;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => world());

describe("npm run status", () => {
  it("all healthy: exit 0, a table of each tenant's services, images, health, restarts and URLs in 100 columns", async () => {
    const result = await status("--stack", "qa");
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("stack qa: 2 tenants on 2 hosts, all healthy");
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(100);
    const row = (text: string) => lines.find((l) => l.includes(text)) ?? "";
    expect(row("alpha")).toMatch(/^alpha\s+web\s+one\s+registry\.example\.com\/alpha\/web:1\.4\.2\s+healthy\s+0$/);
    expect(row("postgres")).toMatch(/postgres\s+one\s+postgres:16\s+healthy\s+0$/);
    expect(row("beta ")).toMatch(/^beta\s+web\s+one\s+\S*beta\/web@sha256:0123456789ab\s+2\/2 healthy\s+0$/);
    expect(row(" api ")).toMatch(/api\s+two\s+registry\.example\.com\/beta\/api:7\s+healthy/);
    expect(row("redis")).toMatch(/redis\s+one\s+redis:7-alpine\s+healthy/);
    for (const url of [...OUTPUTS.tenants.alpha.urls, ...OUTPUTS.tenants.beta.urls]) expect(row(url)).toContain(`→ ${url}`);
    expect(lines.filter((l) => /traefik\s+(one|two)\s+traefik:v3\.6\.12\s+healthy/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /pause\s+(one|two)\s+\S*pause:3\.10\s+running/.test(l))).toHaveLength(2);
    expect(result.stdout).not.toContain("problems:");
  });

  it("--json: the same answer for bots, per tenant, service and container, and per host's edge", async () => {
    const { exitCode, report: r } = await report();
    expect(exitCode).toBe(0);
    expect(r).toMatchObject({ stack: "qa", healthy: true, problems: [], notInState: [], strays: [] });
    expect(r.hosts).toEqual({ one: { url: HOSTS.one, reachable: true, error: null }, two: { url: HOSTS.two, reachable: true, error: null } });
    expect(Object.keys(r.tenants)).toEqual(["alpha", "beta"]);
    expect(r.tenants.alpha).toMatchObject({ homeHost: "one", healthy: true, urls: OUTPUTS.tenants.alpha.urls });
    expect(Object.keys(r.tenants.alpha!.services)).toEqual(["web", "postgres"]);
    expect(r.tenants.alpha!.services.web).toMatchObject({
      kind: "app",
      host: "one",
      image: "registry.example.com/alpha/web:1.4.2",
      replicas: 1,
      status: "healthy",
      containers: [{ name: "eager_alpha", status: "healthy", state: "running", health: "healthy", restarts: 0, image: "registry.example.com/alpha/web:1.4.2" }],
    });
    expect(r.tenants.beta!.services.web!.containers.map((c) => c.name)).toEqual(["brave_beta", "calm_beta"]);
    expect(r.tenants.beta!.services.redis).toMatchObject({ kind: "cache", status: "healthy" });
    expect(r.edges.two!.services.traefik).toMatchObject({ kind: "edge", host: "two", status: "healthy" });
    expect(r.edges.one!.services.pause.containers[0]).toMatchObject({ name: "platform-qa-edge-pause", status: "running", health: null });
  });

  it("an unhealthy container: exit 1, named with its last probe's output", async () => {
    world({ hosts: withChange("one", "eager_alpha", (c) => ({ ...c, State: { ...c.State, Health: { Status: "unhealthy", Log: [{ ExitCode: 1, Output: "wget: server returned error: HTTP/1.1 500 Internal Server Error\n" }] } } })) });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toMatch(/^alpha\s+web\s+one\s+\S+\s+unhealthy\s+0$/m);
    expect(table.stdout).toContain("problems:\n  alpha/web on one: eager_alpha unhealthy: wget: server returned error: HTTP/1.1 500 Internal Server Error\n");
    const { exitCode, report: r } = await report();
    expect(exitCode).toBe(1);
    expect(r.healthy).toBe(false);
    expect(r.tenants.alpha!.healthy).toBe(false);
    expect(r.tenants.beta!.healthy).toBe(true);
    expect(r.tenants.alpha!.services.web!.containers[0]).toMatchObject({ status: "unhealthy", healthOutput: expect.stringContaining("HTTP/1.1 500") });
  });

  it("a tenant's backup container is shown, and a failed or overdue backup (its health check) fails status", async () => {
    const backup = container({ name: "platform-qa-alpha-backup", image: "postgres:16", labels: owned("alpha", "backup") });
    world({ hosts: { one: [...healthyHosts().one, backup] } });
    const healthy = await report();
    expect(healthy.exitCode).toBe(0);
    expect(healthy.report.tenants.alpha!.services.backup).toMatchObject({ kind: "backup", status: "healthy" });
    expect(healthy.report.strays).toEqual([]);
    const failed = { ...backup, State: { ...backup.State, Health: { Status: "unhealthy", Log: [{ ExitCode: 1, Output: "latest backup failed: pg_dump: error: connection refused\n" }] } } };
    world({ hosts: { one: [...healthyHosts().one, failed] } });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toContain("alpha/backup on one: platform-qa-alpha-backup unhealthy: latest backup failed: pg_dump: error: connection refused");
  });

  it("an exited replica: exit 1, '1/2 exited' with its exit code", async () => {
    world({ hosts: withChange("one", "calm_beta", (c) => ({ ...c, State: { ...c.State, Status: "exited", ExitCode: 137 } })) });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toMatch(/^beta\s+web\s+one\s+\S+\s+1\/2 exited\s+0$/m);
    expect(table.stdout).toContain("  beta/web on one: calm_beta exited (exit code 137)");
    const { report: r } = await report();
    expect(r.tenants.beta!.services.web!.containers.map((c) => [c.name, c.status, c.exitCode])).toEqual([["brave_beta", "healthy", null], ["calm_beta", "exited", 137]]);
  });

  it("a restarting database: exit 1, with its restart count", async () => {
    world({ hosts: withChange("one", "platform-qa-alpha-postgres", (c) => ({ ...c, RestartCount: 5, State: { ...c.State, Status: "restarting" } })) });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toMatch(/postgres\s+one\s+postgres:16\s+restarting\s+5$/m);
    expect(table.stdout).toContain("alpha/postgres on one: platform-qa-alpha-postgres restarting, 5 restarts");
  });

  it("containers missing against the outputs: a replica, the cache, an edge's pause container", async () => {
    const one = healthyHosts().one.filter((c) => !["/calm_beta", "/platform-qa-beta-redis", "/platform-qa-edge-pause"].includes(c.Name));
    world({ hosts: { one } });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toContain("stack qa: 2 tenants on 2 hosts, 3 problems");
    expect(table.stdout).toContain("  beta/web on one: 1 of 2 containers missing");
    expect(table.stdout).toContain("  beta/redis on one: platform-qa-beta-redis missing");
    expect(table.stdout).toContain("  edge on one: platform-qa-edge-pause missing");
    const { report: r } = await report();
    expect(r.tenants.beta!.services.web!.containers.map((c) => c.status)).toEqual(["healthy", "missing"]);
    expect(r.edges.one!.healthy).toBe(false);
    expect(r.edges.two!.healthy).toBe(true);
  });

  it("an unreachable host is reported, never a crash: exit 1, the other host still answers", async () => {
    world({ hosts: { two: undefined } });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toContain(`  host two (${HOSTS.two}) unreachable: Cannot connect to the Docker daemon at ${HOSTS.two}. Is the docker daemon running?`);
    expect(table.stdout).toMatch(/api\s+two\s+registry\.example\.com\/beta\/api:7\s+unknown/);
    const { report: r } = await report();
    expect(r.hosts.two).toEqual({ url: HOSTS.two, reachable: false, error: expect.stringContaining("Cannot connect") });
    expect(r.tenants.alpha!.healthy).toBe(true);
    expect(r.tenants.beta!.services.api).toMatchObject({ status: "unknown", containers: [] });
    expect(r.problems).toHaveLength(1);
  });

  it("asks each host for this stack's containers by label, over ssh with the host's sshOpts", async () => {
    await status("--stack", "qa");
    const calls = readFileSync(path.join(dir, "calls"), "utf8");
    // One CLI run reads the outputs and the state's containers.
    expect(calls.split("\n").filter((l) => l.startsWith("pulumi "))).toEqual([`pulumi stack export --stack qa --non-interactive backend=file://${dir}/state`]);
    for (const url of Object.values(HOSTS)) expect(calls).toContain(`docker ps --all --quiet --no-trunc --filter label=platform.stack=qa host=${url}`);
    expect(calls).toContain("ssh -o StrictHostKeyChecking=yes -o probe deploy@two.example.net");
  });

  it("lists the stack's containers the outputs do not account for, without failing", async () => {
    world({ hosts: { one: [...healthyHosts().one, container({ name: "platform-qa-gone-postgres", image: "postgres:15", labels: owned("gone", "postgres") })] } });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toContain("containers of this stack its outputs do not account for:\n  one: platform-qa-gone-postgres (gone/postgres) healthy");
  });

  it("containers labelled for the stack that its state does not know (a killed up left them): exit 1, each named with its id", async () => {
    // The killed run's second alpha/web container, routed like the first; on host two, the database container of a
    // tenant it was adding, exited, and an app container of that tenant whose create the state records as pending.
    const extraWeb = container({ name: "eager_alpha_2", image: "registry.example.com/alpha/web:1.4.2", labels: { ...owned("alpha", "web"), "platform.edge": "qa", "traefik.enable": "true" } });
    const orphan = container({ name: "platform-qa-gamma-postgres", image: "postgres:16", labels: owned("gamma", "postgres"), state: "exited", exitCode: 0 });
    const pending = container({ name: "keen_gamma", image: "registry.example.com/gamma/web:1", labels: owned("gamma", "web"), state: "created", health: null });
    const hosts = { one: [...healthyHosts().one, extraWeb], two: [...healthyHosts().two, orphan, pending] };
    const names = ["eager_alpha_2", "platform-qa-gamma-postgres", "keen_gamma"];
    // Control: the same containers, all in the state (a service may run more than its replicas during a rollout).
    world({ hosts });
    expect((await report()).exitCode).toBe(0);

    world({ hosts, notInState: names, pendingCreates: ["keen_gamma"] });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(1);
    // The outputs alone cannot tell: by its labels the extra container is one of alpha/web's.
    expect(table.stdout).toMatch(/^alpha\s+web\s+one\s+\S+\s+2\/2 healthy\s+0$/m);
    const id = (c: { Id: string }) => c.Id.slice(0, 12);
    expect(table.stdout).toContain(
      `  stray on one: eager_alpha_2 (${id(extraWeb)}, alpha/web, running) is labelled for stack qa but not in its state: a killed \`pulumi up\` left it, or one running now is creating it; Traefik routes requests to it; once no deploy of the stack is running, remove it: DOCKER_HOST=${HOSTS.one} docker rm -f ${id(extraWeb)}\n`,
    );
    expect(table.stdout).toContain(`  stray on two: platform-qa-gamma-postgres (${id(orphan)}, gamma/postgres, exited) is labelled for stack qa but not in its state: a killed`);
    expect(table.stdout).toContain(`  stray on two: keen_gamma (${id(pending)}, gamma/web, created) is labelled for stack qa but not in its state (there only as a pending create): a killed`);
    expect(table.stdout).toContain(`remove it: DOCKER_HOST=${HOSTS.two} docker rm -f ${id(orphan)}`);
    expect(table.stdout).not.toContain("containers of this stack its outputs do not account for");
    const { exitCode, report: r } = await report();
    expect(exitCode).toBe(1);
    expect(r.problems.filter((p) => p.startsWith("stray "))).toHaveLength(3);
    expect(r.notInState.map((c) => [c.host, c.name, c.id, c.tenant, c.service, c.status])).toEqual([
      ["one", "eager_alpha_2", extraWeb.Id, "alpha", "web", "healthy"],
      ["two", "keen_gamma", pending.Id, "gamma", "web", "created"],
      ["two", "platform-qa-gamma-postgres", orphan.Id, "gamma", "postgres", "exited"],
    ]);
    expect(r.strays).toEqual([]);
  });

  it("not strays: a release task's and a Postgres upgrade's one-off containers, and a preview stack's containers", async () => {
    const release = container({ name: "platform-qa-alpha-web-release", image: "registry.example.com/alpha/web:1.4.3", labels: { "platform.tenant": "alpha", "platform.release": "web" }, state: "running", health: null });
    const upgrade = container({ name: "platform-qa-alpha-upgrade-pg17", image: "postgres:17", labels: { "platform.tenant": "alpha" }, state: "exited" });
    // pr-7's own database beside the base's, on the base's host (model/preview-stack.ts): labelled for pr-7.
    const preview = container({ name: "platform-pr-7-alpha-postgres", image: "postgres:16", labels: { "platform.stack": "pr-7", ...owned("alpha", "postgres") } });
    const oneOffs = ["platform-qa-alpha-web-release", "platform-qa-alpha-upgrade-pg17"];
    world({ hosts: { one: [...healthyHosts().one, release, upgrade, preview] }, notInState: oneOffs });
    const table = await status("--stack", "qa");
    expect(table.exitCode, table.stdout).toBe(0);
    expect(table.stdout).toContain(
      "containers of this stack its outputs do not account for:\n" +
        "  one: platform-qa-alpha-upgrade-pg17 (alpha) exited: a Postgres upgrade's throw-away server (removed when the step ends or by the next run)\n" +
        "  one: platform-qa-alpha-web-release (alpha) running: a release task's container (removed when the task ends or by the next run)\n",
    );
    expect(table.stdout).not.toContain("platform-pr-7");
    const { report: r } = await report();
    expect(r.notInState).toEqual([]);
    expect(r.strays.map((c) => [c.name, c.oneOff])).toEqual([["platform-qa-alpha-upgrade-pg17", "upgrade"], ["platform-qa-alpha-web-release", "release"]]);

    // Control: only the fixed name its labels give makes a one-off; a service container by that name is a stray.
    const impostor = container({ name: "platform-qa-alpha-web-release", image: "x:1", labels: owned("alpha", "web") });
    world({ hosts: { one: [...healthyHosts().one, impostor] }, notInState: ["platform-qa-alpha-web-release"] });
    const flagged = await report();
    expect(flagged.exitCode).toBe(1);
    expect(flagged.report.notInState.map((c) => c.name)).toEqual(["platform-qa-alpha-web-release"]);
  });

  it("a stale edge: Traefik started before its pause container's current run, healthy by Docker, is a problem (exit 1)", async () => {
    // The pause container restarted a quarter of a second after Traefik started: as text "…00.25Z" sorts before "…00Z".
    world({ hosts: { one: [...edgePair({ pause: { startedAt: "2026-11-24T10:00:00.25Z" }, traefik: { startedAt: "2026-11-24T10:00:00Z" } }), ...healthyHosts().one.slice(2)] } });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toMatch(/traefik\s+one\s+traefik:v3\.6\.12\s+stale\s+0$/m);
    expect(table.stdout).toContain(
      "  edge one: Traefik runs in a network namespace its pause container no longer holds (pause started 2026-11-24T10:00:00.25Z, Traefik 2026-11-24T10:00:00Z): " +
        "every tenant on the host is unreachable while Docker may still call Traefik healthy; restarting Traefik joins the current namespace " +
        `(the edge keeper does so within seconds where it runs): DOCKER_HOST=${HOSTS.one} docker restart platform-qa-traefik\n`,
    );
    const { report: r } = await report();
    expect(r.problems).toHaveLength(1);
    expect(r.edges.one).toMatchObject({ healthy: false, staleNamespace: expect.stringContaining("no longer holds") });
    expect(r.edges.one!.services.traefik.containers[0]).toMatchObject({ status: "stale", state: "running", health: "healthy" });
    expect(r.edges.two).toMatchObject({ healthy: true, staleNamespace: null });

    // Control: Traefik started half a second after the pause container ("…00.5Z" sorts before "…00Z" as text).
    world({ hosts: { one: [...edgePair({ pause: { startedAt: "2026-11-24T10:00:00Z" }, traefik: { startedAt: "2026-11-24T10:00:00.5Z" } }), ...healthyHosts().one.slice(2)] } });
    expect((await report()).exitCode).toBe(0);

    // Traefik joined another container's namespace than the pause container's (one removed and created again).
    world({ hosts: { one: [...edgePair({ traefik: { networkMode: `container:${"9".repeat(64)}` } }), ...healthyHosts().one.slice(2)] } });
    const elsewhere = await report();
    expect(elsewhere.exitCode).toBe(1);
    expect(elsewhere.report.problems).toEqual([expect.stringMatching(/^edge one: Traefik runs in the network namespace of container 999999999999, not of its pause container platform-qa-edge-pause \(\w{12}\): every tenant/)]);

    // An exited pause container is reported as exited, once: no namespace to compare with.
    world({ hosts: { one: [...edgePair({ pause: { state: "exited", exitCode: 2, startedAt: "2026-11-24T10:05:00Z" } }), ...healthyHosts().one.slice(2)] } });
    const exited = await report();
    expect(exited.exitCode).toBe(1);
    expect(exited.report.problems).toEqual(["edge on one: platform-qa-edge-pause exited (exit code 2)"]);
  });

  it("the edge keeper is shown with the edge when the host has one, and an exited keeper fails status", async () => {
    const keeper = (state: string) => container({ name: "platform-qa-edge-keeper", image: "docker:27.5.1-cli", labels: {}, health: null, state, exitCode: 1 });
    world({ hosts: { one: [...healthyHosts().one, keeper("running")] } });
    const table = await status("--stack", "qa");
    expect(table.exitCode, table.stdout).toBe(0);
    expect(table.stdout).toMatch(/^\s+keeper\s+one\s+docker:27\.5\.1-cli\s+running\s+0$/m);
    expect(table.stdout).not.toContain("do not account for");
    world({ hosts: { one: [...healthyHosts().one, keeper("exited")] } });
    const { exitCode, report: r } = await report();
    expect(exitCode).toBe(1);
    expect(r.problems).toEqual(["edge on one: platform-qa-edge-keeper exited (exit code 1)"]);
    expect(r.edges.one!.services.keeper).toMatchObject({ status: "exited" });
    expect(r.edges.two!.services.keeper).toBeUndefined();
  });

  it("restart counts: each container's in --json, their sum per service in the table; restarts alone do not fail status", async () => {
    const restarted = (n: number) => (c: ReturnType<typeof container>) => ({ ...c, RestartCount: n });
    const one = healthyHosts().one.map((c) => (c.Name === "/brave_beta" ? restarted(2)(c) : c.Name === "/calm_beta" ? restarted(1)(c) : c.Name === "/platform-qa-traefik" ? restarted(4)(c) : c));
    world({ hosts: { one } });
    const table = await status("--stack", "qa");
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^beta\s+web\s+one\s+\S+\s+2\/2 healthy\s+3$/m);
    expect(table.stdout).toMatch(/traefik\s+one\s+traefik:v3\.6\.12\s+healthy\s+4$/m);
    const { report: r } = await report();
    expect(r.tenants.beta!.services.web!.containers.map((c) => [c.name, c.restarts])).toEqual([["brave_beta", 2], ["calm_beta", 1]]);
    expect(r.tenants.beta!.services.web!.restarts).toBe(3);
    expect(r.edges.one!.services.traefik.containers[0]!.restarts).toBe(4);
  });

  it("start times compare as times, to the nanosecond the engine writes", () => {
    expect(startedAtNanos("2026-11-24T10:00:00.123456789Z")! - startedAtNanos("2026-11-24T10:00:00.123456788Z")!).toBe(1n);
    expect(startedAtNanos("2026-11-24T10:00:00.5Z")! > startedAtNanos("2026-11-24T10:00:00Z")!).toBe(true);
    expect(startedAtNanos("2026-11-24T11:00:00+01:00")).toBe(startedAtNanos("2026-11-24T10:00:00Z"));
    // Never started, or not a time: nothing to compare.
    expect(startedAtNanos("0001-01-01T00:00:00Z")).toBeUndefined();
    expect(startedAtNanos("")).toBeUndefined();
  });

  it("a stack with no state yet: exit 1, saying which stack and where it looked", async () => {
    world({ outputs: null });
    const missing = await status("--stack", "qa");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(`status: stack qa has no state yet (no such stack) in file://${dir}/state: deploy it first with pulumi up --stack qa\n`);
    world({ outputs: {} });
    const { exitCode, report: r } = await report();
    expect(exitCode).toBe(1);
    expect(r).toEqual({ error: `stack qa has no state yet (nothing deployed: no outputs) in file://${dir}/state: deploy it first with pulumi up --stack qa` });
  });

  it("usage errors exit 2 (JSON with --json), before asking anything", async () => {
    for (const [args, message] of [
      [[], "--stack is required"],
      [["--stack", "nope"], 'unknown stack "nope" (stacks: qa)'],
      [["--stack", "qa", "--bogus"], "Unknown option '--bogus'"],
      [["--stack", "qa", "extra"], "Unexpected argument 'extra'"],
      [["--stack"], "Option '--stack"],
    ] as const) {
      const result = await status(...args);
      expect(result.exitCode, args.join(" ")).toBe(2);
      expect(result.stderr).toContain(`status: ${message}`);
      expect(result.stderr).toContain("usage: npm run status -- --stack <stack>");
      const asJson = await status(...args, "--json");
      expect(asJson.exitCode).toBe(2);
      expect(JSON.parse(asJson.stdout).error).toContain(message);
    }
    const notProject = await runStatus(["--stack", "qa", "--cwd", dir]);
    expect(notProject.exitCode).toBe(2);
    expect(notProject.stderr).toContain(`${dir} is not a Pulumi project (no Pulumi.yaml)`);
    expect(readFileSync(path.join(dir, "calls"), "utf8")).toBe("");
  });

  it("the npm script prints the report and exits with its code", () => {
    world({ hosts: withChange("two", "quick_api", () => undefined) });
    const run = spawnSync(path.resolve("node_modules/.bin/tsx"), ["cli/status.ts", "--stack", "qa", "--json", "--cwd", path.join(dir, "project")], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(1);
    expect((JSON.parse(run.stdout) as StatusReport).problems).toEqual(["beta/api on two: container missing"]);
  });
});
