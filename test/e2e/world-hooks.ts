import { afterAll, afterEach, beforeAll } from "vitest";
import { createWorld, destroyWorld, diagnostics, STACK, type World } from "./harness";

export interface WorldHooks {
  /** More for a failing test's report than the stack's containers and logs (e.g. other stacks' containers). */
  moreDiagnostics?: () => string;
  /** Removes what the file made beside its world (other stacks), before the world itself goes. */
  beforeDestroy?: (world: World) => void;
  /** Removes what the file made for its world (engines of its own), after the world is gone or was never made. */
  afterDestroy?: () => void;
  /** How long the setup may take (an `up` of several tenants included). */
  setupTimeoutMs?: number;
}

/**
 * One world per e2e file, the way every file wants it: created (then `setup`) before the first test; a failing test
 * prints the containers, their logs and dockerd's log; destroyed after the last test, unless E2E_KEEP is set and
 * something failed (then it is left for inspection and says where).
 */
export function useWorld(setup: (world: World) => void, hooks: WorldHooks = {}): void {
  let world: World | undefined;
  let failures = 0;
  beforeAll(() => {
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
  }, 600_000);
}
