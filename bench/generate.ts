import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { decodeConfigValue } from "../stacks/definition";

/**
 * Realistic, valid tenant sets for the benchmark: four shapes modelled on the seed tenants (acme, wishlist, notes
 * and an API with a cache), 2-4 services each, all with Postgres, a third with Redis, custom domains, secrets,
 * per-stack overrides and a service on the second production host. Deterministic: same size, same files.
 */

export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const BENCH_STACKS = ["production", "staging"] as const;

type Tenant = Record<string, unknown>;
const KINDS = ["shop", "wish", "notes", "api"] as const;

function tenant(index: number): { name: string; body: Tenant; secrets: string[] } {
  const kind = KINDS[index % KINDS.length]!;
  const name = `${kind}-${String(index).padStart(4, "0")}`;
  const image = (svc: string, tag: string) => `registry.example.com/${name}/${svc}:${tag}`;
  const domain = `${name}.example`;
  const staging = { services: {} as Record<string, unknown> };
  let body: Tenant;
  let secrets: string[];
  if (kind === "shop") {
    secrets = ["STRIPE_KEY"];
    body = {
      services: {
        web: {
          image: image("web", "1.4.2"), port: 8080, replicas: 2, routes: [{ host: `shop.${domain}` }], healthcheck: { path: "/health" },
          resources: { cpus: 0.5, memory: "512Mi" }, env: { LOG_LEVEL: "info" }, secrets,
        },
        worker: { image: image("web", "1.4.2"), command: ["bin/worker"], resources: { memory: "256Mi" } },
      },
      database: { postgres: { version: "16" } },
    };
    staging.services = { web: { replicas: 1, env: { LOG_LEVEL: "debug" } } };
  } else if (kind === "wish") {
    secrets = ["JWT_SECRET"];
    body = {
      host: "eu-1",
      services: {
        frontend: { image: image("frontend", "2.3.0"), port: 80, routes: [{ host: domain }], healthcheck: { path: "/" }, resources: { cpus: 0.25, memory: "128Mi" } },
        api: {
          image: image("api", "2.3.0"), port: 8000, replicas: 2, routes: [{ host: `api.${domain}` }],
          healthcheck: { path: "/healthz", interval: "5s", startPeriod: "20s" }, resources: { cpus: 1, memory: "1Gi" },
          env: { RESOLVER_URL: `https://${name}-resolver.apps.example.com`, SSE_BACKEND: "redis" }, secrets,
        },
        resolver: {
          image: image("resolver", "1.8.1"), host: "eu-2", port: 8001, replicas: 2, routes: [],
          healthcheck: { command: ["/app/healthcheck"], interval: "15s", timeout: "10s" }, resources: { cpus: 1, memory: "2Gi" },
        },
        worker: { image: image("api", "2.3.0"), command: ["python", "-m", "app.worker"], resources: { cpus: 0.25, memory: "256Mi" } },
      },
      database: { postgres: { version: "16", resources: { memory: "2Gi" } } },
      cache: { redis: { version: "7" } },
    };
    staging.services = { api: { replicas: 1 }, resolver: { host: "eu-1", replicas: 1, resources: { memory: "1Gi" } } };
  } else if (kind === "notes") {
    secrets = ["SECRET_KEY_BASE"];
    body = {
      services: {
        frontend: { image: image("frontend", "0.9.0"), port: 80, routes: [{ host: `notes.${domain}` }], healthcheck: { path: "/" } },
        backend: {
          image: image("backend", "0.9.0"), port: 4000, routes: [{ host: `notes.${domain}`, path: "/api" }], healthcheck: { path: "/api/health" },
          resources: { memory: "512Mi" }, env: { PHX_HOST: `notes.${domain}`, POOL_SIZE: 10 }, secrets,
        },
      },
      database: { postgres: { version: "15" } },
    };
    staging.services = { backend: { env: { POOL_SIZE: 2 } } };
  } else {
    secrets = ["API_TOKEN", "SENTRY_DSN"];
    body = {
      services: {
        api: {
          image: image("api", "3.1.0"), port: 3000, replicas: 3, routes: [{ host: `api.${domain}` }], healthcheck: { path: "/ready", retries: 5 },
          resources: { cpus: 1, memory: "768Mi" }, env: { NODE_ENV: "production", CACHE: true }, secrets,
        },
        scheduler: { image: image("api", "3.1.0"), command: ["node", "scheduler.js"], secrets: ["API_TOKEN"] },
        admin: { image: image("admin", "1.0.4"), port: 8080, routes: [], healthcheck: { path: "/admin/health" } },
      },
      database: { postgres: { version: "16" } },
      cache: { redis: { version: "7", resources: { memory: "256Mi" } } },
    };
    staging.services = { api: { replicas: 1, env: { NODE_ENV: "staging" } } };
  }
  return { name, body: { name, ...body, overrides: { staging } }, secrets };
}

/** `platform:*` config for a stack as the engine hands it over: the repo's stack file, secrets set, tenants dir moved. */
function stackValues(stack: string, tenantsDir: string, secrets: Record<string, Record<string, string>>): Record<string, unknown> {
  const file = parse(readFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(file.config)) if (key.startsWith("platform:")) values[key.slice("platform:".length)] = decodeConfigValue(key.slice("platform:".length), value);
  return { ...values, tenantsDir, secrets };
}

export interface GeneratedSet {
  dir: string;
  tenantsDir: string;
  /** Per stack, `platform:*` values keyed without the prefix. */
  config: Record<(typeof BENCH_STACKS)[number], Record<string, unknown>>;
}

export function generateTenants(size: number, root: string): GeneratedSet {
  const dir = path.join(root, `tenants-${size}`);
  const tenantsDir = path.join(dir, "tenants");
  mkdirSync(tenantsDir, { recursive: true });
  const secrets: Record<string, Record<string, string>> = {};
  for (let i = 1; i <= size; i++) {
    const { name, body, secrets: names } = tenant(i);
    writeFileSync(path.join(tenantsDir, `${name}.yaml`), `# yaml-language-server: $schema=./schema.json\n${stringify(body)}`);
    secrets[name] = Object.fromEntries(names.map((n) => [n, `bench-secret-${name}-${n}`]));
  }
  const config = {
    production: stackValues("production", tenantsDir, secrets),
    staging: stackValues("staging", tenantsDir, secrets),
  };
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  return { dir, tenantsDir, config };
}
