import * as pulumi from "@pulumi/pulumi";
import type { Diagnostic } from "../model/diagnostics";
import { platformValuesFromStackFile, stackFileName } from "../model/project-files";
import type { YamlSource } from "../model/yaml-source";
import { decodeConfigValue, resolveStack, type StackDefinition } from "./definition";
import { STACK_CONFIG_KEYS } from "./schema";

/**
 * The running stack's definition, read through pulumi.Config (so secrets arrive decrypted and config set by any
 * means counts). The stack file, when there is one, only supplies error locations and the names of unknown keys.
 */
export function loadStackFromPulumi(stackFile: YamlSource | undefined): { stack?: StackDefinition; diagnostics: Diagnostic[] } {
  const name = pulumi.getStack();
  const config = new pulumi.Config("platform");
  const values: Record<string, unknown> = {};
  const file = stackFile?.file ?? stackFileName(name);
  const locate = stackFile?.locate ?? (() => ({ line: 1, column: 1 }));
  for (const key of STACK_CONFIG_KEYS) {
    const raw = config.get(key);
    if (raw !== undefined) values[key] = decodeConfigValue(key, raw);
  }
  // Unknown keys cannot be listed through pulumi.Config; the stack file names them so typos are still caught.
  const known: readonly string[] = STACK_CONFIG_KEYS;
  for (const key of Object.keys(stackFile ? platformValuesFromStackFile(stackFile) : {})) if (!known.includes(key)) values[key] = null;
  return resolveStack({ name, file, values, locate });
}
