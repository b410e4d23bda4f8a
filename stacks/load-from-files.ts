import { listStackNames, platformValuesFromStackFile, readStackFile } from "../model/project-files";
import type { Diagnostic } from "../model/diagnostics";
import { decodeConfigValue, resolveStack, type StackDefinition } from "./definition";

/**
 * Stack definitions straight from the Pulumi.<stack>.yaml files, for tools that run without the Pulumi CLI or
 * credentials (the validate CLI, PR checks). Secret values stay encrypted: only their presence is seen.
 */
export function loadStacksFromFiles(projectRoot: string): { stacks: StackDefinition[]; stackNames: string[]; diagnostics: Diagnostic[] } {
  const stackNames = listStackNames(projectRoot);
  const stacks: StackDefinition[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const name of stackNames) {
    const source = readStackFile(projectRoot, name);
    if (!source) continue;
    if (source.diagnostics.length > 0) {
      diagnostics.push(...source.diagnostics);
      continue;
    }
    const values = Object.fromEntries(
      Object.entries(platformValuesFromStackFile(source)).map(([key, value]) => [key, decodeConfigValue(key, value)]),
    );
    const resolved = resolveStack({ name, file: source.file, values, locate: source.locate });
    diagnostics.push(...resolved.diagnostics);
    if (resolved.stack) stacks.push(resolved.stack);
  }
  return { stacks, stackNames, diagnostics };
}
