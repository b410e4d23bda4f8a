import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { addTenant, convergeCli, docker, expectOk, get, IMAGES, pulumi, readTenant, removeTenant, STACK, tenantHost, up, type World } from "./harness";
import { useWorld } from "./world-hooks";

// Issue 19, drill 4: an interrupted deploy. A `pulumi up` SIGKILLed with its plugins (a CI runner that dies) leaves
// the stack locked, pending creates in the state and containers the state does not know, which serve requests;
// `npm run converge` (run by the deploy jobs before each up) must make the next `up` converge by itself, and must
// refuse while the run is alive. Three tenants (alpha and two copies of it, each with Postgres), as in the drill.
let world: World;
const TENANTS = ["alpha", "ant", "bee"];

useWorld((created) => {
  world = created;
  removeTenant(world, "beta.yaml");
  const alpha = readTenant(world, "alpha.yaml");
  for (const name of TENANTS.slice(1)) addTenant(world, `${name}.yaml`, alpha.replace(/^name: alpha$/m, `name: ${name}`).replace(/^\s+secrets: \[API_TOKEN\]\n/m, ""));
}, { ownEngine: { name: "e2e-kill", index: 4 } });

function setImage(image: string): void {
  for (const name of TENANTS) {
    const text = readTenant(world, `${name}.yaml`);
    addTenant(world, `${name}.yaml`, text.replace(/registry\.example\.com\/e2e\/demo:[a-z0-9]+/, image));
  }
}

/** `npm run converge` as the deploy job runs it, on the world's copy and state. */
const converge = (...args: string[]) => convergeCli(world, ...args);

function lockFiles(): string[] {
  const dir = path.join(world.dir, ".state", ".pulumi", "locks", "organization", "platform", STACK);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
}

/** Containers labelled for the stack whose id the state does not know, and the state's pending operations. */
function outsideState(): { strays: string[]; pending: string[] } {
  const exported = pulumi(world, ["stack", "export"]);
  expectOk(exported, "pulumi stack export");
  const deployment = (JSON.parse(exported.stdout) as { deployment: { resources: { type: string; id?: string }[]; pending_operations?: { type: string; resource: { urn: string } }[] } }).deployment;
  const known = new Set(deployment.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => r.id));
  const labelled = docker(["ps", "-a", "--no-trunc", "--filter", `label=platform.stack=${STACK}`, "--filter", "label=platform.managed=true", "--format", "{{.ID}} {{.Names}}"]).stdout.split("\n").filter(Boolean);
  return {
    strays: labelled.filter((line) => !known.has(line.split(" ")[0])).map((line) => line.split(" ")[1]!),
    pending: (deployment.pending_operations ?? []).map((op) => `${op.type} ${op.resource.urn.split("::").pop()}`),
  };
}

/** A `pulumi up` in its own process group, so that it and everything it started can be killed at once. */
function startUp(): { child: ChildProcess; output: () => string } {
  const child = spawn(world.toolchain.cli, ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", STACK], { cwd: world.dir, env: world.toolchain.env, detached: true });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/**
 * SIGKILL of the CLI and its plugins, as a runner that dies does it: the plugins (language host, providers) run in
 * process groups of their own, so the whole tree under the CLI is collected from /proc first, then killed.
 */
async function killTree(root: number): Promise<void> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Exited while listing.
    }
  }
  const tree: number[] = [];
  const walk = (pid: number) => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  for (const pid of tree) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

async function until(what: string, check: () => boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const containersOf = (image: string) => docker(["ps", "-aq", "--filter", `label=platform.stack=${STACK}`, "--filter", `ancestor=${image}`]).stdout.split("\n").filter(Boolean);

/** The stack converged: preview changes nothing, nothing outside the state, every tenant answers from one container of `version`. */
async function expectConverged(version: number): Promise<void> {
  expectOk(pulumi(world, ["preview", "--expect-no-changes"]), "pulumi preview --expect-no-changes");
  expect(outsideState()).toEqual({ strays: [], pending: [] });
  for (const tenant of TENANTS) {
    const answers = new Set<string>();
    for (let i = 0; i < 6; i += 1) {
      const answer = await get(tenantHost(tenant));
      expect(answer.status, tenant).toBe(200);
      answers.add(answer.body.split("\n")[0]!);
    }
    expect([...answers], tenant).toEqual([expect.stringMatching(new RegExp(`^demo-app version ${version} on [0-9a-f]{12}$`))]);
  }
  const again = converge();
  expect(again.status, again.stderr).toBe(0);
  expect(again.stdout).toBe(`converge: stack ${STACK}: nothing to converge (no lock, no pending operation, no container the state does not know)\n`);
}

describe("an interrupted deploy converges (issue 19, drill 4)", () => {
  it("three tenants up at version 1; converge finds nothing to do", async () => {
    expectOk(up(world), "pulumi up");
    await expectConverged(1);
  });

  it("a run killed while it replaces every tenant's app leaves a lock, pending creates and containers outside the state; converge and one up put it right", async () => {
    setImage(IMAGES.v2);
    const run = startUp();
    // Kill as soon as the run has created a replacement: it exists on the engine, its create is not yet recorded.
    await until("a version-2 container", () => containersOf("platform-local/demo-app:2").length > 0, 180);
    await killTree(run.child.pid!);
    expect(lockFiles(), run.output()).toHaveLength(1);
    const left = outsideState();
    expect(left.pending.length, run.output()).toBeGreaterThan(0);
    console.log(`killed run left: ${JSON.stringify(left)}`);

    // Without converge, the next up stops at the lock.
    const blocked = up(world);
    expect(blocked.status).not.toBe(0);
    expect(blocked.stderr + blocked.stdout).toContain("the stack is currently locked by 1 lock(s)");

    const converged = converge();
    expect(converged.status, converged.stderr).toBe(0);
    const lines = converged.stdout.split("\n").filter(Boolean);
    expect(lines[0]).toMatch(new RegExp(`^converge: cleared the lock of root@${hostname()} \\(pid ${run.child.pid}\\) since .*: stale, its process ${run.child.pid} is gone on this host`));
    expect(lines.filter((l) => l.startsWith("converge: removed "))).toHaveLength(left.strays.length);
    expect(lines.filter((l) => l.startsWith("converge: dropped the pending operation "))).toHaveLength(left.pending.length);
    expect(lines.at(-1)).toBe(`converge: stack ${STACK}: converged; the next pulumi up starts from the state and the hosts as they are`);
    expect(lockFiles()).toEqual([]);

    expectOk(up(world), "pulumi up after converge");
    await expectConverged(2);
  });

  it("while the run is alive, converge refuses (exit 1, naming its pid) and a second up fails on the lock; once it is killed, converge clears it", async () => {
    // An image that never turns healthy holds each create open for its health gate (about a minute).
    setImage(IMAGES.broken);
    const run = startUp();
    await until("a container of the broken image", () => containersOf("platform-local/demo-app:broken").length > 0, 180);

    const refused = converge();
    expect(refused.status, refused.stdout).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(
      new RegExp(`^converge: stack ${STACK} is locked by root@${hostname()} \\(pid ${run.child.pid}\\) since \\S+ \\(.*\\): its process ${run.child.pid} is still running on this host \\(taken \\d+ min ago\\); nothing was changed`),
    );
    expect(refused.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    const second = up(world);
    expect(second.status).not.toBe(0);
    expect(second.stderr + second.stdout).toContain("the stack is currently locked by 1 lock(s)");
    expect(run.child.exitCode, run.output()).toBeNull();
    expect(containersOf("platform-local/demo-app:broken").length).toBeGreaterThan(0);

    await killTree(run.child.pid!);
    setImage(IMAGES.v2);
    const converged = converge();
    expect(converged.status, converged.stderr).toBe(0);
    expect(converged.stdout).toMatch(/converge: removed \S+ \(\w{12}, \w+\/web, running\) on local: not in the state \(only a pending create\)/);
    expect(containersOf("platform-local/demo-app:broken")).toEqual([]);
    expectOk(up(world), "pulumi up after converge");
    await expectConverged(2);
  });
});
