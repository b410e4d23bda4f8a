import { describe, expect, it } from "vitest";
import { containerBasics, dockerCpus, stopSettings } from "../components/container-settings";
import { dynamicConfig, traefikArguments } from "../components/edge";
import { durationToDockerString } from "../model/units";
import { isPinned, parseImageRef } from "../model/image-ref";
import { generatedHost } from "../model/naming";
import type { ServicePlan } from "../model/tenant-plan";
import { traefikLabels, traefikServiceName } from "../model/traefik-labels";
import { parseDurationMs, parseSize } from "../model/units";
import { routeUrl } from "../model/urls";
import { repoStacks } from "./validation-fixtures";

const production = repoStacks.stacks.find((s) => s.name === "production")!;

describe("sizes and durations", () => {
  it("parses binary sizes and Go-style durations", () => {
    expect(parseSize("512Mi")).toBe(512 * 1024 ** 2);
    expect(parseSize("1Gi")).toBe(1024 ** 3);
    expect(() => parseSize("512")).toThrow('"512" is not a size (use e.g. 512Mi or 1Gi)');
    expect(parseDurationMs("1m30s")).toBe(90_000);
    expect(parseDurationMs("500ms")).toBe(500);
  });
});

describe("image references", () => {
  it("knows pinned from floating references", () => {
    expect(isPinned(parseImageRef("registry.example.com:5000/team/app:1.2.3")!)).toBe(true);
    expect(isPinned(parseImageRef(`app@sha256:${"a".repeat(64)}`)!)).toBe(true);
    expect(isPinned(parseImageRef("app:latest")!)).toBe(false);
    expect(isPinned(parseImageRef("team/app")!)).toBe(false);
    expect(parseImageRef("Team/App:1")).toBeUndefined();
  });
});

describe("hosts and URLs", () => {
  it("generates hosts one level under the domain", () => {
    expect(generatedHost("acme", undefined, "", "apps.example.com")).toBe("acme.apps.example.com");
    expect(generatedHost("acme", "api", "-staging", "staging.example.com")).toBe("acme-api-staging.staging.example.com");
  });

  it("prints ports only when they are not the default", () => {
    expect(routeUrl({ host: "a.example.com" }, { tls: "acme", httpPort: 80, httpsPort: 443 })).toBe("https://a.example.com/");
    expect(routeUrl({ host: "a.localhost", path: "/api" }, { tls: "none", httpPort: 8080, httpsPort: 8443 })).toBe("http://a.localhost:8080/api");
  });
});

describe("Traefik", () => {
  const service: ServicePlan = {
    name: "web", image: "x:1", runImage: "x:1", standIn: false, port: 8080, replicas: 2, host: "eu-1", routed: true,
    routes: [{ host: "acme.apps.example.com" }, { host: "shop.example.org", path: "/api", customIndex: 0 }],
    resources: { cpus: 1, memoryBytes: 1 }, env: {}, secretNames: [],
  };

  const context = { stack: "production", edge: "production", tenant: "acme", ingressNetwork: "net", tls: "acme" } as const;

  it("routes a service by labels: one router per route, TLS by the ACME resolver, shared middlewares", () => {
    const labels = traefikLabels(service, context);
    expect(labels).toMatchObject({
      "platform.edge": "production",
      "traefik.enable": "true",
      "traefik.docker.network": "net",
      "traefik.http.services.production--acme-web.loadbalancer.server.port": "8080",
      "traefik.http.routers.production--acme-web-0.rule": "Host(`acme.apps.example.com`)",
      "traefik.http.routers.production--acme-web-1.rule": "Host(`shop.example.org`) && PathPrefix(`/api`)",
      "traefik.http.routers.production--acme-web-1.entrypoints": "websecure",
      "traefik.http.routers.production--acme-web-1.tls.certresolver": "letsencrypt",
      "traefik.http.routers.production--acme-web-0.middlewares": "security-headers@file,retry@file",
    });
  });

  it("a preview's acme and its base stack's acme share one Traefik: same edge label, no shared router or service name", () => {
    const names = (labels: Record<string, string>) => Object.keys(labels).filter((k) => k.startsWith("traefik.http."));
    const staging = traefikLabels(service, { ...context, stack: "staging", edge: "staging" });
    const preview = traefikLabels(service, { ...context, stack: "pr-7", edge: "staging" });
    expect(preview["platform.edge"]).toBe(staging["platform.edge"]);
    expect(names(preview).filter((name) => names(staging).includes(name))).toEqual([]);
    expect(traefikServiceName("pr-7", "acme", "web")).toBe("pr-7--acme-web");
  });

  it("an internal service gets no routing labels", () => {
    expect(traefikLabels({ ...service, routed: false, routes: [] }, context)).toEqual({});
  });

  it("the edge redirects HTTP to HTTPS, uses ACME, exposes nothing by default and only what names it as edge", () => {
    const args = traefikArguments(production);
    expect(args).toContain("--providers.docker.exposedByDefault=false");
    expect(args).toContain("--providers.docker.constraints=Label(`platform.edge`,`production`)");
    expect(args).toContain("--entrypoints.web.http.redirections.entrypoint.to=websecure");
    expect(args).toContain("--certificatesresolvers.letsencrypt.acme.httpchallenge.entrypoint=web");
    expect(args).toContain("--certificatesresolvers.letsencrypt.acme.storage=/acme/acme.json");
    expect(args).toContain("--accesslog=true");
    expect(args).toContain("--accesslog.format=json");
    // Metrics only on the loopback entrypoint the API and ping use.
    expect(args).toEqual(expect.arrayContaining(["--metrics.prometheus=true", "--metrics.prometheus.entryPoint=traefik"]));
    expect(args).toContain(`--entrypoints.traefik.address=127.0.0.1:8082`);
    expect(dynamicConfig([])).toContain("stsSeconds: 31536000");
  });
});

describe("container settings match what the engine reports back", () => {
  it("CPUs are written as the provider reads them, so an unchanged limit never replaces a container", () => {
    expect(dockerCpus(1)).toBe("1.0");
    expect(dockerCpus(2)).toBe("2.0");
    expect(dockerCpus(0.5)).toBe("0.5");
    expect(dockerCpus(0.25)).toBe("0.25");
    expect(dockerCpus(1.5)).toBe("1.5");
  });

  it("containers get no swap beyond their memory limit", () => {
    const basics = containerBasics({ cpus: 0.5, memoryBytes: 256 * 1024 ** 2 });
    expect(basics.memorySwap).toBe(basics.memory);
  });

  it("every kind of container is stopped gracefully on delete, with the same grace as any other stop", () => {
    for (const kind of ["database", "app", "cache", "edge"] as const) {
      const settings = stopSettings(kind);
      expect(settings.destroyGraceSeconds, kind).toBeGreaterThan(0);
      expect(settings.destroyGraceSeconds).toBe(settings.stopTimeout);
    }
    expect(stopSettings("database").destroyGraceSeconds).toBeGreaterThanOrEqual(30);
  });

  it("a stopping Traefik exits by itself before the engine kills it, on every entrypoint", () => {
    const args = traefikArguments({ ...production, edge: { ...production.edge, dashboard: { enabled: true, port: 8081 } } });
    const entrypoints = args.map((a) => /^--entrypoints\.([a-z]+)\.address=/.exec(a)?.[1]).filter(Boolean);
    expect(entrypoints.sort()).toEqual(["dashboard", "traefik", "web", "websecure"]);
    for (const entrypoint of entrypoints) {
      const grace = args.find((a) => a.startsWith(`--entrypoints.${entrypoint}.transport.lifeCycle.graceTimeOut=`));
      expect(grace, entrypoint).toBeDefined();
      expect(parseDurationMs(grace!.split("=")[1]!) / 1000).toBeLessThan(stopSettings("edge").stopTimeout);
      // A replacement's new Traefik binds the same ports beside the old one.
      expect(args, entrypoint).toContain(`--entrypoints.${entrypoint}.reusePort=true`);
    }
  });
});

describe("Traefik's own endpoints", () => {
  it("API and ping listen on the container's loopback; nothing phones home", () => {
    const args = traefikArguments(production);
    expect(args).toContain("--entrypoints.traefik.address=127.0.0.1:8082");
    expect(args).toContain("--global.checkNewVersion=false");
    expect(args).toContain("--global.sendAnonymousUsage=false");
    expect(args.some((a) => a.startsWith("--entrypoints.") && a.includes(":8080") && !a.startsWith("--entrypoints.dashboard"))).toBe(false);
  });

  it("the dashboard router admits only the edge network's gateway and the loopback", () => {
    const config = dynamicConfig(["10.1.2.1"]);
    expect(config).toContain("10.1.2.1/32");
    expect(config).toContain("api@internal");
    expect(dynamicConfig([])).not.toContain("api@internal");
  });
});

describe("health-check durations", () => {
  it("are written as Go prints them, the form the engine reports back", () => {
    expect(durationToDockerString("1000ms")).toBe("1s");
    expect(durationToDockerString("10s")).toBe("10s");
    expect(durationToDockerString("90s")).toBe("1m30s");
    expect(durationToDockerString("1h")).toBe("1h0m0s");
    expect(durationToDockerString("1500ms")).toBe("1.5s");
    expect(durationToDockerString("250ms")).toBe("250ms");
  });
});
