/** Sizes use binary units only, so `512Mi` means exactly what Docker enforces and `512` cannot be misread. */
export const SIZE_PATTERN = /^[1-9][0-9]*(Ki|Mi|Gi|Ti)$/;
const SIZE_FACTORS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** Durations in Go/Docker style: one or more `<number><unit>` groups, e.g. `10s`, `1m30s`, `500ms`. */
export const DURATION_PATTERN = /^([0-9]+(ms|s|m|h))+$/;
const DURATION_FACTORS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseSize(text: string): number {
  const match = SIZE_PATTERN.exec(text);
  if (!match) throw new Error(`"${text}" is not a size (use e.g. 512Mi or 1Gi)`);
  return Number.parseInt(text, 10) * SIZE_FACTORS[match[1]!]!;
}

export function parseDurationMs(text: string): number {
  if (!DURATION_PATTERN.test(text)) throw new Error(`"${text}" is not a duration (use e.g. 10s, 1m30s or 500ms)`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(amount) * DURATION_FACTORS_MS[unit!]!;
  return total;
}

/**
 * A duration as Go's time.Duration prints it ("1s", "1m30s", "1h0m0s", "500ms", "1.5s"): the form the docker
 * provider reads back from the engine, so an unchanged health check never shows as a change.
 */
export function durationToDockerString(text: string): string {
  const ms = parseDurationMs(text);
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = ((ms % 60_000) / 1000).toString();
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
