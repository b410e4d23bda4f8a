import { collectChanges } from "./changes";
import { detectDangers } from "./dangers";
import type { PreviewDigest } from "./digest";
import { explainFailures } from "./failures";
import { ownerResolver } from "./ownership";
import { renderMarkdown, type Summary } from "./render";

export interface SummarizeOptions {
  /** Prefix for documentation links: "" (repository-relative) or e.g. `https://github.com/o/r/blob/<sha>/`. */
  docsBase?: string;
}

export interface SummaryResult extends Summary {
  markdown: string;
}

export function summarizePreview(digest: PreviewDigest, options: SummarizeOptions = {}): SummaryResult {
  const docsBase = options.docsBase ?? "";
  const { stack, changes, unknownOps } = collectChanges(digest);
  const dangers = detectDangers(changes, { docsBase });
  const failures = explainFailures(digest.diagnostics ?? [], ownerResolver(digest.steps ?? []), docsBase);
  const summary: Summary = { ...(stack ? { stack } : {}), changes, dangers, failures, unknownOps };
  return { ...summary, markdown: renderMarkdown(summary) };
}
