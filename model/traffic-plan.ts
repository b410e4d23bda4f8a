import { formatPath, type PathSegment } from "./diagnostics";
import type { StackDefinition } from "./stack";
import { servingStack } from "./stack";
import type { RateLimitSpec, RedirectSpec, ServiceSpec } from "./tenant-schema";
import { durationToDockerString, parseSize } from "./units";

/**
 * What the edge does to a service's traffic besides routing it (issue 14): rate limits, body size, compression,
 * sticky sessions and redirects between a tenant's own hosts. Resolved here from the tenant file, turned into
 * Traefik labels by model/traefik-middlewares.ts.
 */

export interface RateLimitPlan {
  average: number;
  burst: number;
  /** Go duration, as Traefik reads it. */
  period: string;
}

/** Per router: a route's own setting, else the service's. */
export interface RouteTraffic {
  rateLimit?: RateLimitPlan;
  maxBodyBytes?: number;
}

export interface ServiceTraffic {
  sticky: boolean;
  compress: boolean;
}

export interface RedirectPlan {
  from: string;
  to: string;
  permanent: boolean;
  /** Index in the tenant's `redirects` list: names the router, so it is stable while the list is. */
  index: number;
}

type Report = (path: readonly PathSegment[], message: string) => void;

export function rateLimitPlan(spec: RateLimitSpec): RateLimitPlan {
  // Traefik's own default burst is 1, which refuses the second of two simultaneous requests: the average is the
  // burst a person expects from "10 requests a second".
  return { average: spec.average, burst: spec.burst ?? spec.average, period: durationToDockerString(spec.period ?? "1s") };
}

/** The traffic settings of one router: the custom route's (index `customIndex`) where it sets them, else the service's. */
export function routeTraffic(spec: ServiceSpec, customIndex: number | undefined): RouteTraffic {
  const route = customIndex === undefined ? undefined : spec.routes?.[customIndex];
  const rateLimit = route?.rateLimit ?? spec.rateLimit;
  const maxBodySize = route?.maxBodySize ?? spec.maxBodySize;
  return {
    ...(rateLimit ? { rateLimit: rateLimitPlan(rateLimit) } : {}),
    ...(maxBodySize ? { maxBodyBytes: parseSize(maxBodySize) } : {}),
  };
}

export function serviceTraffic(spec: ServiceSpec): ServiceTraffic {
  return { sticky: spec.sticky ?? false, compress: spec.compress ?? true };
}

/** The hosts a tenant's services answer on in a stack, and which service answers each. */
export interface ServedHost {
  host: string;
  service: string;
  path: readonly PathSegment[];
}

/**
 * A tenant's redirects served in `stack`, each with the service whose containers carry its router (the one serving
 * the target host). A target must be a host the tenant serves in that stack; a chain or loop is refused, since a
 * browser following it would never arrive (loop) or take two round trips (chain).
 */
export function planRedirects(
  specs: readonly RedirectSpec[] | undefined,
  served: readonly ServedHost[],
  stack: Pick<StackDefinition, "name" | "preview" | "customDomains">,
  report: Report,
): { service: string; redirect: RedirectPlan }[] {
  if (!specs || specs.length === 0) return [];
  const view = servingStack(stack);
  // Like custom domains: a preview answers only on its generated hosts.
  const active = specs
    .map((spec, index) => ({ spec, index }))
    .filter(({ spec }) => !stack.preview && (spec.environments ? spec.environments.includes(view) : stack.customDomains));
  const sources = new Map<string, number>();
  for (const { spec, index } of active) {
    const earlier = sources.get(spec.from);
    if (earlier !== undefined) report([index, "from"], `"${spec.from}" already redirects (redirects[${earlier}])`);
    else sources.set(spec.from, index);
  }
  const planned: { service: string; redirect: RedirectPlan }[] = [];
  for (const { spec, index } of active) {
    const routedAt = served.find((s) => s.host === spec.from);
    if (routedAt) {
      report([index, "from"], `"${spec.from}" is also routed to service "${routedAt.service}" (${formatPath(routedAt.path)}); a host either redirects or serves`);
      continue;
    }
    if (spec.from === spec.to) {
      report([index, "to"], `redirect loop: "${spec.from}" redirects to itself`);
      continue;
    }
    if (sources.has(spec.to)) {
      const chain = [spec.from, spec.to];
      let next = active.find((r) => r.spec.from === spec.to)?.spec.to;
      while (next !== undefined && !chain.includes(next)) {
        chain.push(next);
        next = active.find((r) => r.spec.from === next)?.spec.to;
      }
      report(
        [index, "to"],
        next !== undefined
          ? `redirect loop: ${[...chain, next].join(" → ")}`
          : `"${spec.to}" itself redirects (${chain.join(" → ")}); redirect to "${chain.at(-1)}" directly`,
      );
      continue;
    }
    const target = served.find((s) => s.host === spec.to);
    if (!target) {
      const hosts = [...new Set(served.map((s) => s.host))];
      report([index, "to"], `unknown redirect target "${spec.to}": not a host this tenant serves in stack ${stack.name} (hosts: ${hosts.join(", ") || "none"})`);
      continue;
    }
    planned.push({ service: target.service, redirect: { from: spec.from, to: spec.to, permanent: spec.permanent ?? true, index } });
  }
  return planned;
}
