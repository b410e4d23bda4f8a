/**
 * One `pulumi up` of a single demo-app container through the project's docker provider plugin, against the engine
 * at HOST, with the health check the platform declares for a 30 s interval; then a preview that must show no
 * changes, and a destroy. Prints one JSON line. Used by bench/start-interval.sh (run by hand, not by CI).
 *
 *   tsx bench/start-interval-provider.ts <docker host url> <with-start-interval: yes|no>
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { findToolchain, runPulumi, selectStack } from "../devstack/toolchain";

const REPO = path.resolve(__dirname, "..");
const [host, withStartInterval] = process.argv.slice(2);
if (!host || !["yes", "no"].includes(withStartInterval ?? "")) {
  console.error("usage: tsx bench/start-interval-provider.ts <docker host url> <yes|no>");
  process.exit(2);
}

// The same test, interval, timeout, retries and start period as components/container-settings.ts builds for a
// tenant service with a 30 s interval; startInterval "1s" is what it adds where the stack says the host supports it.
const PROGRAM = `
const docker = require("@pulumi/docker");
const pulumi = require("@pulumi/pulumi");
const cfg = new pulumi.Config();
const engine = new docker.Provider("engine", { host: cfg.require("host") });
const url = "http://127.0.0.1:8080/health";
const probe = new docker.Container("probe", {
  image: "platform-local/demo-app:1",
  networkMode: "none",
  labels: [{ label: "platform.stack", value: "start-interval-bench" }],
  healthcheck: {
    tests: ["CMD-SHELL", \`curl -fsS -o /dev/null \${url} || wget -q -O /dev/null \${url} || exit 1\`],
    interval: "30s", timeout: "5s", retries: 3, startPeriod: "10s",
    ...(cfg.requireBoolean("startInterval") ? { startInterval: "1s" } : {}),
  },
  wait: true,
  waitTimeout: 120,
}, { provider: engine });
exports.id = probe.id;
`;

const dir = mkdtempSync(path.join(tmpdir(), "platform-start-interval-"));
try {
  symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  writeFileSync(path.join(dir, "Pulumi.yaml"), "name: start-interval-probe\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
  writeFileSync(path.join(dir, "package.json"), '{"name":"start-interval-probe","private":true,"main":"index.js"}\n');
  writeFileSync(path.join(dir, "index.js"), PROGRAM);
  const toolchain = findToolchain(REPO, path.join(dir, ".state"));
  selectStack(toolchain, dir, "probe");
  for (const [key, value] of [["host", host], ["startInterval", withStartInterval === "yes" ? "true" : "false"]]) {
    const set = runPulumi(toolchain, dir, ["config", "set", key!, value!, "--stack", "probe"]);
    if (set.status !== 0) throw new Error(`pulumi config set ${key} failed: ${set.stderr.trim()}`);
  }

  const t0 = Date.now();
  const up = runPulumi(toolchain, dir, ["up", "--yes", "--skip-preview", "--stack", "probe"]);
  const upSeconds = (Date.now() - t0) / 1000;
  const result: Record<string, unknown> = { host, startInterval: withStartInterval === "yes", upOk: up.status === 0, upSeconds };
  // Pulumi's own per-resource time (whole seconds): the provider's create, including its wait for "healthy".
  result.containerCreateSeconds = Number(/docker:index:Container probe created \((\d+)s\)/.exec(up.stdout)?.[1] ?? NaN);
  if (up.status !== 0) {
    result.error = /error: (Unable to create container[^\n]*)/.exec(up.stdout + up.stderr)?.[1] ?? (up.stderr.trim() || up.stdout.trim()).slice(-300);
  } else {
    const id = runPulumi(toolchain, dir, ["stack", "output", "id", "--stack", "probe"]).stdout.trim();
    const inspect = spawnSync("docker", ["-H", host, "inspect", "-f", "{{json .Config.Healthcheck}}", id], { encoding: "utf8" });
    result.healthcheckAsCreated = JSON.parse(inspect.stdout || "null");
    const preview = runPulumi(toolchain, dir, ["preview", "--expect-no-changes", "--stack", "probe"]);
    result.secondPreviewNoChanges = preview.status === 0;
  }
  const destroy = runPulumi(toolchain, dir, ["destroy", "--yes", "--skip-preview", "--stack", "probe"]);
  if (destroy.status !== 0) result.destroyError = destroy.stderr.trim().slice(-300);
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
