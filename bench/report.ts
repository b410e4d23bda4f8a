/** Turns measurements into bench/results.json (for tools) and bench/RESULTS.md (for people). */

export interface ProgramRun {
  ok: boolean;
  /** Wall time of the whole process: node start, TypeScript loader, program, every registration answered. */
  ms: number;
  resources: number;
  byType: Record<string, number>;
  maxRssMb: number;
  failure?: string;
}

export interface SizeResult {
  size: number;
  validateMs: number;
  validateRssMb: number;
  validateRuns: number[];
  ours: ProgramRun[];
  baseline: ProgramRun[];
  byType: Record<string, number>;
  /** Share of the baseline's CPU profile in SDK stack-trace capture and in GC, where profiled. */
  profile?: { stackTraceShare: number; gcShare: number; ms: number };
}

export interface RuntimeDescription {
  typescript: boolean;
  nodeargs: string[];
  tsconfig?: string;
}

export interface BenchResults {
  machine: { nproc: number; memoryGb: number; cpu: string; node: string; date: string; loadAverage: string };
  runs: number;
  largeBaselineRuns: number;
  largeBaselineTimeoutS: number;
  totalSeconds: number;
  stacksValidated: string[];
  ours: RuntimeDescription;
  baseline: RuntimeDescription;
  sizes: SizeResult[];
}

type BySize<T> = Record<string, T>;
export interface ResultsJson {
  sizes: number[];
  validate_ms: BySize<number>;
  program_ms: BySize<number | null>;
  baseline_ms: BySize<number | null>;
  overhead_ratio: BySize<number | null>;
  resources: BySize<number>;
  peak_rss_mb: BySize<number | null>;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

const okMs = (runs: readonly ProgramRun[]) => runs.filter((r) => r.ok).map((r) => r.ms);
const round2 = (n: number) => Math.round(n * 100) / 100;
const seconds = (ms: number | null) => (ms === null ? "n/a" : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);
const components = (byType: Record<string, number>) =>
  Object.entries(byType).filter(([type]) => type.startsWith("platform:") || type === "pulumi:pulumi:Stack").reduce((n, [, c]) => n + c, 0);

export function renderResults(bench: BenchResults): { json: ResultsJson; markdown: string } {
  const json: ResultsJson = { sizes: [], validate_ms: {}, program_ms: {}, baseline_ms: {}, overhead_ratio: {}, resources: {}, peak_rss_mb: {} };
  const rows: string[] = [];
  const notes: string[] = [];
  for (const s of bench.sizes) {
    const key = String(s.size);
    const ours = median(okMs(s.ours));
    const base = median(okMs(s.baseline));
    const ratio = ours !== null && base !== null ? round2(ours / base) : null;
    const peak = s.ours.some((r) => r.ok) ? Math.max(...s.ours.filter((r) => r.ok).map((r) => r.maxRssMb)) : null;
    const resources = s.ours.find((r) => r.ok)?.resources ?? 0;
    json.sizes.push(s.size);
    json.validate_ms[key] = Math.round(s.validateMs);
    json.program_ms[key] = ours;
    json.baseline_ms[key] = base;
    json.overhead_ratio[key] = ratio;
    json.resources[key] = resources;
    json.peak_rss_mb[key] = peak;

    const failed = s.baseline.filter((r) => !r.ok);
    const baseCell =
      base !== null
        ? `${seconds(base)} (${(base / Math.max(1, resources - components(s.byType))).toFixed(1)} ms/resource)`
        : failed.length > 0
          ? `did not finish: ${failed[0]!.failure?.split(":")[0]} after ${seconds(failed[0]!.ms)}`
          : "not run";
    const ratioCell = ratio !== null ? ratio.toFixed(2) : ours !== null && failed.length > 0 ? `< ${round2(ours / failed[0]!.ms).toFixed(2)}` : "n/a";
    const spread = (runs: readonly ProgramRun[]) => {
      const ms = okMs(runs);
      return ms.length > 1 ? ` [${seconds(Math.min(...ms))}–${seconds(Math.max(...ms))}]` : "";
    };
    const baseRss = s.baseline.filter((r) => r.ok).map((r) => r.maxRssMb);
    rows.push(
      `| ${s.size} | ${resources} (${components(s.byType)} components) | ${Math.round(s.validateMs)} ms (${(s.validateMs / s.size).toFixed(2)} ms/tenant, ${s.validateRssMb} MB) ` +
        `| ${seconds(ours)}${spread(s.ours)} (${ours === null ? "n/a" : (ours / s.size).toFixed(0)} ms/tenant) | ${baseCell}${spread(s.baseline)} | **${ratioCell}** ` +
        `| ${peak ?? "n/a"} MB / ${baseRss.length > 0 ? `${Math.max(...baseRss)} MB` : "n/a"} |`,
    );
    for (const run of failed) notes.push(`- Baseline at ${s.size} tenants: ${run.failure} (after ${seconds(run.ms)}).`);
    if (s.profile)
      notes.push(
        `- CPU profile of the baseline at ${s.size} tenants (${seconds(s.profile.ms)}): ${Math.round(s.profile.stackTraceShare * 100)} % of samples inside the SDK's ` +
          `\`debuggablePromise\` (its \`new Error().stack\`, formatted through ts-node's source-map-support), ${Math.round(s.profile.gcShare * 100)} % in GC.`,
      );
  }

  const m = bench.machine;
  const describe = (r: RuntimeDescription) =>
    `typescript: ${r.typescript}${r.tsconfig ? `, tsconfig: ${r.tsconfig}` : ""}, nodeargs: ${r.nodeargs.length > 0 ? `\`${r.nodeargs.join(" ")}\`` : "(none)"}`;
  const markdown = `# Benchmark results

Written by \`npm run bench\` (bench/bench.ts); do not edit by hand. ${bench.runs} measured run(s) per size and
program after one warm-up run, ours and the baseline alternating, medians, [min–max] where there was more than one
run. At 1,000 tenants the baseline runs ${bench.largeBaselineRuns} time(s) and is stopped after
${bench.largeBaselineTimeoutS} s (\`BENCH_LARGE_BASELINE_TIMEOUT_S\`); a stopped run gives an upper bound for the ratio.

| machine | |
| --- | --- |
| nproc | ${m.nproc} |
| memory | ${m.memoryGb} GB |
| CPU | ${m.cpu} |
| node | ${m.node} |
| date | ${m.date} |
| load average (1 min) at start / end | ${m.loadAverage} (a shared machine: other work inflates every number alike) |
| whole benchmark | ${bench.totalSeconds} s |

| tenants | resources declared | validation | our program | baseline (Pulumi defaults) | ours / baseline | peak RSS ours / baseline |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

${notes.join("\n")}

## What is measured

- **Tenant sets**: generated into a temp folder by bench/generate.ts, four shapes modelled on the seed tenants
  (2-4 services, replicas, custom domains, secrets set in the stack config, Postgres for all, Redis for half,
  overrides for staging, a routed service on the second production host). All valid.
- **Validation**: \`validateTenants\` from model/validate.ts (YAML with locations, schema, per-stack overrides, stack
  rules, cross-file rules) against the ${bench.stacksValidated.join(" and ")} stacks, as \`npm run validate\` checks
  them; cold, in a fresh process per run, as in a PR check (reading the files is not included: about 15 ms for
  1,000). About two thirds of it is the \`yaml\` library, which gives every error its exact line and column.
- **Our program**: index.ts for the production stack under Pulumi's mocks (a preview), started as the nodejs
  language host starts it, with the runtime options in our Pulumi.yaml (${describe(bench.ours)}):
  \`node <nodeargs> bench/pulumi-run.cjs\`, which does what @pulumi/pulumi's cmd/run entry point does before it
  connects to an engine, then calls the SDK's own \`run()\` (ts-node registration, source maps, the root stack).
  Wall time of the whole process until every registration is answered; peak RSS of that process. Resources
  declared include the components and the stack.
- **Baseline**: bench/baseline, a bare program declaring the same custom resources (same types and counts, plain
  loops, constant inputs, no components), run with Pulumi's defaults (${describe(bench.baseline)}: ts-node
  type-checks, Pulumi's template tsconfig) under the same mocks. The count includes our program's
  StackReference to its own outputs (the database memory), which the mocks answer with no outputs, as on a first
  deployment; the baseline declares it too.
- Every run starts with an empty ts-node cache, as on a CI runner. (On a laptop, ts-node's cache in the temp
  folder skips compiling and type-checking unchanged files, about 2.5 s per run for either program.)

## How our program runs, and what that trades away

Chosen by measurement; set in Pulumi.yaml \`runtime.options\`:

- \`nodeargs: --stack-trace-limit=0\`: the SDK captures \`new Error().stack\` for every internal promise (dozens
  per resource) and ts-node maps each frame through source maps: most of the baseline's time and much of its
  memory. Traded away: stack frames in errors the program throws (the message stays, \`pulumi\` still names the
  resource that failed, and the SDK still records each resource's source position, which it captures with its own
  limit). Validation errors do not change: they come from the tenant files, exact \`file:line:column key.path\`.
- \`--max-semi-space-size=64\`: fewer young-generation GCs for the SDK's short-lived promises (about 10 % at 100
  tenants, 25 % at 1,000).
- \`--max-old-space-size=8192\`: Node's default heap (about 4 GB here) holds 1,000 tenants only by spending most of
  the run in full GCs (1.6x slower); about 6 GB of RSS is what 1,000 tenants need.
- \`tsconfig: tsconfig.pulumi.json\` (\`noCheck\`): ts-node transpiles without type-checking, about 2.5 s and
  170 MB less per run with an empty cache. Traded away: type errors at preview time; CI type-checks every change
  (\`npm run typecheck\`), so main never holds a type error.
`;
  return { json, markdown };
}
