import * as path from "node:path";
import { formatDiagnostic } from "../model/diagnostics";
import { readTenantDirectory } from "../model/project-files";
import type { TenantPlan } from "../model/tenant-plan";
import { validateTenants } from "../model/validate";
import type { StackDefinition } from "../stacks/definition";
import { loadStacksFromFiles } from "../stacks/load-from-files";

/** One local stack as the program will see it: its definition and its tenants' plans, or the problems found. */
export interface LocalStackPlan {
  stack: StackDefinition;
  plans: TenantPlan[];
}

export function planLocalStack(projectRoot: string, stackName: string): LocalStackPlan {
  const { stacks, stackNames, diagnostics } = loadStacksFromFiles(projectRoot);
  const stack = stacks.find((s) => s.name === stackName);
  if (!stack) throw new Error(diagnostics.map(formatDiagnostic).join("\n") || `no Pulumi.${stackName}.yaml`);
  const files = readTenantDirectory(path.resolve(projectRoot, stack.tenantsDir));
  const result = validateTenants({ files, stacks: [stack], stackNames });
  if (result.diagnostics.length > 0)
    throw new Error(result.diagnostics.map(formatDiagnostic).join("\n"));
  return { stack, plans: result.plans[stackName] ?? [] };
}

/** Every image the stack's containers run. */
export function imagesOf({ stack, plans }: LocalStackPlan): string[] {
  return [
    stack.edge.image,
    stack.edge.pauseImage,
    stack.edge.keeperImage,
    stack.edge.pinImage,
    stack.edge.socketProxyImage,
    ...(stack.monitoring.enabled ? Object.values(stack.monitoring.images) : []),
    ...plans.flatMap((plan) => [
      ...plan.services.map((service) => service.runImage),
      ...(plan.database ? [plan.database.image] : []),
      ...(plan.cache ? [plan.cache.image] : []),
    ]),
  ];
}

/** What a dev stack runs in place of the real thing, one line each, for the person running it. */
export function standInNotes({ stack, plans }: LocalStackPlan): string[] {
  const notes: string[] = [];
  for (const plan of plans) {
    for (const service of plan.services.filter((s) => s.standIn))
      notes.push(`${plan.name}/${service.name}: ${service.image} has no local image; running ${service.runImage}`);
    if (plan.placeholderSecrets.length > 0)
      notes.push(`${plan.name}: secrets not set for stack ${stack.name}, generated placeholders: ${plan.placeholderSecrets.join(", ")}`);
  }
  return notes;
}
