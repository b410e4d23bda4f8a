import { isIP } from "node:net";
import { z } from "zod";
import { closestMatch } from "./diagnostics";
import { parseImageRef } from "./image-ref";
import { PLATFORM_VARIABLES } from "./platform-env";
import { DURATION_PATTERN, parseDurationMs, parseSize, SIZE_PATTERN } from "./units";

/**
 * The tenant file format (v1). This schema is the single source of the format: validation, the JSON Schema
 * for editors (tenants/schema.json) and the per-stack override shape are all derived from it.
 * Defaults are not applied here but in the tenant plan, so the JSON Schema stays a faithful description of the file.
 */

export const TENANT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
export const SERVICE_NAME_PATTERN = /^[a-z](?:[a-z0-9-]{0,28}[a-z0-9])?$/;
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const HOSTNAME_PATTERN = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const PATH_PATTERN = /^\/[A-Za-z0-9._~\/-]*$/;
const STACK_NAME_PATTERN = /^[a-zA-Z0-9_.-]+$/;

const stackName = z.string().regex(STACK_NAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a stack name` });
const stackList = z.array(stackName).min(1, { error: "must list at least one stack (omit the key for all stacks)" });
/**
 * Bounds a platform engineer sets so that a typo (`900Ti`, `replicas: 5000`, `interval: 0s`) is refused with the
 * bound in the message instead of reaching a host. Documented in tenants/README.md; change both together.
 */
export const TENANT_LIMITS = {
  /** Docker refuses less than 6 MB; below 16Mi no real process starts. 64Gi is a whole large host. */
  memory: { min: "16Mi", max: "64Gi" },
  /** Docker's own smallest CPU share is 0.01. */
  cpus: { min: 0.01, max: 64 },
  replicas: 20,
  services: 50,
  routes: 50,
  /** Probe interval and timeout: below 1s a probe is a load test, 0s would silently inherit the image's value. */
  probe: { min: "1s", max: "10m" },
  startPeriod: { min: "0s", max: "10m" },
} as const;

const shown = (input: unknown) => (typeof input === "string" ? `"${input}"` : String(input));

/** A value with a unit. YAML reads `512` or `10` as a number; it gets the same hint as a malformed string. */
function unitString(pattern: RegExp, notA: string) {
  const message = (input: unknown) => `${shown(input)} is not ${notA}`;
  return z
    .string({ error: (i) => (typeof i.input === "number" ? message(i.input) : undefined) })
    .regex(pattern, { error: (i) => message(i.input) });
}

/** Bounds are checked only on well-formed values: a malformed one already has its own message. */
function bounded(schema: z.ZodString, pattern: RegExp, parse: (text: string) => number, min: string, max: string, small: string, large: string) {
  return schema
    .refine((t) => !pattern.test(t) || parse(t) >= parse(min), { error: (i) => `${shown(i.input)} is too ${small} (minimum ${min})` })
    .refine((t) => !pattern.test(t) || parse(t) <= parse(max), { error: (i) => `${shown(i.input)} is too ${large} (maximum ${max})` });
}

const size = bounded(
  unitString(SIZE_PATTERN, "a size (use e.g. 512Mi or 1Gi)"),
  SIZE_PATTERN,
  parseSize,
  TENANT_LIMITS.memory.min,
  TENANT_LIMITS.memory.max,
  "small",
  "large",
);
const duration = (limits: { min: string; max: string }) =>
  bounded(
    unitString(DURATION_PATTERN, "a duration (use e.g. 10s, 1m30s or 500ms)"),
    DURATION_PATTERN,
    parseDurationMs,
    limits.min,
    limits.max,
    "short",
    "long",
  );

export const resourcesSchema = z
  .strictObject({
    cpus: z
      .number()
      .min(TENANT_LIMITS.cpus.min)
      .max(TENANT_LIMITS.cpus.max)
      .describe(`CPU cores the container may use, e.g. 0.5 (${TENANT_LIMITS.cpus.min} to ${TENANT_LIMITS.cpus.max})`),
    memory: size.describe(`Memory limit, binary units: 256Mi, 1Gi (${TENANT_LIMITS.memory.min} to ${TENANT_LIMITS.memory.max})`),
  })
  .partial()
  .describe("Resource limits; anything left out comes from the stack's defaults");

/** Bounds of the routing keys (issue 14); documented in tenants/README.md. */
export const ROUTING_LIMITS = {
  /** Requests per period: a rate of 0 would close the route, which is not what a limit is for. */
  rate: { min: 1, max: 100_000 },
  period: { min: "1s", max: "1h" },
  body: { min: "1Ki", max: "10Gi" },
} as const;

const requestCount = (what: string) =>
  z
    .number({ error: (i) => (i.input === undefined ? undefined : `${shown(i.input)} is not a number of requests`) })
    .int({ error: (i) => `${shown(i.input)} is not a whole number of requests` })
    .min(ROUTING_LIMITS.rate.min, { error: (i) => `${shown(i.input)} is not a positive number of requests (${what} is at least ${ROUTING_LIMITS.rate.min})` })
    .max(ROUTING_LIMITS.rate.max, { error: (i) => `${shown(i.input)} is too many requests (at most ${ROUTING_LIMITS.rate.max})` });

export const rateLimitSchema = z
  .strictObject({
    average: requestCount("average").describe("Requests per `period` a client IP may make on average"),
    burst: requestCount("burst").optional().describe("Requests a client IP may make at once above the average (default: `average`)"),
    period: duration(ROUTING_LIMITS.period)
      .optional()
      .describe(`The period \`average\` counts over (default 1s; ${ROUTING_LIMITS.period.min} to ${ROUTING_LIMITS.period.max}): average 5, period 1m = 5 requests a minute`),
  })
  .describe("Rate limit per client IP as the edge sees it; more requests get 429 Too Many Requests");

const bodySize = bounded(
  unitString(SIZE_PATTERN, "a size (use e.g. 512Ki or 10Mi)"),
  SIZE_PATTERN,
  parseSize,
  ROUTING_LIMITS.body.min,
  ROUTING_LIMITS.body.max,
  "small",
  "large",
).describe(
  `Largest request body accepted (${ROUTING_LIMITS.body.min} to ${ROUTING_LIMITS.body.max}); larger gets 413. The edge buffers whole requests and responses here: not for routes that stream (server-sent events)`,
);

/** An IPv4 or IPv6 address, or a CIDR range of either. */
export function isIpRange(text: string): boolean {
  const [address, prefix, ...rest] = text.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

export const accessSchema = z
  .strictObject({
    basicAuth: z
      .array(z.string().regex(ENV_NAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a secret name` }))
      .min(1, { error: "must name at least one secret (omit the key for no password)" })
      .optional()
      .describe("Secrets (platform:secrets.<tenant>.<NAME>) holding `user:password`; requests need one of them, others get 401"),
    ipAllowList: z
      .array(z.string().refine(isIpRange, { error: (i) => `"${String(i.input)}" is not an IP address or CIDR range like 203.0.113.0/24` }))
      .min(1, { error: "must list at least one address (omit the key to allow every address)" })
      .optional()
      .describe("Only these client addresses or CIDR ranges get through; others get 403"),
  })
  .refine((access) => access.basicAuth !== undefined || access.ipAllowList !== undefined, {
    error: "set basicAuth, ipAllowList or both",
  })
  .describe("Who may reach the route, e.g. staging closed to the public (set it under overrides.<stack>)");

const routeSchema = z
  .strictObject({
    host: z
      .string()
      .regex(HOSTNAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a lowercase DNS name like shop.example.com` })
      .optional()
      .describe("A custom domain routed to this service; omit it (and set `path`) for a path on the tenant's main generated host"),
    path: z
      .string()
      .regex(PATH_PATTERN, { error: (i) => `"${String(i.input)}" is not a URL path prefix like /api` })
      .optional()
      .describe("Only requests under this path prefix (default: the whole host). Without `host`: this path on the tenant's main generated host, in every stack"),
    environments: stackList
      .optional()
      .describe("Stacks that serve this route (default: a custom domain on stacks whose config sets customDomains: true, a path without `host` on every stack)"),
    rateLimit: rateLimitSchema.optional().describe("This route's own rate limit, in place of the service's (e.g. a stricter one for /auth)"),
    maxBodySize: bodySize.optional(),
    access: accessSchema.optional().describe("This route's own access control, in place of the service's"),
  })
  .refine((route) => route.host !== undefined || route.path !== undefined, {
    error: "set `host` (a custom domain), `path` (a path on the tenant's main generated host), or both",
  })
  .describe("A custom domain and/or a path prefix; the service's own generated host is always routed too");

export const healthcheckSchema = z
  .strictObject({
    path: z
      .string()
      .regex(PATH_PATTERN, { error: (i) => `"${String(i.input)}" is not a URL path like /health` })
      .optional()
      .describe("HTTP path probed inside the container with curl or wget (the image must have one of them)"),
    command: z
      .array(z.string())
      .min(1, { error: "must not be empty" })
      .optional()
      .describe("Command run inside the container; exit 0 means healthy. For images without curl/wget"),
    interval: duration(TENANT_LIMITS.probe)
      .optional()
      .describe(`Time between probes (default 10s; ${TENANT_LIMITS.probe.min} to ${TENANT_LIMITS.probe.max})`),
    timeout: duration(TENANT_LIMITS.probe)
      .optional()
      .describe(`Time a probe may take (default 5s; ${TENANT_LIMITS.probe.min} to ${TENANT_LIMITS.probe.max})`),
    retries: z.number().int().min(1).max(20).optional().describe("Failures before unhealthy (default 3)"),
    startPeriod: duration(TENANT_LIMITS.startPeriod)
      .optional()
      .describe(`Grace period after start (default 10s; ${TENANT_LIMITS.startPeriod.min} to ${TENANT_LIMITS.startPeriod.max})`),
  })
  .refine((h) => (h.path === undefined) !== (h.command === undefined), {
    error: "set exactly one of path or command",
  });

export const releaseSchema = z
  .strictObject({
    command: z
      .array(z.string().min(1, { error: "must not be an empty string" }), { error: "must be a list of strings, e.g. [migrate] or [bin/rails, db:migrate]" })
      .min(1, { error: "must not be empty: name the command the release task runs, e.g. [migrate]" })
      .describe("In place of the image's command (the entrypoint stays), like the service's `command`; exit 0 = done"),
  })
  .describe(
    "A release task (e.g. database migrations): runs once with the new image, the service's environment and networks, after the database is healthy and before any new container replaces an old one; if it fails, the rollout stops and the old containers keep serving. It runs again only when the image, the command or the environment changes",
  );

const envValue = z.union([z.string(), z.number(), z.boolean()], {
  error: "must be a string, number or boolean",
});

export const serviceSchema = z.strictObject({
  image: z
    .string()
    .refine((text) => parseImageRef(text) !== undefined, {
      error: (i) => `"${String(i.input)}" is not an image reference like registry.example.com/team/app:1.2.3`,
    })
    .describe("Image reference with a tag or digest; ':latest' and untagged are refused where the stack pins images"),
  port: z.number().int().min(1).max(65535).optional().describe("Port the container listens on (required when routed)"),
  replicas: z
    .number()
    .int()
    .min(1)
    .max(TENANT_LIMITS.replicas)
    .optional()
    .describe(`Number of containers (default 1, at most ${TENANT_LIMITS.replicas})`),
  primary: z
    .boolean()
    .optional()
    .describe("This service gets the tenant's main host <tenant>.<domain> (default: the first routed service)"),
  host: z
    .string()
    .optional()
    .describe("Docker host (from the stack config) to run on; default the tenant's home host. Only routed services may run elsewhere"),
  routes: z
    .array(routeSchema)
    .max(TENANT_LIMITS.routes)
    .optional()
    .describe("Present (even empty) = routed through Traefik on the generated host; omit for an internal-only service"),
  healthcheck: healthcheckSchema.optional(),
  rateLimit: rateLimitSchema.optional().describe("Rate limit on every route of the service (a route may set its own)"),
  sticky: z
    .boolean()
    .optional()
    .describe("Pin each client to one replica with a cookie (e.g. for server-sent events); default false"),
  compress: z
    .boolean()
    .optional()
    .describe("Compress responses (gzip, brotli, zstd) when the client accepts it; default true. Server-sent events are never compressed"),
  maxBodySize: bodySize.optional(),
  access: accessSchema.optional(),
  resources: resourcesSchema.optional(),
  command: z.array(z.string()).min(1).optional().describe("Overrides the image's command"),
  release: releaseSchema.optional(),
  env: z
    .record(z.string().regex(ENV_NAME_PATTERN, { error: (i) => `"${String(i.input)}" is not an environment variable name` }), envValue)
    .optional()
    .describe("Plain environment variables (never secrets: those go in `secrets`)"),
  envFrom: z
    .record(
      z.string().regex(ENV_NAME_PATTERN, { error: (i) => `"${String(i.input)}" is not an environment variable name` }),
      z.enum(PLATFORM_VARIABLES, { error: (i) => notAPlatformVariable(i.input) }),
    )
    .optional()
    .describe("Variables the platform sets, also given under another name: { SPRING_DATASOURCE_URL: JDBC_DATABASE_URL }"),
  secrets: z
    .array(z.string().regex(ENV_NAME_PATTERN, { error: (i) => `"${String(i.input)}" is not an environment variable name` }))
    .optional()
    .describe("Names of secrets set in the stack config under platform:secrets.<tenant>.<NAME>"),
});

function notAPlatformVariable(input: unknown): string {
  const hint = typeof input === "string" ? closestMatch(input, PLATFORM_VARIABLES) : undefined;
  const shown = typeof input === "string" ? `"${input}"` : "this";
  return `${shown} is not a variable the platform sets (${hint ? `did you mean "${hint}"? ` : ""}allowed: ${PLATFORM_VARIABLES.join(", ")})`;
}

/** The two steps that remove an old major's data volume (`database.postgres.oldVolumes`), in order. */
export const OLD_VOLUME_STEPS = ["retiring", "removed"] as const;
export type OldVolumeStep = (typeof OLD_VOLUME_STEPS)[number];

const versionSchema = (example: string) =>
  z.string().regex(/^[0-9]+(\.[0-9]+)?$/, { error: (i) => `"${String(i.input)}" is not a version like "${example}" (quote it)` });

/** How often and how many: the stack's `platform:backups` sets the defaults, a tenant's `database.backups` overrides them. */
export const backupPolicySchema = {
  every: z
    .string()
    .regex(DURATION_PATTERN, { error: (i) => `"${String(i.input)}" is not a duration like 24h or 6h` })
    .refine((text) => !DURATION_PATTERN.test(text) || parseDurationMs(text) >= 10_000, { error: "must be at least 10s" })
    .optional()
    .describe("Time between scheduled pg_dump runs (default 24h); a newer successful dump than this (plus half) is overdue"),
  keepDaily: z.number().int().min(1).max(366).optional().describe("Keep the newest dump of each of the last N days (default 7)"),
  keepWeekly: z.number().int().min(0).max(520).optional().describe("Also keep the newest dump of each of the last M weeks (default 4)"),
};

export const databaseSchema = z.strictObject({
  postgres: z.strictObject({
    version: versionSchema("16").describe(
      "Postgres version; changing the major version upgrades the data in the deployment (dump, new volume platform-<stack>-<tenant>-pgdata-pg<major>, restore, switch; the old volume stays declared and retained), and setting it back re-attaches a retained volume (docs/decommission.md)",
    ),
    resources: resourcesSchema.optional(),
    restore: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("Run on the volume `npm run db -- restore` made, platform-<stack>-<tenant>-pgdata-pg<major>-r<n>; the previous volume stays declared and retained"),
    oldVolumes: z
      .record(
        z.string().regex(/^[0-9]+$/, { error: (i) => `"${String(i.input)}" is not a Postgres major version like "15" (quote it)` }),
        z.enum(OLD_VOLUME_STEPS, { error: (i) => `"${String(i.input)}" is not one of ${OLD_VOLUME_STEPS.join(", ")}` }),
      )
      .optional()
      .describe(
        "Removes a previous major's retained data volume in two pull requests, like decommissioning: `\"15\": retiring` lifts its protection (it stays declared), then `\"15\": removed` stops declaring it (it stays on the host for `docker volume rm`)",
      ),
  }),
  backups: z
    .strictObject(backupPolicySchema)
    .optional()
    .describe("Scheduled logical backups (pg_dump) into the volume platform-<stack>-<tenant>-backups; overrides platform:backups"),
});

export const cacheSchema = z.strictObject({
  redis: z.strictObject({
    version: versionSchema("7").describe("Redis version (no persistence: it is a cache)"),
    resources: resourcesSchema.optional(),
  }),
});

const serviceNameKey = z
  .string()
  .regex(SERVICE_NAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a service name (lowercase letters, digits, '-', at most 30)` });

export const redirectSchema = z
  .strictObject({
    from: z
      .string()
      .regex(HOSTNAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a lowercase DNS name like www.shop.example.com` })
      .describe("A host that only redirects (e.g. www.shop.example.com)"),
    to: z
      .string()
      .regex(HOSTNAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a lowercase DNS name like shop.example.com` })
      .describe("A host this tenant serves in the same stack; path and query are kept"),
    permanent: z.boolean().optional().describe("301/308 (default true); false for 302/307"),
    environments: stackList
      .optional()
      .describe("Stacks that serve this redirect (default: stacks whose config sets customDomains: true, like custom domains)"),
  })
  .describe("Redirect between the tenant's own hosts: www. to the apex or the reverse");

/** Everything a stack may change about a tenant (the per-stack part of the file). */
const stackScoped = {
  host: z.string().optional().describe("Home host: where the database, cache and internal services run"),
  retiring: z
    .boolean()
    .optional()
    .describe("Decommission step 1: containers go, the database volume stays and loses protection"),
  services: z
    .record(serviceNameKey, serviceSchema)
    .refine((services) => Object.keys(services).length > 0, { error: "must define at least one service" })
    .refine((services) => Object.keys(services).length <= TENANT_LIMITS.services, {
      error: (i) => `has ${Object.keys(i.input as object).length} services; a tenant may have at most ${TENANT_LIMITS.services}`,
    })
    .meta({ maxProperties: TENANT_LIMITS.services }),
  database: databaseSchema.optional(),
  cache: cacheSchema.optional(),
  redirects: z.array(redirectSchema).max(TENANT_LIMITS.routes).optional().describe("Hosts that redirect to another host of this tenant"),
};

export const tenantSchema = z
  .strictObject({
    name: z
      .string()
      .regex(TENANT_NAME_PATTERN, {
        error: (i) => `"${String(i.input)}" is not a tenant name (2-40 chars: lowercase letters, digits, '-'; starts with a letter)`,
      }),
    environments: stackList.optional().describe("Stacks that run this tenant (default: all)"),
    ...stackScoped,
    overrides: z
      .record(stackName, z.unknown())
      .optional()
      .describe("Per-stack deep merge over this file (maps merge, lists and values replace)"),
  })
  .describe("A tenant of the platform: one file per tenant in tenants/, named <name>.yaml");

export type TenantFile = z.infer<typeof tenantSchema>;
export type ServiceSpec = z.infer<typeof serviceSchema>;
export type HealthcheckSpec = z.infer<typeof healthcheckSchema>;
export type ResourcesSpec = z.infer<typeof resourcesSchema>;
export type RateLimitSpec = z.infer<typeof rateLimitSchema>;
export type RedirectSpec = z.infer<typeof redirectSchema>;
export type AccessSpec = z.infer<typeof accessSchema>;
export type ReleaseSpec = z.infer<typeof releaseSchema>;

/**
 * The shape of `overrides.<stack>`: the stack-scoped keys, every key optional at every depth, unknown keys refused.
 * Lists replace rather than merge, so they keep their full item schema.
 */
export const tenantOverrideSchema = deepPartial(z.strictObject(stackScoped));

function deepPartial(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional) return deepPartial(schema.unwrap() as z.ZodType).optional();
  if (schema instanceof z.ZodPipe) return deepPartial(schema.in as z.ZodType);
  if (schema instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = {};
    for (const [key, value] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const inner = value instanceof z.ZodOptional ? (value.unwrap() as z.ZodType) : value;
      shape[key] = deepPartial(inner).optional();
    }
    return z.strictObject(shape);
  }
  if (schema instanceof z.ZodRecord) return z.record(schema.keyType as z.ZodString, deepPartial(schema.valueType as z.ZodType));
  return schema;
}

/** The JSON Schema editors use (tenants/schema.json), generated from the zod schema itself. */
export function tenantJsonSchema(): Record<string, unknown> {
  const overrides = z.toJSONSchema(tenantOverrideSchema, { io: "input", unrepresentable: "any" });
  const base = z.toJSONSchema(tenantSchema, { io: "input", unrepresentable: "any" }) as Record<string, any>;
  delete overrides.$schema;
  base.title = "Platform tenant (v1)";
  base.properties.overrides.additionalProperties = overrides;
  return base;
}
