import { afterAll, afterEach, beforeAll } from "vitest";
import { aimHarnessAt, edgeImages, engineNode, removeEngine, type EngineNode } from "./engine-nodes";
import { createWorld, destroyWorld, diagnostics, STACK, type World } from "./harness";

/**
 * What a world on an engine of its own gets besides the edge's images (edgeImages): every other local image an e2e
 * stack runs (the monitoring stack's excepted: test/e2e/monitoring.e2e.ts stays on the machine's engine). There is no
 * registry to pull from.
 */
const OWN_ENGINE_IMAGES = [
  "platform-local/demo-app:1",
  "platform-local/demo-app:2",
  "platform-local/demo-app:broken",
  "platform-local/postgres:15",
  "platform-local/postgres:17",
  "platform-local/redis:7",
  "platform-local/backup-sinks:1",
];

export interface WorldHooks {
  /** More for a failing test's report than the stack's containers and logs (e.g. other stacks' containers). */
  moreDiagnostics?: () => string;
  /** Removes what the file made beside its world (other stacks), before the world itself goes. */
  beforeDestroy?: (world: World) => void;
  /** Removes what the file made for its world (engines of its own), after the world is gone or was never made. */
  afterDestroy?: () => void;
  /** How long the setup may take (an `up` of several tenants included). */
  setupTimeoutMs?: number;
  /**
   * Run the world on a Docker engine of its own (scripts/engine-node.sh) instead of the machine's: its containers and
   * ports cannot meet another world's, so such files run beside the others (vitest.e2e.config.mts, lane "own").
   * `index` picks its address on the bridge: unique per file.
   */
  ownEngine?: { name: string; index: number };
}

/**
 * One world per e2e file, the way every file wants it: created (then `setup`) before the first test; a failing test
 * prints the containers, their logs and dockerd's log; destroyed after the last test, unless E2E_KEEP is set and
 * something failed (then it is left for inspection and says where).
 */
export function useWorld(setup: (world: World) => void, hooks: WorldHooks = {}): void {
  let world: World | undefined;
  let node: EngineNode | undefined;
  let failures = 0;
  beforeAll(() => {
    // A file of the lane "own" makes its engine here (ownEngine) or in a beforeAll of its own (own-engines.e2e.ts).
    if (process.env.E2E_LANE === "own" && !hooks.ownEngine && !process.env.DOCKER_HOST)
      throw new Error("this file runs in the e2e lane \"own\" (vitest.e2e.config.mts), beside the files on the machine's engine: give its useWorld an ownEngine");
    if (hooks.ownEngine) {
      node = engineNode(hooks.ownEngine.name, hooks.ownEngine.index, [...edgeImages(), ...OWN_ENGINE_IMAGES]);
      aimHarnessAt(node);
    }
    world = createWorld();
    setup(world);
  }, hooks.setupTimeoutMs ?? 600_000);
  afterEach((context) => {
    if (context.task.result?.state !== "fail") return;
    failures += 1;
    console.error(`\n===== ${context.task.name}: containers and logs =====\n${diagnostics()}${hooks.moreDiagnostics ? `\n${hooks.moreDiagnostics()}` : ""}`);
  });
  afterAll(() => {
    if (world && process.env.E2E_KEEP && failures > 0) {
      console.error(`E2E_KEEP: left stack ${STACK} (and what the tests made beside it) in ${world.dir}`);
      return;
    }
    if (world) {
      hooks.beforeDestroy?.(world);
      destroyWorld(world);
    }
    hooks.afterDestroy?.();
    if (node) removeEngine(node);
  }, 600_000);
}
