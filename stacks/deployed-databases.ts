import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { DeployedDatabase } from "../model/database-volumes";

/** The stack output the program writes and reads back (index.ts): which database volumes each tenant has. */
export const DATABASE_VOLUMES_OUTPUT = "databaseVolumes";

const major = z.string().regex(/^[0-9]+$/);
const memorySchema = z.record(z.string(), z.object({ original: major, live: major, majors: z.array(major).min(1), upgraded: z.object({ from: major, to: major }).optional() }));

/**
 * What this stack deployed last (its own outputs, through a StackReference to itself): nothing on its first run or
 * before this output existed. An unreadable value stops the program rather than being taken for "nothing": that
 * would name each tenant's volume after the tenant file's major again, and so plan a new, empty one.
 */
export async function readDeployedDatabases(): Promise<Record<string, DeployedDatabase>> {
  const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
  const { value } = await self.getOutputDetails(DATABASE_VOLUMES_OUTPUT);
  if (value === undefined || value === null) return {};
  const parsed = memorySchema.safeParse(value);
  if (!parsed.success)
    throw new pulumi.RunError(`stack output ${DATABASE_VOLUMES_OUTPUT} of stack ${pulumi.getStack()} is not what this program writes: ${z.prettifyError(parsed.error).split("\n").join(" ")}`);
  return parsed.data;
}
