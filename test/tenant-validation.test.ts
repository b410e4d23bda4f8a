import { describe, expect, it } from "vitest";
import { validateTenants } from "../model/validate";
import { minimalTenant, repoStacks, validate } from "./validation-fixtures";

/** Each case: a broken file and the exact error line a user sees (file:line:column key.path: message). */
const cases: { title: string; files: Record<string, string>; expected: string[] }[] = [
  {
    title: "a size without a unit",
    files: {
      "tenants/acme.yaml": `name: acme
services:
  web:
    image: registry.example.com/acme/web:1.0.0
    port: 8080
    routes: []
    resources:
      cpus: 0.5
      memory: "512"
`,
    },
    expected: ['tenants/acme.yaml:9:7 services.web.resources.memory: "512" is not a size (use e.g. 512Mi or 1Gi)'],
  },
  {
    title: "an unknown key points at the key itself and suggests the right one",
    files: { "tenants/acme.yaml": minimalTenant().replace("    port: 8080\n", "    port: 8080\n    replica: 2\n") },
    expected: [
      'tenants/acme.yaml:6:5 services.web.replica: unknown key "replica" (did you mean "replicas"? allowed: image, port, replicas, primary, host, routes, healthcheck, rateLimit, sticky, compress, maxBodySize, access, resources, command, release, env, envFrom, secrets)',
    ],
  },
  {
    title: "an unknown top-level key",
    files: { "tenants/acme.yaml": `${minimalTenant()}databse:\n  postgres: { version: "16" }\n` },
    expected: [
      'tenants/acme.yaml:7:1 databse: unknown key "databse" (did you mean "database"? allowed: name, environments, host, retiring, services, database, cache, redirects, overrides)',
    ],
  },
  {
    title: "file name differs from name",
    files: { "tenants/acme.yaml": minimalTenant("acme-shop") },
    expected: ['tenants/acme.yaml:1:1 name: "acme-shop" must equal the file name "acme" (rename the file or the tenant)'],
  },
  {
    title: "an invalid tenant name",
    files: { "tenants/Acme_Shop.yaml": minimalTenant().replace("name: acme", "name: Acme_Shop") },
    expected: [
      'tenants/Acme_Shop.yaml:1:1 name: "Acme_Shop" is not a tenant name (2-40 chars: lowercase letters, digits, \'-\'; starts with a letter)',
    ],
  },
  {
    title: "a missing name",
    files: { "tenants/acme.yaml": minimalTenant().replace("name: acme\n", "") },
    expected: ["tenants/acme.yaml:1:1 name: is required (a string)"],
  },
  {
    title: "no services",
    files: { "tenants/acme.yaml": "name: acme\nservices: {}\n" },
    expected: ["tenants/acme.yaml:2:1 services: must define at least one service"],
  },
  {
    title: "a missing image",
    files: { "tenants/acme.yaml": "name: acme\nservices:\n  web:\n    port: 8080\n" },
    expected: ["tenants/acme.yaml:3:3 services.web.image: is required (a string)"],
  },
  {
    title: "a malformed image reference",
    files: { "tenants/acme.yaml": minimalTenant().replace("registry.example.com/acme/web:1.0.0", "Registry/Web::1") },
    expected: ['tenants/acme.yaml:4:5 services.web.image: "Registry/Web::1" is not an image reference like registry.example.com/team/app:1.2.3'],
  },
  {
    title: "':latest' in production (stack rule, checked for every stack the tenant runs in)",
    files: { "tenants/acme.yaml": minimalTenant().replace(":1.0.0", ":latest") },
    expected: [
      'tenants/acme.yaml:4:5 services.web.image: "registry.example.com/acme/web:latest" is not pinned: stack production requires a tag other than latest, or a digest',
    ],
  },
  {
    title: "an untagged image in production",
    files: { "tenants/acme.yaml": minimalTenant().replace(":1.0.0", "") },
    expected: [
      'tenants/acme.yaml:4:5 services.web.image: "registry.example.com/acme/web" is not pinned: stack production requires a tag other than latest, or a digest',
    ],
  },
  {
    title: "a port out of range",
    files: { "tenants/acme.yaml": minimalTenant().replace("port: 8080", "port: 70000") },
    expected: ["tenants/acme.yaml:5:5 services.web.port: 70000 is too large (maximum 65535)"],
  },
  {
    title: "replicas given as a word",
    files: { "tenants/acme.yaml": minimalTenant().replace("port: 8080", "port: 8080\n    replicas: two") },
    expected: ['tenants/acme.yaml:6:5 services.web.replicas: expected a number, got "two"'],
  },
  {
    title: "a routed service without a port",
    files: { "tenants/acme.yaml": minimalTenant().replace("    port: 8080\n", "") },
    expected: [
      "tenants/acme.yaml:5:5 services.web.routes: a routed service needs `port` (the port its container listens on)",
    ],
  },
  {
    title: "a health check with both path and command",
    files: { "tenants/acme.yaml": `${minimalTenant()}    healthcheck: { path: /health, command: [/bin/true] }\n` },
    expected: ["tenants/acme.yaml:7:5 services.web.healthcheck: set exactly one of path or command"],
  },
  {
    title: "a bad duration",
    files: { "tenants/acme.yaml": `${minimalTenant()}    healthcheck:\n      path: /health\n      interval: 10 seconds\n` },
    expected: ['tenants/acme.yaml:9:7 services.web.healthcheck.interval: "10 seconds" is not a duration (use e.g. 10s, 1m30s or 500ms)'],
  },
  {
    title: "a custom host that is not a DNS name",
    files: { "tenants/acme.yaml": minimalTenant().replace("routes: []", "routes:\n      - host: Shop_Acme") },
    expected: ['tenants/acme.yaml:7:9 services.web.routes[0].host: "Shop_Acme" is not a lowercase DNS name like shop.example.com'],
  },
  {
    title: "a secret that is not set in the stack config names the exact command",
    files: { "tenants/acme.yaml": `${minimalTenant()}    secrets: [API_TOKEN]\n`.replace("\n", "\nenvironments: [staging]\n") },
    expected: [
      "tenants/acme.yaml:8:15 services.web.secrets[0]: secret \"API_TOKEN\" is not set in stack staging; run: pulumi config set --secret --path 'secrets.acme.API_TOKEN' <value> --stack staging",
    ],
  },
  {
    title: "an environment that is not a stack",
    files: { "tenants/acme.yaml": minimalTenant().replace("\n", "\nenvironments: [stagin]\n") },
    expected: ['tenants/acme.yaml:2:16 environments[0]: "stagin" is not a stack (did you mean "staging"? stacks: dev, production, staging)'],
  },
  {
    title: "an override for an unknown stack",
    files: { "tenants/acme.yaml": `${minimalTenant()}overrides:\n  prod: { services: { web: { replicas: 1 } } }\n` },
    expected: ['tenants/acme.yaml:8:3 overrides.prod: "prod" is not a stack (did you mean "production"? stacks: dev, production, staging)'],
  },
  {
    title: "an unknown key inside an override",
    files: { "tenants/acme.yaml": `${minimalTenant()}overrides:\n  staging:\n    services:\n      web: { replicaz: 1 }\n` },
    expected: [
      'tenants/acme.yaml:10:14 overrides.staging.services.web.replicaz: unknown key "replicaz" (did you mean "replicas"? allowed: image, port, replicas, primary, host, routes, healthcheck, rateLimit, sticky, compress, maxBodySize, access, resources, command, release, env, envFrom, secrets)',
    ],
  },
  {
    title: "a host the stack does not have",
    files: { "tenants/acme.yaml": minimalTenant().replace("\n", "\nhost: eu-3\n") },
    expected: [
      'tenants/acme.yaml:2:1 host: host "eu-3" is not a host of stack production (hosts: eu-1, eu-2)',
      'tenants/acme.yaml:2:1 host: host "eu-3" is not a host of stack staging (hosts: eu-1)',
    ],
  },
  {
    title: "an internal service placed away from the home host",
    files: { "tenants/acme.yaml": `${minimalTenant()}  worker:\n    image: registry.example.com/acme/worker:1.0.0\n    host: eu-2\n`.replace("\n", "\nenvironments: [production]\n") },
    expected: [
      'tenants/acme.yaml:10:5 services.worker.host: only routed services may run away from the home host "eu-1" (add routes, or remove host)',
    ],
  },
  {
    title: "a reserved service name",
    files: { "tenants/acme.yaml": `${minimalTenant()}  postgres:\n    image: registry.example.com/acme/pg:1.0.0\n` },
    expected: [
      "tenants/acme.yaml:7:3 services.postgres: \"postgres\" is reserved for the platform's own containers (reserved: postgres, redis, pgdata, db, data, apps, ingress, net, edge, backup, backups)",
    ],
  },
  {
    title: "a reserved tenant name",
    files: { "tenants/traefik.yaml": minimalTenant("traefik") },
    expected: ['tenants/traefik.yaml:1:1 name: "traefik" is reserved by the platform (reserved: platform, traefik, edge, www, default, host)'],
  },
  {
    title: "a tenant name that looks like a generated host suffix",
    files: { "tenants/acme-staging.yaml": minimalTenant("acme-staging") },
    expected: ['tenants/acme-staging.yaml:1:1 name: "acme-staging" ends like a generated host suffix (-staging); choose another name'],
  },
  {
    title: "a YAML syntax error",
    files: { "tenants/acme.yaml": "name: acme\nservices:\n  web: [unclosed\n" },
    expected: ["tenants/acme.yaml:4:1 (yaml): YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]"],
  },
  {
    title: "a duplicate key",
    files: { "tenants/acme.yaml": minimalTenant().replace("    port: 8080\n", "    port: 8080\n    port: 9090\n") },
    expected: ["tenants/acme.yaml:6:5 services.web.port: duplicate key (each key may appear once per map)"],
  },
  {
    title: "a file that is not a map",
    files: { "tenants/acme.yaml": "- name: acme\n" },
    expected: ["tenants/acme.yaml:1:1 (root): a tenant file must be a map with at least `name` and `services`"],
  },
  {
    title: "an env var name that is not one",
    files: { "tenants/acme.yaml": `${minimalTenant()}    env: { log-level: info }\n` },
    expected: ['tenants/acme.yaml:7:12 services.web.env.log-level: "log-level" is not an environment variable name'],
  },
  {
    title: "a Postgres version that is not a string",
    files: { "tenants/acme.yaml": `${minimalTenant()}database:\n  postgres: { version: 16 }\n` },
    expected: ["tenants/acme.yaml:8:15 database.postgres.version: expected a string, got 16"],
  },
  {
    title: "two primary services",
    files: {
      "tenants/acme.yaml": `${minimalTenant().replace("routes: []", "routes: []\n    primary: true")}  admin:\n    image: registry.example.com/acme/admin:1.0.0\n    port: 80\n    routes: []\n    primary: true\n`,
    },
    expected: ["tenants/acme.yaml:12:5 services.admin.primary: only one service may be primary (also: web)"],
  },
  {
    title: "an override that breaks a rule names the stack it applies to",
    files: { "tenants/acme.yaml": `${minimalTenant()}overrides:\n  staging: { services: { web: { healthcheck: { path: /h, command: [x] } } } }\n` },
    expected: [
      "tenants/acme.yaml:8:33 services.web.healthcheck: set exactly one of path or command (after overrides for stack staging)",
    ],
  },
];

describe("a bad tenant file gets one exact error line per problem", () => {
  it.each(cases)("$title", ({ files, expected }) => {
    expect(validate(files)).toEqual(expected);
  });

  it("covers at least 25 distinct bad inputs", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
});

describe("rules across files name every file involved", () => {
  it("a custom host claimed by two tenants in the same stack", () => {
    const route = "routes:\n      - { host: shop.example.org, environments: [staging] }";
    expect(
      validate({
        "tenants/acme.yaml": minimalTenant("acme").replace("routes: []", route),
        "tenants/beta.yaml": minimalTenant("beta").replace("routes: []", route),
      }),
    ).toEqual([
      'tenants/acme.yaml:7:11 services.web.routes[0].host: host "shop.example.org" is also claimed in stack staging by tenants/beta.yaml (services.web.routes[0].host)',
      'tenants/beta.yaml:7:11 services.web.routes[0].host: host "shop.example.org" is also claimed in stack staging by tenants/acme.yaml (services.web.routes[0].host)',
    ]);
  });

  it("a custom host equal to another tenant's generated host", () => {
    const errors = validate({
      "tenants/acme.yaml": minimalTenant("acme").replace("routes: []", "routes:\n      - { host: beta.apps.example.com }"),
      "tenants/beta.yaml": minimalTenant("beta"),
    });
    expect(errors).toEqual([
      'tenants/acme.yaml:7:11 services.web.routes[0].host: host "beta.apps.example.com" is also claimed in stack production by tenants/beta.yaml (services.web.routes)',
      'tenants/beta.yaml:6:5 services.web.routes: host "beta.apps.example.com" is also claimed in stack production by tenants/acme.yaml (services.web.routes[0].host)',
    ]);
  });

  it("resource names that would clash (a-b + c vs a + b-c)", () => {
    const errors = validate({
      "tenants/ab-cd.yaml": minimalTenant("ab-cd").replace("  web:", "  ef:"),
      "tenants/ab.yaml": minimalTenant("ab").replace("  web:", "  cd-ef:"),
    });
    expect(errors).toContain(
      'tenants/ab-cd.yaml:3:3 services.ef: resource names "ab-cd-ef-..." would clash with tenants/ab.yaml (services.cd-ef); rename the tenant or service',
    );
    expect(errors).toContain(
      'tenants/ab.yaml:3:3 services.cd-ef: resource names "ab-cd-ef-..." would clash with tenants/ab-cd.yaml (services.ef); rename the tenant or service',
    );
  });

  it("the same tenant name in two directories", () => {
    expect(validate({ "one/acme.yaml": minimalTenant(), "two/acme.yaml": minimalTenant() })).toEqual([
      'one/acme.yaml:1:1 name: tenant "acme" is also defined in two/acme.yaml',
      'two/acme.yaml:1:1 name: tenant "acme" is also defined in one/acme.yaml',
    ]);
  });

  it("reports every problem of every file in one run", () => {
    const errors = validate({
      "tenants/acme.yaml": minimalTenant().replace("port: 8080", "port: 0"),
      "tenants/beta.yaml": "name: beta\nservices:\n  web: { image: 'x:1', replicas: 0 }\n",
    });
    expect(errors).toEqual([
      "tenants/acme.yaml:5:5 services.web.port: 0 is too small (minimum 1)",
      "tenants/beta.yaml:3:24 services.web.replicas: 0 is too small (minimum 1)",
    ]);
  });
});

describe("stacks", () => {
  it("a stack configured without a stack file still runs tenants that name no environments", () => {
    const staging = repoStacks.stacks.find((s) => s.name === "staging")!;
    const result = validateTenants({
      files: [{ file: "tenants/acme.yaml", text: minimalTenant() }],
      stacks: [{ ...staging, name: "qa" }],
      stackNames: repoStacks.stackNames,
    });
    expect(result.diagnostics).toEqual([]);
    expect(result.plans.qa?.map((p) => p.name)).toEqual(["acme"]);
  });
});

describe("valid files", () => {
  it("a path-split domain across two services of one tenant is allowed", () => {
    const tenant = `name: notes
services:
  frontend:
    image: registry.example.com/notes/frontend:1.0.0
    port: 80
    routes: [{ host: notes.example.org }]
  backend:
    image: registry.example.com/notes/backend:1.0.0
    port: 4000
    routes: [{ host: notes.example.org, path: /api }]
`;
    expect(validate({ "tenants/notes.yaml": tenant })).toEqual([]);
  });
});
