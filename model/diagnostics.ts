import { closest, distance } from "fastest-levenshtein";

/** One problem found in a tenant file or a stack config, always tied to a place a human can open. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  /** Dotted key path with `[i]` for list items, e.g. `services.web.routes[0].host`. */
  path: string;
  message: string;
}

export type PathSegment = string | number;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out === "" ? "(root)" : out;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.path}: ${d.message}`;
}

export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.path.localeCompare(b.path),
  );
}

/** Thrown by the program when input is invalid: the message lists every problem, one per line. */
export class ValidationError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    const lines = sortDiagnostics(diagnostics).map(formatDiagnostic);
    super(`${lines.length} problem(s) found; nothing was deployed:\n${lines.join("\n")}`);
    this.name = "ValidationError";
  }
}

/** Picks the candidate closest to a mistyped word, for "did you mean" hints; none when nothing is close. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const lower = word.toLowerCase();
  const extended = candidates.find((c) => c.toLowerCase().startsWith(lower) || lower.startsWith(c.toLowerCase()));
  if (extended !== undefined && word.length >= 3) return extended;
  const best = closest(word, [...candidates]);
  const tolerance = Math.max(1, Math.floor(word.length / 3));
  if (distance(word.toLowerCase(), best.toLowerCase()) <= tolerance) return best;
  // Two swapped letters ("wbe" for "web") cost 2 in Levenshtein distance but are the most common slip of all.
  return candidates.find((c) => isOneSwapApart(lower, c.toLowerCase()));
}

function isOneSwapApart(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const differ = [...a].flatMap((char, i) => (char === b[i] ? [] : [i]));
  return differ.length === 2 && differ[1] === differ[0]! + 1 && a[differ[0]!] === b[differ[1]!] && a[differ[1]!] === b[differ[0]!];
}
