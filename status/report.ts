import { dockerNames, EDGE_ROLES, LABEL } from "../model/naming";
import type { Deployment, DeployedTenant, StateContainers } from "./deployment";
import type { HostObservation, ObservedContainer } from "./docker-host";

/**
 * "What runs where, and is it healthy?": the stack's outputs (what was deployed) against what each Docker host
 * reports. Pure: the CLI gathers both and prints the result as a table or JSON.
 */

/**
 * One word per container; only `healthy` and `running` (no health check) count as fine. `stale`: a Traefik running in
 * a network namespace its pause container no longer holds (see staleNamespace), whatever its health check says.
 */
export type Verdict = "healthy" | "running" | "starting" | "unhealthy" | "stale" | "restarting" | "paused" | "exited" | "created" | "dead" | "missing" | "unknown";
/** Worst first: a service shows the worst of its containers. */
const SEVERITY: readonly Verdict[] = ["missing", "unknown", "dead", "exited", "stale", "restarting", "unhealthy", "paused", "created", "starting", "running", "healthy"];
export const isFine = (verdict: Verdict) => verdict === "healthy" || verdict === "running";

export interface ContainerStatus {
  /** null for a container that should exist and does not. */
  name: string | null;
  id: string | null;
  image: string | null;
  status: Verdict;
  /** The engine's words: state (running, exited, ...) and health (healthy, unhealthy, starting, or null). */
  state: string | null;
  health: string | null;
  /** The last failed health probe's output. */
  healthOutput: string | null;
  restarts: number;
  exitCode: number | null;
  startedAt: string | null;
}

export interface ServiceStatus {
  kind: "app" | "database" | "cache" | "edge" | "backup";
  host: string;
  /** App services: the image the tenant file names (as deployed); the others: what the container runs. */
  image: string | null;
  /** How many containers the deployment has. */
  replicas: number;
  status: Verdict;
  healthy: boolean;
  restarts: number;
  containers: ContainerStatus[];
}

export interface TenantStatus {
  homeHost: string;
  retiring: boolean;
  healthy: boolean;
  urls: string[];
  services: Record<string, ServiceStatus>;
}

export interface EdgeStatus {
  dockerHost: string;
  healthy: boolean;
  /** `keeper` (components/edge-keeper-script.ts) when the host has one: states from before it have none. */
  services: { traefik: ServiceStatus; pause: ServiceStatus; keeper?: ServiceStatus };
  /** Why Traefik is not in the network namespace its pause container holds now (a problem), or null. */
  staleNamespace: string | null;
  /** The optional monitoring stack's containers on the host, by role (prometheus, blackbox, node-exporter). */
  monitoring: Record<string, ServiceStatus>;
}

export interface HostStatus {
  url: string;
  reachable: boolean;
  error: string | null;
}

export interface StrayContainer extends ContainerStatus {
  host: string;
  tenant: string | null;
  service: string | null;
  /** A deploy step's own container, run with the docker CLI and never in the state (see oneOffKind), or null. */
  oneOff: OneOff | null;
}

/** `release`: a release task (components/release-task.ts); `upgrade`: a Postgres upgrade's (components/postgres-upgrade.ts). */
export type OneOff = "release" | "upgrade";

export interface StatusReport {
  stack: string;
  healthy: boolean;
  /** One line each, for people; empty exactly when healthy. */
  problems: string[];
  hosts: Record<string, HostStatus>;
  tenants: Record<string, TenantStatus>;
  edges: Record<string, EdgeStatus>;
  /**
   * Containers labelled for the stack that its state does not know, one-offs aside: each is a problem (a killed
   * `pulumi up` left it). Outputs may account for them (a service's label matches it), so they can also be in `tenants`.
   */
  notInState: StrayContainer[];
  /**
   * The stack's other containers the outputs do not account for: in the state (e.g. left from a removed tenant) or a
   * deploy step's one-off; not a problem by themselves.
   */
  strays: StrayContainer[];
}

export interface StatusInput {
  stack: string;
  deployment: Deployment;
  /** The containers the stack's state holds (`pulumi stack export`). */
  state: StateContainers;
  hosts: Record<string, { url: string; observation: HostObservation }>;
}

/** Containers status expects by name on each host, so they are found even when their labels are not the stack's. */
export function namesExpected(stack: string, deployment: Deployment): Record<string, string[]> {
  const names: Record<string, string[]> = {};
  const add = (host: string, name: string | null | undefined) => {
    if (name) (names[host] ??= []).push(name);
  };
  for (const [host, edge] of Object.entries(deployment.edges)) {
    add(host, edge.container);
    add(host, dockerNames.edgePause(stack));
    for (const name of Object.values(edge.monitoring)) add(host, name);
  }
  for (const [tenant, deployed] of Object.entries(deployment.tenants)) {
    add(deployed.homeHost, databaseContainerName(stack, tenant, deployed));
    add(deployed.homeHost, deployed.cacheContainer);
  }
  return names;
}

export function buildStatus(input: StatusInput): StatusReport {
  const { stack, deployment } = input;
  const problems: string[] = [];
  const claimed = new Set<string>();
  const hosts: Record<string, HostStatus> = {};
  for (const [name, { url, observation }] of Object.entries(input.hosts)) {
    hosts[name] = { url, reachable: observation.reachable, error: observation.reachable ? null : observation.error };
    if (!observation.reachable) problems.push(`host ${name} (${url}) unreachable: ${observation.error}`);
  }
  const on = (host: string) => input.hosts[host]?.observation;
  const unknownHost = (owner: string, host: string) => {
    if (!input.hosts[host]) problems.push(`${owner}: host "${host}" is in neither Pulumi.${stack}.yaml nor the stack's edges`);
  };

  /** `expected` containers found by `match`; fewer found than expected are reported missing. */
  const service = (owner: string, kind: ServiceStatus["kind"], host: string, expected: number, declaredImage: string | null, match: (c: ObservedContainer) => boolean, missingName: string | null = null): ServiceStatus => {
    const observation = on(host);
    unknownHost(owner, host);
    if (!observation?.reachable) {
      return { kind, host, image: declaredImage, replicas: expected, status: "unknown", healthy: false, restarts: 0, containers: [] };
    }
    const found = observation.containers.filter((c) => !claimed.has(c.id) && match(c)).sort((a, b) => a.name.localeCompare(b.name));
    for (const c of found) claimed.add(c.id);
    const containers = found.map(containerStatus);
    const missing = Math.max(0, expected - found.length);
    for (let i = 0; i < missing; i++) containers.push(missingContainer(missingName));
    for (const c of containers.filter((c) => !isFine(c.status) && c.status !== "missing")) problems.push(`${owner} on ${host}: ${c.name} ${describe(c)}`);
    if (missing > 0) problems.push(`${owner} on ${host}: ${missingName ?? (expected === 1 ? "container" : `${missing} of ${expected} containers`)} missing`);
    const status = worst(containers.map((c) => c.status));
    return {
      kind,
      host,
      image: declaredImage ?? found[0]?.image ?? null,
      replicas: expected,
      status,
      healthy: isFine(status),
      restarts: containers.reduce((sum, c) => sum + c.restarts, 0),
      containers,
    };
  };

  const edges: Record<string, EdgeStatus> = {};
  for (const [host, edge] of Object.entries(deployment.edges).sort(([a], [b]) => a.localeCompare(b))) {
    const pauseName = dockerNames.edgePause(stack);
    const keeperName = dockerNames.edgeKeeper(stack);
    const observation = on(host);
    const named = (name: string) => (observation?.reachable ? observation.containers.find((c) => c.name === name) : undefined);
    // By its role: Pulumi names Traefik anew at each replacement (a state from before names it in `container`).
    const isTraefik = (c: ObservedContainer) => c.labels[LABEL.role] === EDGE_ROLES.traefik || c.name === edge.container;
    const traefikFound = observation?.reachable ? observation.containers.find(isTraefik) : undefined;
    const traefikName = traefikFound?.name ?? "Traefik";
    let traefik = service("edge", "edge", host, 1, null, isTraefik, traefikName);
    const pause = service("edge", "edge", host, 1, null, (c) => c.name === pauseName, pauseName);
    // Shown when found, never "missing": a state from before the keeper existed has none.
    const keeper = named(keeperName) ? service("edge", "edge", host, 0, null, (c) => c.name === keeperName) : undefined;
    const stale = staleNamespace(traefikFound, named(pauseName));
    if (stale) {
      traefik = withVerdict(traefik, "stale");
      problems.push(
        `edge ${host}: ${stale}: every tenant on the host is unreachable while Docker may still call Traefik healthy; ` +
          `restarting Traefik joins the current namespace (the edge keeper does so within seconds where it runs): DOCKER_HOST=${input.hosts[host]!.url} docker restart ${traefikName}`,
      );
    }
    const monitoring = Object.fromEntries(
      Object.entries(edge.monitoring).map(([role, name]) => [role, service("monitoring", "edge", host, 1, null, (c) => c.name === name, name)]),
    );
    const healthy = traefik.healthy && pause.healthy && (keeper?.healthy ?? true) && Object.values(monitoring).every((s) => s.healthy);
    edges[host] = { dockerHost: edge.dockerHost, healthy, services: { traefik, pause, ...(keeper ? { keeper } : {}) }, staleNamespace: stale, monitoring };
  }

  const tenants: Record<string, TenantStatus> = {};
  for (const [tenant, deployed] of Object.entries(deployment.tenants).sort(([a], [b]) => a.localeCompare(b))) {
    const services: Record<string, ServiceStatus> = {};
    const owns = (c: ObservedContainer, name: string) => c.labels[LABEL.tenant] === tenant && c.labels[LABEL.service] === name;
    for (const [name, app] of Object.entries(deployed.services))
      services[name] = service(`${tenant}/${name}`, "app", app.host, app.replicas, app.image, (c) => owns(c, name));
    const database = databaseContainerName(stack, tenant, deployed);
    if (database) services.postgres = service(`${tenant}/postgres`, "database", deployed.homeHost, 1, null, (c) => c.name === database, database);
    if (deployed.cacheContainer) services.redis = service(`${tenant}/redis`, "cache", deployed.homeHost, 1, null, (c) => c.name === deployed.cacheContainer, deployed.cacheContainer);
    // A state written before the outputs named the cache: report a cache found, it just cannot be missing.
    else if (deployed.cacheContainer === undefined && !deployed.retiring) {
      const cache = (c: ObservedContainer) => owns(c, "redis");
      const observation = on(deployed.homeHost);
      if (observation?.reachable && observation.containers.some(cache)) services.redis = service(`${tenant}/redis`, "cache", deployed.homeHost, 0, null, cache);
    }
    // The backup container (components/backups.ts) is not in the outputs: shown when found, never "missing".
    const backup = (c: ObservedContainer) => owns(c, "backup");
    const home = on(deployed.homeHost);
    if (home?.reachable && home.containers.some(backup)) services.backup = service(`${tenant}/backup`, "backup", deployed.homeHost, 0, null, backup);
    tenants[tenant] = {
      homeHost: deployed.homeHost,
      retiring: deployed.retiring,
      healthy: Object.values(services).every((s) => s.healthy),
      urls: deployed.urls,
      services,
    };
  }

  // Every container labelled for the stack, claimed or not: a killed run's extra replica carries its service's labels
  // and so is counted with the service ("2/2 healthy" for one replica), and only the state tells it apart.
  const known = new Set(input.state.ids);
  const pendingCreates = new Set(input.state.pendingCreates);
  const notInState: StrayContainer[] = [];
  const strays: StrayContainer[] = [];
  for (const [host, { url, observation }] of Object.entries(input.hosts)) {
    if (!observation.reachable) continue;
    const labelled = observation.containers.filter((c) => c.labels[LABEL.stack] === stack).sort((a, b) => a.name.localeCompare(b.name));
    for (const c of labelled) {
      const oneOff = oneOffKind(stack, c);
      const entry: StrayContainer = { ...containerStatus(c), host, tenant: c.labels[LABEL.tenant] ?? null, service: c.labels[LABEL.service] ?? null, oneOff };
      if (!oneOff && !known.has(c.id)) {
        notInState.push(entry);
        problems.push(strayProblem(stack, host, url, c, pendingCreates.has(c.name)));
      } else if (!claimed.has(c.id)) strays.push(entry);
    }
  }

  return { stack, healthy: problems.length === 0, problems, hosts, tenants, edges, notInState, strays };
}

/**
 * Containers a deploy step runs with the docker CLI itself, never Pulumi resources and so never in the state, known
 * by the fixed name their labels give: a release task's (running while `up` runs it; one a killed run left is removed
 * by the next run before it starts its own) and a Postgres upgrade's throw-away server (the same). Anything else
 * labelled for the stack is a resource (Container), backup and monitoring containers included.
 */
export function oneOffKind(stack: string, c: Pick<ObservedContainer, "name" | "labels">): OneOff | null {
  const tenant = c.labels[LABEL.tenant];
  if (!tenant) return null;
  const release = c.labels[LABEL.release];
  if (release && c.name === dockerNames.releaseContainer(stack, tenant, release)) return "release";
  const upgrade = dockerNames.upgradeContainer(stack, tenant, "");
  if (c.name.startsWith(upgrade) && /^[0-9]+$/.test(c.name.slice(upgrade.length))) return "upgrade";
  return null;
}

/** One line naming a container the state does not know, what it does and how to get rid of it. */
function strayProblem(stack: string, host: string, url: string, c: ObservedContainer, pendingCreate: boolean): string {
  const tenant = c.labels[LABEL.tenant];
  const service = c.labels[LABEL.service];
  const owner = tenant ? `, ${tenant}${service ? `/${service}` : ""}` : "";
  const id = c.id.slice(0, 12);
  // Traefik routes only running containers that pass their health check (or have none) and carry the edge's label.
  const routed = c.labels[LABEL.edge] && isFine(verdictOf(c)) ? "; Traefik routes requests to it" : "";
  return (
    `stray on ${host}: ${c.name} (${id}${owner}, ${c.state}) is labelled for stack ${stack} but not in its state` +
    `${pendingCreate ? " (there only as a pending create)" : ""}: a killed \`pulumi up\` left it, or one running now is creating it${routed}; ` +
    `once no deploy of the stack is running, remove it: DOCKER_HOST=${url} docker rm -f ${id}`
  );
}

/**
 * Traefik joins its pause container's network namespace when it starts (network_mode `container:<pause id>`). When
 * the pause container starts again later (a crash, `docker restart`, an engine restart), Traefik stays in the old
 * namespace, which has lost every interface but `lo`: nothing reaches it, while its ping (on `lo`) may still pass.
 * Why Traefik is not in the namespace its pause container holds now, or null (both must run: a stopped one is
 * reported as such). Start times compare as times: the engine writes up to nine fraction digits, trailing zeros cut.
 */
export function staleNamespace(traefik: ObservedContainer | undefined, pause: ObservedContainer | undefined): string | null {
  if (traefik?.state !== "running" || pause?.state !== "running") return null;
  const joined = traefik.networkMode?.startsWith("container:") ? traefik.networkMode.slice("container:".length) : undefined;
  if (joined && joined !== pause.id && joined.replace(/^\//, "") !== pause.name)
    return `Traefik runs in the network namespace of container ${joined.slice(0, 12)}, not of its pause container ${pause.name} (${pause.id.slice(0, 12)})`;
  const pauseStarted = startedAtNanos(pause.startedAt);
  const traefikStarted = startedAtNanos(traefik.startedAt);
  if (pauseStarted === undefined || traefikStarted === undefined || pauseStarted <= traefikStarted) return null;
  return `Traefik runs in a network namespace its pause container no longer holds (pause started ${pause.startedAt}, Traefik ${traefik.startedAt})`;
}

/** An RFC 3339 time as nanoseconds since the epoch (Date keeps milliseconds only); undefined when not one or never started. */
export function startedAtNanos(text: string): bigint | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}${match[3]}`);
  // The engine's zero time (0001-01-01T00:00:00Z) means it never started.
  if (Number.isNaN(ms) || ms <= 0) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? "").padEnd(9, "0"));
}

/** The same service with its containers given `verdict` (a fault the engine's own state does not show). */
function withVerdict(service: ServiceStatus, verdict: Verdict): ServiceStatus {
  const containers = service.containers.map((c) => ({ ...c, status: verdict }));
  const status = worst(containers.map((c) => c.status));
  return { ...service, containers, status, healthy: isFine(status) };
}

/** The outputs name it; a state from before they did has only the volume, and the container's name follows from it. */
function databaseContainerName(stack: string, tenant: string, deployed: DeployedTenant): string | null {
  if (deployed.databaseContainer !== undefined) return deployed.databaseContainer;
  return deployed.databaseVolume && !deployed.retiring ? dockerNames.databaseContainer(stack, tenant) : null;
}

function verdictOf(c: ObservedContainer): Verdict {
  switch (c.state) {
    case "running":
      return c.health === "unhealthy" ? "unhealthy" : c.health === "starting" ? "starting" : c.health === "healthy" ? "healthy" : "running";
    case "restarting":
    case "paused":
    case "exited":
    case "created":
    case "dead":
      return c.state;
    case "removing":
      return "exited";
    default:
      return "unknown";
  }
}

function containerStatus(c: ObservedContainer): ContainerStatus {
  const status = verdictOf(c);
  return {
    name: c.name,
    id: c.id,
    image: c.image,
    status,
    state: c.state,
    health: c.health,
    healthOutput: c.healthOutput,
    restarts: c.restarts,
    exitCode: status === "exited" || status === "dead" ? c.exitCode : null,
    startedAt: c.startedAt || null,
  };
}

function missingContainer(name: string | null): ContainerStatus {
  return { name, id: null, image: null, status: "missing", state: null, health: null, healthOutput: null, restarts: 0, exitCode: null, startedAt: null };
}

function worst(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.length === 0) return "healthy";
  return SEVERITY.find((v) => verdicts.includes(v)) ?? "unknown";
}

function describe(c: ContainerStatus): string {
  const restarts = c.restarts > 0 ? `, ${c.restarts} restart${c.restarts === 1 ? "" : "s"}` : "";
  switch (c.status) {
    case "unhealthy":
      return `unhealthy${restarts}${c.healthOutput ? `: ${oneLine(c.healthOutput, 80)}` : ""}`;
    case "exited":
    case "dead":
      return `${c.status} (exit code ${c.exitCode ?? "?"})${restarts}`;
    default:
      return `${c.status}${restarts}`;
  }
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
