import { existsSync, readFileSync, writeFileSync } from "node:fs";

/**
 * Puts `section` (which starts with its `## ` heading line) into the Markdown file `out`: in place of the section
 * with the same heading, up to the next `## `, or at the end when there is none. The rest stays byte for byte.
 */
export function writeReportSection(out: string, section: string): void {
  const heading = section.split("\n", 1)[0]!;
  const previous = existsSync(out) ? readFileSync(out, "utf8") : "";
  const start = previous.indexOf(`\n${heading}\n`);
  let next: string;
  if (start === -1) next = `${previous.trimEnd()}\n\n${section}`;
  else {
    const after = previous.indexOf("\n## ", start + 1);
    next = `${previous.slice(0, start + 1)}${section}${after === -1 ? "" : `\n${previous.slice(after + 1)}`}`;
  }
  writeFileSync(out, next);
  console.log(`bench: wrote ${heading} in ${out}`);
}
