import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../model/naming";
import type { DockerHost } from "../model/stack";

export interface HostArgs {
  host: DockerHost;
  /** Registry credentials for private images; passwords arrive as secrets. */
  registries: { server: string; username: string; password: pulumi.Input<string> }[];
}

/** The Docker provider for one host: every resource placed on that host is created through it. */
export class Host extends pulumi.ComponentResource {
  readonly provider: docker.Provider;
  readonly name: string;
  readonly url: string;

  constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.host, name, {}, opts);
    this.name = args.host.name;
    this.url = args.host.url;
    this.provider = new docker.Provider(
      name,
      {
        host: args.host.url,
        sshOpts: args.host.sshOpts,
        registryAuth: args.registries.map((registry) => ({
          address: registry.server,
          username: registry.username,
          password: pulumi.secret(registry.password),
        })),
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
