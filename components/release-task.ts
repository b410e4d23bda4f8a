import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { dockerNames, LABEL } from "../model/naming";
import type { Resources } from "../model/stack";
import { containerBasics } from "./container-settings";
import { namedDump, triggerDigest } from "./named-dump";

export interface ReleaseTaskArgs {
  /** The Docker host (DOCKER_HOST) the service runs on. */
  hostUrl: string;
  stack: string;
  tenant: string;
  service: string;
  /** What the service's new containers run: the same reference or image id. */
  image: pulumi.Input<string>;
  command: string[];
  /** The service's environment (`NAME=value`), a secret when it carries one. */
  envs: pulumi.Input<string[]>;
  /** The service's networks, data (database, cache) first where it has one; never the ingress network. */
  networks: pulumi.Input<string>[];
  resources: Resources;
  /** The database and cache: the task starts only once they are healthy. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
  /**
   * Where the tenant has a database with backups: its backup container, which takes the dump
   * `<ts>-pre-release-<service>` just before the task runs (components/named-dump.ts).
   */
  dump?: { hostUrl: string; backupContainer: string; backupsVolume: string; resource: pulumi.Resource };
}

/** How many lines of the command's output the deployment error shows. */
export const RELEASE_OUTPUT_LINES = 20;
/** A hung migration must not block the deployment for ever: it fails after this long (its container is removed). */
export const RELEASE_TIMEOUT_SECONDS = 600;

/**
 * A service's release task (migrations): a one-off container of the service's new image, with its environment and
 * networks, that must exit 0 before the service's new containers are created (they depend on it). Its inputs are
 * the image, the command, the environment and the networks, with no triggers: it runs on create and again only when
 * one of them changes. A failure fails `pulumi up` before any container is replaced, so the old ones keep serving.
 * Where the tenant has backups, a named dump `<ts>-pre-release-<service>` is taken just before it, whenever it runs
 * (a separate command with the task's inputs as triggers, so the task's own inputs, and whether it runs, are as
 * before); a failed dump stops the update the same way.
 *
 * Secrets: the environment is one secret variable (RELEASE_ENV) written to a private env-file that is removed on
 * exit, never a command-line argument; the provider keeps stdout/stderr secret because an input is; output is not
 * streamed to the log (`logging: none`), only the last lines of a failed run reach the error.
 */
export function releaseTask(name: string, args: ReleaseTaskArgs, opts: { parent: pulumi.Resource }): command.local.Command {
  const basics = containerBasics(args.resources);
  const owner = `tenant ${args.tenant}, service ${args.service}`;
  // Short, so a failure's message (which quotes it) shows the command rather than the whole script.
  const create = `set -- ${args.command.map(shellQuote).join(" ")}; eval "$RELEASE_SCRIPT"`;
  const environment = {
    RELEASE_SCRIPT: RUN_RELEASE,
    DOCKER_HOST: args.hostUrl,
    NAME: dockerNames.releaseContainer(args.stack, args.tenant, args.service),
    IMAGE: args.image,
    NETWORKS: pulumi.all(args.networks).apply((names) => names.join(" ")),
    LABELS: `${LABEL.managed}=true ${LABEL.stack}=${args.stack} ${LABEL.tenant}=${args.tenant} ${LABEL.release}=${args.service}`,
    CPUS: basics.cpus,
    MEMORY: `${basics.memory}m`,
    OWNER: owner,
    LINES: String(RELEASE_OUTPUT_LINES),
    TIMEOUT: String(RELEASE_TIMEOUT_SECONDS),
    RELEASE_ENV: pulumi.secret(pulumi.output(args.envs).apply((envs) => envFile(envs, owner))),
  };
  // The dump runs exactly when the task does: on create, and when any of the task's inputs change.
  const dump = args.dump
    ? namedDump(`${name}-dump`, {
        hostUrl: args.dump.hostUrl,
        backupContainer: args.dump.backupContainer,
        backupsVolume: args.dump.backupsVolume,
        reason: `pre-release-${args.service}`,
        owner,
        before: "release task",
        triggers: [triggerDigest({ create, environment })],
      }, { parent: opts.parent, dependsOn: [...args.dependsOn, args.dump.resource] })
    : undefined;
  return new command.local.Command(
    name,
    { create, environment, logging: "none", addPreviousOutputInEnv: false },
    { parent: opts.parent, dependsOn: dump ? [...args.dependsOn, dump] : args.dependsOn },
  );
}

/** POSIX single quotes: the command's words reach `docker create` exactly as written in the tenant file. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * `docker --env-file` reads one `NAME=value` per line, literally. A value with a line break cannot be passed that
 * way; rather than a silently cut value, the deployment stops naming the variable (never its value).
 */
export function envFile(envs: readonly string[], owner: string): string {
  const multiLine = envs.find((entry) => /[\r\n]/.test(entry));
  if (multiLine !== undefined)
    throw new Error(`release task of ${owner}: ${multiLine.split("=")[0]} has a line break in its value, which a release task cannot pass`);
  return envs.join("\n");
}

/**
 * Creates the task's container (one network at create: Docker 20.10 takes one; the others are connected before it
 * starts), runs it attached and removes it. The env-file is private (umask 077) and removed on every exit path.
 */
export const RUN_RELEASE = `set -u
umask 077
dir=$(mktemp -d)
trap 'docker rm -f "$NAME" >/dev/null 2>&1; rm -rf "$dir"' EXIT
printf '%s\\n' "$RELEASE_ENV" > "$dir/env"
unset RELEASE_ENV
docker rm -f "$NAME" >/dev/null 2>&1
first=""; rest=""
for network in $NETWORKS; do if [ -z "$first" ]; then first=$network; else rest="$rest $network"; fi; done
labels=""; for label in $LABELS; do labels="$labels --label $label"; done
if ! docker create --name "$NAME" $labels --env-file "$dir/env" --network "$first" --cpus "$CPUS" --memory "$MEMORY" --memory-swap "$MEMORY" "$IMAGE" "$@" >"$dir/out" 2>&1; then
  echo "release task of $OWNER: could not create its container from $IMAGE:" >&2; tail -n "$LINES" "$dir/out" >&2; exit 1
fi
for network in $rest; do docker network connect "$network" "$NAME" >"$dir/out" 2>&1 || { echo "release task of $OWNER: could not join network $network:" >&2; tail -n "$LINES" "$dir/out" >&2; exit 1; }; done
# coreutils' timeout where there is one (Linux CI); the EXIT trap removes the container it leaves running.
limit=""; command -v timeout >/dev/null 2>&1 && limit="timeout $TIMEOUT"
$limit docker start --attach "$NAME" >"$dir/out" 2>&1
status=$?
if [ -n "$limit" ] && [ "$status" -eq 124 ]; then
  echo "release task of $OWNER timed out after \${TIMEOUT}s running: $*" >&2
  echo "last output lines:" >&2
  tail -n "$LINES" "$dir/out" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "release task of $OWNER failed (exit $status) running: $*" >&2
  echo "last output lines:" >&2
  tail -n "$LINES" "$dir/out" >&2
  exit 1
fi
echo "release task of $OWNER done"`;
