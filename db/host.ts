import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { sshWithOptions, type HostTarget } from "../status/docker-host";

export interface DockerResult {
  ok: boolean;
  stdout: string;
  /** One line saying why, when not ok. */
  error: string;
  /** True when the engine could not be reached at all (as opposed to a command that failed on it). */
  unreachable: boolean;
}

/** Commands on one Docker host through the docker CLI and DOCKER_HOST, as `npm run status` asks hosts (ssh:// too). */
export class DockerHost {
  private readonly env: NodeJS.ProcessEnv;
  private readonly sshDir?: string;

  constructor(readonly target: HostTarget, env: NodeJS.ProcessEnv = process.env) {
    const ssh = target.url.startsWith("ssh://") && target.sshOpts.length > 0 ? sshWithOptions(target.sshOpts, env) : undefined;
    this.sshDir = ssh?.dir;
    this.env = { ...env, DOCKER_HOST: target.url, ...(ssh ? { PATH: `${ssh.dir}:${env.PATH ?? ""}` } : {}) };
    delete this.env.DOCKER_CONTEXT;
  }

  run(args: readonly string[], timeoutMs = 60_000): Promise<DockerResult> {
    return new Promise((resolve) => {
      execFile("docker", args, { env: this.env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
        if (!error) return resolve({ ok: true, stdout, error: "", unreachable: false });
        const failure = error as NodeJS.ErrnoException & { killed?: boolean };
        const lines = `${stderr}\n${stdout}`.split("\n").map((l) => l.trim()).filter(Boolean);
        const why =
          failure.code === "ENOENT"
            ? "the docker CLI is not on PATH"
            : failure.killed
              ? `no answer within ${timeoutMs / 1000}s`
              : lines.at(-1) ?? `docker exited with ${String(failure.code)}`;
        const unreachable = failure.code === "ENOENT" || /Cannot connect to the Docker daemon|error during connect|connection refused|ssh: /i.test(stderr);
        resolve({ ok: false, stdout, error: why, unreachable });
      });
    });
  }

  close(): void {
    if (this.sshDir) rmSync(this.sshDir, { recursive: true, force: true });
  }
}
