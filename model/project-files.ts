import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from "node:fs";
import * as path from "node:path";
import { parseYamlSource, unreadableSource, type YamlSource } from "./yaml-source";

/**
 * The only module that reads the repo's files: tenant files, and the stack files' text (for the CLI's values and
 * for error locations). Everything downstream works on what it returns.
 */

export interface TenantSourceFile {
  /** Path as shown in errors: relative to the working directory when inside it. */
  file: string;
  text: string;
  /** Why the file could not be read (then `text` is empty), e.g. "is a directory": reported at the file, line 1. */
  problem?: string;
}

const TENANT_FILE = /\.ya?ml$/;

/**
 * A tenant file is a few kilobytes; the bound keeps a pasted dump or generated file from stalling every preview
 * (a 21 MB file took 26 s to pass). Documented in tenants/README.md.
 */
export const MAX_TENANT_FILE_BYTES = 1024 * 1024;

export function displayPath(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative.startsWith("..") || path.isAbsolute(relative) ? absolute : relative;
}

/** Reads every tenant file in a directory (not recursive), in a stable order. Throws only when the directory itself cannot be listed. */
export function readTenantDirectory(directory: string): TenantSourceFile[] {
  return readdirSync(directory)
    .filter((name) => TENANT_FILE.test(name))
    .sort()
    .map((name) => readTenantFile(path.join(directory, name)));
}

/** Never throws: a file that cannot be read as text comes back with a `problem` for the validator to report. */
export function readTenantFile(file: string): TenantSourceFile {
  const shown = displayPath(path.resolve(file));
  const read = readBoundedText(file, MAX_TENANT_FILE_BYTES, "a tenant file");
  return "text" in read ? { file: shown, text: read.text } : { file: shown, text: "", problem: read.problem };
}

/** Explains a path that cannot be used as a directory, as one sentence; undefined when it can. */
export function directoryProblem(directory: string): string | undefined {
  try {
    readdirSync(directory);
    return undefined;
  } catch (error) {
    return `cannot read the tenant directory ${directory}: ${describeFsError(error, directory)}`;
  }
}

/**
 * Files and directories named on a command line. A path that does not exist at all, or a directory that cannot be
 * listed, is a usage error (returned as a sentence); anything else that exists is read as a file, so a dangling
 * symlink, a FIFO or a directory named like a tenant file is reported at that path like any other invalid file.
 */
export function readTenantPaths(paths: readonly string[]): { files: TenantSourceFile[]; usageErrors: string[] } {
  const files: TenantSourceFile[] = [];
  const usageErrors: string[] = [];
  for (const given of paths) {
    if (!lexists(given)) usageErrors.push(`no such file or directory: ${given}`);
    else if (isDirectory(given) && !TENANT_FILE.test(given)) {
      const problem = directoryProblem(given);
      if (problem) usageErrors.push(problem);
      else files.push(...readTenantDirectory(given));
    } else files.push(readTenantFile(given));
  }
  return { files, usageErrors };
}

function lexists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Reads a regular file of at most `maxBytes` as UTF-8 text (a leading byte-order mark is kept for the parser to
 * drop). Opened non-blocking so a FIFO cannot hang the run, and checked after opening so the file read is the file
 * checked. Every failure comes back as a sentence a user can act on.
 */
export function readBoundedText(file: string, maxBytes: number, what: string): { text: string } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    return { problem: describeFsError(error, file) };
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return { problem: `is a directory, not ${what}` };
    if (!stat.isFile()) return { problem: `is ${fileKind(stat)}, not ${what} (a plain file)` };
    if (stat.size > maxBytes) return { problem: tooLarge(stat.size, maxBytes, what) };
    // Read one byte past the bound: sizes reported as 0 (procfs) or files growing meanwhile are caught too.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const count = readSync(fd, buffer, length, buffer.length - length, null);
      if (count === 0) break;
      length += count;
      if (length > maxBytes) return { problem: tooLarge(length, maxBytes, what, "over ") };
    }
    try {
      return { text: new TextDecoder("utf-8", { fatal: true }).decode(buffer.subarray(0, length)) };
    } catch {
      return { problem: "is not UTF-8 text (save it as UTF-8)" };
    }
  } catch (error) {
    return { problem: describeFsError(error, file) };
  } finally {
    closeSync(fd);
  }
}

function tooLarge(bytes: number, maxBytes: number, what: string, qualifier = ""): string {
  const mib = (n: number) => `${Number((n / 1024 ** 2).toFixed(1))} MiB`;
  return `is ${qualifier}${mib(bytes)}; ${what} may be at most ${mib(maxBytes)}`;
}

function fileKind(stat: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (stat.isFIFO()) return "a named pipe (FIFO)";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  return "a special file";
}

/** Node's fs errors carry a code; the sentence names what is wrong with the path, not the system call. */
function describeFsError(error: unknown, file: string): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case "ELOOP":
      return "is a symlink loop (it leads back to itself); replace it with the file";
    case "ENOENT": {
      const target = symlinkTarget(file);
      return target === undefined ? "does not exist" : `is a symlink to ${target}, which does not exist`;
    }
    case "EACCES":
    case "EPERM":
      return "cannot be read: permission denied";
    case "ENOTDIR":
      return "is not a directory";
    default:
      return `cannot be read (${code ?? (error instanceof Error ? error.message : String(error))})`;
  }
}

function symlinkTarget(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch {
    return undefined;
  }
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
  const read = readBoundedText(file, MAX_TENANT_FILE_BYTES, "a stack file");
  return "text" in read ? parseYamlSource(displayPath(file), read.text) : unreadableSource(displayPath(file), read.problem);
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
