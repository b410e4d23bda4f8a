import * as pulumi from "@pulumi/pulumi";
import type { Diagnostic } from "../model/diagnostics";
import { platformValuesFromStackFile, stackFileName } from "../model/project-files";
import type { YamlSource } from "../model/yaml-source";
import { resolveStack, STRING_CONFIG_KEYS, type StackDefinition } from "./definition";
import { STACK_CONFIG_KEYS } from "./schema";

/**
 * The running stack's definition, read through pulumi.Config (so secrets arrive decrypted and config set by any
 * means counts). The stack file, when there is one, only supplies error locations and the names of unknown keys.
 */
export function loadStackFromPulumi(stackFile: YamlSource | undefined): { stack?: StackDefinition; diagnostics: Diagnostic[] } {
  const name = pulumi.getStack();
  const config = new pulumi.Config("platform");
  const values: Record<string, unknown> = {};
  const problems: Diagnostic[] = [];
  const file = stackFile?.file ?? stackFileName(name);
  const locate = stackFile?.locate ?? (() => ({ line: 1, column: 1 }));
  for (const key of STACK_CONFIG_KEYS) {
    const raw = config.get(key);
    if (raw === undefined) continue;
    if (STRING_CONFIG_KEYS.has(key)) {
      values[key] = raw;
      continue;
    }
    try {
      values[key] = JSON.parse(raw);
    } catch {
      problems.push({ file, ...locate(["config", `platform:${key}`]), path: `platform:${key}`, message: `expected structured config (YAML map, list, number or boolean), got "${raw}"` });
    }
  }
  // Unknown keys cannot be listed through pulumi.Config; the stack file names them so typos are still caught.
  if (stackFile) {
    for (const key of Object.keys(platformValuesFromStackFile(stackFile))) if (!(key in values) && !(STACK_CONFIG_KEYS as string[]).includes(key)) values[key] = null;
  }
  const resolved = resolveStack({ name, file, values, locate });
  return { stack: resolved.stack, diagnostics: [...problems, ...resolved.diagnostics] };
}
