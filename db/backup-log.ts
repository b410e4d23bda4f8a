import { BACKUP_LOG } from "../components/backup-script";

/** One run of the backup container, as it appended it to backups.jsonl (components/backup-script.ts). */
export interface BackupRun {
  id: string;
  time: string;
  result: "ok" | "failed";
  sizeBytes: number;
  durationSeconds: number;
  error: string;
  /** Why a named dump was taken (`platform-backup once <reason>`, e.g. pre-release-api); "" for scheduled runs. */
  reason: string;
  /** False once retention removed the dump (the run stays in the log). */
  present: boolean;
  /** The off-host copy after a good dump: "" when the stack has none configured. */
  offsite: "ok" | "failed" | "";
  offsiteError: string;
}

export interface BackupSummary {
  runs: BackupRun[];
  lastSuccess: BackupRun | null;
  /** Newest successful run older than the schedule allows (or none at all). */
  overdue: boolean;
  /** When the next run was due at the latest, for the message. */
  ageSeconds: number | null;
}

/** A run may take a while and the loop wakes at most once a minute: half an interval of grace before "overdue". */
export const OVERDUE_FACTOR = 1.5;

/**
 * The log as `cat backups.jsonl; echo <marker>; ls` printed it. Lines that are not a run (a line cut short by a
 * full disk) are skipped rather than failing the listing.
 */
export function parseBackupListing(text: string): BackupRun[] {
  const [log = "", files = ""] = text.split(LISTING_MARKER);
  const present = new Set(files.split("\n").map((f) => f.trim()).filter(Boolean));
  const runs: BackupRun[] = [];
  for (const line of log.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      const run = JSON.parse(line) as Partial<BackupRun>;
      if (typeof run.id !== "string" || (run.result !== "ok" && run.result !== "failed")) continue;
      runs.push({
        id: run.id,
        time: String(run.time ?? ""),
        result: run.result,
        sizeBytes: Number(run.sizeBytes ?? 0),
        durationSeconds: Number(run.durationSeconds ?? 0),
        error: String(run.error ?? ""),
        reason: String(run.reason ?? ""),
        present: run.result === "ok" && present.has(`${run.id}.dump`),
        offsite: run.offsite === "ok" || run.offsite === "failed" ? run.offsite : "",
        offsiteError: String(run.offsiteError ?? ""),
      });
    } catch {
      // not a run
    }
  }
  return runs;
}

export const LISTING_MARKER = "--platform-backup-files--";
export const LISTING_COMMAND = `cat /backups/${BACKUP_LOG} 2>/dev/null; echo ${LISTING_MARKER}; ls /backups`;

export function summarize(runs: BackupRun[], everySeconds: number, now: Date): BackupSummary {
  const successes = runs.filter((r) => r.result === "ok");
  const lastSuccess = successes.at(-1) ?? null;
  const ageSeconds = lastSuccess ? Math.max(0, Math.round((now.getTime() - Date.parse(lastSuccess.time)) / 1000)) : null;
  const overdue = ageSeconds === null || ageSeconds > everySeconds * OVERDUE_FACTOR;
  return { runs, lastSuccess, overdue, ageSeconds };
}

export function humanDuration(seconds: number): string {
  if (seconds < 90) return `${seconds}s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)}m`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
