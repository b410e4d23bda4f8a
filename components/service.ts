import type * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES, platformLabels, resourceNames, toDockerLabels } from "../model/naming";
import type { ServicePlan } from "../model/tenant-plan";
import { basicAuthLabels, traefikLabels, traefikServiceName } from "../model/traefik-labels";
import { htpasswdEntry } from "../model/basic-auth";
import type { SecretRef } from "../model/traffic-plan";
import { containerBasics, containerImage, healthcheckSettings, healthGateSeconds, stopSettings } from "./container-settings";
import { imageLabelCheck } from "./image-label-check";
import { releaseTask, type ReleaseTaskArgs } from "./release-task";
import { rolloutGate } from "./rollout-gate";
import { resourceOptions } from "./resource-options";

export interface ServiceArgs {
  stack: string;
  tenant: string;
  plan: ServicePlan;
  provider: docker.Provider;
  tls: "acme" | "self-signed" | "none";
  pullImages: boolean;
  /** Networks this service joins (their `name` outputs, so containers wait for the networks). */
  networks: { apps: pulumi.Input<string>; ingress?: pulumi.Input<string>; data?: pulumi.Input<string> };
  /** Docker name of the ingress network, for Traefik's labels; set exactly when the service is routed. */
  ingressNetworkName?: string;
  /** Environment as `NAME=value`; a secret when it carries secrets. */
  envs: pulumi.Input<string[]>;
  /** The value of a basic-auth secret (`user:password`) a route's access names. */
  credential: (ref: SecretRef) => pulumi.Input<string>;
  /** Resources the containers must wait for (database, cache, Traefik's attachment to the ingress network). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
  /** The tenant's backup container, where it has one: it takes a dump just before the release task runs. */
  releaseDump?: ReleaseTaskArgs["dump"];
  /** The host's engine supports health-check start intervals (Engine 25+). */
  healthcheckStartInterval: boolean;
  /**
   * The edge that routes this service: its stack (a preview's base) selects the containers by label, and the rollout
   * gate asks its Traefik container whether it routes to the new containers.
   */
  edge: { stack: string; hostUrl: string; hostName: string };
}

/** One app service of a tenant: its image and `replicas` containers, health-gated and routed by labels. */
export class Service extends pulumi.ComponentResource {
  readonly containers: docker.Container[];
  /** The release task, when the service declares one: its containers depend on it. */
  readonly release?: command.local.Command;

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.service, name, {}, opts);
    const { stack, tenant, plan, provider } = args;
    const image = containerImage(resourceNames.serviceImage(tenant, plan.name), plan.runImage, args.pullImages, { parent: this, provider });

    const routing = args.ingressNetworkName
      ? traefikLabels(plan, { stack, edge: args.edge.stack, tenant, ingressNetwork: args.ingressNetworkName, tls: args.tls })
      : {};
    // Basic-auth users are bcrypt hashes of secrets: Pulumi keeps those label values secret in state and previews.
    const authLabels = args.ingressNetworkName
      ? basicAuthLabels(plan, { stack, tenant }).map(({ label, users }) => ({
          label,
          value: pulumi
            .all(users.map((ref) => args.credential(ref)))
            .apply((values) => values.map((value, i) => htpasswdEntry(value, `${stack}/${users[i]!.scope}/${users[i]!.name}`, `platform:secrets.${users[i]!.scope}.${users[i]!.name}`)).join(",")),
        }))
      : [];
    const labels = [...toDockerLabels({ ...platformLabels(stack, { tenant, service: plan.name }), ...routing }), ...authLabels].sort((a, b) =>
      a.label.localeCompare(b.label),
    );

    const networks: docker.types.input.ContainerNetworksAdvanced[] = [{ name: args.networks.apps, aliases: [plan.name] }];
    if (args.networks.data) networks.push({ name: args.networks.data });
    if (args.networks.ingress) networks.push({ name: args.networks.ingress });

    // An image's own routing labels would reach Traefik through every container made from it (image-label-check.ts),
    // the release task's included.
    const labelCheck = imageLabelCheck(
      resourceNames.imageLabelCheck(tenant, plan.name),
      { hostUrl: args.edge.hostUrl, hostName: args.edge.hostName, image, owner: `tenant ${tenant}, service ${plan.name}` },
      { parent: this, dependsOn: [] },
    );
    // The release task runs before any new container exists; create-before-delete removes old ones only after the
    // new ones are up, so a failed task leaves the old containers serving.
    this.release = plan.release
      ? releaseTask(resourceNames.releaseTask(tenant, plan.name), {
          hostUrl: args.edge.hostUrl,
          stack,
          tenant,
          service: plan.name,
          image,
          command: plan.release.command,
          envs: args.envs,
          networks: [...(args.networks.data ? [args.networks.data] : []), args.networks.apps],
          resources: plan.resources,
          dependsOn: [...args.dependsOn, labelCheck],
          ...(args.releaseDump ? { dump: args.releaseDump } : {}),
        }, { parent: this })
      : undefined;
    const containerDependsOn = [...args.dependsOn, labelCheck, ...(this.release ? [this.release] : [])];

    this.containers = Array.from({ length: plan.replicas }, (_, index) =>
      new docker.Container(
        resourceNames.serviceContainer(tenant, plan.name, index),
        {
          image,
          ...(plan.command ? { command: plan.command } : {}),
          envs: args.envs,
          networksAdvanced: networks,
          ...(plan.healthcheck
            ? {
                healthcheck: healthcheckSettings(plan.healthcheck, args.healthcheckStartInterval),
                // The replacement must be healthy before the old container is removed.
                wait: true,
                waitTimeout: healthGateSeconds(plan.healthcheck),
              }
            : {}),
          ...stopSettings("app"),
          ...containerBasics(plan.resources),
          labels,
        },
        { parent: this, provider, dependsOn: containerDependsOn, ...resourceOptions.serviceContainer() },
      ),
    );
    if (args.ingressNetworkName && plan.port !== undefined) {
      rolloutGate(resourceNames.rolloutGate(tenant, plan.name), {
        hostUrl: args.edge.hostUrl,
        owner: { stack, tenant, service: plan.name },
        edgeStack: args.edge.stack,
        traefikService: `${traefikServiceName(stack, tenant, plan.name)}@docker`,
        containers: this.containers,
        ingressNetworkName: args.ingressNetworkName,
        port: plan.port,
        dependsOn: args.dependsOn,
      }, { parent: this });
    }
    this.registerOutputs({});
  }
}
