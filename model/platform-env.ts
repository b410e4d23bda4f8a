/**
 * The environment variables the platform sets for a tenant's services, under fixed names (a contract: tenants and
 * their images rely on them). Frameworks disagree on what they read: Phoenix, Rails and Django read DATABASE_URL,
 * libpq tools the PG* variables, Spring Boot a JDBC URL plus user and password; a service gets all of them, and
 * `envFrom` hands any of them to it under another name as well.
 */

/** Where a tenant's Postgres answers on its data network (the container's network alias) and who it lets in. */
export const DATABASE_ENDPOINT = { host: "postgres", port: 5432, user: "app", database: "app" } as const;
/** Where a tenant's Redis answers on its data network. */
export const CACHE_ENDPOINT = { host: "redis", port: 6379 } as const;

export const DATABASE_VARIABLES = [
  "DATABASE_URL",
  "PGHOST",
  "PGPORT",
  "PGUSER",
  "PGPASSWORD",
  "PGDATABASE",
  "JDBC_DATABASE_URL",
  "JDBC_DATABASE_USERNAME",
  "JDBC_DATABASE_PASSWORD",
] as const;
export const CACHE_VARIABLES = ["REDIS_URL"] as const;
export const PLATFORM_VARIABLES = [...DATABASE_VARIABLES, ...CACHE_VARIABLES] as const;

export type DatabaseVariable = (typeof DATABASE_VARIABLES)[number];
export type CacheVariable = (typeof CACHE_VARIABLES)[number];
export type PlatformVariable = (typeof PLATFORM_VARIABLES)[number];

/** The variables whose value contains the database password: they are only ever handled as Pulumi secrets. */
export const PASSWORD_VARIABLES: readonly PlatformVariable[] = ["DATABASE_URL", "PGPASSWORD", "JDBC_DATABASE_PASSWORD"];

export function isPlatformVariable(name: string): name is PlatformVariable {
  return (PLATFORM_VARIABLES as readonly string[]).includes(name);
}

/** Every database variable, given the tenant's generated password. The JDBC URL carries no credentials. */
export function databaseVariables(password: string): Record<DatabaseVariable, string> {
  const { host, port, user, database } = DATABASE_ENDPOINT;
  return {
    DATABASE_URL: `postgresql://${user}:${password}@${host}:${port}/${database}`,
    PGHOST: host,
    PGPORT: String(port),
    PGUSER: user,
    PGPASSWORD: password,
    PGDATABASE: database,
    JDBC_DATABASE_URL: `jdbc:postgresql://${host}:${port}/${database}`,
    JDBC_DATABASE_USERNAME: user,
    JDBC_DATABASE_PASSWORD: password,
  };
}

export function cacheVariables(): Record<CacheVariable, string> {
  return { REDIS_URL: `redis://${CACHE_ENDPOINT.host}:${CACHE_ENDPOINT.port}` };
}

/**
 * The variables a service receives: the database and cache run on the tenant's internal data network on its home
 * host, which only the tenant's services on that host join.
 */
export function variablesFor(tenant: { database: boolean; cache: boolean }, atHome: boolean): PlatformVariable[] {
  if (!atHome) return [];
  return [...(tenant.database ? DATABASE_VARIABLES : []), ...(tenant.cache ? CACHE_VARIABLES : [])];
}
