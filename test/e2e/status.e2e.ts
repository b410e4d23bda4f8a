import { describe, expect, it } from "vitest";
import type { StatusReport } from "../../status/report";
import { docker, edgeContainer, edgePauseContainer, expectOk, HTTP_PORT, IMAGES, removeTenant, STACK, statusCli, tenantHost, up, waitFor, type World } from "./harness";
import { useWorld } from "./world-hooks";

// `npm run status` against the e2e world's stack on the real engine (issue 12: "status reports an unhealthy
// container as such"). One tenant (alpha: web + Postgres) keeps the world small.
let world: World;

useWorld((created) => {
  world = created;
  removeTenant(world, "beta.yaml");
});

const status = (...args: string[]) => statusCli(world, ...args);

function statusJson(): { status: number | null; report: StatusReport } {
  const run = status("--json");
  return { status: run.status, report: JSON.parse(run.stdout) as StatusReport };
}

const health = (container: string) => docker(["inspect", "-f", "{{.State.Health.Status}}", container]).stdout;
const web = () => docker(["ps", "-q", "--filter", `label=platform.stack=${STACK}`, "--filter", "label=platform.tenant=alpha", "--filter", "label=platform.service=web"]).stdout;
const database = `platform-${STACK}-alpha-postgres`;

describe("npm run status on a real engine", () => {
  it("before the first up: exit 1, the stack has no state yet", () => {
    const run = status();
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(`stack ${STACK} has no state yet`);
  });

  it("all healthy: exit 0, the tenant's image and URL shown", async () => {
    expectOk(up(world), "pulumi up");
    // `up` waits for the app and the database, not for the backup container, whose first probe comes one health
    // interval (30 s) after it starts: until then status says "starting" and exits 1.
    await waitFor("status to report every container healthy", () => status().status === 0, 90);
    const table = status();
    expect(table.status, `${table.stdout}${table.stderr}`).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^alpha\\s+web\\s+local\\s+${IMAGES.v1.replace(/[.]/g, "\\.")}\\s+healthy\\s+0$`, "m"));
    expect(table.stdout).toContain(`→ http://${tenantHost("alpha")}:${HTTP_PORT}/`);

    const { status: code, report } = statusJson();
    expect(code).toBe(0);
    expect(report.healthy).toBe(true);
    const alpha = report.tenants.alpha!;
    expect(alpha.services.web!.containers).toHaveLength(1);
    expect(alpha.services.web!.containers[0]).toMatchObject({ status: "healthy", image: "platform-local/demo-app:1", restarts: 0 });
    expect(alpha.services.postgres).toMatchObject({ kind: "database", status: "healthy" });
    expect(report.edges.local!.services.traefik.containers[0]).toMatchObject({ name: edgeContainer(), status: "healthy" });
    expect(report.edges.local!.services.pause.containers[0]).toMatchObject({ name: edgePauseContainer(), status: "running" });
  });

  it("a hung app fails its health check: exit 1, that container reported unhealthy", async () => {
    const id = web();
    // SIGSTOP from the host freezes the app as a deadlock would: the engine's probe times out and marks it unhealthy.
    const pid = Number(docker(["inspect", "-f", "{{.State.Pid}}", id]).stdout);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGSTOP");
    try {
      await waitFor("the engine to mark the web container unhealthy", () => health(id) === "unhealthy");
      const table = status();
      expect(table.status, table.stdout).toBe(1);
      expect(table.stdout).toMatch(/^alpha\s+web\s+local\s+\S+\s+unhealthy\s+\d+$/m);
      const name = docker(["inspect", "-f", "{{.Name}}", id]).stdout.replace(/^\//, "");
      expect(table.stdout).toContain(`alpha/web on local: ${name} unhealthy`);
      const { report } = statusJson();
      expect(report.tenants.alpha!.services.web!.containers[0]).toMatchObject({ name, status: "unhealthy", health: "unhealthy" });
      expect(report.tenants.alpha!.services.postgres!.status).toBe("healthy");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await waitFor("the web container to be healthy again", () => health(id) === "healthy");
    expect(status().status).toBe(0);
  });

  it("a stopped database is reported exited, a removed one missing: exit 1", () => {
    expect(docker(["stop", database]).status).toBe(0);
    const exited = statusJson();
    expect(exited.status).toBe(1);
    expect(exited.report.tenants.alpha!.services.postgres!.containers[0]).toMatchObject({ name: database, status: "exited" });
    // The backup container may report the missing database too: the database's own line is what matters here.
    expect(exited.report.problems).toContainEqual(expect.stringMatching(new RegExp(`^alpha/postgres on local: ${database} exited \\(exit code \\d+\\)`)));

    expect(docker(["rm", database]).status).toBe(0);
    const missing = status();
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain(`alpha/postgres on local: ${database} missing`);
  });
});
