import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatDiagnostic } from "../model/diagnostics";
import { generatedHost } from "../model/naming";
import { validateTenants } from "../model/validate";
import { labelsOf, ofType, runProgram, stackConfig, TYPES, type ProgramRun } from "./program-harness";
import { repoStacks, validate } from "./validation-fixtures";

/** Seed 003's shape: a frontend that owns the site and a backend that answers /api (and /api/v2 from a newer one). */
const SPLIT_TENANT = `name: split
services:
  frontend:
    image: registry.example.com/split/frontend:1.0.0
    port: 80
    routes:
      - host: split.example.org
  backend:
    image: registry.example.com/split/backend:1.0.0
    port: 4000
    routes:
      - path: /api
      - { host: split.example.org, path: /api }
  backend-v2:
    image: registry.example.com/split/backend:2.0.0
    port: 4000
    routes:
      - path: /api/v2
`;

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tenantsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "platform-path-routes-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

async function runWith(stack: string, files: Record<string, string>): Promise<ProgramRun> {
  const run = await runProgram(stack, { ...stackConfig(stack), "platform:tenantsDir": tenantsDir(files), "platform:secrets": {} });
  if (run.error) throw run.error;
  return run;
}

interface Router {
  service: string;
  host: string;
  path: string;
  priority: number;
}

/** Every router Traefik would build from the containers' labels, with its effective priority. */
function routers(run: ProgramRun): Router[] {
  const found = new Map<string, Router>();
  for (const container of ofType(run, TYPES.container)) {
    const labels = labelsOf(container);
    for (const [key, rule] of Object.entries(labels)) {
      const name = /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(key)?.[1];
      if (!name) continue;
      const parsed = /^Host\(`([^`]+)`\)(?: && PathPrefix\(`([^`]+)`\))?$/.exec(rule);
      expect(parsed, rule).not.toBeNull();
      const explicit = labels[`traefik.http.routers.${name}.priority`];
      // Traefik's default priority is the rule's length.
      const priority = explicit === undefined ? rule.length : Number(explicit);
      found.set(name, { service: labels["platform.service"]!, host: parsed![1]!, path: parsed![2] ?? "/", priority });
    }
  }
  return [...found.values()];
}

/** The service Traefik hands a request to: of the routers matching host and path, the highest priority. */
function routedTo(run: ProgramRun, host: string, requestPath: string): string | undefined {
  const matching = routers(run).filter((r) => r.host === host && requestPath.startsWith(r.path));
  matching.sort((a, b) => b.priority - a.priority);
  if (matching.length > 1) expect(matching[0]!.priority, `a tie between routers for ${host}${requestPath}`).not.toBe(matching[1]!.priority);
  return matching[0]?.service;
}

describe("a route with path and no host", () => {
  it.each(repoStacks.stacks.map((stack) => [stack.name, stack] as const))(
    "is served under that path on the tenant's main generated host in stack %s",
    (_name, stack) => {
      const result = validateTenants({ files: [{ file: "tenants/split.yaml", text: SPLIT_TENANT }], stacks: [stack], stackNames: repoStacks.stackNames });
      expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
      const main = generatedHost("split", undefined, stack.hostSuffix, stack.domain);
      const backend = result.plans[stack.name]![0]!.services.find((s) => s.name === "backend")!;
      expect(backend.routes).toContainEqual(expect.objectContaining({ host: main, path: "/api" }));
      // Its own generated host stays routed too.
      expect(backend.routes).toContainEqual({ host: generatedHost("split", "backend", stack.hostSuffix, stack.domain) });
    },
  );

  it("sends /api to the backend, /api/v2 to the newer backend and everything else to the frontend (staging)", async () => {
    const run = await runWith("staging", { "split.yaml": SPLIT_TENANT });
    const main = "split-staging.staging.example.com";
    expect(routedTo(run, main, "/")).toBe("frontend");
    expect(routedTo(run, main, "/about")).toBe("frontend");
    expect(routedTo(run, main, "/api/notes")).toBe("backend");
    expect(routedTo(run, main, "/api/v2/notes")).toBe("backend-v2");
    expect(routedTo(run, "split-backend-staging.staging.example.com", "/")).toBe("backend");
    // Custom domains are production's: staging routes none of them.
    expect(routedTo(run, "split.example.org", "/api")).toBeUndefined();
    const urls = (run.outputs.tenants as Record<string, { urls: string[] }>).split!.urls;
    expect(urls).toContain("https://split-staging.staging.example.com/api");
    expect(urls).toContain("https://split-staging.staging.example.com/api/v2");
  });

  it("production: the path on the main host and a host-and-path route on the custom domain keep their meanings", async () => {
    const run = await runWith("production", { "split.yaml": SPLIT_TENANT });
    expect(routedTo(run, "split.apps.example.com", "/api/x")).toBe("backend");
    expect(routedTo(run, "split.apps.example.com", "/x")).toBe("frontend");
    expect(routedTo(run, "split.example.org", "/api/x")).toBe("backend");
    expect(routedTo(run, "split.example.org", "/x")).toBe("frontend");
    // The path-only route is on the main host, not on the custom domain.
    expect(routedTo(run, "split.example.org", "/api/v2/x")).toBe("backend");
    const urls = (run.outputs.tenants as Record<string, { urls: string[] }>).split!.urls;
    expect(urls).toEqual(expect.arrayContaining(["https://split.apps.example.com/api", "https://split.example.org/api"]));
  });

  it("a path router outranks a catch-all on any host, so the result never depends on host names", async () => {
    const run = await runWith("staging", { "split.yaml": SPLIT_TENANT });
    const pathRouters = routers(run).filter((r) => r.path !== "/");
    expect(pathRouters.length).toBeGreaterThan(0);
    // Traefik ranks a router without a priority by its rule's length; a DNS name has at most 253 characters.
    const longestCatchAll = `Host(\`${"a".repeat(253)}\`)`.length;
    for (const router of pathRouters) expect(router.priority).toBeGreaterThan(longestCatchAll);
  });
});

describe("path routes are checked", () => {
  const base = (routes: string, extra = "") => `name: acme
services:
  web:
    image: registry.example.com/acme/web:1.0.0
    port: 8080
    routes: []
  api:
    image: registry.example.com/acme/api:1.0.0
    port: 8080
${extra}    routes:
${routes}`;

  it("a route needs a host or a path", () => {
    expect(validate({ "tenants/acme.yaml": base("      - environments: [staging]\n") })).toEqual([
      "tenants/acme.yaml:11:9 services.api.routes[0]: set `host` (a custom domain), `path` (a path on the tenant's main generated host), or both",
    ]);
  });

  it("two services of a tenant cannot claim the same path on the main host", () => {
    const tenant = `${base("      - path: /api\n")}  api2:
    image: registry.example.com/acme/api:1.0.0
    port: 8080
    routes: [{ path: /api }]
`;
    const errors = validate({ "tenants/acme.yaml": tenant });
    expect(errors).toContain(
      'tenants/acme.yaml:11:9 services.api.routes[0].path: path "/api" of host "acme-staging.staging.example.com" is also claimed in stack staging by tenants/acme.yaml (services.api2.routes[0].path)',
    );
  });

  it("a path on the main host cannot be served by a service on another Docker host", () => {
    const tenant = base("      - path: /api\n", "    host: eu-2\n").replace("services:", "environments: [production]\nservices:");
    expect(validate({ "tenants/acme.yaml": tenant })).toEqual([
      'tenants/acme.yaml:13:9 services.api.routes[0].path: a path on the tenant\'s main host acme.apps.example.com is served by host "eu-1" (where service "web" runs), but this service runs on "eu-2"; give the route a custom `host` or run the service on "eu-1"',
    ]);
  });

  it("a path route limited to some stacks is served only there", () => {
    const result = validateTenants({
      files: [{ file: "tenants/acme.yaml", text: base("      - { path: /api, environments: [production] }\n") }],
      stacks: repoStacks.stacks,
      stackNames: repoStacks.stackNames,
    });
    expect(result.diagnostics).toEqual([]);
    const paths = (stack: string) => result.plans[stack]![0]!.services.find((s) => s.name === "api")!.routes.map((r) => r.path);
    expect(paths("production")).toContain("/api");
    expect(paths("staging")).not.toContain("/api");
  });
});
