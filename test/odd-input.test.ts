import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runValidate } from "../cli/validate";
import { formatDiagnostic } from "../model/diagnostics";
import { MAX_TENANT_FILE_BYTES } from "../model/project-files";
import { TENANT_LIMITS } from "../model/tenant-schema";
import { validateTenants } from "../model/validate";
import { MAX_ALIAS_COUNT } from "../model/yaml-source";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import { PROJECT_ROOT, runProgram, stackConfig } from "./program-harness";

/**
 * Input a user did not mean to write, or a file system that is not what it seems: each must end as one
 * `file:line:col key.path: message` line (or a usage error, exit 2), never a stack trace or a hang, and
 * `--json` must print JSON whatever happens.
 */

const stacks = loadStacksFromFiles(PROJECT_ROOT);

function errorLines(text: string, file = "tenants/acme.yaml"): string[] {
  return validateTenants({ files: [{ file, text }], stacks: stacks.stacks, stackNames: stacks.stackNames }).diagnostics.map(formatDiagnostic);
}

const TENANT = `name: acme
services:
  web:
    image: registry.example.com/acme/web:1.0.0
    port: 8080
    routes: []
`;
/** The tenant with extra lines under `services.web`. */
const withWebLines = (lines: string) => TENANT.replace("    routes: []\n", `    routes: []\n${lines}`);

const MIB = 1024 ** 2;
const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "platform-odd-"));
  chmodSync(dir, 0o755);
  tempDirs.push(dir);
  return dir;
}

/** A folder of tenant files that are not files, not text, or too much text; with the line each must produce. */
function oddFolder(): { dir: string; expected: string[] } {
  const dir = tempDir();
  const at = (name: string, message: string) => `${path.join(dir, name)}:1:1 (file): ${message}`;
  symlinkSync("loop.yaml", path.join(dir, "loop.yaml"));
  symlinkSync("gone.yaml", path.join(dir, "dangling.yaml"));
  mkdirSync(path.join(dir, "folder.yaml"));
  const fifo = spawnSync("mkfifo", [path.join(dir, "pipe.yaml")]);
  if (fifo.status !== 0) throw new Error(`mkfifo is needed for this test: ${fifo.stderr}`);
  writeFileSync(path.join(dir, "huge.yaml"), `name: huge\n${"# padding\n".repeat((2 * MIB) / 10 - 1)}`);
  writeFileSync(path.join(dir, "latin1.yaml"), Buffer.from("name: caf\xe9\n", "latin1"));
  const limit = `${MAX_TENANT_FILE_BYTES / MIB} MiB`;
  return {
    dir,
    expected: [
      at("dangling.yaml", "is a symlink to gone.yaml, which does not exist"),
      at("folder.yaml", "is a directory, not a tenant file"),
      at("huge.yaml", `is 2 MiB; a tenant file may be at most ${limit}`),
      at("latin1.yaml", "is not UTF-8 text (save it as UTF-8)"),
      at("loop.yaml", "is a symlink loop (it leads back to itself); replace it with the file"),
      at("pipe.yaml", "is a named pipe (FIFO), not a tenant file (a plain file)"),
    ],
  };
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+[:(]/m);

describe("files that are not readable tenant files", () => {
  let odd: { dir: string; expected: string[] };
  beforeAll(() => {
    odd = oddFolder();
  });

  it("each gets one line at the file, and the rest of the folder is still checked", () => {
    writeFileSync(path.join(odd.dir, "acme.yaml"), TENANT.replace("port: 8080", "port: web"));
    const result = runValidate([odd.dir]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([
      `${path.join(odd.dir, "acme.yaml")}:5:5 services.web.port: expected a number, got "web"`,
      ...odd.expected,
      `${odd.expected.length + 1} problem(s) in ${odd.expected.length + 1} file(s)`,
    ]);
    rmSync(path.join(odd.dir, "acme.yaml"));
  });

  it("named on the command line, each is reported the same way (a path that does not exist is a usage error)", () => {
    for (const line of odd.expected) {
      const file = line.slice(0, line.indexOf(":1:1 "));
      expect(runValidate([file])).toEqual({ exitCode: 1, stdout: "", stderr: `${line}\n1 problem(s) in 1 file(s)\n` });
    }
    expect(runValidate([path.join(odd.dir, "gone.yaml")])).toMatchObject({ exitCode: 2, stderr: expect.stringContaining("no such file or directory") });
  });

  it("the size bound is a bound, not a guess: a file of exactly the limit is read", () => {
    const dir = tempDir();
    const file = path.join(dir, "acme.yaml");
    writeFileSync(file, TENANT.padEnd(MAX_TENANT_FILE_BYTES - 1, "#") + "\n");
    expect(readFileSync(file).length).toBe(MAX_TENANT_FILE_BYTES);
    expect(runValidate([file]).exitCode).toBe(0);
  });

  // Root reads any file whatever its mode (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), and tests may run as root: then
  // validate runs as root without those two capabilities (setpriv, util-linux), so the kernel refuses the file with
  // EACCES just as for any user. It used to run as user nobody instead, which needs nobody to read the checkout (its
  // package.json, node_modules, the node in .engine/): in a checkout under a private folder (mode 0700, as under
  // `mktemp -d`) node failed with ERR_INVALID_PACKAGE_CONFIG before validate read anything. Root without the
  // override still reads the checkout as its owner (or through its group/other bits), wherever it sits.
  const asRoot = process.getuid?.() === 0;
  const WITHOUT_FILE_OVERRIDE = ["--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search", "--"];
  const canDropOverride = !asRoot || spawnSync("setpriv", [...WITHOUT_FILE_OVERRIDE, process.execPath, "-e", ""]).status === 0;
  it.skipIf(!canDropOverride)("a file without read permission (as root: without its file-permission override; skipped only if setpriv cannot drop it)", () => {
    const dir = tempDir();
    const file = path.join(dir, "acme.yaml");
    writeFileSync(file, TENANT);
    chmodSync(file, 0o000);
    const expected = `${file}:1:1 (file): cannot be read: permission denied`;
    if (!asRoot) {
      expect(runValidate([dir]).stderr).toContain(expected);
      return;
    }
    const run = spawnSync("setpriv", [...WITHOUT_FILE_OVERRIDE, process.execPath, "--import", "tsx", "cli/validate.ts", dir], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`${expected}\n1 problem(s) in 1 file(s)\n`);
  });

});

describe("YAML that parses badly", () => {
  it("an alias bomb is refused at its first alias, without expanding it", () => {
    const levels = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    const bomb = levels.map((name, i) => `${name}: &${name} [${i === 0 ? '"lol"' : `*${levels[i - 1]}`}${`, ${i === 0 ? '"lol"' : `*${levels[i - 1]}`}`.repeat(8)}]`);
    const started = Date.now();
    expect(errorLines(`name: acme\n${bomb.join("\n")}\n`)).toEqual([
      `tenants/acme.yaml:3:8 (yaml): aliases expand too far (over ${MAX_ALIAS_COUNT} alias uses, nested ones counted); write the values out instead`,
    ]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("anchors and a few aliases are still fine", () => {
    expect(errorLines(`${TENANT}  worker:\n    image: registry.example.com/acme/web:1.0.0\n    env: *e\n`.replace("    routes: []\n", "    routes: []\n    env: &e { LOG: info }\n"))).toEqual([]);
  });

  it("a second document says what to do, at its '---'", () => {
    expect(errorLines(`${TENANT}---\nname: other\n`)).toEqual([
      "tenants/acme.yaml:7:1 (yaml): a second YAML document starts here: the file must hold exactly one (remove the '---' line and what follows, or move it to its own file)",
    ]);
    // A leading '---' opens the one document and is fine.
    expect(errorLines(`---\n${TENANT}`)).toEqual([]);
  });

  it("a byte-order mark does not shift line-1 columns", () => {
    const flow = "{ name: acme, servics: {} }\n";
    const expectedColumn = flow.indexOf("servics") + 1;
    const withBom = errorLines(`\uFEFF${flow}`).find((line) => line.includes("servics"));
    expect(withBom).toMatch(new RegExp(`^tenants/acme.yaml:1:${expectedColumn} servics: unknown key "servics" \\(did you mean "services"\\?`));
    expect(errorLines(`\uFEFF${TENANT}`)).toEqual([]);
  });

  it("nesting deep enough to overflow the parser is one line", () => {
    const lines = errorLines(`name: acme\nservices: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`);
    expect(lines).toEqual([expect.stringMatching(/^tenants\/acme\.yaml:2:\d+ \(yaml\): nested too deeply to read$/)]);
  });
});

describe("indentation errors point at the line and column that are out of place", () => {
  const INDENT = "(yaml): unexpected indentation: this line is indented deeper than the keys of its map (or the line above lacks a ':')";
  const cases: { title: string; text: string; expected: string }[] = [
    { title: "a key indented less than its siblings", text: TENANT.replace("    port:", "   port:"), expected: "tenants/acme.yaml:5:4 (yaml): YAML syntax error: All mapping items must start at the same column" },
    { title: "a key indented more than its siblings", text: TENANT.replace("    port:", "      port:"), expected: `tenants/acme.yaml:5:7 ${INDENT}` },
    { title: "a top-level key indented by one space", text: TENANT.replace("services:", " services:"), expected: `tenants/acme.yaml:2:2 ${INDENT}` },
    { title: "a key missing its ':' before an indented block", text: TENANT.replace("services:", "services"), expected: `tenants/acme.yaml:3:3 ${INDENT}` },
    {
      title: "a list item out of line with the items above",
      text: withWebLines("    command:\n      - run\n     - --fast\n"),
      expected: "tenants/acme.yaml:9:6 (yaml): unexpected indentation: a list item must start at the same column as the items before it",
    },
    { title: "a tab in the indentation, reported where the tab is", text: TENANT.replace("    port:", "\tport:"), expected: "tenants/acme.yaml:5:1 (yaml): YAML syntax error: Tabs are not allowed as indentation" },
  ];
  it.each(cases)("$title", ({ text, expected }) => {
    expect(errorLines(text)).toEqual([expected]);
  });
});

describe("overrides that name a service the file does not define", () => {
  it("are reported at the override's own key, with a suggestion", () => {
    expect(errorLines(`${TENANT}overrides:\n  staging:\n    services:\n      wbe: { replicas: 2 }\n`)).toEqual([
      'tenants/acme.yaml:10:7 overrides.staging.services.wbe: "wbe" is not a service of this tenant (did you mean "web"? services: web); to add a service on stack staging only, give it an image',
    ]);
  });

  it("a whole new service (with an image) for one stack is still allowed, and its errors point into the override", () => {
    const override = (service: string) => `${TENANT}overrides:\n  staging:\n    services:\n      debug: ${service}\n`;
    expect(errorLines(override("{ image: registry.example.com/acme/debug:1.0.0 }"))).toEqual([]);
    expect(errorLines(override("{ image: registry.example.com/acme/debug:1.0.0, routes: [] }"))).toEqual([
      expect.stringMatching(/^tenants\/acme\.yaml:10:\d+ services\.debug\.routes: .*port/),
    ]);
  });
});

describe("numbers where a unit is needed, and bounds", () => {
  it("a bare number gets the same hint as a string without a unit", () => {
    expect(errorLines(withWebLines("    resources: { memory: 512 }\n"))).toEqual([
      "tenants/acme.yaml:7:18 services.web.resources.memory: 512 is not a size (use e.g. 512Mi or 1Gi)",
    ]);
    expect(errorLines(withWebLines("    healthcheck: { path: /health, interval: 10 }\n"))).toEqual([
      "tenants/acme.yaml:7:35 services.web.healthcheck.interval: 10 is not a duration (use e.g. 10s, 1m30s or 500ms)",
    ]);
  });

  const { memory, cpus, probe, startPeriod } = TENANT_LIMITS;
  const outOfBounds: { title: string; lines: string; expected: string }[] = [
    { title: "a zero probe interval", lines: "    healthcheck: { path: /h, interval: 0s }\n", expected: `services.web.healthcheck.interval: "0s" is too short (minimum ${probe.min})` },
    { title: "an hour-long probe timeout", lines: "    healthcheck: { path: /h, timeout: 5h }\n", expected: `services.web.healthcheck.timeout: "5h" is too long (maximum ${probe.max})` },
    { title: "a day-long start period", lines: "    healthcheck: { path: /h, startPeriod: 24h }\n", expected: `services.web.healthcheck.startPeriod: "24h" is too long (maximum ${startPeriod.max})` },
    { title: "900Ti of memory", lines: "    resources: { memory: 900Ti }\n", expected: `services.web.resources.memory: "900Ti" is too large (maximum ${memory.max})` },
    { title: "1Ki of memory", lines: "    resources: { memory: 1Ki }\n", expected: `services.web.resources.memory: "1Ki" is too small (minimum ${memory.min})` },
    { title: "a sliver of a CPU", lines: "    resources: { cpus: 0.0001 }\n", expected: `services.web.resources.cpus: 0.0001 is too small (minimum ${cpus.min})` },
    { title: "thousands of replicas", lines: "    replicas: 5000\n", expected: `services.web.replicas: 5000 is too large (maximum ${TENANT_LIMITS.replicas})` },
  ];
  it.each(outOfBounds)("$title is refused with the bound in the message", ({ lines, expected }) => {
    expect(errorLines(withWebLines(lines))).toEqual([expect.stringMatching(/^tenants\/acme\.yaml:7:\d+ /)]);
    expect(errorLines(withWebLines(lines))[0]).toContain(expected);
  });

  it("values right at the bounds are accepted", () => {
    const atBounds = withWebLines(
      `    replicas: ${TENANT_LIMITS.replicas}\n    resources: { memory: ${memory.max}, cpus: ${cpus.min} }\n` +
        `    healthcheck: { path: /h, interval: ${probe.min}, timeout: ${probe.max}, startPeriod: ${startPeriod.min} }\n`,
    );
    expect(errorLines(atBounds)).toEqual([]);
    expect(errorLines(withWebLines(`    resources: { memory: ${memory.min} }\n`))).toEqual([]);
  });

  const servicesText = (count: number) =>
    `name: acme\nservices:\n${Array.from({ length: count }, (_, i) => `  s${i}: { image: registry.example.com/acme/s:1.0.0 }\n`).join("")}`;
  it("thousands of services are refused at `services`; the limit itself is fine", () => {
    expect(errorLines(servicesText(2000))).toEqual([
      `tenants/acme.yaml:2:1 services: has 2000 services; a tenant may have at most ${TENANT_LIMITS.services}`,
    ]);
    expect(errorLines(servicesText(TENANT_LIMITS.services))).toEqual([]);
  });

  it("overrides cannot add services past the limit either", () => {
    const extra = Array.from({ length: TENANT_LIMITS.services }, (_, i) => `      x${i}: { image: registry.example.com/acme/s:1.0.0 }\n`).join("");
    const lines = errorLines(`${TENANT}overrides:\n  staging:\n    services:\n${extra}`);
    expect(lines).toEqual([expect.stringContaining(`services: has ${TENANT_LIMITS.services + 1} services; a tenant may have at most ${TENANT_LIMITS.services} (after overrides for stack staging)`)]);
  });

  it("thousands of routes on one service are refused", () => {
    const routes = Array.from({ length: 1000 }, (_, i) => `      - host: s${i}.acme.example.org\n`).join("");
    expect(errorLines(TENANT.replace("    routes: []\n", `    routes:\n${routes}`))).toEqual([
      `tenants/acme.yaml:6:5 services.web.routes: must have at most ${TENANT_LIMITS.routes} item(s)`,
    ]);
  });

  it("tenants/README.md and the editor schema state every bound", () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, "tenants", "README.md"), "utf8");
    for (const bound of [`${MAX_TENANT_FILE_BYTES / MIB} MiB`, memory.min, memory.max, `${cpus.min}`, probe.min, probe.max, startPeriod.max, `${TENANT_LIMITS.replicas} replicas`, `${TENANT_LIMITS.services} services`, `${TENANT_LIMITS.routes} routes`])
      expect(readme).toContain(bound);
    const schema = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "tenants", "schema.json"), "utf8")) as {
      properties: { services: { maxProperties: number; additionalProperties: { properties: { replicas: { maximum: number } } } } };
    };
    expect(schema.properties.services.maxProperties).toBe(TENANT_LIMITS.services);
    expect(schema.properties.services.additionalProperties.properties.replicas.maximum).toBe(TENANT_LIMITS.replicas);
  });
});

describe("--json always prints JSON", () => {
  const parse = (stdout: string) => JSON.parse(stdout) as { valid: boolean; usageError?: string; errors: { path: string; message: string }[] };

  it("for usage errors, with exit code 2", () => {
    for (const args of [["--json", "--strict"], ["--strict", "--json"], ["--json", "no/such/file.yaml"], ["--json", tempDir()]]) {
      const result = runValidate(args);
      expect(result.exitCode).toBe(2);
      expect(parse(result.stdout)).toMatchObject({ valid: false, usageError: expect.any(String), errors: [] });
    }
  });

  it("for every odd file, run as the real command: JSON on stdout, no stack trace anywhere", () => {
    const odd = oddFolder();
    writeFileSync(path.join(odd.dir, "bomb.yaml"), "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n");
    const run = spawnSync(process.execPath, ["--import", "tsx", "cli/validate.ts", "--json", odd.dir], { cwd: PROJECT_ROOT, encoding: "utf8", timeout: 30_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("");
    const report = parse(run.stdout);
    expect(report.valid).toBe(false);
    expect(report.errors.map((e) => e.message)).toEqual([
      expect.stringContaining("aliases expand too far"),
      ...odd.expected.map((line) => line.slice(line.indexOf("(file): ") + "(file): ".length)),
    ]);
  });
});

describe("the program (pulumi preview) reports the same lines instead of crashing", () => {
  it("fails with a RunError listing each odd file once", async () => {
    const odd = oddFolder();
    writeFileSync(path.join(odd.dir, "acme.yaml"), `${TENANT}overrides:\n  staging:\n    services:\n      wbe: { replicas: 2 }\n`);
    writeFileSync(path.join(odd.dir, "multi.yaml"), `${TENANT.replace("acme", "multi")}---\nname: other\n`);
    const run = await runProgram("staging", { ...stackConfig("staging"), "platform:tenantsDir": odd.dir });
    expect(run.resources).toEqual([]);
    expect(pulumi.RunError.isInstance(run.error)).toBe(true);
    const lines = run.error!.message.split("\n");
    expect(lines[0]).toBe(`${odd.expected.length + 2} problem(s) found; nothing was deployed:`);
    expect(lines.slice(1)).toEqual(
      expect.arrayContaining([
        ...odd.expected,
        `${path.join(odd.dir, "acme.yaml")}:10:7 overrides.staging.services.wbe: "wbe" is not a service of this tenant (did you mean "web"? services: web); to add a service on stack staging only, give it an image`,
        `${path.join(odd.dir, "multi.yaml")}:7:1 (yaml): a second YAML document starts here: the file must hold exactly one (remove the '---' line and what follows, or move it to its own file)`,
      ]),
    );
    noStackTrace(run.error!.message);
  });
});
