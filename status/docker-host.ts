import { execFile, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { LABEL } from "../model/naming";

/** One container as its engine reports it (`docker container inspect`). */
export interface ObservedContainer {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  /** created, running, paused, restarting, removing, exited, dead */
  state: string;
  /** healthy, unhealthy, starting; null without a health check */
  health: string | null;
  /** The last health probe's output, when it failed. */
  healthOutput: string | null;
  restarts: number;
  exitCode: number;
  startedAt: string;
  /** HostConfig.NetworkMode: Traefik's is `container:<pause id>` (components/edge.ts). Absent when not reported. */
  networkMode?: string;
}

export type HostObservation = { reachable: true; containers: ObservedContainer[] } | { reachable: false; error: string };

export interface HostTarget {
  url: string;
  sshOpts: readonly string[];
}

/** ssh can wait minutes for a host that drops packets; status must answer. */
export const HOST_TIMEOUT_MS = 30_000;

/**
 * Asks one Docker host, through the docker CLI with DOCKER_HOST (ssh:// works as for the deployment), for the stack's
 * containers (by the platform.stack label) and for `alsoByName` (containers status expects there, found even when a
 * label is not what it should be). Never throws: a host that cannot be asked comes back unreachable, with why.
 */
export async function observeHost(host: HostTarget, stack: string, alsoByName: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<HostObservation> {
  const ssh = host.url.startsWith("ssh://") && host.sshOpts.length > 0 ? sshWithOptions(host.sshOpts, env) : undefined;
  // DOCKER_HOST beats a configured context; an explicit DOCKER_CONTEXT beside it would be refused by the CLI.
  const dockerEnv: NodeJS.ProcessEnv = { ...env, DOCKER_HOST: host.url, ...(ssh ? { PATH: `${ssh.dir}:${env.PATH ?? ""}` } : {}) };
  delete dockerEnv.DOCKER_CONTEXT;
  try {
    const listed = await docker(["ps", "--all", "--quiet", "--no-trunc", "--filter", `label=${LABEL.stack}=${stack}`], dockerEnv);
    if (listed.error !== undefined) return { reachable: false, error: listed.error };
    const ids = [...new Set([...listed.stdout.split("\n").map((id) => id.trim()).filter(Boolean), ...alsoByName])];
    if (ids.length === 0) return { reachable: true, containers: [] };
    // A name that does not exist makes inspect exit 1 while it still prints the others: that is "missing", not an error.
    const inspected = await docker(["container", "inspect", ...ids], dockerEnv);
    const parsed = parseInspect(inspected.stdout);
    if (!parsed) return { reachable: false, error: inspected.error ?? "docker container inspect printed no JSON" };
    return { reachable: true, containers: uniqueById(parsed) };
  } finally {
    if (ssh) rmSync(ssh.dir, { recursive: true, force: true });
  }
}

interface DockerRun {
  stdout: string;
  /** Set when the command failed: one line saying why. */
  error?: string;
}

function docker(args: readonly string[], env: NodeJS.ProcessEnv): Promise<DockerRun> {
  return new Promise((resolve) => {
    execFile("docker", args, { env, timeout: HOST_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout });
      const failure = error as NodeJS.ErrnoException & { killed?: boolean };
      const why =
        failure.code === "ENOENT"
          ? "the docker CLI is not on PATH"
          : failure.killed
            ? `no answer within ${HOST_TIMEOUT_MS / 1000}s`
            : stderr.split("\n").map((l) => l.trim()).find(Boolean) ?? `docker exited with ${String(failure.code)}`;
      resolve({ stdout, error: why });
    });
  });
}

interface InspectJson {
  Id: string;
  Name: string;
  RestartCount?: number;
  HostConfig?: { NetworkMode?: string };
  Config?: { Image?: string; Labels?: Record<string, string> | null };
  State?: { Status?: string; ExitCode?: number; StartedAt?: string; Health?: { Status?: string; Log?: { ExitCode?: number; Output?: string }[] | null } };
}

function parseInspect(stdout: string): ObservedContainer[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  if (!Array.isArray(json)) return undefined;
  return (json as InspectJson[]).map((c) => {
    const health = c.State?.Health;
    const lastProbe = health?.Log?.at(-1);
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ""),
      image: c.Config?.Image ?? "",
      labels: c.Config?.Labels ?? {},
      state: c.State?.Status ?? "unknown",
      health: health?.Status ?? null,
      healthOutput: lastProbe && lastProbe.ExitCode !== 0 ? (lastProbe.Output ?? "").trim() || null : null,
      restarts: c.RestartCount ?? 0,
      exitCode: c.State?.ExitCode ?? 0,
      startedAt: c.State?.StartedAt ?? "",
      networkMode: c.HostConfig?.NetworkMode ?? "",
    };
  });
}

/** A container both listed by label and named is inspected twice. */
function uniqueById(containers: ObservedContainer[]): ObservedContainer[] {
  return [...new Map(containers.map((c) => [c.id, c])).values()];
}

/**
 * The docker CLI runs `ssh` from PATH and has no flag for ssh options, so the host's `sshOpts` (the same ones the
 * deployment's provider uses) go into a small `ssh` in front of the real one.
 */
export function sshWithOptions(opts: readonly string[], env: NodeJS.ProcessEnv): { dir: string } | undefined {
  const found = spawnSync("sh", ["-c", "command -v ssh"], { env, encoding: "utf8" });
  const real = found.stdout.trim();
  if (found.status !== 0 || !real) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "platform-status-ssh-"));
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(path.join(dir, "ssh"), `#!/bin/sh\nexec ${quote(real)} ${opts.map(quote).join(" ")} "$@"\n`);
  chmodSync(path.join(dir, "ssh"), 0o755);
  return { dir };
}
