import { get, tenantHost } from "../test/e2e/harness";

/** Traefik's own answer when no router matches: what a Traefik that has not loaded its routes yet sends. */
export const TRAEFIK_404 = "404 page not found\n";

/**
 * What a failed request came to: Traefik's own 404, another HTTP answer than 200 (the app's, or Traefik's own 5xx),
 * or no answer at all (refused, reset, or no answer within the timeout).
 */
export type FailureKind = "traefik-404" | "answer" | "connection";

export interface Failure {
  /** When the request was sent (ms since the epoch). */
  at: number;
  tenant: string;
  kind: FailureKind;
  /** `HTTP <status>` for an answer; the error code or `timeout` for a connection. */
  detail: string;
}

export interface Probes {
  sent: number;
  failures: Failure[];
  /** Tenants that did not answer 200 after `done` settled, within the bound. */
  missing: string[];
}

/** One request to a tenant through the edge on a fresh connection: undefined when it answered 200. */
export async function probe(tenant: string, timeoutMs = 1000): Promise<Failure | undefined> {
  const at = Date.now();
  const answer = await get(tenantHost(tenant), "/", timeoutMs).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  if (answer instanceof Error) {
    const detail = answer.message.startsWith("timed out") ? "timeout" : ((answer as NodeJS.ErrnoException).code ?? answer.message);
    return { at, tenant, kind: "connection", detail };
  }
  if (answer.status === 200) return undefined;
  return { at, tenant, kind: answer.status === 404 && answer.body === TRAEFIK_404 ? "traefik-404" : "answer", detail: `HTTP ${answer.status}` };
}

/**
 * Probes every tenant in turn through the edge (fresh connection, 1 s timeout per request) while `done` runs, then
 * once more each until it answers 200, and records every failed request. Bounded: probing stops after `maxSeconds`
 * even if `done` has not settled, and the last pass gives up on a tenant after `settleSeconds`. Loopback only.
 */
export async function probeReplacement(names: readonly string[], done: Promise<unknown>, settleSeconds = 60, maxSeconds = 600): Promise<Probes> {
  let settled = false;
  void done.finally(() => (settled = true));
  const result: Probes = { sent: 0, failures: [], missing: [] };
  const send = async (name: string): Promise<boolean> => {
    result.sent += 1;
    const failure = await probe(name);
    if (failure) result.failures.push(failure);
    return failure === undefined;
  };
  const began = Date.now();
  while (!settled && Date.now() - began < maxSeconds * 1000) {
    for (const name of names) await send(name);
    await new Promise((r) => setTimeout(r, 20));
  }
  let remaining = [...names];
  const settledAt = Date.now();
  while (remaining.length > 0 && Date.now() - settledAt < settleSeconds * 1000) {
    const next: string[] = [];
    for (const name of remaining) if (!(await send(name))) next.push(name);
    remaining = next;
    if (remaining.length > 0) await new Promise((r) => setTimeout(r, 200));
  }
  result.missing = remaining;
  return result;
}

export interface Outage {
  /** When the first request failed (ms since the epoch); undefined if none did. */
  start?: number;
  /** Seconds from the first failed request until the first and the last tenant answered again. */
  first: number;
  all: number;
  /** Tenants that never answered again within the bound. */
  missing: number;
}

/**
 * Probes every tenant in turn through the edge (1 s timeout per request) until `done` has settled and every tenant
 * answered after the first failure, bounded by `maxSeconds`. Loopback only. For an outage of every tenant (bench/
 * real-engine.ts); a Traefik replacement is measured by `probeReplacement`, which records each failed request.
 */
export async function probeOutage(names: readonly string[], done: Promise<unknown>, maxSeconds = 180): Promise<Outage> {
  let settled = false;
  void done.finally(() => (settled = true));
  let start: number | undefined;
  const back = new Map<string, number>();
  const began = Date.now();
  while ((!settled || (start !== undefined && back.size < names.length)) && Date.now() - began < maxSeconds * 1000) {
    for (const name of names) {
      if (back.has(name)) continue;
      const ok = await get(tenantHost(name), "/", 1000).then((a) => a.status === 200, () => false);
      const now = Date.now();
      if (!ok && start === undefined) start = now;
      if (ok && start !== undefined) back.set(name, now);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (start === undefined) return { first: 0, all: 0, missing: 0 };
  const times = [...back.values()].map((t) => (t - start!) / 1000);
  return { start, first: times.length ? Math.min(...times) : Infinity, all: times.length ? Math.max(...times) : Infinity, missing: names.length - back.size };
}
