import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** The parts of a GitHub Actions workflow the workflow tests read, and how they load one from .github/workflows. */

export interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

export interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  environment?: string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  permissions?: Record<string, string>;
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}

export interface Workflow {
  // Each event has its own shape (types, branches, inputs…): tests index into it freely.
  on: Record<string, any>;
  concurrency?: unknown;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

export const WORKFLOWS_DIR = path.resolve(__dirname, "..", ".github", "workflows");

export const workflowText = (file: string): string => readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
export const workflow = (file: string): Workflow => parse(workflowText(file)) as Workflow;
