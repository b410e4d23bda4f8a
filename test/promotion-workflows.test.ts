import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./temp-dirs";
import { parse } from "yaml";
import { workflow, type Job, type Step, type Workflow } from "./workflow-files";
import { git, LAND_SCRIPT, platformRemote, ROOT, run } from "./git-remote-fixture";

/** The image-published workflow, deploy.yml's emergency deploy, and the application side as docs/promotion.md shows it. */

const stepIndex = (job: Job, match: (s: Step) => boolean) => job.steps.findIndex(match);

const temps = tempDirs("promotion-workflows-");
const tempDir = temps.make;

/** A stand-in `gh` on PATH: prints $FAKE_GH_OUT (or fails when it is empty) and records its arguments. */
function fakeGh(): { bin: string; calls: string } {
  const dir = tempDir();
  const bin = path.join(dir, "bin");
  mkdirSync(bin);
  const calls = path.join(dir, "gh-calls");
  writeFileSync(path.join(bin, "gh"), `#!/bin/sh\necho "$*" >> "${calls}"\n[ -n "$FAKE_GH_OUT" ] || exit 1\necho "$FAKE_GH_OUT"\n`);
  chmodSync(path.join(bin, "gh"), 0o755);
  return { bin, calls };
}

describe("image published (.github/workflows/image-published.yml)", () => {
  const { on, permissions, jobs } = workflow("image-published.yml");
  const promote = jobs["promote"]!;
  const landing = promote.steps.at(-1)!;

  it("runs on the dispatch type image-published, reading only contents with its own token", () => {
    expect(on).toEqual({ repository_dispatch: { types: ["image-published"] } });
    expect(permissions).toEqual({ contents: "read" });
    expect(Object.keys(jobs)).toEqual(["promote"]);
  });

  it("the payload fields reach the scripts through env only, never spelled into a script", () => {
    expect(promote.env).toEqual({
      TENANT: "${{ github.event.client_payload.tenant }}",
      SERVICE: "${{ github.event.client_payload.service }}",
      IMAGE: "${{ github.event.client_payload.image }}",
    });
    for (const step of promote.steps) expect(step.run ?? "", step.name).not.toContain("${{");
  });

  it("one run per tenant and service at a time, never cancelled once running", () => {
    expect(promote.concurrency).toEqual({
      group: "image-published-${{ github.event.client_payload.tenant }}-${{ github.event.client_payload.service }}",
      "cancel-in-progress": false,
    });
  });

  it("checks the payload before installing anything; the App's token is made after npm ci and given to the landing step only", () => {
    const checkout = promote.steps[0]!;
    expect(checkout.uses).toMatch(/^actions\/checkout@/);
    expect(checkout.with).toEqual({ ref: "main", "persist-credentials": false });
    const check = stepIndex(promote, (s) => s.run === "bash scripts/land-image-change.sh --check");
    const install = stepIndex(promote, (s) => s.run?.startsWith("npm ci") ?? false);
    const token = stepIndex(promote, (s) => s.uses?.startsWith("actions/create-github-app-token@") ?? false);
    expect(check).toBe(1);
    expect(install).toBeGreaterThan(check);
    expect(token).toBeGreaterThan(install);
    expect(promote.steps[token]!.with).toEqual({
      "app-id": "${{ vars.PROMOTION_APP_ID }}",
      "private-key": "${{ secrets.PROMOTION_APP_PRIVATE_KEY }}",
      "permission-contents": "write",
    });
    expect(stepIndex(promote, (s) => s === landing)).toBe(token + 1);
    expect(landing.env).toEqual({ GH_TOKEN: `\${{ steps.${promote.steps[token]!.id}.outputs.token }}`, APP_SLUG: `\${{ steps.${promote.steps[token]!.id}.outputs.app-slug }}` });
    const withToken = promote.steps.filter((s) => JSON.stringify(s).includes(".outputs.token"));
    expect(withToken).toEqual([landing]);
  });

  it("the App's secrets are in docs/pipeline.md's table", () => {
    const table = readFileSync(path.join(ROOT, "docs", "pipeline.md"), "utf8");
    expect(table).toContain("| variable | `PROMOTION_APP_ID` |");
    expect(table).toContain("| secret | `PROMOTION_APP_PRIVATE_KEY` |");
  });

  it("the deploy workflow runs on the App's push to main", () => {
    expect(workflow("deploy.yml").on["push"]).toEqual({ branches: ["main"] });
  });

  it("the landing step commits as the App's bot user, pushes with its token without writing it to disk", { timeout: 60_000 }, async () => {
    const { remote, clones, base, dir } = platformRemote(1);
    temps.track(dir);
    const gh = fakeGh();
    expect(landing.run).toContain("\nbash scripts/land-image-change.sh\n");
    const script = landing.run!.replace("\nbash scripts/land-image-change.sh\n", `\nbash ${LAND_SCRIPT}\n`);
    const result = await run("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], clones[0]!, {
      PATH: `${gh.bin}:${process.env["PATH"]}`,
      FAKE_GH_OUT: "4242",
      GH_TOKEN: "ghs_exampletoken",
      APP_SLUG: "acme-promotion",
      GITHUB_SERVER_URL: "https://github.example",
      GITHUB_ACTIONS: "",
      GITHUB_RUN_ID: "",
      TENANT: "notes",
      SERVICE: "backend",
      IMAGE: "registry.example.com/notes/backend:0.9.1",
    });
    expect(result.status, result.output).toBe(0);
    expect(readFileSync(gh.calls, "utf8")).toBe("api /users/acme-promotion%5Bbot%5D --jq .id\n");
    expect(git(remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "main")).toBe(
      "acme-promotion[bot] <4242+acme-promotion[bot]@users.noreply.github.com>|acme-promotion[bot] <4242+acme-promotion[bot]@users.noreply.github.com>|" +
        "Promote notes/backend: registry.example.com/notes/backend:0.9.0 → registry.example.com/notes/backend:0.9.1",
    );
    expect(git(remote, "rev-parse", "main~1")).toBe(base);
    expect(readFileSync(path.join(clones[0]!, ".git", "config"), "utf8")).not.toMatch(/extraheader|ghs_exampletoken/);
  });
});

describe("emergency deploy (deploy.yml, workflow_dispatch)", () => {
  const { on, jobs } = workflow("deploy.yml");
  const check = jobs["check"]!;
  const guardIndex = stepIndex(check, (s) => s.name === "An emergency deploy names a commit of main");
  const guard = check.steps[guardIndex]!;
  const SHA = "3f2c1e0d9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d";

  it("takes a required input `ref` and checks it first, before any checkout, only when dispatched", () => {
    expect(on["workflow_dispatch"]).toMatchObject({ inputs: { ref: { required: true, type: "string" } } });
    expect(guardIndex).toBe(0);
    expect(guard.if).toBe("github.event_name == 'workflow_dispatch'");
    expect(guard.env).toEqual({ GH_TOKEN: "${{ github.token }}" });
    expect(guard.run).not.toContain("${{");
  });

  it("goes to production only, through the same preview and the same approval on the previewed plan", () => {
    expect(jobs["staging"]!.if).toBe("github.event_name == 'push'");
    const preview = jobs["production-preview"]!;
    expect(preview.needs).toEqual(["check", "staging"]);
    expect(preview.if).toBe(
      "!cancelled() && needs.check.result == 'success' && (needs.staging.outputs.newest == 'true' || (github.event_name == 'workflow_dispatch' && needs.staging.result == 'skipped'))",
    );
    expect(preview.steps.map((s) => s.run ?? "").join("\n")).toContain("**Emergency deploy** started by @$GITHUB_ACTOR");
    const production = jobs["production"]!;
    expect(production.needs).toBe("production-preview");
    expect(production.environment).toBe("production");
    expect(production.if).toBeUndefined();
    const up = production.steps.find((s) => s.run?.includes("pulumi up"))!;
    expect(up.if).toBeUndefined();
    expect(up.run).toContain("--plan production-plan.json");
  });

  describe("the check refuses anything but a commit of main", () => {
    const dispatch = (env: Record<string, string>) => {
      const gh = fakeGh();
      const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", guard.run!], {
        env: { PATH: `${gh.bin}:${process.env["PATH"]}`, GITHUB_REF: "refs/heads/main", GITHUB_REPOSITORY: "example/platform", DEPLOY_SHA: SHA, ...env },
        encoding: "utf8",
      });
      const calls = (() => {
        try {
          return readFileSync(gh.calls, "utf8");
        } catch {
          return "";
        }
      })();
      return { status: result.status, output: `${result.stdout}${result.stderr}`, calls };
    };

    it("a commit behind main's tip, or its tip: accepted", () => {
      for (const status of ["behind", "identical"]) {
        const result = dispatch({ FAKE_GH_OUT: status });
        expect(result.status, result.output).toBe(0);
        expect(result.output).toContain(`::notice::emergency deploy of ${SHA} to production; staging stays as it is`);
        expect(result.calls).toBe(`api repos/example/platform/compare/main...${SHA} --jq .status\n`);
      }
    });

    it("a commit ahead of main or diverged from it (a branch): refused", () => {
      for (const status of ["ahead", "diverged"]) {
        const result = dispatch({ FAKE_GH_OUT: status });
        expect(result.status).toBe(1);
        expect(result.output).toContain(`::error::commit ${SHA} is not on main (it is ${status} of main)`);
      }
    });

    it("a commit GitHub does not know: refused", () => {
      const result = dispatch({ FAKE_GH_OUT: "" });
      expect(result.status).toBe(1);
      expect(result.output).toContain(`::error::commit ${SHA} is not in this repository`);
    });

    it("a short SHA, a branch name or a crafted value: refused before asking GitHub, and never run", () => {
      const marker = path.join(tempDir(), "ran");
      for (const ref of [SHA.slice(0, 7), "main", `${SHA}$(touch ${marker})`, `${SHA}\n::warning::x`]) {
        const result = dispatch({ DEPLOY_SHA: ref, FAKE_GH_OUT: "behind" });
        expect(result.status, ref).toBe(1);
        expect(result.output).toBe("::error::the input ref must be the full 40-character SHA of a commit of main\n");
        expect(result.calls).toBe("");
      }
      expect(() => readFileSync(marker)).toThrow();
    });

    it("a run started from another branch's workflow file: refused", () => {
      const result = dispatch({ GITHUB_REF: "refs/heads/hotfix", FAKE_GH_OUT: "behind" });
      expect(result.status).toBe(1);
      expect(result.output).toContain("::error::start an emergency deploy from main");
    });
  });
});

describe("docs/promotion.md: the application side", () => {
  const docs = readFileSync(path.join(ROOT, "docs", "promotion.md"), "utf8");
  const snippet = /`\.github\/workflows\/release\.yml` in the application repository[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs)?.[1];

  it("the release workflow snippet passes actionlint", { timeout: 300_000 }, () => {
    expect(snippet).toBeDefined();
    const dir = tempDir();
    writeFileSync(path.join(dir, "release.yml"), snippet!);
    const result = spawnSync("bash", [path.join(ROOT, "scripts", "lint-workflows.sh"), dir], { cwd: ROOT, encoding: "utf8" });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });

  it("it sends exactly the fixed payload: event image-published with tenant, service and image", () => {
    const release = parse(snippet!) as Workflow;
    const step = release.jobs["image"]!.steps.find((s) => s.run?.includes("dispatches"))!;
    expect(step.run).not.toContain("${{");
    const jq = /jq -n --arg image "\$IMAGE" \\\n\s+'([^']+)'/.exec(step.run!)?.[1];
    const built = spawnSync("jq", ["-n", "--arg", "image", "ghcr.io/acme/web@sha256:abc", jq!], { encoding: "utf8" });
    expect(built.status, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout)).toEqual({ event_type: "image-published", client_payload: { tenant: "acme", service: "web", image: "ghcr.io/acme/web@sha256:abc" } });
    expect(step.run).toMatch(/gh api --method POST "repos\/<owner>\/<platform>\/dispatches" --input -/);
  });
});
