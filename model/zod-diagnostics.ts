import { z } from "zod";
import { closestMatch, formatPath, type Diagnostic, type PathSegment } from "./diagnostics";

/** Where a schema's issues are reported: the file, how to find a key path in it, and how to print paths. */
export interface IssueContext {
  file: string;
  locate(path: readonly PathSegment[]): { line: number; column: number };
  /** Turns a path inside the validated value into the path a user sees (e.g. prefixes `platform:`). */
  displayPath?(path: readonly PathSegment[]): string;
  /** Maps a path inside the validated value to a path inside the file (e.g. for merged overrides). */
  filePath?(path: readonly PathSegment[]): readonly PathSegment[];
}

// zod's own wording for these codes is generic; ours says what is allowed. A message set with `error:` in the
// schema is kept as written.
const ZOD_DEFAULT_MESSAGE = /^(Invalid input|Too small|Too big|Invalid option|Unrecognized key|Invalid key in record|Invalid string|Invalid element)/;

export function issuesToDiagnostics(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], context: IssueContext): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const report = (path: readonly PathSegment[], message: string) => {
    const filePath = context.filePath ? context.filePath(path) : path;
    diagnostics.push({
      file: context.file,
      ...context.locate(filePath),
      path: context.displayPath ? context.displayPath(path) : formatPath(path),
      message,
    });
  };
  for (const issue of issues) {
    const path = issue.path as PathSegment[];
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(schema, path);
      for (const key of issue.keys) {
        const hint = closestMatch(key, allowed);
        const suggestion = hint ? `did you mean "${hint}"? ` : "";
        report([...path, key], `unknown key "${key}" (${suggestion}allowed: ${allowed.join(", ")})`);
      }
    } else if (issue.code === "invalid_key") {
      const inner = issue.issues[0];
      report(path, inner && !ZOD_DEFAULT_MESSAGE.test(inner.message) ? inner.message : `"${String(path.at(-1))}" is not an allowed name here`);
    } else if (issue.code === "invalid_union" && issue.errors.length > 0 && ZOD_DEFAULT_MESSAGE.test(issue.message)) {
      // Report the branch that got furthest: its first issue is the most specific one.
      const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      diagnostics.push(...issuesToDiagnostics(schema, best.map((i) => ({ ...i, path: [...path, ...i.path] })), context));
    } else {
      report(path, ZOD_DEFAULT_MESSAGE.test(issue.message) ? describe(issue) : issue.message);
    }
  }
  return diagnostics;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

function describe(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return `is required (${article(issue.expected)})`;
      return `expected ${article(issue.expected)}, got ${show(input)}`;
    case "too_small":
      if (issue.origin === "array") return `must have at least ${issue.minimum} item(s)`;
      if (issue.origin === "string") return `must be at least ${issue.minimum} character(s)`;
      return `${show(input)} is too small (minimum ${issue.inclusive ? "" : "above "}${issue.minimum})`;
    case "too_big":
      if (issue.origin === "array") return `must have at most ${issue.maximum} item(s)`;
      if (issue.origin === "string") return `must be at most ${issue.maximum} character(s)`;
      return `${show(input)} is too large (maximum ${issue.maximum})`;
    case "invalid_value": {
      const allowed = issue.values.map(String);
      const hint = typeof input === "string" ? closestMatch(input, allowed) : undefined;
      return `${show(input)} is not allowed (${hint ? `did you mean "${hint}"? ` : ""}allowed: ${allowed.join(", ")})`;
    }
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  const names: Record<string, string> = {
    record: "a map of keys to values",
    object: "a map of keys to values",
    array: "a list",
    int: "a whole number",
    number: "a number",
    string: "a string",
    boolean: "true or false",
  };
  return names[expected] ?? expected;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "a map";
  return String(value);
}

/** The keys a strict object at `path` accepts, for "allowed:" and "did you mean" hints. */
export function allowedKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let current: unknown = schema;
  for (const segment of [...path, undefined]) {
    current = unwrap(current);
    if (segment === undefined) break;
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, unknown>)[String(segment)];
    else if (current instanceof z.ZodRecord) current = current.valueType;
    else if (current instanceof z.ZodArray) current = current.element;
    else return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault)
      current = current.unwrap();
    else if (current instanceof z.ZodPipe) current = current.in;
    else return current;
  }
}
