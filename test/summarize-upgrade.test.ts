import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runSummarize } from "../cli/summarize";
import { POSTGRES_UPGRADE_DOWNTIME } from "../preview/dangers";

// The PR summary of a Postgres major upgrade and of its rollback, from `pulumi preview --json --show-sames` recorded
// on the real engine by test/e2e/upgrade.e2e.ts (E2E_RECORD_PREVIEWS=1): tenant alpha, 15 → 17, then back to 15.
const summarize = (name: string) => runSummarize(["--fail-on-danger", path.join(__dirname, "fixtures", "preview", `${name}.json`)]);
const dangerLines = (markdown: string) =>
  (markdown.split("<details>")[0]!.split("#### ⚠ Dangerous changes\n\n")[1] ?? "").split("\n\n")[0]!.split("\n").filter(Boolean);

describe("PR summary of a Postgres major version change", () => {
  it("an upgrade comes first and explains each step in order, the volumes by name, and the expected downtime", () => {
    const result = summarize("postgres-upgrade");
    expect(result.exitCode).toBe(1);
    const [upgrade] = dangerLines(result.stdout);
    expect(upgrade).toMatch(/^- \*\*Postgres major upgrade for tenant `alpha`: 15 → 17\*\*/);
    const steps = ["(1) writes to Postgres 15 are blocked", "a dump `<time>-upgrade-pg15-to-pg17`", "(2) the new volume `platform-e2e-alpha-pgdata-pg17` is created",
      "(3) a throw-away Postgres 17 restores the dump", "(4) the database container switches to it", "(5) the old volume `platform-e2e-alpha-pgdata-pg15` stays declared, retained and protected",
      `Expected downtime: writes are blocked ${POSTGRES_UPGRADE_DOWNTIME.writesBlocked}; reads only while the container switches, ${POSTGRES_UPGRADE_DOWNTIME.switch}`, "A failure at any step stops the deployment with Postgres 15 serving as before."];
    const positions = steps.map((step) => upgrade!.indexOf(step));
    expect(positions.every((at) => at >= 0), `missing: ${steps.filter((_, i) => positions[i]! < 0).join(" | ")}`).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(result.stdout).not.toContain("decrease");
  });

  it("going back to 15 is flagged as a decrease onto the retained volume, with what is not carried over", () => {
    const result = summarize("postgres-rollback");
    expect(result.exitCode).toBe(1);
    expect(dangerLines(result.stdout)[0]).toBe(
      "- **Postgres major version decrease for tenant `alpha`: 17 → 15.** The database goes back to the retained volume `platform-e2e-alpha-pgdata-pg15`, with its data as it was when Postgres 15 last ran: everything written on 17 since is not carried over (it stays in `platform-e2e-alpha-pgdata-pg17`, retained). See [the major-version upgrade](docs/decommission.md#postgres-major-version-upgrade).",
    );
    expect(result.stdout).not.toContain("Postgres major upgrade");
  });
});
