/**
 * Revocable tokens and the import rate limit: each API token gets an id (so an admin can
 * revoke it without knowing it) and a revocation time; each user a row of the limiter
 * (GCRA: the theoretical arrival time of the next allowed request).
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    sql`alter table api_tokens add column id uuid`,
    sql`update api_tokens set id = gen_random_uuid() where id is null`,
    sql`alter table api_tokens alter column id set not null`,
    sql`create unique index api_tokens_id on api_tokens (id)`,
    sql`alter table api_tokens add column revoked_at timestamptz`,
    sql`create table import_rate_limits (
      user_id uuid primary key,
      tat timestamptz not null
    )`
  ]
  for (const statement of statements) await statement.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table import_rate_limits`.execute(db)
  await sql`alter table api_tokens drop column revoked_at`.execute(db)
  await sql`drop index api_tokens_id`.execute(db)
  await sql`alter table api_tokens drop column id`.execute(db)
}
