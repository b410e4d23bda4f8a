/**
 * The edge's Docker socket proxy: HAProxy between Traefik and the engine's socket, letting through only the reads
 * Traefik's Docker provider (and the Swarm provider, for the cluster edge) makes. Pure: the allow-list, a check of one
 * request against it (what the tests use) and the HAProxy configuration generated from it (what the proxy runs).
 *
 * Why these paths: Traefik v3.6's providers (pkg/provider/docker) call `ServerVersion` (`/version`), `ContainerList`
 * (`/containers/json`), `ContainerInspect` (`/containers/{id}/json`) and `Events` (`/events`); the Swarm provider
 * `ServiceList`, `TaskList`, `NetworkList` and `NodeInspectWithRaw`; the Docker client negotiates its API version with
 * `/_ping` (HEAD, then GET). Nothing else: no `/info`, and no write of any kind.
 *
 * Why a unix socket and not 127.0.0.1 in the edge's network namespace: Traefik forwards requests to whatever
 * `loadbalancer.server.url` a routed container's labels name, and a container's labels include those baked into its
 * image. A tenant image labelled with `http://127.0.0.1:<port>` would route the internet to a TCP listener on
 * Traefik's loopback, so every container's inspect (with its environment) would be one request away. Traefik cannot
 * forward HTTP to a unix socket, so the proxy listens on one, in a volume only Traefik and the proxy mount, and the
 * proxy itself has no network (`network_mode: none`): nothing reaches it but through that file.
 */

/** Methods the proxy lets through; every other one (POST, PUT, DELETE, …) is refused whatever the path. */
export const SOCKET_PROXY_METHODS = ["GET", "HEAD"] as const;

export interface SocketProxyRule {
  /** The API path, `{id}` for a container, network or node id or name. */
  path: string;
  /** Who calls it. */
  caller: string;
}

/** An id or a name as the engine accepts them (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`): never `..`, `/` or an escape. */
const ID_PATTERN = "[a-zA-Z0-9][a-zA-Z0-9_.-]*";
/** The optional API version prefix the Docker client adds (`/v1.41`). */
const VERSION_PREFIX = "(/v1[.][0-9]+)?";

/**
 * Everything Traefik may read through the proxy. Each path is matched whole (query strings aside): its
 * `/containers/{id}/logs`, `/archive`, `/export`, `/exec`, `/secrets`, `/configs`, `/images`, `/info`, … are refused.
 */
export function socketProxyAllowList(): readonly SocketProxyRule[] {
  return [
    { path: "/_ping", caller: "every Docker client: API version negotiation" },
    { path: "/version", caller: "Docker and Swarm providers: the engine's version at start" },
    { path: "/containers/json", caller: "Docker provider: list containers" },
    { path: "/containers/{id}/json", caller: "Docker provider: inspect a container (labels, networks, health)" },
    { path: "/events", caller: "Docker provider: watch container starts, stops and health changes" },
    { path: "/networks", caller: "Swarm provider: list networks" },
    { path: "/networks/{id}", caller: "Swarm provider: a network's subnets" },
    { path: "/services", caller: "Swarm provider: list services" },
    { path: "/tasks", caller: "Swarm provider: list a service's tasks" },
    { path: "/nodes", caller: "Swarm provider: list nodes" },
    { path: "/nodes/{id}", caller: "Swarm provider: inspect a task's node" },
  ];
}

/** A rule's path as an anchored regular expression (the same text for JavaScript and HAProxy's PCRE2). */
export function socketProxyPattern(rule: SocketProxyRule): string {
  return `^${VERSION_PREFIX}${rule.path.replaceAll("{id}", ID_PATTERN)}$`;
}

/** Would the proxy let this request through? `target` is the request target (path and query), as sent. */
export function socketProxyAllows(method: string, target: string): boolean {
  if (!(SOCKET_PROXY_METHODS as readonly string[]).includes(method)) return false;
  const path = target.split("?")[0]!;
  return socketProxyAllowList().some((rule) => new RegExp(socketProxyPattern(rule)).test(path));
}

/** The folder holding the proxy's socket: a volume the proxy mounts writable and Traefik read-only. */
export const SOCKET_PROXY_DIR = "/run/socket-proxy";
/** Where Traefik's Docker provider connects (`--providers.docker.endpoint`). */
export const SOCKET_PROXY_ENDPOINT = `unix://${SOCKET_PROXY_DIR}/docker.sock`;
/** The official haproxy image's configuration path; the dev stack's Debian build uses the same. */
export const SOCKET_PROXY_CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg";
/**
 * A second listener for the health check alone: the proxy's own network namespace holds nothing but `lo`
 * (`network_mode: none`), so only a process inside the proxy's container reaches it.
 */
export const SOCKET_PROXY_HEALTH_PORT = 2375;
/** The engine's socket inside the proxy's container (mounted read-only, which does not limit the API). */
const ENGINE_SOCKET = "/var/run/docker.sock";

const REFUSED_BODY = '{"message":"refused by the edge socket proxy: Traefik may only read containers, networks, events and swarm state"}';

/**
 * The proxy's HAProxy configuration. Refused requests get 403 with a Docker-style JSON error and are logged (stdout);
 * allowed ones are not (Traefik inspects every container on each event). An idle event stream is cut after an hour and
 * Traefik reconnects (its provider retries at once after a long-lived connection, and lists everything again).
 */
export function socketProxyConfig(): string {
  const rules = socketProxyAllowList().map((rule) => `    # ${rule.path}: ${rule.caller}\n    acl allowed_path path -m reg '${socketProxyPattern(rule)}'`);
  return `# Generated by components/socket-proxy.ts: the edge's Docker socket proxy. Only the reads Traefik's providers make.
global
    log stdout format raw local0 info
    nbthread 1
    maxconn 64

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout http-request 10s
    timeout http-keep-alive 30s
    timeout client 1h
    timeout server 1h

frontend docker_api
    # Traefik's endpoint, in the volume only it and the proxy mount.
    bind ${SOCKET_PROXY_DIR}/docker.sock mode 600
    # The health check's, on the proxy's own loopback (its network namespace has nothing else).
    bind 127.0.0.1:${SOCKET_PROXY_HEALTH_PORT}
    acl read_method method ${SOCKET_PROXY_METHODS.join(" ")}
${rules.join("\n")}
    http-request return status 403 content-type application/json string '${REFUSED_BODY}' unless read_method allowed_path
    http-request set-log-level silent
    default_backend engine

backend engine
    server engine ${ENGINE_SOCKET}
`;
}

/**
 * The proxy's health check: `/_ping` through the proxy (so the engine's socket answers too) on its own loopback, with
 * bash's /dev/tcp: both the official image and the Debian build have bash, neither has curl or wget.
 */
export function socketProxyHealthTest(): string[] {
  return [
    "CMD",
    "bash",
    "-c",
    `exec 3<>/dev/tcp/127.0.0.1/${SOCKET_PROXY_HEALTH_PORT} && printf 'GET /_ping HTTP/1.0\\r\\n\\r\\n' >&3 && read -r status <&3 && [[ $status == *' 200 '* ]]`,
  ];
}
