import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
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

export function parseYamlSource(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  // Duplicate keys are found by our own walk below so they can be reported with their key path.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const position = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const diagnostics: Diagnostic[] = doc.errors.map((error) => ({
    file,
    ...position(error.pos[0]),
    path: "(yaml)",
    message: `YAML syntax error: ${firstLine(error.message)}`,
  }));
  if (diagnostics.length === 0) findDuplicateKeys(doc.contents, [], (path, offset) =>
    diagnostics.push({ file, ...position(offset), path: formatPath(path), message: "duplicate key (each key may appear once per map)" }),
  );

  const locate = (path: readonly PathSegment[]) => {
    const offset = offsetOf(doc, path);
    return offset === undefined ? { line: 1, column: 1 } : position(offset);
  };
  return { file, value: diagnostics.length === 0 ? doc.toJS() : undefined, diagnostics, locate };
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
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
