import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES, dockerNames, platformLabels, resourceNames, toDockerLabels } from "../model/naming";
import { CACHE_ENDPOINT } from "../model/platform-env";
import type { CachePlan } from "../model/tenant-plan";
import { containerBasics, containerImage, stopSettings } from "./container-settings";
import { resourceOptions } from "./resource-options";

export const CACHE_ALIAS = CACHE_ENDPOINT.host;
const CACHE_CONFIG_PATH = "/etc/platform/redis.conf";
/** A cache: no snapshots, no append-only file. */
export const CACHE_CONFIG = 'save ""\nappendonly no\nprotected-mode no\nbind * -::*\n';

export interface RedisArgs {
  stack: string;
  tenant: string;
  plan: CachePlan;
  network: pulumi.Input<string>;
  provider: docker.Provider;
  pullImages: boolean;
}

/** An optional per-tenant Redis used as a cache: no persistence, reachable only on the tenant's data network. */
export class Redis extends pulumi.ComponentResource {
  readonly container: docker.Container;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.redis, name, {}, opts);
    const { stack, tenant, plan, provider } = args;
    const image = containerImage(resourceNames.cacheImage(tenant), plan.image, args.pullImages, { parent: this, provider });
    this.container = new docker.Container(
      resourceNames.cacheContainer(tenant),
      {
        name: dockerNames.cacheContainer(stack, tenant),
        image,
        // A config file rather than `--save ""`: the provider refuses an empty command argument. Reachable only on
        // the tenant's internal data network, so it listens everywhere without protected mode.
        command: ["redis-server", CACHE_CONFIG_PATH],
        uploads: [{ file: CACHE_CONFIG_PATH, content: CACHE_CONFIG }],
        networksAdvanced: [{ name: args.network, aliases: [CACHE_ALIAS] }],
        healthcheck: { tests: ["CMD", "redis-cli", "ping"], interval: "5s", timeout: "3s", retries: 5, startPeriod: "5s" },
        wait: true,
        waitTimeout: 60,
        ...stopSettings("cache"),
        ...containerBasics(plan.resources),
        labels: toDockerLabels(platformLabels(stack, { tenant, service: "redis" })),
      },
      { parent: this, provider, ...resourceOptions.cacheContainer() },
    );
    this.registerOutputs({});
  }
}
