import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./temp-dirs";
import { runSetImage } from "../cli/set-image";
import { minimalTenant } from "./validation-fixtures";

/** set-image on a project of its own: the fixture stack files (staging; production pins images) and tenants below. */

const ROOT = path.resolve(__dirname, "..");
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

/** Comments, blank lines, flow maps and every quoting style, each of which a re-serialised file would change. */
const SHOP = `# yaml-language-server: $schema=./schema.json
# Shop: commented on purpose, every line of it.

name: shop   # the tenant

services:
  # The storefront.
  web:
    image: registry.example.com/shop/web:1.0.0   # bumped by the app's CI
    port: 8080
    routes:
      - host: shop.example.org   # custom domain

  # Internal API, a flow map on purpose.
  api: { image: "registry.example.com/shop/api:2.0.0", port: 9000, routes: [] }  # quoted
  worker:
    image: 'registry.example.com/shop/worker:3.0.0'
    # a comment inside the service
database:
  postgres: { version: "16" }   # major

overrides:
  # staging runs a canary of the api
  staging:
    services:
      api:
        image: registry.example.com/shop/api:2.1.0-rc1   # canary
      web: { replicas: 1 }
# end of file
`;

const temps = tempDirs("platform-set-image-");

function project(tenants: Record<string, string> = { "shop.yaml": SHOP }): string {
  const root = temps.make();
  cpSync(path.join(__dirname, "fixtures", "stacks"), root, { recursive: true });
  mkdirSync(path.join(root, "tenants"));
  for (const [file, text] of Object.entries(tenants)) writeFileSync(path.join(root, "tenants", file), text);
  return root;
}

const tenantText = (root: string, name = "shop") => readFileSync(path.join(root, "tenants", `${name}.yaml`), "utf8");

/** Every file of the project, by name: what "nothing written" is checked against (no stray temporary file either). */
function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) files[path.relative(root, path.join(entry.parentPath, entry.name))] = readFileSync(path.join(entry.parentPath, entry.name), "utf8");
  return files;
}

/** `text` with `from` (which must occur exactly once) replaced: the only change a test allows. */
function replacedOnce(text: string, from: string, to: string): string {
  expect(text.split(from), `"${from}" occurs once`).toHaveLength(2);
  return text.replace(from, to);
}

const setImage = (root: string, ...args: string[]) => runSetImage(args, root);

describe("npm run set-image: one value changes, every other byte stays", () => {
  it("a plain value in a heavily commented file; the old → new line is printed", () => {
    const root = project();
    const result = setImage(root, "shop", "web", "registry.example.com/shop/web:1.1.0");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe("shop/web: registry.example.com/shop/web:1.0.0 → registry.example.com/shop/web:1.1.0");
    expect(tenantText(root)).toBe(replacedOnce(SHOP, "web:1.0.0   # bumped", "web:1.1.0   # bumped"));
  });

  it("a value inside a flow map keeps its double quotes and the map its layout; single quotes stay single", () => {
    const root = project();
    expect(setImage(root, "shop", "api", "registry.example.com/shop/api:2.2.0").exitCode).toBe(0);
    expect(setImage(root, "shop", "worker", "registry.example.com/shop/worker:3.1.0").exitCode).toBe(0);
    const expected = replacedOnce(
      replacedOnce(SHOP, `{ image: "registry.example.com/shop/api:2.0.0", port`, `{ image: "registry.example.com/shop/api:2.2.0", port`),
      `'registry.example.com/shop/worker:3.0.0'`,
      `'registry.example.com/shop/worker:3.1.0'`,
    );
    expect(tenantText(root)).toBe(expected);
  });

  it("an unquoted flow map `{ image: x, port: 8080 }`", () => {
    const flow = minimalTenant("flowy").replace(/ {2}web:\n[\s\S]*$/, "  web: { image: registry.example.com/flowy/web:1.0.0, port: 8080, routes: [] }\n");
    const root = project({ "flowy.yaml": flow });
    expect(setImage(root, "flowy", "web", "registry.example.com/flowy/web:1.0.1").exitCode).toBe(0);
    expect(tenantText(root, "flowy")).toBe(replacedOnce(flow, "web:1.0.0,", "web:1.0.1,"));
  });

  it("digests, with or without a tag", () => {
    const root = project();
    const withDigest = `registry.example.com/shop/web@${DIGEST}`;
    expect(setImage(root, "shop", "web", withDigest).exitCode).toBe(0);
    expect(tenantText(root)).toBe(replacedOnce(SHOP, "registry.example.com/shop/web:1.0.0", withDigest));
    const tagged = `registry.example.com/shop/web:1.1.0@${DIGEST}`;
    expect(setImage(root, "shop", "web", tagged).stdout).toContain(`${withDigest} → ${tagged}`);
    expect(tenantText(root)).toBe(replacedOnce(SHOP, "registry.example.com/shop/web:1.0.0", tagged));
  });

  it("the same image again writes nothing and says so", () => {
    const root = project();
    const result = setImage(root, "shop", "web", "registry.example.com/shop/web:1.0.0");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("shop/web: already registry.example.com/shop/web:1.0.0, nothing to change\n");
    expect(tenantText(root)).toBe(SHOP);
  });

  it("a base change that an override hides on some stack says which stack keeps its own image", () => {
    const result = setImage(project(), "shop", "api", "registry.example.com/shop/api:2.2.0");
    expect(result.stdout).toContain("note: stack staging keeps its own image registry.example.com/shop/api:2.1.0-rc1 (overrides.staging.services.api.image)");
  });
});

describe("--stack: the per-stack override (a canary)", () => {
  it("edits the override's image in place when it has one", () => {
    const root = project();
    const result = setImage(root, "shop", "api", "registry.example.com/shop/api:2.1.0-rc2", "--stack", "staging");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe("shop/api (stack staging): registry.example.com/shop/api:2.1.0-rc1 → registry.example.com/shop/api:2.1.0-rc2\n");
    expect(tenantText(root)).toBe(replacedOnce(SHOP, "api:2.1.0-rc1", "api:2.1.0-rc2"));
  });

  it("adds the image to an override written as a flow map, in flow style", () => {
    const root = project();
    const result = setImage(root, "shop", "web", "registry.example.com/shop/web:1.1.0-rc1", "--stack=staging");
    expect(result.exitCode, result.stderr).toBe(0);
    // Before the override existed, staging ran the base image: that is the "old" side.
    expect(result.stdout).toBe("shop/web (stack staging): registry.example.com/shop/web:1.0.0 → registry.example.com/shop/web:1.1.0-rc1\n");
    expect(tenantText(root)).toBe(replacedOnce(SHOP, "web: { replicas: 1 }", "web: { replicas: 1, image: registry.example.com/shop/web:1.1.0-rc1 }"));
  });

  it("creates the missing keys as a block after the last override, before the file's closing comment", () => {
    const root = project();
    expect(setImage(root, "shop", "worker", "registry.example.com/shop/worker:3.1.0", "--stack", "production").exitCode).toBe(0);
    expect(tenantText(root)).toBe(
      replacedOnce(SHOP, "      web: { replicas: 1 }\n", "      web: { replicas: 1 }\n  production:\n    services:\n      worker:\n        image: registry.example.com/shop/worker:3.1.0\n"),
    );
  });

  it("creates `overrides` itself at the end of a file without one, indented as the file is", () => {
    const fourSpaces = "name: plain\nservices:\n    web:\n        image: registry.example.com/plain/web:1.0.0\n        port: 8080\n        routes: []\n";
    const root = project({ "plain.yaml": fourSpaces });
    expect(setImage(root, "plain", "web", "registry.example.com/plain/web:latest", "--stack", "staging").exitCode).toBe(0);
    expect(tenantText(root, "plain")).toBe(`${fourSpaces}overrides:\n    staging:\n        services:\n            web:\n                image: registry.example.com/plain/web:latest\n`);
  });
});

describe("rollback: setting the previous image again restores the file byte for byte", () => {
  it("a base image", () => {
    const root = project();
    expect(setImage(root, "shop", "api", `registry.example.com/shop/api@${DIGEST}`).exitCode).toBe(0);
    expect(tenantText(root)).not.toBe(SHOP);
    const back = setImage(root, "shop", "api", "registry.example.com/shop/api:2.0.0");
    expect(back.stdout.split("\n")[0]).toBe(`shop/api: registry.example.com/shop/api@${DIGEST} → registry.example.com/shop/api:2.0.0`);
    expect(tenantText(root)).toBe(SHOP);
  });

  it("an override's image", () => {
    const root = project();
    expect(setImage(root, "shop", "api", "registry.example.com/shop/api:2.1.0-rc2", "--stack", "staging").exitCode).toBe(0);
    expect(setImage(root, "shop", "api", "registry.example.com/shop/api:2.1.0-rc1", "--stack", "staging").exitCode).toBe(0);
    expect(tenantText(root)).toBe(SHOP);
  });
});

describe("refused: exit 1 for an invalid result, 2 for misuse, and nothing written", () => {
  const STAGING_ONLY = minimalTenant("trial").replace("services:", "environments: [staging]\nservices:");

  const cases: { name: string; args: string[]; exitCode: 1 | 2; stderr: RegExp }[] = [
    { name: "a malformed reference", args: ["shop", "web", "Registry.example.com/Shop Web:1"], exitCode: 1, stderr: /^"Registry\.example\.com\/Shop Web:1" is not an image reference like .*; tenants\/shop\.yaml not changed\n$/ },
    { name: "a digest that is not 64 hex digits", args: ["shop", "web", "registry.example.com/shop/web@sha256:abc"], exitCode: 1, stderr: /is not an image reference/ },
    { name: "a value that would break the YAML, named on one line", args: ["shop", "web", "x:1\n    port: 1"], exitCode: 1, stderr: /^"x:1\\n {4}port: 1" is not an image reference[^\n]*\n$/ },
    { name: ":latest where production pins images", args: ["shop", "web", "registry.example.com/shop/web:latest"], exitCode: 1, stderr: /shop\.yaml:9:5 services\.web\.image: "registry\.example\.com\/shop\/web:latest" is not pinned: stack production requires a tag other than latest, or a digest\n.*not changed/ },
    { name: "an untagged image where production pins images", args: ["shop", "worker", "registry.example.com/shop/worker"], exitCode: 1, stderr: /is not pinned: stack production/ },
    { name: "an unknown tenant, with a hint", args: ["shpo", "web", "x/y:1"], exitCode: 2, stderr: /^set-image: unknown tenant "shpo" \(did you mean "shop"\? tenants: shop, trial\)\nusage: / },
    { name: "a tenant name that is a path", args: ["../tenants/shop", "web", "x/y:1"], exitCode: 2, stderr: /^set-image: unknown tenant "\.\.\/tenants\/shop"/ },
    { name: "an unknown service, with a hint", args: ["shop", "wbe", "x/y:1"], exitCode: 2, stderr: /^set-image: tenant shop has no service "wbe" \(did you mean "web"\? services: web, api, worker\)/ },
    { name: "an unknown stack", args: ["shop", "web", "x/y:1", "--stack", "stagin"], exitCode: 2, stderr: /^set-image: unknown stack "stagin" \(did you mean "staging"\?/ },
    { name: "a stack the tenant does not run on", args: ["trial", "web", "x/y:1", "--stack", "production"], exitCode: 2, stderr: /^set-image: tenant trial does not run on stack production \(environments: staging\)/ },
    { name: "a missing argument", args: ["shop", "web"], exitCode: 2, stderr: /^set-image: expected <tenant> <service> <image>, got 2 argument\(s\)\nusage: npm run set-image -- / },
    { name: "an extra argument", args: ["shop", "web", "x/y:1", "x/y:2"], exitCode: 2, stderr: /got 4 argument/ },
    { name: "an unknown option", args: ["shop", "web", "x/y:1", "--stage", "staging"], exitCode: 2, stderr: /^set-image: unknown option "--stage"/ },
    { name: "--stack without a value", args: ["shop", "web", "x/y:1", "--stack"], exitCode: 2, stderr: /^set-image: --stack needs a value/ },
    { name: "an option after -- is a value", args: ["--", "--root=/", "web", "x/y:1"], exitCode: 2, stderr: /^set-image: unknown tenant "--root=\/"/ },
  ];

  for (const { name, args, exitCode, stderr } of cases) {
    it(`${name}: exit ${exitCode}`, () => {
      const root = project({ "shop.yaml": SHOP, "trial.yaml": STAGING_ONLY });
      const before = snapshot(root);
      const result = runSetImage(args, root);
      expect(result.exitCode, result.stderr).toBe(exitCode);
      expect(result.stdout).toBe("");
      expect(result.stderr.replaceAll(root + path.sep, "")).toMatch(stderr);
      expect(snapshot(root)).toEqual(before);
    });
  }

  it(":latest is fine on a stack that does not pin images, for a tenant only there or as a staging override", () => {
    const root = project({ "shop.yaml": SHOP, "trial.yaml": STAGING_ONLY });
    expect(runSetImage(["trial", "web", "registry.example.com/trial/web:latest"], root).exitCode).toBe(0);
    expect(runSetImage(["shop", "web", "registry.example.com/shop/web:latest", "--stack", "staging"], root).exitCode).toBe(0);
  });

  it("a tenant file that is already broken YAML is not touched", () => {
    const broken = SHOP.replace("    port: 8080\n", "   port: 8080\n");
    const root = project({ "shop.yaml": broken });
    const result = runSetImage(["shop", "web", "registry.example.com/shop/web:1.1.0"], root);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/shop\.yaml:\d+:\d+ \(yaml\): .*\n.*cannot be edited until it is valid YAML/);
    expect(tenantText(root)).toBe(broken);
  });

  it("a value shared through a YAML anchor is not changed for its other users", () => {
    const anchored = minimalTenant("anchors").replace("image: registry.example.com/anchors/web:1.0.0", "image: &img registry.example.com/anchors/web:1.0.0") +
      "  worker:\n    image: *img\n";
    const root = project({ "anchors.yaml": anchored });
    const result = runSetImage(["anchors", "web", "registry.example.com/anchors/web:1.1.0"], root);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/services\.web\.image: changing this value here would change other values too/);
    expect(tenantText(root, "anchors")).toBe(anchored);
    // The alias's user gets its own value; the anchor stays.
    expect(runSetImage(["anchors", "worker", "registry.example.com/anchors/worker:1.0.0"], root).exitCode).toBe(0);
    expect(tenantText(root, "anchors")).toBe(replacedOnce(anchored, "image: *img", "image: registry.example.com/anchors/worker:1.0.0"));
  });

  it("another tenant that is invalid blocks the write too: the repo must validate as a whole", () => {
    const root = project({ "shop.yaml": SHOP, "other.yaml": minimalTenant("other").replace("port: 8080", "port: 0") });
    const result = runSetImage(["shop", "web", "registry.example.com/shop/web:1.1.0"], root);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/other\.yaml:\d+:\d+ services\.web\.port: /);
    expect(tenantText(root)).toBe(SHOP);
  });
});

describe("the command itself", () => {
  const cli = (root: string, ...args: string[]) =>
    spawnSync(path.join(ROOT, "node_modules", ".bin", "tsx"), [path.join(ROOT, "cli", "set-image.ts"), "--root", root, ...args], { encoding: "utf8" });

  it("exits with the documented codes and one-line messages, never a stack trace", { timeout: 60_000 }, () => {
    const root = project();
    const written = cli(root, "shop", "web", "registry.example.com/shop/web:1.1.0");
    expect([written.status, written.stdout]).toEqual([0, "shop/web: registry.example.com/shop/web:1.0.0 → registry.example.com/shop/web:1.1.0\n"]);
    const invalid = cli(root, "shop", "web", "not a reference");
    expect(invalid.status).toBe(1);
    expect(invalid.stderr.trim().split("\n")).toHaveLength(1);
    const usage = cli(root, "nobody", "web", "x/y:1");
    expect(usage.status).toBe(2);
    const missingRoot = cli(path.join(root, "nowhere"), "shop", "web", "x/y:1");
    expect(missingRoot.status).toBe(2);
    expect(missingRoot.stderr).toMatch(/^set-image: no tenants\/ directory in /);
    for (const run of [invalid, usage, missingRoot]) expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("package.json runs it as `npm run set-image`", () => {
    const scripts = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts["set-image"]).toBe("tsx cli/set-image.ts");
  });
});
