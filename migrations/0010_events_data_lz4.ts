/**
 * An import's page events (PageFetched, LeadsDeduped, BatchPersisted) carry its 25 leads, so
 * `events.data` is TOASTed and compressed three times a page. PostgreSQL's default, pglz, was
 * ~3 % of the database's CPU under 20 concurrent imports (perf); lz4 does the same in a quarter
 * of it. New values only (no rewrite; old ones stay pglz and read as before). A build without
 * lz4 (PGlite) keeps pglz.
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  await sql`do $$ begin
      alter table events alter column data set compression lz4;
    exception when feature_not_supported then null;
    end $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table events alter column data set compression default`.execute(db)
}
