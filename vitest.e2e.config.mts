import { defineConfig } from "vitest/config";

// `npm run e2e`: the real CLI, the real engine, one ordered run (see test/e2e/). Steps take tens of seconds.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
