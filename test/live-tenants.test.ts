import * as path from "node:path";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runValidate } from "../cli/validate";
import { renderJsonSchema, SCHEMA_PATH } from "../cli/write-json-schema";
import { formatDiagnostic } from "../model/diagnostics";
import { readTenantDirectory } from "../model/project-files";
import { validateTenants } from "../model/validate";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import { ofType, PROJECT_ROOT, runProgram, stackConfig } from "./program-harness";

/**
 * The only tests that read the live tenants/ folder. They hold for any set of valid tenant files, so a team
 * adding or removing a tenant (with its secrets set in the stack files) never has to touch a test; behaviour is
 * asserted on fixture sets under test/fixtures/tenants/. live-tenants-copy.test.ts runs this file against a copy
 * of the repo with a tenant added and one removed.
 */

const stacks = loadStacksFromFiles(PROJECT_ROOT);

describe("the live tenants/ folder", () => {
  it("the stack files are valid", () => {
    expect(stacks.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(stacks.stacks.length).toBeGreaterThan(0);
  });

  it("`npm run validate` passes: every tenant file is valid for every stack", () => {
    const result = runValidate([], PROJECT_ROOT);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  });

  it("tenants/schema.json is generated from the current zod schema (run `npm run schema` after changing it)", () => {
    expect(readFileSync(SCHEMA_PATH, "utf8")).toBe(renderJsonSchema());
  });

  describe.each(stacks.stacks.map((s) => s.name))("stack %s", (name) => {
    const stack = stacks.stacks.find((s) => s.name === name)!;

    it("the program evaluates under mocks with the stack file's config and secrets, declaring each of its tenants", async () => {
      // The tenants the program should declare, read the way index.ts reads them (the stack's own tenantsDir).
      const files = readTenantDirectory(path.resolve(PROJECT_ROOT, stack.tenantsDir));
      const validation = validateTenants({ files, stacks: [stack], stackNames: stacks.stackNames });
      expect(validation.diagnostics.map(formatDiagnostic)).toEqual([]);

      const run = await runProgram(name, stackConfig(name, PROJECT_ROOT));
      expect(run.error?.message).toBeUndefined();
      const declared = ofType(run, "platform:index:Tenant").map((r) => r.name).sort();
      expect(declared).toEqual((validation.plans[name] ?? []).map((p) => p.name).sort());
      expect(Object.keys(run.outputs.tenants as object).sort()).toEqual(declared);
      expect(JSON.stringify(run.outputs)).not.toContain("plaintext-secret");
    });
  });
});
