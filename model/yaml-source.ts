import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type YAMLError } from "yaml";
import { formatPath, type Diagnostic, type PathSegment } from "./diagnostics";

/** A parsed YAML file that can point back at the line and column of any key path inside it. */
export interface YamlSource {
  file: string;
  /** Plain JS value of the document; undefined when the file could not be parsed at all. */
  value: unknown;
  diagnostics: Diagnostic[];
  /** Location of the key (or list item) at `path`; falls back to the nearest existing ancestor. */
  locate(path: readonly PathSegment[]): { line: number; column: number };
}

/**
 * How many alias uses a file may make, nested ones counted (the yaml library's own default, stated here so the
 * message can name it): a few lines of nested aliases otherwise expand to millions of values (an "alias bomb").
 */
export const MAX_ALIAS_COUNT = 100;

export function parseYamlSource(file: string, rawText: string): YamlSource {
  // A byte-order mark is invisible in editors; left in, it shifts every line-1 column by one.
  const text = rawText.startsWith("\uFEFF") ? rawText.slice(1) : rawText;
  const lineCounter = new LineCounter();
  const position = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const at = (offset: number, path: string, message: string): Diagnostic => ({ file, ...position(offset), path, message });
  let doc: Document;
  try {
    // Duplicate keys are found by our own walk below so they can be reported with their key path.
    doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  } catch (error) {
    return unreadableSource(file, `cannot be parsed as YAML (${firstLine(String((error as Error | undefined)?.message ?? error))})`);
  }
  // After a syntax error the parser's later errors are mostly echoes of the first (a tab, then "bad indentation" on
  // every line after it): only the first is reported, at the place to fix.
  const diagnostics: Diagnostic[] = syntaxErrors(text, doc.errors)
    .slice(0, 1)
    .map((e) => at(e.offset, "(yaml)", e.message));
  let value: unknown;
  if (diagnostics.length === 0) {
    try {
      findDuplicateKeys(doc.contents, [], (path, offset) =>
        diagnostics.push(at(offset, formatPath(path), "duplicate key (each key may appear once per map)")),
      );
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      const message = String((error as Error | undefined)?.message ?? error);
      if (/alias/i.test(message))
        diagnostics.push(at(firstAliasOffset(doc) ?? 0, "(yaml)", `aliases expand too far (over ${MAX_ALIAS_COUNT} alias uses, nested ones counted); write the values out instead`));
      else if (error instanceof RangeError) diagnostics.push(at(0, "(yaml)", "nested too deeply to read"));
      else diagnostics.push(at(0, "(yaml)", `cannot be read as data (${firstLine(message)})`));
    }
  }

  const locate = (path: readonly PathSegment[]) => {
    const offset = offsetOf(doc, path);
    return offset === undefined ? { line: 1, column: 1 } : position(offset);
  };
  return { file, value: diagnostics.length === 0 ? value : undefined, diagnostics, locate };
}

/** A file that could not be read at all: one problem at its first line, and no value. */
export function unreadableSource(file: string, problem: string): YamlSource {
  return { file, value: undefined, diagnostics: [{ file, line: 1, column: 1, path: "(file)", message: problem }], locate: () => ({ line: 1, column: 1 }) };
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

interface SyntaxProblem {
  offset: number;
  message: string;
}

interface LocatedError extends SyntaxProblem {
  /** The error was moved from where the parser noticed it to a later, wrongly indented line. */
  moved: boolean;
}

/**
 * The parser's errors, one per mistake, each at the place to fix. One mistake often yields two or three errors
 * (overlapping ranges, or the same place); it is reported once. The parser puts indentation errors at the start of
 * the line, or at the key before a wrongly indented line; both are moved to the first character that is out of
 * place, so the column says how far the line is indented.
 */
function syntaxErrors(text: string, errors: readonly YAMLError[]): SyntaxProblem[] {
  const found: (LocatedError & { end: number })[] = [];
  for (const error of [...errors].sort((a, b) => a.pos[0] - b.pos[0])) {
    const located = locateError(text, error);
    const last = found.at(-1);
    if (last && (error.pos[0] < last.end || located.offset === last.offset)) {
      if (located.moved && !last.moved) Object.assign(last, located);
      last.end = Math.max(last.end, error.pos[1]);
    } else {
      found.push({ ...located, end: error.pos[1] });
    }
  }
  return found.map(({ offset, message }) => ({ offset, message }));
}

const INDENTATION_HINT = "unexpected indentation: this line is indented deeper than the keys of its map (or the line above lacks a ':')";

function locateError(text: string, error: YAMLError): LocatedError {
  const [start, end] = error.pos;
  if (error.code === "MULTIPLE_DOCS")
    return {
      offset: start,
      moved: false,
      message: "a second YAML document starts here: the file must hold exactly one (remove the '---' line and what follows, or move it to its own file)",
    };
  if (/call stack/i.test(error.message)) return { offset: start, moved: false, message: "nested too deeply to read" };
  // A key that runs onto a later line: the later line is the one indented too deep (or the line above lacks a ':').
  const lastLine = lineStart(text, Math.max(start, end - 1));
  if ((error.code === "MULTILINE_IMPLICIT_KEY" || error.code === "BLOCK_AS_IMPLICIT_KEY") && lastLine > start)
    return { offset: firstNonBlank(text, lastLine), moved: true, message: INDENTATION_HINT };
  const offset = firstNonBlank(text, start);
  if (error.code === "BLOCK_AS_IMPLICIT_KEY" && text.startsWith("-", offset))
    return { offset, moved: false, message: "unexpected indentation: a list item must start at the same column as the items before it" };
  return { offset, moved: false, message: `YAML syntax error: ${firstLine(error.message)}` };
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Spaces only: a tab in the indentation is itself the mistake, and is reported where it is. */
function leadingBlanks(text: string, from: number): number {
  let count = 0;
  while (text[from + count] === " ") count++;
  return count;
}

/** From an offset inside a line's indentation, the first character after it; any other offset is kept. */
function firstNonBlank(text: string, offset: number): number {
  const start = lineStart(text, offset);
  const indentEnd = start + leadingBlanks(text, start);
  return offset <= indentEnd ? indentEnd : offset;
}

function firstAliasOffset(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

function findDuplicateKeys(node: unknown, path: PathSegment[], report: (path: PathSegment[], offset: number) => void): void {
  if (isMap(node)) {
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      const keyPath = [...path, String(key)];
      if (seen.has(key)) report(keyPath, (pair.key as Node | null)?.range?.[0] ?? 0);
      seen.add(key);
      findDuplicateKeys(pair.value, keyPath, report);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => findDuplicateKeys(item, [...path, index], report));
  }
}

/** Walks the document: for a map entry it returns the offset of the key itself, for a list item the item's start. */
function offsetOf(doc: Document, path: readonly PathSegment[]): number | undefined {
  let node: unknown = doc.contents;
  let found: number | undefined = rangeStart(node);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return found;
      found = rangeStart(pair.key) ?? found;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) return found;
      found = rangeStart(item) ?? found;
      node = item;
    } else {
      return found;
    }
  }
  return found;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}
