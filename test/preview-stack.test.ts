import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatDiagnostic } from "../model/diagnostics";
import { readTenantDirectory } from "../model/project-files";
import { validateTenants } from "../model/validate";
import { loadStackFromFile } from "../stacks/load-from-files";
import {
  EXAMPLE_TENANTS,
  exampleTenantsIn,
  fixtureConfig,
  labelsOf,
  ofType,
  PROJECT_ROOT,
  runProgram,
  secretValueFor,
  TYPES,
  unwrapSecret,
  type ProgramRun,
  type RecordedResource,
} from "./program-harness";

/**
 * Preview stacks under Pulumi's mocks: a pull request's tenants beside staging, behind staging's edge, as staging
 * sees them, small and leaving nothing behind, while staging and production keep their data safety.
 */

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

function tenantsWith(extra: Record<string, string>): string {
  return exampleTenantsIn(tempDir("preview-tenants-"), extra);
}

function previewConfig(preview: Record<string, unknown>, tenantsDir = EXAMPLE_TENANTS): Record<string, unknown> {
  return { ...fixtureConfig("staging", tenantsDir), "platform:preview": { base: "staging", ...preview } };
}

const envOf = (container: RecordedResource) => unwrapSecret(container.inputs.envs) as string[];
const containersOf = (run: ProgramRun, tenant: string) => ofType(run, TYPES.container).filter((c) => labelsOf(c)["platform.tenant"] === tenant);
type TenantOutputs = Record<string, { urls: string[]; services: Record<string, { replicas: number; image: string }> }>;

describe("a platform pull request's preview of staging (pr-7: acme and wishlist)", () => {
  let run: ProgramRun;
  let staging: ProgramRun;
  beforeAll(async () => {
    run = await runProgram("pr-7", previewConfig({ pr: 7, tenants: ["acme", "wishlist"], edgePauseIds: { "eu-1": "staging-pause-id" } }));
    if (run.error) throw run.error;
    staging = await runProgram("staging");
  });

  it("declares no edge: nothing publishes a port, no Traefik or pause container, no ACME volume", () => {
    expect(run.resources.filter((r) => r.type === "platform:index:Edge" || r.name.startsWith("edge-"))).toEqual([]);
    expect(ofType(run, TYPES.container).filter((c) => ((c.inputs.ports ?? []) as unknown[]).length > 0)).toEqual([]);
    // Its base's Traefik routes it; Traefik's name is not an output (it changes at each replacement).
    expect((run.outputs.edges as Record<string, { container?: string }>)["eu-1"]!.container).toBeUndefined();
  });

  it("runs only the listed tenants", () => {
    const tenants = new Set(ofType(run, TYPES.container).map((c) => labelsOf(c)["platform.tenant"]));
    expect([...tenants].sort()).toEqual(["acme", "wishlist"]);
    expect(Object.keys(run.outputs.tenants as object).sort()).toEqual(["acme", "wishlist"]);
  });

  it("serves each tenant at <tenant>-pr-7.<staging domain>, other services per the generated-host rule, no custom domain", () => {
    const tenants = run.outputs.tenants as TenantOutputs;
    expect(tenants.acme!.urls).toEqual(["https://acme-pr-7.staging.example.com/"]);
    expect(tenants.wishlist!.urls).toEqual([
      "https://wishlist-pr-7.staging.example.com/",
      "https://wishlist-api-pr-7.staging.example.com/",
      "https://wishlist-resolver-pr-7.staging.example.com/",
    ]);
  });

  it("takes staging's view of each tenant: its staging overrides apply", () => {
    const acmeWeb = containersOf(run, "acme").find((c) => labelsOf(c)["platform.service"] === "web")!;
    expect(envOf(acmeWeb)).toContain("LOG_LEVEL=debug");
    // overrides.staging moves wishlist's resolver from eu-2 (not a staging host) to eu-1.
    expect(containersOf(run, "wishlist").every((c) => c.provider.includes("::host-eu-1::"))).toBe(true);
  });

  it("has staging's secrets and fresh databases of its own", () => {
    const acmeWeb = containersOf(run, "acme").find((c) => labelsOf(c)["platform.service"] === "web")!;
    expect(envOf(acmeWeb)).toContain(`STRIPE_KEY=${secretValueFor("platform:secrets.acme.STRIPE_KEY")}`);
    const volumes = ofType(run, TYPES.volume).map((v) => v.inputs.name).sort();
    expect(volumes).toEqual(["platform-pr-7-acme-pgdata-pg16", "platform-pr-7-wishlist-pgdata-pg16"]);
    const stagingVolumes = ofType(staging, TYPES.volume).map((v) => v.inputs.name);
    expect(volumes.filter((v) => stagingVolumes.includes(v))).toEqual([]);
  });

  it("keeps its data volumes neither retained nor protected, so `down` leaves none behind", () => {
    const options = run.options.filter((o) => o.kind === "dataVolume");
    expect(options).toHaveLength(2);
    for (const { options: o } of options) expect(o).toMatchObject({ retainOnDelete: false, protect: false });
  });

  it("runs small: every container within the preview limits, one replica per service", () => {
    for (const container of ofType(run, TYPES.container)) {
      expect(container.inputs.memory, container.name).toBeLessThanOrEqual(256);
      expect(Number(container.inputs.cpus), container.name).toBeLessThanOrEqual(0.25);
    }
    const services = (run.outputs.tenants as TenantOutputs).wishlist!.services;
    expect(Object.values(services).map((s) => s.replicas)).toEqual([1, 1, 1, 1]);
    // The same tenant in staging asks for more.
    const stagingApi = ofType(staging, TYPES.container).find((c) => c.name === "wishlist-api-0")!;
    expect(stagingApi.inputs.memory).toBeGreaterThan(256);
  });

  it("is routed by staging's Traefik under names of its own, beside staging's acme", () => {
    const routed = ofType(run, TYPES.container).filter((c) => labelsOf(c)["traefik.enable"] === "true");
    expect(routed.length).toBeGreaterThan(0);
    for (const container of routed) {
      expect(labelsOf(container)["platform.stack"]).toBe("pr-7");
      expect(labelsOf(container)["platform.edge"]).toBe("staging");
    }
    const routerNames = (r: ProgramRun) =>
      ofType(r, TYPES.container).flatMap((c) => Object.keys(labelsOf(c))).filter((k) => /^traefik\.http\.(routers|services)\./.test(k));
    const previewNames = routerNames(run);
    expect(previewNames).toContain("traefik.http.routers.pr-7--acme-web-0.rule");
    expect(previewNames.filter((name) => routerNames(staging).includes(name))).toEqual([]);
    for (const container of ofType(staging, TYPES.container).filter((c) => labelsOf(c)["traefik.enable"] === "true"))
      expect(labelsOf(container)["platform.edge"]).toBe("staging");
  });

  it("attaches its ingress networks to staging's pause container and gates rollouts on staging's Traefik", () => {
    const commands = ofType(run, TYPES.command);
    const attachments = commands.filter((c) => c.name.endsWith("-attach"));
    expect(attachments.length).toBeGreaterThan(0);
    for (const attachment of attachments)
      expect(attachment.inputs.environment).toMatchObject({ EDGE: "platform-staging-edge-pause", EDGE_ID: "staging-pause-id" });
    const gate = commands.find((c) => c.name === "acme-web-rollout")!;
    expect(gate.inputs.environment).toMatchObject({ EDGE_FILTER: "label=platform.role=traefik,label=platform.stack=staging", SERVICE: "pr-7--acme-web@docker" });
  });
});

describe("staging and production keep their data safety", () => {
  it.each(["staging", "production"] as const)("%s retains every data volume, and production protects them", async (stack) => {
    const run = await runProgram(stack);
    const options = run.options.filter((o) => o.kind === "dataVolume");
    expect(options.length).toBeGreaterThan(0);
    for (const { options: o } of options) expect(o).toEqual({ retainOnDelete: true, protect: stack === "production" });
  });
});

describe("an application repository's preview (app-shop-pr-3)", () => {
  it("runs that one tenant with the pull request's image for that service, at a host naming the repository", async () => {
    const image = "registry.example.com/acme/web:pr-3-abc1234";
    const run = await runProgram(
      "app-shop-pr-3",
      previewConfig({ pr: 3, tenants: ["acme"], app: { repo: "shop", service: "web", image } }),
    );
    if (run.error) throw run.error;
    const tenants = run.outputs.tenants as TenantOutputs;
    expect(Object.keys(tenants)).toEqual(["acme"]);
    expect(tenants.acme!.urls).toEqual(["https://acme-shop-pr-3.staging.example.com/"]);
    expect(tenants.acme!.services.web!.image).toBe(image);
    expect(ofType(run, TYPES.image).map((i) => i.inputs.name)).toContain(image);
    expect(ofType(run, TYPES.container).filter((c) => c.name.startsWith("acme-web-")).every((c) => labelsOf(c)["platform.stack"] === "app-shop-pr-3")).toBe(true);
  });
});

describe("what a preview refuses", () => {
  it("a tenant that does not run on the base, or has no file, names the preview's own file", async () => {
    const productionOnly = "name: legacy\nenvironments: [production]\nservices:\n  web:\n    image: registry.example.com/legacy/web:1.0.0\n    port: 8080\n    routes: []\n";
    const run = await runProgram("pr-8", previewConfig({ pr: 8, tenants: ["legacy", "ghost"] }, tenantsWith({ "legacy.yaml": productionOnly })));
    expect(run.resources).toEqual([]);
    expect(run.error?.message).toMatch(/Pulumi\.pr-8\.yaml:1:1 platform:preview\.tenants(\[0\]|\.0): "legacy" does not run on stack staging/);
    expect(run.error?.message).toMatch(/Pulumi\.pr-8\.yaml:1:1 platform:preview\.tenants(\[1\]|\.1): "ghost" has no tenant file/);
  });

  it("an application preview of a service the tenant does not have", async () => {
    const run = await runProgram("app-shop-pr-3", previewConfig({ pr: 3, tenants: ["acme"], app: { repo: "shop", service: "wbe", image: "x:1" } }));
    expect(run.error?.message).toContain('platform:preview.app.service: "wbe" is not a service of tenant acme (did you mean "web"? services: web)');
  });

  it("a stack whose name is not the preview it describes", async () => {
    const run = await runProgram("pr-9", previewConfig({ pr: 7, tenants: ["acme"] }));
    expect(run.error?.message).toContain("platform:preview: describes the preview stack pr-7, but this stack is pr-9");
  });
});

describe("generated DNS labels stay within 63 characters", () => {
  const longTenant = "a".repeat(40);
  const tenant = (service: string) =>
    `name: ${longTenant}\nservices:\n  web:\n    image: registry.example.com/x/web:1.0.0\n    port: 8080\n    routes: []\n  ${service}:\n    image: registry.example.com/x/api:1.0.0\n    port: 8080\n    routes: []\n`;

  it("in staging: a tenant and service name too long together is refused at the service, naming the host", async () => {
    const dir = tenantsWith({ [`${longTenant}.yaml`]: tenant("b".repeat(20)) });
    const run = await runProgram("staging", fixtureConfig("staging", dir));
    expect(run.resources).toEqual([]);
    // 40 + 1 + 20 + "-staging" = 69 characters
    expect(run.error?.message).toMatch(
      new RegExp(`${longTenant}\\.yaml:7:3 services\\.${"b".repeat(20)}: generated host ${longTenant}-${"b".repeat(20)}-staging\\.staging\\.example\\.com in stack staging begins with a label of 69 characters; DNS allows at most 63`),
    );
  });

  it("in an application preview: a long repository name is named as a cause", async () => {
    const dir = tenantsWith({ [`${longTenant}.yaml`]: tenant("api") });
    const repo = "r".repeat(20);
    const run = await runProgram(`app-${repo}-pr-12`, previewConfig({ pr: 12, tenants: [longTenant], app: { repo, service: "web", image: "x:1" } }, dir));
    expect(run.error?.message).toContain(`generated host ${longTenant}-${repo}-pr-12.staging.example.com in stack app-${repo}-pr-12 begins with a label of 67 characters`);
    expect(run.error?.message).toContain("or the repository's");
  });
});

describe("a preview's config errors name the file to fix", () => {
  it("values copied from the base are reported in the base's file, at the base's line; the preview key in the copy", () => {
    const root = tempDir("preview-files-");
    const base = readFileSync(path.join(PROJECT_ROOT, "Pulumi.staging.yaml"), "utf8").replace("platform:tls: acme", "platform:tls: letsencrypt");
    writeFileSync(path.join(root, "Pulumi.staging.yaml"), base);
    // As `npm run preview` writes it: the base's text with the preview key added (here at the top of config).
    writeFileSync(
      path.join(root, "Pulumi.pr-7.yaml"),
      base.replace("config:\n", "config:\n  platform:preview: { base: staging, pr: 7, tenants: [acme], extra: 1 }\n"),
    );
    const loaded = loadStackFromFile(root, "pr-7");
    const lines = loaded.diagnostics.map(formatDiagnostic);
    const tlsLine = base.split("\n").findIndex((l) => l.includes("platform:tls")) + 1;
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`Pulumi\\.staging\\.yaml:${tlsLine}:3 platform:tls: "letsencrypt" is not allowed`)));
    expect(lines).toContainEqual(expect.stringMatching(/Pulumi\.pr-7\.yaml:\d+:\d+ platform:preview\.extra: unknown key "extra"/));
  });

  it("a valid preview file loads as a preview of its base and validates its tenants as the base sees them", () => {
    const root = tempDir("preview-files-");
    const base = readFileSync(path.join(PROJECT_ROOT, "Pulumi.staging.yaml"), "utf8");
    writeFileSync(path.join(root, "Pulumi.staging.yaml"), base);
    writeFileSync(path.join(root, "Pulumi.pr-7.yaml"), `${base}\n`.replace("config:\n", "config:\n  platform:preview: { base: staging, pr: 7, tenants: [calendar] }\n"));
    const { stack, diagnostics } = loadStackFromFile(root, "pr-7");
    expect(diagnostics).toEqual([]);
    expect(stack).toMatchObject({ name: "pr-7", hostSuffix: "-pr-7", protectData: false, customDomains: false, preview: { base: "staging", tenants: ["calendar"] } });
    expect(path.basename(stack!.file)).toBe("Pulumi.staging.yaml");
    const result = validateTenants({ files: readTenantDirectory(EXAMPLE_TENANTS), stacks: [stack!], stackNames: ["production", "staging", "pr-7"] });
    expect(result.diagnostics).toEqual([]);
    expect(result.plans["pr-7"]!.map((p) => p.name)).toEqual(["calendar"]);
  });
});
