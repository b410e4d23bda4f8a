import type { RoutePlan } from "./tenant-plan";

export interface EdgeEndpoint {
  tls: "acme" | "self-signed" | "none";
  httpPort: number;
  httpsPort: number;
}

/** The URL a person types for a route, with the port only when it is not the scheme's default. */
export function routeUrl(route: RoutePlan, edge: EdgeEndpoint): string {
  const secure = edge.tls !== "none";
  const port = secure ? edge.httpsPort : edge.httpPort;
  const defaultPort = secure ? 443 : 80;
  return `${secure ? "https" : "http"}://${route.host}${port === defaultPort ? "" : `:${port}`}${route.path ?? "/"}`;
}
