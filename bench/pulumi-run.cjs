// @ts-check
"use strict";
/**
 * Runs a Pulumi Node.js program the way `pulumi preview` does, with Pulumi's mocks in place of an engine.
 *
 * The parent (bench/bench.ts) starts this file as the nodejs language host would start @pulumi/pulumi/cmd/run:
 * `node <runtime.options.nodeargs> <this file>`, cwd = the project, PULUMI_NODEJS_TYPESCRIPT /
 * PULUMI_NODEJS_TSCONFIG_PATH from runtime.options, PULUMI_NODEJS_ORGANIZATION, config in PULUMI_CONFIG. This file then does what
 * cmd/run/index.js does before it connects to an engine (OpenTelemetry hook, source-map-support, the v8 inspector
 * hooks) and calls the SDK's own `run()` (cmd/run/run.js), which registers ts-node with the same options and loads
 * the program (package.json `main`, as for `pulumi` with no `main` in Pulumi.yaml) inside the root Stack resource.
 * Checked against the real language host: it passes nodeargs to node as they are and sets those variables.
 * Plain JavaScript on purpose: a TypeScript loader for this file would sit in the measured process. Resource
 * inputs are counted, not recorded (that is test/program-harness.ts's job).
 *
 * Writes { resources, byType, maxRssMb, programMs, errors } as JSON to $BENCH_REPORT_FILE.
 */
const fs = require("node:fs");

/** Resolves SDK modules from the program's directory, so this file uses the very copy the program loads. */
const sdk = (/** @type {string} */ id) => require(require.resolve(id, { paths: [process.cwd()] }));

// cmd/run/index.js: instrumentation first (it patches gRPC), then source maps for stack traces.
/** @type {{ withRootContext<T>(fn: () => T): T }} */
const instrumentation = sdk("@pulumi/pulumi/cmd/run/instrumentation");
sdk("source-map-support/register");

/** @type {typeof import("@pulumi/pulumi")} */
const pulumi = sdk("@pulumi/pulumi");
/** @type {{ waitForRPCs(): Promise<void> }} */
const settings = sdk("@pulumi/pulumi/runtime/settings");
/** @type {{ isInitializedAsync(): Promise<void> }} */
const v8Hooks = sdk("@pulumi/pulumi/runtime/closure/v8Hooks");
// run.js requires its package's index.js (the engine entrypoint, which would parse argv and demand --monitor)
// for one constant; this file stands in for that entrypoint, so it provides the constant itself.
const entrypoint = require.resolve("@pulumi/pulumi/cmd/run", { paths: [process.cwd()] });
const stub = new (require("node:module").Module)(entrypoint);
stub.loaded = true;
stub.exports = { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 };
require.cache[entrypoint] = stub;
/**
 * cmd/run/run.js is internal (its typings export nothing); this is its signature in @pulumi/pulumi 3.x.
 * @type {{ run(argv: { _: string[]; [flag: string]: unknown }, programStarted: () => void,
 *   reportLoggedError: (err: Error) => void, isErrorReported: (err: Error) => boolean): Promise<unknown> }}
 */
const runner = sdk("@pulumi/pulumi/cmd/run/run");

const reportFile = process.env.BENCH_REPORT_FILE;
if (!reportFile) throw new Error("BENCH_REPORT_FILE is not set");

/** @type {Record<string, number>} */
const byType = {};
let resources = 0;
/** @type {unknown[]} */
const errors = [];
process.on("uncaughtException", (err) => errors.push(err));
process.on("unhandledRejection", (err) => errors.push(err));

pulumi.runtime.setMocks(
  {
    newResource(args) {
      resources++;
      byType[args.type] = (byType[args.type] ?? 0) + 1;
      // Outputs the programs read: a password's result, an image's id and a StackReference's outputs (same values
      // as test/program-harness.ts). The stack read back has no outputs, as on a first deployment: the program
      // then declares every tenant's database volume from its tenant file, the same resources as with a memory.
      /** @type {Record<string, unknown>} */
      const state = { ...args.inputs };
      if (args.type === "random:index/randomPassword:RandomPassword") state.result = `generated-password-${args.name}`;
      if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = `sha256:${String(args.inputs.name)}`;
      if (args.type === "pulumi:pulumi:StackReference") Object.assign(state, { outputs: {}, secretOutputNames: [] });
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      return args.inputs;
    },
  },
  process.env.PULUMI_NODEJS_PROJECT,
  process.env.PULUMI_NODEJS_STACK,
  true,
  // The language host passes the organization in this variable (cmd/run/index.js); the program's StackReference to
  // its own outputs (stacks/deployed-databases.ts) names it.
  process.env.PULUMI_NODEJS_ORGANIZATION,
);

/** @type {Set<unknown>} */
const logged = new Set();
v8Hooks
  .isInitializedAsync()
  .then(() =>
    instrumentation.withRootContext(() =>
      runner.run(
        { _: ["."] },
        () => {},
        (err) => logged.add(err),
        (err) => logged.has(err),
      ),
    ),
  )
  .then(() => settings.waitForRPCs())
  .then(
    () => finish(),
    (err) => {
      errors.push(err);
      finish();
    },
  );

function finish() {
  const report = {
    resources,
    byType,
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    programMs: Math.round(performance.now()),
    errors: errors.map((e) => (e instanceof Error ? e.message : String(e)).slice(0, 2000)),
  };
  fs.writeFileSync(reportFile ?? "", JSON.stringify(report));
  if (errors.length > 0) process.exitCode = 1;
}
