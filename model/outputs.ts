import type { StackDefinition } from "./stack";
import { dockerNames } from "./naming";
import type { DatabasePlan, TenantPlan } from "./tenant-plan";
import { routeUrl } from "./urls";

/** What humans and bots read after `pulumi up`: plain values derived from the plan, never a secret. */
export function tenantOutputs(plans: readonly TenantPlan[], stack: StackDefinition) {
  const edge = { tls: stack.tls, httpPort: stack.edge.httpPort, httpsPort: stack.edge.httpsPort };
  return Object.fromEntries(
    plans.map((plan) => [
      plan.name,
      {
        homeHost: plan.homeHost,
        retiring: plan.retiring,
        urls: plan.retiring ? [] : plan.services.flatMap((service) => service.routes.map((route) => routeUrl(route, edge))),
        services: plan.retiring
          ? {}
          : Object.fromEntries(
              plan.services.map((service) => [service.name, { host: service.host, replicas: service.replicas, image: service.image }]),
            ),
        databaseVolume: plan.database ? databaseVolumeName(stack.name, plan.name, plan.database) : null,
        // The data containers on the home host (none while retiring): `npm run status` reports one that is missing.
        databaseContainer: plan.database && !plan.retiring ? dockerNames.databaseContainer(stack.name, plan.name) : null,
        cacheContainer: plan.cache && !plan.retiring ? dockerNames.cacheContainer(stack.name, plan.name) : null,
      },
    ]),
  );
}

/** The volume the tenant's Postgres runs on: a restored one (`restore: <n>`) or the one named after its major. */
export function databaseVolumeName(stack: string, tenant: string, database: Pick<DatabasePlan, "major" | "restore">): string {
  return database.restore === undefined
    ? dockerNames.dataVolume(stack, tenant, database.major)
    : dockerNames.restoredDataVolume(stack, tenant, database.major, database.restore);
}
