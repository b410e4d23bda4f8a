import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { runValidate } from "../cli/validate";
import { PROJECT_ROOT } from "./program-harness";

/**
 * Onboarding keeps the suite green: in a copy of this repo, a newcomer's tenant of a shape no example has is
 * added (its secret set in the stack files) and an existing tenant is removed, and the live-folder checks
 * (live-tenants.test.ts) must still pass there. Every other test reads fixtures, never tenants/.
 */

// Not copied: dependencies (linked instead), history, and the large local engine and dev state.
const NOT_COPIED = new Set(["node_modules", ".git", ".engine", ".pulumi-state"]);
const NEWCOMER = "ledgerly";
const SECRET = "LEDGER_API_KEY";

// Two routed services, one moved to a second host in production where it has one, a worker, Postgres 17 and
// Redis, and a secret.
const newcomerTenant = (productionHost: string | undefined) => `name: ${NEWCOMER}
services:
  api:
    image: registry.example.com/${NEWCOMER}/api:3.1.0
    port: 8080
    replicas: 3
    routes:
      - host: books.${NEWCOMER}.example
    healthcheck: { command: [/app/bin/health], interval: 20s }
    resources: { cpus: 1, memory: 768Mi }
    env: { SPRING_PROFILES_ACTIVE: cloud }
    secrets: [${SECRET}]
  admin:
    image: registry.example.com/${NEWCOMER}/admin:3.1.0
    port: 3000
    routes: []
  jobs:
    image: registry.example.com/${NEWCOMER}/api:3.1.0
    command: [java, -jar, /app/jobs.jar]
database:
  postgres: { version: "17" }
cache:
  redis: { version: "7" }
${productionHost ? `overrides:\n  production:\n    services:\n      admin: { host: ${productionHost} }\n` : ""}`;

let root: string;
let removed: string | undefined;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "platform-repo-copy-"));
  cpSync(PROJECT_ROOT, root, { recursive: true, filter: (source) => !NOT_COPIED.has(path.relative(PROJECT_ROOT, source)) });
  symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(root, "node_modules"), "dir");

  const tenants = path.join(root, "tenants");
  removed = readdirSync(tenants).filter((f) => f.endsWith(".yaml")).sort()[0];
  if (removed) unlinkSync(path.join(tenants, removed));
  writeFileSync(path.join(tenants, `${NEWCOMER}.yaml`), newcomerTenant(secondProductionHost()));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A host of the production stack other than its first, if it has one. */
function secondProductionHost(): string | undefined {
  const file = path.join(PROJECT_ROOT, "Pulumi.production.yaml");
  const hosts = parseDocument(readFileSync(file, "utf8")).toJS()?.config?.["platform:hosts"] as object | undefined;
  return Object.keys(hosts ?? {})[1];
}

/**
 * Sets the newcomer's secret as `pulumi config set --secret` would, in every stack file that does not generate
 * placeholder secrets. The value is never decrypted in tests (the harness stands in a plaintext for every
 * `secure:` entry), so any well-formed ciphertext does.
 */
function setNewcomerSecret(): void {
  for (const name of readdirSync(root).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f) && f !== "Pulumi.yaml")) {
    const file = path.join(root, name);
    const document = parseDocument(readFileSync(file, "utf8"));
    if (document.getIn(["config", "platform:dev", "placeholderSecrets"]) === true) continue;
    document.setIn(["config", "platform:secrets", NEWCOMER, SECRET], { secure: "v1:bmV3Y29tZXI=:c2VjcmV0LXNldC1ieS10aGUtdGVhbQ==" });
    writeFileSync(file, document.toString());
  }
}

describe("adding and removing tenant files in a copy of the repo", () => {
  it("the newcomer's secret must be set: until then `npm run validate` names it", () => {
    const result = runValidate([], root);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`pulumi config set --secret --path 'secrets.${NEWCOMER}.${SECRET}'`);
  });

  it("with the secret set, the live-folder checks pass on the changed tenant set", () => {
    setNewcomerSecret();
    const report = JSON.parse(runValidate(["--json"], root).stdout) as { valid: boolean; tenants: { name: string; file: string }[] };
    expect(report.valid).toBe(true);
    expect(report.tenants.map((t) => t.name)).toContain(NEWCOMER);
    if (removed) expect(report.tenants.map((t) => path.basename(t.file))).not.toContain(removed);

    // A separate vitest, as `npm test` would run there; its VITEST_* variables would confuse the nested run.
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST"))), NO_COLOR: "1", FORCE_COLOR: "0" };
    const run = spawnSync(process.execPath, [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", "test/live-tenants.test.ts"], {
      cwd: root,
      env,
      encoding: "utf8",
      timeout: 90_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/Tests\s+\d+ passed/);
  }, 120_000);
});
