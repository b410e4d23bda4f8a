import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../model/diagnostics";
import { parseYamlSource } from "../model/yaml-source";
import { platformValuesFromStackFile } from "../model/project-files";
import { resolveStack } from "../stacks/definition";
import { repoStacks } from "./validation-fixtures";

function check(stack: string, text: string) {
  const source = parseYamlSource(`Pulumi.${stack}.yaml`, text);
  return resolveStack({ name: stack, file: source.file, values: platformValuesFromStackFile(source), locate: source.locate });
}

describe("stack config", () => {
  it("the repo's staging and production stacks are valid: one host for staging, two for production", () => {
    expect(repoStacks.diagnostics).toEqual([]);
    const byName = Object.fromEntries(repoStacks.stacks.map((s) => [s.name, s]));
    expect(Object.keys(byName.staging!.hosts)).toEqual(["eu-1"]);
    expect(Object.keys(byName.production!.hosts)).toEqual(["eu-1", "eu-2"]);
    expect(byName.production!.protectData).toBe(true);
    expect(byName.staging!.protectData).toBe(false);
    expect(byName.production!.hostSuffix).toBe("");
    expect(byName.staging!.hostSuffix).toBe("-staging");
  });

  it("safety switches default to on for a stack named production", () => {
    const { stack } = check("production", "config:\n  platform:domain: example.com\n  platform:hosts: { a: { url: unix:///var/run/docker.sock } }\n  platform:tls: none\n");
    expect(stack).toMatchObject({ protectData: true, pinnedImages: true, customDomains: true, defaultHost: "a", tenantsDir: "tenants" });
  });

  it("errors name the stack file, the line and the config key", () => {
    const { diagnostics } = check(
      "staging",
      `config:
  platform:domain: example.com
  platform:hosts:
    eu-1: { url: "ftp://host" }
    eu-2: { url: ssh://deploy@host.example.net }
  platform:acme: { email: not-an-email, ca: staging, challenge: dns }
  platform:protectdata: true
`,
    );
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'Pulumi.staging.yaml:4:13 platform:hosts.eu-1.url: "ftp://host" is not a Docker host URL (use unix:///var/run/docker.sock or ssh://user@host)',
      'Pulumi.staging.yaml:6:20 platform:acme.email: "not-an-email" is not an email address',
      'Pulumi.staging.yaml:6:54 platform:acme.challenge: "dns" is not allowed (allowed: http, tls)',
      'Pulumi.staging.yaml:7:3 platform:protectdata: unknown key "protectdata" (did you mean "protectData"? allowed: domain, hostSuffix, hosts, defaultHost, tls, acme, edge, images, defaults, protectData, pinnedImages, customDomains, access, tenantsDir, secrets, registries, backups, monitoring, dev, preview)',
    ]);
  });

  it("several hosts need a default host, and ACME needs its settings", () => {
    const { diagnostics } = check(
      "production",
      "config:\n  platform:domain: example.com\n  platform:hosts:\n    a: { url: unix:///var/run/docker.sock }\n    b: { url: unix:///var/run/docker.sock }\n",
    );
    expect(diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([
      "platform:defaultHost: is required when there are several hosts (one of: a, b)",
      "platform:acme: is required when tls is acme: set email, ca (staging|production) and challenge (http|tls)",
    ]);
  });
});
