import type { PathSegment } from "./diagnostics";
import type { TenantPlan } from "./tenant-plan";
import type { OldVolumeStep } from "./tenant-schema";

/**
 * Which Postgres data volumes a tenant has and which one it runs on, across major versions. Validation cannot know
 * what is deployed, so the program remembers it in its own stack output `databaseVolumes` (one `DeployedDatabase`
 * per tenant) and reads it back at the next run (stacks/deployed-databases.ts). Nothing remembered (a new tenant, or
 * the first run of a stack) means one volume, named after the major in the tenant file.
 *
 * Volume identity (issue 13): the resource `<tenant>-pgdata` keeps its URN and the Docker name of the major it was
 * created with (`original`) for ever; every later major's volume is a resource of its own, `<tenant>-pgdata-pg<major>`.
 */
export interface DeployedDatabase {
  /** The major of the `<tenant>-pgdata` resource's volume. */
  original: string;
  /** The major the database container ran after the last successful deployment. */
  live: string;
  /** Every major whose volume the stack declares (the live one and the retained ones). */
  majors: string[];
  /**
   * The upgrade that brought `live` about. Its data step stays declared, with the same inputs, while that major runs:
   * it has already run, and dropping it would make the next `up` delete it, so a second `up` would not be a no-op.
   */
  upgraded?: { from: string; to: string };
}

export interface DatabaseVolumes {
  original: string;
  /** Every declared volume, oldest major first; `protect: false` while its removal is under way (`oldVolumes`). */
  majors: { major: string; retiring: boolean }[];
  /** Moves the data from the running `from` into the new volume of `to` before the container switches (components/postgres-upgrade.ts). */
  upgrade?: { from: string; to: string };
  /** Switches back (or forth) to a retained volume: its data is as it was when that major last ran. */
  reattach?: { from: string; to: string };
}

/** The volumes when nothing is remembered: exactly one, named after the wanted major (the behaviour before memory). */
export function freshVolumes(major: string): DatabaseVolumes {
  return { original: major, majors: [{ major, retiring: false }] };
}

const VERSION_PATH: PathSegment[] = ["database", "postgres", "version"];

/** A change of major the deployment cannot carry out, at a key of the tenant file. */
export interface VolumeProblem {
  path: PathSegment[];
  problem: string;
}

/**
 * The volumes for the wanted major given what is deployed, or the problem that stops the deployment when the change
 * cannot be carried out.
 */
export function planDatabaseVolumes(
  wanted: string,
  deployed: DeployedDatabase | undefined,
  options: { oldVolumes?: Record<string, OldVolumeStep>; restore?: number; retiring: boolean },
): DatabaseVolumes | VolumeProblem {
  if (!deployed) return freshVolumes(wanted);
  const steps = options.oldVolumes ?? {};
  const previous = deployed.live;
  const known = new Set(deployed.majors);
  if (previous !== wanted) {
    if (options.retiring)
      return { path: VERSION_PATH, problem: `a retiring tenant keeps the major it runs (${previous}); set it back to "${previous}"` };
    if (steps[previous] !== undefined)
      return { path: ["database", "postgres", "oldVolumes", previous], problem: `Postgres ${previous} runs now and its data moves to ${wanted} in this deployment; remove its volume in a later pull request` };
    if (!known.has(wanted)) {
      if (Number(wanted) < Number(previous))
        return { path: VERSION_PATH, problem: `Postgres ${previous} → ${wanted} is a downgrade and no volume of Postgres ${wanted} is retained to go back to (pg_dump cannot move data to an older major); keep "${previous}"` };
      if (options.restore !== undefined)
        return { path: ["database", "postgres", "restore"], problem: `restore: ${options.restore} names a restore of Postgres ${wanted}, which cannot exist before the upgrade; remove restore while changing the version` };
    }
  }
  const majors = [...new Set([...deployed.majors, wanted])]
    .filter((major) => steps[major] !== "removed")
    .sort((a, b) => Number(a) - Number(b))
    .map((major) => ({ major, retiring: steps[major] === "retiring" }));
  const finished = deployed.upgraded?.to === wanted ? { upgrade: deployed.upgraded } : {};
  const change = previous === wanted ? finished : known.has(wanted) ? { reattach: { from: previous, to: wanted } } : { upgrade: { from: previous, to: wanted } };
  return { original: deployed.original, majors, ...change };
}

/** What the next run reads back: the volumes this deployment leaves declared and the major it leaves running. */
export function deployedDatabase(wanted: string, volumes: DatabaseVolumes): DeployedDatabase {
  return { original: volumes.original, live: wanted, majors: volumes.majors.map((m) => m.major), ...(volumes.upgrade ? { upgraded: volumes.upgrade } : {}) };
}

/** A tenant's plan with the volumes what is deployed calls for (the plan alone assumes nothing is). */
export function withDeployedDatabase(plan: TenantPlan, deployed: DeployedDatabase | undefined): TenantPlan | VolumeProblem {
  const database = plan.database;
  if (!database) return plan;
  const volumes = planDatabaseVolumes(database.major, deployed, {
    retiring: plan.retiring,
    ...(database.oldVolumes ? { oldVolumes: database.oldVolumes } : {}),
    ...(database.restore !== undefined ? { restore: database.restore } : {}),
  });
  return "problem" in volumes ? volumes : { ...plan, database: { ...database, volumes } };
}

/** The stack output `databaseVolumes`: per tenant with a database, what the next run reads back. */
export function databaseMemory(plans: readonly TenantPlan[]): Record<string, DeployedDatabase> {
  return Object.fromEntries(plans.flatMap((plan) => (plan.database ? [[plan.name, deployedDatabase(plan.database.major, plan.database.volumes ?? freshVolumes(plan.database.major))]] : [])));
}
