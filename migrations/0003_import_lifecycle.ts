/**
 * The import's lifecycle beyond the happy path: a cancel the API records first, the
 * leases a live local engine holds on its runs (so another instance can tell a dead
 * one's runs), and an index the reconciler scans for imports that have not ended.
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    sql`alter table imports add column cancel_requested boolean not null default false`,
    sql`create index imports_active on imports (updated_at) where status in ('queued', 'running')`,
    sql`alter table local_runs add column lease_owner text`,
    sql`alter table local_runs add column lease_expires_at timestamptz`,
    // How often another engine took the run over from one that died: a run that kills its
    // engine every time must end (failed) instead of being taken over forever.
    sql`alter table local_runs add column takeovers integer not null default 0`
  ]
  for (const statement of statements) await statement.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table local_runs drop column takeovers, drop column lease_expires_at, drop column lease_owner`.execute(db)
  await sql`drop index imports_active`.execute(db)
  await sql`alter table imports drop column cancel_requested`.execute(db)
}
