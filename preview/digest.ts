import { z } from "zod";

/**
 * The document `pulumi preview --json` prints: the CLI's `PreviewDigest` (pkg/display/json.go in pulumi/pulumi),
 * whose steps carry `apitype.ResourceV3` states. Only the fields the summary reads are declared; the rest is kept
 * out of the typed result (zod drops unknown keys), so new CLI fields never break parsing.
 */

const URN_PATTERN = /^urn:pulumi:[^:]+::[^:]+::[^:].*::.*$/;
const urn = z.string().regex(URN_PATTERN, "is not a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>)");

const state = z.object({
  urn,
  type: z.string(),
  custom: z.boolean().optional(),
  id: z.string().optional(),
  parent: urn.optional(),
  inputs: z.record(z.string(), z.unknown()).optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
  protect: z.boolean().optional(),
  retainOnDelete: z.boolean().optional(),
});

const propertyDiff = z.object({ kind: z.string(), inputDiff: z.boolean().optional() });

const step = z.object({
  op: z.string().min(1),
  urn,
  provider: z.string().optional(),
  oldState: state.optional(),
  newState: state.optional(),
  diffReasons: z.array(z.string()).optional(),
  replaceReasons: z.array(z.string()).optional(),
  // Always written by the CLI (no omitempty): null when the provider gave no detailed diff.
  detailedDiff: z.record(z.string(), propertyDiff).nullable().optional(),
});

const diagnostic = z.object({
  urn: urn.optional(),
  prefix: z.string().optional(),
  message: z.string().optional(),
  severity: z.string().optional(),
});

export const previewDigestSchema = z
  .object({
    config: z.record(z.string(), z.string()).optional(),
    steps: z.array(step).optional(),
    diagnostics: z.array(diagnostic).optional(),
    /** Go `time.Duration`: nanoseconds. */
    duration: z.number().optional(),
    changeSummary: z.record(z.string(), z.number()).optional(),
    maybeCorrupt: z.boolean().optional(),
  })
  .refine((d) => d.steps !== undefined || d.diagnostics !== undefined, {
    message: "has neither `steps` nor `diagnostics`: this is not the output of `pulumi preview --json`",
  });

/**
 * What the CLI writes for a value not known until the resource is created (pulumi/pulumi
 * `sdk/go/common/resource/plugin/rpc.go`, `UnknownStringValue`): a preview shows it for outputs such as a new image id.
 */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type PreviewDigest = z.infer<typeof previewDigestSchema>;
export type PreviewStep = NonNullable<PreviewDigest["steps"]>[number];
export type ResourceState = NonNullable<PreviewStep["oldState"]>;
export type PreviewDiagnostic = NonNullable<PreviewDigest["diagnostics"]>[number];

export type ParseResult = { ok: true; digest: PreviewDigest } | { ok: false; error: string };

/** Parses and checks the JSON text; errors name the source and the JSON path, e.g. `steps[2].urn`. */
export function parsePreview(text: string, source: string): ParseResult {
  if (text.trim() === "") return { ok: false, error: `${source}: empty input, expected the output of \`pulumi preview --json\`` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${source}: not valid JSON (${(e as Error).message})` };
  }
  const result = previewDigestSchema.safeParse(json);
  if (result.success) return { ok: true, digest: result.data };
  const issues = result.error.issues.slice(0, 5).map((issue) => `  ${formatPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length > 5 ? [`  ... and ${result.error.issues.length - 5} more`] : [];
  return { ok: false, error: [`${source}: not a \`pulumi preview --json\` document:`, ...issues, ...more].join("\n") };
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(document)";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}
