import { spawnSync } from "node:child_process";
import * as path from "node:path";

/**
 * The tenants a pull request adds or changes: tenant files that differ between `since` and the working tree (so a
 * local run previews uncommitted edits too; in CI the working tree is the pull request's head), plus untracked ones.
 * Deleted files are left out: there is nothing to try.
 */

export class GitError extends Error {}

/** The merge-base with origin/main, else with main: what the pull request changes. */
export function defaultSince(cwd: string): string {
  for (const ref of ["origin/main", "main"]) {
    const base = git(cwd, ["merge-base", "HEAD", ref]);
    if (base.status === 0) return base.stdout.trim();
  }
  if (git(cwd, ["rev-parse", "--verify", "--quiet", "main^{commit}"]).status === 0) return "main";
  throw new GitError("cannot find what this branch changes: no merge-base with origin/main or main (pass --since <ref> or --tenants a,b)");
}

export function changedTenants(cwd: string, tenantsDir: string, since: string): string[] {
  if (git(cwd, ["rev-parse", "--verify", "--quiet", `${since}^{commit}`]).status !== 0) throw new GitError(`--since ${since} is not a commit here`);
  const dir = path.relative(cwd, path.resolve(cwd, tenantsDir)) || ".";
  const changed = git(cwd, ["diff", "--name-only", "--relative", "--no-renames", "--diff-filter=d", since, "--", dir]);
  if (changed.status !== 0) throw new GitError(`git diff ${since} failed: ${changed.stderr.trim()}`);
  const untracked = git(cwd, ["ls-files", "--others", "--exclude-standard", "--", dir]);
  const names = `${changed.stdout}\n${untracked.stdout}`
    .split("\n")
    .filter((file) => file !== "" && path.dirname(file) === path.normalize(dir) && /\.ya?ml$/.test(file))
    .map((file) => path.basename(file).replace(/\.ya?ml$/, ""));
  return [...new Set(names)].sort();
}

function git(cwd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (result.error) throw new GitError(`git is not available: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}
