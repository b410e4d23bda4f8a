import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runConverge } from "../cli/converge";
import { standInProject } from "./stand-in-project";
import { judgeLock, processState, type JudgeContext, type StackLock } from "../converge/locks";

/**
 * `npm run converge` against stand-ins: a `pulumi` that exports (and imports) a stack's state from a file, refuses an
 * import while a lock file is in the backend (as the real CLI does), and answers `stack history` and `cancel`; a
 * `docker` that plays each Docker host (by DOCKER_HOST) from a list of containers and records stop and rm; an `aws`
 * that serves an S3 bucket from a directory. Lock files are written where Pulumi v3.259 writes them
 * (.pulumi/locks/organization/<project>/<stack>/<uuid>.json). The real engine: test/e2e/interrupted-deploy.e2e.ts.
 */

const FAKE_PULUMI = `#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const dir = process.env.FAKE_CONVERGE, args = process.argv.slice(2).filter((a) => a !== "--non-interactive");
fs.appendFileSync(path.join(dir, "calls"), "pulumi " + args.join(" ") + "\\n");
const locks = path.join(dir, "state", ".pulumi", "locks", "organization", "platform", "qa");
const held = () => (fs.existsSync(locks) ? fs.readdirSync(locks) : []);
const cmd = args.slice(0, 2).join(" ");
if (cmd === "stack export") {
  if (!fs.existsSync(path.join(dir, "export.json"))) { console.error("error: no stack named 'qa' found"); process.exit(255); }
  process.stdout.write(fs.readFileSync(path.join(dir, "export.json"), "utf8"));
} else if (cmd === "stack import") {
  if (held().length > 0) { console.error("error: the stack is currently locked by " + held().length + " lock(s)."); process.exit(255); }
  fs.copyFileSync(args[args.indexOf("--file") + 1], path.join(dir, "export.json"));
  fs.writeFileSync(path.join(dir, "imported"), "yes");
} else if (cmd === "stack history") {
  process.stdout.write(fs.existsSync(path.join(dir, "history.json")) ? fs.readFileSync(path.join(dir, "history.json"), "utf8") : "[]");
} else if (args[0] === "cancel") {
  fs.writeFileSync(path.join(dir, "cancelled"), "yes");
} else { console.error("fake pulumi: unexpected " + args.join(" ")); process.exit(3); }
`;

const FAKE_DOCKER = `#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const dir = process.env.FAKE_CONVERGE, args = process.argv.slice(2), host = process.env.DOCKER_HOST || "";
fs.appendFileSync(path.join(dir, "calls"), "docker " + args.join(" ") + " host=" + host + "\\n");
const file = path.join(dir, "hosts", host.replace(/[^a-z0-9]/gi, "_") + ".json");
if (!fs.existsSync(file)) { process.stderr.write("Cannot connect to the Docker daemon at " + host + ". Is the docker daemon running?\\n"); process.exit(1); }
const containers = JSON.parse(fs.readFileSync(file, "utf8"));
const find = (w) => containers.find((c) => c.Id === w || c.Name === "/" + w);
if (args[0] === "ps") {
  const labels = args.flatMap((a, i) => (args[i - 1] === "--filter" && a.startsWith("label=") ? [a.slice(6)] : []));
  const match = (c) => labels.every((l) => { const [k, v] = l.split("="); return c.Config.Labels[k] === v; });
  for (const c of containers.filter(match)) console.log(c.Id);
} else if (args[0] === "container" && args[1] === "inspect") {
  const found = args.slice(2).map(find).filter(Boolean);
  console.log(JSON.stringify(found));
  process.exit(found.length === args.length - 2 ? 0 : 1);
} else if (args[0] === "stop" || args[0] === "rm") {
  const c = find(args[1]);
  if (!c) { process.stderr.write("Error: No such container: " + args[1] + "\\n"); process.exit(1); }
  if (args[0] === "rm") fs.writeFileSync(file, JSON.stringify(containers.filter((x) => x !== c)));
} else process.exit(2);
`;

const FAKE_AWS = `#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const dir = process.env.FAKE_CONVERGE, args = process.argv.slice(2);
fs.appendFileSync(path.join(dir, "calls"), "aws " + args.join(" ") + "\\n");
const bucket = path.join(dir, "bucket");
if (args[0] === "s3api" && args[1] === "list-objects-v2") {
  const prefix = args[args.indexOf("--prefix") + 1];
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
  const keys = fs.existsSync(bucket) ? walk(bucket).map((f) => path.relative(bucket, f)).filter((k) => k.startsWith(prefix)) : [];
  console.log(JSON.stringify(keys.length ? { Contents: keys.map((Key) => ({ Key, LastModified: "2026-01-01T00:00:00Z" })) } : {}));
} else if (args[0] === "s3" && args[1] === "cp") {
  process.stdout.write(fs.readFileSync(path.join(bucket, args[2].replace(/^s3:\\/\\/[^/]+\\//, "")), "utf8"));
} else process.exit(2);
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
`;
const HOSTS = { one: "unix:///fake/one.sock", two: "ssh://deploy@two.example.net" };
const STACK_URN = "urn:pulumi:qa::platform::pulumi:pulumi:Stack::platform-qa";
const containerUrn = (name: string) => `urn:pulumi:qa::platform::platform:index:Tenant$docker:index/container:Container::${name}`;

let counter = 0;
const newId = () => `${String(++counter).padStart(4, "0")}${"c".repeat(60)}`;
function container(name: string, labels: Record<string, string>, state = "running") {
  return { Id: newId(), Name: `/${name}`, RestartCount: 0, Config: { Image: "x:1", Labels: labels }, State: { Status: state, ExitCode: 0, StartedAt: "2026-11-24T10:00:00Z" } };
}
const labelled = (tenant?: string, service?: string, stack = "qa") => ({
  "platform.managed": "true",
  "platform.stack": stack,
  ...(tenant ? { "platform.tenant": tenant } : {}),
  ...(service ? { "platform.service": service } : {}),
});
type Container = ReturnType<typeof container>;

/** The state's own containers on each host: the edge, alpha's web and Postgres on one; beta's api on two. */
function knownContainers() {
  return {
    one: [
      container("platform-qa-traefik", labelled()),
      container("eager_alpha", { ...labelled("alpha", "web"), "platform.edge": "qa" }),
      container("platform-qa-alpha-postgres", labelled("alpha", "postgres")),
    ],
    two: [container("platform-qa-traefik", labelled()), container("quick_beta", labelled("beta", "api"))],
  };
}

function exportOf(known: Container[], pending: { type: string; name: string; id?: string }[] = []) {
  const resource = (name: string, id?: string) => ({
    urn: containerUrn(name),
    custom: true,
    type: "docker:index/container:Container",
    ...(id ? { id } : {}),
    inputs: { name },
  });
  return {
    version: 3,
    deployment: {
      manifest: { time: "2026-11-24T10:00:00Z", magic: "m", version: "v3.259.0" },
      secrets_providers: { type: "passphrase", state: { salt: "v1:abc" } },
      resources: [
        { urn: STACK_URN, custom: false, type: "pulumi:pulumi:Stack", outputs: { edges: { one: { dockerHost: HOSTS.one, container: "platform-qa-traefik" } } } },
        ...known.map((c) => resource(c.Name.slice(1), c.Id)),
      ],
      ...(pending.length ? { pending_operations: pending.map((op) => ({ resource: resource(op.name, op.id), type: op.type })) } : {}),
    },
  };
}

let dir: string;
let live: ChildProcess;

function world(opts: { hosts?: Partial<Record<keyof typeof HOSTS, Container[]>>; state?: unknown | null; history?: unknown[] } = {}) {
  for (const sub of ["hosts", "state", "bucket"]) rmSync(path.join(dir, sub), { recursive: true, force: true });
  mkdirSync(path.join(dir, "hosts"));
  for (const f of ["calls", "imported", "cancelled", "export.json", "history.json"]) rmSync(path.join(dir, f), { force: true });
  writeFileSync(path.join(dir, "calls"), "");
  const known = knownContainers();
  const hosts = { ...known, ...opts.hosts };
  for (const [name, list] of Object.entries(hosts))
    if (list) writeFileSync(path.join(dir, "hosts", `${HOSTS[name as keyof typeof HOSTS].replace(/[^a-z0-9]/gi, "_")}.json`), JSON.stringify(list));
  if (opts.state !== null) writeFileSync(path.join(dir, "export.json"), JSON.stringify(opts.state ?? exportOf([...known.one, ...known.two])));
  if (opts.history) writeFileSync(path.join(dir, "history.json"), JSON.stringify(opts.history));
  return known;
}

function writeLock(lock: { pid: number; hostname: string; minutesAgo: number }, root = path.join(dir, "state")): string {
  const file = path.join(root, ".pulumi", "locks", "organization", "platform", "qa", "9a1c2f9e-0000-4000-8000-000000000001.json");
  mkdirSync(path.dirname(file), { recursive: true });
  // RFC 3339 with nanoseconds, as Go writes it.
  const timestamp = new Date(Date.now() - lock.minutesAgo * 60_000).toISOString().replace(/Z$/, "300928Z");
  writeFileSync(file, JSON.stringify({ pid: lock.pid, username: "runner", hostname: lock.hostname, timestamp }));
  // The file backend writes each object's attributes beside it: not a lock of its own. (S3 has no such file.)
  if (root === path.join(dir, "state")) writeFileSync(`${file}.attrs`, JSON.stringify({ "user.content_type": "text/plain; charset=utf-8", md5: "JZYlx8+vC3G4B0xRHJLZFw==" }));
  return file;
}

const calls = () => readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean);
const changes = () => calls().filter((c) => /^docker (stop|rm) |^pulumi (stack import|cancel)/.test(c));
const converge = (...args: string[]) => runConverge(["--cwd", path.join(dir, "project"), "--stack", "qa", ...args]);

function deadPid(): number {
  const gone = spawnSync("true");
  return gone.pid!;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "converge-"));
  const bin = standInProject(dir, { pulumi: FAKE_PULUMI, docker: FAKE_DOCKER, aws: FAKE_AWS }, STACK_FILE);
  // A live process whose name is pulumi's, as a running `pulumi up` on this machine is.
  const liveBin = path.join(dir, "live");
  mkdirSync(liveBin);
  copyFileSync(spawnSync("sh", ["-c", "command -v sleep"], { encoding: "utf8" }).stdout.trim(), path.join(liveBin, "pulumi"));
  chmodSync(path.join(liveBin, "pulumi"), 0o755);
  live = spawn(path.join(liveBin, "pulumi"), ["600"], { stdio: "ignore" });
  // This test file runs in its own process (vitest forks): the stand-ins go first on its PATH.
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.FAKE_CONVERGE = dir;
  process.env.PULUMI_BACKEND_URL = `file://${dir}/state`;
});

afterAll(() => {
  live.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  process.env.PULUMI_BACKEND_URL = `file://${dir}/state`;
  world();
});

describe("npm run converge: the lock a killed run left", () => {
  it("nothing to do on a healthy stack: exit 0, one line, nothing stopped, removed, imported or cancelled", async () => {
    const result = await converge();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe("converge: stack qa: nothing to converge (no lock, no pending operation, no container the state does not know)\n");
    expect(changes()).toEqual([]);
    // Both hosts were asked (the ssh one with its URL), and only for the stack's containers.
    expect(calls().filter((c) => c.startsWith("docker ps"))).toHaveLength(2);
  });

  it("a lock of this host whose process is gone is stale: its file is removed, and the line says why", async () => {
    const pid = deadPid();
    const file = writeLock({ pid, hostname: hostname(), minutesAgo: 3 });
    const result = await converge();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.attrs`)).toBe(false);
    expect(result.stdout.split("\n").filter((l) => l.includes("cleared the lock"))).toHaveLength(1);
    expect(result.stdout).toContain(`converge: cleared the lock of runner@${hostname()} (pid ${pid}) since `);
    expect(result.stdout).toContain(`stale, its process ${pid} is gone on this host (taken 3 min ago)`);
    expect(changes()).toEqual([]);
  });

  it("a lock whose pulumi still runs on this host is refused at any age: exit 1, one line naming who and since when, nothing changed", async () => {
    const file = writeLock({ pid: live.pid!, hostname: hostname(), minutesAgo: 300 });
    // A stray too: a live run's in-progress create looks like one, so nothing may be removed.
    world({ hosts: { one: [...knownContainers().one, container("new_alpha", labelled("alpha", "web"))] } });
    writeLock({ pid: live.pid!, hostname: hostname(), minutesAgo: 300 });
    const result = await converge();
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^converge: stack qa is locked by runner@${hostname()} \\(pid ${live.pid}\\) since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\(${file}\\): its process ${live.pid} is still running on this host \\(taken 300 min ago\\); nothing was changed`));
    expect(existsSync(file)).toBe(true);
    expect(changes()).toEqual([]);
    expect(calls().filter((c) => c.startsWith("docker"))).toEqual([]);
  });

  it("a lock from another host is stale once older than the deploy job's timeout, live before it", async () => {
    const young = writeLock({ pid: 4242, hostname: "fv-az123-456", minutesAgo: 30 });
    const refused = await converge();
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/locked by runner@fv-az123-456 \(pid 4242\) since .*: taken 30 min ago on another host, within the deploy job's timeout \(45 min\): its run may still be going; nothing was changed/);
    expect(existsSync(young)).toBe(true);

    const old = writeLock({ pid: 4242, hostname: "fv-az123-456", minutesAgo: 50 });
    const cleared = await converge();
    expect(cleared.exitCode, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain("stale, taken 50 min ago, longer than the deploy job's timeout (45 min), so its run has ended");
    expect(existsSync(old)).toBe(false);

    // The timeout is the flag's: 60 minutes keeps a 50-minute-old lock.
    writeLock({ pid: 4242, hostname: "fv-az123-456", minutesAgo: 50 });
    expect((await converge("--lock-timeout-minutes", "60")).exitCode).toBe(1);
  });

  it("a killed pulumi that nobody reaped (a zombie) is gone, not running", () => {
    const zombie = spawn("sh", ["-c", "exec sleep 0"], { stdio: "ignore" });
    return new Promise<void>((resolve) => {
      // Until node reaps it (on 'exit'), the child is a zombie: kill -0 finds it, /proc says Z.
      setTimeout(() => {
        expect(processState(zombie.pid!)).toBe("gone");
        expect(processState(live.pid!)).toBe("pulumi");
        expect(processState(process.pid)).toBe("other");
        resolve();
      }, 300);
    });
  });

  it("judging: a pid of this host reused by another program is stale; an unreadable time is never old enough", () => {
    const ctx: JudgeContext = { now: new Date("2026-11-24T12:00:00Z"), maxAgeMinutes: 45, thisHost: "me", processState: () => "other" };
    const lock: StackLock = { where: "f", holder: { pid: 7, username: "u", hostname: "me" }, since: new Date("2026-11-24T11:58:00Z") };
    expect(judgeLock(lock, ctx)).toEqual({ stale: true, why: "pid 7 on this host is no longer a pulumi process (taken 2 min ago)" });
    expect(judgeLock({ where: "f", since: undefined }, ctx).stale).toBe(false);
    expect(judgeLock({ ...lock, holder: { ...lock.holder!, hostname: "other" }, since: new Date("2026-11-24T10:00:00Z") }, ctx).stale).toBe(true);
  });

  it("Pulumi Cloud: an update still in progress past the timeout is cancelled with pulumi cancel; a recent one is refused", async () => {
    delete process.env.PULUMI_BACKEND_URL;
    const startTime = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    world({ history: [{ version: 12, kind: "update", startTime: startTime(10), result: "in-progress" }] });
    const refused = await converge();
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^converge: stack qa is locked by an update since .* \(update 12\): taken 10 min ago, within the deploy job's timeout/);
    expect(changes()).toEqual([]);

    world({ history: [{ version: 12, kind: "update", startTime: startTime(90), result: "in-progress" }] });
    const cleared = await converge();
    expect(cleared.exitCode, cleared.stderr).toBe(0);
    expect(changes()).toEqual(["pulumi cancel --yes --stack qa"]);

    world({ history: [{ version: 12, kind: "update", startTime: startTime(90), result: "failed" }] });
    expect((await converge()).stdout).toContain("nothing to converge");
  });

  it("S3: the lock files are read with the aws CLI (region, endpoint from the URL) and cleared with pulumi cancel", async () => {
    process.env.PULUMI_BACKEND_URL = "s3://states/platform?region=eu-west-1&endpoint=minio.example.net:9000&use_path_style=true";
    writeLock({ pid: 4242, hostname: "fv-az123-456", minutesAgo: 120 }, path.join(dir, "bucket", "platform"));
    const result = await converge();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("cleared the lock of runner@fv-az123-456 (pid 4242) since ");
    expect(result.stdout).toContain("(s3://states/platform/.pulumi/locks/organization/platform/qa/9a1c2f9e-0000-4000-8000-000000000001.json)");
    expect(calls()).toContain(
      "aws s3api list-objects-v2 --bucket states --prefix platform/.pulumi/locks/organization/platform/qa/ --output json --region eu-west-1 --endpoint-url https://minio.example.net:9000",
    );
    expect(changes()).toEqual(["pulumi cancel --yes --stack qa"]);
  });
});

describe("npm run converge: what a killed run created", () => {
  it("removes the containers labelled for the stack that the state does not know, drops the pending operations, leaves the rest alone", async () => {
    const known = knownContainers();
    const strayWeb = container("new_alpha", { ...labelled("alpha", "web"), "platform.edge": "qa" });
    const strayDb = container("platform-qa-beta-postgres", labelled("beta", "postgres"));
    const otherStack = container("other_alpha", labelled("alpha", "web", "other"));
    const unmanaged = container("hand_made", { "platform.stack": "qa" });
    const release = container("platform-qa-alpha-web-release", { ...labelled("alpha"), "platform.release": "web" }, "exited");
    const state = exportOf([...known.one, ...known.two], [
      { type: "creating", name: "platform-qa-beta-postgres" },
      { type: "creating", name: "alpha-web-1" },
      // A delete the killed run had started: the state still knows that container by its id.
      { type: "deleting", name: "eager_alpha", id: known.one[1]!.Id },
    ]);
    world({ hosts: { one: [...known.one, strayWeb, otherStack, unmanaged, release], two: [...known.two, strayDb] }, state });

    const result = await converge();
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split("\n").filter(Boolean);
    expect(lines).toEqual([
      "converge: left platform-qa-alpha-web-release on one: a release task's own container, which that step removes before it runs again",
      `converge: removed new_alpha (${strayWeb.Id.slice(0, 12)}, alpha/web, running) on one: not in the state, the service's containers in the state keep serving; the next up creates what it needs`,
      `converge: removed platform-qa-beta-postgres (${strayDb.Id.slice(0, 12)}, beta/postgres, running) on two: not in the state (only a pending create), its data is in its named volume, which stays; the next up starts a new container on it`,
      "converge: dropped the pending operation creating platform-qa-beta-postgres (docker:index/container:Container) from the state",
      "converge: dropped the pending operation creating alpha-web-1 (docker:index/container:Container) from the state",
      "converge: dropped the pending operation deleting eager_alpha (docker:index/container:Container) from the state",
      "converge: stack qa: converged; the next pulumi up starts from the state and the hosts as they are",
    ]);
    expect(changes().sort()).toEqual(
      [
        `docker stop ${strayWeb.Id} host=${HOSTS.one}`,
        `docker rm ${strayWeb.Id} host=${HOSTS.one}`,
        `docker stop ${strayDb.Id} host=${HOSTS.two}`,
        `docker rm ${strayDb.Id} host=${HOSTS.two}`,
        "pulumi stack import --file " + calls().find((c) => c.startsWith("pulumi stack import"))!.split("--file ")[1],
      ].sort(),
    );
    // The imported state is the exported one without its pending operations, byte for byte otherwise.
    const imported = JSON.parse(readFileSync(path.join(dir, "export.json"), "utf8")) as { deployment: Record<string, unknown> };
    const { pending_operations: _dropped, ...rest } = state.deployment as typeof state.deployment & { pending_operations?: unknown };
    expect(imported).toEqual({ ...state, deployment: rest });

    // Run again: nothing left to do.
    writeFileSync(path.join(dir, "calls"), "");
    const again = await converge();
    expect(again.stdout).toContain("nothing to converge");
    expect(changes()).toEqual([]);
  });

  it("a stale lock, strays and pending operations together: the lock goes first, so the import (which takes the lock) succeeds", async () => {
    const known = knownContainers();
    const stray = container("new_alpha", labelled("alpha", "web"));
    world({ hosts: { one: [...known.one, stray] }, state: exportOf([...known.one, ...known.two], [{ type: "creating", name: "alpha-web-1" }]) });
    const file = writeLock({ pid: deadPid(), hostname: hostname(), minutesAgo: 1 });
    const result = await converge();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(path.join(dir, "imported"), "utf8")).toBe("yes");
    expect(result.stdout.split("\n")[0]).toMatch(/^converge: cleared the lock of /);
  });

  it("--dry-run says what it would do and changes nothing", async () => {
    const known = knownContainers();
    const stray = container("new_alpha", labelled("alpha", "web"));
    world({ hosts: { one: [...known.one, stray] }, state: exportOf([...known.one, ...known.two], [{ type: "creating", name: "alpha-web-1" }]) });
    const file = writeLock({ pid: deadPid(), hostname: hostname(), minutesAgo: 1 });
    const result = await converge("--dry-run");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/converge: would clear the lock of [\s\S]*converge: would remove new_alpha [\s\S]*converge: would drop the pending operation creating alpha-web-1 [\s\S]*dry run, nothing was changed/);
    expect(existsSync(file)).toBe(true);
    expect(changes()).toEqual([]);
  });
});

describe("npm run converge: bad input is one line, and a failure changes nothing", () => {
  it("an unreachable host while a killed run left pending operations: exit 1 naming it, and even a stale lock and a stray stay as they were", async () => {
    const known = knownContainers();
    world({ hosts: { one: [...known.one, container("new_alpha", labelled("alpha", "web"))], two: undefined }, state: exportOf(known.one, [{ type: "creating", name: "alpha-web-1" }]) });
    const file = writeLock({ pid: deadPid(), hostname: hostname(), minutesAgo: 1 });
    const result = await converge();
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      "converge: host two (ssh://deploy@two.example.net) cannot be reached: Cannot connect to the Docker daemon at ssh://deploy@two.example.net. Is the docker daemon running?; a killed run left pending operations, which may be on it: nothing was changed\n",
    );
    expect(existsSync(file)).toBe(true);
    expect(changes()).toEqual([]);
  });

  it("an unreachable host without pending operations: the other hosts converge, and exit 3 names the host and how to deploy around it", async () => {
    const known = knownContainers();
    world({ hosts: { one: [...known.one, container("new_alpha", labelled("alpha", "web"))], two: undefined }, state: exportOf([...known.one, ...known.two]) });
    const file = writeLock({ pid: deadPid(), hostname: hostname(), minutesAgo: 1 });
    const result = await converge();
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(/converge: removed new_alpha /);
    expect(result.stderr).toBe(
      "converge: host two (ssh://deploy@two.example.net) does not answer (Cannot connect to the Docker daemon at ssh://deploy@two.example.net. Is the docker daemon running?): its containers were not checked; deploy without --refresh and with --continue-on-error, so that what does not depend on it is deployed\n",
    );
    expect(existsSync(file)).toBe(false);
  });

  it("an unknown stack is a usage error (exit 2); a stack the backend does not have is exit 1", async () => {
    const unknown = await runConverge(["--cwd", path.join(dir, "project"), "--stack", "nope"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.split("\n")[0]).toBe('converge: unknown stack "nope" (stacks: qa)');
    world({ state: null });
    const missing = await converge();
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(`converge: stack qa does not exist in file://${dir}/state: create it first (pulumi stack init qa)\n`);
  });

  it("usage: --stack is required, the timeout is whole minutes, unknown flags are refused", async () => {
    for (const args of [[], ["--stack", "qa", "--lock-timeout-minutes", "soon"], ["--stack", "qa", "--lock-timeout-minutes", "0"], ["--stack", "qa", "--force"]]) {
      const result = await runConverge(["--cwd", path.join(dir, "project"), ...args]);
      expect(result.exitCode, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/^converge: .*\nusage: npm run converge -- --stack <stack>/);
    }
    expect(readdirSync(path.join(dir, "hosts")).length).toBeGreaterThan(0);
  });
});
