import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

// The benchmark's baseline: the same resource types and counts the platform program declared for a tenant set
// (config baseline:counts, by type token), in plain loops with constant inputs. No components, no validation.
const counts = new pulumi.Config("baseline").requireObject<Record<string, number>>("counts");
const count = (type: string): number => counts[type] ?? 0;

const providers: docker.Provider[] = [];
for (let i = 0; i < count("pulumi:providers:docker"); i++) {
  providers.push(new docker.Provider(`host-${i}`, { host: `ssh://deploy@host-${i}.example.net` }));
}
const provider = (i: number) => providers[i % providers.length];

for (let i = 0; i < count("docker:index/remoteImage:RemoteImage"); i++) {
  new docker.RemoteImage(`image-${i}`, { name: `registry.example.com/app-${i}:1.0.0`, keepLocally: true }, { provider: provider(i) });
}
for (let i = 0; i < count("docker:index/network:Network"); i++) {
  new docker.Network(`network-${i}`, { name: `network-${i}`, driver: "bridge" }, { provider: provider(i) });
}
for (let i = 0; i < count("docker:index/volume:Volume"); i++) {
  new docker.Volume(`volume-${i}`, { name: `volume-${i}` }, { provider: provider(i), retainOnDelete: true });
}
for (let i = 0; i < count("random:index/randomPassword:RandomPassword"); i++) {
  new random.RandomPassword(`password-${i}`, { length: 32, special: false });
}
for (let i = 0; i < count("docker:index/container:Container"); i++) {
  new docker.Container(`container-${i}`, { name: `container-${i}`, image: `registry.example.com/app-${i}:1.0.0`, restart: "unless-stopped" }, { provider: provider(i) });
}
for (let i = 0; i < count("command:local:Command"); i++) {
  new command.local.Command(`command-${i}`, { create: `echo ${i}` });
}
// The platform reads its own previous outputs through a StackReference to itself (stacks/deployed-databases.ts); a
// StackReference is a read, not a managed resource, but it is registered like one, so the baseline declares it too.
for (let i = 0; i < count("pulumi:pulumi:StackReference"); i++) {
  new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
}
