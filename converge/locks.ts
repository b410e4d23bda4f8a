import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import * as path from "node:path";

/**
 * A stack's update lock, as each backend keeps it, and when one counts as left by a dead run.
 *
 * DIY backends (file://, s3://), Pulumi CLI v3.259 to v3.270 (pkg/backend/diy/lock.go): every update, refresh,
 * destroy and `stack import` writes `<backend>/.pulumi/locks/organization/<project>/<stack>/<uuid>.json` (the uuid is
 * the CLI process's own) holding `{"pid":…,"username":…,"hostname":…,"timestamp":"<RFC 3339>"}`, and deletes it when
 * it ends; a backend in the legacy layout (no projects) uses `.pulumi/locks/<stack>/`. Any lock file another process
 * wrote fails the next update with "the stack is currently locked by 1 lock(s)". A SIGKILLed CLI never deletes its
 * file. `pulumi cancel` deletes every lock file of the stack.
 * Pulumi Cloud keeps no file: an update in progress (stack history's newest entry, result `in-progress`) blocks the
 * next one until it ends or `pulumi cancel` cancels it; who runs it is not recorded.
 */

export interface StackLock {
  /** Where it is: the lock file (path or URL), or "update <n>" on Pulumi Cloud. */
  where: string;
  /** Who took it, when the backend records it (DIY). */
  holder?: { pid: number; username: string; hostname: string };
  /** When it was taken; undefined when unreadable. */
  since: Date | undefined;
}

export interface LockVerdict {
  stale: boolean;
  /** Why, in words: "its process 4242 is gone on this host", "taken 75 min ago, longer than the deploy job's timeout (45 min)". */
  why: string;
}

/** What the pid of a lock made on this host is now. "other": a live process that is not pulumi (the pid was reused). */
export type ProcessState = "gone" | "pulumi" | "other";

export interface JudgeContext {
  now: Date;
  /** A lock older than this is stale whoever holds it: the deploy job's timeout, after which the runner kills the job. */
  maxAgeMinutes: number;
  thisHost: string;
  processState: (pid: number) => ProcessState;
}

/**
 * Stale when its run cannot be alive: made on this host by a process that is gone (or whose pid now belongs to
 * something that is not pulumi), or older than the deploy job's timeout. A lock of this host whose pulumi still runs
 * is live at any age; one from another host (another runner, a laptop) is live until the timeout, since nothing here
 * can tell whether that process is still going.
 */
export function judgeLock(lock: StackLock, ctx: JudgeContext): LockVerdict {
  const ageMinutes = lock.since ? (ctx.now.getTime() - lock.since.getTime()) / 60_000 : undefined;
  const age = ageMinutes === undefined ? "of unknown age" : `taken ${Math.max(0, Math.round(ageMinutes))} min ago`;
  if (lock.holder && lock.holder.hostname === ctx.thisHost && lock.holder.pid > 0) {
    const state = ctx.processState(lock.holder.pid);
    if (state === "gone") return { stale: true, why: `its process ${lock.holder.pid} is gone on this host (${age})` };
    if (state === "other") return { stale: true, why: `pid ${lock.holder.pid} on this host is no longer a pulumi process (${age})` };
    return { stale: false, why: `its process ${lock.holder.pid} is still running on this host (${age})` };
  }
  if (ageMinutes !== undefined && ageMinutes > ctx.maxAgeMinutes)
    return { stale: true, why: `${age}, longer than the deploy job's timeout (${ctx.maxAgeMinutes} min), so its run has ended` };
  return {
    stale: false,
    why: `${age}${lock.holder ? ` on another host` : ""}, within the deploy job's timeout (${ctx.maxAgeMinutes} min): its run may still be going`,
  };
}

/** One line naming a lock: who holds it and since when. */
export function describeLock(lock: StackLock): string {
  const who = lock.holder ? `${lock.holder.username}@${lock.holder.hostname} (pid ${lock.holder.pid})` : "an update";
  return `${who} since ${lock.since ? lock.since.toISOString().replace(/\.\d{3}Z$/, "Z") : "an unknown time"} (${lock.where})`;
}

/**
 * Linux: `kill -0` says whether the pid exists (EPERM: it does); /proc/<pid>/stat whether it is a zombie (a killed
 * CLI whose parent has not reaped it: dead, yet `kill -0` still finds it) and what program it runs.
 */
export function processState(pid: number): ProcessState {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return "gone";
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    // Gone in between; or no /proc (macOS): a live pid counts as the run's, on the side of not stealing a live lock.
    return (error as NodeJS.ErrnoException).code === "ENOENT" && existsSync("/proc/self/stat") ? "gone" : "pulumi";
  }
  // "<pid> (<comm>) <state> …": comm may hold spaces and parentheses, so the state follows the last ")".
  const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  if (state === "Z" || state === "X") return "gone";
  return comm.startsWith("pulumi") ? "pulumi" : "other";
}

export const defaultJudgeContext = (maxAgeMinutes: number): JudgeContext => ({ now: new Date(), maxAgeMinutes, thisHost: hostname(), processState });

/** Reads and clears one stack's locks in one kind of backend. Reads throw LockReadError. */
export interface LockStore {
  /** For messages: "file backend /srv/state", "s3://bucket", "Pulumi Cloud". */
  description: string;
  list(): StackLock[];
  /** Removes these locks (all of the stack's: callers clear only when every lock is stale). Throws on failure. */
  clear(locks: StackLock[]): void;
}

export class LockReadError extends Error {}

/** The lock directories of a stack in a DIY backend, relative to its root: project-scoped, then legacy. */
export function diyLockDirs(project: string, stack: string): string[] {
  return [`.pulumi/locks/organization/${project}/${stack}`, `.pulumi/locks/${stack}`];
}

/** The JSON of a DIY lock file; a file that does not parse still counts as a lock (the CLI refuses it too). */
export function parseDiyLock(where: string, text: string, fallbackTime: Date | undefined): StackLock {
  try {
    const json = JSON.parse(text) as { pid?: unknown; username?: unknown; hostname?: unknown; timestamp?: unknown };
    const since = typeof json.timestamp === "string" && !Number.isNaN(Date.parse(json.timestamp)) ? new Date(json.timestamp) : fallbackTime;
    if (typeof json.pid === "number" && typeof json.hostname === "string")
      return { where, holder: { pid: json.pid, username: typeof json.username === "string" ? json.username : "?", hostname: json.hostname }, since };
    return { where, since };
  } catch {
    return { where, since: fallbackTime };
  }
}

const ATTRS = ".attrs";

/** file://<dir>: the lock files themselves; clearing removes exactly the files judged stale. */
export function fileLockStore(stateDir: string, project: string, stack: string): LockStore {
  return {
    description: `the file backend ${stateDir}`,
    list() {
      const locks: StackLock[] = [];
      for (const dir of diyLockDirs(project, stack).map((d) => path.join(stateDir, d))) {
        let names: string[];
        try {
          names = readdirSync(dir);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
          throw new LockReadError(`cannot list ${dir}: ${(error as Error).message}`);
        }
        // The file backend (gocloud's fileblob) keeps each object's attributes beside it in `<name>.attrs`.
        for (const name of names.filter((n) => !n.endsWith(ATTRS)).sort()) {
          const file = path.join(dir, name);
          const stat = statSync(file);
          if (!stat.isFile()) continue;
          locks.push(parseDiyLock(file, readFileSync(file, "utf8"), stat.mtime));
        }
      }
      return locks;
    },
    clear(locks) {
      for (const lock of locks) {
        for (const file of [lock.where, `${lock.where}${ATTRS}`]) {
          try {
            unlinkSync(file);
          } catch (error) {
            // Gone already: its run ended meanwhile, which is what clearing wanted.
            if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
          }
        }
      }
    },
  };
}

/**
 * s3://<bucket>[/<prefix>][?region=…&endpoint=…&use_path_style=true&disable_https=true] through the AWS CLI (on
 * GitHub's runners), with the credentials the pipeline already gives pulumi (AWS_ACCESS_KEY_ID, …,
 * AWS_ENDPOINT_URL_S3). Clearing is `pulumi cancel`, which deletes every lock file of the stack.
 */
export function s3LockStore(backendUrl: string, project: string, stack: string, cancel: () => void, env: NodeJS.ProcessEnv = process.env): LockStore {
  const url = new URL(backendUrl);
  const bucket = url.host;
  const prefix = url.pathname.replace(/^\/+|\/+$/g, "");
  const query = url.searchParams;
  const args: string[] = [];
  const region = query.get("region") ?? query.get("awssdk_region");
  if (region) args.push("--region", region);
  const endpoint = query.get("endpoint");
  if (endpoint) args.push("--endpoint-url", /^https?:\/\//.test(endpoint) ? endpoint : `${query.get("disable_https") === "true" ? "http" : "https"}://${endpoint}`);
  const pathStyle = query.get("use_path_style") === "true" || query.get("s3ForcePathStyle") === "true";
  const aws = (awsArgs: string[]): string => {
    let configDir: string | undefined;
    const awsEnv = { ...env };
    if (pathStyle) {
      configDir = mkdtempSync(path.join(tmpdir(), "converge-aws-"));
      writeFileSync(path.join(configDir, "config"), "[default]\ns3 =\n  addressing_style = path\n");
      awsEnv.AWS_CONFIG_FILE = path.join(configDir, "config");
    }
    try {
      const run = spawnSync("aws", [...awsArgs, ...args], { env: awsEnv, encoding: "utf8", timeout: 60_000 });
      if (run.error) throw new LockReadError(`cannot read the locks in s3://${bucket}: ${(run.error as NodeJS.ErrnoException).code === "ENOENT" ? "the aws CLI is not on PATH" : run.error.message}`);
      if (run.status !== 0) throw new LockReadError(`cannot read the locks in s3://${bucket}: ${firstLine(run.stderr) || `aws exited ${run.status}`}`);
      return run.stdout;
    } finally {
      if (configDir) rmSync(configDir, { recursive: true, force: true });
    }
  };
  return {
    description: `s3://${bucket}${prefix ? `/${prefix}` : ""}`,
    list() {
      const locks: StackLock[] = [];
      for (const dir of diyLockDirs(project, stack)) {
        const keyPrefix = `${prefix ? `${prefix}/` : ""}${dir}/`;
        const listed = JSON.parse(aws(["s3api", "list-objects-v2", "--bucket", bucket, "--prefix", keyPrefix, "--output", "json"]) || "{}") as {
          Contents?: { Key: string; LastModified?: string }[];
        };
        for (const object of listed.Contents ?? []) {
          if (object.Key.endsWith("/")) continue;
          const text = aws(["s3", "cp", `s3://${bucket}/${object.Key}`, "-"]);
          locks.push(parseDiyLock(`s3://${bucket}/${object.Key}`, text, object.LastModified ? new Date(object.LastModified) : undefined));
        }
      }
      return locks;
    },
    clear: () => cancel(),
  };
}

/**
 * Pulumi Cloud: the newest update of `pulumi stack history`, when it has not ended, is the lock; its start time is
 * all the Cloud says about it. Clearing is `pulumi cancel`.
 */
export function cloudLockStore(history: () => string, cancel: () => void): LockStore {
  return {
    description: "Pulumi Cloud",
    list() {
      let updates: { version?: number; startTime?: string; result?: string }[];
      try {
        updates = JSON.parse(history() || "[]") as typeof updates;
      } catch {
        throw new LockReadError("pulumi stack history printed no JSON");
      }
      const newest = updates[0];
      if (!newest || (newest.result !== "in-progress" && newest.result !== "not-started")) return [];
      const since = newest.startTime && !Number.isNaN(Date.parse(newest.startTime)) ? new Date(newest.startTime) : undefined;
      return [{ where: `update ${newest.version ?? "?"}`, since }];
    },
    clear: () => cancel(),
  };
}

function firstLine(text: string): string {
  return text.split("\n").map((line) => line.trim()).find(Boolean) ?? "";
}
