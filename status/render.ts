import { isFine, type OneOff, type ServiceStatus, type StatusReport } from "./report";

/** The report as a table that fits a 100-column terminal; URLs and problem lines are never cut. */

/** The image column gets what the others leave of the line. */
const LINE_WIDTH = 99;
const COLUMNS = [
  { title: "TENANT", max: 16 },
  { title: "SERVICE", max: 12 },
  { title: "HOST", max: 10 },
  { title: "IMAGE", max: Infinity },
  { title: "STATUS", max: 14 },
] as const;
const IMAGE = 3;
const RESTARTS = "RESTARTS";
const GAP = "  ";

type Row = { cells: [string, string, string, string, string]; restarts: string } | { line: string };

export function renderStatus(report: StatusReport): string {
  const rows: Row[] = [];
  for (const [name, tenant] of Object.entries(report.tenants)) {
    const services = Object.entries(tenant.services);
    if (tenant.retiring) rows.push({ cells: [name, "(retiring)", tenant.homeHost, "only the data volume is kept", ""], restarts: "" });
    services.forEach(([service, status], index) => rows.push(serviceRow(index === 0 && !tenant.retiring ? name : "", service, status)));
    for (const url of tenant.urls) rows.push({ line: `→ ${url}` });
  }
  for (const [host, edge] of Object.entries(report.edges)) {
    rows.push(serviceRow("(edge)", "traefik", edge.services.traefik, host));
    rows.push(serviceRow("", "pause", edge.services.pause, host));
    if (edge.services.keeper) rows.push(serviceRow("", "keeper", edge.services.keeper, host));
    Object.entries(edge.monitoring).forEach(([role, status], index) => rows.push(serviceRow(index === 0 ? "(monitoring)" : "", role, status, host)));
  }

  const widths = COLUMNS.map((column, i) => Math.min(column.max, Math.max(column.title.length, ...rows.map((r) => ("cells" in r ? r.cells[i]!.length : 0)))));
  const others = widths.reduce((sum, w, i) => (i === IMAGE ? sum : sum + w), 0) + GAP.length * COLUMNS.length + RESTARTS.length;
  widths[IMAGE] = Math.min(widths[IMAGE]!, LINE_WIDTH - others);
  const format = (cells: readonly string[], restarts: string) =>
    `${cells.map((cell, i) => fit(cell, widths[i]!, i === IMAGE ? "start" : "end").padEnd(widths[i]!)).join(GAP)}${GAP}${restarts.padStart(RESTARTS.length)}`.trimEnd();
  const urlIndent = " ".repeat(widths[0]! + GAP.length);

  const lines = [headline(report), ""];
  lines.push(format(COLUMNS.map((c) => c.title), RESTARTS));
  for (const row of rows) lines.push("cells" in row ? format(row.cells, row.restarts) : `${urlIndent}${row.line}`);
  if (Object.keys(report.tenants).length === 0) lines.push("(no tenants in this stack)");
  if (report.problems.length > 0) lines.push("", "problems:", ...report.problems.map((p) => `  ${p}`));
  if (report.strays.length > 0) {
    lines.push("", "containers of this stack its outputs do not account for:");
    for (const stray of report.strays)
      lines.push(`  ${stray.host}: ${stray.name}${stray.tenant ? ` (${stray.tenant}${stray.service ? `/${stray.service}` : ""})` : ""} ${stray.status}${stray.oneOff ? `: ${ONE_OFF[stray.oneOff]}` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Why a one-off container is there, for the list of containers the outputs do not account for. */
const ONE_OFF: Record<OneOff, string> = {
  release: "a release task's container (removed when the task ends or by the next run)",
  upgrade: "a Postgres upgrade's throw-away server (removed when the step ends or by the next run)",
};

function headline(report: StatusReport): string {
  const tenants = Object.keys(report.tenants).length;
  const hosts = Object.keys(report.hosts).length;
  const size = `${tenants} tenant${tenants === 1 ? "" : "s"} on ${hosts} host${hosts === 1 ? "" : "s"}`;
  const problems = report.problems.length;
  return `stack ${report.stack}: ${size}, ${report.healthy ? "all healthy" : `${problems} problem${problems === 1 ? "" : "s"}`}`;
}

function serviceRow(tenant: string, service: string, status: ServiceStatus, host = status.host): Row {
  return { cells: [tenant, service, host, shortImage(status.image ?? "-"), statusCell(status)], restarts: status.status === "unknown" ? "-" : String(status.restarts) };
}

/** "healthy" for one container; "2/3 unhealthy" (how many have the worst verdict) for several. */
function statusCell(status: ServiceStatus): string {
  const count = status.containers.length;
  if (count <= 1 || status.status === "unknown") return status.status;
  const matching = isFine(status.status) ? status.containers.filter((c) => isFine(c.status)).length : status.containers.filter((c) => c.status === status.status).length;
  return `${matching}/${count} ${status.status}`;
}

/** A digest is shown like Docker's short ids; what still does not fit loses its start, keeping the tag. */
function shortImage(image: string): string {
  return image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]+$/, "@sha256:$1");
}

function fit(text: string, width: number, cut: "start" | "end"): string {
  if (text.length <= width) return text;
  return cut === "start" ? `…${text.slice(text.length - width + 1)}` : `${text.slice(0, width - 1)}…`;
}
