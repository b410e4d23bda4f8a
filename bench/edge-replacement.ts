import { spawn } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import * as path from "node:path";
import { writeReportSection } from "./report-section";
import { addTenant, createWorld, destroyWorld, docker, edgeContainer, expectOk, pulumi, pulumiAsync, STACK, up } from "../test/e2e/harness";
import { type Failure, type FailureKind, probeReplacement } from "./edge-outage";

/**
 * `npm run bench:edge-replacement`: what clients see while Traefik is replaced, at scale. A new Traefik starts beside
 * the old one (`reusePort`) and the old one stops once the new one routes everything (README, "Traefik stays
 * untouched when tenants come and go"), and the keeper's listener pin keeps every new connection on the old one until
 * it stops (components/listener-pin-script.ts). BENCH_TENANTS (default 100) web tenants, BENCH_ROUNDS (default 3)
 * replacements, alternating the edge image between two tags of the same build. During each `pulumi up`, and for one
 * more pass after it, every tenant is probed in turn through the edge on a fresh connection (1 s timeout); every
 * failed request is recorded with its time and kind (Traefik's own 404, another answer, no answer), beside the
 * engine's events of the Traefik containers, followed by their labels (Traefik has no fixed name). A round with no
 * failure is a result, not an error; a tenant that does not answer 200 within 60 s after `up`, or a Traefik that was
 * not replaced, fails the run. Writes the section "## Traefik replacement" of bench/REAL-ENGINE.md. Loopback only;
 * every loop is bounded.
 */

const TENANTS = Number(process.env.BENCH_TENANTS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const OUT = path.join(__dirname, "REAL-ENGINE.md");
const SECTION = "## Traefik replacement";
/** Ten probes a second at most, as in bench/real-engine.ts. */
const HEALTH_INTERVAL = Math.max(1, Math.round(TENANTS / 10));
/** After `up`, how long a tenant may take to answer 200 before the run fails. */
const SETTLE_SECONDS = 60;
/** After `up`, how long to wait for the engine's event that the old Traefik was removed. */
const EVENTS_GRACE_MS = 10_000;
const KINDS: readonly FailureKind[] = ["traefik-404", "answer", "connection"];

interface EngineEvent { at: number; action: string; name: string }

/** The engine's timeline of one replacement, in seconds from the start of `up`; undefined when not seen. */
interface Timeline {
  newCreated?: number;
  newStarted?: number;
  newHealthy?: number;
  oldStopped?: number;
  oldRemoved?: number;
}
const TIMELINE: readonly { key: keyof Timeline; header: string }[] = [
  { key: "newCreated", header: "new Traefik created" },
  { key: "newStarted", header: "started" },
  { key: "newHealthy", header: "healthy" },
  { key: "oldStopped", header: "old Traefik stopped" },
  { key: "oldRemoved", header: "removed" },
];

interface Round {
  oldName: string;
  newName: string;
  /** Seconds the `up` took. */
  upSeconds: number;
  sent: number;
  /** Every failed request; `at` in seconds from the start of `up`. */
  failures: Failure[];
  timeline: Timeline;
}

/**
 * Follows the engine's events of this stack's Traefik containers by their labels, from a second before `sinceMs`
 * (so nothing between the spawn and the first event is lost). The name is the last field, the action (which may hold
 * spaces: `health_status: healthy`) what lies between.
 */
function followTraefikEvents(sinceMs: number): { events: EngineEvent[]; stop: () => void } {
  const child = spawn("docker", [
    "events",
    "--since", String(Math.floor(sinceMs / 1000) - 1),
    "--filter", "label=platform.role=traefik",
    "--filter", `label=platform.stack=${STACK}`,
    "--format", "{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}",
  ]);
  const events: EngineEvent[] = [];
  let partial = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      const fields = line.trim().split(" ");
      if (fields.length < 3) continue;
      events.push({ at: Number(fields[0]) / 1e6, action: fields.slice(1, -1).join(" "), name: fields.at(-1)! });
    }
  });
  child.on("error", (error) => console.error(`bench: docker events: ${error.message}`));
  return { events, stop: () => void child.kill() };
}

function timelineOf(events: readonly EngineEvent[], oldName: string, upStart: number): { newName?: string; timeline: Timeline } {
  const since = (event: EngineEvent | undefined) => (event === undefined ? undefined : (event.at - upStart) / 1000);
  const created = events.find((e) => e.action === "create" && e.name !== oldName && e.at >= upStart);
  const newName = created?.name;
  const ofNew = (action: string) => events.find((e) => e.name === newName && e.action === action && e.at >= created!.at);
  const ofOld = (action: string) => events.find((e) => e.name === oldName && e.action === action && e.at >= upStart);
  return {
    newName,
    timeline: {
      newCreated: since(created),
      newStarted: newName === undefined ? undefined : since(ofNew("start")),
      newHealthy: newName === undefined ? undefined : since(ofNew("health_status: healthy")),
      oldStopped: since(ofOld("die")),
      oldRemoved: since(ofOld("destroy")),
    },
  };
}

async function replaceOnce(world: ReturnType<typeof createWorld>, names: string[], image: string): Promise<Round> {
  expectOk(pulumi(world, ["config", "set", "--path", "platform:edge.image", image]), "pulumi config set");
  const oldName = edgeContainer();
  const upStart = Date.now();
  const follower = followTraefikEvents(upStart);
  let probes: Awaited<ReturnType<typeof probeReplacement>>;
  let upSeconds: number;
  try {
    const replacing = pulumiAsync(world, ["up", "--yes", "--skip-preview"]).then((run) => ((upSeconds = (Date.now() - upStart) / 1000), run));
    probes = await probeReplacement(names, replacing, SETTLE_SECONDS);
    expectOk(await replacing, "pulumi up (edge replaced)");
    const bound = Date.now() + EVENTS_GRACE_MS;
    while (!follower.events.some((e) => e.name === oldName && e.action === "destroy") && Date.now() < bound) await new Promise((r) => setTimeout(r, 100));
  } finally {
    follower.stop();
  }
  const newName = edgeContainer();
  if (newName === oldName || docker(["inspect", oldName]).status === 0) throw new Error(`Traefik was not replaced: ${oldName} is still there`);
  if (probes.missing.length > 0) throw new Error(`${probes.missing.length} tenant(s) did not answer 200 within ${SETTLE_SECONDS} s after up: ${probes.missing.join(", ")}`);
  const { newName: created, timeline } = timelineOf(follower.events, oldName, upStart);
  if (created !== undefined && created !== newName) console.log(`bench: the engine created ${created}, the stack's Traefik is ${newName}`);
  const failures = probes.failures.map((f) => ({ ...f, at: (f.at - upStart) / 1000 }));
  return { oldName, newName, upSeconds: upSeconds!, sent: probes.sent, failures, timeline };
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
      const r = await replaceOnce(world, names, round % 2 === 0 ? `${image}-bench` : image);
      rounds.push(r);
      console.log(`bench: round ${round + 1}: ${r.oldName} -> ${r.newName}, up ${r.upSeconds.toFixed(1)} s, ${r.failures.length} of ${r.sent} requests failed, engine ${JSON.stringify(r.timeline)}`);
      for (const f of r.failures) console.log(`bench:   ${f.at.toFixed(3)} s ${f.tenant} ${f.kind} ${f.detail}`);
    }
  } finally {
    clearInterval(loadSampler);
    destroyWorld(world);
    if (image) docker(["rmi", `${image}-bench`]);
  }
  writeSection(rounds, load);
}

/** The middle value (the mean of the two middle ones for an even count); undefined for none. */
function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function writeSection(rounds: Round[], load: number): void {
  const s = (value: number | undefined, digits = 1) => (value === undefined ? "–" : `${value.toFixed(digits)} s`);
  const count = (value: number | undefined) => (value === undefined ? "–" : String(Math.round(value * 10) / 10));
  const ofKind = (r: Round, kind: FailureKind) => r.failures.filter((f) => f.kind === kind).length;
  const span = (r: Round) => (r.failures.length === 0 ? undefined : { first: Math.min(...r.failures.map((f) => f.at)), last: Math.max(...r.failures.map((f) => f.at)) });
  const windowOf = (r: Round) => {
    const w = span(r);
    return w === undefined ? "none" : `${w.first.toFixed(2)}–${w.last.toFixed(2)} s (${(w.last - w.first).toFixed(2)} s)`;
  };
  const rows = rounds.map((r, i) =>
    [i + 1, r.sent, r.failures.length, ...KINDS.map((k) => ofKind(r, k)), windowOf(r), ...TIMELINE.map((t) => s(r.timeline[t.key])), s(r.upSeconds)].join(" | "),
  );
  const medianRow = [
    "median",
    count(median(rounds.map((r) => r.sent))),
    count(median(rounds.map((r) => r.failures.length))),
    ...KINDS.map((k) => count(median(rounds.map((r) => ofKind(r, k))))),
    `${s(median(rounds.map((r) => { const w = span(r); return w === undefined ? 0 : w.last - w.first; })), 2)} window`,
    ...TIMELINE.map((t) => s(median(rounds.flatMap((r) => (r.timeline[t.key] === undefined ? [] : [r.timeline[t.key]!]))))),
    s(median(rounds.map((r) => r.upSeconds))),
  ].join(" | ");
  const headers = ["round", "requests", "failed", "Traefik's 404", "other answer", "no answer", "failures: first–last (window)", ...TIMELINE.map((t) => t.header), "`up` done"];
  const details = rounds.flatMap((r, i) => {
    const counts = new Map<string, number>();
    for (const f of r.failures.filter((f) => f.kind !== "traefik-404")) counts.set(f.detail, (counts.get(f.detail) ?? 0) + 1);
    return counts.size === 0 ? [] : [`round ${i + 1}: ${[...counts].map(([detail, n]) => `${detail} ×${n}`).join(", ")}`];
  });
  const section = `${SECTION}

Written by \`npm run bench:edge-replacement\` (bench/edge-replacement.ts) on ${new Date().toISOString().slice(0, 10)}: ${TENANTS} web tenants
(health checks every ${HEALTH_INTERVAL} s), Traefik's image tag changed ${rounds.length} times; the new Traefik starts beside the old one
and the old one stops once the new one routes everything (README, "Traefik stays untouched when tenants come and go").
While each \`pulumi up\` ran, and for one more pass after it, every tenant was probed in turn through the edge on a
fresh connection (1 s timeout); a failed request is Traefik's own \`404 page not found\`, another answer than 200 (the
app's, or a 5xx from Traefik), or no answer (refused, reset, or none within 1 s). Times in seconds from the start of
\`up\`, a failure's at the moment it was sent; the engine's events of the Traefik containers (found by their
\`platform.role=traefik\` label: Traefik has no fixed name) on the same clock. Peak 1-minute load average during the
run: ${load.toFixed(1)} (${cpus().length} cores).

| ${headers.join(" | ")} |
|${headers.map(() => "---|").join("")}
${[...rows, medianRow].map((row) => `| ${row} |`).join("\n")}

Other answers and no answers, by status or error: ${details.length === 0 ? "none" : details.join("; ")}.

Reading a row: both Traefiks listen with \`reusePort\`, and the edge keeper pinned each public port to its oldest
listener (components/listener-pin-script.ts), so the old Traefik takes every new connection until it stops and the
new one none before that. Pulumi stops the old one only after the handover saw every router in 20 answers in a row
from the shared API; the old one then finishes its requests in flight (up to 10 s, hence the gap between the new
one's start and the old one's stop), and the connections still queued on its listeners move to the new one. Before
the pin (2026-12-07, 3 tenants) the new one took part of the new connections as soon as it listened and answered
them with its own 404 until its Docker provider had loaded its routes: 1 to 4 of 600 failed. The median window counts a round
without a failure as 0 s. Before this design (2026-11-24, 100 tenants, this script then measuring an outage), every
tenant failed from the old Traefik's stop until the new one routed: first tenant back after a median 2.7 s, all
after 3.3 s.
`;
  writeReportSection(OUT, section);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
