import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { vi } from "vitest";

/**
 * Runs the whole program (index.ts) under Pulumi's mocks, the way `pulumi preview` would, and records every
 * resource's type, name, inputs and parent. Config comes from the real Pulumi.<stack>.yaml files, with each
 * encrypted secret replaced by a recognisable plaintext so tests can prove it never leaks.
 *
 * Behaviour tests run on a fixture tenant set (test/fixtures/tenants/<set>/) that brings its own secrets, so
 * teams adding or removing files in tenants/ never change what they assert; only test/live-tenants.test.ts
 * looks at tenants/.
 */

export const PROJECT_ROOT = path.resolve(__dirname, "..");
/** The copy of the original example tenants that behaviour tests assert against. */
export const EXAMPLE_TENANTS = fixtureTenants("examples");

/** Fills `dir` (a fresh temporary folder) with the example tenants, plus `extra` files added or replaced by name. */
export function exampleTenantsIn(dir: string, extra: Record<string, string> = {}): string {
  cpSync(EXAMPLE_TENANTS, dir, { recursive: true });
  for (const [file, text] of Object.entries(extra)) writeFileSync(path.join(dir, file), text);
  return dir;
}
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider: string;
}

/** One call of a resource-options function (components/resource-options.ts), in program order. */
export interface RecordedOptions {
  kind: string;
  args: unknown[];
  options: pulumi.CustomResourceOptions;
}

export interface ProgramRun {
  resources: RecordedResource[];
  /** Mocks never see options, so the option builders are recorded in-process instead. */
  options: RecordedOptions[];
  outputs: Record<string, unknown>;
  error?: Error;
}

export function secretValueFor(path: string): string {
  return `plaintext-secret-${path.replace(/[^A-Za-z0-9]/g, "-")}`;
}

export function fixtureTenants(set: string): string {
  return path.join(__dirname, "fixtures", "tenants", set);
}

/**
 * Behaviour tests run on copies of the example stack files kept here, so a team replacing the example hosts, domain
 * or secrets in its own Pulumi.<stack>.yaml (docs/pipeline.md's first steps) keeps them green.
 */
export const FIXTURE_STACKS = path.join(__dirname, "fixtures", "stacks");

/** The stack file's `platform:*` config as the engine hands it to the program (secrets decrypted). */
export function stackConfig(stack: string, projectRoot = FIXTURE_STACKS): Record<string, unknown> {
  const file = parse(readFileSync(path.join(projectRoot, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const decrypt = (value: unknown, at: string): unknown => {
    if (Array.isArray(value)) return value.map((v, i) => decrypt(v, `${at}[${i}]`));
    if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      if (entries.length === 1 && entries[0]![0] === "secure") return secretValueFor(at);
      return Object.fromEntries(entries.map(([k, v]) => [k, decrypt(v, `${at}.${k}`)]));
    }
    return value;
  };
  return Object.fromEntries(Object.entries(file.config).map(([key, value]) => [key, decrypt(value, key)]));
}

/**
 * The stack's config with its tenants read from `tenantsDir` instead of tenants/, and every secret those tenant
 * files name set (to `secretValueFor` its config path), whatever the stack file holds.
 */
export function fixtureConfig(stack: string, tenantsDir = EXAMPLE_TENANTS): Record<string, unknown> {
  return { ...stackConfig(stack), "platform:tenantsDir": tenantsDir, "platform:secrets": secretsNamedIn(tenantsDir) };
}

function secretsNamedIn(tenantsDir: string): Record<string, Record<string, string>> {
  type Services = Record<string, { secrets?: string[] } | null> | undefined;
  const secrets: Record<string, Record<string, string>> = {};
  for (const name of readdirSync(tenantsDir).filter((f) => /\.ya?ml$/.test(f))) {
    const tenant = parse(readFileSync(path.join(tenantsDir, name), "utf8")) as
      | { name?: string; services?: Services; overrides?: Record<string, { services?: Services } | null> }
      | null;
    if (typeof tenant?.name !== "string") continue;
    const services = [tenant.services, ...Object.values(tenant.overrides ?? {}).map((o) => o?.services)];
    for (const secret of services.flatMap((s) => Object.values(s ?? {}).flatMap((service) => service?.secrets ?? [])))
      (secrets[tenant.name] ??= {})[secret] = secretValueFor(`platform:secrets.${tenant.name}.${secret}`);
  }
  return secrets;
}

/**
 * `previousOutputs`: what the stack's previous deployment exported, as the program reads it back through a
 * StackReference to itself (stacks/deployed-databases.ts); none by default, like a first deployment.
 */
export async function runProgram(
  stack: string,
  config: Record<string, unknown> = fixtureConfig(stack),
  previousOutputs: Record<string, unknown> = {},
): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider ?? "" });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") state.result = `generated-password-${args.name}`;
        if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = `sha256:${args.inputs.name as string}`;
        if (args.type === "pulumi:pulumi:StackReference") Object.assign(state, { outputs: previousOutputs, secretOutputNames: [] });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        return args.inputs;
      },
    },
    "platform",
    stack,
    true,
    "organization",
  );
  const plain = Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
  pulumi.runtime.setAllConfig(plain, Object.keys(plain).filter((key) => key === "platform:secrets" || key === "platform:registries"));

  vi.resetModules();
  const options = await recordResourceOptions();
  let outputs: Record<string, unknown> = {};
  let error: Error | undefined;
  try {
    const program = (await import("../index")) as Record<string, unknown>;
    outputs = await resolveOutputs(program);
  } catch (caught) {
    error = caught as Error;
  }
  await waitForRegistrations();
  return { resources, options, outputs, error };
}

async function resolveOutputs(program: Record<string, unknown>): Promise<Record<string, unknown>> {
  const exported = Object.entries(program).filter(([key]) => key !== "default" && key !== "__esModule");
  // A promise the program fails to keep (a problem found once the stack's own outputs are read) is the run's error.
  // Several exports may derive from the same failing promise: all are settled (as Pulumi's runtime awaits every
  // export), so none is left rejected with no one listening, and the first failure is the run's error.
  const settledExports = await Promise.allSettled(exported.map(([, value]) => Promise.resolve(value)));
  const failure = settledExports.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  const out: Record<string, unknown> = {};
  for (const [i, [key]] of exported.entries()) {
    const settled = (settledExports[i] as PromiseFulfilledResult<unknown>).value;
    const output: pulumi.Output<unknown> = pulumi.output(settled as pulumi.Input<unknown>) as pulumi.Output<unknown>;
    out[key] = await new Promise<unknown>((resolve) => output.apply((resolved: unknown) => resolve(resolved)));
  }
  return out;
}

/** Wraps the fresh module instance the program is about to import, so every options decision is captured. */
async function recordResourceOptions(): Promise<RecordedOptions[]> {
  const recorded: RecordedOptions[] = [];
  const { resourceOptions } = await import("../components/resource-options");
  const builders = resourceOptions as unknown as Record<string, (...args: unknown[]) => pulumi.CustomResourceOptions>;
  for (const [kind, build] of Object.entries(builders)) {
    builders[kind] = (...args: unknown[]) => {
      const built = build(...args);
      recorded.push({ kind, args, options: built });
      return built;
    };
  }
  return recorded;
}

/** The SDK tracks every outstanding registration; its typings do not export the wait, so it is typed here. */
async function waitForRegistrations(): Promise<void> {
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
}

export function isSecretInput(value: unknown): boolean {
  return value !== null && typeof value === "object" && SECRET_SIG_KEY in (value as object);
}

export function unwrapSecret(value: unknown): unknown {
  return isSecretInput(value) ? (value as { value: unknown }).value : value;
}

export function ofType(run: ProgramRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function labelsOf(resource: RecordedResource): Record<string, string> {
  const labels = (resource.inputs.labels ?? []) as { label: string; value: string }[];
  return Object.fromEntries(labels.map((l) => [l.label, l.value]));
}

export const TYPES = {
  container: "docker:index/container:Container",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  image: "docker:index/remoteImage:RemoteImage",
  password: "random:index/randomPassword:RandomPassword",
  command: "command:local:Command",
  provider: "pulumi:providers:docker",
} as const;
