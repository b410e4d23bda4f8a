/**
 * Exact row counts of every table in one statement (query_to_xml runs a count per table), one `schema.table<TAB>count`
 * line each with psql -At: how a restore (db/operations.ts) and a major upgrade (components/postgres-upgrade.ts) show
 * that the data arrived. Plain text, so the `npm run db` CLI loads no Pulumi module for it.
 */
export const COUNT_ROWS = `SELECT t.name, (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', t.schemaname, t.tablename), false, true, '')))[1]::text::bigint
FROM (SELECT schemaname, tablename, schemaname || '.' || tablename AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) t ORDER BY t.name`;
