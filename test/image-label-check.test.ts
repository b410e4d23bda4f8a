import { spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REFUSE_ROUTING_LABELS } from "../components/image-label-check";
import { tempDirs } from "./temp-dirs";

/**
 * The check that runs before a service's containers are made from an image, against a stand-in `docker` that prints
 * the image's label names (one a line, as the real template does). On the engine: test/e2e/faults.e2e.ts.
 */
const dirs = tempDirs("image-labels-");

/** `labels`: the image's label names; null: no such image; "down": the engine does not answer at all. */
function check(labels: string[] | null | "down") {
  const dir = dirs.make();
  writeFileSync(
    path.join(dir, "docker"),
    labels === "down"
      ? `#!/bin/sh\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2\nexit 1\n`
      : labels === null
        ? `#!/bin/sh\n[ "$1" = version ] && exit 0\necho "Error: No such image: $4" >&2\nexit 1\n`
        : `#!/bin/sh\nprintf '%s\\n' ${labels.map((l) => `'${l}'`).join(" ")}\n`,
  );
  chmodSync(path.join(dir, "docker"), 0o755);
  const run = spawnSync("sh", ["-c", REFUSE_ROUTING_LABELS], {
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env.PATH}`, IMAGE: "registry.example.com/acme/web:2", OWNER: "tenant acme, service web", DOCKER_HOST: "ssh://deploy@eu-1", HOST_NAME: "eu-1" },
  });
  return { status: run.status, stderr: run.stderr.trim() };
}

describe("an image's own labels", () => {
  it("pass when none decides routing (an image's usual labels, the dev builds' platform.local-image)", () => {
    expect(check([])).toEqual({ status: 0, stderr: "" });
    expect(check(["org.opencontainers.image.version", "maintainer", "platform.local-image", "platform.local-image.inputs"])).toEqual({ status: 0, stderr: "" });
  });

  it("fail the deployment, naming tenant, service, image and labels, when any is Traefik's or the edge's", () => {
    const refused = check(["maintainer", "traefik.http.routers.evil.rule", "traefik.http.services.evil.loadbalancer.server.url", "platform.edge"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      "tenant acme, service web: image registry.example.com/acme/web:2 carries labels that decide routing (traefik.http.routers.evil.rule traefik.http.services.evil.loadbalancer.server.url platform.edge): the platform routes only what the tenant file says; rebuild the image without them",
    );
    expect(check(["traefik.enable"]).status).toBe(1);
    expect(check(["platform.stack"]).status).toBe(1);
  });

  it("fail with one line when the image cannot be read on the host", () => {
    const missing = check(null);
    expect(missing.status).toBe(1);
    expect(missing.stderr.split("\n").at(-1)).toBe("tenant acme, service web: cannot read the labels of image registry.example.com/acme/web:2 on host eu-1 (ssh://deploy@eu-1)");
  });

  it("name the host, and say nothing changed there, when its engine does not answer", () => {
    const down = check("down");
    expect(down.status).toBe(1);
    expect(down.stderr.split("\n").at(-1)).toBe(
      "host eu-1 (ssh://deploy@eu-1) does not answer: tenant acme, service web is left as it is there; the next pulumi up deploys it once the host answers",
    );
  });
});
