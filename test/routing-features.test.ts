import { describe, expect, it } from "vitest";
import { generatedHost } from "../model/naming";
import { fixtureConfig, fixtureTenants, labelsOf, ofType, runProgram, TYPES, type ProgramRun } from "./program-harness";
import { minimalTenant, validate } from "./validation-fixtures";

/**
 * Issue 14's per-route keys, as Traefik would read them from the containers' labels: what a router does to a
 * request (rate limit, body size, compression, redirect), and that a tenant's routers use only its own middlewares
 * behind the platform's security headers. Fixture set: test/fixtures/tenants/routing/ (seed 001's nginx as a file).
 */

const ROUTING = fixtureTenants("routing");

async function run(stack: string): Promise<ProgramRun> {
  const result = await runProgram(stack, fixtureConfig(stack, ROUTING));
  if (result.error) throw result.error;
  return result;
}

interface Router {
  name: string;
  rule: string;
  service: string;
  middlewares: string[];
  container: string;
}

/** Every router and middleware across the stack's containers, with the labels that define them. */
function traefik(result: ProgramRun) {
  const routers = new Map<string, Router>();
  const middlewares = new Map<string, Record<string, string>>();
  const services = new Map<string, Record<string, string>>();
  for (const container of ofType(result, TYPES.container)) {
    const labels = labelsOf(container);
    for (const [key, value] of Object.entries(labels)) {
      const router = /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(key)?.[1];
      if (router)
        routers.set(router, {
          name: router,
          rule: value,
          service: labels[`traefik.http.routers.${router}.service`]!,
          middlewares: (labels[`traefik.http.routers.${router}.middlewares`] ?? "").split(",").filter(Boolean),
          container: container.name,
        });
      const middleware = /^traefik\.http\.middlewares\.([^.]+)\.(.+)$/.exec(key);
      if (middleware) (middlewares.get(middleware[1]!) ?? middlewares.set(middleware[1]!, {}).get(middleware[1]!)!)[middleware[2]!] = value;
      const service = /^traefik\.http\.services\.([^.]+)\.(.+)$/.exec(key);
      if (service) (services.get(service[1]!) ?? services.set(service[1]!, {}).get(service[1]!)!)[service[2]!] = value;
    }
  }
  const router = (host: string, path?: string) => {
    const rule = path ? `Host(\`${host}\`) && PathPrefix(\`${path}\`)` : `Host(\`${host}\`)`;
    const found = [...routers.values()].find((r) => r.rule === rule);
    expect(found, `a router for ${rule}`).toBeDefined();
    return found!;
  };
  /** The settings of the router's middleware of one kind (e.g. `ratelimit`), merged over its label keys. */
  const setting = (r: Router, kind: string): Record<string, string> | undefined => {
    const found = r.middlewares
      .filter((m) => m.endsWith("@docker"))
      .map((m) => middlewares.get(m.replace(/@docker$/, "")) ?? {})
      .find((m) => Object.keys(m).some((k) => k.toLowerCase().startsWith(`${kind.toLowerCase()}.`)));
    return found && Object.fromEntries(Object.entries(found).map(([k, v]) => [k.toLowerCase().slice(kind.length + 1), v]));
  };
  return { routers, middlewares, services, router, setting };
}

const STAGING_MAIN = generatedHost("forum", undefined, "-staging", "staging.example.com");

describe("rate limits", () => {
  it("apply per router: the service's on its hosts and /api, a route's own on /auth; burst defaults to the average", async () => {
    const t = traefik(await run("staging"));
    expect(t.setting(t.router(STAGING_MAIN, "/api"), "ratelimit")).toEqual({ average: "10", burst: "20", period: "1s" });
    expect(t.setting(t.router(STAGING_MAIN, "/auth"), "ratelimit")).toEqual({ average: "5", burst: "5", period: "1m0s" });
    expect(t.setting(t.router(generatedHost("forum", "api", "-staging", "staging.example.com")), "ratelimit")).toMatchObject({ average: "10" });
    // The web service sets none.
    expect(t.setting(t.router(STAGING_MAIN), "ratelimit")).toBeUndefined();
  });

  it.each([
    ["average: -1", 'services.api.rateLimit.average: -1 is not a positive number of requests (average is at least 1)'],
    ["average: 0", 'services.api.rateLimit.average: 0 is not a positive number of requests (average is at least 1)'],
    ["average: 2.5", 'services.api.rateLimit.average: 2.5 is not a whole number of requests'],
    ["average: 10, burst: -5", 'services.api.rateLimit.burst: -5 is not a positive number of requests (burst is at least 1)'],
    ["average: 10, period: 0s", 'services.api.rateLimit.period: "0s" is too short (minimum 1s)'],
    ["average: 10, period: soon", 'services.api.rateLimit.period: "soon" is not a duration (use e.g. 10s, 1m30s or 500ms)'],
    ["burst: 5", "services.api.rateLimit.average: is required (a number)"],
  ])("refuses rateLimit { %s }", (value, message) => {
    const errors = validate({ "tenants/acme.yaml": `${minimalTenant()}  api:\n    image: registry.example.com/acme/api:1.0.0\n    port: 80\n    routes: []\n    rateLimit: { ${value} }\n` });
    expect(errors.map((e) => e.replace(/^\S+ /, ""))).toEqual([message]);
  });
});

describe("sticky sessions, compression and body size", () => {
  it("sticky: a cookie per service on its load balancer, Secure behind TLS; services without it have none", async () => {
    const t = traefik(await run("staging"));
    const api = t.services.get(t.router(STAGING_MAIN, "/api").service)!;
    expect(api).toMatchObject({
      "loadbalancer.sticky.cookie.name": "sticky_api",
      "loadbalancer.sticky.cookie.secure": "true",
      "loadbalancer.sticky.cookie.httpOnly": "true",
    });
    const web = t.services.get(t.router(STAGING_MAIN).service)!;
    expect(Object.keys(web).some((k) => k.includes("sticky"))).toBe(false);
  });

  it("compression is on unless the service turns it off, and never compresses server-sent events", async () => {
    const t = traefik(await run("staging"));
    expect(t.setting(t.router(STAGING_MAIN), "compress")).toEqual({ excludedcontenttypes: "text/event-stream" });
    expect(t.setting(t.router(generatedHost("quiet", undefined, "-staging", "staging.example.com")), "compress")).toBeDefined();
    expect(t.setting(t.router(generatedHost("forum", "uploads", "-staging", "staging.example.com")), "compress")).toBeUndefined();
  });

  it("maxBodySize becomes the buffering middleware's request limit, in bytes", async () => {
    const t = traefik(await run("staging"));
    expect(t.setting(t.router(generatedHost("forum", "uploads", "-staging", "staging.example.com")), "buffering")).toEqual({
      maxrequestbodybytes: String(10 * 1024 * 1024),
    });
    expect(t.setting(t.router(STAGING_MAIN), "buffering")).toBeUndefined();
  });

  it.each([
    ["maxBodySize: 10", 'services.web.maxBodySize: 10 is not a size (use e.g. 512Ki or 10Mi)'],
    ["maxBodySize: 20Gi", 'services.web.maxBodySize: "20Gi" is too large (maximum 10Gi)'],
    ["compress: sometimes", 'services.web.compress: expected true or false, got "sometimes"'],
    ["sticky: yes please", 'services.web.sticky: expected true or false, got "yes please"'],
  ])("refuses %s", (line, message) => {
    const errors = validate({ "tenants/acme.yaml": `${minimalTenant()}    ${line}\n` });
    expect(errors.map((e) => e.replace(/^\S+ /, ""))).toEqual([message]);
  });
});

/** Traefik applies redirectRegex with Go's regexp: `${1}` in the replacement is JavaScript's `$1`. */
function followRedirect(middleware: Record<string, string>, url: string): string | undefined {
  const regex = new RegExp(middleware["redirectRegex.regex"]!);
  if (!regex.test(url)) return undefined;
  return url.replace(regex, middleware["redirectRegex.replacement"]!.replace(/\$\{(\d+)\}/g, "$$$1"));
}

describe("redirects between a tenant's own hosts", () => {
  it("production: www. answers with a permanent redirect to the apex, keeping scheme, port, path and query", async () => {
    const t = traefik(await run("production"));
    const router = t.router("www.forum.example.org");
    expect(router.middlewares[0]).toBe("security-headers@file");
    const [redirect] = router.middlewares.slice(1).map((m) => t.middlewares.get(m.replace(/@docker$/, ""))!);
    expect(redirect!["redirectRegex.permanent"]).toBe("true");
    expect(followRedirect(redirect!, "https://www.forum.example.org/threads/1?page=2")).toBe("https://forum.example.org/threads/1?page=2");
    expect(followRedirect(redirect!, "https://www.forum.example.org:8443/")).toBe("https://forum.example.org:8443/");
    expect(followRedirect(redirect!, "https://www.forum.example.org")).toBe("https://forum.example.org");
    // Not a lookalike host: the dots are literal.
    expect(followRedirect(redirect!, "https://wwwXforum.example.org/")).toBeUndefined();
    // Served with a certificate like any custom domain.
    const labels = Object.assign({}, ...ofType(await run("production"), TYPES.container).map(labelsOf)) as Record<string, string>;
    expect(labels[`traefik.http.routers.${router.name}.tls.certresolver`]).toBe("letsencrypt");
  });

  it("follows custom domains: not served on staging (customDomains: false)", async () => {
    const t = traefik(await run("staging"));
    expect([...t.routers.values()].some((r) => r.rule.includes("www.forum.example.org"))).toBe(false);
  });

  const tenant = (redirects: string) => `name: acme
environments: [production]
services:
  web:
    image: registry.example.com/acme/web:1.0.0
    port: 8080
    routes:
      - host: acme.example.org
      - host: shop.example.org
redirects:
${redirects}`;

  it.each([
    ["  - { from: www.acme.example.org, to: acme.example.com }", 'redirects[0].to: unknown redirect target "acme.example.com": not a host this tenant serves in stack production (hosts: acme.apps.example.com, acme.example.org, shop.example.org)'],
    ["  - { from: www.acme.example.org, to: www.acme.example.org }", 'redirects[0].to: redirect loop: "www.acme.example.org" redirects to itself'],
    [
      "  - { from: a.acme.example.org, to: b.acme.example.org }\n  - { from: b.acme.example.org, to: a.acme.example.org }",
      "redirects[0].to: redirect loop: a.acme.example.org → b.acme.example.org → a.acme.example.org",
    ],
    [
      "  - { from: a.acme.example.org, to: b.acme.example.org }\n  - { from: b.acme.example.org, to: acme.example.org }",
      'redirects[0].to: "b.acme.example.org" itself redirects (a.acme.example.org → b.acme.example.org → acme.example.org); redirect to "acme.example.org" directly',
    ],
    ["  - { from: shop.example.org, to: acme.example.org }", 'redirects[0].from: "shop.example.org" is also routed to service "web" (services.web.routes[1]); a host either redirects or serves'],
    ["  - { from: WWW.acme.example.org, to: acme.example.org }", 'redirects[0].from: "WWW.acme.example.org" is not a lowercase DNS name like www.shop.example.com'],
  ])("refuses %s", (redirects, message) => {
    const errors = validate({ "tenants/acme.yaml": tenant(redirects) });
    expect(errors.map((e) => e.replace(/^\S+ /, ""))).toContain(message);
  });

  it("a redirect's source is claimed like a route: another tenant cannot serve or redirect it", () => {
    const other = `name: other
environments: [production]
services:
  web:
    image: registry.example.com/other/web:1.0.0
    port: 8080
    routes:
      - host: www.acme.example.org
`;
    const errors = validate({ "tenants/acme.yaml": tenant("  - { from: www.acme.example.org, to: acme.example.org }\n"), "tenants/other.yaml": other });
    expect(errors).toEqual([
      expect.stringMatching(/^tenants\/acme\.yaml:\d+:\d+ redirects\[0\]\.from: host "www\.acme\.example\.org" is also claimed in stack production by tenants\/other\.yaml/),
      expect.stringMatching(/^tenants\/other\.yaml:\d+:\d+ services\.web\.routes\[0\]\.host: host "www\.acme\.example\.org" is also claimed in stack production by tenants\/acme\.yaml \(redirects\[0\]\.from\)/),
    ]);
  });
});

describe("tenant isolation of middlewares", () => {
  it.each(["staging", "production"])("%s: every router keeps the security headers first and uses only middlewares named after itself", async (stack) => {
    const result = await run(stack);
    const t = traefik(result);
    expect(t.routers.size).toBeGreaterThan(5);
    for (const router of t.routers.values()) {
      expect(router.middlewares[0], router.name).toBe("security-headers@file");
      for (const middleware of router.middlewares.filter((m) => !m.endsWith("@file"))) {
        expect(middleware, router.name).toMatch(new RegExp(`^${router.name}__[a-z-]+@docker$`));
        expect(t.middlewares.has(middleware.replace(/@docker$/, "")), `${middleware} is defined`).toBe(true);
      }
    }
    // Each container defines only middlewares of its own routers, so no tenant's labels shape another's.
    for (const container of ofType(result, TYPES.container)) {
      const labels = labelsOf(container);
      const own = Object.keys(labels).flatMap((k) => /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(k)?.[1] ?? []);
      for (const key of Object.keys(labels)) {
        const name = /^traefik\.http\.middlewares\.([^.]+)\./.exec(key)?.[1];
        if (name) expect(own.some((router) => name.startsWith(`${router}__`)), `${container.name}: ${name}`).toBe(true);
      }
    }
  });

  it.each([
    ["a service", "    middlewares: [production--other-web-0__auth@docker]\n", "services.web.middlewares: unknown key"],
    ["a route", "    routes:\n      - { path: /api, middlewares: [production--other-web-0__auth@docker] }\n", "services.web.routes[0].middlewares: unknown key"],
    ["raw labels", "    labels: { traefik.http.routers.x.middlewares: production--other-web-0__auth@docker }\n", "services.web.labels: unknown key"],
  ])("a tenant file cannot name another tenant's middleware: %s has no such key", (_, lines, message) => {
    const errors = validate({ "tenants/acme.yaml": `${minimalTenant().replace("    routes: []\n", "")}${lines.includes("routes:") ? "" : "    routes: []\n"}${lines}` });
    expect(errors.map((e) => e.replace(/^\S+ /, "")).some((e) => e.startsWith(message)), errors.join("\n")).toBe(true);
  });

  it("labels are identical run to run", async () => {
    const labels = async () => ofType(await run("production"), TYPES.container).map((c) => [c.name, labelsOf(c)]);
    expect(await labels()).toEqual(await labels());
  });
});
