import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./temp-dirs";
import { workflow, workflowText, type Job, type Step, type Workflow } from "./workflow-files";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "lint-workflows.sh");
const FIXTURES = path.join(ROOT, "test", "fixtures", "preview");
/** The first run builds actionlint from its Go module. */
const BUILD_TIMEOUT = 300_000;

function lint(dir?: string) {
  const result = spawnSync("bash", [SCRIPT, ...(dir ? [dir] : [])], { cwd: ROOT, encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const tempDir = tempDirs("workflows-").make;

describe("GitHub Actions workflows pass actionlint", () => {
  it("every file in .github/workflows", { timeout: BUILD_TIMEOUT }, () => {
    const { status, output } = lint();
    expect(output).toMatch(/workflow\(s\) clean \(actionlint v1\.7\.12\)/);
    expect(status, output).toBe(0);
  });

  it("a workflow with a typo fails, so the check above cannot pass vacuously", { timeout: BUILD_TIMEOUT }, () => {
    const dir = tempDir();
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
  });
});

const WORKFLOWS = ["pull-request.yml", "deploy.yml"] as const;
const allJobs = () => WORKFLOWS.flatMap((file) => Object.entries(workflow(file).jobs).map(([id, job]) => ({ file, id, job })));
const runs = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n");
/** `npm run converge` runs pulumi too (stack export, import, cancel). */
const PULUMI_COMMAND = /\bpulumi (preview|up|refresh|destroy|stack|config)\b|\bnpm run -s converge\b/;
const runsPulumi = (job: Job) => PULUMI_COMMAND.test(runs(job));
const stepIndex = (job: Job, match: (s: Step) => boolean) => job.steps.findIndex(match);
const docs = () => fs.readFileSync(path.join(ROOT, "docs", "pipeline.md"), "utf8");

describe("required status checks", () => {
  it("every job has an explicit name, unique across the workflows", () => {
    const names = allJobs().map(({ file, id, job }) => {
      expect(job.name, `${file} job ${id}`).toMatch(/\S/);
      return job.name;
    });
    expect(new Set(names).size).toBe(names.length);
  });

  it("the checks docs/pipeline.md says to require are the names GitHub shows for jobs that run on every pull request", () => {
    const line = docs().match(/^Required status checks: (.+)\.$/m);
    expect(line, "docs/pipeline.md lists the required checks on one line").not.toBeNull();
    const required = [...line![1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const { jobs } = workflow("pull-request.yml");
    expect(required).toEqual([jobs["check"]!.name, jobs["preview"]!.name]);
    // A job skipped by its `if:` reports success, so a required job must never be skipped.
    for (const name of required) {
      const job = Object.values(jobs).find((j) => j.name === name)!;
      expect(job.if, name).toBeUndefined();
    }
  });
});

const BACKEND_ENV = {
  PULUMI_BACKEND_URL: "${{ vars.PULUMI_BACKEND_URL }}",
  PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
  AWS_ACCESS_KEY_ID: "${{ secrets.AWS_ACCESS_KEY_ID }}",
  AWS_SECRET_ACCESS_KEY: "${{ secrets.AWS_SECRET_ACCESS_KEY }}",
  AWS_REGION: "${{ vars.AWS_REGION }}",
  AWS_ENDPOINT_URL_S3: "${{ vars.AWS_ENDPOINT_URL_S3 }}",
  PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
};

describe("state backend credentials", () => {
  it("every job that runs pulumi gets both backends' credentials and checks them before its first pulumi command", () => {
    const pulumiJobs = allJobs().filter(({ job }) => runsPulumi(job));
    expect(pulumiJobs.map(({ id }) => id).sort()).toEqual(["preview", "production", "production-preview", "staging"]);
    for (const { file, id, job } of pulumiJobs) {
      expect(job.env, `${file} ${id}`).toMatchObject(BACKEND_ENV);
      const credentials = stepIndex(job, (s) => s.run === "bash scripts/pipeline-credentials.sh");
      expect(credentials, `${file} ${id}`).toBeGreaterThan(-1);
      expect(job.steps[credentials]!.env).toEqual({ DEPLOY_SSH_KEY: "${{ secrets.DEPLOY_SSH_KEY }}", SSH_KNOWN_HOSTS: "${{ secrets.SSH_KNOWN_HOSTS }}" });
      expect(credentials).toBeLessThan(stepIndex(job, (s) => PULUMI_COMMAND.test(s.run ?? "")));
    }
  });

  it("jobs that run no pulumi see no secret", () => {
    for (const { file, id, job } of allJobs().filter(({ job }) => !runsPulumi(job))) {
      expect(JSON.stringify(job), `${file} ${id}`).not.toMatch(/secrets\./);
    }
  });

  it("secrets reach steps through env, never spelled into a script", () => {
    for (const { job } of allJobs()) for (const step of job.steps) expect(step.run ?? "").not.toMatch(/secrets\.|vars\./);
  });

  it("every secret and variable the workflows read is in docs/pipeline.md's table, as the same kind", () => {
    const table = docs();
    const read = new Set(WORKFLOWS.flatMap((file) => [...workflowText(file).matchAll(/\b(secrets|vars)\.([A-Z0-9_]+)/g)].map((m) => `${m[1]}.${m[2]}`)));
    expect(read.size).toBeGreaterThanOrEqual(9);
    for (const entry of read) {
      const [kind, name] = entry.split(".") as [string, string];
      expect(table, entry).toContain(`| ${kind === "secrets" ? "secret" : "variable"} | \`${name}\` |`);
    }
  });

  describe("scripts/pipeline-credentials.sh", () => {
    const credentials = (env: Record<string, string>) => {
      const home = tempDir();
      const result = spawnSync("bash", [path.join(ROOT, "scripts", "pipeline-credentials.sh")], {
        env: { PATH: process.env["PATH"]!, HOME: home, ...env },
        encoding: "utf8",
      });
      return { status: result.status, output: `${result.stdout}${result.stderr}`, home };
    };
    const missing = (output: string) => [...output.matchAll(/missing ([A-Z0-9_]+)/g)].map((m) => m[1]).sort();
    const SSH = { DEPLOY_SSH_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material\n-----END OPENSSH PRIVATE KEY-----", SSH_KNOWN_HOSTS: "prod-1.example.net ssh-ed25519 AAAAC3Nz" };

    it("an s3:// backend names each missing AWS value, the passphrase and the SSH values, and writes nothing", () => {
      const { status, output, home } = credentials({ PULUMI_BACKEND_URL: "s3://platform-state" });
      expect(status).toBe(1);
      expect(missing(output)).toEqual(["AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_SECRET_ACCESS_KEY", "DEPLOY_SSH_KEY", "PULUMI_CONFIG_PASSPHRASE", "SSH_KNOWN_HOSTS"]);
      expect(output).toContain("docs/pipeline.md");
      expect(fs.existsSync(path.join(home, ".ssh"))).toBe(false);
    });

    it("without a backend URL (Pulumi Cloud) the access token is what is missing, not AWS keys", () => {
      const { status, output } = credentials({ PULUMI_CONFIG_PASSPHRASE: "p", ...SSH });
      expect(status).toBe(1);
      expect(missing(output)).toEqual(["PULUMI_ACCESS_TOKEN"]);
    });

    it("complete credentials install the key (owner-only) and the known hosts, and print no value", () => {
      const env = {
        PULUMI_BACKEND_URL: "s3://platform-state?endpoint=https://s3.example.net&use_path_style=true&region=us-east-1",
        AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "very-secret-key",
        PULUMI_CONFIG_PASSPHRASE: "very-secret-passphrase",
        ...SSH,
      };
      const { status, output, home } = credentials(env);
      expect(status, output).toBe(0);
      const key = path.join(home, ".ssh", "id_ed25519");
      expect(fs.readFileSync(key, "utf8")).toBe(`${SSH.DEPLOY_SSH_KEY}\n`);
      expect(fs.statSync(key).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path.join(home, ".ssh", "known_hosts"), "utf8")).toBe(`${SSH.SSH_KNOWN_HOSTS}\n`);
      for (const secret of ["very-secret-key", "very-secret-passphrase", "key-material"]) expect(output).not.toContain(secret);
    });
  });
});

describe("pull requests", () => {
  const { jobs, ...top } = workflow("pull-request.yml");
  const preview = jobs["preview"]!;

  it("a fork's pull request fails the preview at its first step, before any checkout or credential", () => {
    expect(preview.needs).toBe("check");
    expect(preview.environment).toBe("preview");
    const first = preview.steps[0]!;
    expect(first.if).toBe("github.event.pull_request.head.repo.full_name != github.repository");
    expect(first.run).toMatch(/exit 1\s*$/);
    expect(first.uses).toBeUndefined();
    expect(first.env).toBeUndefined();
  });

  it("the preview posts one sticky comment built from both stacks' previews, then fails on the verdict", () => {
    const script = runs(preview);
    expect(script).toContain('pulumi preview --stack "$stack" --json --show-sames');
    expect(script).toContain("bash scripts/preview-comment.sh staging production");
    const sticky = stepIndex(preview, (s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@") ?? false);
    expect(preview.steps[sticky]!.with).toMatchObject({ header: "platform-preview", path: "comment.md" });
    const verdict = stepIndex(preview, (s) => s.run?.includes("verdict.txt") ?? false);
    expect(verdict).toBe(preview.steps.length - 1);
    expect(sticky).toBeLessThan(verdict);
  });

  it("a push removes dangerous-change-ok at once, uncancelled, and the push's own preview ignores the label", () => {
    const withdraw = jobs["withdraw-acknowledgement"]!;
    expect(withdraw.if).toMatch(/github\.event\.action == 'synchronize'/);
    expect(withdraw.if).toContain("contains(github.event.pull_request.labels.*.name, 'dangerous-change-ok')");
    expect(withdraw.needs).toBeUndefined();
    expect(withdraw.permissions).toEqual({ "pull-requests": "write" });
    expect(withdraw.steps.some((s) => s.uses?.startsWith("actions/checkout"))).toBe(false);
    expect(runs(withdraw)).toContain('gh api --method DELETE "repos/$GITHUB_REPOSITORY/issues/$PR/labels/dangerous-change-ok"');
    // A newer run may cancel the checks and the preview, never the withdrawal.
    expect(top.concurrency).toBeUndefined();
    expect(withdraw.concurrency).toBeUndefined();
    const comment = preview.steps.find((s) => s.run?.startsWith("bash scripts/preview-comment.sh"))!;
    expect(comment.env!["ACKNOWLEDGED"]).toMatch(/^\$\{\{ github\.event\.action != 'synchronize' && github\.event\.action != 'reopened' && contains\(github\.event\.pull_request\.labels\.\*\.name, 'dangerous-change-ok'\) \}\}$/);
  });

  describe("scripts/preview-comment.sh: the comment names the commit an acknowledgement covers", () => {
    const SHA = "3f2c1e0d9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
    const comment = (previews: Record<string, { fixture: string | null; rc: number }>, env: Record<string, string>) => {
      const dir = tempDir();
      for (const [stack, { fixture, rc }] of Object.entries(previews)) {
        fs.writeFileSync(path.join(dir, `preview-${stack}.json`), fixture ? fs.readFileSync(path.join(FIXTURES, fixture)) : "");
        fs.writeFileSync(path.join(dir, `preview-${stack}.rc`), `${rc}\n`);
      }
      const result = spawnSync("bash", [path.join(ROOT, "scripts", "preview-comment.sh"), ...Object.keys(previews)], {
        cwd: dir,
        env: { ...process.env, HEAD_SHA: SHA, DOCS_BASE: "https://example.test/blob/x/", GITHUB_STEP_SUMMARY: "" , ...env },
        encoding: "utf8",
      });
      expect(result.status, result.stderr).toBe(0);
      const verdict = fs.readFileSync(path.join(dir, "verdict.txt"), "utf8").split("\n").filter(Boolean);
      return { text: fs.readFileSync(path.join(dir, "comment.md"), "utf8"), verdict };
    };

    it("after a push: the label was withdrawn, a new one is needed for this commit, and the check fails; a failed preview counts as failed, not as dangerous", { timeout: 60_000 }, () => {
      const { text, verdict } = comment(
        { staging: { fixture: "failed-protected-volume-delete.json", rc: 255 }, production: { fixture: "database-volume-deleted.json", rc: 0 } },
        { ACKNOWLEDGED: "false", WITHDRAWN: "true" },
      );
      expect(text).toMatch(/^<!-- platform-preview -->/);
      expect(text).toContain(`Dangerous changes in \`production\` need a new acknowledgement`);
      expect(text).toContain(`removed when ${SHA} was pushed`);
      expect(text).toContain(`acknowledges commit\n${SHA} only`);
      expect(text).not.toContain("Dangerous changes in `staging`");
      expect(text).toContain("### Pulumi preview: stack");
      expect(verdict).toHaveLength(2);
      expect(verdict[0]).toMatch(/^the preview of staging failed \(pulumi preview exited 255\)/);
      expect(verdict[1]).toContain(`dangerous changes planned in production and not acknowledged for ${SHA}`);
    });

    it("with the label added after the last push: acknowledged for this commit, and the check passes", { timeout: 60_000 }, () => {
      const { text, verdict } = comment({ production: { fixture: "database-volume-deleted.json", rc: 0 } }, { ACKNOWLEDGED: "true", WITHDRAWN: "false" });
      expect(text).toContain(`Dangerous changes in \`production\`: acknowledged for commit ${SHA}`);
      expect(text).toContain("the next push removes the label");
      expect(verdict).toEqual([]);
    });

    it("an unreadable preview fails the check; nothing dangerous means no acknowledgement text", { timeout: 60_000 }, () => {
      const { text, verdict } = comment(
        { staging: { fixture: "plain-change.json", rc: 0 }, production: { fixture: null, rc: 0 } },
        { ACKNOWLEDGED: "false", WITHDRAWN: "false" },
      );
      expect(text).toContain("The preview of production produced no readable result");
      expect(text).not.toContain("dangerous-change-ok`");
      expect(verdict).toEqual(["the preview of production produced no readable result: see the job log"]);
    });
  });
});

describe("deploying", () => {
  const { jobs } = workflow("deploy.yml");
  const { staging, production } = jobs;
  const productionPreview = jobs["production-preview"]!;

  it("every job checks out exactly the commit the run deploys: the pushed one, or the one an emergency deploy names", () => {
    expect((workflow("deploy.yml") as Workflow & { env?: Record<string, string> }).env).toEqual({ DEPLOY_SHA: "${{ inputs.ref || github.sha }}" });
    for (const [id, job] of Object.entries(jobs)) {
      const checkouts = job.steps.filter((s) => s.uses?.startsWith("actions/checkout@"));
      expect(checkouts, id).toHaveLength(1);
      expect(checkouts[0]!.with, id).toEqual({ ref: "${{ env.DEPLOY_SHA }}" });
    }
  });

  it("staging, then production's preview without reviewers, its summary in the run, right before the gated job", () => {
    expect(staging!.needs).toBe("check");
    expect(productionPreview.needs).toEqual(["check", "staging"]);
    expect(productionPreview.environment).toBe("preview");
    expect(production!.needs).toBe("production-preview");
    expect(production!.environment).toBe("production");
    const script = runs(productionPreview);
    expect(script).toContain("pulumi preview --stack production --json --show-sames --save-plan production-plan.json");
    expect(script).toMatch(/echo "## Production preview of \\`\$DEPLOY_SHA\\`"[\s\S]*npm run -s summarize -- [^\n]*preview-production\.json[\s\S]*>> "\$GITHUB_STEP_SUMMARY"/);
  });

  it("the gated up applies the previewed plan and nothing else", () => {
    const upload = productionPreview.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
    const download = production!.steps.find((s) => s.uses?.startsWith("actions/download-artifact@"))!;
    expect(download.with!["name"]).toBe(upload.with!["name"]);
    expect(upload.with!["path"]).toBe("production-plan.json");
    const up = runs(production!);
    expect(up).toContain("pulumi up --stack production --plan production-plan.json --continue-on-error --yes --non-interactive");
    expect(up).not.toContain("--expect-no-changes");
    expect(stepIndex(production!, (s) => s === download)).toBeLessThan(stepIndex(production!, (s) => s.run?.includes("pulumi up") ?? false));
  });

  it("one deployment per stack, never cancelled; production's preview and up share a group", () => {
    expect(staging!.concurrency).toEqual({ group: "deploy-staging", "cancel-in-progress": false });
    expect(productionPreview.concurrency).toEqual({ group: "deploy-production", "cancel-in-progress": false });
    expect(production!.concurrency).toEqual({ group: "deploy-production", "cancel-in-progress": false });
  });

  it("production deploys only main's newest commit: superseded runs stop after staging, a late approval deploys nothing", () => {
    const newest = staging!.steps.find((s) => s.id === "newest")!;
    expect(newest.run).toContain("git ls-remote origin refs/heads/main");
    expect(staging!.outputs).toEqual({ newest: "${{ steps.newest.outputs.newest }}" });
    expect(productionPreview.if).toMatch(/^!cancelled\(\) && needs\.check\.result == 'success' && \(needs\.staging\.outputs\.newest == 'true' \|\| /);
    const guard = stepIndex(production!, (s) => s.run?.includes('[ "$tip" != "$GITHUB_SHA" ]') ?? false);
    expect(guard).toBeGreaterThan(-1);
    // Skipped only by an emergency deploy (test/promotion-workflows.test.ts), which names its commit on purpose.
    expect(production!.steps[guard]!.if).toBe("github.event_name == 'push'");
    expect(guard).toBeLessThan(stepIndex(production!, (s) => s.run?.includes("pulumi up") ?? false));
  });

  it("each up first converges its stack after a killed run, with the job's own timeout as the age of a stale lock", () => {
    for (const [stack, job] of [["staging", staging!], ["production", production!]] as const) {
      const converge = stepIndex(job, (s) => s.run?.includes("npm run -s converge") ?? false);
      const timeout = (job as Job & { "timeout-minutes"?: number })["timeout-minutes"];
      expect(job.steps[converge]?.run, stack).toContain(`npm run -s converge -- --stack ${stack} --lock-timeout-minutes ${timeout} || status=$?`);
      expect(converge, stack).toBeLessThan(stepIndex(job, (s) => s.run?.includes("pulumi up") ?? false));
      expect(converge, stack).toBeGreaterThan(stepIndex(job, (s) => s.run === "npm ci --no-audit --no-fund"));
    }
    // The preview job has read access only: converge writes (the lock, the hosts, the state), so it runs in up production.
    expect(runs(productionPreview)).not.toContain("converge");
  });

  it("a host that does not answer (converge exit 3): staging's up skips the refresh and goes on around it; any other failure stops the job", () => {
    const step = staging!.steps.find((s) => s.id === "converge")!;
    const up = staging!.steps.find((s) => s.run?.includes("pulumi up"))!;
    expect(up.run).toBe("pulumi up --stack staging ${{ steps.converge.outputs.refresh }} --continue-on-error --yes --non-interactive");
    const runWith = (convergeExit: number) => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, "npm"), `#!/bin/sh\nexit ${convergeExit}\n`, { mode: 0o755 });
      const output = path.join(dir, "output");
      fs.writeFileSync(output, "");
      // As GitHub runs a step's script: bash -e.
      const run = spawnSync("bash", ["-e", "-c", step.run!], { env: { PATH: `${dir}:${process.env.PATH}`, GITHUB_OUTPUT: output }, encoding: "utf8" });
      return { exit: run.status, output: fs.readFileSync(output, "utf8") };
    };
    expect(runWith(0)).toEqual({ exit: 0, output: "refresh=--refresh\n" });
    expect(runWith(3)).toEqual({ exit: 0, output: "refresh=\n" });
    expect(runWith(1)).toEqual({ exit: 1, output: "" });
    expect(runWith(2).exit).toBe(2);
  });

  it("every job installs the Pulumi CLI at the version of @pulumi/pulumi, so preview and up read the plan alike", () => {
    const sdk = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["@pulumi/pulumi"];
    const installs = allJobs().flatMap(({ job }) => job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@")));
    expect(installs).toHaveLength(4);
    for (const step of installs) expect(step.with).toEqual({ "pulumi-version": sdk });
  });
});
