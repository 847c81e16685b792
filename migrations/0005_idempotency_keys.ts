/**
 * Idempotency keys of POST /api/lists/import-sales-nav: per user, the hash of the request
 * that first used the key and the import it started. Written in the command's transaction,
 * so a key exists exactly when its import does; kept 24 hours.
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table idempotency_keys (
    user_id uuid not null,
    key text not null,
    request_hash text not null,
    import_id uuid not null,
    created_at timestamptz not null default now(),
    primary key (user_id, key)
  )`.execute(db)
  await sql`create index idempotency_keys_created on idempotency_keys (created_at)`.execute(db)
  await sql`create index idempotency_keys_import on idempotency_keys (import_id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table idempotency_keys`.execute(db)
}
