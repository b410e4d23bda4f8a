import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { NAMED_DUMP_SCRIPT } from "../components/named-dump";
import { parsePreview } from "../preview/digest";
import { summarizePreview } from "../preview/summarize";
import { tempDirs } from "./temp-dirs";
import { deploy, plan, type Deployed } from "./tenant-harness";

/**
 * Dumps the deployment takes itself (issue 13): just before a release task runs (`pre-release-<service>`) and before
 * a planned replace of the database container (`pre-replace`), through the tenant's backup container.
 */

const temp = tempDirs("named-dump-");

const TENANT = `name: acme
services:
  web:
    image: registry.example.com/acme/web:1.0.0
    port: 8080
    routes: []
    env: { MODE: web }
    release:
      command: [bin/migrate]
  worker:
    image: registry.example.com/acme/worker:1.0.0
database:
  postgres: { version: "16" }
`;

const command = (run: Deployed, name: string) => run.resources.find((r) => r.type === "command:local:Command" && r.name === name);
const env = (run: Deployed, name: string) => command(run, name)!.inputs.environment as Record<string, string>;
const triggers = async (text: string, name: string) => JSON.stringify(command(await deploy(plan(text)), name)!.inputs.triggers);
const urns = (resources: readonly { urn: { apply(f: (urn: string) => void): unknown } }[]) =>
  Promise.all(resources.map((r) => new Promise<string>((ok) => r.urn.apply(ok))));

describe("the dump before a release task", () => {
  it("is taken by the tenant's backup container on its home host, after the backup container and before the task", async () => {
    const run = await deploy(plan(TENANT));
    expect(env(run, "acme-web-release-dump")).toMatchObject({
      DOCKER_HOST: "ssh://deploy@staging-1.example.net",
      BACKUP: "platform-staging-acme-backup",
      BACKUPS_VOLUME: "platform-staging-acme-backups",
      REASON: "pre-release-web",
      OWNER: "tenant acme, service web",
      DATABASE: "",
    });
    expect(await urns(run.dependsOn.get("acme-web-release")!)).toContainEqual(expect.stringMatching(/::acme-web-release-dump$/));
    expect(await urns(run.dependsOn.get("acme-web-release-dump")!)).toEqual(expect.arrayContaining([expect.stringMatching(/::acme-backup$/), expect.stringMatching(/::acme-postgres$/)]));
    // Only the service with a release task; a tenant without a database has nothing to dump.
    expect(command(run, "acme-worker-release-dump")).toBeUndefined();
    const noDatabase = await deploy(plan(TENANT.replace(/database:[\s\S]*$/, "")));
    expect(command(noDatabase, "acme-web-release")).toBeDefined();
    expect(command(noDatabase, "acme-web-release-dump")).toBeUndefined();
  });

  it("runs exactly when the task does: its triggers change with the task's inputs and only then", async () => {
    const first = await triggers(TENANT, "acme-web-release-dump");
    expect(await triggers(TENANT, "acme-web-release-dump")).toBe(first);
    expect(await triggers(TENANT.replace("web:1.0.0", "web:1.1.0"), "acme-web-release-dump")).not.toBe(first);
    expect(await triggers(TENANT.replace("MODE: web", "MODE: api"), "acme-web-release-dump")).not.toBe(first);
    expect(await triggers(TENANT.replace("bin/migrate", "bin/migrate, up"), "acme-web-release-dump")).not.toBe(first);
    // Another service's change is not this task's.
    expect(await triggers(TENANT.replace("worker:1.0.0", "worker:1.1.0"), "acme-web-release-dump")).toBe(first);
    // The trigger is a digest: the environment's secrets (the database password) are not in it.
    expect(first).not.toContain("generated-password");
    expect(first).toMatch(/^\["[0-9a-f]{64}"\]$/);
  });
});

describe("the dump before a planned replace of the database container", () => {
  it("precedes the database container, which waits for it; it skips when the database does not run yet", async () => {
    const run = await deploy(plan(TENANT));
    expect(env(run, "acme-postgres-pre-replace-dump")).toMatchObject({
      DOCKER_HOST: "ssh://deploy@staging-1.example.net",
      BACKUP: "platform-staging-acme-backup",
      REASON: "pre-replace",
      DATABASE: "platform-staging-acme-postgres",
    });
    expect(await urns(run.dependsOn.get("acme-postgres")!)).toEqual([expect.stringMatching(/::acme-postgres-pre-replace-dump$/)]);
  });

  it("runs when an input that replaces the container changes, not when nothing does or an in-place one does", async () => {
    const name = "acme-postgres-pre-replace-dump";
    const first = await triggers(TENANT, name);
    expect(await triggers(TENANT, name)).toBe(first);
    // Replacing: a new image (same major), new CPU limits, a restored volume.
    expect(await triggers(TENANT.replace('version: "16" }', 'version: "16.6" }'), name)).not.toBe(first);
    expect(await triggers(TENANT.replace('version: "16" }', 'version: "16", resources: { cpus: 0.75 } }'), name)).not.toBe(first);
    expect(await triggers(TENANT.replace('version: "16" }', 'version: "16", restore: 1 }'), name)).not.toBe(first);
    // In place (docker update): memory. And an app's change is not the database's.
    expect(await triggers(TENANT.replace('version: "16" }', 'version: "16", resources: { memory: 384Mi } }'), name)).toBe(first);
    expect(await triggers(TENANT.replace("web:1.0.0", "web:1.1.0"), name)).toBe(first);
    expect(first).not.toContain("generated-password");
  });
});

/** The backup container's answers to `once`: a dump, a failed one, a dump whose off-host copy failed (exit 1). */
const EXEC = {
  ok: `echo '{"id":"20261124T031500Z-pre-replace","result":"ok"}'`,
  fail: `echo "pg_dump: error: connection refused"; echo '{"id":"20261124T031500Z-pre-replace","result":"failed"}'; exit 1`,
  degraded: `echo "platform-backup: off-host copy failed" >&2; echo '{"id":"20261124T031500Z-pre-replace","result":"ok","offsite":"failed"}'; exit 1`,
};

/** The dump's script against a stand-in `docker`: which calls it makes, what it says. */
function runDump(opts: { database?: "running" | "absent"; exec: "ok" | "fail" | "degraded" }) {
  const dir = temp.make();
  writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$1" in
  container) [ "${opts.database}" = running ] && { echo true; exit 0; }; echo "Error: No such container" >&2; exit 1 ;;
  exec) ${EXEC[opts.exec]} ;;
esac
`,
  );
  chmodSync(path.join(dir, "docker"), 0o755);
  const result = spawnSync("sh", ["-c", NAMED_DUMP_SCRIPT], {
    encoding: "utf8",
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      BACKUP: "platform-qa-acme-backup",
      REASON: "pre-replace",
      OWNER: "tenant acme",
      BEFORE: "database container's replacement",
      DATABASE: opts.database ? "platform-qa-acme-postgres" : "",
    },
  });
  let calls: string[] = [];
  try {
    calls = readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
  } catch {
    // no call
  }
  return { ...result, calls };
}

describe("the dump's script", () => {
  it("dumps through the backup container and prints the run", () => {
    const { status, stdout, calls } = runDump({ database: "running", exec: "ok" });
    expect(status).toBe(0);
    expect(calls.at(-1)).toBe("exec platform-qa-acme-backup /bin/sh /usr/local/bin/platform-backup once pre-replace");
    expect(stdout).toBe(`tenant acme: dump before the database container's replacement: {"id":"20261124T031500Z-pre-replace","result":"ok"}\n`);
  });

  it("has nothing to dump when the database container does not run (a new tenant)", () => {
    const { status, stdout, calls } = runDump({ database: "absent", exec: "ok" });
    expect(status).toBe(0);
    expect(calls.some((c) => c.startsWith("exec"))).toBe(false);
    expect(stdout).toContain("tenant acme: no running database container platform-qa-acme-postgres: nothing to dump");
  });

  it("a failed dump fails naming owner and step, with pg_dump's last lines", () => {
    const { status, stderr } = runDump({ database: "running", exec: "fail" });
    expect(status).toBe(1);
    expect(stderr).toContain(`tenant acme: the dump before the database container's replacement failed (step "dump pre-replace", exit 1): the database container's replacement did not run, nothing was replaced:`);
    expect(stderr).toContain("pg_dump: error: connection refused");
  });

  it("a dump on the host whose off-host copy failed does not hold up the step (the backup container reports it)", () => {
    const { status, stdout } = runDump({ database: "running", exec: "degraded" });
    expect(status).toBe(0);
    expect(stdout).toContain('"result":"ok","offsite":"failed"');
  });

  it("without a database to check (a release task's dump), it always dumps", () => {
    const { status, calls } = runDump({ exec: "ok" });
    expect(status).toBe(0);
    expect(calls).toEqual(["exec platform-qa-acme-backup /bin/sh /usr/local/bin/platform-backup once pre-replace"]);
  });
});

describe("the PR summary of a database container's replace", () => {
  const FIXTURE = path.join(__dirname, "fixtures", "preview", "database-container-replaced.json");
  /** The recorded preview (acme's Postgres 16 → 16.6), with or without the pre-replace dump the program now plans. */
  function dangers(withDump: boolean): string[] {
    const raw = JSON.parse(readFileSync(FIXTURE, "utf8")) as { steps: { op: string; urn: string; newState?: Record<string, unknown> }[] };
    if (withDump) {
      const container = raw.steps.find((s) => s.urn.endsWith("::acme-postgres"))!;
      const urn = container.urn.replace("$docker:index/container:Container::acme-postgres", "$command:local:Command::acme-postgres-pre-replace-dump");
      raw.steps.push({
        op: "replace",
        urn,
        newState: {
          ...container.newState,
          urn,
          type: "command:local:Command",
          inputs: { create: "…", environment: { BACKUPS_VOLUME: "platform-production-acme-backups", REASON: "pre-replace" }, triggers: ["0f"] },
        },
      });
    }
    const parsed = parsePreview(JSON.stringify(raw), "database-container-replaced");
    if (!parsed.ok) throw new Error(parsed.error);
    return summarizePreview(parsed.digest).dangers.filter((d) => d.kind === "database-container").map((d) => d.message);
  }

  it("names the dump taken first and the volume it lands in", () => {
    expect(dangers(true)).toEqual([
      "**The database of tenant `acme` restarts**: its Postgres container `acme-postgres` is replaced (because `image` changed) and the database is down until the new one is healthy. A dump `<time>-pre-replace.dump` is taken first into `platform-production-acme-backups`; a failed dump stops the deployment before the replace (restore: `npm run db -- restore acme --at <time>-pre-replace`).",
    ]);
  });

  it("says so when no dump is planned (a stack without backups)", () => {
    expect(dangers(false)).toEqual([expect.stringMatching(/is healthy\. \*\*No dump is taken first\*\* \(this stack keeps no backups of it\)\.$/)]);
  });
});
