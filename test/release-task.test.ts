import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { RUN_RELEASE } from "../components/release-task";
import { formatDiagnostic } from "../model/diagnostics";
import { validateTenants } from "../model/validate";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import { isSecretInput, PROJECT_ROOT, unwrapSecret } from "./program-harness";
import { deploy, fixtures, plan, type Deployed } from "./tenant-harness";

/**
 * A service's release task (issue 13): declared in the tenant file, it becomes one command that runs the service's
 * new image with its environment and networks before the service's containers, and only when those change.
 * (Its behaviour on a real engine, failing and succeeding under load: test/e2e/release.e2e.ts.)
 */

const TENANT = `name: acme
services:
  web:
    image: registry.example.com/acme/web:1.0.0
    port: 8080
    routes: []
    replicas: 2
    env: { MODE: web }
    release:
      command: [bin/migrate, --to, "it's latest"]
  worker:
    image: registry.example.com/acme/worker:1.0.0
database:
  postgres: { version: "16" }
`;

function errors(text: string): string[] {
  return validateTenants({ files: [{ file: "tenants/acme.yaml", text }], stacks: fixtures.stacks, stackNames: fixtures.stackNames }).diagnostics.map(formatDiagnostic);
}

const releaseOf = (run: Deployed, service: string) => run.resources.find((r) => r.type === "command:local:Command" && r.name === `acme-${service}-release`);

describe("release task: declared in the tenant file", () => {
  it("is one command for the service that declares it, none for the others", async () => {
    const run = await deploy(plan(TENANT));
    expect(releaseOf(run, "web")).toBeDefined();
    expect(releaseOf(run, "worker")).toBeUndefined();
    expect(run.resources.filter((r) => r.name.endsWith("-release"))).toHaveLength(1);
  });

  it("precedes every new container of its service: they depend on it, and the old ones go only after them", async () => {
    const run = await deploy(plan(TENANT));
    const release = run.tenant.services.find((s) => s.release)!.release!;
    for (const container of ["acme-web-0", "acme-web-1"]) {
      expect(run.dependsOn.get(container)).toContain(release);
      // Create-before-delete: a failed release stops the update before any new container exists.
      expect(run.deleteBeforeReplace.get(container)).toBe(false);
    }
    // It waits for the database itself (healthy: the container is created with `wait`).
    const postgres = run.dependsOn.get("acme-web-release")!;
    expect(await Promise.all(postgres.map((r) => new Promise((ok) => r.urn.apply(ok))))).toContainEqual(expect.stringContaining("acme-postgres"));
    expect(run.dependsOn.get("acme-worker-0")).not.toContain(release);
  });

  it("runs the new image with the service's command, environment (a secret) and networks", async () => {
    const run = await deploy(plan(TENANT));
    const inputs = releaseOf(run, "web")!.inputs;
    // The SDK makes the whole map secret when one value is: the environment is a secret in state and previews.
    expect(isSecretInput(inputs.environment)).toBe(true);
    const env = unwrapSecret(inputs.environment) as Record<string, string>;
    // The image the new containers run: staging pulls, so the pulled image's id.
    expect(env.IMAGE).toBe("sha256:registry.example.com/acme/web:1.0.0");
    expect(env.IMAGE).toBe(run.resources.find((r) => r.name === "acme-web-0")!.inputs.image);
    expect(env.DOCKER_HOST).toBe("ssh://deploy@staging-1.example.net");
    expect(env.NETWORKS).toBe(`platform-staging-acme-data platform-staging-acme-apps-${plan(TENANT).homeHost}`);
    expect(inputs.create).toContain(`set -- 'bin/migrate' '--to' 'it'\\''s latest'`);
    const lines = env.RELEASE_ENV!.split("\n");
    expect(lines).toContain("MODE=web");
    expect(lines.find((l) => l.startsWith("DATABASE_URL="))).toContain("generated-password-acme-postgres-password");
    // The command line never holds the environment.
    expect(JSON.stringify(inputs.create)).not.toContain("generated-password");
    expect(env.RELEASE_SCRIPT).not.toContain("generated-password");
    expect(inputs.logging).toBe("none");
    expect(inputs.triggers).toBeUndefined();
  });

  it("has identical inputs run to run, so an unchanged service does not run it again", async () => {
    const first = JSON.stringify(releaseOf(await deploy(plan(TENANT)), "web")!.inputs);
    const second = JSON.stringify(releaseOf(await deploy(plan(TENANT)), "web")!.inputs);
    expect(second).toBe(first);
    const newImage = JSON.stringify(releaseOf(await deploy(plan(TENANT.replace("web:1.0.0", "web:1.1.0"))), "web")!.inputs);
    expect(newImage).not.toBe(first);
  });

  it("is left out where a dev stack runs its stand-in image (which has no such command)", () => {
    const live = loadStacksFromFiles(PROJECT_ROOT);
    const dev = live.stacks.find((s) => s.dev !== undefined);
    if (!dev) return;
    const web = plan(TENANT, dev, live.stackNames).services.find((s) => s.name === "web")!;
    expect(web.standIn).toBe(true);
    expect(web.release).toBeUndefined();
  });
});

describe("release task: validation", () => {
  const withRelease = (yaml: string) => TENANT.replace(`    release:\n      command: [bin/migrate, --to, "it's latest"]\n`, yaml);

  it("refuses an empty command, naming the key", () => {
    expect(errors(withRelease("    release: { command: [] }\n"))).toEqual([
      expect.stringMatching(/^tenants\/acme\.yaml:\d+:\d+ services\.web\.release\.command: must not be empty: name the command the release task runs, e\.g\. \[migrate\]$/),
    ]);
  });

  it("refuses a missing command, a string instead of a list, an empty word and unknown keys", () => {
    expect(errors(withRelease("    release: {}\n")).join("\n")).toMatch(/services\.web\.release\.command: /);
    expect(errors(withRelease("    release: { command: bin/migrate }\n")).join("\n")).toContain(
      "services.web.release.command: must be a list of strings, e.g. [migrate] or [bin/rails, db:migrate]",
    );
    expect(errors(withRelease('    release: { command: [""] }\n')).join("\n")).toContain("services.web.release.command[0]: must not be an empty string");
    expect(errors(withRelease("    release: { command: [migrate], timeout: 5m }\n")).join("\n")).toMatch(/services\.web\.release.*timeout/);
  });
});

/**
 * The script against a stand-in `docker`: the env-file holds the environment while the task runs and is gone after;
 * a failure names tenant and service and shows the command's last lines.
 */
const FAKE_DOCKER = `#!/bin/sh
echo "$*" >> "$FAKE_STATE/calls"
case "$1" in
  create)
    for a in "$@"; do [ -n "$envfile_next" ] && { cp "$a" "$FAKE_STATE/env-seen"; echo "$a" > "$FAKE_STATE/env-path"; envfile_next=""; }; [ "$a" = --env-file ] && envfile_next=1; done ;;
  start)
    i=1; while [ $i -le 30 ]; do echo "migration line $i"; i=$((i+1)); done
    [ -f "$FAKE_STATE/fail" ] && { echo "ERROR: relation users already exists" >&2; exit 3; }
    [ -f "$FAKE_STATE/hang" ] && sleep 10
    exit 0 ;;
esac
exit 0
`;

function runScript(fail: boolean, { hang = false, timeout = 600 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "release-"));
  writeFileSync(path.join(dir, "docker"), FAKE_DOCKER);
  chmodSync(path.join(dir, "docker"), 0o755);
  if (fail) writeFileSync(path.join(dir, "fail"), "");
  if (hang) writeFileSync(path.join(dir, "hang"), "");
  const result = spawnSync("sh", ["-c", `set -- 'bin/migrate' 'up'; eval "$RELEASE_SCRIPT"`], {
    encoding: "utf8",
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      FAKE_STATE: dir,
      RELEASE_SCRIPT: RUN_RELEASE,
      NAME: "platform-staging-acme-web-release",
      IMAGE: "registry.example.com/acme/web:1.0.0",
      NETWORKS: "platform-staging-acme-data platform-staging-acme-apps-staging-1",
      LABELS: "platform.managed=true platform.stack=staging platform.tenant=acme platform.release=web",
      CPUS: "0.5",
      MEMORY: "256m",
      OWNER: "tenant acme, service web",
      LINES: "20",
      TIMEOUT: String(timeout),
      RELEASE_ENV: "MODE=web\nDATABASE_URL=postgres://app:hunter2@postgres:5432/app",
    },
  });
  const calls = readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean);
  const envPath = readFileSync(path.join(dir, "env-path"), "utf8").trim();
  return { ...result, calls, envSeen: readFileSync(path.join(dir, "env-seen"), "utf8"), envLeft: spawnSync("test", ["-e", envPath]).status === 0 };
}

describe("release task: the script", () => {
  it("creates the container on the first network, joins the others, runs it attached and removes it", () => {
    const { status, stderr, stdout, calls, envSeen, envLeft } = runScript(false);
    expect(status, stderr).toBe(0);
    const create = calls.find((c) => c.startsWith("create "))!;
    expect(create).toContain("--network platform-staging-acme-data");
    expect(create).toContain("--label platform.release=web");
    expect(create).toMatch(/registry\.example\.com\/acme\/web:1\.0\.0 bin\/migrate up$/);
    expect(create).not.toContain("hunter2");
    expect(calls.indexOf("network connect platform-staging-acme-apps-staging-1 platform-staging-acme-web-release")).toBeGreaterThan(calls.indexOf(create));
    expect(calls.indexOf("start --attach platform-staging-acme-web-release")).toBeGreaterThan(calls.indexOf(create));
    expect(calls.at(-1)).toBe("rm -f platform-staging-acme-web-release");
    expect(envSeen).toBe("MODE=web\nDATABASE_URL=postgres://app:hunter2@postgres:5432/app\n");
    expect(envLeft).toBe(false);
    expect(stdout).toBe("release task of tenant acme, service web done\n");
  });

  it("a hung command fails the task after its timeout, names it, and removes its container", () => {
    const { status, stderr, calls, envLeft } = runScript(false, { hang: true, timeout: 1 });
    expect(status).toBe(1);
    expect(stderr).toContain("release task of tenant acme, service web timed out after 1s running: bin/migrate up");
    expect(calls.at(-1)).toBe("rm -f platform-staging-acme-web-release");
    expect(envLeft).toBe(false);
  });

  it("fails naming tenant, service and command, with the last output lines, and leaves no env-file", () => {
    const { status, stderr, stdout, envLeft } = runScript(true);
    expect(status).toBe(1);
    expect(stderr).toContain("release task of tenant acme, service web failed (exit 3) running: bin/migrate up");
    expect(stderr).toContain("ERROR: relation users already exists");
    expect(stderr).toContain("migration line 30");
    expect(stderr).not.toContain("migration line 10\n");
    expect(stdout).toBe("");
    expect(envLeft).toBe(false);
  });
});
