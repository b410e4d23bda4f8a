import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { formatDiagnostic } from "../model/diagnostics";
import { readTenantDirectory } from "../model/project-files";
import { validateTenants } from "../model/validate";
import { resolveStack, type StackDefinition } from "../stacks/definition";
import { BENCH_STACKS, type GeneratedSet } from "./generate";

/**
 * One validation measurement in a fresh process (`tsx bench/validate-child.ts <set dir>`): what a PR check pays,
 * cold (no warm-up), against every stack as `npm run validate` checks them. Prints one JSON line.
 */

const dir = process.argv[2];
if (!dir) throw new Error("usage: validate-child.ts <generated set dir>");
const config = JSON.parse(readFileSync(`${dir}/config.json`, "utf8")) as GeneratedSet["config"];
const stacks: StackDefinition[] = BENCH_STACKS.map((name) => {
  const resolved = resolveStack({ name, file: `Pulumi.${name}.yaml`, values: config[name], locate: () => ({ line: 1, column: 1 }) });
  if (!resolved.stack) throw new Error(resolved.diagnostics.map(formatDiagnostic).join("\n"));
  return resolved.stack;
});

const readStart = performance.now();
const files = readTenantDirectory(config.production.tenantsDir as string);
const readMs = performance.now() - readStart;
const start = performance.now();
const cpuStart = process.cpuUsage();
const result = validateTenants({ files, stacks, stackNames: [...BENCH_STACKS].sort() });
const validateMs = performance.now() - start;
// CPU time next to wall time shows how much of a slow run was other load on the machine.
const cpu = process.cpuUsage(cpuStart);
if (result.diagnostics.length > 0) throw new Error(`generated tenants are invalid:\n${result.diagnostics.slice(0, 10).map(formatDiagnostic).join("\n")}`);

console.log(
  JSON.stringify({
    files: files.length,
    readMs,
    validateMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    plans: Object.fromEntries(Object.entries(result.plans).map(([stack, plans]) => [stack, plans.length])),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
