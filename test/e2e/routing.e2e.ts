import * as http from "node:http";
import { rmSync } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  addTenant, addresses, canConnect, containers, DASHBOARD_PORT, docker, edgeContainer, edgePauseContainer, expectOk, get,
  HTTP_PORT, httpFrom, IMAGES, pulumi, STACK, tenantHost, up, type World,
} from "./harness";
import { useWorld } from "./world-hooks";

// Issue 14's routing features through the real edge: one tenant whose services each carry one feature, on a
// small world (the default e2e tenants removed). Every request goes through Traefik on the host's loopback with
// the tenant's Host header, as a browser's would through DNS. A failing step prints the stack's containers and logs.
let world: World;

const TENANT = "traffic";
const CUSTOM_HOST = "traffic.example.test";
const LOGIN = { user: "e2e-user", password: "e2e-pass-4f1c" };
const hosts = {
  web: tenantHost(TENANT),
  limited: `${TENANT}-limited.dev.localhost`,
  private: `${TENANT}-private.dev.localhost`,
};

/** The tenant file; `access` adds a service-level access key to `web` or `limited` (the allow-list step). */
const tenantFile = (access: { web?: string; limited?: string } = {}) => `# e2e (issue 14): sticky 2-replica web with compression (default), a custom host and its www. redirect,
# a rate-limited service and a basic-auth one with a request body limit.
name: ${TENANT}
services:
  web:
    image: ${IMAGES.v1}
    port: 8080
    replicas: 2
    sticky: true${access.web ? `\n    access: ${access.web}` : ""}
    routes:
      - host: ${CUSTOM_HOST}
        environments: [${STACK}]
    healthcheck: { path: /health, interval: 1s, timeout: 2s, retries: 3, startPeriod: 30s }
  limited:
    image: ${IMAGES.v1}
    port: 8080
    rateLimit: { average: 10, burst: 10 }${access.limited ? `\n    access: ${access.limited}` : ""}
    routes: []
    healthcheck: { path: /health, interval: 1s, timeout: 2s, retries: 3, startPeriod: 30s }
  private:
    image: ${IMAGES.v1}
    port: 8080
    access: { basicAuth: [LOGIN] }
    maxBodySize: 1Ki
    routes: []
    healthcheck: { path: /health, interval: 1s, timeout: 2s, retries: 3, startPeriod: 30s }
redirects:
  - from: www.${CUSTOM_HOST}
    to: ${CUSTOM_HOST}
    environments: [${STACK}]
`;

useWorld((created) => {
  world = created;
  for (const file of ["alpha.yaml", "beta.yaml"]) rmSync(path.join(world.tenantsDir, file), { force: true });
  addTenant(world, `${TENANT}.yaml`, tenantFile());
  const set = pulumi(world, ["config", "set", "--secret", "--path", `platform:secrets.${TENANT}.LOGIN`, `${LOGIN.user}:${LOGIN.password}`]);
  expectOk(set, "pulumi config set --secret");
}, { beforeDestroy: () => void docker(["rm", "-f", PROBE]) });

/** A client of our own on the tenant's ingress network (the allow-list step): kept across that step's `up`. */
const PROBE = `platform-${STACK}-${TENANT}-e2e-probe`;
const ingressNetwork = `platform-${STACK}-${TENANT}-ingress-local`;

/** The status of a request from inside `from` to Traefik's address on the tenant's ingress network. */
function statusFrom(from: string, edgeIp: string, host: string, headers: Record<string, string> = {}): number {
  const answer = httpFrom(from, `http://${edgeIp}/`, { Host: host, ...headers });
  if (answer.status === undefined) throw new Error(`no HTTP answer from ${edgeIp} for ${host} inside ${from}: ${answer.output}`);
  return answer.status;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request through the edge with extra headers; the raw body (it may be compressed). */
function request(host: string, urlPath: string, headers: Record<string, string> = {}, method = "GET", body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: HTTP_PORT, path: urlPath, method, headers: { host, ...headers }, agent: false, timeout: 10_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out after 10s")));
    req.on("error", reject);
    req.end(body);
  });
}

/** The answering container's hostname: the demo app's `/` says "demo-app version <v> on <HOSTNAME>". */
const replicaOf = (answer: Answer) => /^demo-app version \S+ on (\S+)$/m.exec(answer.body.toString())?.[1];

describe("routing features on a real Docker engine (issue 14)", () => {
  it("up: every service of the tenant answers, with the platform's security headers, and Traefik reports no router or middleware error", async () => {
    expectOk(up(world), "pulumi up");
    for (const host of [hosts.web, hosts.limited, CUSTOM_HOST]) {
      const answer = await request(host, "/");
      expect(answer.status, `${host}: ${answer.body.toString()}`).toBe(200);
      expect(answer.headers["x-content-type-options"], host).toBe("nosniff");
      expect(answer.headers["x-frame-options"], host).toBe("DENY");
    }
    const routers = JSON.parse((await get("localhost", "/api/http/routers", 5000, DASHBOARD_PORT)).body) as { name: string; status: string; error?: string[] }[];
    const ours = routers.filter((r) => r.name.includes(`--${TENANT}-`));
    expect(ours.map((r) => r.name).sort()).toEqual(
      [`${STACK}--${TENANT}-limited-0@docker`, `${STACK}--${TENANT}-private-0@docker`, `${STACK}--${TENANT}-web-0@docker`, `${STACK}--${TENANT}-web-1@docker`, `${STACK}--${TENANT}-web__redirect-0@docker`].sort(),
    );
    for (const router of ours) expect(`${router.name}: ${router.status} ${JSON.stringify(router.error ?? [])}`).toBe(`${router.name}: enabled []`);
    const middlewares = JSON.parse((await get("localhost", "/api/http/middlewares", 5000, DASHBOARD_PORT)).body) as { name: string; status: string; error?: string[] }[];
    for (const middleware of middlewares.filter((m) => m.name.includes(`--${TENANT}-`)))
      expect(`${middleware.name}: ${middleware.status} ${JSON.stringify(middleware.error ?? [])}`).toBe(`${middleware.name}: enabled []`);
    const logs = docker(["logs", edgeContainer()]);
    const errors = `${logs.stdout}\n${logs.stderr}`.split("\n").filter((line) => /\bERR\b|"level":"error"/.test(line) && line.includes(TENANT));
    expect(errors).toEqual([]);
  });

  it("a second preview reports no changes: the basic-auth hash and every other label are identical run to run", () => {
    const preview = pulumi(world, ["preview", "--expect-no-changes", "--diff"]);
    expect(preview.status, `${preview.stdout}\n${preview.stderr}`).toBe(0);
  });

  it("rate limit 10/s, burst 10: of 20 simultaneous requests at least 10 pass and the rest get 429", async () => {
    await new Promise((r) => setTimeout(r, 1500)); // the bucket refills after the first step's request
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(hosts.limited, "/")));
    const statuses = answers.map((a) => a.status);
    const passed = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(passed + limited, statuses.join(",")).toBe(20);
    expect(passed, statuses.join(",")).toBeGreaterThanOrEqual(10);
    expect(limited, statuses.join(",")).toBeGreaterThan(0);
    expect(answers.find((a) => a.status === 429)?.headers["x-content-type-options"]).toBe("nosniff");
    // The limit is per router: the tenant's other service is not limited by it.
    const others = await Promise.all(Array.from({ length: 20 }, () => request(hosts.web, "/")));
    expect(others.map((a) => a.status)).toEqual(Array(20).fill(200));
  });

  it("sticky: requests with the cookie reach one replica of two, without it both answer", async () => {
    expect(containers({ tenant: TENANT, service: "web" })).toHaveLength(2);
    const first = await request(hosts.web, "/");
    const cookie = ([] as string[]).concat(first.headers["set-cookie"] ?? []).find((c) => c.startsWith("sticky_web="));
    expect(cookie, JSON.stringify(first.headers)).toBeDefined();
    expect(cookie).toMatch(/HttpOnly/i);
    const pinned = cookie!.split(";")[0]!;
    expect(replicaOf(first), first.body.toString()).toMatch(/^[0-9a-f]{12}$/);
    const replicas = new Set<string | undefined>();
    for (let i = 0; i < 6; i++) replicas.add(replicaOf(await request(hosts.web, "/", { cookie: pinned })));
    expect([...replicas]).toEqual([replicaOf(first)]);
    // Without the cookie Traefik alternates between the replicas: six pinned answers in a row are the cookie's doing.
    const unpinned = new Set<string | undefined>();
    for (let i = 0; i < 10; i++) unpinned.add(replicaOf(await request(hosts.web, "/")));
    const servers = (await get("localhost", `/api/http/services/${STACK}--${TENANT}-web@docker`, 5000, DASHBOARD_PORT)).body;
    const health = containers({ tenant: TENANT, service: "web" }).map((c) => docker(["inspect", "-f", "{{.Config.Hostname}} {{.State.Health.Status}}", c]).stdout);
    expect(unpinned.size, `${[...unpinned].join(",")}; containers ${health.join(", ")}; Traefik's service ${servers}`).toBe(2);
  });

  it("www. redirects permanently to the tenant's custom host, path and query kept", async () => {
    const answer = await request(`www.${CUSTOM_HOST}`, "/some/path?q=1");
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe(`http://${CUSTOM_HOST}/some/path?q=1`);
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    const withPort = await request(`www.${CUSTOM_HOST}:${HTTP_PORT}`, "/");
    expect(withPort.headers.location).toBe(`http://${CUSTOM_HOST}:${HTTP_PORT}/`);
    expect((await request(CUSTOM_HOST, "/")).status).toBe(200);
  });

  it("basic auth: 401 without or with a wrong password, 200 with the secret's", async () => {
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
    const anonymous = await request(hosts.private, "/");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toMatch(/^Basic/);
    expect(anonymous.headers["x-frame-options"]).toBe("DENY");
    expect((await request(hosts.private, "/", basic(LOGIN.user, "wrong"))).status).toBe(401);
    const allowed = await request(hosts.private, "/", basic(LOGIN.user, LOGIN.password));
    expect(allowed.status, allowed.body.toString()).toBe(200);
    expect(allowed.body.toString()).toMatch(/^demo-app version 1/);
  });

  it("maxBodySize 1Ki: a larger request body gets 413, a smaller one passes", async () => {
    const auth = { authorization: `Basic ${Buffer.from(`${LOGIN.user}:${LOGIN.password}`).toString("base64")}` };
    expect((await request(hosts.private, "/", auth, "POST", Buffer.alloc(4096, "x"))).status).toBe(413);
    const small = await request(hosts.private, "/", auth, "POST", Buffer.alloc(512, "x"));
    expect(small.status, small.body.toString()).toBe(200);
  });

  it("compression: a large response is gzipped when the client accepts it; an event stream streams uncompressed", async () => {
    const compressed = await request(hosts.web, "/big?bytes=8192", { "accept-encoding": "gzip" });
    expect(compressed.status).toBe(200);
    expect(compressed.headers["content-encoding"]).toBe("gzip");
    expect(compressed.body.length).toBeLessThan(8192);
    expect(gunzipSync(compressed.body).length).toBe(8192);
    const plain = await request(hosts.web, "/big?bytes=8192");
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.length).toBe(8192);

    const stream = await eventStream(hosts.web, "/events?n=5&ms=400");
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    expect(stream.contentEncoding).toBeUndefined();
    expect(stream.text).toContain("data: event 5 of 5");
    // Four 400ms pauses: the first event must arrive well before the last.
    expect(stream.firstEventAt, JSON.stringify(stream)).toBeLessThan(stream.endedAt - 1000);
  });

  it("metrics: per router and service counters on Traefik's loopback, not from a tenant container; access logs are JSON", async () => {
    const metrics = docker(["exec", edgeContainer(), "wget", "-qO-", "http://127.0.0.1:8082/metrics"]);
    expect(metrics.status, metrics.stderr).toBe(0);
    // A refused request never reaches the service: its 429 counts on the router.
    expect(metrics.stdout).toMatch(new RegExp(`traefik_router_requests_total\\{[^}]*code="429"[^}]*router="${STACK}--${TENANT}-limited-0@docker"`));
    expect(metrics.stdout).toMatch(new RegExp(`traefik_service_requests_total\\{[^}]*code="200"[^}]*service="${STACK}--${TENANT}-limited@docker"`));
    expect(metrics.stdout).toMatch(new RegExp(`traefik_service_requests_total\\{[^}]*code="200"[^}]*service="${STACK}--${TENANT}-web@docker"`));
    expect(metrics.stdout).toMatch(new RegExp(`traefik_router_requests_total\\{[^}]*router="${STACK}--${TENANT}-private-0@docker"`));
    expect(metrics.stdout).toMatch(/traefik_service_request_duration_seconds_bucket\{/);

    const tenantContainer = containers({ tenant: TENANT, service: "limited" })[0]!;
    const edgeIps = addresses(edgePauseContainer());
    const edgeIp = Object.entries(edgeIps).find(([network]) => network === `platform-${STACK}-${TENANT}-ingress-local`)?.[1];
    expect(edgeIp, JSON.stringify(edgeIps)).toBeDefined();
    // The probe works: the routed entrypoint is reachable on that address.
    expect(canConnect(tenantContainer, edgeIp!, 80), `${TENANT} -> Traefik :80`).toBe(true);
    expect(statusFrom(tenantContainer, edgeIp!, hosts.web), `${TENANT} -> Traefik :80 with web's host`).toBe(200);
    for (const port of [8082, 8080]) {
      const answer = httpFrom(tenantContainer, `http://${edgeIp}:${port}/metrics`);
      expect(answer.ok, `${TENANT} -> Traefik :${port}/metrics: ${answer.output}`).toBe(false);
    }

    const logs = docker(["logs", edgeContainer()]);
    const lines = `${logs.stdout}\n${logs.stderr}`.split("\n").filter((line) => line.includes(hosts.limited));
    expect(lines.length).toBeGreaterThanOrEqual(20);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.filter((e) => e.RequestHost === hosts.limited && e.DownstreamStatus === 429).length).toBeGreaterThan(0);
    expect(entries.every((e) => typeof e.ClientHost === "string" && typeof e.Duration === "number")).toBe(true);
  });
});

describe("IP allow-lists on a real Docker engine (issue 14)", () => {
  // Who the client is, as Traefik sees it (the connection's source; X-Forwarded-For is not trusted): a request from
  // the host's loopback to the published port goes through docker-proxy, which connects from the edge network's
  // gateway, so every loopback client is that one address; a container on a tenant's ingress network that reaches
  // Traefik's address there keeps its own address. On a server, the published port's DNAT keeps an outside client's
  // address (what an allow-list of office ranges relies on); this engine has no outside client to show it with.
  it("the stack's list (platform:access) guards every tenant router and a tenant's list narrows it, never widens it", async () => {
    const gateway = docker(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", `platform-${STACK}-edge`]).stdout;
    expect(gateway, "the edge network's gateway").toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probe = docker(["run", "-d", "--name", PROBE, "--network", ingressNetwork, "platform-local/demo-app:1"]);
    expect(probe.status, probe.stderr).toBe(0);
    try {
      const probeIp = addresses(PROBE)[ingressNetwork]!;
      // The stack admits the host's loopback and the probe; `web` asks for everyone, `limited` for the probe only.
      expectOk(pulumi(world, ["config", "set", "--path", "platform:access.ipAllowList[0]", `${gateway}/32`]), "pulumi config set platform:access");
      expectOk(pulumi(world, ["config", "set", "--path", "platform:access.ipAllowList[1]", `${probeIp}/32`]), "pulumi config set platform:access");
      addTenant(world, `${TENANT}.yaml`, tenantFile({ web: "{ ipAllowList: [0.0.0.0/0] }", limited: `{ ipAllowList: [${probeIp}/32] }` }));
      expectOk(up(world), "pulumi up with allow-lists");

      const edgeIp = addresses(edgePauseContainer())[ingressNetwork]!;
      // A tenant container: on the same network as the probe, but in neither list (its address is new after the up).
      const outsider = containers({ tenant: TENANT, service: "private" })[0]!;
      const outsiderIp = addresses(outsider)[ingressNetwork]!;
      expect([gateway, probeIp]).not.toContain(outsiderIp);

      // The host's loopback (the gateway) and the probe are in the stack's list: web answers both.
      expect((await request(hosts.web, "/")).status).toBe(200);
      expect(statusFrom(PROBE, edgeIp, hosts.web)).toBe(200);
      // Every router of the tenant refuses a source outside the stack's list, web's 0.0.0.0/0 and the redirect included.
      for (const host of [hosts.web, CUSTOM_HOST, `www.${CUSTOM_HOST}`, hosts.limited, hosts.private]) expect(statusFrom(outsider, edgeIp, host), `${host} from ${outsiderIp}`).toBe(403);
      const refused = await request(hosts.limited, "/");
      // limited's own list narrows the stack's: the host's loopback is refused, the probe admitted, and a forged
      // X-Forwarded-For naming the probe changes nothing.
      expect(refused.status).toBe(403);
      expect(refused.headers["x-content-type-options"], "a refusal keeps the security headers").toBe("nosniff");
      expect((await request(hosts.limited, "/", { "x-forwarded-for": probeIp })).status).toBe(403);
      expect(statusFrom(PROBE, edgeIp, hosts.limited)).toBe(200);
      expect(statusFrom(outsider, edgeIp, hosts.limited, { "X-Forwarded-For": probeIp })).toBe(403);
    } finally {
      docker(["rm", "-f", PROBE]);
    }
  });
});

interface StreamResult {
  status: number;
  contentType?: string;
  contentEncoding?: string;
  text: string;
  firstEventAt: number;
  endedAt: number;
}

/** Reads an event stream, noting when the first event and the end arrive (ms after the request). */
function eventStream(host: string, urlPath: string): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = http.request(
      { host: "127.0.0.1", port: HTTP_PORT, path: urlPath, headers: { host, accept: "text/event-stream", "accept-encoding": "gzip, br" }, agent: false, timeout: 15_000 },
      (response) => {
        let text = "";
        let firstEventAt = Number.POSITIVE_INFINITY;
        response.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          if (firstEventAt === Number.POSITIVE_INFINITY && text.includes("\n\n")) firstEventAt = Date.now() - started;
        });
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers["content-type"],
            contentEncoding: response.headers["content-encoding"],
            text,
            firstEventAt,
            endedAt: Date.now() - started,
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out after 15s")));
    req.on("error", reject);
    req.end();
  });
}
