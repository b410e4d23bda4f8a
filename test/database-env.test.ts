import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLATFORM_VARIABLES } from "../model/platform-env";
import { isSecretInput, ofType, PROJECT_ROOT, runProgram, stackConfig, TYPES, unwrapSecret, type ProgramRun, type RecordedResource } from "./program-harness";
import { validate } from "./validation-fixtures";

/** A Spring Boot API and a worker on the home host, a gateway on a second Docker host; Postgres and Redis. */
const BANK = `name: bank
environments: [production]
services:
  api:
    image: registry.example.com/bank/api:3.1.0
    port: 8080
    routes: []
    env: { SPRING_PROFILES_ACTIVE: prod }
    envFrom:
      SPRING_DATASOURCE_URL: JDBC_DATABASE_URL
      SPRING_DATASOURCE_USERNAME: JDBC_DATABASE_USERNAME
      SPRING_DATASOURCE_PASSWORD: JDBC_DATABASE_PASSWORD
      SPRING_DATA_REDIS_URL: REDIS_URL
  worker:
    image: registry.example.com/bank/worker:3.1.0
  gateway:
    image: registry.example.com/bank/gateway:1.0.0
    host: eu-2
    port: 8000
    routes: []
    env: { UPSTREAM: https://bank.apps.example.com }
database:
  postgres: { version: "16" }
cache:
  redis: { version: "7" }
`;

/** No database, cache or secrets: nothing in its environment needs hiding. */
const PLAIN = `name: plain
environments: [production]
services:
  web:
    image: registry.example.com/plain/web:1.0.0
    port: 8080
    routes: []
    env: { LOG_LEVEL: info }
`;

let run: ProgramRun;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "platform-database-env-"));
  writeFileSync(path.join(dir, "bank.yaml"), BANK);
  writeFileSync(path.join(dir, "plain.yaml"), PLAIN);
  run = await runProgram("production", { ...stackConfig("production"), "platform:tenantsDir": dir, "platform:secrets": {} });
  if (run.error) throw run.error;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function container(name: string): RecordedResource {
  const found = ofType(run, TYPES.container).find((c) => c.name === name);
  expect(found, name).toBeDefined();
  return found!;
}

function environment(resource: RecordedResource): Record<string, string> {
  const list = unwrapSecret(resource.inputs.envs) as string[];
  return Object.fromEntries(list.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}

/** Every input as a user could read it in state or a preview: secrets shown as [secret]. */
function readable(value: unknown): unknown {
  if (isSecretInput(value)) return "[secret]";
  if (Array.isArray(value)) return value.map(readable);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, readable(v)]));
  return value;
}

describe("the database variables a home-host service receives", () => {
  it("match what the tenant's Postgres accepts, under every fixed name", () => {
    const postgres = container("bank-postgres");
    const db = environment(postgres);
    const alias = (postgres.inputs.networksAdvanced as { aliases: string[] }[])[0]!.aliases[0]!;
    const env = environment(container("bank-api-0"));
    expect(env).toMatchObject({
      PGHOST: alias,
      PGPORT: "5432",
      PGUSER: db.POSTGRES_USER,
      PGPASSWORD: db.POSTGRES_PASSWORD,
      PGDATABASE: db.POSTGRES_DB,
      DATABASE_URL: `postgresql://${db.POSTGRES_USER}:${db.POSTGRES_PASSWORD}@${alias}:5432/${db.POSTGRES_DB}`,
      JDBC_DATABASE_URL: `jdbc:postgresql://${alias}:5432/${db.POSTGRES_DB}`,
      JDBC_DATABASE_USERNAME: db.POSTGRES_USER,
      JDBC_DATABASE_PASSWORD: db.POSTGRES_PASSWORD,
      REDIS_URL: "redis://redis:6379",
    });
    expect(env.JDBC_DATABASE_URL).not.toContain(db.POSTGRES_PASSWORD);
  });

  it("a Spring Boot service gets them under its own names as well (envFrom)", () => {
    const env = environment(container("bank-api-0"));
    expect(env.SPRING_DATASOURCE_URL).toBe(env.JDBC_DATABASE_URL);
    expect(env.SPRING_DATASOURCE_URL).toMatch(/^jdbc:postgresql:\/\//);
    expect(env.SPRING_DATASOURCE_USERNAME).toBe(env.JDBC_DATABASE_USERNAME);
    expect(env.SPRING_DATASOURCE_PASSWORD).toBe(env.JDBC_DATABASE_PASSWORD);
    expect(env.SPRING_DATA_REDIS_URL).toBe(env.REDIS_URL);
    expect(env.SPRING_PROFILES_ACTIVE).toBe("prod");
    // Another service of the tenant gets the fixed names only.
    const worker = environment(container("bank-worker-0"));
    expect(Object.keys(worker).sort()).toEqual([...PLATFORM_VARIABLES].sort());
  });

  it("the password is a secret wherever it is carried: no input shows it in plain text", () => {
    const password = environment(container("bank-postgres")).POSTGRES_PASSWORD!;
    expect(password.length).toBeGreaterThan(0);
    expect(isSecretInput(container("bank-api-0").inputs.envs)).toBe(true);
    expect(isSecretInput(container("bank-worker-0").inputs.envs)).toBe(true);
    for (const resource of run.resources) expect(JSON.stringify(readable(resource.inputs)), resource.name).not.toContain(password);
  });

  it("a service on another Docker host gets none of them (it cannot reach the database or cache)", () => {
    const gateway = container("bank-gateway-0");
    expect(environment(gateway)).toEqual({ UPSTREAM: "https://bank.apps.example.com" });
    expect(isSecretInput(gateway.inputs.envs)).toBe(false);
  });

  it("a tenant without a database or secrets keeps a plain environment", () => {
    const web = container("plain-web-0");
    expect(isSecretInput(web.inputs.envs)).toBe(false);
    expect(environment(web)).toEqual({ LOG_LEVEL: "info" });
  });
});

describe("envFrom is checked", () => {
  const tenant = (service: string, data = "database:\n  postgres: { version: \"16\" }\n") => `name: bank
environments: [production]
services:
  web:
    image: registry.example.com/bank/web:1.0.0
    port: 8080
    routes: []
${service}${data}`;

  it("an unknown source names the allowed ones, with a hint", () => {
    expect(validate({ "tenants/bank.yaml": tenant("    envFrom: { SPRING_DATASOURCE_URL: JDBC_DATABSE_URL }\n") })).toEqual([
      `tenants/bank.yaml:8:16 services.web.envFrom.SPRING_DATASOURCE_URL: "JDBC_DATABSE_URL" is not a variable the platform sets (did you mean "JDBC_DATABASE_URL"? allowed: ${PLATFORM_VARIABLES.join(", ")})`,
    ]);
  });

  it("a target may not also come from env, secrets or the platform's own names", () => {
    const service = `    env: { DB_URL: x }
    secrets: [DB_PASSWORD]
    envFrom: { DB_URL: JDBC_DATABASE_URL, DB_PASSWORD: PGPASSWORD, PGUSER: JDBC_DATABASE_USERNAME }
`;
    expect(validate({ "tenants/bank.yaml": tenant(service) })).toEqual(
      expect.arrayContaining([
        'tenants/bank.yaml:10:16 services.web.envFrom.DB_URL: "DB_URL" is also set in env; a name comes from one place',
        'tenants/bank.yaml:10:43 services.web.envFrom.DB_PASSWORD: "DB_PASSWORD" is also listed in secrets; a name comes from one place',
        'tenants/bank.yaml:10:68 services.web.envFrom.PGUSER: "PGUSER" is a variable the platform sets itself; choose the name your app reads',
      ]),
    );
  });

  it("a source the service does not receive is an error saying why", () => {
    expect(validate({ "tenants/bank.yaml": tenant("    envFrom: { CACHE: REDIS_URL }\n") })).toEqual([
      'tenants/bank.yaml:8:16 services.web.envFrom.CACHE: "REDIS_URL" is not set for this service: the tenant has no cache (add cache.redis)',
    ]);
    expect(validate({ "tenants/bank.yaml": tenant("    envFrom: { DB: DATABASE_URL }\n", "") })).toEqual([
      'tenants/bank.yaml:8:16 services.web.envFrom.DB: "DATABASE_URL" is not set for this service: the tenant has no database (add database.postgres)',
    ]);
    expect(validate({ "tenants/bank.yaml": tenant("    host: eu-2\n    envFrom: { DB: DATABASE_URL }\n") })).toEqual([
      'tenants/bank.yaml:9:16 services.web.envFrom.DB: "DATABASE_URL" is not set for this service: this service runs on host "eu-2", away from the home host "eu-1" where the database and cache are',
    ]);
  });

  it("env and secrets may not reuse a name the platform sets for the service", () => {
    expect(validate({ "tenants/bank.yaml": tenant("    env: { PGHOST: db.example.com }\n") })).toEqual([
      'tenants/bank.yaml:8:12 services.web.env.PGHOST: "PGHOST" is set by the platform for this service; use another name (or envFrom to copy it)',
    ]);
    // Without a database the name is free.
    expect(validate({ "tenants/bank.yaml": tenant("    env: { PGHOST: db.example.com }\n", "") })).toEqual([]);
  });

  it("the format reference documents every variable the platform sets", () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, "tenants", "README.md"), "utf8");
    const section = /## Variables the platform sets\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
    for (const name of PLATFORM_VARIABLES) expect(section, name).toContain(`| \`${name}\` |`);
  });
});
