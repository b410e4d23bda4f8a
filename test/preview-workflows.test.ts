/**
 * Preview environments in CI (issue 12): the workflows preview-env.yml (pull requests), preview-sweep.yml (the
 * sweeper) and preview-app.yml (application repositories' dispatches), and the scripts they run. The CLI itself
 * (`npm run preview`) is stood in for by a fake `npm` that records its arguments and keeps a list of stacks.
 * actionlint runs on these files in test/workflows.test.ts (every file in .github/workflows).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./temp-dirs";
import { workflow, workflowText, type Job, type Step } from "./workflow-files";

const ROOT = path.resolve(__dirname, "..");


const PREVIEW_WORKFLOWS = ["preview-env.yml", "preview-sweep.yml", "preview-app.yml"] as const;
const text = workflowText;
const jobsOf = (file: string) => Object.entries(workflow(file).jobs).map(([id, job]) => ({ file, id, job }));
const previewJobs = () => PREVIEW_WORKFLOWS.flatMap(jobsOf);
const runs = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n");
const stepIndex = (job: Job, match: (s: Step) => boolean) => job.steps.findIndex(match);
/** Jobs that reach the state backend and the hosts: through the preview CLI. */
const PREVIEW_CLI = /npm run -s preview -- |bash scripts\/preview-env\.sh "\$MODE"$/m;
const usesCli = (job: Job) => PREVIEW_CLI.test(runs(job));
const docs = () => fs.readFileSync(path.join(ROOT, "docs", "pipeline.md"), "utf8");

const BACKEND_ENV = {
  PULUMI_BACKEND_URL: "${{ vars.PULUMI_BACKEND_URL }}",
  PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
  AWS_ACCESS_KEY_ID: "${{ secrets.AWS_ACCESS_KEY_ID }}",
  AWS_SECRET_ACCESS_KEY: "${{ secrets.AWS_SECRET_ACCESS_KEY }}",
  AWS_REGION: "${{ vars.AWS_REGION }}",
  AWS_ENDPOINT_URL_S3: "${{ vars.AWS_ENDPOINT_URL_S3 }}",
  PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
};

const tempDir = tempDirs("preview-workflows-").make;

describe("every preview job", () => {
  it("that runs the preview CLI gets the backend credentials, Node 24, the pinned Pulumi CLI and the credentials check first", () => {
    const sdk = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["@pulumi/pulumi"];
    const cliJobs = previewJobs().filter(({ job }) => usesCli(job));
    expect(cliJobs.map(({ file, id }) => `${file} ${id}`).sort()).toEqual(["preview-app.yml app-preview", "preview-env.yml preview-environment", "preview-sweep.yml sweep"]);
    for (const { file, id, job } of cliJobs) {
      const where = `${file} ${id}`;
      expect(job.env, where).toMatchObject(BACKEND_ENV);
      expect(job.environment, where).toBe("preview");
      expect(job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with, where).toMatchObject({ "node-version": 24 });
      expect(job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))?.with, where).toEqual({ "pulumi-version": sdk });
      const credentials = stepIndex(job, (s) => s.run === "bash scripts/pipeline-credentials.sh");
      expect(job.steps[credentials]?.env, where).toEqual({ DEPLOY_SSH_KEY: "${{ secrets.DEPLOY_SSH_KEY }}", SSH_KNOWN_HOSTS: "${{ secrets.SSH_KNOWN_HOSTS }}" });
      expect(credentials, where).toBeLessThan(stepIndex(job, (s) => PREVIEW_CLI.test(s.run ?? "")));
      expect(credentials, where).toBeGreaterThan(stepIndex(job, (s) => s.uses?.startsWith("pulumi/actions@") ?? false));
    }
  });

  it("that does not run it sees no secret", () => {
    const others = previewJobs().filter(({ job }) => !usesCli(job));
    expect(others.map(({ id }) => id)).toEqual(["gate"]);
    for (const { id, job } of others) expect(JSON.stringify(job), id).not.toMatch(/secrets\./);
  });

  it("passes event values and secrets to scripts through env, never spelled into a script", () => {
    for (const { file, id, job } of previewJobs()) {
      for (const step of job.steps) expect(step.run ?? "", `${file} ${id} ${step.name ?? ""}`).not.toContain("${{");
    }
  });

  it("has an explicit name, unique among all workflows' jobs", () => {
    const names = ["pull-request.yml", "deploy.yml", ...PREVIEW_WORKFLOWS].flatMap(jobsOf).map(({ job }) => job.name);
    for (const name of names) expect(name).toMatch(/\S/);
    expect(new Set(names).size).toBe(names.length);
  });

  it("reads only secrets and variables that docs/pipeline.md's table lists, as the same kind", () => {
    const table = docs();
    const read = new Set(PREVIEW_WORKFLOWS.flatMap((file) => [...text(file).matchAll(/\b(secrets|vars)\.([A-Z0-9_]+)/g)].map((m) => `${m[1]}.${m[2]}`)));
    expect(read).toContain("vars.PREVIEW_MAX_AGE_HOURS");
    for (const entry of read) {
      const [kind, name] = entry.split(".") as [string, string];
      expect(table, entry).toContain(`| ${kind === "secrets" ? "secret" : "variable"} | \`${name}\` |`);
    }
  });
});

describe("preview-env.yml: a pull request's preview environment", () => {
  const wf = workflow("preview-env.yml");
  const gate = wf.jobs["gate"]!;
  const env = wf.jobs["preview-environment"]!;

  it("runs on every push of a pull request to main and when it closes, merged or not", () => {
    expect(wf.on).toEqual({ pull_request: { branches: ["main"], types: ["opened", "synchronize", "reopened", "closed"] } });
  });

  it("does nothing for forks: the gate is skipped, and so is the job that needs it", () => {
    expect(gate.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    expect(env.needs).toBe("gate");
    expect(env.if).toBe("needs.gate.outputs.run == 'true'");
    expect(gate.outputs).toEqual({ run: "${{ steps.gate.outputs.run }}" });
  });

  it("up and teardown share one concurrency group per pull request that never cancels a running job", () => {
    expect(env.concurrency).toEqual({ group: "preview-environment-pr-${{ github.event.pull_request.number }}", "cancel-in-progress": false });
    // The same job brings the preview up and takes it down: `closed` selects the teardown.
    expect(env.env!["MODE"]).toBe("${{ github.event.action == 'closed' && 'teardown' || 'sync' }}");
    expect(gate.steps.find((s) => s.id === "gate")!.env!["MODE"]).toBe(env.env!["MODE"]);
    // The pull-request workflow's own groups are different ones, so its cancellations never reach an up.
    const groups = Object.values(workflow("pull-request.yml").jobs).map((j) => j.concurrency?.group).filter(Boolean);
    expect(groups).not.toContain(env.concurrency!.group);
  });

  it("checks out the full history (the merge-base with origin/main), and main's code once the pull request is closed", () => {
    for (const job of [gate, env]) {
      const checkout = job.steps.find((s) => s.uses?.startsWith("actions/checkout@"))!;
      expect(checkout.with).toEqual({ ref: "${{ github.event.action == 'closed' && github.event.pull_request.base.ref || '' }}", "fetch-depth": 0 });
    }
  });

  it("puts the URLs in a sticky comment of its own beside the `pulumi preview` one, then fails on the verdict", () => {
    expect(runs(env)).toContain('bash scripts/preview-env.sh "$MODE"');
    const sticky = stepIndex(env, (s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@") ?? false);
    expect(env.steps[sticky]!.with).toEqual({ header: "preview-environment", path: "preview-env.md" });
    const platformSticky = workflow("pull-request.yml").jobs["preview"]!.steps.find((s) => s.uses?.startsWith("marocchino/"))!;
    expect(platformSticky.with!["header"]).not.toBe("preview-environment");
    expect(env.steps[sticky]!.if).toBe("hashFiles('preview-env.md') != ''");
    expect(env.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    const verdict = stepIndex(env, (s) => s.run?.includes("preview-env-verdict.txt") ?? false);
    expect(verdict).toBe(env.steps.length - 1);
    expect(sticky).toBeLessThan(verdict);
  });
});

describe("preview-sweep.yml: the sweeper", () => {
  const wf = workflow("preview-sweep.yml");
  const sweep = wf.jobs["sweep"]!;

  it("runs on a schedule and by hand", () => {
    const on = wf.on as { schedule: { cron: string }[]; workflow_dispatch: unknown };
    expect(on.schedule).toHaveLength(1);
    expect(on.schedule[0]!.cron.split(" ")).toHaveLength(5);
    expect(Object.keys(on)).toEqual(["schedule", "workflow_dispatch"]);
  });

  it("sweeps with every open pull request's number and the age from the variable PREVIEW_MAX_AGE_HOURS, default 72", () => {
    expect(sweep.env!["MAX_AGE_HOURS"]).toBe("${{ inputs.max_age_hours || vars.PREVIEW_MAX_AGE_HOURS || '72' }}");
    const script = runs(sweep);
    // gh lists 30 by default: the rest would be swept as closed.
    expect(script).toMatch(/gh pr list --repo "\$GITHUB_REPOSITORY" --state open --limit \d{3,} --json number/);
    expect(script).toContain('npm run -s preview -- sweep --open "$open" --max-age-hours "$MAX_AGE_HOURS"');
    expect(sweep.permissions).toEqual({ contents: "read", "pull-requests": "read" });
    expect(sweep.concurrency).toEqual({ group: "preview-sweep", "cancel-in-progress": false });
  });

  it("refuses a maximum age that is not a whole number of hours before anything else", () => {
    const check = sweep.steps[0]!;
    const bash = (value: string) => spawnSync("bash", ["-eo", "pipefail", "-c", check.run!], { env: { PATH: process.env["PATH"]!, MAX_AGE_HOURS: value }, encoding: "utf8" });
    expect(bash("72").status).toBe(0);
    for (const bad of ["", "0", "3d", "72; rm -rf /", "-1"]) {
      const result = bash(bad);
      expect(result.status, bad).toBe(1);
      expect(result.stdout).toContain("PREVIEW_MAX_AGE_HOURS");
    }
  });
});

describe("preview-app.yml: application repositories", () => {
  const wf = workflow("preview-app.yml");
  const job = wf.jobs["app-preview"]!;

  it("answers exactly the dispatch types preview-requested and preview-closed", () => {
    expect(wf.on).toEqual({ repository_dispatch: { types: ["preview-requested", "preview-closed"] } });
  });

  it("checks the payload before installing anything or touching a credential", () => {
    const check = stepIndex(job, (s) => s.run === "bash scripts/preview-payload.sh");
    expect(job.steps[check]!.env).toEqual({ PAYLOAD: "${{ toJSON(github.event.client_payload) }}" });
    expect(check).toBeLessThan(stepIndex(job, (s) => s.uses?.startsWith("actions/setup-node@") ?? false));
    expect(check).toBeLessThan(stepIndex(job, (s) => s.run === "bash scripts/pipeline-credentials.sh"));
  });

  it("runs up and down for the app's stack with the payload's values from env, one group per app pull request", () => {
    expect(job.env).toMatchObject({
      EVENT: "${{ github.event.action }}",
      TENANT: "${{ github.event.client_payload.tenant }}",
      SERVICE: "${{ github.event.client_payload.service }}",
      IMAGE: "${{ github.event.client_payload.image }}",
      APP_REPO: "${{ github.event.client_payload.repo }}",
      APP_PR: "${{ github.event.client_payload.pr }}",
    });
    const script = runs(job);
    expect(script).toMatch(/preview-requested\)\s+npm run -s preview -- up --app "\$APP_REPO" --pr "\$APP_PR" --tenant "\$TENANT" --service "\$SERVICE" --image "\$IMAGE" --base staging\n/);
    expect(script).toMatch(/preview-closed\)\s+npm run -s preview -- down --app "\$APP_REPO" --pr "\$APP_PR" --base staging\n/);
    const summary = job.steps.find((s) => s.name === "Its URLs in the run's summary")!;
    expect(summary.env).toEqual({ STACK: "${{ steps.payload.outputs.stack }}" });
    expect(job.steps.find((s) => s.id === "payload")!.run).toBe("bash scripts/preview-payload.sh");
    expect(job.concurrency).toEqual({
      group: "preview-environment-app-${{ github.event.client_payload.repo }}-pr-${{ github.event.client_payload.pr }}",
      "cancel-in-progress": false,
    });
  });
});

describe("scripts/preview-payload.sh", () => {
  const check = (event: string, payload: unknown) => {
    const result = spawnSync("bash", [path.join(ROOT, "scripts", "preview-payload.sh")], {
      env: { PATH: process.env["PATH"]!, EVENT: event, PAYLOAD: typeof payload === "string" ? payload : JSON.stringify(payload) },
      encoding: "utf8",
    });
    const errors = result.stdout.split("\n").filter((l) => l.startsWith("::error::"));
    return { status: result.status, errors, output: result.stdout + result.stderr };
  };
  const GOOD = { tenant: "acme", service: "web", image: "ghcr.io/acme/shop@sha256:" + "a".repeat(64), repo: "shop-api", pr: 42 };

  it("accepts the fixed fields, the number as a number or a string", () => {
    expect(check("preview-requested", GOOD).status).toBe(0);
    expect(check("preview-requested", { ...GOOD, pr: "42" }).status).toBe(0);
    const { image: _, ...closed } = GOOD;
    expect(check("preview-closed", closed).status).toBe(0);
    expect(check("preview-closed", GOOD).status, "an image sent along with preview-closed is ignored").toBe(0);
  });

  it("names the stack as npm run preview does: app-<repository name as a DNS label>-pr-<n>", () => {
    const stack = (repo: string) => check("preview-closed", { ...GOOD, repo, pr: "7" }).output.match(/^stack=(.*)$/m)?.[1];
    expect(stack("shop-api")).toBe("app-shop-api-pr-7");
    expect(stack("acme/Shop.Web")).toBe("app-shop-web-pr-7");
    expect(stack("My__Repo.v2")).toBe("app-my-repo-v2-pr-7");
  });

  it("names each missing field, and the image only where it is needed", () => {
    const { errors, status } = check("preview-requested", { repo: "shop-api" });
    expect(status).toBe(1);
    expect(errors.map((e) => e.match(/missing field (\w+)/)?.[1])).toEqual(["tenant", "service", "image", "pr"]);
    const closed = check("preview-closed", { tenant: "acme", service: "web", repo: "shop-api" });
    expect(closed.errors).toHaveLength(1);
    expect(closed.errors[0]).toContain("preview-closed payload: missing field pr");
  });

  it("refuses values that are not what they claim, one error each", () => {
    const { errors, status } = check("preview-requested", {
      tenant: "acme\n::add-mask::x",
      service: { name: "web" },
      image: "--force",
      repo: "acme/shop/api",
      pr: 4.5,
      tennant: "acme",
    });
    expect(status).toBe(1);
    expect(errors).toHaveLength(6);
    expect(errors[0]).toContain('field tenant is "acme\\n::add-mask::x"');
    expect(errors[1]).toContain("field service must be a string, got object");
    expect(errors[2]).toContain('field image is "--force"');
    expect(errors[3]).toContain('field repo is "acme/shop/api"');
    expect(errors[4]).toContain('field pr is "4.5"');
    expect(errors[5]).toContain('unknown field "tennant"');
  });

  it("refuses a dispatch without a payload object and an unknown type", () => {
    const none = check("preview-requested", "null");
    expect(none.status).toBe(1);
    expect(none.errors[0]).toMatch(/no client_payload object: send .*"tenant".*"pr"/);
    expect(check("preview-deleted", GOOD).errors[0]).toContain("unknown dispatch type 'preview-deleted'");
  });
});

describe("scripts/preview-env.sh", () => {
  const SCRIPT = path.join(ROOT, "scripts", "preview-env.sh");
  const git = (cwd: string, ...args: string[]) => {
    const r = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.test", "-c", "init.defaultBranch=main", ...args], { cwd, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  };

  const UP = { stack: "pr-12", pr: 12, tenants: ["acme"], urls: ["https://acme-pr-12.staging.example.com"], updated: "2025-01-01T00:00:00Z" };

  /**
   * A repository whose origin/main has tenants acme and notes, and a pull request branch with `change` applied;
   * a fake `npm` (the preview CLI: list/up/down against a JSON list of stacks) and a fake `gh` (`--jq` over canned
   * comments) on PATH.
   */
  function world(change: (repo: string) => void, opts: { stacks?: unknown[]; afterUp?: unknown[]; comments?: string[]; fail?: ("up" | "down" | "list" | "gh")[] } = {}) {
    const repo = tempDir();
    git(repo, "init", "-q");
    write(path.join(repo, "tenants", "acme.yaml"), "name: acme\n");
    write(path.join(repo, "tenants", "notes.yaml"), "name: notes\n");
    write(path.join(repo, "README.md"), "platform\n");
    git(repo, "add", ".");
    git(repo, "commit", "-qm", "main");
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD");
    change(repo);
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "pull request", "--allow-empty");

    const fake = tempDir();
    const bin = path.join(fake, "bin");
    write(path.join(fake, "stacks.json"), JSON.stringify(opts.stacks ?? []));
    write(path.join(fake, "after-up.json"), JSON.stringify(opts.afterUp ?? [{ ...UP, urls: { acme: "https://acme-pr-12.staging.example.com" } }]));
    write(path.join(fake, "comments.json"), JSON.stringify((opts.comments ?? []).map((body) => ({ body }))));
    for (const f of opts.fail ?? []) write(path.join(fake, `${f}.fail`), "");
    write(path.join(bin, "npm"), `#!/usr/bin/env bash
[ "$1 $2 $3 $4" = "run -s preview --" ] || { echo "unexpected npm $*" >&2; exit 99; }
shift 4
echo "$*" >> "${fake}/calls"
[ -f "${fake}/$1.fail" ] && { echo "preview: $1 failed for tenant acme at step deploy" >&2; exit 1; }
case "$1" in
  list) cat "${fake}/stacks.json" ;;
  up) cp "${fake}/after-up.json" "${fake}/stacks.json"; echo "acme: https://acme-pr-12.staging.example.com" ;;
  down) echo '[]' > "${fake}/stacks.json" ;;
esac
`);
    write(path.join(bin, "gh"), `#!/usr/bin/env bash
[ -f "${fake}/gh.fail" ] && exit 1
[ "$1 $2 $3" = "api --paginate repos/acme/platform/issues/12/comments" ] && [ "$4" = "--jq" ] || { echo "unexpected gh $*" >&2; exit 99; }
jq -r "$5" "${fake}/comments.json"
`);
    fs.chmodSync(path.join(bin, "npm"), 0o755);
    fs.chmodSync(path.join(bin, "gh"), 0o755);

    const run = (...args: string[]) => {
      const output = path.join(fake, "output");
      fs.rmSync(output, { force: true });
      const result = spawnSync("bash", [SCRIPT, ...args], {
        cwd: repo,
        env: { PATH: `${bin}:${process.env["PATH"]}`, PR: "12", GITHUB_REPOSITORY: "acme/platform", GITHUB_OUTPUT: output, HEAD_SHA: "abc123", RUN_URL: "https://ci.example.test/run/7" },
        encoding: "utf8",
      });
      const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined);
      return {
        status: result.status,
        log: result.stdout + result.stderr,
        calls: (read(path.join(fake, "calls")) ?? "").split("\n").filter(Boolean),
        gate: read(output)?.trim(),
        comment: read(path.join(repo, "preview-env.md")),
        verdict: (read(path.join(repo, "preview-env-verdict.txt")) ?? "").split("\n").filter(Boolean),
      };
    };
    return { repo, run };
  }

  const changeAcme = (repo: string) => write(path.join(repo, "tenants", "acme.yaml"), "name: acme\nreplicas: 2\n");
  const changeReadme = (repo: string) => write(path.join(repo, "README.md"), "platform, edited\n");

  describe("--gate, before any install or credential", () => {
    it("runs the job for a pull request that adds or changes a tenant file (a .yml one too)", () => {
      expect(world(changeAcme).run("sync", "--gate").gate).toBe("run=true");
      expect(world((r) => write(path.join(r, "tenants", "shop.yml"), "name: shop\n")).run("sync", "--gate").gate).toBe("run=true");
    });

    it("skips it when no tenant file is added or changed (a deleted tenant has nothing to preview) and no preview is up", () => {
      expect(world(changeReadme).run("sync", "--gate").gate).toBe("run=false");
      expect(world((r) => fs.rmSync(path.join(r, "tenants", "notes.yaml"))).run("sync", "--gate").gate).toBe("run=false");
      expect(world(changeReadme, { comments: ["LGTM", "<!-- preview-environment state=removed -->\n## Preview"] }).run("sync", "--gate").gate).toBe("run=false");
      expect(world(changeReadme).run("teardown", "--gate").gate).toBe("run=false");
    });

    it("runs it when an earlier push's preview may still be up, or when the comments cannot be read", () => {
      for (const state of ["up", "failed", "remove-failed"]) {
        const comments = [`<!-- preview-environment state=${state} -->\n## Preview environment`];
        expect(world(changeReadme, { comments }).run("sync", "--gate").gate, state).toBe("run=true");
        expect(world(changeReadme, { comments }).run("teardown", "--gate").gate, state).toBe("run=true");
      }
      expect(world(changeReadme, { fail: ["gh"] }).run("teardown", "--gate").gate).toBe("run=true");
    });
  });

  it("a push that changes a tenant brings pr-<n> up and comments its URLs from `list --json`", () => {
    const { status, calls, comment, verdict } = world(changeAcme).run("sync");
    expect(status).toBe(0);
    expect(calls).toEqual(["up --pr 12 --base staging", "list --json"]);
    expect(comment).toMatch(/^<!-- preview-environment state=up -->\n## Preview environment `pr-12`/);
    expect(comment).toContain("Up at abc123");
    expect(comment).toContain("- acme: https://acme-pr-12.staging.example.com\n");
    expect(verdict).toEqual([]);
  });

  it("lists URLs given as a plain array too, and says so when nothing is routed", () => {
    const array = world(changeAcme, { afterUp: [UP] }).run("sync");
    expect(array.comment).toContain("- https://acme-pr-12.staging.example.com\n");
    const none = world(changeAcme, { afterUp: [{ ...UP, urls: [] }] }).run("sync");
    expect(none.comment).toContain("No URL");
  });

  it("a failed up fails the job, says so in the comment and links the log, with no output of the CLI in it", () => {
    const { status, calls, comment, verdict } = world(changeAcme, { fail: ["up"] }).run("sync");
    expect(status).toBe(0);
    expect(calls).toEqual(["up --pr 12 --base staging"]);
    expect(comment).toMatch(/^<!-- preview-environment state=failed -->/);
    expect(comment).toContain("https://ci.example.test/run/7");
    expect(comment).not.toContain("step deploy");
    expect(verdict).toHaveLength(1);
    expect(verdict[0]).toContain("the preview environment pr-12 failed");
  });

  it("a push that no longer changes a tenant removes the preview an earlier push brought up", () => {
    const { calls, comment, verdict } = world(changeReadme, { stacks: [UP] }).run("sync");
    expect(calls).toEqual(["list --json", "down --pr 12 --base staging"]);
    expect(comment).toMatch(/^<!-- preview-environment state=removed -->/);
    expect(comment).toContain("no longer adds or changes a tenant file");
    expect(verdict).toEqual([]);
  });

  it("closing removes pr-<n> when it exists, and only then", () => {
    const closed = world(changeAcme, { stacks: [UP, { ...UP, stack: "pr-120", pr: 120 }, { ...UP, stack: "app-shop-pr-12", pr: 12 }] }).run("teardown");
    expect(closed.calls).toEqual(["list --json", "down --pr 12 --base staging"]);
    expect(closed.comment).toMatch(/^<!-- preview-environment state=removed -->/);
    const none = world(changeAcme, { stacks: [{ ...UP, stack: "app-shop-pr-12" }] }).run("teardown");
    expect(none.calls).toEqual(["list --json"]);
    expect(none.comment).toBeUndefined();
    expect(none.verdict).toEqual([]);
  });

  it("a failed down or list fails the job", () => {
    const down = world(changeAcme, { stacks: [UP], fail: ["down"] }).run("teardown");
    expect(down.comment).toMatch(/^<!-- preview-environment state=remove-failed -->/);
    expect(down.verdict[0]).toContain("pr-12 could not be removed");
    const list = world(changeAcme, { fail: ["list"] }).run("teardown");
    expect(list.verdict[0]).toContain("could not list the preview environments");
  });

  it("refuses a missing pull request number or mode as usage errors", () => {
    const { run } = world(changeAcme);
    expect(run("deploy").status).toBe(2);
    expect(spawnSync("bash", [SCRIPT, "sync"], { env: { PATH: process.env["PATH"]! }, encoding: "utf8" }).status).toBe(2);
  });
});

describe("docs/pipeline.md", () => {
  it("has a Preview environments section naming the host, the workflows, the sweeper's variable and the dispatch types", () => {
    const section = docs().split(/^## /m).find((s) => s.startsWith("Preview environments"));
    expect(section, "## Preview environments").toBeDefined();
    for (const needle of ["<tenant>-pr-<n>.", "preview-env.yml", "preview-sweep.yml", "preview-app.yml", "PREVIEW_MAX_AGE_HOURS", "preview-requested", "preview-closed", "app-<repo>-pr-<n>", "fork"]) {
      expect(section, needle).toContain(needle);
    }
  });
});
