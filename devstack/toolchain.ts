import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

/**
 * How the local tools (dev stack, end-to-end tests) reach Pulumi: the official `pulumi` on PATH when there is one
 * (it fetches the official plugins itself), otherwise the toolchain `npm run engine` builds into .engine/bin, with
 * its own PULUMI_HOME so nothing of the user's ~/.pulumi is touched. State is a local file backend.
 */

/** Only for the local dev and e2e stacks' file state: it protects nothing real. */
export const DEV_PASSPHRASE = "dev-only-passphrase";
const ENGINE_PLUGINS = ["pulumi-language-nodejs", "pulumi-resource-docker", "pulumi-resource-random", "pulumi-resource-command"];

export interface Toolchain {
  /** The pulumi executable. */
  cli: string;
  /** True when it is the official CLI found on PATH. */
  official: boolean;
  env: NodeJS.ProcessEnv;
}

export class PrerequisiteError extends Error {}

export function findToolchain(projectRoot: string, stateDir: string): Toolchain {
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? DEV_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "1",
  };
  mkdirSync(stateDir, { recursive: true });
  const onPath = spawnSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" });
  if (onPath.status === 0 && !onPath.stdout.trim().startsWith(path.join(projectRoot, ".engine"))) {
    return { cli: onPath.stdout.trim(), official: true, env: base };
  }
  const bin = path.join(projectRoot, ".engine", "bin");
  const missing = ["pulumi", ...ENGINE_PLUGINS].filter((name) => !existsSync(path.join(bin, name)));
  if (missing.length > 0)
    throw new PrerequisiteError(`no pulumi CLI on PATH and ${missing.join(", ")} missing from .engine/bin: run \`npm run engine\` (or install the official pulumi CLI)`);
  const toolchain: Toolchain = {
    cli: path.join(bin, "pulumi"),
    official: false,
    // The language host is found beside the CLI. The provider plugins are installed into a PULUMI_HOME of our own
    // under the versions the project pins, so the engine never tries to download them and ~/.pulumi is untouched.
    env: { ...base, PULUMI_HOME: path.join(stateDir, "home"), PULUMI_IGNORE_AMBIENT_PLUGINS: "true" },
  };
  for (const plugin of PROVIDER_PLUGINS) installPlugin(toolchain, projectRoot, bin, plugin);
  return toolchain;
}

/** Provider plugins the program's SDKs ask for, by the npm package that pins their version. */
const PROVIDER_PLUGINS = ["docker", "random", "command"];

function installPlugin(toolchain: Toolchain, projectRoot: string, bin: string, name: string): void {
  const version = (JSON.parse(readFileSync(path.join(projectRoot, "node_modules", "@pulumi", name, "package.json"), "utf8")) as { version: string }).version;
  const binary = path.join(bin, `pulumi-resource-${name}`);
  const installed = path.join(toolchain.env.PULUMI_HOME!, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`);
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(binary).mtimeMs) return;
  const result = spawnSync(toolchain.cli, ["plugin", "install", "resource", name, version, "--file", binary], { env: toolchain.env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`pulumi plugin install ${name} ${version} failed: ${result.stderr.trim()}`);
}

export function requireDocker(): void {
  const info = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8" });
  if (info.error) throw new PrerequisiteError("the docker CLI is not on PATH: run `npm run setup` (installs Debian's docker.io)");
  if (info.status !== 0) throw new PrerequisiteError("no Docker engine answers on this machine: run `npm run setup` (starts dockerd)");
}

/** Local images a stack needs that the engine does not have. */
export function missingImages(images: Iterable<string>): string[] {
  return [...new Set(images)].filter((image) => spawnSync("docker", ["image", "inspect", image], { stdio: "ignore" }).status !== 0).sort();
}

export interface PulumiRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs pulumi in `cwd`; `inherit` streams its output to the terminal (stdout/stderr are then empty). */
export function runPulumi(toolchain: Toolchain, cwd: string, args: readonly string[], opts: { inherit?: boolean; env?: NodeJS.ProcessEnv } = {}): PulumiRun {
  const result: SpawnSyncReturns<string> = spawnSync(toolchain.cli, [...args, "--non-interactive"], {
    cwd,
    env: { ...toolchain.env, ...opts.env },
    encoding: "utf8",
    stdio: opts.inherit ? "inherit" : "pipe",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** Selects the stack, creating it (passphrase secrets) the first time. */
export function selectStack(toolchain: Toolchain, cwd: string, stack: string): void {
  const selected = runPulumi(toolchain, cwd, ["stack", "select", stack]);
  if (selected.status === 0) return;
  const created = runPulumi(toolchain, cwd, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
  if (created.status !== 0) throw new Error(`pulumi stack init ${stack} failed: ${created.stderr.trim() || created.stdout.trim()}`);
}
