import { z } from "zod";
import { runPulumi, type Toolchain } from "../devstack/toolchain";

/**
 * What the stack's last `pulumi up` deployed, from its outputs (index.ts: `tenants`, `edges`). Read loosely: a key
 * added to the outputs later must not break status, and a state written before a key existed still reads.
 */
const tenantSchema = z.object({
  homeHost: z.string(),
  retiring: z.boolean().default(false),
  urls: z.array(z.string()).default([]),
  services: z.record(z.string(), z.object({ host: z.string(), replicas: z.number().int().min(0), image: z.string() })).default({}),
  databaseVolume: z.string().nullable().default(null),
  // Absent in states written before these outputs existed (undefined: not known).
  databaseContainer: z.string().nullable().optional(),
  cacheContainer: z.string().nullable().optional(),
});
const deploymentSchema = z.object({
  tenants: z.record(z.string(), tenantSchema).default({}),
  edges: z
    .record(
      z.string(),
      // `monitoring`: the monitoring stack's containers on that host (docs/monitoring.md), by role; absent when off.
      // `container`: Traefik's fixed name in states written before Traefik was found by its `platform.role` label.
      z.object({ dockerHost: z.string(), container: z.string().optional(), monitoring: z.record(z.string(), z.string()).default({}) }),
    )
    .default({}),
});

export type Deployment = z.infer<typeof deploymentSchema>;
export type DeployedTenant = z.infer<typeof tenantSchema>;

/**
 * The Docker containers the stack's state holds (type docker:index/container:Container): what `pulumi up` created and
 * will update or delete. A container labelled for the stack that is not among them is one a killed run left.
 */
export interface StateContainers {
  /** Their Docker ids, including containers marked for deletion (the state still knows them). */
  ids: string[];
  /** Names of containers whose create the state records as pending (a run still going, or one that was killed). */
  pendingCreates: string[];
}

export type DeploymentRead =
  | { kind: "deployed"; deployment: Deployment; containers: StateContainers }
  /** The backend has no such stack, or it was never brought up (no outputs). */
  | { kind: "no-state"; reason: string }
  | { kind: "error"; message: string };

export const CONTAINER_TYPE = "docker:index/container:Container";
const STACK_TYPE = "pulumi:pulumi:Stack";

/** `pulumi stack export`, read loosely: only what status uses. Secrets stay encrypted (no --show-secrets). */
const resourceSchema = z.looseObject({
  type: z.string(),
  id: z.string().optional(),
  inputs: z.record(z.string(), z.unknown()).nullish(),
  outputs: z.record(z.string(), z.unknown()).nullish(),
});
const exportSchema = z.looseObject({
  deployment: z.looseObject({
    resources: z.array(resourceSchema).nullish(),
    pending_operations: z.array(z.looseObject({ type: z.string(), resource: resourceSchema })).nullish(),
  }),
});

/**
 * One `pulumi stack export` (not `stack output`): the stack's outputs are its root resource's, and the same read
 * names every container the state holds, so finding what a killed run left costs no second CLI run. `stack output`
 * downloads the same checkpoint, so this is no slower.
 */
export function readDeployment(toolchain: Toolchain, projectDir: string, stack: string): DeploymentRead {
  const run = runPulumi(toolchain, projectDir, ["stack", "export", "--stack", stack]);
  if (run.status !== 0) {
    const message = firstLine(run.stderr) || firstLine(run.stdout) || `exit ${run.status}`;
    if (/no stack named|stack .* not found|does not exist/i.test(message)) return { kind: "no-state", reason: "no such stack" };
    return { kind: "error", message: `pulumi stack export failed: ${message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(run.stdout);
  } catch {
    return { kind: "error", message: `pulumi stack export printed no JSON: ${firstLine(run.stdout)}` };
  }
  return readExport(json);
}

/** The export's JSON to what status needs; pure. */
export function readExport(json: unknown): DeploymentRead {
  const exported = exportSchema.safeParse(json);
  if (!exported.success) return { kind: "error", message: `pulumi stack export printed no deployment: ${describeIssue(exported.error.issues[0]!)}` };
  const resources = exported.data.deployment.resources ?? [];
  const pending = exported.data.deployment.pending_operations ?? [];
  // A stack created but never brought up has no resources; a first up that failed early has no outputs yet.
  const outputs = resources.find((r) => r.type === STACK_TYPE)?.outputs;
  if (!outputs || Object.keys(outputs).length === 0) return { kind: "no-state", reason: "nothing deployed: no outputs" };
  const parsed = deploymentSchema.safeParse(outputs);
  if (!parsed.success) return { kind: "error", message: `the stack's outputs are not the platform's: ${describeIssue(parsed.error.issues[0]!)}` };
  const containers = [...resources, ...pending.map((op) => op.resource)].filter((r) => r.type === CONTAINER_TYPE);
  return {
    kind: "deployed",
    deployment: parsed.data,
    containers: {
      ids: [...new Set(containers.flatMap((r) => (r.id ? [r.id] : [])))],
      pendingCreates: pending.flatMap((op) => {
        const name = op.resource.inputs?.name;
        return op.type === "creating" && op.resource.type === CONTAINER_TYPE && typeof name === "string" ? [name] : [];
      }),
    },
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${issue.path.join(".")}: ${issue.message}`;
}

function firstLine(text: string): string {
  return text.split("\n").map((line) => line.trim()).find(Boolean) ?? "";
}
