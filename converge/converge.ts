import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { findToolchain, runPulumi } from "../devstack/toolchain";
import { formatDiagnostic } from "../model/diagnostics";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import { chooseBackend } from "../status/backend";
import { observeHost, sshWithOptions, type HostTarget } from "../status/docker-host";
import { cloudLockStore, defaultJudgeContext, describeLock, fileLockStore, judgeLock, LockReadError, s3LockStore, type JudgeContext, type LockStore, type StackLock } from "./locks";
import { describeStray, findStrays, readState, withoutPendingOperations, type HostContainers, type Stray } from "./strays";

/**
 * `npm run converge -- --stack <s>`: makes the next `pulumi up` of a stack start clean after a run that was killed
 * (a CI runner that died, a SIGKILL): clears a lock whose run cannot be alive, removes the containers the killed run
 * created that the state does not know, and drops the pending operations from the state. Everything is read first
 * (the lock, the state, every host); nothing changes unless all of it could be read and no run holds the stack.
 * One exception: a host that does not answer (down, unreachable) while the state has no pending operation. Then the
 * other hosts are converged and the result says which hosts were not (exit 3), so the deploy can still deploy what
 * does not depend on them (docs/pipeline.md#a-host-that-does-not-answer).
 */

export interface ConvergeOptions {
  stack: string;
  projectDir: string;
  /** The repository whose toolchain runs pulumi (.engine/bin, or the official CLI on PATH). */
  toolRoot: string;
  /** A lock older than this is stale wherever it was taken: the deploy job's timeout-minutes. */
  lockTimeoutMinutes: number;
  dryRun: boolean;
  env?: NodeJS.ProcessEnv;
  judge?: Partial<JudgeContext>;
}

export interface ConvergeResult {
  /** 0 ready for up; 3 ready, except the hosts named in `error`, which do not answer; 1 not ready; 2 usage. */
  exitCode: 0 | 1 | 2 | 3;
  /** One line per finding and action. */
  lines: string[];
  /** The one-line reason for exit 1 or 2. */
  error?: string;
}

class Failure extends Error {
  constructor(
    readonly exitCode: 1 | 2,
    message: string,
  ) {
    super(message);
  }
}

export async function converge(opts: ConvergeOptions): Promise<ConvergeResult> {
  const lines: string[] = [];
  try {
    const silent = await run(opts, (line) => lines.push(line));
    if (silent.length > 0)
      return {
        exitCode: 3,
        lines,
        error: `${silent.map((o) => `host ${o.host} (${o.url}) does not answer (${o.error})`).join("; ")}: its containers were not checked; deploy without --refresh and with --continue-on-error, so that what does not depend on it is deployed`,
      };
    return { exitCode: 0, lines };
  } catch (error) {
    if (error instanceof Failure) return { exitCode: error.exitCode, lines, error: error.message };
    return { exitCode: 1, lines, error: firstLine(String((error as Error | undefined)?.message ?? error)) };
  }
}

/** Runs the convergence; returns the hosts that did not answer (then nothing on them was checked). */
async function run(opts: ConvergeOptions, say: (line: string) => void): Promise<{ host: string; url: string; error: string }[]> {
  const env = opts.env ?? process.env;
  const { stack: name, projectDir } = opts;
  const { stacks, stackNames, diagnostics } = loadStacksFromFiles(projectDir);
  if (!stackNames.includes(name)) throw new Failure(2, `unknown stack "${name}" (stacks: ${stackNames.join(", ") || "none"})`);
  const stack = stacks.find((s) => s.name === name);
  if (!stack) throw new Failure(1, diagnostics.filter((d) => path.basename(d.file) === `Pulumi.${name}.yaml`).map(formatDiagnostic).join("; ") || `Pulumi.${name}.yaml is invalid`);

  const backend = chooseBackend(env, projectDir, stack);
  const toolchain = findToolchain(opts.toolRoot, backend.stateDir);
  if (backend.url) toolchain.env.PULUMI_BACKEND_URL = backend.url;
  else delete toolchain.env.PULUMI_BACKEND_URL;
  const pulumi = (args: string[], what: string): string => {
    const result = runPulumi(toolchain, projectDir, [...args, "--stack", name]);
    if (result.status !== 0) throw new Failure(1, `${what} failed: ${firstLine(result.stderr) || firstLine(result.stdout) || `exit ${result.status}`}`);
    return result.stdout;
  };
  const store = lockStore(backend.url, backend.stateDir, projectName(projectDir), name, pulumi, env);

  // 1. The state: a stack the backend does not have is not there to converge (pulumi up would refuse it too).
  const exported = runPulumi(toolchain, projectDir, ["stack", "export", "--stack", name]);
  if (exported.status !== 0) {
    const message = firstLine(exported.stderr) || firstLine(exported.stdout) || `exit ${exported.status}`;
    if (/no stack named|not found|does not exist/i.test(message)) throw new Failure(1, `stack ${name} does not exist in ${backend.description}: create it first (pulumi stack init ${name})`);
    throw new Failure(1, `pulumi stack export failed: ${message}`);
  }
  const exportJson = parseJson(exported.stdout, "pulumi stack export");
  const state = readState(exportJson);

  // 2. The lock: any live one stops everything here, before a host is asked or anything changes.
  let locks: StackLock[];
  try {
    locks = store.list();
  } catch (error) {
    if (error instanceof LockReadError) throw new Failure(1, error.message);
    throw error;
  }
  const judge = { ...defaultJudgeContext(opts.lockTimeoutMinutes), ...opts.judge };
  const verdicts = locks.map((lock) => ({ lock, verdict: judgeLock(lock, judge) }));
  const live = verdicts.find((v) => !v.verdict.stale);
  if (live)
    throw new Failure(
      1,
      `stack ${name} is locked by ${describeLock(live.lock)}: ${live.verdict.why}; nothing was changed (wait for that run; once sure it has ended, pulumi cancel --stack ${name})`,
    );

  // 3. Every host of the stack: the stack file's, and any the last deployment named that the file no longer has.
  const targets = new Map<string, HostTarget>();
  for (const host of Object.values(stack.hosts)) targets.set(host.name, { url: host.url, sshOpts: host.sshOpts });
  for (const [host, url] of edgeHosts(exportJson)) if (!targets.has(host)) targets.set(host, { url, sshOpts: [] });
  const observed = await Promise.all(
    [...targets].map(async ([host, target]) => ({ host, target, observation: await observeHost(target, name, [], env) })),
  );
  const silent = observed.flatMap((o) => (o.observation.reachable ? [] : [{ host: o.host, url: o.target.url, error: o.observation.error }]));
  // A pending operation may be on a host that does not answer: dropping it blind could leave there a container the
  // state forgot, so then nothing changes.
  const [unreachable] = silent;
  if (unreachable && state.pending.length > 0)
    throw new Failure(1, `host ${unreachable.host} (${unreachable.url}) cannot be reached: ${unreachable.error}; a killed run left pending operations, which may be on it: nothing was changed`);
  const hosts: HostContainers[] = observed.map((o) => ({ host: o.host, url: o.target.url, containers: o.observation.reachable ? o.observation.containers : [] }));
  const strays = findStrays(name, state, hosts);

  for (const { host, container, kind } of strays.leave)
    say(`left ${container.name} on ${host}: a ${kind === "release" ? "release task's" : "Postgres upgrade's"} own container, which that step removes before it runs again`);
  if (locks.length === 0 && strays.remove.length === 0 && state.pending.length === 0) {
    say(`stack ${name}: nothing to converge (no lock, no pending operation, no container the state does not know)`);
    return silent;
  }
  const would = opts.dryRun ? "would " : "";

  // 4. Act: the stale locks, then the strays, then the pending operations (stack import takes the lock itself).
  for (const { lock, verdict } of verdicts) {
    if (!opts.dryRun) store.clear([lock]);
    say(`${would}clear${opts.dryRun ? "" : "ed"} the lock of ${describeLock(lock)}: stale, ${verdict.why}`);
  }
  const sshOpts = new Map([...targets].map(([host, target]) => [host, target.sshOpts]));
  const removals = await Promise.all(strays.remove.map(async (stray) => ({ stray, error: opts.dryRun ? undefined : await removeContainer(stray, sshOpts.get(stray.host) ?? [], env) })));
  for (const { stray, error } of removals) {
    if (error) throw new Failure(1, `could not remove ${describeStray(stray)}: ${error}`);
    say(`${would}remove${opts.dryRun ? "" : "d"} ${describeStray(stray)}: not in the state${stray.pendingCreate ? " (only a pending create)" : ""}, ${whyRemovingIsSafe(stray)}`);
  }
  if (state.pending.length > 0) {
    if (!opts.dryRun) dropPendingOperations(name, pulumi);
    for (const op of state.pending) say(`${would}drop${opts.dryRun ? "" : "ped"} the pending operation ${op.type} ${op.urn.split("::").pop()} (${op.resourceType}) from the state`);
  }
  say(opts.dryRun ? `stack ${name}: dry run, nothing was changed` : `stack ${name}: converged; the next pulumi up starts from the state and the hosts as they are`);
  return silent;
}

function lockStore(url: string | undefined, stateDir: string, project: string, stack: string, pulumi: (args: string[], what: string) => string, env: NodeJS.ProcessEnv): LockStore {
  const cancel = () => void pulumi(["cancel", "--yes"], "pulumi cancel");
  if (url?.startsWith("file://")) return fileLockStore(stateDir, project, stack);
  if (url?.startsWith("s3://")) return s3LockStore(url, project, stack, cancel, env);
  if (!url || /^https?:\/\//.test(url)) return cloudLockStore(() => pulumi(["stack", "history", "--json", "--page-size", "1"], "pulumi stack history"), cancel);
  throw new Failure(1, `converge reads the locks of file://, s3:// and Pulumi Cloud backends, not ${url.split(":")[0]}://: clear a dead run's lock by hand (pulumi cancel)`);
}

/**
 * Pending operations go by exporting the state again, now that no run holds it, and importing it without them:
 * exactly the state minus the operations. (`pulumi refresh --clear-pending-creates --yes` clears pending creates
 * too, but also rewrites every resource from what the hosts report, which is not this step's business.)
 */
function dropPendingOperations(stack: string, pulumi: (args: string[], what: string) => string): void {
  const fresh = parseJson(pulumi(["stack", "export"], "pulumi stack export"), "pulumi stack export");
  const dir = mkdtempSync(path.join(tmpdir(), "converge-"));
  try {
    const file = path.join(dir, `${stack}.json`);
    writeFileSync(file, JSON.stringify(withoutPendingOperations(fresh), null, 2));
    pulumi(["stack", "import", "--file", file], "pulumi stack import");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why removing this container loses nothing: told per kind, since that is what an operator reads the line for. */
function whyRemovingIsSafe(stray: Stray): string {
  const service = stray.container.labels["platform.service"];
  if (service === "postgres") return "its data is in its named volume, which stays; the next up starts a new container on it";
  if (service === "redis") return "the next up starts it again (the cache keeps no data)";
  if (stray.container.labels["platform.tenant"] && service) return "the service's containers in the state keep serving; the next up creates what it needs";
  return "the next up creates what the state lacks";
}

/** `docker stop` (the container's own grace, set by the platform) then `docker rm`; undefined when done. */
async function removeContainer(stray: Stray, sshOpts: readonly string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const ssh = stray.url.startsWith("ssh://") && sshOpts.length > 0 ? sshWithOptions(sshOpts, env) : undefined;
  const dockerEnv: NodeJS.ProcessEnv = { ...env, DOCKER_HOST: stray.url, ...(ssh ? { PATH: `${ssh.dir}:${env.PATH ?? ""}` } : {}) };
  delete dockerEnv.DOCKER_CONTEXT;
  try {
    const stopped = await docker(["stop", stray.container.id], dockerEnv);
    if (stopped && !/no such container/i.test(stopped)) return stopped;
    const removed = await docker(["rm", stray.container.id], dockerEnv);
    return removed && !/no such container/i.test(removed) ? removed : undefined;
  } finally {
    if (ssh) rmSync(ssh.dir, { recursive: true, force: true });
  }
}

function docker(args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("docker", args, { env, timeout: 180_000, encoding: "utf8" }, (error, _stdout, stderr) => {
      if (!error) return resolve(undefined);
      resolve(firstLine(stderr) || ((error as NodeJS.ErrnoException).code === "ENOENT" ? "the docker CLI is not on PATH" : error.message));
    });
  });
}

/** The hosts the last deployment's `edges` output names (name → Docker host URL), if it has outputs. */
function edgeHosts(exported: unknown): [string, string][] {
  const resources = (exported as { deployment?: { resources?: { type?: string; outputs?: { edges?: unknown } }[] } }).deployment?.resources ?? [];
  const edges = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs?.edges;
  if (!edges || typeof edges !== "object") return [];
  return Object.entries(edges as Record<string, { dockerHost?: unknown }>).flatMap(([host, edge]) => (typeof edge?.dockerHost === "string" ? [[host, edge.dockerHost] as [string, string]] : []));
}

function projectName(projectDir: string): string {
  const name = (parse(readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { name?: unknown } | null)?.name;
  if (typeof name !== "string" || !name) throw new Failure(2, `${projectDir}/Pulumi.yaml names no project`);
  return name;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Failure(1, `${what} printed no JSON: ${firstLine(text)}`);
  }
}

function firstLine(text: string): string {
  return text.split("\n").map((line) => line.trim()).find(Boolean) ?? "";
}

