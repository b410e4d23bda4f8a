import { COMPONENT_TYPES, LABEL, resourceNames } from "../model/naming";

/** How the platform program names its components (components/*.ts, model/naming.ts): what the summary relies on. */
export const TYPES = {
  ...COMPONENT_TYPES,
  volume: "docker:index/volume:Volume",
  container: "docker:index/container:Container",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  command: "command:local:Command",
} as const;

/** Component resource names: `edge-<host>`, `host-<host>`; a Tenant component is named after the tenant. */
export const COMPONENT_PREFIX = { edge: resourceNames.edge(""), host: resourceNames.host("") } as const;

/** Docker label every tenant-owned Docker object carries (model/naming.ts `LABEL.tenant`). */
export const TENANT_LABEL = LABEL.tenant;

/** Database volumes are named `platform-<stack>-<tenant>-pgdata-pg<major>`. */
export const VOLUME_MAJOR = /-pg(\d+)$/;

/** A Postgres major upgrade's data step, `<tenant>-postgres-upgrade-pg<major>` (components/postgres-upgrade.ts). */
export const UPGRADE_STEP = new RegExp(`${resourceNames.databaseUpgrade("", "")}(\\d+)$`);

/** The dump before a database container's replace: `<tenant>-postgres` + suffix (components/postgres.ts), its reason. */
export const PRE_REPLACE_DUMP = { suffix: "-pre-replace-dump", reason: "pre-replace" } as const;

export const DOCS = {
  decommission: "docs/decommission.md",
  majorUpgrade: "docs/decommission.md#postgres-major-version-upgrade",
  upgradeFigures: "bench/REAL-ENGINE.md#postgres-major-upgrade-downtime",
} as const;
