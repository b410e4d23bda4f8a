import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { WAIT_FOR_TRAEFIK } from "../components/rollout-gate";

/**
 * The rollout gate's script against a stand-in `docker` that plays the engine and Traefik's API: it must wait for
 * the new container, take the replaced one out of rotation (paused while Traefik re-reads) and give it back.
 * (The same behaviour on a real engine is `npm run e2e`'s image change under load.)
 */
const FAKE_DOCKER = `#!/bin/sh
state="$FAKE_STATE"
echo "$*" >> "$state/calls"
case "$1" in
  exec)
    # Traefik's API: the old server, then both, then (re-read while the old one is paused) only the new one.
    if [ -f "$state/new-hidden" ]; then echo '{"servers":["http://10.0.0.2:8080"]}'
    elif [ -f "$state/relisted" ] && [ -f "$state/paused" ]; then echo '{"servers":["http://10.0.0.3:8080"]}'
    else echo '{"servers":["http://10.0.0.2:8080","http://10.0.0.3:8080"]}'; fi ;;
  ps)
    # The edge's Traefik, found by its labels (its name changes with each replacement); then the service's containers.
    # With "edge-late", Traefik runs only from the third look on (a stack's first up: services before Traefik).
    case "$*" in
      *platform.role=traefik*)
        echo x >> "$state/edge-looks"
        if [ -f "$state/no-edge" ]; then :
        elif [ -f "$state/edge-late" ] && [ "$(wc -l < "$state/edge-looks")" -lt 3 ]; then :
        else echo traefik-1; fi ;;
      *) printf 'old\\nnew\\n' ;;
    esac ;;
  inspect)
    case "$*" in *Config.Image*) echo traefik:test ;; *old) echo 10.0.0.2 ;; *new) [ -f "$state/new-stopped" ] || echo 10.0.0.3 ;; esac ;;
  pause) touch "$state/paused" ;;
  unpause) rm -f "$state/paused" ;;
  run) touch "$state/relisted" ;;
esac
`;

function runGate(opts: { traefikNeverRoutesNew?: boolean; noTraefik?: boolean; traefikLate?: boolean; newStopped?: boolean } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "gate-"));
  writeFileSync(path.join(dir, "docker"), FAKE_DOCKER);
  chmodSync(path.join(dir, "docker"), 0o755);
  writeFileSync(path.join(dir, "calls"), "");
  if (opts.traefikNeverRoutesNew) writeFileSync(path.join(dir, "new-hidden"), "");
  if (opts.noTraefik) writeFileSync(path.join(dir, "no-edge"), "");
  if (opts.traefikLate) writeFileSync(path.join(dir, "edge-late"), "");
  if (opts.newStopped) writeFileSync(path.join(dir, "new-stopped"), "");
  const result = spawnSync("sh", ["-c", WAIT_FOR_TRAEFIK], {
    encoding: "utf8",
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      FAKE_STATE: dir,
      EDGE_FILTER: "label=platform.role=traefik,label=platform.stack=dev",
      INTERNAL: "127.0.0.1:8082",
      SERVICE: "acme-web@docker",
      CONTAINERS: "new",
      OWNER: "label=platform.stack=dev,label=platform.tenant=acme,label=platform.service=web",
      NETWORK: "platform-dev-acme-ingress-local",
      PORT: "8080",
      TIMEOUT: "2",
      SETTLE: "0",
    },
  });
  const calls = readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean);
  return { status: result.status, stderr: result.stderr, calls, paused: spawnSync("test", ["-f", path.join(dir, "paused")]).status === 0 };
}

describe("the rollout gate", () => {
  it("waits for the new container, drains the replaced one while paused and gives it back", () => {
    const { status, stderr, calls, paused } = runGate();
    expect(status, stderr).toBe(0);
    const verbs = calls.map((call) => call.split(" ")[0]);
    const pause = calls.indexOf("pause old");
    expect(pause).toBeGreaterThan(verbs.indexOf("exec"));
    expect(calls.findIndex((c) => c.startsWith("run --rm --network none traefik:test"))).toBeGreaterThan(pause);
    expect(calls.indexOf("unpause old")).toBeGreaterThan(pause);
    expect(calls.some((c) => c.includes("pause new"))).toBe(false);
    expect(calls.find((c) => c.startsWith("ps"))).toBe("ps -q --filter status=running --filter label=platform.role=traefik --filter label=platform.stack=dev");
    expect(calls.filter((c) => c.startsWith("exec")).every((c) => c.startsWith("exec traefik-1 wget"))).toBe(true);
    expect(calls.find((c) => c.startsWith("ps") && c.includes("tenant"))).toBe("ps -q --no-trunc --filter label=platform.stack=dev --filter label=platform.tenant=acme --filter label=platform.service=web");
    expect(paused).toBe(false);
  });

  it("waits for a Traefik that starts after the service's containers (a stack's first up)", () => {
    const { status, stderr, calls } = runGate({ traefikLate: true });
    expect(status, stderr).toBe(0);
    expect(calls.filter((c) => c.includes("platform.role=traefik")).length).toBeGreaterThanOrEqual(3);
    expect(calls.some((c) => c.startsWith("pause old"))).toBe(true);
  });

  it("fails the deployment with one line when no Traefik of the stack runs on the host within the timeout", () => {
    const { status, stderr, calls } = runGate({ noTraefik: true });
    expect(status).toBe(1);
    expect(stderr.trim()).toBe("no Traefik of this stack runs on this host (label=platform.role=traefik,label=platform.stack=dev) after 2s");
    expect(calls.some((c) => c.startsWith("pause"))).toBe(false);
  });

  it("reads the new containers' addresses when it runs, and fails with one line when one has none", () => {
    const { status, stderr } = runGate({ newStopped: true });
    expect(status).toBe(1);
    expect(stderr.trim()).toBe("container new of acme-web@docker has no address on platform-dev-acme-ingress-local: it is not running");
  });

  it("fails the deployment, naming the service, when Traefik never routes to the new container", () => {
    const { status, stderr, calls } = runGate({ traefikNeverRoutesNew: true });
    expect(status).toBe(1);
    expect(stderr).toContain("does not route acme-web@docker to http://10.0.0.3:8080");
    expect(calls.some((c) => c.startsWith("pause"))).toBe(false);
  });
});
