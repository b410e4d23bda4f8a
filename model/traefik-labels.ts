import type { ServicePlan } from "./tenant-plan";

/** Names of the file-provider middlewares the edge defines and every router uses. */
export const EDGE_MIDDLEWARES = ["security-headers@file", "retry@file"];
export const CERT_RESOLVER = "letsencrypt";

export interface RoutingContext {
  tenant: string;
  /** Docker name of the network Traefik shares with this service. */
  ingressNetwork: string;
  tls: "acme" | "self-signed" | "none";
}

/**
 * Traefik routing lives in container labels, so Traefik picks tenants up from Docker events without its own
 * container changing. Router and service names start with the tenant, which the validator keeps unique.
 */
export function traefikLabels(service: ServicePlan, context: RoutingContext): Record<string, string> {
  if (!service.routed || service.port === undefined) return {};
  const base = traefikServiceName(context.tenant, service.name);
  const labels: Record<string, string> = {
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
    labels[`traefik.http.routers.${router}.middlewares`] = EDGE_MIDDLEWARES.join(",");
    if (context.tls === "none") {
      labels[`traefik.http.routers.${router}.entrypoints`] = "web";
    } else {
      labels[`traefik.http.routers.${router}.entrypoints`] = "websecure";
      labels[`traefik.http.routers.${router}.tls`] = "true";
      if (context.tls === "acme") labels[`traefik.http.routers.${router}.tls.certresolver`] = CERT_RESOLVER;
    }
  });
  return labels;
}

/** The name of a routed service's load balancer in Traefik (its Docker provider adds `@docker`). */
export function traefikServiceName(tenant: string, service: string): string {
  return `${tenant}-${service}`;
}

/**
 * Traefik tries routers by priority, by default the rule's length, so which of a host's routers wins would depend
 * on host names. A path router's priority instead sits above any host-only rule (`Host(...)` with a host of at most
 * 253 characters) and grows with the path: `/api` beats the frontend's catch-all, `/api/v2` beats `/api`.
 */
export function pathRoutePriority(path: string): number {
  return 1000 + path.length;
}
