import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../model/diagnostics";
import { platformValuesFromStackFile } from "../model/project-files";
import { validateTenants } from "../model/validate";
import { parseYamlSource } from "../model/yaml-source";
import { resolveStack } from "../stacks/definition";

/** A local stack's stand-ins: any tenant file runs on it unchanged, and none of it can reach a remote host. */

const stackText = (url: string) => `config:
  platform:domain: dev.localhost
  platform:hosts: { local: { url: "${url}" } }
  platform:tls: none
  platform:images:
    pull: false
    postgres: local/postgres:{major}
    replace:
      local/postgres:16: local/postgres:17
      registry.example.com/shop/api:2.0.0: local/api:dev
  platform:dev: { fallbackImage: local/demo:1, placeholderSecrets: true }
`;

function stack(url = "unix:///var/run/docker.sock") {
  const source = parseYamlSource("Pulumi.dev.yaml", stackText(url));
  return resolveStack({ name: "dev", file: source.file, values: platformValuesFromStackFile(source), locate: source.locate });
}

const tenant = `name: shop
host: eu-1
services:
  web:
    image: registry.example.com/shop/web:1.4.2
    port: 3000
    routes: []
    command: [bin/server, --production]
    healthcheck: { command: [/app/healthcheck], interval: 5s }
    secrets: [STRIPE_KEY]
  api:
    image: registry.example.com/shop/api:2.0.0
    host: eu-2
    port: 8000
    routes: []
database:
  postgres: { version: "16.4" }
`;

describe("a dev stack", () => {
  it("runs any tenant file: fallback image told its port, placeholder secrets, hosts it lacks on its own host", () => {
    const dev = stack().stack!;
    const result = validateTenants({ files: [{ file: "tenants/shop.yaml", text: tenant }], stacks: [dev], stackNames: ["dev"] });
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    const plan = result.plans.dev![0]!;
    expect(plan.homeHost).toBe("local");
    expect(plan.placeholderSecrets).toEqual(["STRIPE_KEY"]);
    expect(plan.database?.image).toBe("local/postgres:17");
    const [web, api] = plan.services;
    expect(web).toMatchObject({ host: "local", runImage: "local/demo:1", standIn: true, image: "registry.example.com/shop/web:1.4.2" });
    expect(web!.command).toBeUndefined();
    expect(web!.healthcheck?.test.join(" ")).toContain("http://127.0.0.1:3000/health");
    expect(api).toMatchObject({ host: "local", runImage: "local/api:dev", standIn: false });
  });

  it("is refused on a stack with a remote host", () => {
    expect(stack("ssh://deploy@host.example.net").diagnostics.map(formatDiagnostic)).toEqual([
      "Pulumi.dev.yaml:11:3 platform:dev: is only for stacks on the local Docker socket (local is remote): stand-in images and secrets never reach a real host",
    ]);
  });

  it("without a dev block, an unset secret and an unknown host stay errors", () => {
    const source = parseYamlSource("Pulumi.dev.yaml", stackText("unix:///var/run/docker.sock").replace(/ {2}platform:dev:.*\n/, ""));
    const plain = resolveStack({ name: "dev", file: source.file, values: platformValuesFromStackFile(source), locate: source.locate }).stack!;
    const result = validateTenants({ files: [{ file: "tenants/shop.yaml", text: tenant }], stacks: [plain], stackNames: ["dev"] });
    const lines = result.diagnostics.map(formatDiagnostic).join("\n");
    expect(lines).toContain('host "eu-1" is not a host of stack dev');
    expect(lines).toContain('secret "STRIPE_KEY" is not set in stack dev');
  });
});
