import { formatDiagnostic } from "../model/diagnostics";
import { validateTenants } from "../model/validate";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import { PROJECT_ROOT } from "./program-harness";

/** The repo's real stack definitions: the same ones `npm run validate` uses. */
export const repoStacks = loadStacksFromFiles(PROJECT_ROOT);

/** Validates in-memory tenant files against the repo's stacks and returns the error lines. */
export function validate(files: Record<string, string>): string[] {
  const result = validateTenants({
    files: Object.entries(files).map(([file, text]) => ({ file, text })),
    stacks: repoStacks.stacks,
    stackNames: repoStacks.stackNames,
  });
  return result.diagnostics.map(formatDiagnostic);
}

/** A minimal valid tenant; tests change one thing at a time. */
export const minimalTenant = (name = "acme") => `name: ${name}
services:
  web:
    image: registry.example.com/${name}/web:1.0.0
    port: 8080
    routes: []
`;
