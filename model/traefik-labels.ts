import { LABEL } from "./naming";
import type { ServicePlan } from "./tenant-plan";
import { basicAuthUsersLabel, middlewareChain, redirectLabels, redirectRouterName, routerMiddlewares, stickyLabels } from "./traefik-middlewares";
import type { SecretRef } from "./traffic-plan";

/** Names of the file-provider middlewares the edge defines and every router uses. */
export const EDGE_MIDDLEWARES = ["security-headers@file", "retry@file"];
export const CERT_RESOLVER = "letsencrypt";

export interface RoutingContext {
  /** The stack the service belongs to: one Traefik routes a stack and its previews, so names carry the stack. */
  stack: string;
  /** The stack whose edge routes the service (its own, or a preview's base); Traefik selects containers by it. */
  edge: string;
  tenant: string;
  /** Docker name of the network Traefik shares with this service. */
  ingressNetwork: string;
  tls: "acme" | "self-signed" | "none";
}

/**
 * Traefik routing lives in container labels, so Traefik picks tenants up from Docker events without its own
 * container changing. Router and service names are the stack's, then the tenant's (which the validator keeps unique
 * within a stack): a preview's `acme` and its base stack's `acme` share one Traefik without colliding.
 */
export function traefikLabels(service: ServicePlan, context: RoutingContext): Record<string, string> {
  if (!service.routed || service.port === undefined) return {};
  const base = traefikServiceName(context.stack, context.tenant, service.name);
  const labels: Record<string, string> = {
    [LABEL.edge]: context.edge,
    "traefik.enable": "true",
    "traefik.docker.network": context.ingressNetwork,
    [`traefik.http.services.${base}.loadbalancer.server.port`]: String(service.port),
  };
  service.routes.forEach((route, index) => {
    const router = `${base}-${index}`;
    const rule = route.path ? `Host(\`${route.host}\`) && PathPrefix(\`${route.path}\`)` : `Host(\`${route.host}\`)`;
    labels[`traefik.http.routers.${router}.rule`] = rule;
    if (route.path) labels[`traefik.http.routers.${router}.priority`] = String(pathRoutePriority(route.path));
    labels[`traefik.http.routers.${router}.service`] = base;
    const own = routerMiddlewares(router, route.traffic, service.traffic);
    Object.assign(labels, own.labels, entrypointLabels(router, context.tls));
    labels[`traefik.http.routers.${router}.middlewares`] = middlewareChain(EDGE_MIDDLEWARES, own.names);
  });
  if (service.traffic?.sticky) Object.assign(labels, stickyLabels(base, service.name, context.tls !== "none"));
  for (const redirect of service.redirects ?? [])
    Object.assign(labels, redirectLabels(base, redirect, EDGE_MIDDLEWARES, (router) => entrypointLabels(router, context.tls)));
  return labels;
}

/** The basic-auth labels `traefikLabels` leaves to the program: their values are hashes of secrets. */
export function basicAuthLabels(service: ServicePlan, context: Pick<RoutingContext, "stack" | "tenant">): { label: string; users: SecretRef[] }[] {
  if (!service.routed || service.port === undefined) return [];
  const base = traefikServiceName(context.stack, context.tenant, service.name);
  return [
    ...service.routes.flatMap((route, index) => basicAuthUsersLabel(`${base}-${index}`, route.traffic) ?? []),
    ...(service.redirects ?? []).flatMap((redirect) => basicAuthUsersLabel(redirectRouterName(base, redirect), redirect) ?? []),
  ];
}

function entrypointLabels(router: string, tls: RoutingContext["tls"]): Record<string, string> {
  if (tls === "none") return { [`traefik.http.routers.${router}.entrypoints`]: "web" };
  return {
    [`traefik.http.routers.${router}.entrypoints`]: "websecure",
    [`traefik.http.routers.${router}.tls`]: "true",
    ...(tls === "acme" ? { [`traefik.http.routers.${router}.tls.certresolver`]: CERT_RESOLVER } : {}),
  };
}

/**
 * The name of a routed service's load balancer in Traefik (its Docker provider adds `@docker`), also the stem of
 * its routers: `<stack>--<tenant>-<service>`. Stack names never contain `--` (previews' are `pr-<n>` and
 * `app-<repo>-pr-<n>`), so two stacks cannot produce one name; Traefik reads `.` in a label key as a separator.
 */
export function traefikServiceName(stack: string, tenant: string, service: string): string {
  return `${stack.replaceAll(".", "_")}--${tenant}-${service}`;
}

/**
 * Traefik tries routers by priority, by default the rule's length, so which of a host's routers wins would depend
 * on host names. A path router's priority instead sits above any host-only rule (`Host(...)` with a host of at most
 * 253 characters) and grows with the path: `/api` beats the frontend's catch-all, `/api/v2` beats `/api`.
 */
export function pathRoutePriority(path: string): number {
  return 1000 + path.length;
}
