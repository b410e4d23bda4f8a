import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parse } from "yaml";
import { BENCH_STACKS, generateTenants, PROJECT_ROOT, type GeneratedSet } from "./generate";
import { renderResults, type BenchResults, type ProgramRun, type SizeResult } from "./report";

/**
 * `npm run bench`: validation and whole-program cost for 10, 100 and 1,000 generated tenants, against a bare
 * program declaring the same resources. Every measurement is a fresh process; ours and the baseline alternate.
 *   BENCH_SIZES=10,100   shorter run (results then go to a temp folder, not bench/)
 *   BENCH_RUNS=3         measured runs per size and program (after one warm-up run of ours)
 */

const DEFAULT_SIZES = [10, 100, 1000];
const sizes = (process.env.BENCH_SIZES ?? DEFAULT_SIZES.join(",")).split(",").map((s) => Number(s.trim()));
const runs = Number(process.env.BENCH_RUNS ?? 3);
// The baseline at Pulumi's defaults needs minutes for 1,000 tenants (if it finishes at all); fewer runs keep
// `npm run bench` within ~10 minutes on 2 cores. Its spread is reported, so a single run is visible as such.
const largeBaselineRuns = Number(process.env.BENCH_LARGE_BASELINE_RUNS ?? 1);
const timeoutMs = Number(process.env.BENCH_TIMEOUT_S ?? 600) * 1000;
// At Pulumi's defaults the baseline does not get through 1,000 tenants in reasonable time (see RESULTS.md): it is
// stopped after this long and reported as "did not finish", the ratio as an upper bound.
const largeBaselineTimeoutMs = Number(process.env.BENCH_LARGE_BASELINE_TIMEOUT_S ?? 240) * 1000;
const profileSize = Number(process.env.BENCH_PROFILE_SIZE ?? 100);
const loadAtStart = os.loadavg()[0]!;
const BENCH_DIR = __dirname;
const BASELINE_DIR = path.join(BENCH_DIR, "baseline");
const fullRun = sizes.join(",") === DEFAULT_SIZES.join(",");
const outDir = process.env.BENCH_OUT ?? (fullRun ? BENCH_DIR : path.join(os.tmpdir(), "platform-bench-results"));

/** The nodejs runtime options Pulumi reads from a Pulumi.yaml (`runtime.options`). */
interface RuntimeOptions {
  typescript: boolean;
  nodeargs: string[];
  tsconfig?: string;
}

function runtimeOptions(projectDir: string): RuntimeOptions {
  const project = parse(readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { runtime: string | { options?: Record<string, unknown> } };
  const options = typeof project.runtime === "string" ? {} : (project.runtime.options ?? {});
  return {
    // The language host's defaults: TypeScript on, no node arguments, tsconfig.json in the project.
    typescript: options.typescript !== false,
    nodeargs: typeof options.nodeargs === "string" ? options.nodeargs.split(/\s+/).filter(Boolean) : [],
    ...(typeof options.tsconfig === "string" ? { tsconfig: options.tsconfig } : {}),
  };
}

interface Program {
  label: "ours" | "baseline";
  dir: string;
  project: string;
  options: RuntimeOptions;
}

const ours: Program = { label: "ours", dir: PROJECT_ROOT, project: "platform", options: runtimeOptions(PROJECT_ROOT) };
const baseline: Program = { label: "baseline", dir: BASELINE_DIR, project: "baseline", options: runtimeOptions(BASELINE_DIR) };

interface ChildReport {
  resources: number;
  byType: Record<string, number>;
  maxRssMb: number;
  errors: string[];
}

/** Starts bench/pulumi-run.cjs as the nodejs language host starts cmd/run: node args, env, cwd = the project. */
function runProgram(
  program: Program,
  config: Record<string, unknown>,
  reportFile: string,
  { extraArgs = [], timeout = timeoutMs }: { extraArgs?: string[]; timeout?: number } = {},
): Promise<ProgramRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing from this shell may change how the child runs: only what Pulumi.yaml says.
  for (const key of Object.keys(env)) if (key.startsWith("PULUMI_") || key.startsWith("TS_NODE_") || key === "NODE_OPTIONS") delete env[key];
  Object.assign(env, {
    PULUMI_NODEJS_TYPESCRIPT: String(program.options.typescript),
    ...(program.options.tsconfig ? { PULUMI_NODEJS_TSCONFIG_PATH: program.options.tsconfig } : {}),
    PULUMI_NODEJS_PROJECT: program.project,
    PULUMI_NODEJS_STACK: "production",
    // As the language host sets it: both programs declare a StackReference (ours to its own outputs) named with it.
    PULUMI_NODEJS_ORGANIZATION: "organization",
    PULUMI_NODEJS_DRY_RUN: "true",
    // Config as the language host passes it: every value a string, structured values as JSON.
    PULUMI_CONFIG: JSON.stringify(
      Object.fromEntries(Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)])),
    ),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(Object.keys(config).filter((key) => key === "platform:secrets")),
    BENCH_REPORT_FILE: reportFile,
    // ts-node keeps compiled files (and so skips type-checking) in a cache under the temp folder. A CI runner starts
    // with an empty one; so does every run here, for ours and the baseline alike.
    TS_NODE_CACHE_DIRECTORY: mkdtempSync(path.join(path.dirname(reportFile), "ts-node-")),
  });
  rmSync(reportFile, { force: true });
  const args = [...program.options.nodeargs, ...extraArgs, path.join(BENCH_DIR, "pulumi-run.cjs")];
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd: program.dir, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - start);
      const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, "utf8")) as ChildReport) : undefined;
      if (report && code === 0 && report.errors.length === 0) {
        resolve({ ok: true, ms, resources: report.resources, byType: report.byType, maxRssMb: report.maxRssMb });
      } else {
        const reason = signal === "SIGKILL" ? `stopped at the ${timeout / 1000} s limit` : `exit ${code ?? signal}`;
        const detail = report?.errors[0] ?? stderr.trim().split("\n").slice(-3).join(" ");
        resolve({ ok: false, ms, resources: report?.resources ?? 0, byType: report?.byType ?? {}, maxRssMb: report?.maxRssMb ?? 0, failure: `${reason}: ${detail}`.slice(0, 600) });
      }
    });
  });
}

function runValidation(set: GeneratedSet): Promise<{ validateMs: number; maxRssMb: number; files: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(BENCH_DIR, "validate-child.ts"), set.dir], {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as { validateMs: number; maxRssMb: number; files: number }) : reject(new Error(`validation child exited ${code}`))));
  });
}

/** The platform's `platform:*` config for the production stack, keyed as Pulumi passes it. */
function platformConfig(set: GeneratedSet): Record<string, unknown> {
  return Object.fromEntries(Object.entries(set.config.production).map(([key, value]) => [`platform:${key}`, value]));
}

/** Custom resources only: the baseline declares those; components and the stack are the program's own structure. */
function customCounts(byType: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(byType).filter(([type]) => !type.startsWith("platform:") && type !== "pulumi:pulumi:Stack"));
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
};

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), "platform-bench-"));
  const started = performance.now();
  const results: SizeResult[] = [];
  log(`sizes ${sizes.join(", ")}; ${runs} run(s) each; temp folder ${root}`);
  log(`ours: ${JSON.stringify(ours.options)}; baseline: ${JSON.stringify(baseline.options)}`);
  try {
    for (const size of sizes) {
      const set = generateTenants(size, root);
      log(`${size} tenants generated in ${set.tenantsDir}`);

      const validations = [];
      for (let i = 0; i < runs; i++) validations.push(await runValidation(set));
      const validateMs = median(validations.map((v) => v.validateMs));
      log(`validation: ${validations.map((v) => Math.round(v.validateMs)).join(", ")} ms (median ${Math.round(validateMs)})`);

      const report = path.join(root, "report.json");
      const config = platformConfig(set);
      if (results.length === 0) {
        // One unmeasured run first: node, ts-node and the SDK come off disk into the page cache.
        const warm = await runProgram(ours, config, report);
        if (!warm.ok) throw new Error(`our program failed at ${size} tenants: ${warm.failure}`);
        log(`warm-up (ours): ${warm.ms} ms`);
      }

      const oursRuns: ProgramRun[] = [];
      const baselineRuns: ProgramRun[] = [];
      const large = size >= 1000;
      const baselineBudget = large ? Math.min(runs, largeBaselineRuns) : runs;
      for (let i = 0; i < runs; i++) {
        // Alternate who goes first, so drift on a shared machine (other load, page cache) hits both alike. The first
        // run is ours: the baseline declares the resource types and counts that run declared.
        const order: Program[] = i % 2 === 0 ? [ours, baseline] : [baseline, ours];
        for (const program of order) {
          if (program === baseline && baselineRuns.length >= baselineBudget) continue;
          const first = oursRuns[0];
          const run =
            program === ours
              ? await runProgram(ours, config, report)
              : await runProgram(baseline, { "baseline:counts": customCounts(first!.byType) }, report, large ? { timeout: largeBaselineTimeoutMs } : {});
          (program === ours ? oursRuns : baselineRuns).push(run);
          log(`${program.label} run ${i + 1}: ${run.ok ? `${run.ms} ms, ${run.resources} resources, ${run.maxRssMb} MB` : `did not finish after ${run.ms} ms (${run.failure})`}`);
          if (program === ours && (!run.ok || run.resources !== oursRuns[0]!.resources)) throw new Error(`our program failed or changed at ${size} tenants: ${run.failure ?? "resource count differs"}`);
          // Only at the large size may the baseline not finish (stopped at its own time limit, reported as such);
          // below it, a failing baseline is a broken benchmark (say, a resource type the mocks cannot answer), which
          // would otherwise pass as "did not finish" with an upper-bound ratio. So the run stops with its error.
          if (program === baseline && !run.ok && !large) throw new Error(`the baseline failed at ${size} tenants: ${run.failure}`);
          if (program === baseline && run.ok && JSON.stringify(sortKeys(customCounts(run.byType))) !== JSON.stringify(sortKeys(customCounts(first!.byType)))) {
            throw new Error(`baseline declared ${JSON.stringify(run.byType)}, ours ${JSON.stringify(first!.byType)}`);
          }
        }
      }
      const profile = size === profileSize && process.env.BENCH_PROFILE !== "0" ? await profileBaseline(oursRuns[0]!.byType, root) : undefined;
      results.push({
        size,
        validateMs,
        validateRssMb: Math.max(...validations.map((v) => v.maxRssMb)),
        validateRuns: validations.map((v) => v.validateMs),
        ours: oursRuns,
        baseline: baselineRuns,
        byType: oursRuns[0]!.byType,
        ...(profile ? { profile } : {}),
      });
      write(results, started);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  log(`done in ${Math.round((performance.now() - started) / 1000)} s: ${path.join(outDir, "RESULTS.md")}, ${path.join(outDir, "results.json")}`);
}

/**
 * One extra baseline run under --cpu-prof: how much of it is the SDK's stack capture (everything below
 * `debuggablePromise`, where `new Error().stack` is formatted) and how much is GC. Checks the issue's premise on
 * every run instead of trusting it.
 */
async function profileBaseline(byType: Record<string, number>, root: string): Promise<SizeResult["profile"]> {
  const dir = path.join(root, "profile");
  const run = await runProgram(baseline, { "baseline:counts": customCounts(byType) }, path.join(root, "report.json"), {
    extraArgs: ["--cpu-prof", "--cpu-prof-dir", dir],
  });
  const file = run.ok ? readdirSync(dir).find((name) => name.endsWith(".cpuprofile")) : undefined;
  if (!file) return undefined;
  const profile = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as CpuProfile;
  const shares = sampleShares(profile, ["debuggablePromise", "(garbage collector)"]);
  log(`baseline profile: ${Math.round(shares[0]! * 100)} % under debuggablePromise, ${Math.round(shares[1]! * 100)} % GC`);
  return { stackTraceShare: shares[0]!, gcShare: shares[1]!, ms: run.ms };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** For each function name: the share of sampled time spent in it or anything it called. */
function sampleShares(profile: CpuProfile, names: readonly string[]): number[] {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nameOf = new Map(profile.nodes.map((node) => [node.id, node.callFrame.functionName]));
  const time = names.map(() => 0);
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const stack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.add(nameOf.get(at) ?? "");
    names.forEach((name, k) => {
      if (stack.has(name)) time[k]! += dt;
    });
  });
  return time.map((t) => (total > 0 ? t / total : 0));
}

function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function write(results: SizeResult[], started: number): void {
  const bench: BenchResults = {
    machine: {
      nproc: os.availableParallelism(),
      memoryGb: Math.round(os.totalmem() / 1024 ** 3),
      cpu: os.cpus()[0]?.model ?? "unknown",
      node: process.version,
      date: new Date().toISOString().slice(0, 10),
      loadAverage: `${loadAtStart.toFixed(2)} / ${os.loadavg()[0]!.toFixed(2)}`,
    },
    runs,
    largeBaselineRuns,
    largeBaselineTimeoutS: largeBaselineTimeoutMs / 1000,
    totalSeconds: Math.round((performance.now() - started) / 1000),
    stacksValidated: [...BENCH_STACKS],
    ours: ours.options,
    baseline: baseline.options,
    sizes: results,
  };
  const { json, markdown } = renderResults(bench);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(path.join(outDir, "RESULTS.md"), markdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
