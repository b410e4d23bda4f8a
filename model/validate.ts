import { z } from "zod";
import { servingStack, type PreviewSettings, type StackDefinition } from "./stack";
import { closestMatch, formatDiagnostic, formatPath, sortDiagnostics, type Diagnostic, type PathSegment } from "./diagnostics";
import { RESERVED_SERVICE_NAMES, RESERVED_TENANT_NAMES } from "./naming";
import type { TenantSourceFile } from "./project-files";
import { planTenant, type StackScopedTenant, type TenantPlan } from "./tenant-plan";
import { tenantOverrideSchema, tenantSchema, type TenantFile } from "./tenant-schema";
import { parseYamlSource, unreadableSource, type YamlSource } from "./yaml-source";
import { issuesToDiagnostics } from "./zod-diagnostics";

/**
 * The one validation module: the Pulumi program and `npm run validate` both call `validateTenants`, so they
 * cannot disagree. It parses every file, checks it against the schema, merges each stack's overrides, applies the
 * stack's rules and then the rules that span files. It never stops at the first problem.
 */

export interface TenantValidationInput {
  files: readonly TenantSourceFile[];
  /** Stacks to check the tenants against (the program: its own stack; the CLI: every stack file). */
  stacks: readonly StackDefinition[];
  /** Every stack that exists: the names `environments` and `overrides` may use. */
  stackNames: readonly string[];
}

export interface ValidatedTenant {
  name: string;
  file: string;
  environments: string[];
  spec: TenantFile;
}

export interface TenantValidationResult {
  diagnostics: Diagnostic[];
  tenants: ValidatedTenant[];
  /** Per stack, the tenants that run there, in file order. */
  plans: Record<string, TenantPlan[]>;
}

interface ParsedTenant extends ValidatedTenant {
  source: YamlSource;
}

export function validateTenants(input: TenantValidationInput): TenantValidationResult {
  const diagnostics: Diagnostic[] = [];
  const parsed: ParsedTenant[] = [];
  // A stack configured without a stack file (e.g. config from elsewhere) still counts as a stack.
  const stackNames = [...new Set([...input.stackNames, ...input.stacks.map((s) => s.name)])].sort();
  for (const file of input.files) {
    const tenant = parseTenantFile(file, stackNames, diagnostics);
    if (tenant) parsed.push(tenant);
  }
  checkUniqueNames(parsed, diagnostics);
  // A duplicated name is reported once above; later rules see only its first file, so they do not repeat it.
  const seenNames = new Set<string>();
  const distinct = parsed.filter((tenant) => !seenNames.has(tenant.name) && seenNames.add(tenant.name));
  checkNameStems(distinct, diagnostics);

  const plans: Record<string, TenantPlan[]> = {};
  for (const stack of input.stacks) {
    // A preview runs only its listed tenants, each as its base stack sees it.
    const view = servingStack(stack);
    const listed = stack.preview?.tenants;
    if (stack.preview) checkPreviewTenants(stack.preview, view, input.files, distinct, diagnostics);
    const stackPlans = distinct
      .filter((tenant) => tenant.environments.includes(view) && (!listed || listed.includes(tenant.name)))
      .map((tenant) => ({ tenant, plan: planForStack(tenant, stack, diagnostics) }))
      .filter((entry): entry is { tenant: ParsedTenant; plan: PlannedTenant } => entry.plan !== undefined);
    checkHostClaims(stack, stackPlans, diagnostics);
    if (stack.preview?.app) checkPreviewService(stack.preview, stackPlans.map((entry) => entry.plan.plan), diagnostics);
    plans[stack.name] = stackPlans.map((entry) => entry.plan.plan);
  }
  return {
    diagnostics: sortDiagnostics(dedupe(diagnostics)),
    tenants: parsed.map(({ name, file, environments, spec }) => ({ name, file, environments, spec })),
    plans,
  };
}

function report(diagnostics: Diagnostic[], source: YamlSource, path: readonly PathSegment[], message: string, filePath = path): void {
  diagnostics.push({ file: source.file, ...source.locate(filePath), path: formatPath(path), message });
}

function parseTenantFile(file: TenantSourceFile, stackNames: readonly string[], diagnostics: Diagnostic[]): ParsedTenant | undefined {
  const source = file.problem !== undefined ? unreadableSource(file.file, file.problem) : parseYamlSource(file.file, file.text);
  if (source.diagnostics.length > 0) {
    diagnostics.push(...source.diagnostics);
    return undefined;
  }
  if (source.value === null || typeof source.value !== "object" || Array.isArray(source.value)) {
    report(diagnostics, source, [], "a tenant file must be a map with at least `name` and `services`");
    return undefined;
  }
  const before = diagnostics.length;
  const result = tenantSchema.safeParse(source.value, { reportInput: true });
  if (!result.success) {
    diagnostics.push(...issuesToDiagnostics(tenantSchema, result.error.issues, { file: source.file, locate: source.locate }));
  }
  const raw = source.value as Record<string, unknown>;
  const expectedName = baseName(file.file);
  if (typeof raw.name === "string" && raw.name !== expectedName)
    report(diagnostics, source, ["name"], `"${raw.name}" must equal the file name "${expectedName}" (rename the file or the tenant)`);
  if (typeof raw.name === "string" && (RESERVED_TENANT_NAMES as readonly string[]).includes(raw.name))
    report(diagnostics, source, ["name"], `"${raw.name}" is reserved by the platform (reserved: ${RESERVED_TENANT_NAMES.join(", ")})`);
  if (typeof raw.name === "string") {
    const suffix = stackNames.filter((s) => s !== "production").find((s) => raw.name === `${s}` || (raw.name as string).endsWith(`-${s}`));
    if (suffix || /-pr-[0-9]+$/.test(raw.name))
      report(diagnostics, source, ["name"], `"${raw.name}" ends like a generated host suffix (-${suffix ?? "pr-<n>"}); choose another name`);
  }
  checkStackNames(raw.environments, ["environments"], stackNames, source, diagnostics);
  checkServiceNames(raw.services, ["services"], source, diagnostics);
  if (raw.overrides !== null && typeof raw.overrides === "object") {
    for (const [stack, override] of Object.entries(raw.overrides as Record<string, unknown>)) {
      const path = ["overrides", stack];
      if (!stackNames.includes(stack)) {
        const hint = closestMatch(stack, stackNames);
        report(diagnostics, source, path, `"${stack}" is not a stack (${hint ? `did you mean "${hint}"? ` : ""}stacks: ${stackNames.join(", ")})`);
        continue;
      }
      const checked = tenantOverrideSchema.safeParse(override ?? {}, { reportInput: true });
      if (!checked.success) {
        const issues = checked.error.issues.map((issue) => ({ ...issue, path: [...path, ...issue.path] }));
        diagnostics.push(...issuesToDiagnostics(overridesSchemaRoot, issues, { file: source.file, locate: source.locate }));
      }
      checkServiceNames((override as { services?: unknown } | null)?.services, [...path, "services"], source, diagnostics);
      checkOverriddenServicesExist(raw.services, (override as { services?: unknown } | null)?.services, path, source, diagnostics);
    }
  }
  if (!result.success || diagnostics.length > before) return undefined;
  const spec = result.data;
  return { name: spec.name, file: source.file, environments: spec.environments ?? [...stackNames], spec, source };
}

/** Lets "did you mean" hints inside overrides find the override shape at `overrides.<stack>`. */
const overridesSchemaRoot = z.strictObject({ overrides: z.record(z.string(), tenantOverrideSchema) });

function baseName(file: string): string {
  return file.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/, "");
}

function checkStackNames(value: unknown, path: PathSegment[], stackNames: readonly string[], source: YamlSource, diagnostics: Diagnostic[]) {
  if (!Array.isArray(value)) return;
  value.forEach((stack, index) => {
    if (typeof stack === "string" && !stackNames.includes(stack)) {
      const hint = closestMatch(stack, stackNames);
      report(diagnostics, source, [...path, index], `"${stack}" is not a stack (${hint ? `did you mean "${hint}"? ` : ""}stacks: ${stackNames.join(", ")})`);
    }
  });
}

function checkServiceNames(services: unknown, path: PathSegment[], source: YamlSource, diagnostics: Diagnostic[]) {
  if (services === null || typeof services !== "object") return;
  for (const name of Object.keys(services)) {
    if ((RESERVED_SERVICE_NAMES as readonly string[]).includes(name))
      report(diagnostics, source, [...path, name], `"${name}" is reserved for the platform's own containers (reserved: ${RESERVED_SERVICE_NAMES.join(", ")})`);
  }
}

/**
 * An override changes services the file defines. A name the file does not define is a typo unless the override
 * gives a whole new service (one with an image); otherwise the merge would report the missing image at the base
 * file's `services`, far from the typo.
 */
function checkOverriddenServicesExist(
  baseServices: unknown,
  overrideServices: unknown,
  overridePath: PathSegment[],
  source: YamlSource,
  diagnostics: Diagnostic[],
) {
  if (!isPlainObject(overrideServices)) return;
  const defined = isPlainObject(baseServices) ? Object.keys(baseServices) : [];
  for (const [name, service] of Object.entries(overrideServices)) {
    if (defined.includes(name) || (isPlainObject(service) && "image" in service)) continue;
    const hint = closestMatch(name, defined);
    const stack = String(overridePath.at(-1));
    report(
      diagnostics,
      source,
      [...overridePath, "services", name],
      `"${name}" is not a service of this tenant (${hint ? `did you mean "${hint}"? ` : ""}services: ${defined.join(", ") || "none"}); ` +
        `to add a service on stack ${stack} only, give it an image`,
    );
  }
}

interface PlannedTenant {
  plan: TenantPlan;
  /** Maps a path in the merged tenant to where it is written in the file (base or override). */
  filePath(path: readonly PathSegment[]): readonly PathSegment[];
}

const stackScopedSchema = tenantSchema.omit({ overrides: true, environments: true });

function planForStack(tenant: ParsedTenant, stack: StackDefinition, diagnostics: Diagnostic[]): PlannedTenant | undefined {
  const { overrides, environments: _environments, ...base } = tenant.spec;
  const view = servingStack(stack);
  const override = overrides?.[view];
  const merged = override === undefined ? base : deepMerge(base, override);
  const filePath = (path: readonly PathSegment[]) =>
    override !== undefined && overrideCovers(base, override, path) ? ["overrides", view, ...path] : path;

  // Without an override the merged tenant is the base, which already passed tenantSchema (the same keys and rules):
  // parsing it again per stack cost a schema pass per tenant and stack and could not find anything new.
  let scoped: unknown = base;
  if (override !== undefined) {
    const checked = stackScopedSchema.safeParse(merged, { reportInput: true });
    if (!checked.success) {
      const found = issuesToDiagnostics(stackScopedSchema, checked.error.issues, {
        file: tenant.source.file,
        locate: tenant.source.locate,
        filePath,
      });
      diagnostics.push(...found.map((d) => ({ ...d, message: `${d.message} (after overrides for stack ${view})` })));
      return undefined;
    }
    scoped = checked.data;
  }
  const before = diagnostics.length;
  const plan = planTenant(scoped as StackScopedTenant, tenant.source.file, stack, (path, message) =>
    report(diagnostics, tenant.source, path, message, filePath(path)),
  );
  return diagnostics.length > before ? undefined : { plan, filePath };
}

/**
 * Each tenant a preview lists must run on its base. A file that exists but failed validation is already reported;
 * these name the preview's own file, which `npm run preview` wrote from the pull request's changed tenants.
 */
function checkPreviewTenants(
  preview: PreviewSettings,
  view: string,
  files: readonly TenantSourceFile[],
  tenants: readonly ParsedTenant[],
  diagnostics: Diagnostic[],
) {
  const fileNames = new Set(files.map((f) => baseName(f.file)));
  preview.tenants.forEach((name, index) => {
    const tenant = tenants.find((t) => t.name === name);
    const at = { ...preview.source, path: formatPath(["platform:preview", "tenants", index]) };
    if (!tenant && !fileNames.has(name)) diagnostics.push({ ...at, message: `"${name}" has no tenant file` });
    else if (tenant && !tenant.environments.includes(view))
      diagnostics.push({ ...at, message: `"${name}" does not run on stack ${view} (${tenant.file} environments: ${tenant.environments.join(", ")})` });
  });
}

/** An application repository's preview replaces one service's image: that service must exist. */
function checkPreviewService(preview: PreviewSettings, plans: readonly TenantPlan[], diagnostics: Diagnostic[]) {
  const app = preview.app!;
  const plan = plans.find((p) => p.name === preview.tenants[0]);
  if (!plan || plan.services.some((s) => s.name === app.service)) return;
  const names = plan.services.map((s) => s.name);
  const hint = closestMatch(app.service, names);
  diagnostics.push({
    ...preview.source,
    path: "platform:preview.app.service",
    message: `"${app.service}" is not a service of tenant ${plan.name} (${hint ? `did you mean "${hint}"? ` : ""}services: ${names.join(", ") || "none"})`,
  });
}

/** Maps merge key by key; lists and values from the override replace the base. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = key in base ? deepMerge(base[key], value) : value;
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Whether the value at `path` comes from the override: it sets that path, or a map along it the base lacks. */
function overrideCovers(base: unknown, override: unknown, path: readonly PathSegment[]): boolean {
  let fromBase = base;
  let current = override;
  for (const segment of path) {
    if (!isPlainObject(current)) return true;
    const key = String(segment);
    if (!(key in current)) return false;
    if (!isPlainObject(fromBase) || !(key in fromBase)) return true;
    fromBase = fromBase[key];
    current = current[key];
  }
  return true;
}

function checkUniqueNames(tenants: readonly ParsedTenant[], diagnostics: Diagnostic[]) {
  const byName = groupBy(tenants, (t) => t.name);
  for (const group of byName.values()) {
    if (group.length < 2) continue;
    for (const tenant of group) {
      const others = group.filter((t) => t !== tenant).map((t) => t.file);
      report(diagnostics, tenant.source, ["name"], `tenant "${tenant.name}" is also defined in ${others.join(", ")}`);
    }
  }
}

/**
 * Resource names are `<tenant>-<service>-...`, so tenant `a-b` with service `c` and tenant `a` with service `b-c`
 * would produce the same names. Each tenant claims its own name and `<tenant>-<service>` for every service.
 */
function checkNameStems(tenants: readonly ParsedTenant[], diagnostics: Diagnostic[]) {
  interface Claim { tenant: ParsedTenant; path: PathSegment[] }
  const claims = new Map<string, Claim[]>();
  const claim = (stem: string, entry: Claim) => claims.set(stem, [...(claims.get(stem) ?? []), entry]);
  for (const tenant of tenants) {
    claim(tenant.name, { tenant, path: ["name"] });
    const serviceNames = new Set([
      ...Object.keys(tenant.spec.services),
      ...Object.values(tenant.spec.overrides ?? {}).flatMap((o) => Object.keys((o as { services?: object } | null)?.services ?? {})),
    ]);
    for (const service of serviceNames) claim(`${tenant.name}-${service}`, { tenant, path: ["services", service] });
  }
  for (const [stem, group] of claims) {
    const owners = new Set(group.map((c) => c.tenant));
    if (owners.size < 2) continue;
    for (const entry of group) {
      const others = group.filter((c) => c.tenant !== entry.tenant).map((c) => `${c.tenant.file} (${formatPath(c.path)})`);
      report(diagnostics, entry.tenant.source, entry.path, `resource names "${stem}-..." would clash with ${others.join(", ")}; rename the tenant or service`);
    }
  }
}

function checkHostClaims(stack: StackDefinition, planned: readonly { tenant: ParsedTenant; plan: PlannedTenant }[], diagnostics: Diagnostic[]) {
  interface Claim { tenant: ParsedTenant; planned: PlannedTenant; path: PathSegment[]; host: string; routePath: string; redirect?: true }
  const claims = new Map<string, Claim[]>();
  for (const entry of planned) {
    if (entry.plan.plan.retiring) continue;
    for (const service of entry.plan.plan.services) {
      for (const route of service.routes) {
        const path: PathSegment[] = ["services", service.name, "routes"];
        if (route.customIndex !== undefined) path.push(route.customIndex, route.onMainHost ? "path" : "host");
        const list = claims.get(route.host) ?? [];
        list.push({ tenant: entry.tenant, planned: entry.plan, path, host: route.host, routePath: route.path ?? "/" });
        claims.set(route.host, list);
      }
      // A redirect's source is a host like any other: no other tenant may serve or redirect it.
      for (const redirect of service.redirects ?? []) {
        const list = claims.get(redirect.from) ?? [];
        list.push({ tenant: entry.tenant, planned: entry.plan, path: ["redirects", redirect.index, "from"], host: redirect.from, routePath: "/", redirect: true });
        claims.set(redirect.from, list);
      }
    }
  }
  for (const [host, group] of claims) {
    for (const entry of group) {
      const clashes = group.filter(
        // The tenant's own redirects are checked against its routes in model/traffic-plan.ts.
        (other) => other !== entry && (other.tenant !== entry.tenant || (!other.redirect && !entry.redirect && other.routePath === entry.routePath)),
      );
      if (clashes.length === 0) continue;
      const others = clashes.map((c) => `${c.tenant.file} (${formatPath(c.path)})`);
      report(
        diagnostics,
        entry.tenant.source,
        entry.path,
        `${entry.routePath === "/" ? "" : `path "${entry.routePath}" of `}host "${host}" is also claimed in stack ${stack.name} by ${others.join(", ")}`,
        entry.planned.filePath(entry.path),
      );
    }
  }
}

/** A rule checked once per stack can find the same problem in each; the user needs to read it once. */
function dedupe(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = formatDiagnostic(d);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
