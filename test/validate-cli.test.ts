import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runValidate } from "../cli/validate";
import { PROJECT_ROOT } from "./program-harness";
import { minimalTenant } from "./validation-fixtures";

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "platform-validate-"));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("npm run validate", () => {
  it("checks tenants/ by default and prints a table of tenants, stacks, services and hosts", () => {
    const result = runValidate([]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^tenant\s+stacks\s+services\s+hosts/);
    expect(result.stdout).toMatch(/\ncalendar\s+staging\s+app\s+calendar-staging\.staging\.example\.com/);
    expect(result.stdout).toContain("4 tenant(s) valid");
  });

  it("--json gives bots the same results", () => {
    const result = runValidate(["--json"]);
    const report = JSON.parse(result.stdout) as { valid: boolean; tenants: { name: string; stacks: string[] }[]; errors: unknown[] };
    expect(result.exitCode).toBe(0);
    expect(report.valid).toBe(true);
    expect(report.errors).toEqual([]);
    expect(report.tenants.find((t) => t.name === "acme")?.stacks).toEqual(["dev", "production", "staging"]);
  });

  it("checks files anywhere on disk and exits 1 with one line per problem", () => {
    const file = tempFile("acme.yaml", minimalTenant().replace("port: 8080", "port: web"));
    const result = runValidate([file]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`${file}:5:5 services.web.port: expected a number, got "web"`);
    expect(result.stderr).toContain("1 problem(s) in 1 file(s)");
  });

  it("--json reports errors with their location", () => {
    const file = tempFile("acme.yaml", minimalTenant().replace("port: 8080", "port: web"));
    const report = JSON.parse(runValidate(["--json", file]).stdout) as { valid: boolean; errors: { line: number; path: string }[] };
    expect(report.valid).toBe(false);
    expect(report.errors).toEqual([expect.objectContaining({ line: 5, column: 5, path: "services.web.port" })]);
  });

  it("exits 2 on an unknown flag or a missing path", () => {
    expect(runValidate(["--strict"])).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('unknown option "--strict"') });
    expect(runValidate(["no/such/file.yaml"])).toMatchObject({ exitCode: 2, stderr: expect.stringContaining("no such file or directory: no/such/file.yaml") });
  });

  it("runs as a command with the documented exit codes", () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "cli/validate.ts", ...args], { cwd: PROJECT_ROOT, encoding: "utf8" });
    expect(run().status).toBe(0);
    const bad = run(tempFile("acme.yaml", "name: acme\n"));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("services: is required (a map of keys to values)");
    expect(run("--nope").status).toBe(2);
  });
});
