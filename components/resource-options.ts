import type * as pulumi from "@pulumi/pulumi";

/**
 * Resource options that decide what happens to data and traffic, one pure function per resource kind so tests can
 * check them directly (Pulumi's mocks see inputs, not options).
 */
export const resourceOptions = {
  /**
   * Database volumes outlive their resource: removing a tenant file retains the data; production also protects it.
   * A preview's volumes hold only what a reviewer typed and must go with the preview: neither retained nor protected.
   */
  dataVolume: (protect: boolean, preview = false): pulumi.CustomResourceOptions =>
    preview ? { retainOnDelete: false, protect: false } : { retainOnDelete: true, protect },
  /**
   * Postgres has a fixed name and exclusive use of its volume: the old container must be gone before a new one starts.
   * A new data volume (a restore: `database.postgres.restore`) must replace it: the docker provider (5.0.0) plans a
   * changed `mounts` as an in-place update that leaves the running container on the old volume (seen on the engine).
   */
  databaseContainer: (): pulumi.CustomResourceOptions => ({
    deleteBeforeReplace: true,
    additionalSecretOutputs: ["envs"],
    replaceOnChanges: ["mounts"],
  }),
  /** A cache has no data to hand over; a fixed name keeps `REDIS_URL` stable. */
  cacheContainer: (): pulumi.CustomResourceOptions => ({ deleteBeforeReplace: true }),
  /**
   * App containers start their replacement first, wait for it to be healthy, then remove the old one. The provider
   * defaults Container to delete-before-replace, so this must be explicit, and the containers keep generated names.
   */
  serviceContainer: (): pulumi.CustomResourceOptions => ({ deleteBeforeReplace: false, additionalSecretOutputs: ["envs"] }),
  /**
   * A new Traefik starts beside the old one in the same network namespace (both bind the edge's ports with
   * SO_REUSEPORT); the old one goes only once the new one routes everything (components/edge-handover.ts).
   */
  edgeContainer: (): pulumi.CustomResourceOptions => ({ deleteBeforeReplace: false }),
  /** The edge's pause container binds the host's ports, so two can never run at once. */
  edgePause: (): pulumi.CustomResourceOptions => ({ deleteBeforeReplace: true }),
  /**
   * Connecting Traefik to a tenant's network is addressed by container name, so if an attachment is ever replaced
   * (a new network), the old one must be disconnected before connecting again (the reverse order would disconnect
   * the new one). A new Traefik is an update, not a replacement (see Tenant.attachEdge).
   */
  ingressAttachment: (): pulumi.CustomResourceOptions => ({ deleteBeforeReplace: true }),
  /** ACME account and certificates: losing them means re-issuing every certificate (and rate limits). */
  edgeVolume: (): pulumi.CustomResourceOptions => ({ retainOnDelete: true }),
};
