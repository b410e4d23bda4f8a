import { beforeAll, describe, expect, it } from "vitest";
import {
  SOCKET_PROXY_CONFIG_PATH,
  SOCKET_PROXY_DIR,
  SOCKET_PROXY_ENDPOINT,
  SOCKET_PROXY_HEALTH_PORT,
  socketProxyAllowList,
  socketProxyAllows,
  socketProxyConfig,
  socketProxyPattern,
} from "../components/socket-proxy";
import { labelsOf, ofType, runProgram, TYPES, type ProgramRun, type RecordedResource } from "./program-harness";

const ID = "0f3c5e2d9a1b4c7e8f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6";

describe("the socket proxy's allow-list", () => {
  it.each([
    ["HEAD", "/_ping"],
    ["GET", "/_ping"],
    ["GET", "/v1.41/_ping"],
    ["GET", "/v1.47/version"],
    ["GET", "/v1.41/containers/json?limit=0&filters=%7B%7D"],
    ["GET", `/v1.41/containers/${ID}/json`],
    ["GET", "/containers/platform-staging-acme-web-1/json"],
    ["HEAD", `/v1.41/containers/${ID}/json`],
    ["GET", "/v1.41/events?filters=%7B%22type%22%3A%7B%22container%22%3Atrue%7D%7D"],
    // The Swarm provider (the cluster edge).
    ["GET", "/v1.41/services"],
    ["GET", "/v1.41/tasks?filters=%7B%7D"],
    ["GET", "/v1.41/networks?filters=%7B%22driver%22%3A%7B%22overlay%22%3Atrue%7D%7D"],
    ["GET", "/v1.41/networks/ingress"],
    ["GET", "/v1.41/nodes"],
    ["GET", "/v1.41/nodes/x5k2mzq0r4b1"],
  ])("lets %s %s through", (method, target) => {
    expect(socketProxyAllows(method, target)).toBe(true);
  });

  it.each([
    // Every write, whatever the path.
    ["POST", "/v1.41/containers/create"],
    ["POST", `/v1.41/containers/${ID}/exec`],
    ["POST", `/v1.41/exec/${ID}/start`],
    ["POST", `/v1.41/containers/${ID}/restart`],
    ["POST", `/v1.41/containers/${ID}/json`],
    ["POST", "/v1.41/_ping"],
    ["PUT", `/v1.41/containers/${ID}/archive?path=/`],
    ["DELETE", `/v1.41/containers/${ID}?force=1`],
    ["DELETE", "/v1.41/networks/ingress"],
    ["OPTIONS", "/_ping"],
    // Reads that leak data or are not Traefik's business.
    ["GET", `/v1.41/containers/${ID}/logs?stdout=1&stderr=1`],
    ["GET", `/v1.41/containers/${ID}/archive?path=/etc`],
    ["HEAD", `/v1.41/containers/${ID}/archive?path=/etc`],
    ["GET", `/v1.41/containers/${ID}/export`],
    ["GET", `/v1.41/containers/${ID}/top`],
    ["GET", `/v1.41/containers/${ID}/changes`],
    ["GET", `/v1.41/containers/${ID}/attach/ws`],
    ["GET", `/v1.41/exec/${ID}/json`],
    ["GET", "/v1.41/secrets"],
    ["GET", "/v1.41/secrets/db-password"],
    ["GET", "/v1.41/configs"],
    ["GET", "/v1.41/images/json"],
    ["GET", "/v1.41/images/postgres/get"],
    ["GET", "/v1.41/volumes"],
    ["GET", "/v1.41/info"],
    ["GET", "/v1.41/system/df"],
    ["GET", "/v1.41/swarm"],
    ["GET", "/v1.41/plugins"],
    ["GET", "/v1.41/services/web/logs"],
    ["GET", "/v1.41/tasks/abc/logs"],
    ["GET", "/session"],
    // Ways around an exact match: traversal, escapes, extra slashes, other spellings.
    ["GET", "/v1.41/containers/../secrets"],
    ["GET", "/v1.41/containers/json/../../secrets"],
    ["GET", `/v1.41/containers/${ID}/json/../logs`],
    ["GET", "/v1.41/containers/%2e%2e/json"],
    ["GET", "/v1.41/containers/..%2Fsecrets/json"],
    ["GET", "//v1.41/containers/json"],
    ["GET", "/v1.41/containers/json/"],
    ["GET", "/V1.41/containers/json"],
    ["GET", "/v1.41/Containers/json"],
    ["GET", "/v2.0/containers/json"],
    ["GET", "/v1.41/containers/json;x=1"],
    ["get", "/_ping"],
  ])("refuses %s %s", (method, target) => {
    expect(socketProxyAllows(method, target)).toBe(false);
  });

  it("anchors every pattern and names its caller", () => {
    for (const rule of socketProxyAllowList()) {
      expect(socketProxyPattern(rule)).toMatch(/^\^\(\/v1\[\.\]\[0-9\]\+\)\?\/.*\$$/);
      expect(rule.caller.length).toBeGreaterThan(10);
    }
  });

  it("the HAProxy configuration carries exactly those patterns, quoted as they are, and refuses the rest", () => {
    const config = socketProxyConfig();
    const patterns = [...config.matchAll(/acl allowed_path path -m reg '([^']+)'/g)].map((m) => m[1]);
    expect(patterns).toEqual(socketProxyAllowList().map(socketProxyPattern));
    expect(config).toContain("acl read_method method GET HEAD\n");
    expect(config).toMatch(/http-request return status 403 .* unless read_method allowed_path\n/);
    // Traefik's endpoint and the health check's; nothing on any other address.
    expect([...config.matchAll(/^\s*bind (\S+)/gm)].map((m) => m[1])).toEqual([`${SOCKET_PROXY_DIR}/docker.sock`, `127.0.0.1:${SOCKET_PROXY_HEALTH_PORT}`]);
    expect(config).toContain("server engine /var/run/docker.sock\n");
  });
});

const STACKS = ["staging", "production"] as const;

describe.each(STACKS)("stack %s: the edge's socket proxy", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack);
  });
  const edgeContainers = (suffix: string) => ofType(run, TYPES.container).filter((c) => new RegExp(`^edge-.*-${suffix}$`).test(c.name));
  const mountsOf = (c: RecordedResource) => (c.inputs.mounts ?? []) as { type: string; source: string; target: string; readOnly?: boolean }[];

  it("Traefik mounts no Docker socket and reads the API through the proxy", () => {
    expect(run.error).toBeUndefined();
    const traefiks = edgeContainers("traefik");
    expect(traefiks.length).toBeGreaterThan(0);
    for (const traefik of traefiks) {
      expect(mountsOf(traefik).some((m) => m.source.endsWith("docker.sock") || m.target.endsWith("docker.sock"))).toBe(false);
      expect(traefik.inputs.command).toContain(`--providers.docker.endpoint=${SOCKET_PROXY_ENDPOINT}`);
      expect(mountsOf(traefik)).toContainEqual({ type: "volume", source: `platform-${stack}-edge-socket-proxy`, target: SOCKET_PROXY_DIR, readOnly: true });
    }
  });

  it("the proxy has no network, mounts the engine's socket read-only and listens on its own volume's socket", () => {
    const proxies = edgeContainers("socket-proxy");
    expect(proxies).toHaveLength(edgeContainers("traefik").length);
    for (const proxy of proxies) {
      expect(proxy.inputs.name).toBe(`platform-${stack}-edge-socket-proxy`);
      expect(proxy.inputs.networkMode).toBe("none");
      expect(proxy.inputs.networksAdvanced ?? []).toEqual([]);
      expect(proxy.inputs.ports ?? []).toEqual([]);
      expect(mountsOf(proxy)).toEqual([
        { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
        { type: "volume", source: `platform-${stack}-edge-socket-proxy`, target: SOCKET_PROXY_DIR },
      ]);
      expect(proxy.inputs.uploads).toEqual([{ file: SOCKET_PROXY_CONFIG_PATH, content: socketProxyConfig() }]);
      expect(proxy.inputs.entrypoints).toEqual(["haproxy", "-db", "-f", SOCKET_PROXY_CONFIG_PATH]);
      expect(proxy.inputs.capabilities).toEqual({ drops: ["ALL"] });
      expect(proxy.inputs.securityOpts).toEqual(["no-new-privileges:true"]);
      expect((proxy.inputs.healthcheck as { tests: string[] }).tests[0]).toBe("CMD");
      expect(proxy.inputs.memory).toBeLessThanOrEqual(64);
      // The default: the official image, pulled (the mocks answer an image's id as `sha256:<reference>`).
      expect(proxy.inputs.image).toBe("sha256:haproxy:3.2.24");
      expect(labelsOf(proxy)["platform.role"]).toBe("edge-socket-proxy");
    }
  });

  it("only the edge keeper (no network: it restarts Traefik) and the proxy mount the engine's socket", () => {
    const mounting = ofType(run, TYPES.container).filter((c) => mountsOf(c).some((m) => m.source === "/var/run/docker.sock"));
    expect(mounting).toHaveLength(2 * edgeContainers("traefik").length);
    for (const container of mounting) {
      expect(container.name).toMatch(/^edge-.*-(keeper|socket-proxy)$/);
      expect(container.inputs.networkMode).toBe("none");
    }
  });
});
