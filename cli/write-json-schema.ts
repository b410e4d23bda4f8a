import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { tenantJsonSchema } from "../model/tenant-schema";

/** `npm run schema`: regenerates tenants/schema.json from the zod schema (a test fails when it is stale). */
export const SCHEMA_PATH = path.resolve(__dirname, "..", "tenants", "schema.json");

export function renderJsonSchema(): string {
  return `${JSON.stringify(tenantJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(SCHEMA_PATH, renderJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_PATH)}`);
}
