import { isDeepStrictEqual } from "node:util";
import { isAlias, isMap, isScalar, parse, parseDocument, type Document, type Node, type Pair, type YAMLMap } from "yaml";
import { formatPath } from "./diagnostics";
import { MAX_ALIAS_COUNT } from "./yaml-source";

/**
 * Sets one string value in a YAML text by replacing only its bytes (or, when the key is missing, inserting only the
 * missing keys), so comments, blank lines, quoting and flow maps elsewhere stay exactly as written: re-serialising
 * the document would reformat all of them. Pure: it reads and writes no file.
 */

export type YamlEditResult =
  | { text: string; /** The value the path held before; undefined when the edit created it. */ previous: string | undefined }
  | { problem: string };

export function setStringAt(source: string, path: readonly string[], value: string): YamlEditResult {
  if (path.length === 0) return { problem: "an empty key path" };
  // Offsets are the parser's, which sees the text without its byte-order mark; the mark is put back in front.
  const bom = source.startsWith("\uFEFF") ? "\uFEFF" : "";
  const text = source.slice(bom.length);
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) return { problem: `cannot be parsed as YAML (${doc.errors[0]!.message.split("\n")[0]})` };
  let before: unknown;
  try {
    before = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return { problem: `cannot be read as data (${String((error as Error | undefined)?.message ?? error).split("\n")[0]})` };
  }

  const edit = planEdit(doc, text, path, value);
  if ("problem" in edit) return edit;
  const edited = text.slice(0, edit.start) + edit.insert + text.slice(edit.end);

  // The edit must change that one value and nothing else: an anchor shared with other keys, or a replacement the
  // parser reads differently (a plain `true`), would change more, and then nothing is written.
  const after = parseDocument(edited, { prettyErrors: false });
  const expected = withValueAt(before, path, value);
  let afterValue: unknown;
  try {
    afterValue = after.errors.length === 0 ? after.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) : undefined;
  } catch {
    afterValue = undefined;
  }
  if (!isDeepStrictEqual(afterValue, expected))
    return { problem: `${formatPath(path)}: changing this value here would change other values too (a YAML anchor shared with other keys?); edit the file by hand` };
  return { text: bom + edited, previous: edit.previous };
}

interface PlannedEdit {
  start: number;
  end: number;
  insert: string;
  previous: string | undefined;
}

function planEdit(doc: Document, text: string, path: readonly string[], value: string): PlannedEdit | { problem: string } {
  const style = textStyle(doc, text);
  let node: unknown = doc.contents;
  for (let depth = 0; depth < path.length; depth++) {
    const key = path[depth]!;
    const here = path.slice(0, depth);
    if (!isMap(node)) return { problem: `${formatPath(here)}: is not a map, so ${formatPath(path)} cannot be set` };
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === key) as Pair<Node, Node | null> | undefined;
    const rest = path.slice(depth);
    if (!pair) return insertIntoMap(node, text, rest, value, style);
    const child = pair.value;
    if (depth === path.length - 1) {
      // An alias gets the value of its own: the anchored value and its other uses stay as they are.
      if (isAlias(child)) return replace(child.range!, text, plainOrQuoted(value), stringOf((child.resolve(doc) as Node | undefined)?.toJSON()));
      if (isScalar(child)) {
        if (child.value === null && child.range![0] === child.range![1]) return { start: child.range![0], end: child.range![1], insert: ` ${plainOrQuoted(value)}`, previous: undefined };
        return replace(child.range!, text, scalarInStyle(value, child.type), stringOf(child.value));
      }
      return { problem: `${formatPath(path)}: holds a map or a list, not a value` };
    }
    // `key:` with nothing after it: the missing keys go under it.
    if (child === null || (isScalar(child) && child.value === null && child.range![0] === child.range![1]))
      return insertUnderKey(pair, text, path.slice(depth + 1), value, style);
    node = child;
  }
  return { problem: `${formatPath(path)}: not found` };
}

function stringOf(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}

function replace(range: readonly number[], text: string, insert: string, previous: string | undefined): PlannedEdit {
  const [start, end] = range as [number, number];
  // A block scalar's range ends with its line break; the replacement keeps the line.
  const keepBreak = end > start && text[end - 1] === "\n" && !insert.endsWith("\n") ? lineBreakBefore(text, end) : "";
  return { start, end, insert: insert + keepBreak, previous };
}

function lineBreakBefore(text: string, end: number): string {
  return text[end - 2] === "\r" ? "\r\n" : "\n";
}

/** The same quoting as before, so a diff shows only the value. Block scalars and aliases become a plain value. */
function scalarInStyle(value: string, type: string | undefined): string {
  if (type === "QUOTE_SINGLE") return `'${value.replaceAll("'", "''")}'`;
  if (type === "QUOTE_DOUBLE") return JSON.stringify(value);
  return plainOrQuoted(value);
}

/** Plain when YAML reads it back as the same string (not `true`, `123` or `null`), double-quoted otherwise. */
function plainOrQuoted(value: string): string {
  if (value !== "" && !/[\n\r#]|: |^[\s\-?:,[\]{}#&*!|>'"%@`]|\s$/.test(value)) {
    try {
      if (parse(value) === value) return value;
    } catch {
      // not plain-safe
    }
  }
  return JSON.stringify(value);
}

interface TextStyle {
  newline: string;
  /** Spaces per nesting level of block maps, as the file indents them (2 when it shows none). */
  indent: number;
}

function textStyle(doc: Document, text: string): TextStyle {
  return { newline: text.includes("\r\n") ? "\r\n" : "\n", indent: indentUnit(doc, text) ?? 2 };
}

function indentUnit(doc: Document, text: string): number | undefined {
  const visit = (node: unknown): number | undefined => {
    if (!isMap(node) || node.flow) return undefined;
    for (const pair of node.items) {
      const child = pair.value;
      if (isMap(child) && !child.flow && child.items.length > 0) {
        const unit = column(text, keyStart(child.items[0]!)) - column(text, keyStart(pair));
        if (unit > 0) return unit;
      }
    }
    for (const pair of node.items) {
      const found = visit(pair.value);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(doc.contents);
}

function keyStart(pair: Pair<unknown, unknown>): number {
  return (pair.key as Node).range![0];
}

function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf("\n", offset - 1) + 1);
}

/** Adds `rest` (keys, then the value) to a map that lacks rest[0]: after its last entry, in the map's own style. */
function insertIntoMap(map: YAMLMap, text: string, rest: readonly string[], value: string, style: TextStyle): PlannedEdit | { problem: string } {
  if (map.flow) {
    const entry = flowEntry(rest, value);
    const last = map.items.at(-1);
    if (last) {
      const end = (last.value as Node | null)?.range?.[1] ?? (last.key as Node).range![1];
      return { start: end, end, insert: `, ${entry}`, previous: undefined };
    }
    const open = map.range![0] + 1; // just after `{`
    return { start: open, end: open, insert: ` ${entry} `, previous: undefined };
  }
  const last = map.items.at(-1);
  if (!last) return { problem: `${formatPath([])}: an empty map cannot be extended here; edit the file by hand` };
  const end = (last.value as Node | null)?.range?.[1] ?? (last.key as Node).range![1];
  return insertLines(text, end, column(text, keyStart(map.items[0]!)), rest, value, style);
}

/** Adds `rest` below a key written with no value (`key:`), one level deeper. */
function insertUnderKey(pair: Pair<Node, Node | null>, text: string, rest: readonly string[], value: string, style: TextStyle): PlannedEdit {
  return insertLines(text, (pair.key as Node).range![1], column(text, keyStart(pair)) + style.indent, rest, value, style);
}

/** New block lines after the line holding `after`, the first key at `indent` columns. */
function insertLines(text: string, after: number, indent: number, rest: readonly string[], value: string, style: TextStyle): PlannedEdit {
  const lines = rest.map((key, i) => `${" ".repeat(indent + i * style.indent)}${plainOrQuoted(key)}:${i === rest.length - 1 ? ` ${plainOrQuoted(value)}` : ""}`);
  const block = lines.join(style.newline) + style.newline;
  if (after > 0 && text[after - 1] === "\n") return { start: after, end: after, insert: block, previous: undefined };
  const lineEnd = text.indexOf("\n", after);
  if (lineEnd === -1) return { start: text.length, end: text.length, insert: style.newline + block, previous: undefined };
  return { start: lineEnd + 1, end: lineEnd + 1, insert: block, previous: undefined };
}

function flowEntry(rest: readonly string[], value: string): string {
  const [key, ...deeper] = rest;
  return `${plainOrQuoted(key!)}: ${deeper.length === 0 ? plainOrQuoted(value) : `{ ${flowEntry(deeper, value)} }`}`;
}

/** `data` with the value at `path` set, maps created where missing: what the edited text must read as. */
function withValueAt(data: unknown, path: readonly string[], value: string): unknown {
  if (path.length === 0) return value;
  const base = data !== null && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  const [key, ...rest] = path as [string, ...string[]];
  return { ...base, [key]: withValueAt(base[key], rest, value) };
}
