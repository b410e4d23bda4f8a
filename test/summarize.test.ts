import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runSummarize } from "../cli/summarize";
import { EDGE_REPLACEMENT_COST } from "../preview/dangers";
import { parsePreview, UNKNOWN_VALUE, type PreviewDigest } from "../preview/digest";
import { summarizePreview } from "../preview/summarize";

const FIXTURES = path.join(__dirname, "fixtures", "preview");
const fixture = (name: string) => path.join(FIXTURES, `${name}.json`);
const digestOf = (name: string): PreviewDigest => {
  const parsed = parsePreview(fs.readFileSync(fixture(name), "utf8"), name);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.digest;
};
const summarize = (name: string, ...args: string[]) => runSummarize([...args, fixture(name)]);
/** The part of the comment above the collapsed details: what a reviewer reads first. */
const visible = (markdown: string) => markdown.split("<details>")[0]!;
const dangerLines = (markdown: string) =>
  (visible(markdown).split("#### ⚠ Dangerous changes\n\n")[1] ?? "").split("\n\n")[0]!.split("\n").filter(Boolean);

const ALL = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, ""));

describe("recorded `pulumi preview --json` output", () => {
  it.each(ALL)("%s parses", (name) => {
    expect(parsePreview(fs.readFileSync(fixture(name), "utf8"), name).ok).toBe(true);
  });

  it.each(ALL.filter((name) => !name.startsWith("failed-")))("%s: per-kind totals match the engine's changeSummary", (name) => {
    const digest = digestOf(name);
    const { changes } = summarizePreview(digest);
    const totals: Record<string, number> = {};
    for (const change of changes) totals[change.kind] = (totals[change.kind] ?? 0) + 1;
    // Reads (the program's StackReference to its own outputs) change nothing, like sames.
    const { same: _same, read: _read, ...engine } = digest.changeSummary ?? {};
    expect(totals).toEqual(engine);
  });
});

describe("npm run summarize", () => {
  it("a plain one-tenant change: one tenant row, no danger, exit 0 even with --fail-on-danger", () => {
    const result = summarize("plain-change", "--fail-on-danger");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("### Pulumi preview: stack `production`");
    // The image and both replicas are replaced; the rollout gate is updated with the new containers' addresses.
    expect(result.stdout).toContain("4 resources change: 0 to create, 1 to update, 3 to replace, 0 to delete.");
    expect(result.stdout).toContain("| tenant `acme` | 0 | 1 | 3 | 0 |");
    expect(result.stdout).not.toContain("Dangerous");
    expect(result.stdout).toContain("- **replace** `acme-web-0`: Container of tenant `acme`, because `image` changed");
    expect(result.stdout).toMatch(/<details><summary>All 4 resource changes<\/summary>[\s\S]*\| replace \| `acme-web-1` \| `docker:index\/container:Container` \| tenant `acme` \| image \(update-replace\) \|/);
  });

  it("the same change recorded with --show-sames gives the same rows (parents found by the parent chain)", () => {
    const owners = (name: string) => summarizePreview(digestOf(name)).changes.map((c) => [c.name, c.kind, c.owner]).sort();
    expect(owners("plain-change-show-sames")).toEqual(owners("plain-change"));
  });

  it("database container replaced", () => {
    const result = summarize("database-container-replaced", "--fail-on-danger");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe("1 dangerous change(s) planned (--fail-on-danger)\n");
    expect(dangerLines(result.stdout)).toEqual([
      // Recorded before the program declared backups, so without the pre-replace dump (test/named-dumps.test.ts has one).
      "- **The database of tenant `acme` restarts**: its Postgres container `acme-postgres` is replaced (because `image` changed) and the database is down until the new one is healthy. **No dump is taken first** (this stack keeps no backups of it).",
    ]);
    expect(summarize("database-container-replaced").exitCode).toBe(0);
  });

  it("database volume deleted", () => {
    const { stdout } = summarize("database-volume-deleted");
    expect(dangerLines(stdout)).toEqual([
      "- **Tenant `calendar` loses its database volume** `platform-staging-calendar-pgdata-pg16`: it leaves the stack and is retained on the host, orphaned (no database uses it any more).",
      "- **The database container of tenant `calendar` is deleted** (`calendar-postgres`): the tenant's database stops.",
    ]);
    expect(stdout).toContain("| tenant `calendar` | 0 | 1 | 1 | 6 |");
    expect(stdout).toContain("- **replace** `calendar-app-0`: Container of tenant `calendar`, because `envs`, `networksAdvanced` changed");
  });

  it("tenant removed: one danger that names the orphaned volume and how to find it", () => {
    const { stdout } = summarize("tenant-removed");
    expect(dangerLines(stdout)).toEqual([
      "- **Tenant `calendar` is removed.** Its database volume `platform-staging-calendar-pgdata-pg16` is retained on the host and orphaned: nothing runs or manages it any more (list: `docker volume ls --filter label=platform.tenant=calendar`).",
    ]);
    expect(stdout).toContain("| tenant `calendar` | 0 | 0 | 0 | 14 |");
  });

  it("edge replaced: every tenant on each host moves to a new Traefik, at what measured cost; only Traefik changes, no tenant", () => {
    const { stdout } = summarize("edge-replaced", "--docs-base", "https://github.com/o/platform/blob/abc123/");
    const cost = `(measured: ${EDGE_REPLACEMENT_COST.failed} failed with ${EDGE_REPLACEMENT_COST.measuredWith}; see [bench/REAL-ENGINE.md](https://github.com/o/platform/blob/abc123/bench/REAL-ENGINE.md))`;
    const line = (host: string) =>
      `- **Every tenant on host \`${host}\` moves to a new Traefik**: Traefik (\`edge-${host}-traefik\`) is replaced (because \`image\` changed). The new one starts beside the old one on the same ports and takes requests only once it routes everything and the old one stops listening ${cost}.`;
    expect(dangerLines(stdout)).toEqual([line("eu-1"), line("eu-2")]);
    expect(EDGE_REPLACEMENT_COST.failed).toMatch(/^\d+ of \d+ requests$/);
    for (const row of ["| edge `eu-1` | 0 | 0 | 2 | 0 |", "| edge `eu-2` | 0 | 0 | 2 | 0 |"]) expect(stdout).toContain(row);
    // Traefik runs in the pause container's namespace: no tenant's network attachment runs again.
    expect(stdout).not.toMatch(/\| tenant `/);
    expect(stdout).not.toContain("-attach");
    expect(stdout).toContain("- **replace** `edge-eu-1-traefik`: Container of edge `eu-1`, because `image` changed");
  });

  it("Postgres major bump: the version change first, with the upgrade guide", () => {
    const lines = dangerLines(summarize("postgres-major-bump").stdout);
    expect(lines[0]).toBe(
      "- **Postgres major version change for tenant `notes`: 15 → 16.** The stack has no record of this tenant's volumes yet (its first deployment by this version of the platform), so this is not an upgrade: the data volume is replaced. Deploy once without the version change, then change it: see [the major-version upgrade](docs/decommission.md#postgres-major-version-upgrade).",
    );
    expect(lines[1]).toContain("Postgres starts on a new, empty volume `platform-staging-notes-pgdata-pg16`; the old data stays in `platform-staging-notes-pgdata-pg15` on the host.");
  });

  it("failed preview (protected volume): plain words and the decommission guide, engine text only in the details", () => {
    const result = summarize("failed-protected-volume-delete", "--docs-base", "https://github.com/o/platform/blob/abc123/");
    const top = visible(result.stdout);
    expect(result.exitCode).toBe(0);
    expect(top).toContain("**❌ The preview failed: nothing in this stack can be deployed until this is fixed.**");
    expect(top).toContain("Pulumi refused to delete the database volume `notes-pgdata` of tenant `notes` because it is protected.");
    expect(top).toContain("[the decommission guide](https://github.com/o/platform/blob/abc123/docs/decommission.md)");
    expect(top).not.toContain("pulumi state unprotect");
    expect(result.stdout.split("<details>")[1]).toContain("pulumi state unprotect");
  });

  it("failed preview (protected volume replaced by a major bump) links the upgrade path", () => {
    const top = visible(summarize("failed-postgres-major-bump-production").stdout);
    expect(top).toContain("Pulumi refused to replace the database volume `notes-pgdata` of tenant `notes` because it is protected");
    expect(top).toContain("(docs/decommission.md#postgres-major-version-upgrade)");
  });

  it("failed preview (invalid tenant file): the program's own problem list, in view, not collapsed", () => {
    const { stdout } = summarize("failed-invalid-tenant");
    expect(stdout).toContain("**❌ The preview failed");
    expect(stdout).toContain("The program refused the tenant or stack files, before planning anything. `npm run validate` shows the same list:");
    expect(stdout).toMatch(/  ```\n  1 problem\(s\) found; nothing was deployed:\n  tenants\/acme\.yaml:\d+:\d+ services\.web\.resources\.memory: /);
    expect(stdout).not.toContain("<details>");
  });

  it("decommission step 2 (file removed after retiring): the tenant and its retained volume", () => {
    const { stdout } = summarize("tenant-decommissioned");
    expect(dangerLines(stdout)).toHaveLength(1);
    expect(stdout).toContain("- **delete** `notes-pgdata`: Volume of tenant `notes` (kept on the host: retain on delete)");
  });

  it("--stdin reads the preview from standard input", () => {
    const text = fs.readFileSync(fixture("plain-change"), "utf8");
    const result = runSummarize(["--stdin"], () => text);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("| tenant `acme` | 0 | 1 | 3 | 0 |");
  });
});

describe("image changes: old → new, in view", () => {
  const imageSection = (markdown: string) => (visible(markdown).split("#### Image changes\n\n")[1] ?? "").split("\n\n")[0]!.split("\n").filter(Boolean);

  it("a tenant's new image: the references from the preview, before the tables", () => {
    const { stdout } = summarize("plain-change");
    expect(imageSection(stdout)).toEqual([
      "- tenant `acme`: `registry.example.com/acme/web:1.4.2` → `registry.example.com/acme/web:1.5.0` (`acme-web-image`)",
    ]);
    expect(stdout.indexOf("#### Image changes")).toBeLessThan(stdout.indexOf("| | creates |"));
  });

  it("Traefik's and Postgres' images too; a container's image id is never shown as a change", () => {
    expect(imageSection(summarize("edge-replaced").stdout)).toEqual([
      "- edge `eu-1`: `traefik:v3.6.12` → `traefik:v3.6.13` (`edge-eu-1-image`)",
      "- edge `eu-2`: `traefik:v3.6.12` → `traefik:v3.6.13` (`edge-eu-2-image`)",
    ]);
    expect(imageSection(summarize("database-container-replaced").stdout)).toEqual([
      "- tenant `acme`: `postgres:16` → `postgres:16.6` (`acme-postgres-image`)",
    ]);
    expect(visible(summarize("database-container-replaced").stdout)).not.toContain("sha256:");
  });

  it("containers that name their image (stacks on local images): one line for a service's replicas", () => {
    const urn = (name: string) => `urn:pulumi:dev::platform::platform:index:Tenant$platform:index:Service$docker:index/container:Container::${name}`;
    const tenant = "urn:pulumi:dev::platform::platform:index:Tenant::shop";
    const step = (name: string, from: string, to: string) => ({
      op: "replace",
      urn: urn(name),
      oldState: { urn: urn(name), type: "docker:index/container:Container", custom: true, parent: tenant, inputs: { image: from } },
      newState: { urn: urn(name), type: "docker:index/container:Container", custom: true, parent: tenant, inputs: { image: to } },
      replaceReasons: ["image"],
    });
    const { markdown, changes } = summarizePreview({
      steps: [
        step("shop-web-0", "platform-local/demo-app:1", "platform-local/demo-app:2"),
        step("shop-web-1", "platform-local/demo-app:1", "platform-local/demo-app:2"),
        step("shop-api-0", "sha256:1111", UNKNOWN_VALUE),
      ],
    });
    expect(imageSection(markdown)).toEqual(["- tenant `shop`: `platform-local/demo-app:1` → `platform-local/demo-app:2` (`shop-web-0`, `shop-web-1`)"]);
    expect(changes.find((c) => c.name === "shop-api-0")!.image).toBeUndefined();
  });

  it("no section when no image reference changes", () => {
    expect(summarize("tenant-removed").stdout).not.toContain("#### Image changes");
  });
});

describe("acknowledging dangerous changes", () => {
  const ack = ["--acknowledge-with", "dangerous-change-ok", "--commit", "0123abc"];

  it("under the dangerous changes: the label, the commit it acknowledges, that a push removes it", () => {
    const top = visible(summarize("database-volume-deleted", ...ack).stdout);
    const afterDangers = top.split("#### ⚠ Dangerous changes\n\n")[1]!.split("\n\n")[1];
    expect(afterDangers).toBe(
      "To deploy them, a reviewer who has read these dangerous changes adds the label `dangerous-change-ok` to the pull request: it acknowledges commit `0123abc` only, and every later push removes it.",
    );
  });

  it("without a commit, just the label", () => {
    expect(summarize("database-volume-deleted", "--acknowledge-with", "dangerous-change-ok").stdout).toContain(
      "adds the label `dangerous-change-ok` to the pull request.",
    );
  });

  it("not said where nothing is dangerous, nor when not asked for", () => {
    expect(summarize("plain-change", ...ack).stdout).not.toContain("dangerous-change-ok");
    expect(summarize("database-volume-deleted").stdout).not.toContain("reviewer");
  });

  it.each([
    [["--commit", "0123abc", "a.json"], "give --acknowledge-with <label> too"],
    [["--acknowledge-with", "", "a.json"], "--acknowledge-with needs a value"],
    [["--acknowledge-with"], "--acknowledge-with needs a value"],
  ])("usage error: %j", (args, message) => {
    const result = runSummarize(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe("a failed preview applies nothing", () => {
  it("removing a protected tenant: no danger and no outcome in view, the planned steps only in the details", () => {
    const result = summarize("failed-protected-volume-delete", "--fail-on-danger", "--acknowledge-with", "dangerous-change-ok");
    const top = visible(result.stdout);
    expect(result.exitCode).toBe(0);
    expect(summarizePreview(digestOf("failed-protected-volume-delete")).dangers).toEqual([]);
    // What the same removal says when it can be applied (tenant-removed): none of it may appear here.
    for (const outcome of ["orphaned", "retained", "kept on the host", "Dangerous changes", "dangerous-change-ok", "| tenant `notes` |"])
      expect(top).not.toContain(outcome);
    expect(top).toMatch(/Nothing is applied while the preview fails\. The \d+ resource changes the engine planned before it stopped are in the details below, for reference only\./);
    expect(result.stdout.split("<details>")[1]).toMatch(/^<summary>Planned before the failure, not applied: \d+ resource changes and the engine's errors<\/summary>/);
    expect(result.stdout.split("<details>")[1]).toContain("| delete | `notes-pgdata` | `docker:index/volume:Volume` |");
  });

  it("a failed major-version bump: no restart or version danger, no image change announced", () => {
    const top = visible(summarize("failed-postgres-major-bump-production").stdout);
    expect(top).not.toContain("Dangerous changes");
    expect(top).not.toContain("#### Image changes");
  });
});

describe("bad input and usage: exit 2 with a clear message", () => {
  const viaStdin = (text: string) => runSummarize(["--stdin"], () => text);
  it.each([
    ["not JSON", "Previewing update (production):\n", "stdin: not valid JSON"],
    ["empty", "  \n", "stdin: empty input"],
    ["an array", "[]", "(document): Invalid input: expected object, received array"],
    ["an object without steps or diagnostics", "{}", "this is not the output of `pulumi preview --json`"],
    ["a step without a URN", '{"steps":[{"op":"create"}]}', "steps[0].urn"],
    ["a malformed URN", '{"steps":[{"op":"create","urn":"acme-web-0"}]}', "steps[0].urn: is not a Pulumi URN"],
  ])("%s", (_title, text, message) => {
    const result = viaStdin(text);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(message);
  });

  it.each([
    [[], "no input"],
    [["--stdin", "a.json"], "not both"],
    [["--frobnicate", "a.json"], 'unknown option "--frobnicate"'],
    [["a.json", "b.json"], "one preview at a time"],
    [["--docs-base"], "--docs-base needs a value"],
    [[path.join(FIXTURES, "missing.json")], "cannot read"],
  ])("%j", (args, message) => {
    const result = runSummarize(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe("ownership comes from parents and labels, never from names", () => {
  const urn = (types: string, name: string) => `urn:pulumi:production::platform::${types}::${name}`;
  const tenant = urn("platform:index:Tenant", "shop");
  const postgres = urn("platform:index:Tenant$platform:index:Postgres", "acme-postgres");
  const volume = urn("platform:index:Tenant$platform:index:Postgres$docker:index/volume:Volume", "acme-pgdata");
  const state = (u: string, type: string, parent: string, extra: Record<string, unknown> = {}) => ({ urn: u, type, custom: true, parent, ...extra });

  it("a resource named like tenant acme under the Tenant component `shop` belongs to shop", () => {
    const digest: PreviewDigest = {
      steps: [
        { op: "same", urn: postgres, newState: state(postgres, "platform:index:Postgres", tenant, { custom: false }) },
        { op: "delete", urn: volume, oldState: state(volume, "docker:index/volume:Volume", postgres, { retainOnDelete: true, inputs: { name: "platform-production-shop-pgdata-pg16" } }) },
      ],
    };
    const { changes, dangers } = summarizePreview(digest);
    expect(changes[0]!.owner).toEqual({ kind: "tenant", name: "shop" });
    expect(dangers[0]!.message).toContain("**Tenant `shop` loses its database volume**");
  });

  it("without the parent in the JSON and without a label, the tenant is reported as unresolved", () => {
    const digest: PreviewDigest = {
      steps: [{ op: "delete", urn: volume, oldState: state(volume, "docker:index/volume:Volume", postgres) }],
    };
    expect(summarizePreview(digest).changes[0]!.owner).toEqual({ kind: "unresolved-tenant" });
    expect(summarizePreview(digest).markdown).toContain("run the preview with `--show-sames` to name it");
  });

  it("an op this summary does not know is listed, not counted", () => {
    const digest: PreviewDigest = { steps: [{ op: "teleport", urn: volume }] };
    const { changes, markdown } = summarizePreview(digest);
    expect(changes).toEqual([]);
    expect(markdown).toContain("Steps this summary does not know, not counted above: `teleport`");
  });
});
