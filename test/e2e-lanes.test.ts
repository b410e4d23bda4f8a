import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./temp-dirs";

/**
 * `npm run e2e` (scripts/e2e.sh) runs its two lanes as two vitest processes and sums their JSON reports for .ci/run.
 * Here against a stand-in `npx` that plays vitest: each lane passes or fails as told and writes its report.
 */
const dirs = tempDirs("e2e-lanes-");
const SCRIPT = path.join(__dirname, "..", "scripts", "e2e.sh");

const FAKE_NPX = `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
const lane = args[args.indexOf("--project") + 1];
const out = args.find((a) => a.startsWith("--outputFile.json=")).split("=")[1];
const [passed, failed] = (process.env["FAKE_" + lane.toUpperCase()] || "0,0").split(",").map(Number);
if (process.env.FAKE_NO_REPORT !== lane)
  fs.writeFileSync(out, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numTotalTests: passed + failed, testResults: [] }));
console.log("lane " + lane + ": " + passed + " passed, " + failed + " failed");
process.exit(failed > 0 || process.env.FAKE_NO_REPORT === lane ? 1 : 0);
`;

function lanes(env: Record<string, string>) {
  const dir = dirs.make();
  writeFileSync(path.join(dir, "npx"), FAKE_NPX);
  chmodSync(path.join(dir, "npx"), 0o755);
  const report = path.join(dir, "report.json");
  const run = spawnSync("bash", [SCRIPT], { encoding: "utf8", env: { ...process.env, ...env, PATH: `${dir}:${process.env.PATH}`, E2E_JSON_REPORT: report } });
  const totals = JSON.parse(readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numTotalTests: number };
  return { status: run.status, stdout: run.stdout, totals };
}

describe("npm run e2e's two lanes", () => {
  it("counts both lanes' tests in one report, and prints the lane that ran beside", () => {
    const run = lanes({ FAKE_MACHINE: "39,0", FAKE_OWN: "24,0" });
    expect(run.status).toBe(0);
    expect(run.totals).toMatchObject({ numPassedTests: 63, numFailedTests: 0, numTotalTests: 63 });
    expect(run.stdout).toMatch(/lane machine: 39 passed[\s\S]*lane "own"[\s\S]*lane own: 24 passed/);
  });

  it("fails when either lane fails, counting its failures", () => {
    const run = lanes({ FAKE_MACHINE: "39,0", FAKE_OWN: "22,2" });
    expect(run.status).not.toBe(0);
    expect(run.totals).toMatchObject({ numPassedTests: 61, numFailedTests: 2 });
    expect(lanes({ FAKE_MACHINE: "38,1", FAKE_OWN: "24,0" }).status).not.toBe(0);
  });

  it("counts a lane that wrote no report (it crashed) as one failed test", () => {
    const run = lanes({ FAKE_MACHINE: "39,0", FAKE_OWN: "24,0", FAKE_NO_REPORT: "own" });
    expect(run.status).not.toBe(0);
    expect(run.totals).toMatchObject({ numPassedTests: 39, numFailedTests: 1 });
  });
});
