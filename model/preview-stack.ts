import type { Resources } from "./stack";
import { parseSize } from "./units";

/**
 * Preview stacks: a pull request's tenants running beside a base stack (staging, or dev locally), behind the base's
 * edge. Their names, hosts and limits, shared by the program and `npm run preview`.
 */

/** A platform pull request's preview: the tenants it adds or changes. */
export interface PlatformPreviewName {
  pr: number;
}

/** An application repository's pull request: one tenant running that pull request's image for one service. */
export interface AppPreviewName {
  pr: number;
  repo: string;
}

export type PreviewName = PlatformPreviewName | AppPreviewName;

/** `pr-<n>`, or `app-<repo>-pr-<n>`: an application repository's number never collides with the platform's. */
export function previewStackName(preview: PreviewName): string {
  return "repo" in preview ? `app-${preview.repo}-pr-${preview.pr}` : `pr-${preview.pr}`;
}

/** The stack name back to what it previews; undefined for any other stack. */
export function parsePreviewStackName(stack: string): PreviewName | undefined {
  const platform = /^pr-([1-9][0-9]*)$/.exec(stack);
  if (platform) return { pr: Number(platform[1]) };
  const app = /^app-([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-pr-([1-9][0-9]*)$/.exec(stack);
  return app ? { repo: app[1]!, pr: Number(app[2]) } : undefined;
}

/**
 * Generated hosts of a preview: `<tenant>-pr-<n>.<domain>` (`<tenant>-<service>-pr-<n>` for other services), or
 * `<tenant>-<repo>-pr-<n>` for an application repository's, one level under the base's domain like the base's own.
 */
export function previewHostSuffix(preview: PreviewName): string {
  return "repo" in preview ? `-${preview.repo}-pr-${preview.pr}` : `-pr-${preview.pr}`;
}

/** A repository name (`team/Shop.Web`, or `shop-web`) as a DNS-safe part of a stack name and host: `shop-web`. */
export function dnsSafeRepo(repo: string): string {
  const name = repo.replace(/\/+$/, "").split("/").at(-1) ?? "";
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** RFC 1035: one label of a host name is at most 63 characters. */
export const MAX_DNS_LABEL = 63;

/**
 * A preview is for trying a change, not for load: each container gets at most these, whatever the tenant asks for
 * in its base stack, and each service one replica, so many previews fit beside the base on its hosts.
 */
export const PREVIEW_LIMITS: { service: Resources; database: Resources; replicas: number } = {
  service: { cpus: 0.25, memoryBytes: parseSize("256Mi") },
  database: { cpus: 0.25, memoryBytes: parseSize("256Mi") },
  replicas: 1,
};

export function capResources(resources: Resources, cap: Resources): Resources {
  return { cpus: Math.min(resources.cpus, cap.cpus), memoryBytes: Math.min(resources.memoryBytes, cap.memoryBytes) };
}
