import type { PreviewDiagnostic } from "./digest";
import type { Owner } from "./ownership";
import { DOCS, TYPES } from "./platform";
import { parseUrn } from "./urn";

export interface Failure {
  /** Plain-words explanation (Markdown). */
  message: string;
  /** Text to show as it is, right under the message, when the error's own words are the explanation. */
  quote?: string;
  /** The engine's own words, for the collapsed details. */
  raw: string;
}

const PROTECTED_DELETE = /cannot be deleted\s+because it is protected/;
const PROTECTED_REPLACE = /unable to replace resource .*\s+as it is currently marked for protection/s;
/** The engine's closing line after any failure: says nothing on its own. */
const GENERIC = /^(error: )?preview failed\s*$/;
/** The program's own validation (model/diagnostics.ts): one `file:line:column key.path: message` line per problem. */
const INVALID_FILES = /problem\(s\) found; nothing was deployed/;

export function explainFailures(diagnostics: readonly PreviewDiagnostic[], ownerOf: (urn: string) => Owner, docsBase: string): Failure[] {
  const errors = diagnostics.filter((d) => d.severity === "error");
  const specific = errors.filter((d) => !GENERIC.test((d.message ?? "").trim()));
  return (specific.length > 0 ? specific : errors).map((d) => {
    const raw = `${d.prefix ?? ""}${d.message ?? ""}`.trim();
    return { ...explain(d, raw, ownerOf, docsBase), raw };
  });
}

function explain(d: PreviewDiagnostic, raw: string, ownerOf: (urn: string) => Owner, docsBase: string): Omit<Failure, "raw"> {
  const what = d.urn ? describe(d.urn, ownerOf) : undefined;
  if (what && PROTECTED_DELETE.test(raw)) {
    return { message: `Pulumi refused to delete ${what} because it is protected. This is what happens when a tenant file is removed `
      + `without the decommission step: production keeps database volumes protected. Fix: put the file back with `
      + `\`retiring: true\`, merge and deploy, then remove it, as [the decommission guide](${docsBase}${DOCS.decommission}) says.` };
  }
  if (what && PROTECTED_REPLACE.test(raw)) {
    return { message: `Pulumi refused to replace ${what} because it is protected: a new volume would start Postgres empty. A Postgres `
      + `major version change does this when the stack has no record of the tenant's volumes yet (its first deployment by this `
      + `version of the platform). Fix: deploy once without the version change, then change it, as [the major-version upgrade](${docsBase}${DOCS.majorUpgrade}) says.` };
  }
  const text = raw.replace(/^error: /, "");
  if (INVALID_FILES.test(raw)) {
    return { message: "The program refused the tenant or stack files, before planning anything. `npm run validate` shows the same list:", quote: text };
  }
  return { message: "The program or the engine stopped with this error:", quote: text };
}

function describe(urn: string, ownerOf: (urn: string) => Owner): string {
  const { name, type, typeChain } = parseUrn(urn);
  const owner = ownerOf(urn);
  const tenant = owner.kind === "tenant" ? ` of tenant \`${owner.name}\`` : "";
  if (type === TYPES.volume && typeChain.includes(TYPES.postgres)) return `the database volume \`${name}\`${tenant}`;
  return `\`${name}\` (${type})${tenant}`;
}
