import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import * as path from "node:path";
import { addTenant, createWorld, destroyWorld, docker, edgeContainer, expectOk, pulumi, pulumiAsync, up } from "../test/e2e/harness";
import { probeOutage } from "./edge-outage";

/**
 * `npm run bench:edge-replacement`: the outage of a Traefik replacement, alone and repeated, with the engine's own
 * timeline (kill, die, destroy, create, start, healthy) beside what a client sees. BENCH_TENANTS (default 100) web
 * tenants, BENCH_ROUNDS (default 3) replacements, alternating the edge image between two tags of the same build.
 * Writes the section "## Traefik replacement" of bench/REAL-ENGINE.md. Loopback only; every loop is bounded.
 */

const TENANTS = Number(process.env.BENCH_TENANTS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const OUT = path.join(__dirname, "REAL-ENGINE.md");
const SECTION = "## Traefik replacement";
/** Ten probes a second at most, as in bench/real-engine.ts. */
const HEALTH_INTERVAL = Math.max(1, Math.round(TENANTS / 10));
const ENGINE_EVENTS = ["kill", "die", "destroy", "create", "start", "health_status: healthy"];

interface Round { first: number; all: number; timeline: Record<string, number> }

async function replaceOnce(world: ReturnType<typeof createWorld>, names: string[], image: string): Promise<Round> {
  expectOk(pulumi(world, ["config", "set", "--path", "platform:edge.image", image]), "pulumi config set");
  const events = spawn("docker", ["events", "--filter", `container=${edgeContainer()}`, "--format", "{{.TimeNano}} {{.Action}}"]);
  const seen: string[] = [];
  events.stdout.on("data", (chunk: Buffer) => seen.push(...chunk.toString().trim().split("\n")));
  const replacing = pulumiAsync(world, ["up", "--yes", "--skip-preview"]);
  const outage = await probeOutage(names, replacing);
  expectOk(await replacing, "pulumi up (edge replaced)");
  events.kill();
  if (outage.start === undefined) throw new Error("no failed request seen: was Traefik replaced?");
  if (outage.missing > 0) throw new Error(`${outage.missing} tenant(s) not back after 180 s`);
  const outageStart = outage.start;
  const timeline: Record<string, number> = {};
  for (const line of seen) {
    const [nanos, ...action] = line.split(" ");
    const name = action.join(" ");
    if (ENGINE_EVENTS.includes(name) && timeline[name] === undefined) timeline[name] = (Number(nanos) / 1e6 - outageStart) / 1000;
  }
  return { first: outage.first, all: outage.all, timeline };
}

async function main() {
  const world = createWorld();
  let load = loadavg()[0]!;
  const loadSampler = setInterval(() => (load = Math.max(load, loadavg()[0]!)), 5000);
  const rounds: Round[] = [];
  let image = "";
  try {
    for (const file of readdirSync(world.tenantsDir)) rmSync(path.join(world.tenantsDir, file));
    const names = Array.from({ length: TENANTS }, (_, i) => `t${String(i).padStart(3, "0")}`);
    for (const name of names)
      addTenant(world, `${name}.yaml`, `name: ${name}\nservices:\n  web:\n    image: registry.example.com/e2e/demo:1\n    port: 8080\n    routes: []\n    healthcheck: { path: /health, interval: ${HEALTH_INTERVAL}s, timeout: 2s, retries: 3, startPeriod: 30s }\n`);
    console.log(`bench: up of ${TENANTS} tenants`);
    expectOk(up(world), "pulumi up (all tenants)");
    image = docker(["inspect", "-f", "{{.Config.Image}}", edgeContainer()]).stdout;
    expectOk(docker(["tag", image, `${image}-bench`]), "docker tag");
    for (let round = 0; round < ROUNDS; round++) {
      rounds.push(await replaceOnce(world, names, round % 2 === 0 ? `${image}-bench` : image));
      console.log(`bench: round ${round + 1}: ${JSON.stringify(rounds.at(-1))}`);
    }
  } finally {
    clearInterval(loadSampler);
    destroyWorld(world);
    if (image) docker(["rmi", `${image}-bench`]);
  }
  writeSection(rounds, load);
}

function writeSection(rounds: Round[], load: number): void {
  const at = (r: Round, event: string) => (r.timeline[event] === undefined ? "–" : `${r.timeline[event]!.toFixed(1)} s`);
  const rows = rounds.map((r, i) => `| ${i + 1} | ${r.first.toFixed(1)} s | ${r.all.toFixed(1)} s | ${ENGINE_EVENTS.map((e) => at(r, e)).join(" | ")} |`);
  const sorted = (key: "first" | "all") => rounds.map((r) => r[key]).sort((a, b) => a - b);
  const median = (values: number[]) => values[Math.floor(values.length / 2)]!;
  const section = `${SECTION}

Written by \`npm run bench:edge-replacement\` (bench/edge-replacement.ts) on ${new Date().toISOString().slice(0, 10)}: ${TENANTS} web tenants
(health checks every ${HEALTH_INTERVAL} s), Traefik's image tag changed ${rounds.length} times, every tenant probed in turn through
the edge (1 s timeout). Times from the first failed request; the engine's events of the Traefik container on the
same clock. Peak 1-minute load average during the run: ${load.toFixed(1)} (2 cores).
Median: first tenant back after ${median(sorted("first")).toFixed(1)} s, all tenants after ${median(sorted("all")).toFixed(1)} s.

| round | first tenant back | all tenants back | ${ENGINE_EVENTS.join(" | ")} |
|---|---|---|${ENGINE_EVENTS.map(() => "---|").join("")}
${rows.join("\n")}

Reading a row: Traefik keeps serving for up to its 1 s grace after the engine's \`kill\` (SIGTERM), so \`kill\` can
precede the first failure; from \`die\` on, the outage is the old container's removal, the new one's creation and
start, and Traefik reading every container's labels from the engine before it routes (the part that grows with
the number of containers and with the machine's load).
`;
  const previous = existsSync(OUT) ? readFileSync(OUT, "utf8") : "";
  const start = previous.indexOf(`\n${SECTION}\n`);
  let next: string;
  if (start === -1) next = `${previous.trimEnd()}\n\n${section}`;
  else {
    const after = previous.indexOf("\n## ", start + 1);
    next = `${previous.slice(0, start + 1)}${section}${after === -1 ? "" : `\n${previous.slice(after + 1)}`}`;
  }
  writeFileSync(OUT, next);
  console.log(`bench: wrote ${SECTION} in ${OUT}`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
