import { parseArgs } from "node:util";
import { parseImageRef } from "../model/image-ref";
import { dnsSafeRepo, parsePreviewStackName } from "../model/preview-stack";
import { SERVICE_NAME_PATTERN, TENANT_NAME_PATTERN } from "../model/tenant-schema";

/** What `npm run preview -- ...` was asked to do, checked before anything runs (a mistake here exits 2). */
export interface PlatformUp {
  action: "up";
  pr: number;
  base: string;
  /** Unset: the tenants whose files changed since `since` (unset: the merge-base with origin/main). */
  tenants?: string[];
  since?: string;
}

export interface AppUp {
  action: "up";
  pr: number;
  base: string;
  app: { repo: string; tenant: string; service: string; image: string };
}

export type PreviewCommand =
  | PlatformUp
  | AppUp
  | { action: "down"; pr: number; base?: string; repo?: string }
  | { action: "list"; json: boolean }
  | { action: "sweep"; open: number[]; maxAgeHours?: number };

export class UsageError extends Error {}

/** The local dev stack; CI passes `--base staging`. */
export const DEFAULT_BASE = "dev";

export const USAGE = `usage: npm run preview -- up --pr <n> [--base <stack>] [--tenants a,b] [--since <git ref>]
       npm run preview -- up --app <repo> --pr <n> --tenant <t> --service <s> --image <ref> [--base <stack>]
       npm run preview -- down --pr <n> [--app <repo>] [--base <stack>]
       npm run preview -- list [--json]
       npm run preview -- sweep --open <n,n,..> [--max-age-hours <h>]
Stacks: pr-<n> (a platform pull request), app-<repo>-pr-<n> (an application repository's). --base defaults to ${DEFAULT_BASE}.
Exit codes: 0 done, 1 the preview failed (the message names the tenant and step), 2 usage.`;

const OPTIONS = {
  pr: { type: "string" },
  base: { type: "string" },
  tenants: { type: "string" },
  since: { type: "string" },
  app: { type: "string" },
  tenant: { type: "string" },
  service: { type: "string" },
  image: { type: "string" },
  json: { type: "boolean" },
  open: { type: "string" },
  "max-age-hours": { type: "string" },
} as const;

type Option = keyof typeof OPTIONS;
/** Which options each action takes; any other is a usage error rather than silently ignored. */
const ALLOWED: Record<PreviewCommand["action"], readonly Option[]> = {
  up: ["pr", "base", "tenants", "since", "app", "tenant", "service", "image"],
  down: ["pr", "base", "app"],
  list: ["json"],
  sweep: ["open", "max-age-hours"],
};

export function parsePreviewArgs(argv: readonly string[]): PreviewCommand {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]!);
  }
  const [action, ...extra] = parsed.positionals;
  if (action === undefined) throw new UsageError("missing action: up, down, list or sweep");
  if (!(action in ALLOWED)) throw new UsageError(`unknown action "${action}" (actions: up, down, list, sweep)`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const values = parsed.values as Partial<Record<Option, string | boolean>>;
  const allowed = ALLOWED[action as PreviewCommand["action"]];
  for (const given of Object.keys(values) as Option[])
    if (!allowed.includes(given)) throw new UsageError(`${action} takes no --${given} (it takes: ${allowed.map((o) => `--${o}`).join(" ") || "nothing"})`);
  const text = (name: Option) => values[name] as string | undefined;

  switch (action) {
    case "up": {
      const pr = prNumber(text("pr"));
      const base = baseStack(text("base")) ?? DEFAULT_BASE;
      const repo = text("app");
      if (repo === undefined) {
        for (const appOnly of ["tenant", "service", "image"] as const)
          if (text(appOnly) !== undefined) throw new UsageError(`--${appOnly} is for an application repository's preview (with --app <repo>); use --tenants a,b`);
        const tenants = text("tenants");
        return { action, pr, base, ...(tenants !== undefined ? { tenants: tenantList(tenants) } : {}), ...(text("since") !== undefined ? { since: gitRef(text("since")!) } : {}) };
      }
      for (const platformOnly of ["tenants", "since"] as const)
        if (text(platformOnly) !== undefined) throw new UsageError(`--${platformOnly} is for a platform pull request's preview; with --app give --tenant`);
      const tenant = required(text("tenant"), "--tenant <tenant> (with --app)");
      if (!TENANT_NAME_PATTERN.test(tenant)) throw new UsageError(`--tenant "${tenant}" is not a tenant name`);
      const service = required(text("service"), "--service <service> (with --app)");
      if (!SERVICE_NAME_PATTERN.test(service)) throw new UsageError(`--service "${service}" is not a service name`);
      const image = required(text("image"), "--image <reference> (with --app)");
      if (!parseImageRef(image)) throw new UsageError(`--image "${image}" is not an image reference (e.g. registry.example.com/team/app:1.2.3 or …@sha256:<digest>)`);
      return { action, pr, base, app: { repo: appRepo(repo), tenant, service, image } };
    }
    case "down": {
      const pr = prNumber(text("pr"));
      const base = baseStack(text("base"));
      const repo = text("app");
      return { action, pr, ...(base !== undefined ? { base } : {}), ...(repo !== undefined ? { repo: appRepo(repo) } : {}) };
    }
    case "list":
      return { action, json: values.json === true };
    default: {
      // `--open ""`: no pull request is open.
      const open = text("open");
      if (open === undefined) throw new UsageError('missing --open <n,n,..> (the open pull requests\' numbers; "" for none)');
      const numbers = open.split(",").map((n) => n.trim()).filter((n) => n !== "");
      for (const n of numbers) if (!/^[1-9][0-9]*$/.test(n)) throw new UsageError(`--open "${n}" is not a pull request number`);
      const age = text("max-age-hours");
      if (age !== undefined && !(/^[0-9]+(\.[0-9]+)?$/.test(age) && Number(age) > 0))
        throw new UsageError(`--max-age-hours "${age}" is not a positive number of hours`);
      return { action: "sweep", open: numbers.map(Number), ...(age !== undefined ? { maxAgeHours: Number(age) } : {}) };
    }
  }
}

function required(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

function prNumber(value: string | undefined): number {
  const text = required(value, "--pr <n> (the pull request's number)");
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new UsageError(`--pr "${text}" is not a pull request number`);
  return Number(text);
}

function baseStack(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[a-zA-Z0-9_.-]+$/.test(value)) throw new UsageError(`--base "${value}" is not a stack name`);
  if (parsePreviewStackName(value)) throw new UsageError(`--base ${value} is itself a preview; previews run beside a stack like staging or dev`);
  if (value === "production") throw new UsageError("--base production: previews never run beside production (use staging)");
  return value;
}

function tenantList(value: string): string[] {
  const names = [...new Set(value.split(",").map((n) => n.trim()).filter((n) => n !== ""))];
  if (names.length === 0) throw new UsageError("--tenants lists no tenant");
  for (const name of names) if (!TENANT_NAME_PATTERN.test(name)) throw new UsageError(`--tenants: "${name}" is not a tenant name`);
  return names;
}

function appRepo(value: string): string {
  const repo = dnsSafeRepo(value);
  if (repo === "") throw new UsageError(`--app "${value}" has no letter or digit to name the preview by`);
  return repo;
}

function gitRef(value: string): string {
  // A ref is handed to git as one argument; one starting with "-" would be read as an option.
  if (value === "" || value.startsWith("-")) throw new UsageError(`--since "${value}" is not a git ref`);
  return value;
}
