import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { imagesOf, planLocalStack, standInNotes } from "../devstack/plan";
import { DEV_PASSPHRASE, findToolchain, missingImages, PrerequisiteError, requireDocker, runPulumi, selectStack } from "../devstack/toolchain";

/**
 * `npm run dev` brings the dev stack (Pulumi.dev.yaml) up on this machine's Docker engine and prints each tenant's
 * URLs; `npm run dev:down` destroys it and lists the data volumes it kept. Exit 0 done, 1 failed, 2 usage.
 */

const PROJECT_ROOT = path.resolve(__dirname, "..");
const STACK = "dev";
const STATE_DIR = path.join(PROJECT_ROOT, ".pulumi-state");
const USAGE = "usage: npm run dev            (bring the dev stack up)\n       npm run dev:down       (tear it down; data volumes are kept)";

function main(args: readonly string[]): number {
  const [action = "up", ...rest] = args;
  if (rest.length > 0 || !["up", "down"].includes(action)) {
    console.error(`unknown argument "${[action, ...rest].join(" ")}"\n${USAGE}`);
    return 2;
  }
  try {
    requireDocker();
    const toolchain = findToolchain(PROJECT_ROOT, STATE_DIR);
    console.log(`dev: pulumi ${toolchain.official ? "CLI from PATH" : "toolchain from .engine/bin"}, state in .pulumi-state/ (passphrase: ${DEV_PASSPHRASE})`);
    return action === "up" ? up(toolchain) : down(toolchain);
  } catch (error) {
    console.error(`dev: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function up(toolchain: ReturnType<typeof findToolchain>): number {
  const local = planLocalStack(PROJECT_ROOT, STACK);
  const missing = missingImages(imagesOf(local));
  if (missing.length > 0) throw new PrerequisiteError(`local images missing: ${missing.join(", ")}: run \`npm run setup\` (builds them)`);
  for (const note of standInNotes(local)) console.log(`dev: stand-in: ${note}`);

  selectStack(toolchain, PROJECT_ROOT, STACK);
  const result = runPulumi(toolchain, PROJECT_ROOT, ["up", "--yes", "--stack", STACK, "--skip-preview"], { inherit: true });
  if (result.status !== 0) return 1;

  const outputs = runPulumi(toolchain, PROJECT_ROOT, ["stack", "output", "tenants", "--json", "--stack", STACK]);
  const tenants = JSON.parse(outputs.stdout || "{}") as Record<string, { urls: string[] }>;
  console.log("\ndev: tenants");
  for (const [name, tenant] of Object.entries(tenants)) console.log(`  ${name.padEnd(16)} ${tenant.urls.join("  ") || "(no routes)"}`);
  return 0;
}

function down(toolchain: ReturnType<typeof findToolchain>): number {
  selectStack(toolchain, PROJECT_ROOT, STACK);
  const result = runPulumi(toolchain, PROJECT_ROOT, ["destroy", "--yes", "--stack", STACK, "--skip-preview"], { inherit: true });
  if (result.status !== 0) return 1;
  const volumes = spawnSync("docker", ["volume", "ls", "--filter", `label=platform.stack=${STACK}`, "--format", "{{.Name}}"], { encoding: "utf8" });
  const kept = volumes.stdout.trim();
  console.log(kept ? `\ndev: data volumes kept (remove with docker volume rm):\n${kept.replace(/^/gm, "  ")}` : "\ndev: no data volumes kept");
  return 0;
}

process.exitCode = main(process.argv.slice(2));
