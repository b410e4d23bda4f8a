import type { AccessPlan, RedirectPlan, RouteTraffic, SecretRef, ServiceTraffic } from "./traffic-plan";

/**
 * Traefik middlewares a tenant's routers use besides the edge's own (issue 14), as container labels.
 *
 * Names: every middleware is named after the router that uses it, `<router>__<kind>`, and routers are named from the
 * stack, tenant and service (model/traefik-labels.ts), which tenant and service names cannot forge: they have no `_`,
 * so no tenant's name can end in another's `__<kind>`. The tenant file never names a middleware, and routers refer
 * to these with `@docker`, so a tenant cannot reach another tenant's middlewares or the edge's file-provider ones.
 */

/**
 * Responses of these types are never compressed. Traefik v3.6 does flush its compressor on each flush (measured on the
 * real engine: a gzipped stream still arrives event by event), but a compressed stream streams only if every hop
 * after the edge flushes its decompressor too, and events are too small for compression to gain anything.
 */
export const NEVER_COMPRESSED = ["text/event-stream"];

export interface OwnMiddlewares {
  labels: Record<string, string>;
  /** Names as routers reference them, in the order requests pass through them. */
  names: string[];
}

/**
 * The middlewares of one router: who may pass (allow-lists, then basic auth: a refused client costs nothing more),
 * then rate limit, body size and compression. Basic auth's users come from secrets: `basicAuthUsersLabel` names
 * the label the program fills in (components/service.ts).
 */
export function routerMiddlewares(router: string, route: RouteTraffic | undefined, service: ServiceTraffic | undefined): OwnMiddlewares {
  const { labels, names, add } = middlewareSet(router);
  addAccess(add, route?.access);
  if (route?.rateLimit) {
    // Per client IP: Traefik's default source is the connection's remote address, which is the client's, since
    // the edge is the first proxy and the engine's port publishing (DNAT) keeps source addresses. Requests to a
    // published port from the host's own loopback go through docker-proxy instead and all share its address.
    add("ratelimit", {
      "ratelimit.average": String(route.rateLimit.average),
      "ratelimit.burst": String(route.rateLimit.burst),
      "ratelimit.period": route.rateLimit.period,
    });
  }
  if (route?.maxBodyBytes !== undefined) add("body", { "buffering.maxRequestBodyBytes": String(route.maxBodyBytes) });
  // Traefik v3.6's compress skips only application/grpc by default (pkg/middlewares/compress/compress.go): an event
  // stream would be compressed, and flushed through gzip, unless excluded here.
  if (service?.compress) add("compress", { "compress.excludedContentTypes": NEVER_COMPRESSED.join(",") });
  return { labels, names };
}

type Add = (kind: string, settings: Record<string, string>) => void;

/** A router's own middlewares as they are added: labels, and names in the order added. */
function middlewareSet(router: string): OwnMiddlewares & { add: Add } {
  const labels: Record<string, string> = {};
  const names: string[] = [];
  const add: Add = (kind, settings) => {
    const name = `${router}__${kind}`;
    for (const [key, value] of Object.entries(settings)) labels[`traefik.http.middlewares.${name}.${key}`] = value;
    names.push(`${name}@docker`);
  };
  return { labels, names, add };
}

function addAccess(add: Add, access: AccessPlan | undefined): void {
  access?.ipAllowLists.forEach((sourceRange, index) => add(`allow-${index}`, { "ipAllowList.sourceRange": sourceRange.join(",") }));
  if (access && access.users.length > 0) add("auth", { "basicAuth.removeHeader": "true" });
}

/** The label holding a router's basic-auth users, and the secrets whose hashes it lists; none without users. */
export function basicAuthUsersLabel(router: string, route: RouteTraffic | undefined): { label: string; users: SecretRef[] } | undefined {
  if (!route?.access || route.access.users.length === 0) return undefined;
  return { label: `traefik.http.middlewares.${router}__auth.basicAuth.users`, users: route.access.users };
}

/** The router's whole chain: the edge's first middleware (security headers) wraps everything, its others come last. */
export function middlewareChain(edge: readonly string[], own: readonly string[]): string {
  return [...edge.slice(0, 1), ...own, ...edge.slice(1)].join(",");
}

/** Cookie-based sticky sessions on a service's load balancer; the cookie is named per service, hosts may be shared. */
export function stickyLabels(traefikService: string, service: string, secure: boolean): Record<string, string> {
  const prefix = `traefik.http.services.${traefikService}.loadbalancer.sticky.cookie`;
  return {
    [`${prefix}.name`]: `sticky_${service.replaceAll("-", "_")}`,
    [`${prefix}.httpOnly`]: "true",
    [`${prefix}.secure`]: String(secure),
    [`${prefix}.sameSite`]: "lax",
  };
}

/**
 * A router answering `from` with a redirect to the same path on `to` (scheme and port kept: dev stacks publish the
 * edge on other ports), behind the stack's access like every tenant router: a closed stack does not even say where
 * a host leads. It points at the serving service only because Traefik requires a service per router.
 */
export function redirectLabels(
  traefikService: string,
  redirect: RedirectPlan,
  edge: readonly string[],
  routerBasics: (router: string) => Record<string, string>,
): Record<string, string> {
  const router = redirectRouterName(traefikService, redirect);
  const middleware = `${router}__to`;
  const from = redirect.from.replaceAll(".", "\\.");
  const access = middlewareSet(router);
  addAccess(access.add, redirect.access);
  return {
    [`traefik.http.routers.${router}.rule`]: `Host(\`${redirect.from}\`)`,
    [`traefik.http.routers.${router}.service`]: traefikService,
    [`traefik.http.routers.${router}.middlewares`]: middlewareChain(edge.slice(0, 1), [...access.names, `${middleware}@docker`]),
    ...access.labels,
    ...routerBasics(router),
    [`traefik.http.middlewares.${middleware}.redirectRegex.regex`]: `^(https?)://${from}(:[0-9]+)?(/.*)?$`,
    [`traefik.http.middlewares.${middleware}.redirectRegex.replacement`]: `\${1}://${redirect.to}\${2}\${3}`,
    [`traefik.http.middlewares.${middleware}.redirectRegex.permanent`]: String(redirect.permanent),
  };
}

export function redirectRouterName(traefikService: string, redirect: Pick<RedirectPlan, "index">): string {
  return `${traefikService}__redirect-${redirect.index}`;
}
