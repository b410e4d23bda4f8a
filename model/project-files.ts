import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { parseYamlSource, type YamlSource } from "./yaml-source";

/**
 * The only module that reads the repo's files: tenant files, and the stack files' text (for the CLI's values and
 * for error locations). Everything downstream works on what it returns.
 */

export interface TenantSourceFile {
  /** Path as shown in errors: relative to the working directory when inside it. */
  file: string;
  text: string;
}

const TENANT_FILE = /\.ya?ml$/;

export function displayPath(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative.startsWith("..") || path.isAbsolute(relative) ? absolute : relative;
}

/** Reads every tenant file in a directory (not recursive), in a stable order. */
export function readTenantDirectory(directory: string): TenantSourceFile[] {
  return readdirSync(directory)
    .filter((name) => TENANT_FILE.test(name))
    .sort()
    .map((name) => readTenantFile(path.join(directory, name)));
}

export function readTenantFile(file: string): TenantSourceFile {
  return { file: displayPath(path.resolve(file)), text: readFileSync(file, "utf8") };
}

/** Files and directories named on a command line; missing paths are returned for a usage error. */
export function readTenantPaths(paths: readonly string[]): { files: TenantSourceFile[]; missing: string[] } {
  const files: TenantSourceFile[] = [];
  const missing: string[] = [];
  for (const given of paths) {
    if (!existsSync(given)) missing.push(given);
    else if (statSync(given).isDirectory()) files.push(...readTenantDirectory(given));
    else files.push(readTenantFile(given));
  }
  return { files, missing };
}

/** Stack names from the Pulumi.<stack>.yaml files next to Pulumi.yaml. */
export function listStackNames(projectRoot: string): string[] {
  return readdirSync(projectRoot)
    .map((name) => /^Pulumi\.(.+)\.ya?ml$/.exec(name)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

export function stackFileName(stack: string): string {
  return `Pulumi.${stack}.yaml`;
}

/** The stack file parsed for locations and keys; undefined when the stack has no file (config from elsewhere). */
export function readStackFile(projectRoot: string, stack: string): YamlSource | undefined {
  const file = path.join(projectRoot, stackFileName(stack));
  if (!existsSync(file)) return undefined;
  return parseYamlSource(displayPath(file), readFileSync(file, "utf8"));
}

export const SECRET_PLACEHOLDER = "[secret]";

/**
 * `platform:*` values exactly as the stack file holds them. Encrypted values (`secure: v1:...`) become a
 * placeholder: validation only needs to know a secret is set, never its value.
 */
export function platformValuesFromStackFile(source: YamlSource): Record<string, unknown> {
  const config = (source.value as { config?: Record<string, unknown> } | undefined)?.config ?? {};
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith("platform:")) values[key.slice("platform:".length)] = hideSecureValues(value);
  }
  return values;
}

function hideSecureValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hideSecureValues);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === "secure") return SECRET_PLACEHOLDER;
    return Object.fromEntries(entries.map(([k, v]) => [k, hideSecureValues(v)]));
  }
  return value;
}
