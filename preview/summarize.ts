import { collectChanges } from "./changes";
import { detectDangers } from "./dangers";
import type { PreviewDigest } from "./digest";
import { explainFailures } from "./failures";
import { ownerResolver } from "./ownership";
import { findRelabelling } from "./relabelled";
import { renderMarkdown, type Acknowledgement, type Summary } from "./render";

export interface SummarizeOptions {
  /** Prefix for documentation links: "" (repository-relative) or e.g. `https://github.com/o/r/blob/<sha>/`. */
  docsBase?: string;
  /** Say under the dangerous changes how a reviewer acknowledges them (the pull request's label). */
  acknowledgement?: Acknowledgement;
}

export interface SummaryResult extends Summary {
  markdown: string;
}

export function summarizePreview(digest: PreviewDigest, options: SummarizeOptions = {}): SummaryResult {
  const docsBase = options.docsBase ?? "";
  const { stack, changes, unknownOps } = collectChanges(digest);
  const failures = explainFailures(digest.diagnostics ?? [], ownerResolver(digest.steps ?? []), docsBase);
  // A failed preview applies nothing: what it planned before stopping will not happen, dangerous or not.
  const dangers = failures.length > 0 ? [] : detectDangers(changes, { docsBase });
  const relabelling = failures.length > 0 ? undefined : findRelabelling(changes);
  const summary: Summary = {
    ...(stack ? { stack } : {}),
    changes,
    dangers,
    failures,
    unknownOps,
    ...(relabelling ? { relabelling } : {}),
    ...(options.acknowledgement ? { acknowledgement: options.acknowledgement } : {}),
  };
  return { ...summary, markdown: renderMarkdown(summary) };
}
