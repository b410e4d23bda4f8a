import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDb } from "../cli/db";
import { LISTING_MARKER, parseBackupListing, summarize } from "../db/backup-log";

/** `npm run db` (issue 13): usage errors, an unreachable host, and reading the backup log. */

let project: string;
beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), "platform-db-cli-"));
  writeFileSync(path.join(project, "Pulumi.yaml"), "name: platform\nruntime: nodejs\n");
  writeFileSync(
    path.join(project, "Pulumi.qa.yaml"),
    `config:
  platform:domain: qa.example.com
  platform:hosts:
    local: { url: "unix://${project}/no-engine.sock" }
  platform:tls: none
`,
  );
  mkdirSync(path.join(project, "tenants"));
  const tenant = (name: string, database: boolean) =>
    `name: ${name}\nservices:\n  web:\n    image: registry.example.com/${name}/web:1.0.0\n    port: 8080\n${database ? 'database:\n  postgres: { version: "16" }\n' : ""}`;
  writeFileSync(path.join(project, "tenants", "acme.yaml"), tenant("acme", true));
  writeFileSync(path.join(project, "tenants", "plain.yaml"), tenant("plain", false));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

const db = (...args: string[]) => runDb([...args, "--cwd", project]);

describe("npm run db: usage", () => {
  it.each([
    [["list", "acme"], "--stack is required"],
    [["--stack", "qa"], "a command is required"],
    [["drop", "acme", "--stack", "qa"], 'unknown command "drop" (backup, list, restore)'],
    [["list", "--stack", "qa"], "a tenant is required"],
    [["list", "acme", "--stack", "qa", "--force"], "Unknown option '--force'"],
    [["list", "acme", "--stack", "qa", "--at", "20261124T030000Z"], "--at is only for restore"],
    [["restore", "acme", "--stack", "qa", "--at", "yesterday"], '--at "yesterday" is not a backup id like 20261124T030000Z'],
    [["restore", "acme", "--stack", "qa", "--at", "20261124T030000Z-Pre"], '--at "20261124T030000Z-Pre" is not a backup id like 20261124T030000Z or 20261124T030000Z-pre-release-api'],
    [["list", "acme", "--stack", "qa", "--reason", "pre-fix"], "--reason is only for backup"],
    [["backup", "acme", "--stack", "qa", "--reason", "before fix"], '--reason "before fix" is not lowercase letters, digits and dashes'],
    [["list", "acme", "--stack", "prod"], 'unknown stack "prod" (stacks: qa)'],
    [["list", "nobody", "--stack", "qa"], 'unknown tenant "nobody" in stack qa (tenants: acme, plain)'],
    [["backup", "plain", "--stack", "qa"], "tenant plain has no database in stack qa"],
  ])("%j exits 2: %s", async (args, message) => {
    const result = await db(...args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("usage: npm run db --");
  });
});

describe("npm run db: an unreachable host", () => {
  it("is one line naming tenant, step and host, exit 1, and JSON with --json", async () => {
    const text = await db("list", "acme", "--stack", "qa");
    expect(text.exitCode).toBe(1);
    expect(text.stderr.trim().split("\n")).toHaveLength(1);
    expect(text.stderr).toMatch(new RegExp(`^db: acme: find the backups volume: host local \\(unix://${project}/no-engine\\.sock\\) unreachable: .+`));
    const json = await db("backup", "acme", "--stack", "qa", "--json");
    expect(json.exitCode).toBe(1);
    expect((JSON.parse(json.stdout) as { error: string }).error).toMatch(/^acme: find the backup container: host local .* unreachable/);
    // A named dump's id is a valid --at (the host is what fails here, not the usage).
    const named = await db("restore", "acme", "--stack", "qa", "--at", "20261124T031500Z-pre-release-api");
    expect(named.exitCode).toBe(1);
    expect(named.stderr).toMatch(/^db: acme: find the backups volume: host local .* unreachable/);
  });
});

describe("the backup log", () => {
  const line = (id: string, time: string, result: "ok" | "failed", size = 1234, reason?: string) =>
    JSON.stringify({ id, time, epoch: Date.parse(time) / 1000, result, sizeBytes: result === "ok" ? size : 0, durationSeconds: 2, error: result === "ok" ? "" : "pg_dump: connection refused", ...(reason ? { reason } : {}) });
  const listing = [
    line("20261122T030000Z", "2026-11-22T03:00:00Z", "ok"),
    line("20261122T120000Z-pre-release-api", "2026-11-22T12:00:00Z", "ok", 4096, "pre-release-api"),
    "{cut short by a full dis",
    line("20261123T030000Z", "2026-11-23T03:00:00Z", "ok", 2048),
    line("20261124T030000Z", "2026-11-24T03:00:00Z", "failed"),
    LISTING_MARKER,
    "backups.jsonl",
    "20261123T030000Z.dump",
    "20261122T120000Z-pre-release-api.dump",
  ].join("\n");

  it("lists every run with what it recorded, and which dumps retention removed", () => {
    const runs = parseBackupListing(listing);
    expect(runs.map((r) => [r.id, r.result, r.sizeBytes, r.present, r.reason])).toEqual([
      ["20261122T030000Z", "ok", 1234, false, ""],
      ["20261122T120000Z-pre-release-api", "ok", 4096, true, "pre-release-api"],
      ["20261123T030000Z", "ok", 2048, true, ""],
      ["20261124T030000Z", "failed", 0, false, ""],
    ]);
    expect(runs[3]!.error).toBe("pg_dump: connection refused");
  });

  it("reads each run's off-host copy: ok, failed with rclone's message, or none configured", () => {
    const runs = parseBackupListing(
      [
        JSON.stringify({ ...JSON.parse(line("20261123T030000Z", "2026-11-23T03:00:00Z", "ok")), offsite: "ok" }),
        JSON.stringify({ ...JSON.parse(line("20261124T030000Z", "2026-11-24T03:00:00Z", "ok")), offsite: "failed", offsiteError: "AccessDenied: Access Denied" }),
        line("20261125T030000Z", "2026-11-25T03:00:00Z", "ok"),
        LISTING_MARKER,
      ].join("\n"),
    );
    expect(runs.map((r) => [r.id, r.result, r.offsite, r.offsiteError])).toEqual([
      ["20261123T030000Z", "ok", "ok", ""],
      ["20261124T030000Z", "ok", "failed", "AccessDenied: Access Denied"],
      ["20261125T030000Z", "ok", "", ""],
    ]);
  });

  it("is overdue once the newest successful run is older than 1.5 schedule intervals, and when there is none", () => {
    const runs = parseBackupListing(listing);
    const day = 86_400;
    expect(summarize(runs, day, new Date("2026-11-24T12:00:00Z"))).toMatchObject({ overdue: false, ageSeconds: 33 * 3600 });
    expect(summarize(runs, day, new Date("2026-11-24T15:00:01Z"))).toMatchObject({ overdue: true });
    expect(summarize(runs, 6 * 3600, new Date("2026-11-23T11:00:00Z")).overdue).toBe(false);
    expect(summarize(runs, 6 * 3600, new Date("2026-11-23T12:00:01Z")).overdue).toBe(true);
    expect(summarize(parseBackupListing(`${line("20261124T030000Z", "2026-11-24T03:00:00Z", "failed")}\n${LISTING_MARKER}\n`), day, new Date("2026-11-24T03:01:00Z"))).toMatchObject({ overdue: true, lastSuccess: null });
  });
});
