import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "lint-workflows.sh");
/** The first run builds actionlint from its Go module. */
const BUILD_TIMEOUT = 300_000;

function lint(dir?: string) {
  const result = spawnSync("bash", [SCRIPT, ...(dir ? [dir] : [])], { cwd: ROOT, encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("GitHub Actions workflows pass actionlint", () => {
  it("every file in .github/workflows", { timeout: BUILD_TIMEOUT }, () => {
    const { status, output } = lint();
    expect(output).toMatch(/workflow\(s\) clean \(actionlint v1\.7\.12\)/);
    expect(status, output).toBe(0);
  });

  it("a workflow with a typo fails, so the check above cannot pass vacuously", { timeout: BUILD_TIMEOUT }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflows-"));
    try {
      fs.writeFileSync(path.join(dir, "broken.yml"), `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-deph: 1
      - run: echo "\${{ github.event.pull_request.nmber }}"
        timeout-minute: 5
`);
      const { status, output } = lint(dir);
      expect(status).toBe(1);
      expect(output).toContain('input "fetch-deph" is not defined');
      expect(output).toContain('unexpected key "timeout-minute"');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface Job {
  needs?: string | string[];
  if?: string;
  environment?: string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  permissions?: Record<string, string>;
  steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
}
const workflow = (name: string) => parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", name), "utf8")) as { jobs: Record<string, Job> };

describe("the pipeline's rules", () => {
  it("pull requests: only this repository's branches reach the preview environment and post one sticky comment", () => {
    const { preview } = workflow("pull-request.yml").jobs;
    expect(preview!.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    expect(preview!.environment).toBe("preview");
    expect(preview!.needs).toBe("check");
    const runs = preview!.steps.map((s) => s.run ?? "").join("\n");
    expect(runs).toContain("pulumi preview --stack \"$stack\" --json");
    expect(runs).toContain("npm run -s summarize --");
    const sticky = preview!.steps.filter((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@"));
    expect(sticky).toHaveLength(1);
    expect(sticky[0]!.with).toMatchObject({ header: "platform-preview", path: "comment.md" });
  });

  it("deploy: staging, then production behind its environment; one deployment per stack, never cancelled", () => {
    const { staging, production } = workflow("deploy.yml").jobs;
    expect(production!.needs).toBe("staging");
    expect(production!.environment).toBe("production");
    expect(staging!.concurrency).toEqual({ group: "deploy-staging", "cancel-in-progress": false });
    expect(production!.concurrency).toEqual({ group: "deploy-production", "cancel-in-progress": false });
    expect(production!.steps.map((s) => s.run ?? "").join("\n")).toContain("pulumi up --stack production --yes");
  });

  it("secrets reach steps through env, never spelled into a script", () => {
    for (const name of ["pull-request.yml", "deploy.yml"]) {
      for (const job of Object.values(workflow(name).jobs)) {
        for (const step of job.steps) expect(step.run ?? "").not.toContain("secrets.");
      }
    }
  });
});
