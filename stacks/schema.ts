import { z } from "zod";
import { credentialProblem } from "../model/basic-auth";
import { SECRET_PLACEHOLDER } from "../model/project-files";
import { OFFSITE_SECRET_DEFAULTS } from "../model/stack";
import { accessSchema, backupPolicySchema, HOSTNAME_PATTERN, resourcesSchema, SERVICE_NAME_PATTERN, TENANT_NAME_PATTERN } from "../model/tenant-schema";

/**
 * Stack config: every key lives under the `platform` namespace of Pulumi.<stack>.yaml (`platform:domain`, ...).
 * Keys are validated one by one so an error can name the exact config key.
 */

const hostName = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, { error: (i) => `"${String(i.input)}" is not a host name (lowercase letters, digits, '-')` });
const dockerUrl = z
  .string()
  .regex(/^(unix:\/\/\/.+|ssh:\/\/[^@\s]+@[^\s:/]+(:[0-9]+)?|tcp:\/\/[^\s]+)$/, {
    error: (i) => `"${String(i.input)}" is not a Docker host URL (use unix:///var/run/docker.sock or ssh://user@host)`,
  });
const domain = z.string().regex(HOSTNAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a lowercase domain like example.com` });
const port = z.number().int().min(1).max(65535);
/** The name of a secret under `secrets.platform`. */
const secretName = (example: string) =>
  z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: (i) => `"${String(i.input)}" is not a secret name like ${example}` });
/** A Prometheus duration: a number and a unit (ms, s, m, h, d, w, y). */
const duration = (example: string) =>
  z.string().regex(/^[1-9][0-9]*(ms|s|m|h|d|w|y)$/, { error: (i) => `"${String(i.input)}" is not a duration like ${example}` });
/** An image reference with the tenant's version in it: `{version}` as written ("16.4"), `{major}` ("16"). */
const versionTemplate = (example: string) =>
  z.string().refine((t) => t.includes("{version}") || t.includes("{major}"), { error: `must contain {version} or {major}, e.g. ${example}` });

export const stackConfigKeys = {
  domain: domain.describe("Base domain: tenants get <tenant><hostSuffix>.<domain>"),
  hostSuffix: z
    .string()
    .regex(/^(-[a-z0-9-]*[a-z0-9])?$/, { error: (i) => `"${String(i.input)}" is not a host suffix like -staging (or "" for none)` })
    .optional(),
  hosts: z
    .record(
      hostName,
      z.strictObject({
        url: dockerUrl,
        sshOpts: z.array(z.string()).optional(),
        // Docker Engine 25+ runs health probes every `startInterval` during the start period, so a healthy
        // replacement is seen within about a second. On older engines the provider refuses to create a container
        // with it (API < 1.44): the stack says what its hosts support (bench/REAL-ENGINE.md).
        healthcheckStartInterval: z.boolean().optional(),
      }),
    )
    .refine((hosts) => Object.keys(hosts).length > 0, { error: "must name at least one Docker host" }),
  defaultHost: hostName.optional(),
  tls: z.enum(["acme", "self-signed", "none"]).optional(),
  acme: z
    .strictObject({
      email: z.email({ error: (i) => `"${String(i.input)}" is not an email address` }),
      ca: z.union([z.enum(["staging", "production"]), z.url()], { error: "must be staging, production or a CA directory URL" }),
      challenge: z.enum(["http", "tls"]),
    })
    .optional(),
  edge: z
    .strictObject({
      image: z.string().min(1).optional(),
      pauseImage: z.string().min(1).optional(),
      keeperImage: z.string().min(1).optional(),
      pinImage: z.string().min(1).optional(),
      socketProxyImage: z.string().min(1).optional(),
      httpPort: port.optional(),
      httpsPort: port.optional(),
      accessLog: z.boolean().optional(),
      dashboard: z
        .strictObject({ enabled: z.boolean(), port: port.optional() })
        .optional(),
    })
    .optional(),
  images: z
    .strictObject({
      postgres: versionTemplate("postgres:{version}").optional(),
      redis: versionTemplate("redis:{version}-alpine").optional(),
      replace: z.record(z.string(), z.string()).optional(),
      pull: z.boolean().optional(),
    })
    .optional(),
  defaults: z
    .strictObject({
      resources: resourcesSchema.optional(),
      databaseResources: resourcesSchema.optional(),
    })
    .optional(),
  protectData: z.boolean().optional(),
  pinnedImages: z.boolean().optional(),
  customDomains: z.boolean().optional(),
  // Access control on every tenant router of the stack (staging and its previews closed to the public): its
  // basicAuth names secrets under platform:secrets.platform.<NAME>; a tenant's own access adds to it, never opens it.
  access: accessSchema.optional(),
  tenantsDir: z.string().min(1).optional(),
  secrets: z.record(z.string(), z.record(z.string(), z.string())).optional(),
  registries: z
    .array(z.strictObject({ server: z.string().min(1), username: z.string().min(1), password: z.string().min(1) }))
    .optional(),
  // Scheduled pg_dump per tenant with a database (components/backups.ts): defaults a tenant's database.backups
  // overrides; a failed run POSTs to the URL in secrets.platform.<hookSecret>; with offsite, every good dump is also
  // copied by rclone to <bucket>/<prefix>/<stack>/<tenant>/, its keys in secrets.platform.<…Secret>.
  backups: z
    .strictObject({
      ...backupPolicySchema,
      image: z.string().min(1).optional(),
      hookSecret: secretName("BACKUP_HOOK_URL").optional(),
      offsite: z
        .strictObject({
          endpoint: z.url({ protocol: /^https?$/, error: (i) => `"${String(i.input)}" is not an http(s) URL like https://s3.eu-central-1.amazonaws.com` }),
          bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: (i) => `"${String(i.input)}" is not a bucket name (3-63 lowercase letters, digits, '.', '-')` }),
          region: z.string().regex(/^[a-z0-9-]+$/, { error: (i) => `"${String(i.input)}" is not a region like eu-central-1` }).optional(),
          prefix: z
            .string()
            .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, { error: (i) => `"${String(i.input)}" is not a path like platform/backups (no leading or trailing '/')` })
            .optional(),
          accessKeyIdSecret: secretName("BACKUP_S3_ACCESS_KEY_ID").optional(),
          secretAccessKeySecret: secretName("BACKUP_S3_SECRET_ACCESS_KEY").optional(),
        })
        .optional(),
    })
    .optional(),
  // The optional monitoring stack per Docker host (components/monitoring.ts, docs/monitoring.md): Prometheus on the
  // host's loopback, scraping Traefik, a blackbox probe of each routed service and the node exporter. Off by default.
  monitoring: z
    .strictObject({
      enabled: z.boolean(),
      port: port.optional(),
      retention: duration("15d").optional(),
      scrapeInterval: duration("30s").optional(),
      images: z
        .strictObject({
          prometheus: z.string().min(1).optional(),
          blackboxExporter: z.string().min(1).optional(),
          nodeExporter: z.string().min(1).optional(),
        })
        .optional(),
    })
    .optional(),
  // A local development stack runs whatever tenants the repo holds without their images or secrets: app images
  // without an `images.replace` entry run `fallbackImage`, unset secrets get generated placeholders.
  dev: z
    .strictObject({
      fallbackImage: z.string().min(1),
      placeholderSecrets: z.boolean().optional(),
    })
    .optional(),
  // Only in the untracked Pulumi.<preview>.yaml that `npm run preview` copies from the base stack's file: this stack
  // runs the listed tenants as its base sees them, behind the base's edge (model/preview-stack.ts).
  preview: z
    .strictObject({
      base: z.string().regex(/^[a-zA-Z0-9_.-]+$/, { error: (i) => `"${String(i.input)}" is not a stack name` }),
      pr: z.number().int().min(1),
      tenants: z.array(z.string().regex(TENANT_NAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a tenant name` })).min(1),
      app: z
        .strictObject({
          repo: z.string().regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, { error: (i) => `"${String(i.input)}" is not a DNS-safe repository name` }),
          service: z.string().regex(SERVICE_NAME_PATTERN, { error: (i) => `"${String(i.input)}" is not a service name` }),
          image: z.string().min(1),
        })
        .optional(),
      edgePauseIds: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
} as const;

export type StackConfigKey = keyof typeof stackConfigKeys;
export const STACK_CONFIG_KEYS = Object.keys(stackConfigKeys) as StackConfigKey[];

export const stackConfigSchema = z.strictObject(stackConfigKeys).superRefine((config, ctx) => {
  const hostNames = Object.keys(config.hosts);
  if (config.defaultHost !== undefined && !hostNames.includes(config.defaultHost))
    ctx.addIssue({ code: "custom", path: ["defaultHost"], message: `"${config.defaultHost}" is not one of hosts: ${hostNames.join(", ")}` });
  if (config.defaultHost === undefined && hostNames.length > 1)
    ctx.addIssue({ code: "custom", path: ["defaultHost"], message: `is required when there are several hosts (one of: ${hostNames.join(", ")})` });
  const remote = Object.entries(config.hosts).filter(([, host]) => !host.url.startsWith("unix://"));
  if (config.dev !== undefined && remote.length > 0)
    ctx.addIssue({
      code: "custom",
      path: ["dev"],
      message: `is only for stacks on the local Docker socket (${remote.map(([name]) => name).join(", ")} ${remote.length > 1 ? "are" : "is"} remote): stand-in images and secrets never reach a real host`,
    });
  if (config.preview?.app && config.preview.tenants.length !== 1)
    ctx.addIssue({ code: "custom", path: ["preview", "tenants"], message: "an application repository's preview runs exactly one tenant" });
  if (config.preview?.base === "production")
    ctx.addIssue({ code: "custom", path: ["preview", "base"], message: "production is never a preview's base: previews run beside staging (or dev)" });
  const hookSecret = config.backups?.hookSecret;
  if (hookSecret !== undefined && config.secrets?.platform?.[hookSecret] === undefined)
    ctx.addIssue({
      code: "custom",
      path: ["backups", "hookSecret"],
      message: `secret "${hookSecret}" is not set; run: pulumi config set --secret --path 'secrets.platform.${hookSecret}' '<webhook URL>'`,
    });
  const offsite = config.backups?.offsite;
  if (offsite)
    for (const [key, name] of [
      ["accessKeyIdSecret", offsite.accessKeyIdSecret ?? OFFSITE_SECRET_DEFAULTS.accessKeyId],
      ["secretAccessKeySecret", offsite.secretAccessKeySecret ?? OFFSITE_SECRET_DEFAULTS.secretAccessKey],
    ] as const)
      if (config.secrets?.platform?.[name] === undefined)
        ctx.addIssue({
          code: "custom",
          path: ["backups", "offsite", ...(offsite[key] === undefined ? [] : [key])],
          message: `secret "${name}" is not set; run: pulumi config set --secret --path 'secrets.platform.${name}' '<S3 ${key === "accessKeyIdSecret" ? "access key id" : "secret access key"}>'`,
        });
  (config.access?.basicAuth ?? []).forEach((name, index) => {
    const value = config.secrets?.platform?.[name];
    const problem = value === undefined || value === SECRET_PLACEHOLDER ? undefined : credentialProblem(value);
    if (value === undefined || problem)
      ctx.addIssue({
        code: "custom",
        path: ["access", "basicAuth", index],
        message: `secret "${name}" ${problem ?? "is not set"}; run: pulumi config set --secret --path 'secrets.platform.${name}' '<user>:<password>'`,
      });
  });
  // Every port the stack publishes on a host, so a monitoring port that collides fails here rather than at deploy.
  if (config.monitoring?.enabled) {
    const monitoringPort = config.monitoring.port ?? 9090;
    const taken: [string, number | undefined][] = [
      ["edge.httpPort", config.edge?.httpPort ?? 80],
      ["edge.httpsPort", (config.tls ?? "acme") === "none" ? undefined : (config.edge?.httpsPort ?? 443)],
      ["edge.dashboard.port", config.edge?.dashboard?.enabled ? (config.edge.dashboard.port ?? 8080) : undefined],
    ];
    const clash = taken.find(([, p]) => p === monitoringPort);
    if (clash) ctx.addIssue({ code: "custom", path: ["monitoring", "port"], message: `${monitoringPort} is already platform:${clash[0]}; pick another port` });
  }
  if ((config.tls ?? "acme") === "acme" && config.acme === undefined)
    ctx.addIssue({ code: "custom", path: ["acme"], message: "is required when tls is acme: set email, ca (staging|production) and challenge (http|tls)" });
});

export type StackConfig = z.infer<typeof stackConfigSchema>;
