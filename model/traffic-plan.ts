import { formatPath, type PathSegment } from "./diagnostics";
import { credentialProblem } from "./basic-auth";
import { SECRET_PLACEHOLDER } from "./project-files";
import type { StackDefinition } from "./stack";
import { servingStack } from "./stack";
import type { AccessSpec, RateLimitSpec, RedirectSpec, ServiceSpec } from "./tenant-schema";
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

/** A basic-auth secret: `scope` is the tenant, or `platform` for the stack's own (`platform:secrets.platform.<NAME>`). */
export interface SecretRef {
  scope: string;
  name: string;
}

/** The tenant scope cannot be a tenant's: `platform` is a reserved tenant name (model/naming.ts). */
export const STACK_SECRET_SCOPE = "platform";

export interface AccessPlan {
  /** Anyone holding one of these `user:password` secrets gets in; empty for no password. */
  users: SecretRef[];
  /** Each list is its own middleware: a client must be in every one (the stack's and the tenant's). */
  ipAllowLists: string[][];
}

/** Per router: a route's own setting, else the service's; access adds the stack's to the tenant's. */
export interface RouteTraffic {
  rateLimit?: RateLimitPlan;
  maxBodyBytes?: number;
  access?: AccessPlan;
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
  /** The stack's access (`platform:access`): a redirect is one of the tenant's routers, closed like the others. */
  access?: AccessPlan;
}

type Report = (path: readonly PathSegment[], message: string) => void;

export function rateLimitPlan(spec: RateLimitSpec): RateLimitPlan {
  // Traefik's own default burst is 1, which refuses the second of two simultaneous requests: the average is the
  // burst a person expects from "10 requests a second".
  return { average: spec.average, burst: spec.burst ?? spec.average, period: durationToDockerString(spec.period ?? "1s") };
}

/** The traffic settings of one router: the custom route's (index `customIndex`) where it sets them, else the service's. */
export function routeTraffic(
  spec: ServiceSpec,
  customIndex: number | undefined,
  tenant: string,
  stackAccess: AccessSpec | { basicAuth?: string[]; ipAllowList?: string[] } | undefined,
): RouteTraffic {
  const route = customIndex === undefined ? undefined : spec.routes?.[customIndex];
  const rateLimit = route?.rateLimit ?? spec.rateLimit;
  const maxBodySize = route?.maxBodySize ?? spec.maxBodySize;
  const access = accessPlan(route?.access ?? spec.access, tenant, stackAccess);
  return {
    ...(rateLimit ? { rateLimit: rateLimitPlan(rateLimit) } : {}),
    ...(maxBodySize ? { maxBodyBytes: parseSize(maxBodySize) } : {}),
    ...(access ? { access } : {}),
  };
}

/**
 * A tenant's access adds to the stack's and never opens what the stack closes: the stack's allow-list still applies
 * (a client must pass both), and the tenant's users are let in beside the stack's, still with a password.
 */
function accessPlan(
  own: { basicAuth?: string[]; ipAllowList?: string[] } | undefined,
  tenant: string,
  stack: { basicAuth?: string[]; ipAllowList?: string[] } | undefined,
): AccessPlan | undefined {
  const users = [
    ...(stack?.basicAuth ?? []).map((name) => ({ scope: STACK_SECRET_SCOPE, name })),
    ...(own?.basicAuth ?? []).map((name) => ({ scope: tenant, name })),
  ];
  const ipAllowLists = [stack?.ipAllowList, own?.ipAllowList].filter((list): list is string[] => list !== undefined);
  return users.length > 0 || ipAllowLists.length > 0 ? { users, ipAllowLists } : undefined;
}

/** Every basic-auth secret a service names must be set in the stack, like its `secrets` (no placeholders: a password). */
export function checkAccessSecrets(spec: ServiceSpec, tenant: string, stack: Pick<StackDefinition, "name" | "secrets" | "preview">, report: Report): void {
  const set = stack.secrets[tenant] ?? {};
  const secretsStack = servingStack(stack);
  const check = (access: AccessSpec | undefined, path: readonly PathSegment[]) =>
    (access?.basicAuth ?? []).forEach((name, index) => {
      const value = set[name];
      // The validate CLI sees encrypted values as a placeholder; the program sees them and checks their form.
      const problem = value === undefined || value === SECRET_PLACEHOLDER ? undefined : credentialProblem(value);
      if (value === undefined || problem)
        report(
          [...path, "access", "basicAuth", index],
          `secret "${name}" ${problem ? `in stack ${secretsStack} ${problem}` : `is not set in stack ${secretsStack}`}; run: pulumi config set --secret --path 'secrets.${tenant}.${name}' '<user>:<password>' --stack ${secretsStack}`,
        );
    });
  check(spec.access, []);
  (spec.routes ?? []).forEach((route, index) => check(route.access, ["routes", index]));
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
  stack: Pick<StackDefinition, "name" | "preview" | "customDomains" | "access">,
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
    // Only the stack's: a redirect has no access of its own, so no tenant users.
    const access = accessPlan(undefined, "", stack.access);
    planned.push({ service: target.service, redirect: { from: spec.from, to: spec.to, permanent: spec.permanent ?? true, index, ...(access ? { access } : {}) } });
  }
  return planned;
}
