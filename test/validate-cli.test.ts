import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runValidate } from "../cli/validate";
import { TABLE_WIDTH, type TenantSummary } from "../cli/validate-report";
import { EXAMPLE_TENANTS, PROJECT_ROOT } from "./program-harness";
import { minimalTenant } from "./validation-fixtures";

/** The CLI on a project of its own (fixture stack files, the example tenant set), never on the live tenants/. */

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "platform-validate-"));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A project root: the fixture stack files, and `tenants` as its tenants/ folder. */
function project(tenants: string | Record<string, string> = EXAMPLE_TENANTS): string {
  const root = mkdtempSync(path.join(tmpdir(), "platform-validate-project-"));
  cpSync(path.join(__dirname, "fixtures", "stacks"), root, { recursive: true });
  if (typeof tenants === "string") cpSync(tenants, path.join(root, "tenants"), { recursive: true });
  else {
    mkdirSync(path.join(root, "tenants"));
    for (const [file, text] of Object.entries(tenants)) writeFileSync(path.join(root, "tenants", file), text);
  }
  return root;
}

/** The lines of one stack's block in the table. */
function stackBlock(table: string, stack: string): string[] {
  const lines = table.split("\n");
  const start = lines.indexOf(lines.find((l) => l.startsWith(`stack ${stack}:`))!);
  const end = lines.findIndex((l, i) => i > start && (l.startsWith("stack ") || / tenant\(s\) valid$/.test(l)));
  return lines.slice(start, end);
}

describe("npm run validate", () => {
  it("checks tenants/ by default and shows, per stack, each service's Docker host, replicas and URLs", () => {
    const result = runValidate([], project());
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/\n4 tenant\(s\) valid\n$/);

    const production = stackBlock(result.stdout, "production");
    expect(production[0]).toBe("stack production: 3 tenant(s)");
    expect(production).toContain("  docker host eu-2  ssh://deploy@prod-2.example.net");
    expect(production.find((l) => l.includes(" tenant "))).toMatch(/^  tenant\s+service\s+host\s+replicas\s+urls$/);
    // A service away from home shows its own Docker host; each URL of a service has a line of its own.
    expect(production.join("\n")).toMatch(/\n {12}resolver\s+eu-2\s+2  https:\/\/wishlist-resolver\.apps\.example\.com\/\n/);
    expect(production.join("\n")).toMatch(/\n  acme\s+web\s+eu-1\s+2  https:\/\/acme\.apps\.example\.com\/\n {36,}https:\/\/shop\.acme\.example\/\n/);
    expect(production.join("\n")).toMatch(/\n\s+worker\s+eu-1\s+1  \(internal\)\n/);

    const staging = stackBlock(result.stdout, "staging");
    expect(staging[0]).toBe("stack staging: 4 tenant(s)");
    expect(staging.join("\n")).toMatch(/\n  calendar\s+app\s+eu-1\s+1  https:\/\/calendar-staging\.staging\.example\.com\/\n/);
    expect(staging.join("\n")).toMatch(/\n\s+resolver\s+eu-1\s+1  /);
    expect(result.stdout.split("\n").every((line) => line.length <= TABLE_WIDTH)).toBe(true);
  });

  it("fits 100 columns with long names: URLs then go on lines of their own", () => {
    const name = "a-rather-long-tenant-name-for-the-table";
    const tenant = minimalTenant(name)
      .replace("  web:", "  a-long-service-name-for-tables:")
      .replace("routes: []", `routes:\n      - host: www.${name}.example.org\n        path: /very/long/path/for/the/table`);
    const result = runValidate([], project({ [`${name}.yaml`]: tenant }));
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines.every((line) => line.length <= TABLE_WIDTH), result.stdout).toBe(true);
    const row = lines.findIndex((l) => l.startsWith(`  ${name}  a-long-service-name-for-tables  eu-1  `));
    expect(row).toBeGreaterThan(0);
    expect(lines[row + 1]).toBe(`      https://${name}.apps.example.com/`);
    expect(lines[row + 2]).toBe(`      https://www.${name}.example.org/very/long/path/for/the/table`);
  });

  it("--json keeps everything the table shows, with each Docker host's endpoint", () => {
    const result = runValidate(["--json"], project());
    const report = JSON.parse(result.stdout) as { valid: boolean; tenants: TenantSummary[]; errors: unknown[] };
    expect(result.exitCode).toBe(0);
    expect(report.valid).toBe(true);
    expect(report.errors).toEqual([]);
    const wishlist = report.tenants.find((t) => t.name === "wishlist")!;
    expect(wishlist.stacks).toEqual(["production", "staging"]);
    expect(wishlist.services).toEqual(["frontend", "api", "resolver", "worker"]);
    expect(wishlist.placement.production!.homeHost).toBe("eu-1");
    expect(wishlist.placement.production!.services.find((s) => s.name === "resolver")).toEqual({
      name: "resolver",
      host: "eu-2",
      dockerHost: "ssh://deploy@prod-2.example.net",
      replicas: 2,
      urls: ["https://wishlist-resolver.apps.example.com/"],
    });
    expect(wishlist.placement.production!.services.find((s) => s.name === "api")!.urls).toEqual([
      "https://wishlist-api.apps.example.com/",
      "https://api.wishwith.example/",
    ]);
    expect(wishlist.hosts.production).toContain("api.wishwith.example");
    expect(report.tenants.find((t) => t.name === "calendar")!.stacks).toEqual(["staging"]);
  });

  it("a retiring tenant shows that only its data is kept", () => {
    const retiring = `${minimalTenant("oldco")}database:\n  postgres: { version: "16" }\nretiring: true\n`;
    const result = runValidate([], project({ "oldco.yaml": retiring }));
    expect(result.exitCode).toBe(0);
    expect(stackBlock(result.stdout, "staging").join("\n")).toMatch(/\n  oldco\s+-\s+eu-1\s+-  \(retiring: only the data volume is kept\)/);
    const report = JSON.parse(runValidate(["--json"], project({ "oldco.yaml": retiring })).stdout) as { tenants: TenantSummary[] };
    expect(report.tenants[0]!.placement.staging).toEqual({ homeHost: "eu-1", retiring: true, services: [] });
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
    expect(run(tempFile("acme.yaml", minimalTenant())).status).toBe(0);
    const bad = run(tempFile("acme.yaml", "name: acme\n"));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("services: is required (a map of keys to values)");
    expect(run("--nope").status).toBe(2);
  });
});
