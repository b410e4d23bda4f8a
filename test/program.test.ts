import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exampleTenantsIn,
  fixtureConfig,
  isSecretInput,
  labelsOf,
  ofType,
  runProgram,
  secretValueFor,
  stackConfig,
  TYPES,
  unwrapSecret,
  type ProgramRun,
  type RecordedResource,
} from "./program-harness";

/**
 * Whole-program tests: index.ts under Pulumi's mocks, with each real stack file and the example tenant set kept
 * under test/fixtures/tenants/examples (tenants/ itself gets only the generic checks of live-tenants.test.ts).
 */

const STACKS = ["staging", "production"] as const;
const tempDirs: string[] = [];

function tenantsCopy(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), "platform-tenants-"));
  tempDirs.push(dir);
  return exampleTenantsIn(dir, extra);
}

const withTenants = fixtureConfig;

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const NEW_TENANT = `name: newco
services:
  web:
    image: registry.example.com/newco/web:1.0.0
    port: 8080
    routes: []
    healthcheck: { path: /health }
database:
  postgres: { version: "16" }
`;

const tenantOf = (r: RecordedResource) => labelsOf(r)["platform.tenant"];
const networkNames = (container: RecordedResource) =>
  ((container.inputs.networksAdvanced ?? []) as { name: string }[]).map((n) => n.name);

describe.each(STACKS)("stack %s", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack);
  });

  it("evaluates without errors and declares every example tenant", () => {
    expect(run.error).toBeUndefined();
    const tenants = ofType(run, "platform:index:Tenant").map((r) => r.name).sort();
    const expected = stack === "staging" ? ["acme", "calendar", "notes", "wishlist"] : ["acme", "notes", "wishlist"];
    expect(tenants).toEqual(expected);
  });

  it("adding a tenant file changes no input of any resource outside that tenant", async () => {
    const before = await runProgram(stack, withTenants(stack, tenantsCopy()));
    const after = await runProgram(stack, withTenants(stack, tenantsCopy({ "newco.yaml": NEW_TENANT })));
    expect(before.error).toBeUndefined();
    expect(after.error).toBeUndefined();
    const key = (r: RecordedResource) => `${r.type}::${r.name}`;
    const beforeByKey = new Map(before.resources.map((r) => [key(r), r]));
    const added = after.resources.filter((r) => !beforeByKey.has(key(r)));
    expect(added.length).toBeGreaterThan(5);
    expect(added.every((r) => r.name.startsWith("newco"))).toBe(true);
    for (const resource of after.resources.filter((r) => beforeByKey.has(key(r)))) {
      expect(resource.inputs, key(resource)).toEqual(beforeByKey.get(key(resource))!.inputs);
    }
    expect(after.resources.length - added.length).toBe(before.resources.length);
  });

  it("no Docker network carries containers of two tenants, and Traefik joins only ingress networks", () => {
    const containers = ofType(run, TYPES.container);
    const networks = new Map(ofType(run, TYPES.network).map((n) => [n.inputs.name as string, n]));
    const members = new Map<string, RecordedResource[]>();
    for (const container of containers)
      for (const network of networkNames(container)) members.set(network, [...(members.get(network) ?? []), container]);
    for (const [network, list] of members) {
      expect(new Set(list.map(tenantOf)).size, network).toBe(1);
      expect(labelsOf(networks.get(network)!)["platform.tenant"]).toBe(tenantOf(list[0]!));
    }
    const pauses = containers.filter((c) => /^edge-.*-pause$/.test(c.name));
    expect(pauses.length).toBeGreaterThan(0);
    // The edge's own network (its published ports) has no tenant container on it; Traefik joins no network itself,
    // only its pause container's namespace.
    for (const pause of pauses) {
      const own = networkNames(pause);
      expect(own).toHaveLength(1);
      expect(members.get(own[0]!)!.every((c) => tenantOf(c) === undefined)).toBe(true);
    }
    const traefiks = containers.filter((c) => /^edge-.*-traefik$/.test(c.name));
    expect(traefiks).toHaveLength(pauses.length);
    for (const traefik of traefiks) {
      expect(networkNames(traefik)).toEqual([]);
      expect(traefik.inputs.networkMode).toMatch(/^container:./);
    }

    const attachments = ofType(run, TYPES.command).filter((c) => c.name.endsWith("-attach"));
    expect(attachments.length).toBeGreaterThan(0);
    for (const attachment of attachments) {
      const network = (attachment.inputs.environment as Record<string, string>).NETWORK!;
      // Tenants attach the edge's pause container, so a new Traefik never re-runs an attachment.
      expect((attachment.inputs.environment as Record<string, string>).EDGE).toBe(`platform-${stack}-edge-pause`);
      expect(attachment.inputs.triggers).toBeUndefined();
      expect(networks.get(network)!.inputs.internal).toBe(true);
      const onNetwork = members.get(network)!;
      // Only routed app containers share a network with Traefik: never a database or cache.
      expect(onNetwork.every((c) => labelsOf(c)["traefik.enable"] === "true")).toBe(true);
      expect(onNetwork.some((c) => ["postgres", "redis"].includes(labelsOf(c)["platform.service"]!))).toBe(false);
    }
  });

  it("every service has its image's labels checked on its host before a container runs it", () => {
    const commands = ofType(run, TYPES.command);
    const services = ofType(run, TYPES.container).filter((c) => labelsOf(c)["platform.service"] && !["postgres", "redis", "backup"].includes(labelsOf(c)["platform.service"]!));
    expect(services.length).toBeGreaterThan(0);
    for (const container of services) {
      const owner = `${labelsOf(container)["platform.tenant"]}-${labelsOf(container)["platform.service"]}`;
      const check = commands.find((c) => c.name === `${owner}-image-labels`);
      expect(check, owner).toBeDefined();
      expect((check!.inputs.environment as Record<string, string>).IMAGE).toBe(container.inputs.image);
    }
  });

  it("a new Traefik starts beside the old one: no fixed name, queued connections migrate, a handover waits for it", () => {
    const containers = ofType(run, TYPES.container);
    const traefiks = containers.filter((c) => /^edge-.*-traefik$/.test(c.name));
    expect(traefiks.length).toBeGreaterThan(0);
    for (const traefik of traefiks) {
      // Pulumi names it (a replacement gets a new name), and the keeper and the rollout gate find it by role.
      expect(traefik.inputs.name).toBeUndefined();
      expect(labelsOf(traefik)["platform.role"]).toBe("traefik");
      const handover = ofType(run, TYPES.command).find((c) => c.name === `${traefik.name}-handover`);
      expect(handover, traefik.name).toBeDefined();
      expect((handover!.inputs.environment as Record<string, string>).NEW).toBe(`${traefik.name}-id`);
    }
    for (const pause of containers.filter((c) => /^edge-.*-pause$/.test(c.name)))
      expect(pause.inputs.sysctls).toEqual({ "net.ipv4.tcp_migrate_req": "1" });
  });

  it("a database is reachable only from its own tenant's services, on an internal network", () => {
    const containers = ofType(run, TYPES.container);
    const networks = new Map(ofType(run, TYPES.network).map((n) => [n.inputs.name as string, n]));
    const databases = containers.filter((c) => labelsOf(c)["platform.service"] === "postgres");
    expect(databases.length).toBeGreaterThan(0);
    for (const database of databases) {
      const [dataNetwork, ...others] = networkNames(database);
      expect(others).toEqual([]);
      expect(networks.get(dataNetwork!)!.inputs.internal).toBe(true);
      const peers = containers.filter((c) => c !== database && networkNames(c).includes(dataNetwork!));
      expect(peers.length).toBeGreaterThan(0);
      expect(peers.every((peer) => tenantOf(peer) === tenantOf(database))).toBe(true);
      expect(peers.some((peer) => peer.name.startsWith("edge-"))).toBe(false);
      expect(database.inputs.ports).toBeUndefined();
    }
  });

  it("only the edge publishes host ports (its pause container, whose namespace Traefik shares)", () => {
    const publishing = ofType(run, TYPES.container).filter((c) => ((c.inputs.ports ?? []) as unknown[]).length > 0);
    expect(publishing.map((c) => c.name).every((name) => /^edge-.*-pause$/.test(name))).toBe(true);
    expect(publishing.length).toBe(Object.keys(stackConfig(stack)["platform:hosts"] as object).length);
  });

  it("database volumes have stable names from stack, tenant and Postgres major version, and are retained", () => {
    const volumes = ofType(run, TYPES.volume).filter((v) => v.name.endsWith("-pgdata"));
    expect(volumes.map((v) => v.inputs.name).sort()).toEqual(
      (stack === "staging"
        ? ["acme:16", "calendar:16", "notes:15", "wishlist:16"]
        : ["acme:16", "notes:15", "wishlist:16"]
      ).map((t) => `platform-${stack}-${t.split(":")[0]}-pgdata-pg${t.split(":")[1]}`),
    );
    // Each database's volume and its backups volume (test/backups.test.ts) are kept alike.
    const volumeOptions = run.options.filter((o) => o.kind === "dataVolume");
    expect(volumeOptions.length).toBe(volumes.length * 2);
    for (const { options } of volumeOptions) {
      expect(options.retainOnDelete).toBe(true);
      expect(options.protect).toBe(stack === "production");
    }
  });

  it("the database container is replaced delete-first and re-applies the current password to existing data", () => {
    const databases = ofType(run, TYPES.container).filter((c) => labelsOf(c)["platform.service"] === "postgres");
    for (const database of databases) {
      expect(database.inputs.name).toBe(`platform-${stack}-${tenantOf(database)}-postgres`);
      expect((database.inputs.entrypoints as string[]).join(" ")).toContain("ALTER ROLE");
      const healthcheck = database.inputs.healthcheck as { tests: string[] };
      expect(healthcheck.tests.join(" ")).toContain("pg_isready");
      expect(healthcheck.tests.join(" ")).toContain("platform-password-applied");
      expect(database.inputs.wait).toBe(true);
    }
    const containerOptions = run.options.filter((o) => o.kind === "databaseContainer");
    expect(containerOptions.length).toBe(databases.length);
    expect(containerOptions.every((o) => o.options.deleteBeforeReplace === true)).toBe(true);
  });

  it("app containers start their replacement first and are health-gated when they have a health check", () => {
    const services = ofType(run, TYPES.container).filter(
      (c) => !c.name.startsWith("edge-") && !["postgres", "redis", "backup"].includes(labelsOf(c)["platform.service"]!),
    );
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      expect(service.inputs.name, "keeps a generated name so old and new can coexist").toBeUndefined();
      if (service.inputs.healthcheck) expect(service.inputs.wait).toBe(true);
    }
    const serviceOptions = run.options.filter((o) => o.kind === "serviceContainer");
    expect(serviceOptions.length).toBe(services.length);
    expect(serviceOptions.every((o) => o.options.deleteBeforeReplace === false)).toBe(true);
  });

  it("secrets are Pulumi secrets end to end and no stack output contains one", () => {
    const acmeWeb = run.resources.find((r) => r.name === "acme-web-0")!;
    expect(isSecretInput(acmeWeb.inputs.envs)).toBe(true);
    const envs = unwrapSecret(acmeWeb.inputs.envs) as string[];
    expect(envs).toContain(`STRIPE_KEY=${secretValueFor("platform:secrets.acme.STRIPE_KEY")}`);
    expect(envs.some((e) => e.startsWith("DATABASE_URL=postgresql://app:generated-password-acme-postgres-password@postgres:5432/app"))).toBe(true);
    for (const database of ofType(run, TYPES.container).filter((c) => labelsOf(c)["platform.service"] === "postgres"))
      expect(isSecretInput(database.inputs.envs)).toBe(true);
    const outputs = JSON.stringify(run.outputs);
    expect(outputs).not.toContain("plaintext-secret");
    expect(outputs).not.toContain("generated-password");
  });

  it("every container has memory and CPU limits", () => {
    for (const container of ofType(run, TYPES.container)) {
      expect(container.inputs.memory, container.name).toBeGreaterThanOrEqual(6);
      expect(Number(container.inputs.cpus), container.name).toBeGreaterThan(0);
    }
  });

  it("labels every Docker object and names every tenant resource after its tenant", () => {
    for (const resource of [...ofType(run, TYPES.container), ...ofType(run, TYPES.network), ...ofType(run, TYPES.volume)]) {
      const labels = labelsOf(resource);
      expect(labels["platform.managed"], resource.name).toBe("true");
      expect(labels["platform.stack"], resource.name).toBe(stack);
      if (labels["platform.tenant"]) expect(resource.name.startsWith(`${labels["platform.tenant"]}-`), resource.name).toBe(true);
      if (resource.type === TYPES.container && !resource.name.startsWith("edge-"))
        expect(labels["platform.service"], resource.name).toBeDefined();
    }
  });

  it("every resource of a tenant goes through its host's provider", () => {
    for (const container of ofType(run, TYPES.container).filter((c) => tenantOf(c))) {
      const host = container.name.startsWith("wishlist-resolver") && stack === "production" ? "eu-2" : "eu-1";
      expect(container.provider, container.name).toContain(`::host-${host}::`);
    }
  });

  it("declares identical resources when run twice on the same input", async () => {
    const again = await runProgram(stack);
    expect(again.resources).toEqual(run.resources);
  });

  it("outputs each tenant's URLs, host and services, and each host's edge", () => {
    const tenants = run.outputs.tenants as Record<string, { urls: string[]; homeHost: string; services: Record<string, unknown> }>;
    const suffix = stack === "staging" ? "-staging.staging.example.com" : ".apps.example.com";
    expect(tenants.acme!.urls[0]).toBe(`https://acme${suffix}/`);
    expect(tenants.acme!.homeHost).toBe("eu-1");
    expect(Object.keys(tenants.wishlist!.services)).toEqual(["frontend", "api", "resolver", "worker"]);
    expect(Object.keys(run.outputs.edges as object)).toEqual(Object.keys(stackConfig(stack)["platform:hosts"] as object));
  });
});

describe("placement across hosts (production)", () => {
  it("a routed service on a second host reaches no database or cache", async () => {
    const run = await runProgram("production");
    const resolvers = run.resources.filter((r) => r.type === TYPES.container && r.name.startsWith("wishlist-resolver-"));
    expect(resolvers).toHaveLength(2);
    for (const resolver of resolvers) {
      expect(networkNames(resolver)).toEqual(["platform-production-wishlist-apps-eu-2", "platform-production-wishlist-ingress-eu-2"]);
      const envs = unwrapSecret(resolver.inputs.envs) as string[];
      expect(envs.some((e) => e.startsWith("DATABASE_URL=") || e.startsWith("REDIS_URL="))).toBe(false);
    }
  });
});

describe("a database is kept even when every service runs away from home", () => {
  it("declares the tenant's Postgres on the home host with no service attached", async () => {
    const remoteOnly = NEW_TENANT.replace("    routes: []\n", "    routes: []\n    host: eu-2\n").replace("name: newco", "name: newco\nenvironments: [production]");
    const run = await runProgram("production", withTenants("production", tenantsCopy({ "newco.yaml": remoteOnly })));
    expect(run.error).toBeUndefined();
    const database = run.resources.find((r) => r.type === TYPES.container && r.name === "newco-postgres")!;
    expect(database.provider).toContain("::host-eu-1::");
    const web = run.resources.find((r) => r.name === "newco-web-0")!;
    expect(web.provider).toContain("::host-eu-2::");
    expect(networkNames(web)).not.toContain("platform-production-newco-data");
  });
});

describe("private registries", () => {
  it("each host's provider pulls with the stack's registry credentials, the password as a secret", async () => {
    const config = {
      ...fixtureConfig("production"),
      "platform:registries": [{ server: "registry.example.com", username: "deploy", password: "registry-password" }],
    };
    const run = await runProgram("production", config);
    const providers = ofType(run, TYPES.provider);
    expect(providers.map((p) => p.name)).toEqual(["host-eu-1", "host-eu-2"]);
    for (const provider of providers) {
      // Provider inputs reach the engine as JSON text.
      const raw = unwrapSecret(provider.inputs.registryAuth);
      const auth = (typeof raw === "string" ? JSON.parse(raw) : raw) as { address: string; username: string; password: string }[];
      expect(auth).toEqual([{ address: "registry.example.com", username: "deploy", password: "registry-password" }]);
      expect(isSecretInput(provider.inputs.registryAuth)).toBe(true);
    }
    expect(JSON.stringify(run.outputs)).not.toContain("registry-password");
  });
});

describe("invalid input declares nothing", () => {
  it("a bad tenant file fails the program with every problem listed", async () => {
    const dir = tenantsCopy({ "broken.yaml": "name: broken\nservices:\n  web:\n    image: x:1\n    replica: 2\n    port: 0\n" });
    const run = await runProgram("staging", withTenants("staging", dir));
    expect(run.resources).toEqual([]);
    expect(run.error?.message).toContain("2 problem(s) found; nothing was deployed:");
    expect(run.error?.message).toContain(`${dir}/broken.yaml:5:5 services.web.replica: unknown key "replica"`);
    expect(run.error?.message).toContain("broken.yaml:6:5 services.web.port: 0 is too small (minimum 1)");
  });

  it("a bad stack config fails the program naming the key and the stack file", async () => {
    const config = { ...fixtureConfig("staging"), "platform:domain": "Not A Domain", "platform:tls": "letsencrypt" };
    const run = await runProgram("staging", config);
    expect(run.resources).toEqual([]);
    expect(run.error?.message).toContain('Pulumi.staging.yaml:3:3 platform:domain: "Not A Domain" is not a lowercase domain like example.com');
    expect(run.error?.message).toContain('Pulumi.staging.yaml:8:3 platform:tls: "letsencrypt" is not allowed (allowed: acme, self-signed, none)');
  });

  it("a missing tenant directory fails the program naming platform:tenantsDir", async () => {
    const run = await runProgram("staging", { ...stackConfig("staging"), "platform:tenantsDir": "/nonexistent/tenants" });
    expect(run.resources).toEqual([]);
    expect(run.error?.message).toContain("Pulumi.staging.yaml:1:1 platform:tenantsDir: cannot read the tenant directory /nonexistent/tenants");
  });

  it("a secret missing from the stack config is an error, not an empty variable", async () => {
    const config = { ...fixtureConfig("production"), "platform:secrets": { acme: {}, notes: { SECRET_KEY_BASE: "x" }, wishlist: { JWT_SECRET: "y" } } };
    const run = await runProgram("production", config);
    expect(run.resources).toEqual([]);
    expect(run.error?.message).toContain("pulumi config set --secret --path 'secrets.acme.STRIPE_KEY' <value>");
  });
});

describe("decommissioning", () => {
  it("a retiring tenant keeps only its database and backups volumes, unprotected so its file can then be removed", async () => {
    const dir = tenantsCopy({ "acme.yaml": `${NEW_TENANT.replace(/newco/g, "acme")}retiring: true\n` });
    const run = await runProgram("production", withTenants("production", dir));
    expect(run.error).toBeUndefined();
    const acme = run.resources.filter((r) => r.name.startsWith("acme-") && r.type.startsWith("docker:"));
    expect(acme.map((r) => `${r.type} ${r.name}`)).toEqual([`${TYPES.volume} acme-pgdata`, `${TYPES.volume} acme-backups-volume`]);
    expect(acme[0]!.inputs.name).toBe("platform-production-acme-pgdata-pg16");
    const volumeOptions = run.options.filter((o) => o.kind === "dataVolume");
    expect(volumeOptions.find((o) => o.args[0] === false)?.options).toEqual({ retainOnDelete: true, protect: false });
  });

  it("a removed then re-added tenant finds its retained volume under the same name", async () => {
    const first = await runProgram("staging", withTenants("staging", tenantsCopy({ "newco.yaml": NEW_TENANT })));
    const again = await runProgram("staging", withTenants("staging", tenantsCopy({ "newco.yaml": NEW_TENANT })));
    const volume = (run: ProgramRun) => run.resources.find((r) => r.name === "newco-pgdata")!.inputs.name;
    expect(volume(again)).toBe(volume(first));
    expect(volume(first)).toBe("platform-staging-newco-pgdata-pg16");
  });

  it("a Postgres major version change means a new volume name, which production's protection stops", async () => {
    const bumped = tenantsCopy({ "newco.yaml": NEW_TENANT.replace('version: "16"', 'version: "17"') });
    const run = await runProgram("production", withTenants("production", bumped));
    expect(run.resources.find((r) => r.name === "newco-pgdata")!.inputs.name).toBe("platform-production-newco-pgdata-pg17");
  });
});
