import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./temp-dirs";
import { git, IDENTITY, LAND_SCRIPT, platformRemote, run, type Run } from "./git-remote-fixture";

/**
 * scripts/land-image-change.sh, the image-published workflow's landing step, against a local bare repository
 * standing in for GitHub: clones of it play concurrent workflow runs.
 */

const WISHLIST = readFileSync(path.join(__dirname, "fixtures", "tenants", "examples", "wishlist.yaml"), "utf8");

const temps = tempDirs("land-image-change-");

function newRemote(clones: number) {
  const made = platformRemote(clones);
  temps.track(made.dir);
  return made;
}

function land(clone: string, env: Record<string, string>): Promise<Run> {
  return run("bash", [LAND_SCRIPT], clone, { ...IDENTITY, GITHUB_ACTIONS: "", GITHUB_RUN_ID: "", LAND_ATTEMPTS: "10", ...env });
}

/**
 * A pre-push hook that holds every clone until all of them have committed on the same tip: the three pushes then
 * race for real, so two of them must be rejected and retried (without it, a slow machine could run them one by one).
 */
function holdPushesUntilAll(clones: readonly string[], dir: string): Record<string, string> {
  const barrier = path.join(dir, "barrier");
  mkdirSync(barrier);
  for (const clone of clones) {
    const hook = path.join(clone, ".git", "hooks", "pre-push");
    writeFileSync(
      hook,
      `#!/bin/sh\ntouch "$LAND_TEST_BARRIER/$(basename "$PWD")"\ni=0\nwhile [ "$(ls "$LAND_TEST_BARRIER" | wc -l)" -lt ${clones.length} ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\n`,
    );
    chmodSync(hook, 0o755);
  }
  return { LAND_TEST_BARRIER: barrier };
}

const mainFile = (remote: string, file: string) => git(remote, "show", `main:${file}`) + "\n";
const subjects = (remote: string, base: string) => git(remote, "log", "--format=%s", `${base}..main`).split("\n").filter(Boolean);

describe("scripts/land-image-change.sh", () => {
  it("three dispatches at once for three services: all three land on main, none lost, each commit names its change", { timeout: 180_000 }, async () => {
    const { remote, clones, base, dir } = newRemote(3);
    const barrier = holdPushesUntilAll(clones, dir);
    const changes = [
      { service: "frontend", old: "registry.example.com/wishlist/frontend:2.3.0", image: "registry.example.com/wishlist/frontend:2.4.0" },
      { service: "api", old: "registry.example.com/wishlist/core-api:2.3.0", image: `registry.example.com/wishlist/core-api@sha256:${"ab".repeat(32)}` },
      { service: "resolver", old: "registry.example.com/wishlist/item-resolver:1.8.1", image: "registry.example.com/wishlist/item-resolver:1.9.0" },
    ];
    const runs = await Promise.all(
      changes.map((change, i) => land(clones[i]!, { ...barrier, TENANT: "wishlist", SERVICE: change.service, IMAGE: change.image })),
    );
    for (const run of runs) expect(run.status, run.output).toBe(0);
    // The race was real: at least two runs found main moved on and applied their change again.
    expect(runs.filter((run) => run.output.includes("push rejected (another change landed first)")).length).toBeGreaterThanOrEqual(2);

    expect(subjects(remote, base).sort()).toEqual(changes.map((c) => `Promote wishlist/${c.service}: ${c.old} → ${c.image}`).sort());
    // Each commit changes exactly its one line; together, the three values and nothing else.
    for (const sha of git(remote, "rev-list", `${base}..main`).split("\n")) {
      const stat = git(remote, "show", "--numstat", "--format=", sha);
      expect(stat).toBe("1\t1\ttenants/wishlist.yaml");
    }
    const expected = WISHLIST.replace(`image: ${changes[0]!.old}\n`, `image: ${changes[0]!.image}\n`)
      .replace(`image: ${changes[1]!.old}\n    port: 8000`, `image: ${changes[1]!.image}\n    port: 8000`)
      .replace(`image: ${changes[2]!.old}\n`, `image: ${changes[2]!.image}\n`);
    expect(expected).not.toBe(WISHLIST);
    expect(mainFile(remote, "tenants/wishlist.yaml")).toBe(expected);
    // The worker shares the api's old image and was not asked to change.
    expect(expected).toContain("  worker:\n    image: registry.example.com/wishlist/core-api:2.3.0\n");
  });

  it("the commit names the run that made it; the same image again lands nothing", { timeout: 60_000 }, async () => {
    const { remote, clones, base } = newRemote(1);
    const env = { TENANT: "acme", SERVICE: "web", IMAGE: "registry.example.com/acme/web:1.5.0" };
    const run = { GITHUB_RUN_ID: "42", GITHUB_SERVER_URL: "https://github.example", GITHUB_REPOSITORY: "example/platform" };
    const first = await land(clones[0]!, { ...env, ...run });
    expect(first.status, first.output).toBe(0);
    expect(first.output).toMatch(/^landed [0-9a-f]+ on main: Promote acme\/web: registry\.example\.com\/acme\/web:1\.4\.2 → registry\.example\.com\/acme\/web:1\.5\.0\n/);
    expect(git(remote, "log", "-1", "--format=%b", "main")).toBe(
      "Image published for tenant acme, service web (repository_dispatch image-published): https://github.example/example/platform/actions/runs/42",
    );
    const again = await land(clones[0]!, env);
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain("nothing to land: acme/web: already registry.example.com/acme/web:1.5.0");
    expect(subjects(remote, base)).toHaveLength(1);
  });

  describe("a bad payload fails the run with a clear message and commits nothing", () => {
    const cases: { name: string; env: Record<string, string>; status: 1 | 2; message: RegExp }[] = [
      { name: "missing fields", env: { TENANT: "acme" }, status: 2, message: /client_payload lacks service image: it needs tenant, service and image/ },
      { name: "an unknown tenant", env: { TENANT: "acne", SERVICE: "web", IMAGE: "registry.example.com/acme/web:1.5.0" }, status: 2, message: /unknown tenant "acne" \(did you mean "acme"\?/ },
      { name: "an unknown service", env: { TENANT: "acme", SERVICE: "api", IMAGE: "registry.example.com/acme/web:1.5.0" }, status: 2, message: /tenant acme has no service "api"/ },
      { name: "a malformed reference", env: { TENANT: "acme", SERVICE: "web", IMAGE: "registry.example.com/acme/web:1.5.0 && rm -rf /" }, status: 1, message: /is not an image reference/ },
      { name: "a reference production refuses", env: { TENANT: "acme", SERVICE: "web", IMAGE: "registry.example.com/acme/web:latest" }, status: 1, message: /is not pinned: stack production/ },
    ];
    for (const { name, env, status, message } of cases) {
      it(`${name}: exit ${status}`, { timeout: 60_000 }, async () => {
        const { remote, clones, base } = newRemote(1);
        const run = await land(clones[0]!, env);
        expect(run.status, run.output).toBe(status);
        expect(run.output).toMatch(message);
        expect(run.output).toMatch(/nothing committed/);
        expect(run.output).not.toContain("usage:");
        expect(git(remote, "rev-parse", "main")).toBe(base);
        expect(git(clones[0]!, "status", "--porcelain")).toBe("");
      });
    }

    it("inside a workflow run each message is an error annotation", { timeout: 60_000 }, async () => {
      const { clones } = newRemote(1);
      const run = await land(clones[0]!, { GITHUB_ACTIONS: "true", TENANT: "acme", SERVICE: "nope", IMAGE: "x/y:1" });
      expect(run.status).toBe(2);
      expect(run.output.split("\n").filter(Boolean).every((line) => line.startsWith("::error::"))).toBe(true);
    });
  });
});
