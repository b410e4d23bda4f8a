import { listStackNames, platformValuesFromStackFile, readStackFile } from "../model/project-files";
import type { Diagnostic } from "../model/diagnostics";
import { decodeConfigValue, previewLocations, resolveStack, type StackDefinition } from "./definition";

/**
 * Stack definitions straight from the Pulumi.<stack>.yaml files, for tools that run without the Pulumi CLI or
 * credentials (the validate CLI, PR checks). Secret values stay encrypted: only their presence is seen.
 */
export function loadStacksFromFiles(projectRoot: string): { stacks: StackDefinition[]; stackNames: string[]; diagnostics: Diagnostic[] } {
  const stackNames = listStackNames(projectRoot);
  const stacks: StackDefinition[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const name of stackNames) {
    const loaded = loadStackFromFile(projectRoot, name);
    diagnostics.push(...loaded.diagnostics);
    if (loaded.stack) stacks.push(loaded.stack);
  }
  return { stacks, stackNames, diagnostics };
}

/** One stack's definition from its file; no stack and no problem when it has no file. */
export function loadStackFromFile(projectRoot: string, name: string): { stack?: StackDefinition; diagnostics: Diagnostic[] } {
  const source = readStackFile(projectRoot, name);
  if (!source) return { diagnostics: [] };
  if (source.diagnostics.length > 0) return { diagnostics: source.diagnostics };
  const values = Object.fromEntries(
    Object.entries(platformValuesFromStackFile(source)).map(([key, value]) => [key, decodeConfigValue(key, value)]),
  );
  const locations = previewLocations(source, values, (base) => readStackFile(projectRoot, base));
  return resolveStack({ name, values, ...locations });
}
