import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/**
 * A local bare repository standing in for the platform repository on GitHub (main: the fixture stack files and the
 * example tenants), and clones of it standing in for workflow runs' checkouts. The caller removes `dir`.
 */

export const ROOT = path.resolve(__dirname, "..");
export const LAND_SCRIPT = path.join(ROOT, "scripts", "land-image-change.sh");
export const IDENTITY = {
  GIT_AUTHOR_NAME: "promotion[bot]",
  GIT_AUTHOR_EMAIL: "bot@example.test",
  GIT_COMMITTER_NAME: "promotion[bot]",
  GIT_COMMITTER_EMAIL: "bot@example.test",
};

export const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

export function platformRemote(clones: number): { remote: string; clones: string[]; base: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "platform-land-"));
  const remote = path.join(dir, "remote.git");
  git(dir, "init", "--quiet", "--bare", "--initial-branch=main", remote);
  const seed = path.join(dir, "seed");
  git(dir, "clone", "--quiet", remote, seed);
  cpSync(path.join(ROOT, "test", "fixtures", "stacks"), seed, { recursive: true });
  cpSync(path.join(ROOT, "test", "fixtures", "tenants", "examples"), path.join(seed, "tenants"), { recursive: true });
  git(seed, "add", ".");
  execFileSync("git", ["commit", "--quiet", "-m", "platform"], { cwd: seed, env: { ...process.env, ...IDENTITY } });
  git(seed, "push", "--quiet", "origin", "HEAD:refs/heads/main");
  const paths = Array.from({ length: clones }, (_, i) => {
    const clone = path.join(dir, `run-${i + 1}`);
    git(dir, "clone", "--quiet", remote, clone);
    return clone;
  });
  return { remote, clones: paths, base: git(remote, "rev-parse", "main"), dir };
}

export interface Run {
  status: number | null;
  output: string;
}

/** Runs a command without blocking the test process (so several can run at once); stdout and stderr interleaved. */
export function run(command: string, args: readonly string[], cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}
