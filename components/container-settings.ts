import type { Resources } from "../stacks/definition";

/** Settings every platform container shares: limits in Docker's units, restart policy and bounded logs. */
export function containerBasics(resources: Resources) {
  return {
    cpus: String(resources.cpus),
    memory: Math.max(6, Math.ceil(resources.memoryBytes / 1024 ** 2)),
    restart: "unless-stopped",
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
  };
}
