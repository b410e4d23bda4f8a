import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import * as path from "node:path";
import { probeOutage } from "./edge-outage";
import {
  addTenant, createWorld, destroyWorld, docker, edgeContainer, expectOk, get, pulumi, pulumiAsync, tenantHost, up, type World,
} from "../test/e2e/harness";

/**
 * `npm run bench:real-engine`: what a deployment costs on a real engine (the e2e stack's configuration, our
 * toolchain or the official one), for BENCH_TENANTS (default 10,100) web tenants. Writes bench/REAL-ENGINE.md.
 * Loopback only; every loop is bounded. Takes about 15 minutes for 10 and 100 tenants on 2 cores.
 */

const SIZES = (process.env.BENCH_TENANTS ?? "10,100").split(",").map(Number);
const OUT = path.join(__dirname, "REAL-ENGINE.md");

/**
 * Every health probe is a `docker exec` costing the engine tens of milliseconds of CPU: the interval grows with the
 * tenant count so the engine runs about ten probes a second (1 s for 10 tenants, 10 s for 100), as a host of that
 * size should be configured. On engines without a start interval (20.10) a new container's first probe waits one
 * interval, which the "up of that tenant" figure includes.
 */
const healthInterval = (tenants: number) => Math.max(1, Math.round(tenants / 10));

const tenantFile = (name: string, tag: string, interval: number) => `name: ${name}
services:
  web:
    image: registry.example.com/e2e/demo:${tag}
    port: 8080
    routes: []
    healthcheck: { path: /health, interval: ${interval}s, timeout: 2s, retries: 3, startPeriod: 30s }
`;

interface Row { tenants: number; interval: number; load: number; upAll: number; preview: number; previewPeakMb: number; newTenant: number; imageChange: number; edgeFirst: number; edgeAll: number }

async function measure(tenants: number): Promise<Row> {
  // Other work on the machine slows every figure: the highest 1-minute load average seen is part of the row.
  let load = loadavg()[0]!;
  const loadSampler = setInterval(() => (load = Math.max(load, loadavg()[0]!)), 5000);
  const world = createWorld();
  try {
    for (const file of readdirSync(world.tenantsDir)) rmSync(path.join(world.tenantsDir, file));
    const interval = healthInterval(tenants);
    const names = Array.from({ length: tenants }, (_, i) => `t${String(i).padStart(3, "0")}`);
    for (const name of names) addTenant(world, `${name}.yaml`, tenantFile(name, "1", interval));
    const upAll = await timed(async () => expectOk(up(world), "pulumi up (all tenants)"));

    addTenant(world, "newcomer.yaml", tenantFile("newcomer", "1", interval));
    const { seconds: preview, peakMb: previewPeakMb } = await withPeakMemory(() => pulumiAsync(world, ["preview"]));
    const newTenant = await timed(async () => {
      expectOk(up(world), "pulumi up (one new tenant)");
      await until(async () => (await get(tenantHost("newcomer"))).status === 200, 120);
    });
    addTenant(world, "newcomer.yaml", tenantFile("newcomer", "2", interval));
    const imageChange = await timed(async () => expectOk(up(world), "pulumi up (one image change)"));

    const outage = await edgeReplacementOutage(world, [...names, "newcomer"]);
    return { tenants, interval, load, upAll, preview, previewPeakMb, newTenant, imageChange, ...outage };
  } finally {
    clearInterval(loadSampler);
    destroyWorld(world);
  }
}

/** Replaces Traefik (a new image tag of the same build) while every tenant is probed in turn. */
async function edgeReplacementOutage(world: World, names: string[]): Promise<{ edgeFirst: number; edgeAll: number }> {
  // Found by its role label: Traefik is named anew at each replacement.
  const image = docker(["inspect", "-f", "{{.Config.Image}}", edgeContainer()]).stdout;
  docker(["tag", image, `${image}-bench`]);
  expectOk(pulumi(world, ["config", "set", "--path", "platform:edge.image", `${image}-bench`]), "pulumi config set");
  const replacing = pulumiAsync(world, ["up", "--yes", "--skip-preview"]);
  const outage = await probeOutage(names, replacing, 300);
  expectOk(await replacing, "pulumi up (edge replaced)");
  docker(["rmi", `${image}-bench`]);
  return { edgeFirst: outage.first, edgeAll: outage.all };
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = Date.now();
  await work();
  return (Date.now() - started) / 1000;
}

/**
 * Peak resident memory of this process's descendants (the pulumi CLI, language host, node and plugins): one `ps` of
 * every process per tick, never two at once, the tree summed here.
 */
async function withPeakMemory(work: () => Promise<{ status: number }>): Promise<{ seconds: number; peakMb: number }> {
  let peakKb = 0;
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    const ps = spawn("ps", ["-e", "-o", "pid=,ppid=,rss="]);
    let out = "";
    ps.stdout.on("data", (c: Buffer) => (out += c.toString()));
    ps.on("close", () => {
      sampling = false;
      const rows = out.trim().split("\n").map((line) => line.trim().split(/\s+/).map(Number) as [number, number, number]);
      const inTree = new Set([process.pid]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [pid, ppid] of rows) if (inTree.has(ppid) && !inTree.has(pid)) (inTree.add(pid), (grew = true));
      }
      const kb = rows.filter(([pid]) => pid !== process.pid && inTree.has(pid)).reduce((sum, [, , rss]) => sum + rss, 0);
      peakKb = Math.max(peakKb, kb);
    });
  }, 250);
  const started = Date.now();
  try {
    const result = await work();
    if (result.status !== 0) throw new Error("pulumi preview failed");
    return { seconds: (Date.now() - started) / 1000, peakMb: Math.round(peakKb / 1024) };
  } finally {
    clearInterval(sampler);
  }
}

async function until(check: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready after ${seconds}s`);
}

async function main() {
  const rows: Row[] = [];
  for (const size of SIZES) {
    console.log(`bench: ${size} tenants`);
    rows.push(await measure(size));
    console.log(JSON.stringify(rows.at(-1)));
  }
  const measured = rows.map((r) =>
    `| ${r.tenants} | ${r.interval} s | ${r.load.toFixed(1)} | ${r.upAll.toFixed(0)} s | ${r.preview.toFixed(1)} s | ${r.previewPeakMb} MB | ${r.newTenant.toFixed(1)} s | ${r.imageChange.toFixed(1)} s | ${r.edgeFirst.toFixed(1)} s | ${r.edgeAll.toFixed(1)} s |`,
  );
  // Sections (`## …`) come from elsewhere (cold builds from `.ci/run`'s step times, other benches): kept as they are.
  const previous = existsSync(OUT) ? readFileSync(OUT, "utf8") : "";
  // Rows of sizes not measured this time stay (BENCH_TENANTS=10 must not erase the 100-tenant row).
  const keptRows = previous.split("\n").filter((line) => {
    const size = /^\| (\d+) \| /.exec(line)?.[1];
    return size !== undefined && !SIZES.includes(Number(size));
  });
  const table = [...measured, ...keptRows].sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
  const kept = previous.includes("\n## ") ? previous.slice(previous.indexOf("\n## ") + 1) : "";
  writeFileSync(OUT, `${HEADER}\n| tenants | health-check interval | peak load (1 min) | up, all | preview, one tenant added | its peak memory | up of that tenant until it answers | one image change | Traefik replaced: first tenant back | all tenants back |\n|---|---|---|---|---|---|---|---|---|---|\n${table.join("\n")}\n\n${FOOTER}${kept ? `\n${kept}` : ""}`);
  console.log(`bench: wrote ${OUT}`);
}

const HEADER = `# Real-engine figures

Written by \`npm run bench:real-engine\` (bench/real-engine.ts) on ${new Date().toISOString().slice(0, 10)}: the e2e stack's
configuration (dev settings, Docker Engine ${docker(["version", "-f", "{{.Server.Version}}"]).stdout}, ${process.env.BENCH_TOOLCHAIN ?? "toolchain from .engine/bin"}) on a
2-core machine, with generated web-only tenants (the demo app; health-check interval per row, see the script).
\`npm run bench\` does not touch this file.
`;
const FOOTER = `"Traefik replaced" changes the edge image tag and measures, from the first failed request, when the first and
the last tenant answer again (every tenant probed in turn through the edge, 1 s timeout per request). Traefik shares
the network namespace of the edge's pause container, which holds the published ports and every tenant's network
attachment, so a new Traefik is a process restart: the engine tears down no network endpoint and no tenant
re-attaches, and the outage does not grow with the number of tenants.
`;

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
