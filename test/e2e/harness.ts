import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { findToolchain, requireDocker, runPulumi, selectStack, type PulumiRun, type Toolchain } from "../../devstack/toolchain";

/**
 * The end-to-end world: a throw-away copy of this repository whose `e2e` stack is the dev stack's configuration
 * with the tenants of test/e2e/tenants (never tenants/), its own file state, its own ports, and the real engine.
 */

export const REPO = path.resolve(__dirname, "../..");
/**
 * The world's stack and ports. A benchmark that needs a world beside the e2e suite's (bench/) names its own through
 * E2E_STACK, E2E_HTTP_PORT and E2E_DASHBOARD_PORT; the e2e files assume the defaults.
 */
export const STACK = process.env.E2E_STACK ?? "e2e";
export const HTTP_PORT = Number(process.env.E2E_HTTP_PORT ?? 18000);
export const DASHBOARD_PORT = Number(process.env.E2E_DASHBOARD_PORT ?? 18081);
export const DOMAIN = "dev.localhost";
/** Tenant files reference registry images; the e2e stack maps them to the local demo app builds. */
export const IMAGES = {
  v1: "registry.example.com/e2e/demo:1",
  v2: "registry.example.com/e2e/demo:2",
  broken: "registry.example.com/e2e/demo:broken",
  /** The demo app with Traefik labels of its own (test/e2e/faults.e2e.ts builds it): the platform must refuse it. */
  labelled: "registry.example.com/e2e/demo:labelled",
};
export const LABELLED_LOCAL_IMAGE = "platform-local/demo-app:e2e-labelled";

export interface World {
  dir: string;
  tenantsDir: string;
  toolchain: Toolchain;
}

export function createWorld(): World {
  requireDocker();
  const dir = mkdtempSync(path.join(tmpdir(), "platform-e2e-"));
  const toolchain = findToolchain(REPO, path.join(dir, ".state"));
  const skip = new Set(["node_modules", ".git", ".engine", ".pulumi-state", "tenants", "test", "bench"]);
  for (const entry of readdirSync(REPO)) if (!skip.has(entry)) cpSync(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
  // Hard links: a full copy of node_modules costs seconds and disk for nothing.
  spawnSync("cp", ["-al", path.join(REPO, "node_modules"), path.join(dir, "node_modules")]);
  const tenantsDir = path.join(dir, "e2e-tenants");
  mkdirSync(path.join(dir, "tenants"));
  cpSync(path.join(REPO, "test/e2e/tenants"), tenantsDir, { recursive: true });
  writeFileSync(path.join(dir, `Pulumi.${STACK}.yaml`), e2eStackFile(readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8")));
  rmSync(path.join(dir, "Pulumi.dev.yaml"));
  selectStack(toolchain, dir, STACK);
  writeSecret({ dir, tenantsDir, toolchain }, "alpha", "API_TOKEN", "e2e-token");
  return { dir, tenantsDir, toolchain };
}

/** The dev stack's config with e2e's tenants, ports and image mappings; no stand-ins, so a wrong image shows. */
function e2eStackFile(devStackText: string): string {
  const doc = parse(devStackText) as { config: Record<string, unknown> };
  const config = doc.config;
  config["platform:tenantsDir"] = "e2e-tenants";
  // A world on an engine of its own (test/e2e/world-hooks.ts) deploys there.
  if (process.env.DOCKER_HOST) {
    const hosts = config["platform:hosts"] as Record<string, { url: string }>;
    for (const host of Object.values(hosts)) host.url = process.env.DOCKER_HOST;
  }
  const edge = config["platform:edge"] as { httpPort: number; dashboard: { enabled: boolean; port: number } };
  edge.httpPort = HTTP_PORT;
  edge.dashboard = { enabled: true, port: DASHBOARD_PORT };
  const images = config["platform:images"] as { replace: Record<string, string> };
  images.replace = {
    ...images.replace,
    [IMAGES.v1]: "platform-local/demo-app:1",
    [IMAGES.v2]: "platform-local/demo-app:2",
    [IMAGES.broken]: "platform-local/demo-app:broken",
    [IMAGES.labelled]: LABELLED_LOCAL_IMAGE,
  };
  delete config["platform:dev"];
  return stringify({ config });
}

/** Changes the world's stack file (e.g. its hosts), as an operator editing Pulumi.<stack>.yaml would. */
export function editStackConfig(world: World, edit: (config: Record<string, unknown>) => void): void {
  const file = path.join(world.dir, `Pulumi.${STACK}.yaml`);
  const doc = parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
  edit(doc.config);
  writeFileSync(file, stringify(doc));
}

function writeSecret(world: World, tenant: string, name: string, value: string): void {
  const set = runPulumi(world.toolchain, world.dir, ["config", "set", "--secret", "--path", `platform:secrets.${tenant}.${name}`, value, "--stack", STACK]);
  if (set.status !== 0) throw new Error(`pulumi config set failed: ${set.stderr}`);
}

export function pulumi(world: World, args: readonly string[]): PulumiRun {
  return runPulumi(world.toolchain, world.dir, [...args, "--stack", STACK]);
}

/** Runs pulumi without blocking, so a request loop can run beside it. */
export function pulumiAsync(world: World, args: readonly string[]): Promise<PulumiRun> {
  return new Promise((resolve) => {
    const child = spawn(world.toolchain.cli, [...args, "--stack", STACK, "--non-interactive"], { cwd: world.dir, env: world.toolchain.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

export function up(world: World): PulumiRun {
  return pulumi(world, ["up", "--yes", "--skip-preview"]);
}

/**
 * A `preview --json`'s steps that change something: not `same`, nor the program's read of its own outputs (`read`),
 * nor, with `--refresh`, the reads of what is deployed (`refresh`).
 */
export function changedSteps(previewJson: string): { op: string; urn: string }[] {
  const reads = new Set(["same", "read", "refresh"]);
  return (JSON.parse(previewJson) as { steps?: { op: string; urn: string }[] }).steps?.filter((s) => !reads.has(s.op)) ?? [];
}

export function expectOk(run: PulumiRun, what: string): void {
  if (run.status !== 0) throw new Error(`${what} failed (exit ${run.status}):\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`);
}

export function tenantHost(tenant: string): string {
  return `${tenant}.${DOMAIN}`;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * Where the world's edge answers: loopback for the machine's engine; a file whose world runs on an engine of its own
 * (scripts/engine-node.sh) sets E2E_EDGE_ADDRESS to that engine's address.
 */
export function edgeAddress(): string {
  return process.env.E2E_EDGE_ADDRESS ?? "127.0.0.1";
}

/** One request through the e2e edge, with the tenant's Host header and a fresh connection. */
export function get(host: string, urlPath = "/", timeoutMs = 5000, port = HTTP_PORT, address = edgeAddress()): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: address, port, path: urlPath, headers: { host }, agent: false, timeout: timeoutMs }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("timeout", () => request.destroy(new Error(`timed out after ${timeoutMs}ms`)));
    request.on("error", reject);
    request.end();
  });
}

/**
 * The body of a GET to a container's own address (not through the edge). On an engine of its own the containers'
 * addresses are inside that engine's network namespace (E2E_ENGINE_NETNS), so the request is made from there.
 */
export function getFromEngine(url: string): string {
  const script = `fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error("HTTP " + r.status); process.stdout.write(await r.text()); })`;
  const netns = process.env.E2E_ENGINE_NETNS;
  const command = netns ? ["ip", "netns", "exec", netns, process.execPath] : [process.execPath];
  const run = spawnSync(command[0]!, [...command.slice(1), "-e", script, url], { encoding: "utf8", timeout: 15_000 });
  if (run.status !== 0) throw new Error(`GET ${url}${netns ? ` (in ${netns})` : ""} failed: ${run.stderr.trim().split("\n").pop()}`);
  return run.stdout;
}

export interface LoadResult {
  sent: number;
  failed: { at: number; error: string }[];
  bodies: Set<string>;
}

/**
 * Requests at a fixed rate until `done` resolves and at least `minimum` were sent, bounded by `maxSeconds`.
 * Loopback only; every response other than 200 is a failure.
 */
export async function requestLoop(host: string, perSecond: number, minimum: number, done: Promise<unknown>, maxSeconds = 300, urlPath = "/"): Promise<LoadResult> {
  let finished = false;
  void done.finally(() => (finished = true));
  const result: LoadResult = { sent: 0, failed: [], bodies: new Set() };
  const started = Date.now();
  const inflight: Promise<void>[] = [];
  while ((!finished || result.sent < minimum) && Date.now() - started < maxSeconds * 1000) {
    const at = Date.now() - started;
    result.sent += 1;
    inflight.push(
      get(host, urlPath, 10_000).then(
        (answer) => {
          if (answer.status !== 200) result.failed.push({ at, error: `HTTP ${answer.status}: ${answer.body.slice(0, 120)}` });
          else result.bodies.add(answer.body.split("\n")[0] ?? "");
        },
        (error: Error) => void result.failed.push({ at, error: error.message }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1000 / perSecond));
  }
  await Promise.all(inflight);
  return result;
}

export function docker(args: readonly string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync("docker", args, { encoding: "utf8" });
  return { status: result.status ?? 1, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

/** Containers of this stack, optionally of one tenant and service, by Docker name. */
export function containers(filter: { tenant?: string; service?: string } = {}): string[] {
  const labels = [`platform.stack=${STACK}`, ...(filter.tenant ? [`platform.tenant=${filter.tenant}`] : []), ...(filter.service ? [`platform.service=${filter.service}`] : [])];
  return docker(["ps", "--format", "{{.Names}}", ...labels.flatMap((l) => ["--filter", `label=${l}`])]).stdout.split("\n").filter(Boolean).sort();
}

/** The stack's Traefik, running or not, by its role label: Pulumi names it anew at each replacement. */
export function edgeContainer(): string {
  const names = docker(["ps", "-a", "--filter", `label=platform.stack=${STACK}`, "--filter", "label=platform.role=traefik", "--format", "{{.Names}}"]).stdout;
  const [name] = names.split("\n").filter(Boolean);
  if (!name) throw new Error(`no Traefik of stack ${STACK} on this engine`);
  return name;
}

/** The edge's pause container: it holds Traefik's network namespace, ports and tenant attachments. */
export function edgePauseContainer(): string {
  return `platform-${STACK}-edge-pause`;
}

/** A container's IP addresses, by network name. */
export function addresses(container: string): Record<string, string> {
  const json = docker(["inspect", "-f", "{{json .NetworkSettings.Networks}}", container]).stdout;
  return Object.fromEntries(Object.entries(JSON.parse(json) as Record<string, { IPAddress: string }>).map(([name, n]) => [name, n.IPAddress]));
}

/**
 * Whether a TCP connection from inside `from` to host:port opens (2s). The probe is the demo app's `connect` mode
 * run in `from`'s network namespace, so it works whatever image `from` runs. Only names and addresses of this
 * engine's own networks are probed: anything else would leave the machine.
 */
export function canConnect(from: string, host: string, port: number): boolean {
  if (/^[0-9.]+$/.test(host) && !onLocalNetwork(host)) throw new Error(`refusing to probe ${host}: not on a local Docker network`);
  return docker(["run", "--rm", "--network", `container:${from}`, "--entrypoint", "demo-app", PROBE_IMAGE, "connect", `${host}:${port}`]).status === 0;
}
const PROBE_IMAGE = "platform-local/demo-app:1";

function onLocalNetwork(ip: string): boolean {
  const subnets = docker(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", ...docker(["network", "ls", "-q"]).stdout.split("\n")]).stdout;
  const toNumber = (a: string) => a.split(".").reduce((n, part) => n * 256 + Number(part), 0);
  return subnets.split(/\s+/).filter((s) => /^[0-9.]+\/[0-9]+$/.test(s)).some((subnet) => {
    const [base, bits] = subnet.split("/") as [string, string];
    const size = 2 ** (32 - Number(bits));
    return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base) / size);
  });
}

/**
 * An HTTP GET from inside a container (busybox wget, as in the demo app): `ok` for a 2xx, the status of any answer,
 * and the output or the client's error. Bounded by coreutils' `timeout`: busybox 1.35's own `-T` crashes wget
 * (exit 139) before it sends anything, which made every such request look refused.
 */
export function httpFrom(from: string, url: string, headers: Record<string, string> = {}): { ok: boolean; status?: number; output: string } {
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ["--header", `${name}: ${value}`]);
  const result = docker(["exec", from, "timeout", "5", "wget", "-S", "-q", "-O", "-", ...headerArgs, url]);
  // -S prints the response headers on stderr, the body goes to stdout.
  const status = [...result.stderr.matchAll(/^\s*HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1])).pop();
  return { ok: result.status === 0, ...(status !== undefined ? { status } : {}), output: `${result.stdout}${result.stderr}`.slice(0, 300) };
}

/** One of this repository's CLIs (cli/<name>.ts) on the world's copy, with the world's state backend. */
function worldCli(world: World, name: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(path.join(REPO, "node_modules/.bin/tsx"), [path.join(REPO, `cli/${name}.ts`), "--stack", STACK, "--cwd", world.dir, ...args], {
    encoding: "utf8",
    env: { ...process.env, PULUMI_BACKEND_URL: world.toolchain.env.PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE: world.toolchain.env.PULUMI_CONFIG_PASSPHRASE },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** This repository's `npm run status`, run on the world (a copy of the repo) with the world's state backend. */
export function statusCli(world: World, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return worldCli(world, "status", args);
}

/** This repository's `npm run converge` as the deploy jobs run it, on the world's copy and state. */
export function convergeCli(world: World, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return worldCli(world, "converge", args);
}

/** This repository's `npm run db`, run on the world (a copy of the repo). */
export function dbCli(world: World, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(path.join(REPO, "node_modules/.bin/tsx"), [path.join(REPO, "cli/db.ts"), ...args, "--stack", STACK, "--cwd", world.dir], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Polls `check` every half second until it holds, failing after `seconds`. */
export async function waitFor(what: string, check: () => boolean, seconds = 60): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function addTenant(world: World, file: string, text: string): void {
  writeFileSync(path.join(world.tenantsDir, file), text);
}

export function removeTenant(world: World, file: string): void {
  rmSync(path.join(world.tenantsDir, file));
}

export function readTenant(world: World, file: string): string {
  return readFileSync(path.join(world.tenantsDir, file), "utf8");
}

/** What a failing step needs to be understood: the stack's containers, their last log lines, dockerd's log. */
export function diagnostics(): string {
  const lines = [docker(["ps", "-a", "--filter", `label=platform.stack=${STACK}`, "--format", "table {{.Names}}\t{{.Image}}\t{{.Status}}"]).stdout];
  for (const name of docker(["ps", "-a", "--filter", `label=platform.stack=${STACK}`, "--format", "{{.Names}}"]).stdout.split("\n").filter(Boolean)) {
    const logs = spawnSync("docker", ["logs", "--tail", "40", name], { encoding: "utf8" });
    lines.push(`--- docker logs ${name}\n${logs.stdout}${logs.stderr}`);
  }
  const logFile = process.env.E2E_ENGINE_LOG ?? "/var/log/dockerd.log";
  const engineLog = spawnSync("tail", ["-n", "40", logFile], { encoding: "utf8" });
  if (engineLog.status === 0) lines.push(`--- ${logFile}\n${engineLog.stdout}`);
  return lines.join("\n");
}

/** Removes everything the e2e stack made: its resources, its retained volumes, the copy and its state. */
export function destroyWorld(world: World): void {
  pulumi(world, ["destroy", "--yes", "--skip-preview"]);
  for (const name of docker(["ps", "-aq", "--filter", `label=platform.stack=${STACK}`]).stdout.split("\n").filter(Boolean)) docker(["rm", "-f", name]);
  for (const name of docker(["volume", "ls", "-q", "--filter", `label=platform.stack=${STACK}`]).stdout.split("\n").filter(Boolean)) docker(["volume", "rm", "-f", name]);
  for (const name of docker(["network", "ls", "-q", "--filter", `label=platform.stack=${STACK}`]).stdout.split("\n").filter(Boolean)) docker(["network", "rm", name]);
  rmSync(world.dir, { recursive: true, force: true });
}
