import * as pulumi from "@pulumi/pulumi";
import type { Diagnostic } from "../model/diagnostics";
import { platformValuesFromStackFile, stackFileName } from "../model/project-files";
import type { YamlSource } from "../model/yaml-source";
import { decodeConfigValue, previewLocations, resolveStack, type StackDefinition } from "./definition";
import { STACK_CONFIG_KEYS } from "./schema";

/**
 * The running stack's definition, read through pulumi.Config (so secrets arrive decrypted and config set by any
 * means counts). Stack files, when there are, only supply error locations and the names of unknown keys: the
 * stack's own, and for a preview its base's (the file its values were copied from).
 */
export function loadStackFromPulumi(readStackFile: (stack: string) => YamlSource | undefined): { stack?: StackDefinition; diagnostics: Diagnostic[] } {
  const name = pulumi.getStack();
  const stackFile = readStackFile(name);
  const config = new pulumi.Config("platform");
  const values: Record<string, unknown> = {};
  for (const key of STACK_CONFIG_KEYS) {
    const raw = config.get(key);
    if (raw !== undefined) values[key] = decodeConfigValue(key, raw);
  }
  // Unknown keys cannot be listed through pulumi.Config; the stack file names them so typos are still caught.
  const known: readonly string[] = STACK_CONFIG_KEYS;
  for (const key of Object.keys(stackFile ? platformValuesFromStackFile(stackFile) : {})) if (!known.includes(key)) values[key] = null;
  const own = { file: stackFile?.file ?? stackFileName(name), locate: stackFile?.locate ?? (() => ({ line: 1, column: 1 })) };
  return resolveStack({ name, values, ...previewLocations(own, values, readStackFile) });
}
