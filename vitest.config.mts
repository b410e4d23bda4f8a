import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file evaluates the whole program under Pulumi's mocks; Pulumi's runtime is a process-wide singleton.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
