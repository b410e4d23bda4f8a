import type { TenantValidationResult } from "../model/validate";
import { routeUrl } from "../model/urls";
import type { StackDefinition } from "../stacks/definition";

/**
 * What `npm run validate` prints for valid tenants: per stack, where each service runs (Docker host), how many
 * replicas and at which URLs, so a reviewer sees placement and which machine each hostname's DNS must reach.
 * The table fits a 100-column terminal; `--json` carries the same facts plus the Docker host URLs.
 */

export const TABLE_WIDTH = 100;

export interface ServicePlacement {
  name: string;
  /** The stack's name for the Docker host, e.g. eu-1. */
  host: string;
  /** Its Docker endpoint, e.g. ssh://deploy@prod-1.example.net. */
  dockerHost: string;
  replicas: number;
  /** Empty for internal services. */
  urls: string[];
}

export interface StackPlacement {
  homeHost: string;
  retiring: boolean;
  /** Empty for a retiring tenant: only its data volume is kept. */
  services: ServicePlacement[];
}

export interface TenantSummary {
  name: string;
  file: string;
  stacks: string[];
  services: string[];
  /** Per stack, the route hosts (with path) the tenant answers on. */
  hosts: Record<string, string[]>;
  /** Per stack, where and how each service runs. */
  placement: Record<string, StackPlacement>;
}

export function tenantSummaries(result: TenantValidationResult, stacks: readonly StackDefinition[]): TenantSummary[] {
  return result.tenants.map((tenant) => {
    const summary: TenantSummary = { name: tenant.name, file: tenant.file, stacks: [], services: Object.keys(tenant.spec.services), hosts: {}, placement: {} };
    for (const stack of stacks) {
      const plan = result.plans[stack.name]?.find((p) => p.name === tenant.name);
      if (!plan) continue;
      const edge = { tls: stack.tls, httpPort: stack.edge.httpPort, httpsPort: stack.edge.httpsPort };
      summary.stacks.push(stack.name);
      summary.hosts[stack.name] = [...new Set(plan.services.flatMap((s) => s.routes.map((r) => r.host + (r.path ?? ""))))];
      summary.placement[stack.name] = {
        homeHost: plan.homeHost,
        retiring: plan.retiring,
        services: plan.retiring
          ? []
          : plan.services.map((s) => ({
              name: s.name,
              host: s.host,
              dockerHost: stack.hosts[s.host]?.url ?? "",
              replicas: s.replicas,
              urls: s.routes.map((r) => routeUrl(r, edge)),
            })),
      };
    }
    return summary;
  });
}

/** One block per stack: its Docker hosts, then a row per service (a URL per line) under its tenant. */
export function placementTable(summaries: readonly TenantSummary[], stacks: readonly StackDefinition[], width = TABLE_WIDTH): string {
  const out: string[] = [];
  for (const stack of stacks) {
    const tenants = summaries.filter((t) => t.placement[stack.name]);
    out.push(`stack ${stack.name}: ${tenants.length} tenant(s)`);
    const hostWidth = Math.max(...Object.keys(stack.hosts).map((h) => h.length));
    for (const host of Object.values(stack.hosts)) out.push(`  docker host ${host.name.padEnd(hostWidth)}  ${host.url}`);
    if (tenants.length > 0) out.push("", ...stackRows(tenants, stack.name, width));
    out.push("");
  }
  out.push(`${summaries.length} tenant(s) valid`, "");
  return out.join("\n");
}

function stackRows(tenants: readonly TenantSummary[], stack: string, width: number): string[] {
  const header = ["tenant", "service", "host", "replicas", "urls"];
  const rows: { cells: string[]; urls: string[] }[] = [];
  for (const tenant of tenants) {
    const placement = tenant.placement[stack]!;
    if (placement.retiring) rows.push({ cells: [tenant.name, "-", placement.homeHost, "-"], urls: ["(retiring: only the data volume is kept)"] });
    placement.services.forEach((service, index) =>
      rows.push({
        cells: [index === 0 ? tenant.name : "", service.name, service.host, String(service.replicas)],
        urls: service.urls.length > 0 ? service.urls : ["(internal)"],
      }),
    );
  }
  const widths = header.slice(0, 4).map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const indent = "  ";
  const format = (cells: string[]) =>
    indent + cells.map((cell, i) => (i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ");
  const urlColumn = format(widths.map(() => "")).length + 2;
  // URLs stay on their row while they fit; otherwise every URL of the table goes on a line of its own below.
  const inline = rows.every((r) => r.urls.every((url) => urlColumn + url.length <= width));
  const lines = [format(header.slice(0, 4)) + (inline ? `  ${header[4]}` : "")];
  for (const row of rows) {
    if (inline) {
      row.urls.forEach((url, i) => lines.push(`${i === 0 ? format(row.cells) : " ".repeat(urlColumn - 2)}  ${url}`));
    } else {
      lines.push(format(row.cells).trimEnd(), ...row.urls.map((url) => `${indent}    ${url}`));
    }
  }
  return lines;
}
