import { defineConfig } from "vitest/config";

// `npm run e2e` (scripts/e2e.sh): the real CLI, the real engine; steps take tens of seconds. Two lanes, each one file
// after another, run side by side as two vitest processes (`--project`): "machine", whose worlds share the machine's
// engine and its ports, and "own", whose worlds each run on a Docker engine of their own (scripts/engine-node.sh,
// test/e2e/world-hooks.ts `ownEngine`), so nothing of theirs meets another world's. The monitoring stack's images
// are not copied to own engines: monitoring.e2e.ts stays on the machine's.
const OWN_ENGINE_FILES = [
  "test/e2e/own-engines.e2e.ts",
  "test/e2e/faults.e2e.ts",
  "test/e2e/interrupted-deploy.e2e.ts",
  "test/e2e/backup.e2e.ts",
  "test/e2e/backup-full.e2e.ts",
  "test/e2e/upgrade.e2e.ts",
];
const lane = { pool: "forks" as const, fileParallelism: false, testTimeout: 600_000, hookTimeout: 600_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { ...lane, name: "machine", include: ["test/e2e/**/*.e2e.ts"], exclude: OWN_ENGINE_FILES } },
      { test: { ...lane, name: "own", include: OWN_ENGINE_FILES, env: { E2E_LANE: "own" } } },
    ],
  },
});
