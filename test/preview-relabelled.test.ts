import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parsePreview, type PreviewDigest, type PreviewStep } from "../preview/digest";
import { summarizePreview } from "../preview/summarize";

/**
 * Routed app containers replaced only for their labels (preview/relabelled.ts): one note with the count, the cause and
 * the cost, instead of a long list of replacements. The previews are the recorded `plain-change-show-sames.json`
 * (test/fixtures/preview/README.md: every unchanged resource listed, with its real state) turned into the deployment
 * that brings a platform label change: each routed app container's `same` step becomes the `replace` the docker
 * provider plans when only `labels` differ (`replaceReasons: ["labels"]`), its old labels as an older program wrote
 * them and its new ones as recorded.
 */

const FIXTURES = path.join(__dirname, "fixtures", "preview");
const recorded = (name: string): PreviewDigest => {
  const parsed = parsePreview(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8"), name);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.digest;
};

type Labels = { label: string; value: string }[];
const labelsOf = (step: PreviewStep) => (step.oldState?.inputs?.["labels"] ?? []) as Labels;
const routed = (step: PreviewStep) => step.op === "same" && /\$docker:index\/container:Container::/.test(step.urn) && labelsOf(step).some((l) => l.label === "traefik.enable");

/** The recorded preview with every routed app container replaced because `change` turns its old labels into the recorded ones. */
function relabelled(change: (labels: Labels, step: PreviewStep) => Labels, only: (step: PreviewStep) => boolean = () => true): PreviewDigest {
  const digest = structuredClone(recorded("plain-change-show-sames"));
  for (const step of digest.steps ?? []) {
    if (!routed(step) || !only(step)) continue;
    step.op = "replace";
    step.replaceReasons = ["labels"];
    step.diffReasons = ["labels"];
    step.detailedDiff = { labels: { kind: "update-replace", inputDiff: false } };
    step.oldState = { ...step.oldState!, inputs: { ...step.oldState!.inputs, labels: change(labelsOf(step), step) } };
  }
  return digest;
}

/** Before stack-aware names and compression by default: `acme-web-0` for `production--acme-web-0`, no compress middleware. */
const beforeStackNamesAndCompression = (labels: Labels): Labels =>
  labels
    .filter((l) => !/__compress\./.test(l.label))
    .map((l) => ({
      label: l.label.replace(/^(traefik\.http\.(?:routers|middlewares|services))\.production--/, "$1."),
      value: l.label.endsWith(".middlewares") ? l.value.split(",").filter((m) => !m.includes("__compress")).join(",") : l.value.replace(/^production--/, ""),
    }));

/** The recording predates compression by default: add what the program writes now to the new labels. */
function withCompression(digest: PreviewDigest): PreviewDigest {
  for (const step of digest.steps ?? []) {
    if (step.op !== "replace" || !step.newState) continue;
    const labels = [...((step.newState.inputs?.["labels"] ?? []) as Labels)];
    for (const router of labels.flatMap((l) => /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(l.label)?.[1] ?? [])) {
      labels.push({ label: `traefik.http.middlewares.${router}__compress.compress.excludedContentTypes`, value: "text/event-stream" });
      const chain = labels.find((l) => l.label === `traefik.http.routers.${router}.middlewares`)!;
      chain.value = `${chain.value},${router}__compress@docker`;
    }
    step.newState = { ...step.newState, inputs: { ...step.newState.inputs, labels } };
  }
  return digest;
}

const section = (markdown: string, title: string) => (markdown.split("<details>")[0]!.split(`#### ${title}\n\n`)[1] ?? "").split("\n\n")[0]!;

describe("containers replaced only for their labels", () => {
  it("router names and compression: one note naming the count, the tenants, the cause and the cost; not one line each", () => {
    const { markdown, relabelling } = summarizePreview(withCompression(relabelled(beforeStackNamesAndCompression)));
    const routedCount = recorded("plain-change-show-sames").steps!.filter(routed).length;
    expect(routedCount).toBeGreaterThan(3);
    expect(relabelling?.containers).toHaveLength(routedCount);
    const note = section(markdown, "Replaced only for their labels");
    expect(note).toMatch(new RegExp(`^- \\*\\*${routedCount} routed app containers are replaced only because their labels change\\*\\* \\(2 tenants\\): `));
    // Each cause once, for every container, with one example.
    expect(note).toContain(": Traefik middleware `compress` added; Traefik router names change (e.g. `notes-backend-0` → `production--notes-backend-0`). No image,");
    expect(note).toMatch(/start-first behind its health check and its service's rollout gate: the service keeps answering/);
    expect(note).toMatch(/this deployment takes longer/);
    expect(note).not.toContain("Traefik's own replacement");
    // The replacements list keeps only acme's image change; the relabelled containers stay in the details table.
    const replaces = section(markdown, "Replaces and deletes").split("\n");
    expect(replaces.every((line) => /`acme-web/.test(line)), replaces.join("\n")).toBe(true);
    expect(markdown.split("<details>")[1]).toContain("| replace | `notes-backend-0` | `docker:index/container:Container` | tenant `notes` | labels (update-replace) |");
    // Not a danger: no acknowledgement is asked for.
    expect(markdown).not.toContain("Dangerous changes");
  });

  it("with Traefik replaced in the same deployment (new arguments), the note points at that danger", () => {
    const digest = withCompression(relabelled(beforeStackNamesAndCompression));
    const traefik = digest.steps!.find((step) => step.urn.endsWith("::edge-eu-1-traefik"))!;
    Object.assign(traefik, { op: "replace", replaceReasons: ["command"], diffReasons: ["command"], detailedDiff: { command: { kind: "update-replace", inputDiff: false } } });
    const { markdown } = summarizePreview(digest);
    expect(section(markdown, "⚠ Dangerous changes")).toContain("Traefik (`edge-eu-1-traefik`) is replaced (because `command` changed)");
    expect(section(markdown, "Replaced only for their labels")).toMatch(/Traefik's own replacement in the same deployment is under the dangerous changes\.$/);
  });

  it("one container, one tenant; a cause shared by only some containers says how many; other labels are named", () => {
    const one = summarizePreview(relabelled(beforeStackNamesAndCompression, (step) => step.urn.endsWith("::notes-backend-0")));
    expect(section(one.markdown, "Replaced only for their labels")).toMatch(/^- \*\*1 routed app container is replaced only because its labels change\*\* \(1 tenant\): Traefik router names change/);

    const withoutManaged = (labels: Labels) => labels.filter((l) => l.label !== "platform.managed");
    const mixed = summarizePreview(relabelled((labels, step) => (step.urn.endsWith("::notes-backend-0") ? beforeStackNamesAndCompression(labels) : withoutManaged(labels))));
    const n = mixed.relabelling!.containers.length;
    expect(section(mixed.markdown, "Replaced only for their labels")).toContain(
      `labels \`platform.managed\` change (${n - 1} of them); Traefik router names change (e.g. \`notes-backend-0\` → \`production--notes-backend-0\`) (1 of them).`,
    );
  });

  it("a container replaced for its image as well, or a database, is not a label-only replacement", () => {
    for (const name of ["plain-change", "database-container-replaced", "edge-replaced"]) expect(summarizePreview(recorded(name)).markdown).not.toContain("Replaced only for their labels");
    const alsoImage = relabelled(beforeStackNamesAndCompression);
    for (const step of alsoImage.steps!) if (step.op === "replace" && step.replaceReasons?.[0] === "labels") step.replaceReasons = ["image", "labels"];
    expect(summarizePreview(alsoImage).relabelling).toBeUndefined();
  });

  it("labels the preview keeps secret (a basic-auth hash makes the whole list secret) are counted without guessing the cause", () => {
    const digest = relabelled(beforeStackNamesAndCompression, (step) => step.urn.endsWith("::notes-backend-0"));
    for (const step of digest.steps!) if (step.op === "replace" && step.urn.endsWith("::notes-backend-0")) step.newState = { ...step.newState!, inputs: { ...step.newState!.inputs, labels: "[secret]" } };
    expect(section(summarizePreview(digest).markdown, "Replaced only for their labels")).toMatch(/\(1 tenant\): labels that the preview keeps secret\./);
  });
});
