import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderJsonSchema, SCHEMA_PATH } from "../cli/write-json-schema";
import { PROJECT_ROOT } from "./program-harness";
import { validate } from "./validation-fixtures";

const tenantsDir = path.join(PROJECT_ROOT, "tenants");

describe("editor support and the format reference", () => {
  it("tenants/schema.json is generated from the current zod schema (run `npm run schema` after changing it)", () => {
    expect(readFileSync(SCHEMA_PATH, "utf8")).toBe(renderJsonSchema());
  });

  it("the JSON Schema refuses unknown keys and knows the fields editors should complete", () => {
    const schema = JSON.parse(renderJsonSchema()) as { additionalProperties: boolean; properties: Record<string, unknown> };
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["name", "environments", "services", "database", "cache", "overrides", "retiring", "host"]),
    );
  });

  it("every tenant file points editors at the schema on its first line", () => {
    for (const file of readdirSync(tenantsDir).filter((f) => f.endsWith(".yaml")))
      expect(readFileSync(path.join(tenantsDir, file), "utf8").split("\n")[0], file).toBe("# yaml-language-server: $schema=./schema.json");
  });

  it("the annotated example in tenants/README.md is a valid tenant", () => {
    const readme = readFileSync(path.join(tenantsDir, "README.md"), "utf8");
    const example = /## Annotated example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    expect(validate({ "tenants/shop.yaml": example!.replace("secrets: [STRIPE_KEY]", "secrets: []") })).toEqual([]);
  });
});
