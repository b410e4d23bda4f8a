import * as fs from "node:fs";
import { parsePreview } from "../preview/digest";
import { summarizePreview } from "../preview/summarize";

/**
 * `npm run summarize -- [--fail-on-danger] [--docs-base <url>] [--acknowledge-with <label> [--commit <sha>]]
 * (<preview.json> | --stdin)`: turns the output of `pulumi preview --json` into Markdown for a pull-request comment.
 * `--acknowledge-with` says under dangerous changes that a reviewer acknowledges them with that pull-request label,
 * and `--commit` which commit the acknowledgement covers. Exit 0 printed, 1 something dangerous is planned and
 * --fail-on-danger was given, 2 unreadable or malformed input or a usage error.
 */

const USAGE =
  "usage: npm run summarize -- [--fail-on-danger] [--docs-base <url>] [--acknowledge-with <label> [--commit <sha>]] (<preview.json> | --stdin)";

export interface CliResult {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

export function runSummarize(args: readonly string[], readStdin: () => string = () => fs.readFileSync(0, "utf8")): CliResult {
  const usage = (problem: string): CliResult => ({ exitCode: 2, stdout: "", stderr: `${problem}\n${USAGE}\n` });
  let failOnDanger = false;
  let stdin = false;
  let docsBase = "";
  let label: string | undefined;
  let commit: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--fail-on-danger") failOnDanger = true;
    else if (arg === "--stdin") stdin = true;
    else if (arg === "--docs-base" || arg === "--acknowledge-with" || arg === "--commit") {
      const value = args[++i];
      if (value === undefined || (arg !== "--docs-base" && value.trim() === "")) return usage(`${arg} needs a value`);
      if (arg === "--docs-base") docsBase = value;
      else if (arg === "--acknowledge-with") label = value;
      else commit = value;
    } else if (arg === "--help" || arg === "-h") return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };
    else if (arg.startsWith("-")) return usage(`unknown option "${arg}"`);
    else files.push(arg);
  }
  if (stdin === (files.length > 0)) return usage(stdin ? "give either a file or --stdin, not both" : "no input: give a preview JSON file or --stdin");
  if (files.length > 1) return usage(`one preview at a time (got ${files.length} files)`);
  if (commit !== undefined && label === undefined) return usage("--commit names the commit an acknowledgement covers: give --acknowledge-with <label> too");

  const source = stdin ? "stdin" : files[0]!;
  let text: string;
  try {
    text = stdin ? readStdin() : fs.readFileSync(source, "utf8");
  } catch (e) {
    return { exitCode: 2, stdout: "", stderr: `cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n` };
  }
  const parsed = parsePreview(text, source);
  if (!parsed.ok) return { exitCode: 2, stdout: "", stderr: `${parsed.error}\n` };

  const summary = summarizePreview(parsed.digest, {
    docsBase,
    ...(label !== undefined ? { acknowledgement: { label, ...(commit !== undefined ? { commit } : {}) } } : {}),
  });
  const dangerous = summary.dangers.length > 0;
  return {
    exitCode: failOnDanger && dangerous ? 1 : 0,
    stdout: summary.markdown,
    stderr: failOnDanger && dangerous ? `${summary.dangers.length} dangerous change(s) planned (--fail-on-danger)\n` : "",
  };
}

if (require.main === module) {
  const result = runSummarize(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
