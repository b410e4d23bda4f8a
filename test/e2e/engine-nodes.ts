import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO } from "./harness";

/**
 * Docker engines of a test's own (scripts/engine-node.sh): a dockerd in network and mount namespaces of its own,
 * reached at its socket (DOCKER_HOST) and, for its published ports, at its address on the pe-br0 bridge. Drills that
 * stop an engine or take a host away run there, never on the machine's engine.
 */
export interface EngineNode {
  name: string;
  /** unix:// URL of its socket: the stack's host url and the docker CLI's DOCKER_HOST. */
  dockerHost: string;
  /** Where its published ports answer. */
  address: string;
  /** Its dockerd's log. */
  log: string;
  /** Its network namespace (`ip netns exec <netns> …` runs a command where its containers and ports are). */
  netns: string;
}

function script(args: readonly string[]): string {
  const run = spawnSync("bash", [path.join(REPO, "scripts/engine-node.sh"), ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`engine-node.sh ${args.join(" ")} failed (exit ${run.status}): ${run.stderr.trim()}`);
  return run.stdout.trim();
}

/** Creates (or starts again) node `name` as bridge member `index` and copies `images` into it from the machine's engine. */
export function engineNode(name: string, index: number, images: readonly string[]): EngineNode {
  const dockerHost = script(["up", name, String(index)]);
  if (images.length > 0) script(["load", name, ...images]);
  return { name, dockerHost, address: script(["address", name]), log: script(["log", name]), netns: `pe-${name}` };
}

/** Stops its dockerd as a shutdown or an engine upgrade does: dockerd stops its containers, then exits. */
export function stopEngine(node: EngineNode): void {
  script(["stop", node.name]);
}

export function startEngine(node: EngineNode): void {
  script(["start", node.name]);
}

export function removeEngine(node: EngineNode): void {
  script(["down", node.name]);
}

/**
 * Points the e2e harness at this node: its docker CLI and diagnostics (DOCKER_HOST, E2E_ENGINE_LOG), the world's stack
 * host (createWorld reads DOCKER_HOST), requests to the edge (E2E_EDGE_ADDRESS) and to containers (E2E_ENGINE_NETNS).
 */
export function aimHarnessAt(node: EngineNode): void {
  process.env.DOCKER_HOST = node.dockerHost;
  process.env.E2E_EDGE_ADDRESS = node.address;
  process.env.E2E_ENGINE_LOG = node.log;
  process.env.E2E_ENGINE_NETNS = node.netns;
}

/**
 * The images an edge runs on the dev stack (and so on every e2e world): read from Pulumi.dev.yaml's platform:edge, so
 * a node gets the edge the stack declares, whatever version it names.
 */
export function edgeImages(): string[] {
  const config = (parse(readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> }).config;
  const edge = config["platform:edge"] ?? {};
  const images = ["image", "pauseImage", "keeperImage", "pinImage", "socketProxyImage"].map((key) => edge[key]);
  if (!images.every((image): image is string => typeof image === "string")) throw new Error("Pulumi.dev.yaml's platform:edge does not name every edge image");
  return images;
}
