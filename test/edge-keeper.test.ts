import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { EDGE_KEEPER_SCRIPT } from "../components/edge-keeper-script";
import { tempDirs } from "./temp-dirs";

/**
 * The edge keeper's decisions, one pass at a time (`once`), against a stand-in `docker` that plays one engine from a
 * list of containers and records every restart and start. (On the real engine: test/e2e/faults.e2e.ts.)
 */

const dirs = tempDirs("edge-keeper-");

interface FakeContainer {
  id: string;
  name: string;
  networkMode: string;
  running: boolean;
  startedAt: string;
  health?: "starting" | "healthy" | "unhealthy";
  /** Health probes failed in a row (State.Health.FailingStreak). */
  failingStreak?: number;
  error?: string;
  stack?: string;
  /** Its \`platform.role\` label: the edge's containers have one, tenants' do not. */
  role?: string;
  /** Config.User: empty for the image's default. */
  user?: string;
}

// Answers the three reads the keeper makes by the shape of their format (the real CLI renders the Go template).
const FAKE_DOCKER = `#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const dir = process.env.FAKE_DOCKER_DIR, args = process.argv.slice(2);
const containers = JSON.parse(fs.readFileSync(path.join(dir, "containers.json"), "utf8"));
const find = (w) => containers.find((c) => c.id === w || c.name === w);
if (args[0] === "inspect") {
  const [, , format, ...wanted] = args;
  let ok = true;
  for (const w of wanted) {
    const c = find(w);
    if (!c) { process.stderr.write("Error: No such object: " + w + "\\n"); ok = false; continue; }
    console.log([c.id, "/" + c.name, c.networkMode, c.running, c.startedAt, c.health ? c.health + ":" + (c.failingStreak || 0) : "", c.user || "", c.error || ""].join("|"));
  }
  process.exit(ok ? 0 : 1);
}
if (args[0] === "ps") {
  const stack = args.find((a) => a.startsWith("label=platform.stack=")).split("=")[2];
  const withRole = args.includes("label=platform.role");
  for (const c of containers.filter((c) => (c.stack || "qa") === stack && (!withRole || c.role))) console.log(c.id);
  process.exit(0);
}
if (args[0] === "run") {
  // The listener pin: recorded without the program's text.
  fs.appendFileSync(path.join(dir, "actions"), args.map((a) => (a.includes("SO_ATTACH_REUSEPORT_CBPF") ? "<pin script>" : a)).join(" ") + "\\n");
  if (process.env.FAKE_PIN_FAIL) { console.error("could not pin tcp6 port 80: [Errno 98] Address in use"); process.exit(1); }
  console.log("pinned tcp6 port 80 to its oldest listener");
  process.exit(0);
}
if (args[0] === "restart" || args[0] === "start") {
  fs.appendFileSync(path.join(dir, "actions"), args.join(" ") + "\\n");
  process.exit(0);
}
process.exit(2);
`;

const PAUSE_ID = "a".repeat(64);
const TRAEFIK_ID = "b".repeat(64);
const pause = (over: Partial<FakeContainer> = {}): FakeContainer => ({
  id: PAUSE_ID,
  name: "platform-qa-edge-pause",
  role: "edge-pause",
  networkMode: "bridge",
  running: true,
  startedAt: "2026-12-07T10:00:05.1Z",
  ...over,
});
const traefik = (over: Partial<FakeContainer> = {}): FakeContainer => ({
  id: TRAEFIK_ID,
  name: "platform-qa-traefik",
  role: "traefik",
  networkMode: `container:${PAUSE_ID}`,
  running: true,
  startedAt: "2026-12-07T10:00:06.5Z",
  health: "healthy",
  ...over,
});

/** One pass of the keeper over these containers: the restarts and starts it asked the engine for. */
function keeperPass(containers: FakeContainer[], dir = dirs.make(), env: Record<string, string> = {}): string[] {
  writeFileSync(path.join(dir, "containers.json"), JSON.stringify(containers));
  writeFileSync(path.join(dir, "docker"), FAKE_DOCKER);
  chmodSync(path.join(dir, "docker"), 0o755);
  const run = spawnSync("sh", ["-c", EDGE_KEEPER_SCRIPT, "sh", "once"], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_DOCKER_DIR: dir, KEEPER_STATE_DIR: path.join(dir, "state"), PAUSE: "platform-qa-edge-pause", STACK: "qa", ...env },
    encoding: "utf8",
  });
  expect(run.status, run.stderr).toBe(0);
  let actions = "";
  try {
    actions = readFileSync(path.join(dir, "actions"), "utf8");
  } catch {
    // no action taken
  }
  return actions.split("\n").filter(Boolean);
}

describe("the edge keeper", () => {
  it("leaves a Traefik that started after its pause container alone", () => {
    expect(keeperPass([pause(), traefik()])).toEqual([]);
  });

  it("restarts Traefik at once when its pause container restarted after it (its namespace is gone)", () => {
    expect(keeperPass([pause({ startedAt: "2026-12-07T10:00:07Z" }), traefik()])).toEqual([`restart -t 0 ${TRAEFIK_ID}`]);
  });

  it("compares start times to the nanosecond, whatever digits the engine dropped", () => {
    // As text "…05.15Z" sorts before "…05.1Z"; padded, 05.1 is the earlier time.
    expect(keeperPass([pause({ startedAt: "2026-12-07T10:00:05.15Z" }), traefik({ startedAt: "2026-12-07T10:00:05.1Z" })])).toEqual([
      `restart -t 0 ${TRAEFIK_ID}`,
    ]);
    expect(keeperPass([pause({ startedAt: "2026-12-07T10:00:05.1Z" }), traefik({ startedAt: "2026-12-07T10:00:05.15Z" })])).toEqual([]);
    expect(keeperPass([pause({ startedAt: "2026-12-07T10:00:05.000000001Z" }), traefik({ startedAt: "2026-12-07T10:00:05Z" })])).toEqual([
      `restart -t 0 ${TRAEFIK_ID}`,
    ]);
  });

  it("starts a Traefik whose start failed (the engine started it before its pause container) once the pause runs", () => {
    const failed = traefik({ running: false, health: "unhealthy", error: "cannot join network of a non running container: " + PAUSE_ID });
    expect(keeperPass([pause(), failed])).toEqual([`start ${TRAEFIK_ID}`]);
  });

  it("never starts what was stopped on purpose, nor anything while the pause container is down", () => {
    expect(keeperPass([pause(), traefik({ running: false })])).toEqual([]);
    expect(keeperPass([pause({ running: false }), traefik({ running: false, error: "cannot join network" })])).toEqual([]);
    expect(keeperPass([pause({ running: false, startedAt: "2026-12-07T10:00:09Z" }), traefik()])).toEqual([]);
  });

  it("leaves an unhealthy Traefik alone until it failed a minute of probes in a row (a loaded one still serves)", () => {
    expect(keeperPass([pause(), traefik({ health: "unhealthy", failingStreak: 3 })])).toEqual([]);
    expect(keeperPass([pause(), traefik({ health: "unhealthy", failingStreak: 59 })])).toEqual([]);
    expect(keeperPass([pause(), traefik({ health: "unhealthy", failingStreak: 60 })])).toEqual([`restart -t 1 ${TRAEFIK_ID}`]);
  });

  it("restarts a Traefik unhealthy for a minute, then waits out its backoff before doing it again", () => {
    const dir = dirs.make();
    const containers = [pause(), traefik({ health: "unhealthy", failingStreak: 61 })];
    expect(keeperPass(containers, dir)).toEqual([`restart -t 1 ${TRAEFIK_ID}`]);
    expect(keeperPass(containers, dir)).toEqual([`restart -t 1 ${TRAEFIK_ID}`]);
    // Still unhealthy on the next pass: the actions are the same single restart, none added within the backoff.
    expect(keeperPass(containers, dir)).toEqual([`restart -t 1 ${TRAEFIK_ID}`]);
  });

  it("touches no container outside the pause container's namespace, nor another stack's", () => {
    const stale = "2026-12-07T09:00:00Z";
    const app: FakeContainer = { id: "c".repeat(64), name: "platform-qa-acme-web-1", networkMode: "bridge", running: true, startedAt: stale, health: "unhealthy" };
    const otherStack = traefik({ id: "d".repeat(64), name: "platform-prod-traefik", startedAt: stale, stack: "prod" });
    const stopped: FakeContainer = { ...app, id: "e".repeat(64), running: false, error: "oci runtime error" };
    expect(keeperPass([pause(), traefik(), app, otherStack, stopped])).toEqual([]);
  });

  describe("with a pin image (PIN_IMAGE): a started Traefik's public listeners go to their oldest listener", () => {
    const PIN = { PIN_IMAGE: "python:pin", PIN_SCRIPT: "import socket  # SO_ATTACH_REUSEPORT_CBPF" };
    const pinRun = (user = "0") => `run --rm --network container:${PAUSE_ID} --user ${user} --entrypoint python3 python:pin -c <pin script>`;

    it("pins once per start: again after a restart, not at every pass", () => {
      const dir = dirs.make();
      expect(keeperPass([pause(), traefik()], dir, PIN)).toEqual([pinRun()]);
      expect(keeperPass([pause(), traefik()], dir, PIN)).toEqual([pinRun()]);
      expect(keeperPass([pause(), traefik({ startedAt: "2026-12-07T10:05:00Z" })], dir, PIN)).toEqual([pinRun(), pinRun()]);
    });

    it("pins as the member's own user (a reuseport group admits one user)", () => {
      expect(keeperPass([pause(), traefik({ user: "65532:65532" })], undefined, PIN)).toEqual([pinRun("65532:65532")]);
    });

    it("tries again at the next pass when pinning failed", () => {
      const dir = dirs.make();
      expect(keeperPass([pause(), traefik()], dir, { ...PIN, FAKE_PIN_FAIL: "1" })).toEqual([pinRun()]);
      expect(keeperPass([pause(), traefik()], dir, PIN)).toEqual([pinRun(), pinRun()]);
    });

    it("pins nothing stranded, stopped or unhealthy: those are restarted or left first", () => {
      expect(keeperPass([pause({ startedAt: "2026-12-07T10:00:07Z" }), traefik()], undefined, PIN)).toEqual([`restart -t 0 ${TRAEFIK_ID}`]);
      expect(keeperPass([pause(), traefik({ running: false })], undefined, PIN)).toEqual([]);
      expect(keeperPass([pause(), traefik({ health: "unhealthy", failingStreak: 60 })], undefined, PIN)).toEqual([`restart -t 1 ${TRAEFIK_ID}`]);
    });
  });
});
