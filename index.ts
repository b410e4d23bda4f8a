import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { baseStackEdge, Edge } from "./components/edge";
import { Host } from "./components/host";
import { Monitoring } from "./components/monitoring";
import { Tenant, type TenantHost } from "./components/tenant";
import { databaseMemory, withDeployedDatabase, type DeployedDatabase, type VolumeProblem } from "./model/database-volumes";
import { formatPath, ValidationError, type Diagnostic } from "./model/diagnostics";
import { probeTargets } from "./model/monitoring";
import { resourceNames } from "./model/naming";
import { directoryProblem, listStackNames, readStackFile, readTenantDirectory, readTenantFile, type TenantSourceFile } from "./model/project-files";
import { tenantOutputs } from "./model/outputs";
import { validateTenants } from "./model/validate";
import { STACK_SECRET_SCOPE } from "./model/traffic-plan";
import type { TenantPlan } from "./model/tenant-plan";
import { parseYamlSource } from "./model/yaml-source";
import { readDeployedDatabases } from "./stacks/deployed-databases";
import { loadStackFromPulumi } from "./stacks/load-from-pulumi";

// YAML -> schema -> model: everything is validated before the first resource is declared.
const projectRoot = __dirname;
const loaded = loadStackFromPulumi((name) => readStackFile(projectRoot, name));
if (!loaded.stack) fail(loaded.diagnostics);
const stack = loaded.stack;
const validation = validateTenants({ files: readTenants(path.resolve(projectRoot, stack.tenantsDir)), stacks: [stack], stackNames: listStackNames(projectRoot) });
if (validation.diagnostics.length > 0) fail(validation.diagnostics);
const plans = validation.plans[stack.name] ?? [];

// What this stack deployed last decides each database's volumes and whether a major upgrade's data step runs
// (model/database-volumes.ts); a preview's data goes with it, so it remembers nothing. It is read before any resource
// is declared: the file backend rewrites the stack's checkpoint after every step, and a read of it while a step is
// being written fails ("failed to load checkpoint: EOF", seen in CI on a stack's first `up`).
const deployedDatabases: Promise<Record<string, DeployedDatabase>> = stack.preview ? Promise.resolve({}) : readDeployedDatabases();
const declared = deployedDatabases.then((deployed) => {
  const planned = plans.map((plan) => withDeployedDatabase(plan, deployed[plan.name]));
  const problems = planned.flatMap((result, i) => ("problem" in result ? [volumeDiagnostic(plans[i]!, result)] : []));
  if (problems.length > 0) fail(problems);
  const tenantPlans = planned as TenantPlan[];
  const { hosts, monitoring } = declareHosts();
  // The stack's own secrets (`secrets.platform`: `platform` is never a tenant) hold its stack-wide basic-auth users.
  const stackSecrets = Object.fromEntries(Object.entries(stack.secrets[STACK_SECRET_SCOPE] ?? {}).map(([name, value]) => [name, pulumi.secret(value)]));
  const deployedAsPlanned = tenantPlans.map((plan) => {
    const secrets = Object.fromEntries(Object.entries(stack.secrets[plan.name] ?? {}).map(([name, value]) => [name, pulumi.secret(value)]));
    return new Tenant(resourceNames.tenant(plan.name), { plan, stack, hosts, secrets, stackSecrets }).databaseDeployed;
  });
  const edges = Object.fromEntries(
    Object.entries(hosts).map(([name, host]) => [
      name,
      // Traefik is found by its labels (`npm run status`): its name changes at each replacement.
      { dockerHost: host.url, ...(monitoring[name] ? { monitoring: monitoring[name].containers } : {}) },
    ]),
  );
  // Resolves only when every database is deployed: a failed upgrade leaves the previous memory in place.
  return { edges, databaseVolumes: pulumi.all(deployedAsPlanned).apply(() => databaseMemory(tenantPlans)) };
});

export const tenants = tenantOutputs(plans, stack);
/**
 * Read back by the next run (stacks/deployed-databases.ts): per tenant, its volumes' majors and the one it runs. A
 * promise, so a problem found once the memory is read fails the program with its one-line message (as a RunError).
 */
export const databaseVolumes = declared.then((d) => d.databaseVolumes);
/** On a preview stack only: what it previews (`npm run preview -- list` reads it). */
export const preview = stack.preview && {
  base: stack.preview.base,
  pr: stack.preview.pr,
  tenants: stack.preview.tenants,
  ...(stack.preview.app ? { app: stack.preview.app } : {}),
};
export const edges = declared.then((d) => d.edges);

/**
 * model -> components: one Docker provider and one Traefik per host (each tenant then joins its hosts). A preview
 * declares no edge: its base stack's Traefik routes it (ports 80/443 are taken).
 */
function declareHosts(): { hosts: Record<string, TenantHost>; monitoring: Record<string, Monitoring> } {
  const hosts: Record<string, TenantHost> = {};
  const monitoring: Record<string, Monitoring> = {};
  for (const host of Object.values(stack.hosts)) {
    const { provider } = new Host(resourceNames.host(host.name), {
      host,
      registries: stack.registries.map((r) => ({ ...r, password: pulumi.secret(r.password) })),
    });
    const edge = stack.preview
      ? baseStackEdge(stack.preview.base, stack.preview.edgePauseIds[host.name])
      : new Edge(resourceNames.edge(host.name), {
          stack,
          hostName: host.name,
          hostUrl: host.url,
          provider,
          healthcheckStartInterval: host.healthcheckStartInterval,
        });
    hosts[host.name] = { provider, url: host.url, edge, healthcheckStartInterval: host.healthcheckStartInterval };
    // Optional (platform:monitoring): Prometheus and its exporters beside the edge; its config lists this host's routes.
    if (edge instanceof Edge && edge.monitoring)
      monitoring[host.name] = new Monitoring(`monitoring-${host.name}`, {
        stack,
        hostName: host.name,
        provider,
        network: edge.monitoring.network,
        dependsOn: [edge.monitoring.attachment],
        targets: probeTargets(plans, stack, host.name),
      });
  }
  return { hosts, monitoring };
}

/** Files that cannot be read come back with a problem the validator reports; only an unlistable directory stops here. */
function readTenants(directory: string): TenantSourceFile[] {
  const problem = directoryProblem(directory);
  if (problem) return fail([{ file: stack.file, line: 1, column: 1, path: "platform:tenantsDir", message: problem }]);
  return readTenantDirectory(directory);
}

/** A change of major the deployment cannot carry out, at its key in the tenant file. */
function volumeDiagnostic(plan: TenantPlan, { path, problem }: VolumeProblem): Diagnostic {
  const source = readTenantFile(plan.file);
  const at = source.problem ? { line: 1, column: 1 } : parseYamlSource(source.file, source.text).locate(path);
  return { file: plan.file, ...at, path: formatPath(path), message: `tenant ${plan.name} in stack ${stack.name}: ${problem}` };
}

function fail(diagnostics: readonly Diagnostic[]): never {
  // RunError prints just the message: the list of problems, not a stack trace.
  throw new pulumi.RunError(new ValidationError(diagnostics).message);
}
