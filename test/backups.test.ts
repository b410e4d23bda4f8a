import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BACKUP_SCRIPT } from "../components/backup-script";
import { tenantSchema } from "../model/tenant-schema";
import { exampleTenantsIn, fixtureConfig, isSecretInput, labelsOf, ofType, runProgram, TYPES, unwrapSecret, type ProgramRun, type RecordedResource } from "./program-harness";
import { tempDirs } from "./temp-dirs";

/** Scheduled backups (issue 13): what the program declares, and what the backup container's script does. */

const temp = tempDirs("platform-backups-test-");

const networksOf = (c: RecordedResource) => ((c.inputs.networksAdvanced ?? []) as { name: string }[]).map((n) => n.name);
const envsOf = (c: RecordedResource) => unwrapSecret(c.inputs.envs) as string[];
const tenantOf = (r: RecordedResource) => labelsOf(r)["platform.tenant"];

describe.each(["staging", "production"] as const)("backups in stack %s", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stack);
  });

  it("each tenant with a database gets one backup container, only on that tenant's data network, dumping into its own volume", () => {
    const containers = ofType(run, TYPES.container);
    const databases = containers.filter((c) => labelsOf(c)["platform.service"] === "postgres");
    const backups = containers.filter((c) => labelsOf(c)["platform.service"] === "backup");
    expect(databases.length).toBeGreaterThan(0);
    expect(backups.map(tenantOf).sort()).toEqual(databases.map(tenantOf).sort());
    for (const backup of backups) {
      const tenant = tenantOf(backup)!;
      const database = databases.find((d) => tenantOf(d) === tenant)!;
      expect(backup.inputs.name).toBe(`platform-${stack}-${tenant}-backup`);
      expect(networksOf(backup)).toEqual(networksOf(database));
      expect(networksOf(backup)).toEqual([`platform-${stack}-${tenant}-data`]);
      expect(backup.inputs.mounts).toEqual([{ type: "volume", source: `platform-${stack}-${tenant}-backups`, target: "/backups" }]);
      expect(backup.inputs.ports).toBeUndefined();
      // No other tenant's container mounts this tenant's backups.
      const mounting = containers.filter((c) => JSON.stringify(c.inputs.mounts ?? []).includes(`-${tenant}-backups"`));
      expect(mounting.map((c) => c.name)).toEqual([backup.name]);
      expect(isSecretInput(backup.inputs.envs)).toBe(true);
      expect(envsOf(backup)).toEqual(expect.arrayContaining(["PGHOST=postgres", "PGUSER=app", "PGDATABASE=app", "EVERY_SECONDS=86400", "KEEP_DAILY=7", "KEEP_WEEKLY=4"]));
      expect(envsOf(backup).some((e) => e.startsWith("BACKUP_HOOK_URL="))).toBe(false);
      expect(backup.inputs.image).toBe(database.inputs.image);
      expect((backup.inputs.healthcheck as { tests: string[] }).tests).toEqual(["CMD", "/bin/sh", "/usr/local/bin/platform-backup", "check"]);
    }
  });

  it("the backups volume is named per tenant and labelled like the data volume", () => {
    const volumes = ofType(run, TYPES.volume);
    for (const data of volumes.filter((v) => v.name.endsWith("-pgdata"))) {
      const tenant = tenantOf(data)!;
      const backups = volumes.find((v) => v.name === `${tenant}-backups-volume`)!;
      expect(backups.inputs.name).toBe(`platform-${stack}-${tenant}-backups`);
      expect(backups.inputs.labels).toEqual(data.inputs.labels);
    }
    for (const { options } of run.options.filter((o) => o.kind === "dataVolume"))
      expect(options).toEqual({ retainOnDelete: true, protect: stack === "production" });
  });
});

describe("backup settings", () => {
  const TENANT = `name: newco
services:
  web:
    image: registry.example.com/newco/web:1.0.0
    port: 8080
    routes: []
database:
  postgres: { version: "16" }
  backups: { every: 6h, keepDaily: 3 }
`;

  it("a tenant's database.backups overrides the stack's platform:backups; the hook URL arrives as a secret on an egress network of its own", async () => {
    const dir = exampleTenantsIn(temp.make(), { "newco.yaml": TENANT });
    const config = fixtureConfig("staging", dir);
    const secrets = config["platform:secrets"] as Record<string, Record<string, string>>;
    const run = await runProgram("staging", {
      ...config,
      "platform:backups": { every: "12h", keepWeekly: 2, hookSecret: "BACKUP_HOOK" },
      "platform:secrets": { ...secrets, platform: { BACKUP_HOOK: "https://hooks.example.com/backup-failed" } },
    });
    expect(run.error).toBeUndefined();
    const backups = ofType(run, TYPES.container).filter((c) => labelsOf(c)["platform.service"] === "backup");
    const newco = backups.find((c) => tenantOf(c) === "newco")!;
    expect(envsOf(newco)).toEqual(
      expect.arrayContaining(["EVERY_SECONDS=21600", "KEEP_DAILY=3", "KEEP_WEEKLY=2", "BACKUP_HOOK_URL=https://hooks.example.com/backup-failed"]),
    );
    const other = backups.find((c) => tenantOf(c) !== "newco")!;
    expect(envsOf(other)).toEqual(expect.arrayContaining(["EVERY_SECONDS=43200", "KEEP_DAILY=7", "KEEP_WEEKLY=2"]));
    // The egress network carries only that tenant's backup container: it reaches no other database.
    expect(networksOf(newco)).toEqual(["platform-staging-newco-data", "platform-staging-newco-backup-egress"]);
    const onEgress = ofType(run, TYPES.container).filter((c) => networksOf(c).includes("platform-staging-newco-backup-egress"));
    expect(onEgress.map((c) => c.name)).toEqual([newco.name]);
    const egress = ofType(run, TYPES.network).find((n) => n.inputs.name === "platform-staging-newco-backup-egress")!;
    expect(egress.inputs.internal).toBe(false);
  });

  describe("off-host copies", () => {
    const KEY_ID = "AKIA-offsite-key-id";
    const KEY = "offsite-secret-access-key-value";
    const offsiteRun = async (offsite: Record<string, unknown>, platformSecrets: Record<string, string>) => {
      const dir = exampleTenantsIn(temp.make(), { "newco.yaml": TENANT });
      const config = fixtureConfig("staging", dir);
      const secrets = config["platform:secrets"] as Record<string, Record<string, string>>;
      return runProgram("staging", { ...config, "platform:backups": { offsite }, "platform:secrets": { ...secrets, platform: platformSecrets } });
    };
    /** Everything the program declares, with secret-wrapped values blanked: what labels, commands and plain state show. */
    const plainText = (run: ProgramRun) =>
      JSON.stringify([run.resources.map((r) => r.inputs), run.outputs], (_key, value: unknown) => (isSecretInput(value) ? "[secret]" : value));

    it("every backup container gets rclone's S3 remote as secret environment, each tenant its own folder, on its own egress network", async () => {
      const run = await offsiteRun(
        { endpoint: "https://s3.eu-central-1.example.com", bucket: "acme-backups", region: "eu-central-1", prefix: "platform/db" },
        { BACKUP_S3_ACCESS_KEY_ID: KEY_ID, BACKUP_S3_SECRET_ACCESS_KEY: KEY },
      );
      expect(run.error).toBeUndefined();
      const containers = ofType(run, TYPES.container);
      const backups = containers.filter((c) => labelsOf(c)["platform.service"] === "backup");
      expect(backups.length).toBeGreaterThan(1);
      for (const backup of backups) {
        const tenant = tenantOf(backup)!;
        expect(isSecretInput(backup.inputs.envs)).toBe(true);
        expect(envsOf(backup)).toEqual(
          expect.arrayContaining([
            "RCLONE_CONFIG_OFFSITE_TYPE=s3",
            "RCLONE_CONFIG_OFFSITE_ENDPOINT=https://s3.eu-central-1.example.com",
            "RCLONE_CONFIG_OFFSITE_REGION=eu-central-1",
            `RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID=${KEY_ID}`,
            `RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY=${KEY}`,
            `OFFSITE_PATH=acme-backups/platform/db/staging/${tenant}`,
          ]),
        );
        // Egress on a network of its own, shared with nothing; the data network stays internal.
        const egress = `platform-staging-${tenant}-backup-egress`;
        expect(networksOf(backup)).toEqual([`platform-staging-${tenant}-data`, egress]);
        expect(containers.filter((c) => networksOf(c).includes(egress)).map((c) => c.name)).toEqual([backup.name]);
        const networks = ofType(run, TYPES.network);
        expect(networks.find((n) => n.inputs.name === egress)!.inputs.internal).toBe(false);
        expect(networks.find((n) => n.inputs.name === `platform-staging-${tenant}-data`)!.inputs.internal).toBe(true);
      }
      // No tenant writes into another's folder.
      const paths = backups.map((b) => envsOf(b).find((e) => e.startsWith("OFFSITE_PATH=")));
      expect(new Set(paths).size).toBe(backups.length);
      // The keys appear nowhere but in secret inputs: not in labels, commands, uploads or outputs.
      expect(plainText(run)).not.toContain(KEY);
      expect(plainText(run)).not.toContain(KEY_ID);
    });

    it("the key secrets can be named; without a prefix the folder is <bucket>/<stack>/<tenant>", async () => {
      const run = await offsiteRun(
        { endpoint: "http://minio.internal:9000", bucket: "dumps", accessKeyIdSecret: "S3_ID", secretAccessKeySecret: "S3_KEY" },
        { S3_ID: KEY_ID, S3_KEY: KEY },
      );
      expect(run.error).toBeUndefined();
      const newco = ofType(run, TYPES.container).find((c) => c.name === "newco-backup")!;
      expect(envsOf(newco)).toEqual(expect.arrayContaining(["OFFSITE_PATH=dumps/staging/newco", `RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY=${KEY}`]));
      expect(envsOf(newco).some((e) => e.startsWith("RCLONE_CONFIG_OFFSITE_REGION="))).toBe(false);
    });

    it("without its key secrets set, offsite is refused with the command that sets them", async () => {
      const run = await offsiteRun({ endpoint: "https://s3.example.com", bucket: "dumps" }, { BACKUP_S3_ACCESS_KEY_ID: KEY_ID });
      expect(run.error?.message).toContain(
        "platform:backups.offsite: secret \"BACKUP_S3_SECRET_ACCESS_KEY\" is not set; run: pulumi config set --secret --path 'secrets.platform.BACKUP_S3_SECRET_ACCESS_KEY' '<S3 secret access key>'",
      );
    });

    it("without offsite or a hook, a backup container has no egress at all", async () => {
      const run = await runProgram("staging");
      expect(ofType(run, TYPES.network).filter((n) => String(n.inputs.name).endsWith("-backup-egress"))).toEqual([]);
    });
  });

  it("a hook secret that is not set names the command that sets it", async () => {
    const run = await runProgram("staging", { ...fixtureConfig("staging"), "platform:backups": { hookSecret: "BACKUP_HOOK" } });
    expect(run.error?.message).toContain("platform:backups.hookSecret: secret \"BACKUP_HOOK\" is not set; run: pulumi config set --secret --path 'secrets.platform.BACKUP_HOOK'");
  });

  it("a schedule that is not a duration is refused with an example", () => {
    const parsed = tenantSchema.safeParse({ name: "newco", services: { web: { image: "x:1" } }, database: { postgres: { version: "16" }, backups: { every: "daily" } } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.message)).toContain('"daily" is not a duration like 24h or 6h');
  });

  it("a preview's database has no backups (its data goes with it)", async () => {
    const run = await runProgram("pr-7", {
      ...fixtureConfig("staging"),
      "platform:preview": { base: "staging", pr: 7, tenants: ["acme"], edgePauseIds: {} },
    });
    expect(run.error).toBeUndefined();
    expect(ofType(run, TYPES.container).some((c) => labelsOf(c)["platform.service"] === "postgres")).toBe(true);
    expect(ofType(run, TYPES.container).filter((c) => labelsOf(c)["platform.service"] === "backup")).toEqual([]);
    expect(ofType(run, TYPES.volume).filter((v) => v.name.endsWith("-backups-volume"))).toEqual([]);
  });
});

describe("retiring", () => {
  it("a retiring tenant gets one last dump through its host, by the backup container that is about to go", async () => {
    const dir = exampleTenantsIn(temp.make(), { "newco.yaml": `name: newco\nretiring: true\nservices:\n  web:\n    image: registry.example.com/newco/web:1.0.0\ndatabase:\n  postgres: { version: "16" }\n` });
    const run = await runProgram("production", fixtureConfig("production", dir));
    expect(run.error).toBeUndefined();
    const final = run.resources.filter((r) => r.type === "command:local:Command" && r.name.startsWith("newco-"));
    expect(final.map((r) => r.name)).toEqual(["newco-backup-final"]);
    expect(final[0]!.inputs.create).toContain("/usr/local/bin/platform-backup once");
    const hosts = fixtureConfig("production")["platform:hosts"] as Record<string, { url: string }>;
    expect(Object.values(hosts).map((h) => h.url)).toContain((final[0]!.inputs.environment as Record<string, string>).DOCKER_HOST);
    expect((final[0]!.inputs.environment as Record<string, string>).CONTAINER).toBe("platform-production-newco-backup");
    // Active tenants have none.
    expect(run.resources.filter((r) => r.type === "command:local:Command" && r.name.endsWith("-backup-final")).map((r) => r.name)).toEqual(["newco-backup-final"]);
  });
});

describe("running on a restored volume", () => {
  it("database.postgres.restore: <n> mounts …-pgdata-pg<major>-r<n>, a new resource; the original volume stays declared, retained and protected", async () => {
    const base = `name: newco
services:
  web:
    image: registry.example.com/newco/web:1.0.0
    port: 8080
    routes: []
database:
  postgres: { version: "16" }
`;
    const dir = exampleTenantsIn(temp.make(), { "newco.yaml": base });
    const before = await runProgram("production", fixtureConfig("production", dir));
    writeFileSync(path.join(dir, "newco.yaml"), base.replace('version: "16" }', 'version: "16", restore: 2 }'));
    const after = await runProgram("production", fixtureConfig("production", dir));
    expect(after.error).toBeUndefined();
    const database = ofType(after, TYPES.container).find((c) => c.name === "newco-postgres")!;
    expect(database.inputs.mounts).toEqual([{ type: "volume", source: "platform-production-newco-pgdata-pg16-r2", target: "/var/lib/postgresql/data" }]);
    const volumes = (run: ProgramRun) => ofType(run, TYPES.volume).filter((v) => tenantOf(v) === "newco").map((v) => [v.name, v.inputs.name]);
    expect(volumes(after)).toEqual([
      ...volumes(before).slice(0, 1),
      ["newco-pgdata-r2", "platform-production-newco-pgdata-pg16-r2"],
      ...volumes(before).slice(1),
    ]);
    expect(volumes(before)[0]).toEqual(["newco-pgdata", "platform-production-newco-pgdata-pg16"]);
    const kept = after.options.filter((o) => o.kind === "dataVolume");
    expect(kept.length).toBe(before.options.filter((o) => o.kind === "dataVolume").length + 1);
    for (const { options } of kept) expect(options).toEqual({ retainOnDelete: true, protect: true });
    expect((after.outputs.tenants as Record<string, { databaseVolume: string }>).newco!.databaseVolume).toBe("platform-production-newco-pgdata-pg16-r2");
    // Nothing of any other tenant changes.
    const others = (run: ProgramRun) => run.resources.filter((r) => !r.name.startsWith("newco-")).map((r) => JSON.stringify([r.type, r.name, r.inputs]));
    expect(others(after)).toEqual(others(before));
  });
});

describe("the backup container's script", () => {
  /**
   * A backups directory and a PATH whose pg_dump writes a file (or fails), whose curl records the hook call and, with
   * `offsite`, whose rclone records its arguments and copies the dumps to remote/ (or fails like an S3 refusal).
   */
  function sandbox(pgDump: "ok" | "fail", offsite?: "ok" | "fail") {
    const dir = temp.make();
    const bin = path.join(dir, "bin");
    const backups = path.join(dir, "backups");
    mkdirSync(bin);
    mkdirSync(backups);
    const dump = pgDump === "ok" ? 'while [ $# -gt 0 ]; do [ "$1" = -f ] && printf "PGDMP-fake" > "$2"; shift; done' : 'echo "pg_dump: error: could not translate host name \\"postgres\\"" >&2; exit 1';
    writeFileSync(path.join(bin, "pg_dump"), `#!/bin/sh\n${dump}\n`);
    writeFileSync(path.join(bin, "curl"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/hook-call"\n`);
    const remote = path.join(dir, "remote");
    const rclone = offsite === "fail"
      ? `echo '2026/11/24 03:00:00 ERROR : 20261124T030000Z.dump: Failed to copy: AccessDenied: Access Denied' >&2; echo '2026/11/24 03:00:00 Failed to copy with 1 errors: last error was: AccessDenied: Access Denied' >&2; exit 1`
      : `mkdir -p "${remote}"; for a in "$@"; do src=$dst; dst=$a; done; cp "$src"/*.dump "${remote}/"`;
    writeFileSync(path.join(bin, "rclone"), `#!/bin/sh
printf '%s\\n' "$@" > "${dir}/rclone-call"
${rclone}
`);
    for (const tool of ["pg_dump", "curl", "rclone"]) chmodSync(path.join(bin, tool), 0o755);
    writeFileSync(path.join(dir, "platform-backup"), BACKUP_SCRIPT);
    const run = (...args: string[]) =>
      spawnSync("sh", [path.join(dir, "platform-backup"), ...args], {
        encoding: "utf8",
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          BACKUP_DIR: backups,
          KEEP_DAILY: "2",
          KEEP_WEEKLY: "4",
          EVERY_SECONDS: "60",
          STACK: "qa",
          TENANT: "acme",
          BACKUP_HOOK_URL: "https://hooks.example.com/x",
          ...(offsite ? { OFFSITE_PATH: "acme-backups/platform/qa/acme" } : {}),
        },
      });
    const log = () => readFileSync(path.join(backups, "backups.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    return { dir, backups, remote, run, log };
  }

  it("with off-host copies, a good dump is copied by rclone to the tenant's folder and the run records it", () => {
    const box = sandbox("ok", "ok");
    writeFileSync(path.join(box.backups, "20261101T000000Z.dump"), "older, never copied");
    const result = box.run("once");
    expect(result.status, result.stderr).toBe(0);
    const [entry] = box.log();
    expect(entry).toMatchObject({ result: "ok", offsite: "ok" });
    const call = readFileSync(path.join(box.dir, "rclone-call"), "utf8").split("\n");
    expect(call[0]).toBe("copy");
    expect(call.slice(-3, -1)).toEqual([box.backups, "offsite:acme-backups/platform/qa/acme"]);
    // Every dump the remote lacks goes, so one missed by an outage is sent by the next run.
    expect(readdirSync(box.remote).sort()).toEqual(["20261101T000000Z.dump", `${entry!.id}.dump`]);
    expect(existsSync(path.join(box.dir, "hook-call"))).toBe(false);
    expect(box.run("check").status).toBe(0);
  });

  it("a failed off-host copy keeps the dump but is never silent: exit 1, the hook gets the line, the health check fails", () => {
    const box = sandbox("ok", "fail");
    const result = box.run("once");
    expect(result.status).toBe(1);
    const [entry] = box.log();
    expect(entry).toMatchObject({ result: "ok", offsite: "failed" });
    expect(entry!.offsiteError).toContain("AccessDenied: Access Denied");
    expect(readdirSync(box.backups)).toContain(`${entry!.id}.dump`);
    const hook = readFileSync(path.join(box.dir, "hook-call"), "utf8");
    expect(hook).toContain('"offsite":"failed"');
    expect(hook).toContain(`"id":"${entry!.id}"`);
    const check = box.run("check");
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/^latest off-host copy failed: .*AccessDenied/m);
  });

  it("without off-host copies configured, rclone is never called and the line has no offsite field", () => {
    const box = sandbox("ok");
    expect(box.run("once").status).toBe(0);
    expect(box.log()[0]).not.toHaveProperty("offsite");
    expect(existsSync(path.join(box.dir, "rclone-call"))).toBe(false);
  });

  it("a successful run leaves a dump and records time, size, duration and result", () => {
    const box = sandbox("ok");
    const result = box.run("once");
    expect(result.status).toBe(0);
    const [entry] = box.log();
    expect(entry).toMatchObject({ result: "ok", sizeBytes: "PGDMP-fake".length, error: "" });
    expect(entry!.id).toMatch(/^[0-9]{8}T[0-9]{6}Z$/);
    expect(typeof entry!.durationSeconds).toBe("number");
    expect(Date.parse(entry!.time as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(readdirSync(box.backups).filter((f) => f.endsWith(".dump"))).toEqual([`${entry!.id}.dump`]);
    expect(existsSync(path.join(box.dir, "hook-call"))).toBe(false);
    expect(entry).not.toHaveProperty("reason");
  });

  it("a named run carries its reason in the dump's name and log line; a bad reason is refused before any dump", () => {
    const box = sandbox("ok");
    const result = box.run("once", "pre-release-api");
    expect(result.status).toBe(0);
    const [entry] = box.log();
    expect(entry).toMatchObject({ result: "ok", reason: "pre-release-api" });
    expect(entry!.id).toMatch(/^[0-9]{8}T[0-9]{6}Z-pre-release-api$/);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual(entry);
    expect(readdirSync(box.backups).filter((f) => f.endsWith(".dump"))).toEqual([`${entry!.id}.dump`]);

    for (const bad of ["Pre-Release", "-x", "a b", "../x", "x".repeat(64)]) {
      const refused = box.run("once", bad);
      expect(refused.status, bad).toBe(2);
      expect(refused.stderr).toMatch(/platform-backup: reason/);
    }
    expect(box.log()).toHaveLength(1);
  });

  it("a failed named run is recorded with its reason and makes the health check fail with pg_dump's message", () => {
    const box = sandbox("fail");
    expect(box.run("once", "pre-replace").status).toBe(1);
    expect(box.log()[0]).toMatchObject({ result: "failed", reason: "pre-replace" });
    const check = box.run("check");
    expect(check.status).toBe(1);
    expect(check.stdout.trim()).toMatch(/^latest backup failed: pg_dump: error: could not translate host name +postgres *$/);
  });

  it("a failed run is recorded as failed with pg_dump's message, leaves no partial file and calls the hook", () => {
    const box = sandbox("fail");
    const result = box.run("once");
    expect(result.status).toBe(1);
    const [entry] = box.log();
    expect(entry).toMatchObject({ result: "failed", sizeBytes: 0 });
    expect(entry!.error).toContain("could not translate host name");
    expect(readdirSync(box.backups).filter((f) => f !== "backups.jsonl" && f !== ".lock")).toEqual([]);
    const hook = readFileSync(path.join(box.dir, "hook-call"), "utf8");
    expect(hook).toContain("https://hooks.example.com/x");
    expect(hook).toContain('"tenant":"acme"');
    expect(hook).toContain('"result":"failed"');
  });

  it("its health check fails after a failed run and when the newest good dump is overdue", () => {
    const failed = sandbox("fail");
    failed.run("once");
    const afterFailure = failed.run("check");
    expect(afterFailure.status).toBe(1);
    expect(afterFailure.stdout).toContain("latest backup failed: pg_dump: error: could not translate host name");

    const box = sandbox("ok");
    box.run("once");
    expect(box.run("check").status).toBe(0);
    // The same dump, seen two intervals later (EVERY_SECONDS=60: overdue after 90s).
    const [entry] = box.log();
    writeFileSync(path.join(box.backups, "backups.jsonl"), `${JSON.stringify({ ...entry, epoch: Number(entry!.epoch) - 120 })}\n`);
    const overdue = box.run("check");
    expect(overdue.status).toBe(1);
    expect(overdue.stdout).toMatch(/^backup overdue: the newest good dump is 12[0-9]s old, every 60s$/m);
  });

  it("retention keeps the newest dump of each of the last N days and M weeks", () => {
    const box = sandbox("ok");
    // 2026-11-23 (Mon, week 48), 11-22 twice (Sun, week 47), 11-21 (Sat, week 47), 11-13 (week 46), 11-05 (week 45).
    const files = ["20261123T010000Z", "20261122T180000Z", "20261122T010000Z", "20261121T010000Z", "20261113T010000Z", "20261105T010000Z"];
    for (const f of files) writeFileSync(path.join(box.backups, `${f}.dump`), "x");
    expect(box.run("prune").status).toBe(0);
    const kept = readdirSync(box.backups).filter((f) => f.endsWith(".dump")).sort().reverse();
    // Daily (2): 11-23, 11-22 18:00; weekly (4): weeks 48, 47 (the same two), 46, 45. The other two go.
    expect(kept).toEqual(["20261123T010000Z.dump", "20261122T180000Z.dump", "20261113T010000Z.dump", "20261105T010000Z.dump"]);
  });

  it("retention treats each reason's named dumps as a series of its own under the same rules", () => {
    const box = sandbox("ok");
    const scheduled = ["20261123T040000Z", "20261123T010000Z", "20261122T010000Z", "20261121T010000Z"];
    const release = ["20261123T031500Z-pre-release-api", "20261123T020000Z-pre-release-api", "20261122T120000Z-pre-release-api", "20261120T120000Z-pre-release-api"];
    const other = ["20261101T000000Z-pre-replace"];
    for (const f of [...scheduled, ...release, ...other, "notes.dump"]) writeFileSync(path.join(box.backups, f.endsWith(".dump") ? f : `${f}.dump`), "x");
    expect(box.run("prune").status).toBe(0);
    const kept = readdirSync(box.backups).filter((f) => f.endsWith(".dump")).sort().reverse();
    // KEEP_DAILY=2, KEEP_WEEKLY=4 for each series: the scheduled 04:00 dump does not push out the 03:15 pre-release dump
    // of the same day; each series keeps its newest of the last 2 days and of weeks 48, 47; a lone old series keeps its one.
    expect(kept).toEqual([
      "notes.dump",
      "20261123T040000Z.dump",
      "20261123T031500Z-pre-release-api.dump",
      "20261122T120000Z-pre-release-api.dump",
      "20261122T010000Z.dump",
      "20261101T000000Z-pre-replace.dump",
    ]);
  });
});
