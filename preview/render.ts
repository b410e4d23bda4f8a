import { CHANGE_KINDS, type ChangeKind, type ResourceChange } from "./changes";
import type { Danger } from "./dangers";
import type { Failure } from "./failures";
import { relabellingMessage, type Relabelling } from "./relabelled";
import { ownerKey, type Owner } from "./ownership";

export interface Summary {
  stack?: string;
  changes: ResourceChange[];
  /** Empty when the preview failed: nothing will be applied, so nothing dangerous will happen. */
  dangers: Danger[];
  failures: Failure[];
  unknownOps: { op: string; urn: string }[];
  /** Routed app containers replaced only for their labels: one note instead of a list (preview/relabelled.ts). */
  relabelling?: Relabelling;
  /** How a reviewer acknowledges dangerous changes, said right under them. */
  acknowledgement?: Acknowledgement;
}

/** The pull-request label that acknowledges dangerous changes, and the commit an acknowledgement covers. */
export interface Acknowledgement {
  label: string;
  commit?: string;
}

const VERB: Record<ChangeKind, string> = { create: "to create", update: "to update", replace: "to replace", delete: "to delete" };
const code = (text: string) => `\`${text.replaceAll("`", "'")}\``;
const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");
const shortType = (type: string) => type.split(":").pop() ?? type;

export function ownerLabel(owner: Owner): string {
  switch (owner.kind) {
    case "tenant": return `tenant ${code(owner.name)}`;
    case "edge": return `edge ${code(owner.host)}`;
    case "host": return `host ${code(owner.host)}`;
    case "unresolved-tenant": return "a tenant (run the preview with `--show-sames` to name it)";
    case "stack": return "the stack";
  }
}

export function renderMarkdown(summary: Summary): string {
  const { changes, dangers, failures } = summary;
  const counts = count(changes);
  const out: string[] = [`### Pulumi preview: stack ${code(summary.stack ?? "unknown")}`, ""];

  const failed = failures.length > 0;
  if (failed) {
    out.push("**❌ The preview failed: nothing in this stack can be deployed until this is fixed.**", "");
    for (const failure of failures) {
      out.push(`- ${failure.message}`);
      if (failure.quote) out.push("", "  ```", ...failure.quote.split("\n").map((line) => `  ${line}`), "  ```", "");
    }
    out.push("");
    // What the engine planned before it stopped is not a plan: only the details list it, for reference.
    if (changes.length > 0)
      out.push(`Nothing is applied while the preview fails. The ${changes.length} resource change${changes.length === 1 ? "" : "s"} the engine planned before it stopped ${changes.length === 1 ? "is" : "are"} in the details below, for reference only.`, "");
  } else {
    const total = changes.length;
    out.push(total === 0
      ? "No changes."
      : `${total} resource${total === 1 ? "" : "s"} change: ${CHANGE_KINDS.map((k) => `${counts[k]} ${VERB[k]}`).join(", ")}.`, "");
  }

  if (dangers.length > 0) {
    out.push("#### ⚠ Dangerous changes", "");
    for (const danger of dangers) out.push(`- ${danger.message}`);
    out.push("");
    if (summary.acknowledgement) out.push(acknowledgementText(summary.acknowledgement), "");
  }

  if (summary.relabelling && !failed) {
    const edgeReplaced = dangers.some((d) => d.kind === "edge");
    out.push("#### Replaced only for their labels", "", `- ${relabellingMessage(summary.relabelling, edgeReplaced)}`, "");
  }

  const images = failed ? [] : imageLines(changes);
  if (images.length > 0) out.push("#### Image changes", "", ...images, "");

  if (changes.length > 0 && !failed) {
    out.push("| | creates | updates | replaces | deletes |", "|---|---:|---:|---:|---:|");
    for (const [owner, rows] of groupByOwner(changes)) {
      const c = count(rows);
      out.push(`| ${ownerLabel(owner)} | ${c.create} | ${c.update} | ${c.replace} | ${c.delete} |`);
    }
    out.push("");
  }

  // Components only group resources: their own deletes say nothing a reviewer needs here.
  // Containers replaced only for their labels are the note above, not one line each.
  const relabelled = new Set(summary.relabelling?.containers ?? []);
  const destructive = failed ? [] : changes.filter((c) => (c.kind === "replace" || c.kind === "delete") && (c.old ?? c.new)?.custom !== false && !relabelled.has(c));
  if (destructive.length > 0) {
    out.push("#### Replaces and deletes", "");
    for (const change of destructive) {
      const why = change.reasons.length > 0 ? `, because ${change.reasons.map(code).join(", ")} changed` : change.kind === "replace" ? ", because a resource it depends on is replaced" : "";
      const kept = change.kind === "delete" && change.old?.retainOnDelete ? " (kept on the host: retain on delete)" : "";
      out.push(`- **${change.kind}** ${code(change.name)}: ${shortType(change.type)} of ${ownerLabel(change.owner)}${why}${kept}`);
    }
    out.push("");
  }

  if (summary.unknownOps.length > 0) {
    out.push(`Steps this summary does not know, not counted above: ${summary.unknownOps.map((s) => `${code(s.op)} ${code(s.urn)}`).join(", ")}.`, "");
  }

  if (changes.length > 0 || failures.some((f) => !f.quote)) {
    const errors = failures.some((f) => !f.quote) ? " and the engine's errors" : "";
    const title = failed && changes.length > 0 ? "Planned before the failure, not applied:" : "All";
    out.push(`<details><summary>${title} ${changes.length} resource change${changes.length === 1 ? "" : "s"}${errors}</summary>`, "");
    if (changes.length > 0) {
      out.push("| change | resource | type | owner | properties |", "|---|---|---|---|---|");
      for (const change of changes) {
        const properties = change.details.length > 0 ? change.details.join(", ") : change.reasons.join(", ");
        out.push(`| ${change.kind} | ${code(change.name)} | ${code(change.type)} | ${ownerLabel(change.owner)} | ${cell(properties)} |`);
      }
      out.push("");
    }
    for (const failure of failures.filter((f) => !f.quote)) out.push("```", failure.raw, "```", "");
    out.push("</details>", "");
  }
  return out.join("\n");
}

function acknowledgementText({ label, commit }: Acknowledgement): string {
  const covers = commit ? `: it acknowledges commit ${code(commit)} only, and every later push removes it` : "";
  return `To deploy them, a reviewer who has read these dangerous changes adds the label ${code(label)} to the pull request${covers}.`;
}

/** One line per owner and image change (a service's replicas share one image): `old` → `new`. */
function imageLines(changes: readonly ResourceChange[]): string[] {
  const lines = new Map<string, { owner: Owner; from: string; to: string; names: string[] }>();
  for (const change of changes) {
    if (!change.image) continue;
    const key = `${ownerKey(change.owner)}\n${change.image.from}\n${change.image.to}`;
    if (!lines.has(key)) lines.set(key, { owner: change.owner, ...change.image, names: [] });
    lines.get(key)!.names.push(change.name);
  }
  return [...lines.values()].map(({ owner, from, to, names }) => `- ${ownerLabel(owner)}: ${code(from)} → ${code(to)} (${names.map(code).join(", ")})`);
}

function count(changes: readonly ResourceChange[]): Record<ChangeKind, number> {
  const counts: Record<ChangeKind, number> = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const change of changes) counts[change.kind]++;
  return counts;
}

function groupByOwner(changes: readonly ResourceChange[]): [Owner, ResourceChange[]][] {
  const groups = new Map<string, [Owner, ResourceChange[]]>();
  for (const change of changes) {
    const key = ownerKey(change.owner);
    if (!groups.has(key)) groups.set(key, [change.owner, []]);
    groups.get(key)![1].push(change);
  }
  // Changes arrive sorted by owner (collectChanges), so groups keep that order.
  return [...groups.values()];
}
