import * as path from "node:path";
import type { Toolchain } from "../devstack/toolchain";
import { parsePreviewArgs, UsageError, USAGE } from "../previewstack/args";
import { runPreview } from "../previewstack/lifecycle";
import { previewToolchain } from "../previewstack/pulumi";

/**
 * `npm run preview -- up|down|list|sweep`: pull-request preview stacks beside a base stack (dev locally, staging in
 * CI), behind the base's edge. Exit codes (fixed): 0 done, 1 the preview failed (the message names the tenant and
 * the step), 2 usage.
 */

const PROJECT_ROOT = path.resolve(__dirname, "..");

async function main(argv: readonly string[]): Promise<number> {
  let toolchain: Toolchain | undefined;
  const ctx = {
    projectRoot: PROJECT_ROOT,
    toolchain: () => {
      if (!toolchain) {
        const found = previewToolchain(PROJECT_ROOT);
        console.error(`preview: pulumi ${found.toolchain.official ? "CLI from PATH" : "toolchain from .engine/bin"}, state in ${found.backend}`);
        toolchain = found.toolchain;
      }
      return toolchain;
    },
    log: (line: string) => console.log(line),
  };
  try {
    return await runPreview(parsePreviewArgs(argv), ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`preview: ${error.message}\n${USAGE}`);
      return 2;
    }
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
