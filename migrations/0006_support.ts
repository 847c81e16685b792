/**
 * Support: an index per filter of the event-log queries support staff run (each in the log's
 * tailing order, so no filter scans the log), and the table that records each projection's
 * live generation and the blue/green rebuild in progress (src/eventstore/rebuild.ts).
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    sql`create index events_type_order on events (type, transaction_id, position)`,
    sql`create index events_user_order on events (user_id, transaction_id, position) where user_id is not null`,
    // ListCreated, ImportRequested, ListResolved and BatchPersisted name their list.
    sql`create index events_list_order on events ((data ->> 'listId'), transaction_id, position)
      where (data ->> 'listId') is not null`,
    sql`create index events_recorded_at on events (recorded_at)`,
    sql`create table projection_versions (
      name              text primary key,
      -- The live generation: the tables readers and the inline writers use.
      version           integer not null default 1 check (version > 0),
      -- The generation a rebuild is writing (in its own schema), null when none runs.
      building          integer check (building > version),
      -- Every event visible in applied_snapshot is in the new generation; the batch in progress
      -- applies those visible in target_snapshot and not in applied_snapshot, in position order,
      -- and 'cursor' is the last position of it applied.
      applied_snapshot  pg_snapshot,
      target_snapshot   pg_snapshot,
      cursor            bigint not null default 0,
      processed         bigint not null default 0,
      total             bigint not null default 0,
      -- The latest migration when the rebuild began: a rebuild resumed under another schema restarts.
      migration         text,
      started_at        timestamptz,
      -- Who runs the rebuild (one process at a time), and its rate since it took it.
      lease_owner       text,
      lease_expires_at  timestamptz,
      rate_since        timestamptz,
      rate_processed    bigint not null default 0,
      updated_at        timestamptz not null default now()
    )`
  ]
  for (const statement of statements) await statement.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table projection_versions`.execute(db)
  await sql`drop index events_recorded_at`.execute(db)
  await sql`drop index events_list_order`.execute(db)
  await sql`drop index events_user_order`.execute(db)
  await sql`drop index events_type_order`.execute(db)
}
