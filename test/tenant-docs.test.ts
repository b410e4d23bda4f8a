import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderJsonSchema } from "../cli/write-json-schema";
import { PROJECT_ROOT } from "./program-harness";
import { validate } from "./validation-fixtures";

/** The docs this suite owns: tenants/README.md and the JSON Schema (whether tenants/schema.json is current is a live-folder check). */
const readmeExample = () =>
  /## Annotated example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readFileSync(path.join(PROJECT_ROOT, "tenants", "README.md"), "utf8"))?.[1];

describe("editor support and the format reference", () => {
  it("the JSON Schema refuses unknown keys and knows the fields editors should complete", () => {
    const schema = JSON.parse(renderJsonSchema()) as { additionalProperties: boolean; properties: Record<string, unknown> };
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["name", "environments", "services", "database", "cache", "overrides", "retiring", "host"]),
    );
  });

  it("the annotated example starts with the line that points editors at the schema", () => {
    expect(readmeExample()?.split("\n")[0]).toBe("# yaml-language-server: $schema=./schema.json");
  });

  it("the annotated example in tenants/README.md is a valid tenant", () => {
    const example = readmeExample();
    expect(example).toBeDefined();
    expect(validate({ "tenants/shop.yaml": example!.replace("secrets: [STRIPE_KEY]", "secrets: []") })).toEqual([]);
  });
});
