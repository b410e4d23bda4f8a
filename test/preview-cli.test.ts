import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { dnsSafeRepo, parsePreviewStackName, previewStackName } from "../model/preview-stack";
import { parsePreviewArgs, UsageError } from "../previewstack/args";
import { changedTenants } from "../previewstack/changed-tenants";
import { failingTenants } from "../previewstack/pulumi";
import { previewStackFileText } from "../previewstack/stack-file";
import { loadStackFromFile } from "../stacks/load-from-files";
import { PROJECT_ROOT } from "./program-harness";

/** `npm run preview`'s contract without an engine: its arguments, its stack file, what it previews, its messages. */

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]) {
  const result = spawnSync(path.join(PROJECT_ROOT, "node_modules/.bin/tsx"), [path.join(PROJECT_ROOT, "cli/preview.ts"), ...args], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const usageError = (args: string[]) => {
  try {
    parsePreviewArgs(args);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  return undefined;
};

describe("the preview CLI's usage errors exit 2, before any engine or state is touched", () => {
  it.each([
    [[], "missing action"],
    [["frob"], 'unknown action "frob"'],
    [["up"], "missing --pr <n>"],
    [["up", "--pr", "7x"], '--pr "7x" is not a pull request number'],
    [["up", "--pr", "0"], '--pr "0" is not a pull request number'],
    [["up", "--pr", "7", "--bogus"], "Unknown option '--bogus'"],
    [["up", "--pr", "7", "extra"], 'unexpected argument "extra"'],
    [["up", "--pr", "7", "--tenant", "acme"], "--tenant is for an application repository's preview"],
    [["up", "--pr", "7", "--tenants", "Acme"], '--tenants: "Acme" is not a tenant name'],
    [["up", "--pr", "7", "--base", "production"], "previews never run beside production"],
    [["up", "--pr", "7", "--base", "pr-3"], "--base pr-3 is itself a preview"],
    [["up", "--app", "shop", "--pr", "3", "--service", "web", "--image", "x:1"], "missing --tenant <tenant> (with --app)"],
    [["up", "--app", "shop", "--pr", "3", "--tenant", "acme", "--service", "web", "--image", "Not An Image"], '--image "Not An Image" is not an image reference'],
    [["up", "--app", "shop", "--pr", "3", "--tenant", "acme", "--service", "web", "--image", "x:1", "--tenants", "a"], "--tenants is for a platform pull request's preview"],
    [["up", "--app", "___", "--pr", "3", "--tenant", "acme", "--service", "web", "--image", "x:1"], '--app "___" has no letter or digit'],
    [["down"], "missing --pr <n>"],
    [["down", "--pr", "7", "--tenants", "a"], "down takes no --tenants"],
    [["list", "--pr", "7"], "list takes no --pr (it takes: --json)"],
    [["sweep"], "missing --open"],
    [["sweep", "--open", "3,x"], '--open "x" is not a pull request number'],
    [["sweep", "--open", "3", "--max-age-hours", "-1"], "--max-age-hours"],
  ])("%j: %s", (args, message) => {
    expect(usageError(args)).toContain(message);
  });

  it("the process prints the problem and the usage and exits 2", () => {
    const wrong = cli(["up", "--pr", "seven"]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('preview: --pr "seven" is not a pull request number');
    expect(wrong.stderr).toContain("usage: npm run preview -- up --pr <n>");
  });

  it("naming a tenant or base stack that does not exist is a usage error too", () => {
    const tenant = cli(["up", "--pr", "7", "--tenants", "no-such-tenant"]);
    expect(tenant.status).toBe(2);
    expect(tenant.stderr).toContain('unknown tenant "no-such-tenant": no tenants/no-such-tenant.yaml');
    const base = cli(["up", "--pr", "7", "--base", "nowhere"]);
    expect(base.status).toBe(2);
    expect(base.stderr).toContain("--base nowhere: no Pulumi.nowhere.yaml");
  });

  it("well-formed requests parse to what they ask for; the base defaults to dev", () => {
    expect(parsePreviewArgs(["up", "--pr", "7"])).toEqual({ action: "up", pr: 7, base: "dev" });
    expect(parsePreviewArgs(["up", "--pr", "7", "--base", "staging", "--tenants", "acme, notes", "--since", "origin/main"])).toEqual({
      action: "up", pr: 7, base: "staging", tenants: ["acme", "notes"], since: "origin/main",
    });
    expect(parsePreviewArgs(["up", "--app", "Team/Shop.Web", "--pr", "3", "--tenant", "acme", "--service", "web", "--image", "r.example.com/shop@sha256:" + "a".repeat(64)])).toMatchObject({
      app: { repo: "shop-web", tenant: "acme", service: "web" },
    });
    expect(parsePreviewArgs(["sweep", "--open", ""])).toEqual({ action: "sweep", open: [] });
    expect(parsePreviewArgs(["sweep", "--open", "4,9", "--max-age-hours", "72"])).toEqual({ action: "sweep", open: [4, 9], maxAgeHours: 72 });
  });
});

describe("preview stack names", () => {
  it("platform and application previews never share a name, and names read back", () => {
    expect(previewStackName({ pr: 7 })).toBe("pr-7");
    expect(previewStackName({ pr: 7, repo: "shop" })).toBe("app-shop-pr-7");
    for (const name of [{ pr: 7 }, { pr: 12, repo: "shop-web" }]) expect(parsePreviewStackName(previewStackName(name))).toEqual(name);
    expect(parsePreviewStackName("staging")).toBeUndefined();
    expect(parsePreviewStackName("pr-07")).toBeUndefined();
  });

  it("a repository name becomes DNS-safe", () => {
    expect(dnsSafeRepo("Acme/Shop_Web.v2")).toBe("shop-web-v2");
    expect(dnsSafeRepo("--x--")).toBe("x");
  });
});

describe("the preview's stack file", () => {
  const base = readFileSync(path.join(PROJECT_ROOT, "Pulumi.staging.yaml"), "utf8");
  const text = previewStackFileText(base, "Pulumi.staging.yaml", { base: "staging", pr: 7, tenants: ["acme"], edgePauseIds: { "eu-1": "abc" } });

  it("is the base's config and encryption salt with platform:preview added, so the base's secrets decrypt", () => {
    const copy = parse(text) as { encryptionsalt: string; config: Record<string, unknown> };
    const original = parse(base) as { encryptionsalt: string; config: Record<string, unknown> };
    expect(copy.encryptionsalt).toBe(original.encryptionsalt);
    const { "platform:preview": preview, ...rest } = copy.config;
    expect(rest).toEqual(original.config);
    expect(preview).toEqual({ base: "staging", pr: 7, tenants: ["acme"], edgePauseIds: { "eu-1": "abc" } });
  });

  it("loads as a preview stack; a base that is itself a preview is refused", () => {
    const root = mkdtempSync(path.join(tmpdir(), "preview-file-"));
    tempDirs.push(root);
    writeFileSync(path.join(root, "Pulumi.staging.yaml"), base);
    writeFileSync(path.join(root, "Pulumi.pr-7.yaml"), text);
    const loaded = loadStackFromFile(root, "pr-7");
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.stack?.preview).toMatchObject({ base: "staging", tenants: ["acme"], edgePauseIds: { "eu-1": "abc" } });
    expect(() => previewStackFileText(text, "Pulumi.pr-7.yaml", { base: "pr-7", pr: 8, tenants: ["acme"], edgePauseIds: {} })).toThrow(
      "Pulumi.pr-7.yaml is itself a preview's stack file",
    );
  });
});

describe("which tenants a pull request changes", () => {
  it("added and modified tenant files since the ref, committed or not; deleted ones and other files are not", () => {
    const repo = mkdtempSync(path.join(tmpdir(), "preview-git-"));
    tempDirs.push(repo);
    const git = (...args: string[]) => {
      const result = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: repo, encoding: "utf8" });
      if (result.status !== 0) throw new Error(result.stderr);
      return result.stdout.trim();
    };
    git("init", "-q", "-b", "main");
    mkdirSync(path.join(repo, "tenants"));
    for (const name of ["acme", "notes", "old", "same"]) writeFileSync(path.join(repo, "tenants", `${name}.yaml`), `name: ${name}\n`);
    git("add", ".");
    git("commit", "-q", "-m", "tenants");
    const since = git("rev-parse", "HEAD");
    writeFileSync(path.join(repo, "tenants", "acme.yaml"), "name: acme\n# changed\n");
    git("commit", "-q", "-am", "change acme");
    writeFileSync(path.join(repo, "tenants", "notes.yaml"), "name: notes\n# uncommitted\n");
    writeFileSync(path.join(repo, "tenants", "newco.yaml"), "name: newco\n");
    writeFileSync(path.join(repo, "tenants", "README.md"), "docs\n");
    rmSync(path.join(repo, "tenants", "old.yaml"));
    expect(changedTenants(repo, "tenants", since)).toEqual(["acme", "newco", "notes"]);
    expect(changedTenants(repo, "tenants", "HEAD")).toEqual(["newco", "notes"]);
  });
});

describe("a failed run names the tenant", () => {
  it("from the resource pulumi reports, or the tenant file a validation error names", () => {
    const up = "Diagnostics:\n  docker:index/container:Container (acme-web-0):\n    error: container exited\n  pulumi:pulumi:Stack (platform-pr-7):\n    error: update failed\n";
    expect(failingTenants(up, ["acme", "acme-shop", "notes"])).toEqual(["acme"]);
    expect(failingTenants("  command:local:Command (acme-shop-web-rollout):\n    error: timed out", ["acme", "acme-shop"])).toEqual(["acme-shop"]);
    expect(failingTenants("tenants/notes.yaml:4:5 services.web.port: 0 is too small", ["acme", "notes"])).toEqual(["notes"]);
    expect(failingTenants("error: no route to host", ["acme"])).toEqual([]);
  });
});
