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
      z.object({ dockerHost: z.string(), container: z.string(), monitoring: z.record(z.string(), z.string()).default({}) }),
    )
    .default({}),
});

export type Deployment = z.infer<typeof deploymentSchema>;
export type DeployedTenant = z.infer<typeof tenantSchema>;

export type DeploymentRead =
  | { kind: "deployed"; deployment: Deployment }
  /** The backend has no such stack, or it was never brought up (no outputs). */
  | { kind: "no-state"; reason: string }
  | { kind: "error"; message: string };

export function readDeployment(toolchain: Toolchain, projectDir: string, stack: string): DeploymentRead {
  const run = runPulumi(toolchain, projectDir, ["stack", "output", "--json", "--stack", stack]);
  if (run.status !== 0) {
    const message = firstLine(run.stderr) || firstLine(run.stdout) || `exit ${run.status}`;
    if (/no stack named|stack .* not found|does not exist/i.test(message)) return { kind: "no-state", reason: "no such stack" };
    return { kind: "error", message: `pulumi stack output failed: ${message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(run.stdout || "{}");
  } catch {
    return { kind: "error", message: `pulumi stack output printed no JSON: ${firstLine(run.stdout)}` };
  }
  if (json && typeof json === "object" && Object.keys(json).length === 0) return { kind: "no-state", reason: "nothing deployed: no outputs" };
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { kind: "error", message: `the stack's outputs are not the platform's: ${issue.path.join(".")}: ${issue.message}` };
  }
  return { kind: "deployed", deployment: parsed.data };
}

function firstLine(text: string): string {
  return text.split("\n").map((line) => line.trim()).find(Boolean) ?? "";
}
