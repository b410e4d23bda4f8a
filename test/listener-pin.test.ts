import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PIN_LISTENERS_SCRIPT } from "../components/listener-pin-script";

/**
 * The listener pin (components/listener-pin-script.ts) in a network namespace of the test's own, inside a user
 * namespace (`unshare -rn`), so any user can run it: an old and a new listener per port stand in for an old and a new
 * Traefik.
 * The same on the engine, under load, is test/e2e/platform.e2e.ts's Traefik replacement.
 */
const DRILL = path.join(__dirname, "fixtures", "listener-pin-drill.py");

function drill(): { pinExit: number; pinOutput: string; both: Record<string, [number, number]>; migrated: number; afterUpgrade: [number, number] } {
  const run = spawnSync("unshare", ["-rn", "sh", "-c", 'ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=1 && exec python3 "$0" "$1"', DRILL, PIN_LISTENERS_SCRIPT], {
    encoding: "utf8",
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`the drill failed (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as ReturnType<typeof drill>;
}

describe("the listener pin", () => {
  const result = drill();

  it("pins each public port, in its own family, and says so", () => {
    expect(result.pinExit, result.pinOutput).toBe(0);
    expect(result.pinOutput).toBe("pinned tcp port 18443 to its oldest listener\npinned tcp6 port 18080 to its oldest listener\n");
  });

  it("sends every new connection on a public port to the oldest listener while it listens", () => {
    expect(result.both.public6).toEqual([40, 0]);
    expect(result.both.public4).toEqual([40, 0]);
  });

  it("leaves loopback ports spread over both (the probe works: without the pin, the kernel spreads)", () => {
    const [old, next] = result.both.loopback!;
    expect(old + next).toBe(40);
    expect(old).toBeGreaterThan(0);
    expect(next).toBeGreaterThan(0);
  });

  it("moves the connections queued on the old listener to the new one when it closes, and keeps the pin for the next upgrade", () => {
    expect(result.migrated).toBe(5);
    expect(result.afterUpgrade).toEqual([40, 0]);
  });
});
