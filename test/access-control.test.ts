import { compareSync } from "bcryptjs";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../model/diagnostics";
import { parseYamlSource } from "../model/yaml-source";
import { platformValuesFromStackFile } from "../model/project-files";
import { resolveStack } from "../stacks/definition";
import { fixtureTenants, isSecretInput, ofType, runProgram, stackConfig, TYPES, unwrapSecret, type ProgramRun } from "./program-harness";
import { minimalTenant, validate } from "./validation-fixtures";

/**
 * Access control (issue 14): basic auth from `user:password` secrets and IP allow-lists, per service or route in
 * the tenant file (per stack through overrides) and for a whole stack (`platform:access`). Fixture set:
 * test/fixtures/tenants/access/.
 */

const ACCESS = fixtureTenants("access");
const TENANT_LOGIN = "tester:correct horse battery staple";
const STACK_LOGIN = "ops:stack-wide-password";

async function run(stack: string, extra: Record<string, unknown> = {}): Promise<ProgramRun> {
  const result = await runProgram(stack, {
    ...stackConfig(stack),
    "platform:tenantsDir": ACCESS,
    "platform:secrets": { closed: { STAGING_LOGIN: TENANT_LOGIN } },
    ...extra,
  });
  if (result.error) throw result.error;
  return result;
}

/** Labels with secret values unwrapped; `secretLabels` lists which were secret. */
function labels(result: ProgramRun, tenant: string) {
  const all: Record<string, string> = {};
  const secretLabels: string[] = [];
  for (const container of ofType(result, TYPES.container)) {
    const secret = isSecretInput(container.inputs.labels);
    for (const { label, value } of (unwrapSecret(container.inputs.labels) ?? []) as { label: string; value: unknown }[]) {
      if (secret || isSecretInput(value)) secretLabels.push(label);
      all[label] = unwrapSecret(value) as string;
    }
  }
  const routers = Object.keys(all)
    .flatMap((k) => /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(k)?.[1] ?? [])
    .filter((r) => r.includes(`--${tenant}-`));
  const middlewaresOf = (router: string) => all[`traefik.http.routers.${router}.middlewares`]!.split(",");
  const byRule = (rule: RegExp) => routers.find((r) => rule.test(all[`traefik.http.routers.${r}.rule`]!))!;
  return { all, secretLabels, routers, middlewaresOf, byRule };
}

/** Whether Traefik's basic auth would let `user:password` through, given the users label. */
function admits(usersLabel: string, credential: string): boolean {
  const [user, password] = [credential.slice(0, credential.indexOf(":")), credential.slice(credential.indexOf(":") + 1)];
  return usersLabel.split(",").some((entry) => {
    const [name, hash] = [entry.slice(0, entry.indexOf(":")), entry.slice(entry.indexOf(":") + 1)];
    return name === user && compareSync(password, hash);
  });
}

describe("access control in the tenant file", () => {
  it("staging: the password and the allow-list guard the service's routers; a route's own access replaces them there", async () => {
    const l = labels(await run("staging"), "closed");
    const main = l.byRule(/^Host\(`closed-staging\.[^`]+`\)$/);
    expect(l.middlewaresOf(main).slice(0, 3)).toEqual(["security-headers@file", `${main}__allow-0@docker`, `${main}__auth@docker`]);
    expect(l.all[`traefik.http.middlewares.${main}__allow-0.ipAllowList.sourceRange`]).toBe("203.0.113.0/24,2001:db8::/32");
    const users = l.all[`traefik.http.middlewares.${main}__auth.basicAuth.users`]!;
    expect(users).toMatch(/^tester:\$2b\$10\$/);
    expect(admits(users, TENANT_LOGIN)).toBe(true);
    expect(admits(users, "tester:wrong")).toBe(false);
    // The hash is derived from a secret: Pulumi keeps it secret in state and previews, and the password is nowhere.
    expect(l.secretLabels).toContain(`traefik.http.middlewares.${main}__auth.basicAuth.users`);
    expect(JSON.stringify(l.all)).not.toContain("correct horse");

    const status = l.byRule(/PathPrefix\(`\/status`\)/);
    expect(l.all[`traefik.http.middlewares.${status}__allow-0.ipAllowList.sourceRange`]).toBe("10.0.0.0/8");
    expect(l.middlewaresOf(status).some((m) => m.endsWith("__auth@docker"))).toBe(false);
  });

  it("production (no override): open, except the route that sets its own allow-list", async () => {
    const l = labels(await run("production"), "closed");
    const main = l.byRule(/^Host\(`closed\.apps\.example\.com`\)$/);
    expect(l.middlewaresOf(main).some((m) => /__(auth|allow-\d)@docker$/.test(m))).toBe(false);
    expect(l.middlewaresOf(l.byRule(/PathPrefix\(`\/status`\)/))).toContainEqual(expect.stringMatching(/__allow-0@docker$/));
  });

  it("the users label is identical run to run (no container replaced by a new salt)", async () => {
    const users = async () => Object.entries(labels(await run("staging"), "closed").all).filter(([k]) => k.endsWith("basicAuth.users"));
    const first = await users();
    expect(first.length).toBeGreaterThan(0);
    expect(await users()).toEqual(first);
  });

  it("a secret that is not user:password fails the deployment naming the secret, never its value", async () => {
    const result = await runProgram("staging", {
      ...stackConfig("staging"),
      "platform:tenantsDir": ACCESS,
      "platform:secrets": { closed: { STAGING_LOGIN: "just-a-password" } },
    });
    const message = String(result.error?.message);
    expect(message).toContain(`services.web.access.basicAuth[0]: secret "STAGING_LOGIN" in stack staging must be <user>:<password>`);
    expect(message).not.toContain("just-a-password");
    expect(ofType(result, TYPES.container)).toEqual([]);
  });

  it.each([
    ["access: { basicAuth: [LOGIN] }", `services.web.access.basicAuth[0]: secret "LOGIN" is not set in stack staging; run: pulumi config set --secret --path 'secrets.acme.LOGIN' '<user>:<password>' --stack staging`],
    ["access: { ipAllowList: [10.0.0.300/8] }", 'services.web.access.ipAllowList[0]: "10.0.0.300/8" is not an IP address or CIDR range like 203.0.113.0/24'],
    ["access: { ipAllowList: [10.0.0.0/33] }", 'services.web.access.ipAllowList[0]: "10.0.0.0/33" is not an IP address or CIDR range like 203.0.113.0/24'],
    ["access: {}", "services.web.access: set basicAuth, ipAllowList or both"],
    ["access: { ipAllowList: [] }", "services.web.access.ipAllowList: must list at least one address (omit the key to allow every address)"],
  ])("refuses %s", (line, message) => {
    const errors = validate({ "tenants/acme.yaml": `${minimalTenant()}    ${line}\n` });
    expect(errors.map((e) => e.replace(/^\S+ /, ""))).toContain(message);
  });
});

describe("access control for a whole stack (platform:access)", () => {
  const stackWide = {
    "platform:access": JSON.stringify({ basicAuth: ["OPS_LOGIN"], ipAllowList: ["198.51.100.0/24"] }),
  };

  it("guards every tenant router; a tenant's own access adds to it and cannot open it", async () => {
    const result = await run("staging", {
      ...stackWide,
      "platform:secrets": { closed: { STAGING_LOGIN: TENANT_LOGIN }, platform: { OPS_LOGIN: STACK_LOGIN } },
    });
    for (const tenant of ["open", "closed"]) {
      const l = labels(result, tenant);
      expect(l.routers.length).toBeGreaterThan(0);
      for (const router of l.routers) {
        const chain = l.middlewaresOf(router);
        expect(chain[0]).toBe("security-headers@file");
        // The stack's allow-list is the first of the router's own, whatever the tenant sets.
        expect(l.all[`traefik.http.middlewares.${router}__allow-0.ipAllowList.sourceRange`], router).toBe("198.51.100.0/24");
        const users = l.all[`traefik.http.middlewares.${router}__auth.basicAuth.users`]!;
        expect(admits(users, STACK_LOGIN), router).toBe(true);
      }
    }
    const closed = labels(result, "closed");
    const main = closed.byRule(/^Host\(`closed-staging\.[^`]+`\)$/);
    expect(admits(closed.all[`traefik.http.middlewares.${main}__auth.basicAuth.users`]!, TENANT_LOGIN)).toBe(true);
    expect(closed.all[`traefik.http.middlewares.${main}__allow-1.ipAllowList.sourceRange`]).toBe("203.0.113.0/24,2001:db8::/32");
    // The open tenant's users are only the stack's.
    const open = labels(result, "open");
    // Its www. redirect is a router like the others: a closed stack does not even say where the host leads.
    const redirect = open.byRule(/^Host\(`www\.open\.example\.org`\)$/);
    expect(open.middlewaresOf(redirect)).toEqual(["security-headers@file", `${redirect}__allow-0@docker`, `${redirect}__auth@docker`, `${redirect}__to@docker`]);
    expect(admits(open.all[`traefik.http.middlewares.${open.routers[0]}__auth.basicAuth.users`]!, TENANT_LOGIN)).toBe(false);
  });

  it("a stack-wide password without its secret is a config error with the command to set it", () => {
    const source = parseYamlSource(
      "Pulumi.staging.yaml",
      "config:\n  platform:domain: example.com\n  platform:hosts: { a: { url: unix:///var/run/docker.sock } }\n  platform:tls: none\n  platform:access:\n    basicAuth: [OPS_LOGIN]\n",
    );
    const { diagnostics } = resolveStack({ name: "staging", file: source.file, values: platformValuesFromStackFile(source), locate: source.locate });
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      `Pulumi.staging.yaml:6:17 platform:access.basicAuth[0]: secret "OPS_LOGIN" is not set; run: pulumi config set --secret --path 'secrets.platform.OPS_LOGIN' '<user>:<password>'`,
    ]);
  });
});
