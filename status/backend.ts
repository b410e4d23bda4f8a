import * as path from "node:path";
import type { StackDefinition } from "../model/stack";

/**
 * Where a stack's state is read from. PULUMI_BACKEND_URL when set (the pipeline's variable, docs/pipeline.md; the
 * e2e world sets its own); otherwise a stack whose hosts are all this machine's sockets (dev) reads the local file
 * state `npm run dev` writes, and any other stack reads the backend the pulumi CLI is logged in to (Pulumi Cloud).
 */
export interface Backend {
  /** undefined: pulumi's own login. */
  url: string | undefined;
  /** Local directory for the toolchain (a file backend's state; PULUMI_HOME of the repo's own toolchain). */
  stateDir: string;
  /** For messages: where the state was looked for. */
  description: string;
}

export function chooseBackend(env: NodeJS.ProcessEnv, projectDir: string, stack: Pick<StackDefinition, "hosts">): Backend {
  const localState = path.join(projectDir, ".pulumi-state");
  const fromEnv = env.PULUMI_BACKEND_URL?.trim();
  if (fromEnv) {
    const file = fromEnv.startsWith("file://") ? fromEnv.slice("file://".length).split("?")[0]! : undefined;
    return { url: fromEnv, stateDir: file ? path.resolve(projectDir, file) : localState, description: fromEnv };
  }
  if (Object.values(stack.hosts).every((host) => host.url.startsWith("unix://")))
    return { url: `file://${localState}`, stateDir: localState, description: `the local file state ${localState}` };
  return { url: undefined, stateDir: localState, description: "the backend pulumi is logged in to (PULUMI_BACKEND_URL is not set)" };
}
