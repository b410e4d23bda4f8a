import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "vitest";
import { Tenant } from "../components/tenant";
import { formatDiagnostic } from "../model/diagnostics";
import type { StackDefinition } from "../model/stack";
import type { TenantPlan } from "../model/tenant-plan";
import { validateTenants } from "../model/validate";
import { loadStacksFromFiles } from "../stacks/load-from-files";
import { FIXTURE_STACKS } from "./program-harness";

/** One Tenant component under Pulumi's mocks, with each resource's options (release tasks, named dumps). */

export const fixtures = loadStacksFromFiles(FIXTURE_STACKS);
export const staging = fixtures.stacks.find((s) => s.name === "staging")!;

export function plan(text: string, stack: StackDefinition = staging, stackNames = fixtures.stackNames): TenantPlan {
  const result = validateTenants({ files: [{ file: "tenants/acme.yaml", text }], stacks: [stack], stackNames });
  expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
  return result.plans[stack.name]![0]!;
}

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

export interface Deployed {
  resources: Recorded[];
  tenant: Tenant;
  /** Each resource's `dependsOn`, as declared (mocks never see options; a transformation does). */
  dependsOn: Map<string, pulumi.Resource[]>;
  deleteBeforeReplace: Map<string, boolean | undefined>;
}

/** The tenant's resources under Pulumi's mocks, as `pulumi preview` would declare them. */
export async function deploy(tenantPlan: TenantPlan): Promise<Deployed> {
  const resources: Recorded[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") state.result = `generated-password-${args.name}`;
        if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = `sha256:${args.inputs.name as string}`;
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "platform",
    "staging",
    true,
  );
  const dependsOn = new Map<string, pulumi.Resource[]>();
  const deleteBeforeReplace = new Map<string, boolean | undefined>();
  const record: pulumi.ResourceTransformation = ({ name, opts }) => {
    dependsOn.set(name, ([] as pulumi.Resource[]).concat((opts.dependsOn ?? []) as pulumi.Resource[]));
    deleteBeforeReplace.set(name, (opts as pulumi.CustomResourceOptions).deleteBeforeReplace);
    return undefined;
  };
  const provider = new docker.Provider("host-staging-1", { host: "ssh://deploy@staging-1.example.net" });
  const tenant = new Tenant(
    "acme",
    {
      plan: tenantPlan,
      stack: staging,
      hosts: {
        [tenantPlan.homeHost]: {
          provider,
          url: "ssh://deploy@staging-1.example.net",
          edge: { stack: "staging", pauseName: "platform-staging-edge-pause", pauseId: "pause-id", resources: [] },
          healthcheckStartInterval: false,
        },
      },
      secrets: {},
    },
    { transformations: [record] },
  );
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
  return { resources, tenant, dependsOn, deleteBeforeReplace };
}

