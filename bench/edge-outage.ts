import { get, tenantHost } from "../test/e2e/harness";

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
 * answered after the first failure, bounded by `maxSeconds`. Loopback only.
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
