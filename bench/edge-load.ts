import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { writeReportSection } from "./report-section";

/**
 * `npm run bench:edge-load`: sustained load through the edge. BENCH_TENANTS (default 50) web tenants on a world of
 * its own (stack `load`, edge on port 18200, dashboard 18281) on a Docker engine of its own (scripts/engine-node.sh,
 * node `load`), so it never touches the e2e suite's world or the machine's engine, and so requests take a production
 * host's path: to the host's address, through the engine's DNAT rule, not through docker-proxy, which serves only
 * loopback and died under this load on the machine's engine (see the section's findings). Then
 * vegeta (pinned in bench/tools/go.mod, built into .engine/bin when missing) sends GETs spread over every tenant's
 * Host header at rising rates to find the highest rate with zero errors, holds that rate for BENCH_SECONDS
 * (default 60), and sends the same load straight to one app container (the floor: its address on its tenant's apps
 * network). vegeta runs inside the node's network namespace. Writes the section "## Sustained load through the edge"
 * of bench/REAL-ENGINE.md. The node's own address and containers only; every loop is bounded in count and time; the
 * world and the node are removed at the end.
 */

// The harness reads its stack and ports when it loads: set them first, import it below.
process.env.E2E_STACK ??= "load";
process.env.E2E_HTTP_PORT ??= "18200";
process.env.E2E_DASHBOARD_PORT ??= "18281";

type Harness = typeof import("../test/e2e/harness");
type Nodes = typeof import("../test/e2e/engine-nodes");
type EngineNode = import("../test/e2e/engine-nodes").EngineNode;
type World = import("../test/e2e/harness").World;

const TENANTS = Number(process.env.BENCH_TENANTS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
/** Each step of the search; the final rate is held for SECONDS. */
const STEP_SECONDS = Math.min(SECONDS, Number(process.env.BENCH_STEP_SECONDS ?? 10));
const START_RATE = Number(process.env.BENCH_START_RATE ?? 100);
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 25_600);
/** Doubling steps, then halvings of the gap between the last rate that held and the first that did not. */
const MAX_DOUBLINGS = 9;
const REFINEMENTS = 3;
/** A final run that does not hold retries at 85% of its rate, at most this often. */
const FINAL_TRIES = 3;
/** Any request slower than this is an error: a queue that keeps growing shows as errors, not as a long run. */
const REQUEST_TIMEOUT_SECONDS = 5;
const MAX_WORKERS = 2000;
const COOL_DOWN_MS = 3000;
const APP_PORT = 8080;
const HEALTH_INTERVAL = Math.max(1, Math.round(TENANTS / 10));

const REPO = path.resolve(__dirname, "..");
const OUT = path.join(__dirname, "REAL-ENGINE.md");
const SECTION = "## Sustained load through the edge";
const TOOLS = path.join(__dirname, "tools");
const VEGETA = path.join(REPO, ".engine/bin/vegeta");
const NODE_NAME = "load";
const NODE_INDEX = 40;
const APP_IMAGE = "platform-local/demo-app:1";

interface Report {
  latencies: { "50th": number; "99th": number; max: number; mean: number };
  requests: number;
  rate: number;
  throughput: number;
  success: number;
  status_codes: Record<string, number>;
  errors: string[] | null;
  duration: number;
  wait: number;
}

interface Run { target: "edge" | "floor"; rate: number; seconds: number; report: Report; holds: boolean; why: string; cpu?: string }

/** The vegeta version bench/tools/go.mod pins. */
function pinnedVegeta(): string {
  const version = /github\.com\/tsenart\/vegeta\/v12 (v\S+)/.exec(readFileSync(path.join(TOOLS, "go.mod"), "utf8"))?.[1];
  if (!version) throw new Error("bench/tools/go.mod does not require github.com/tsenart/vegeta/v12");
  return version;
}

/** Builds .engine/bin/vegeta from bench/tools (committed go.sum, no module changes) unless it is the pinned version. */
function ensureVegeta(): string {
  const version = pinnedVegeta();
  if (existsSync(VEGETA)) {
    const shown = spawnSync(VEGETA, ["-version"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
    if (shown.includes(`Version: ${version}\n`)) return version;
  }
  console.log(`bench: building vegeta ${version} into ${VEGETA} (a first build downloads modules: about a minute)`);
  const build = spawnSync("go", ["build", "-trimpath", "-ldflags", `-X main.Version=${version}`, "-o", VEGETA, "github.com/tsenart/vegeta/v12"], {
    cwd: TOOLS,
    encoding: "utf8",
    timeout: 15 * 60_000,
    env: { ...process.env, GOFLAGS: "-mod=readonly", CGO_ENABLED: "0" },
  });
  if (build.status !== 0) throw new Error(`go build of vegeta failed (is Go 1.26 on PATH?): ${build.error?.message ?? ""}${build.stderr}`);
  return version;
}

/** vegeta's http target format: one GET per tenant, its Host header (vegeta sets the request's Host from it). */
function targetsFile(dir: string, name: string, url: string, hosts: readonly string[]): string {
  const file = path.join(dir, `${name}.targets`);
  writeFileSync(file, hosts.map((host) => `GET ${url}\nHost: ${host}\n`).join("\n"));
  return file;
}

function runProcess(command: string, args: readonly string[], timeoutMs: number): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? 1, stdout, stderr });
    });
  });
}

/**
 * One vegeta attack at `rate` per second for `seconds`, then its JSON report. It holds when every request got a
 * 200 (no transport error, nothing slower than REQUEST_TIMEOUT_SECONDS) and the answers kept pace with the rate
 * (throughput, which counts the wait for the last answers, at least 95% of it).
 */
async function attack(h: Harness, node: EngineNode, dir: string, target: Run["target"], targets: string, rate: number, seconds: number, container: string): Promise<Run> {
  const results = path.join(dir, "results.bin");
  let cpu: string | undefined;
  // One `docker stats` (about a second of the engine's work) at mid-run of the held runs only, not of the search.
  const sampler = seconds < SECONDS ? undefined : setTimeout(() => {
    cpu = h.docker(["stats", "--no-stream", "--format", "{{.CPUPerc}}", container]).stdout || undefined;
  }, (seconds * 1000) / 2);
  const run = await runProcess("ip", ["netns", "exec", node.netns, VEGETA,
    "attack", `-targets=${targets}`, "-format=http", `-rate=${rate}/1s`, `-duration=${seconds}s`, `-timeout=${REQUEST_TIMEOUT_SECONDS}s`,
    `-max-workers=${MAX_WORKERS}`, `-output=${results}`,
  ], (seconds + 60) * 1000);
  if (sampler) clearTimeout(sampler);
  if (run.status !== 0) throw new Error(`vegeta attack exited ${run.status}: ${run.stderr.slice(-2000)}`);
  const reported = await runProcess(VEGETA, ["report", "-type=json", results], 120_000);
  rmSync(results, { force: true });
  if (reported.status !== 0) throw new Error(`vegeta report exited ${reported.status}: ${reported.stderr.slice(-2000)}`);
  const report = JSON.parse(reported.stdout) as Report;
  // Status 0 is vegeta's code for no answer (a transport error or the timeout): those are in `errors`.
  const others = Object.entries(report.status_codes).filter(([code]) => code !== "200" && code !== "0");
  const errors = report.errors ?? [];
  const why =
    errors.length > 0 || others.length > 0 || report.success < 1
      ? `${Math.round((1 - report.success) * report.requests)} failed: ${[...others.map(([c, n]) => `${n}× status ${c}`), ...errors.slice(0, 3)].join("; ")}`
      : report.throughput < 0.95 * rate
        ? `answers fell behind (throughput ${report.throughput.toFixed(0)}/s)`
        : "";
  await new Promise((r) => setTimeout(r, COOL_DOWN_MS));
  const result: Run = { target, rate, seconds, report, holds: why === "", why, ...(cpu ? { cpu } : {}) };
  console.log(`bench: ${target} ${rate}/s for ${seconds} s: ${result.holds ? "holds" : `does not hold (${why})`}; p50 ${ms(report.latencies["50th"])}, p99 ${ms(report.latencies["99th"])}, throughput ${report.throughput.toFixed(0)}/s`);
  return result;
}

/** The highest rate with zero errors: doubling from START_RATE, then halving the gap REFINEMENTS times. */
async function search(edge: (rate: number, seconds: number) => Promise<Run>, steps: Run[]): Promise<number> {
  let good = 0;
  let bad = Infinity;
  for (let i = 0, rate = START_RATE; i < MAX_DOUBLINGS && rate <= MAX_RATE; i++, rate *= 2) {
    const run = await edge(rate, STEP_SECONDS);
    steps.push(run);
    if (!run.holds) {
      bad = rate;
      break;
    }
    good = rate;
  }
  if (good === 0) throw new Error(`the edge does not hold even ${START_RATE}/s: ${steps[0]!.why}`);
  for (let i = 0; i < REFINEMENTS && Number.isFinite(bad) && bad - good > Math.max(10, good * 0.05); i++) {
    const rate = Math.round((good + bad) / 2 / 10) * 10;
    const run = await edge(rate, STEP_SECONDS);
    steps.push(run);
    if (run.holds) good = rate;
    else bad = rate;
  }
  return good;
}

async function allAnswer(h: Harness, hosts: readonly string[], seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  const waiting = new Set(hosts);
  while (waiting.size > 0) {
    if (Date.now() > deadline) throw new Error(`${waiting.size} tenant(s) not answering through the edge after ${seconds} s: ${[...waiting].slice(0, 5).join(", ")}`);
    for (const host of [...waiting]) if ((await h.get(host, "/", 2000).catch(() => ({ status: 0 }))).status === 200) waiting.delete(host);
    if (waiting.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
}

async function main() {
  const h: Harness = await import("../test/e2e/harness");
  const nodes: Nodes = await import("../test/e2e/engine-nodes");
  if (h.STACK === "e2e" || h.HTTP_PORT === 18000) throw new Error("the load bench needs a stack and ports of its own (E2E_STACK, E2E_HTTP_PORT), not the e2e suite's");
  const vegeta = ensureVegeta();
  console.log(`bench: starting engine node ${NODE_NAME} and copying its images`);
  const node = nodes.engineNode(NODE_NAME, NODE_INDEX, [...nodes.edgeImages(), APP_IMAGE]);
  nodes.aimHarnessAt(node);
  if (h.docker(["ps", "-aq", "--filter", `label=platform.stack=${h.STACK}`]).stdout)
    throw new Error(`containers of stack ${h.STACK} exist already on node ${NODE_NAME} (another run?): not starting a second world on them`);
  const dir = mkdtempSync(path.join(tmpdir(), "platform-load-"));
  let load = loadavg()[0]!;
  const loadSampler = setInterval(() => (load = Math.max(load, loadavg()[0]!)), 5000);
  let world: World | undefined;
  const steps: Run[] = [];
  const finals: Run[] = [];
  let floor: Run | undefined;
  let setup = "";
  try {
    world = h.createWorld();
    for (const file of readdirSync(world.tenantsDir)) rmSync(path.join(world.tenantsDir, file));
    const names = Array.from({ length: TENANTS }, (_, i) => `t${String(i).padStart(3, "0")}`);
    for (const name of names)
      h.addTenant(world, `${name}.yaml`, `name: ${name}\nservices:\n  web:\n    image: ${h.IMAGES.v1}\n    port: ${APP_PORT}\n    routes: []\n    healthcheck: { path: /health, interval: ${HEALTH_INTERVAL}s, timeout: 2s, retries: 3, startPeriod: 30s }\n`);
    console.log(`bench: up of ${TENANTS} tenants (stack ${h.STACK}, edge on ${node.address}:${h.HTTP_PORT})`);
    h.expectOk(h.up(world), "pulumi up (all tenants)");
    const hosts = names.map(h.tenantHost);
    await allAnswer(h, hosts, 180);
    setup = describeSetup(h);

    const edgeTargets = targetsFile(dir, "edge", `http://${node.address}:${h.HTTP_PORT}/`, hosts);
    const edge = (rate: number, seconds: number) => attack(h, node, dir, "edge", edgeTargets, rate, seconds, h.edgeContainer());
    let rate = await search(edge, steps);
    for (let i = 0; i < FINAL_TRIES; i++) {
      finals.push(await edge(rate, SECONDS));
      if (finals.at(-1)!.holds) break;
      rate = Math.round((rate * 0.85) / 10) * 10;
    }
    const final = finals.at(-1)!;

    const app = h.containers({ tenant: names[0]!, service: "web" })[0];
    if (!app) throw new Error(`no app container of ${names[0]}`);
    const address = Object.entries(h.addresses(app)).find(([network]) => network.includes("-apps-"))?.[1];
    if (!address) throw new Error(`${app} has no address on an apps network`);
    const floorTargets = targetsFile(dir, "floor", `http://${address}:${APP_PORT}/`, [hosts[0]!]);
    floor = await attack(h, node, dir, "floor", floorTargets, final.rate, SECONDS, app);
  } finally {
    clearInterval(loadSampler);
    if (world) destroyWorld(h, world);
    nodes.removeEngine(node);
    rmSync(dir, { recursive: true, force: true });
  }
  if (!floor) throw new Error("no floor measured");
  if (!finals.at(-1)!.holds) console.error(`bench: no final rate held for ${SECONDS} s; the section records the last try`);
  writeSection(vegeta, setup, steps, finals, floor, load);
}

/** What the edge and the apps ran with, as the engine reports it: image, CPU limit, access log. */
function describeSetup(h: Harness): string {
  const inspect = (container: string) => h.docker(["inspect", "-f", "{{.Config.Image}}|{{.HostConfig.NanoCpus}}|{{json .Args}}", container]).stdout.split("|");
  const [traefikImage, traefikCpus, traefikArgs] = inspect(h.edgeContainer());
  const app = h.containers({ service: "web" })[0];
  const [, appCpus] = app ? inspect(app) : [];
  const cpus = (nano?: string) => `${Number(nano ?? 0) / 1e9} CPU`;
  const accessLog = traefikArgs?.includes("--accesslog=true") ? "access log on" : "access log off";
  return `${traefikImage}, ${cpus(traefikCpus)}, ${accessLog}; apps ${cpus(appCpus)} each`;
}

function destroyWorld(h: Harness, world: World): void {
  console.log("bench: destroying the world");
  h.destroyWorld(world);
}

const ms = (nanos: number) => `${(nanos / 1e6).toFixed(nanos < 1e7 ? 2 : 1)} ms`;

function writeSection(vegeta: string, setup: string, steps: Run[], finals: Run[], floor: Run, load: number): void {
  const final = finals.at(-1)!;
  const row = (r: Run) =>
    `| ${r.target === "edge" ? `through the edge, ${TENANTS} tenants` : "straight to one app container (floor)"} | ${r.rate}/s | ${r.seconds} s | ${r.report.requests} | ${r.holds ? "0" : r.why} | ${r.report.throughput.toFixed(0)}/s | ${ms(r.report.latencies["50th"])} | ${ms(r.report.latencies["99th"])} | ${ms(r.report.latencies.max)} | ${r.cpu ?? "–"} |`;
  const stepRows = [...steps, ...finals.slice(0, -1)].map((r) => `| ${r.rate}/s | ${r.seconds} s | ${r.holds ? "holds" : r.why} | ${ms(r.report.latencies["50th"])} | ${ms(r.report.latencies["99th"])} |`);
  const ratio = (key: "50th" | "99th") => (final.report.latencies[key] / floor.report.latencies[key]).toFixed(1);
  const small = TENANTS < 50 || SECONDS < 60 ? `\n**A check run below the issue's size (50 tenants, 60 s): not the measurement.**\n` : "";
  const section = `${SECTION}

Written by \`npm run bench:edge-load\` (bench/edge-load.ts) on ${new Date().toISOString().slice(0, 10)}: ${TENANTS} web tenants of the demo
app (health checks every ${HEALTH_INTERVAL} s) behind the edge, with the dev stack's settings (Traefik ${setup}),
on a world of its own (stack \`${process.env.E2E_STACK}\`) on a Docker engine of its own (\`scripts/engine-node.sh\`, node
\`${NODE_NAME}\`), edge on the node's address ${process.env.E2E_EDGE_ADDRESS}:${process.env.E2E_HTTP_PORT}, so each request takes a production host's path (the
engine's DNAT rule, not docker-proxy). The load generator is vegeta ${vegeta} (bench/tools/go.mod), in the node's
network namespace, on the same 2 cores: \`GET /\` spread evenly over every tenant's Host header, persistent
connections, ${REQUEST_TIMEOUT_SECONDS} s request timeout. A rate holds when every request got a 200 and the answers kept pace
(throughput ≥ 95% of the rate). The rate was found by doubling from ${START_RATE}/s and halving the gap ${REFINEMENTS} times
(${STEP_SECONDS} s steps), then held for ${SECONDS} s; the floor is the same rate and duration sent straight to one app
container (its address on its tenant's apps network). Peak 1-minute load average during the run: ${load.toFixed(1)}.
${small}
| target | rate | duration | requests | errors | throughput | p50 | p99 | max | CPU of the container at mid-run (Traefik; the app) |
|---|---|---|---|---|---|---|---|---|---|
${row(final)}
${row(floor)}

**Edge/floor at ${final.rate}/s: p50 ${ratio("50th")}×, p99 ${ratio("99th")}×** (throughput ${final.report.throughput.toFixed(0)}/s through the edge,
${floor.report.throughput.toFixed(0)}/s straight to the app).

The search:

| rate | duration | result | p50 | p99 |
|---|---|---|---|---|
${stepRows.join("\n")}

Reading it: the edge's figure is what one host's Traefik holds with the load generator, every tenant's app and the
engine's health probes sharing 2 cores; on a host with cores to spare for the edge it is higher. The floor is the
same requests without Traefik (one hop less, and one app container instead of ${TENANTS}).
`;
  writeReportSection(OUT, section);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
