/**
 * The event store: an append-only `events` table, one row per stream in `streams`
 * (its current version, the row writers lock), and projection checkpoints.
 *
 * Global order is (transaction_id, position): a reader only takes rows whose
 * transaction_id is below the oldest transaction still running, so an event that
 * commits late can never be skipped by a checkpoint that moved past it.
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table streams (
      stream_id   text primary key,
      category    text not null generated always as (split_part(stream_id, '-', 1)) stored,
      version     integer not null check (version > 0),
      created_at  timestamptz not null default now(),
      updated_at  timestamptz not null default now()
    )`.execute(db)

  await sql`
    create table events (
      position        bigint generated always as identity primary key,
      transaction_id  xid8 not null default pg_current_xact_id(),
      event_id        uuid not null,
      stream_id       text not null,
      category        text not null generated always as (split_part(stream_id, '-', 1)) stored,
      version         integer not null check (version > 0),
      type            text not null,
      schema_version  integer not null check (schema_version > 0),
      data            jsonb not null,
      metadata        jsonb not null default '{}'::jsonb,
      correlation_id  text,
      causation_id    text,
      user_id         text,
      recorded_at     timestamptz not null default now(),
      constraint events_event_id_key unique (event_id),
      constraint events_stream_version_key unique (stream_id, version)
    )`.execute(db)
  await sql`create index events_global_order on events (transaction_id, position)`.execute(db)
  await sql`create index events_category_order on events (category, transaction_id, position)`.execute(db)
  await sql`create index events_correlation_order on events (correlation_id, transaction_id, position) where correlation_id is not null`.execute(db)
  await sql`create index events_causation on events (causation_id) where causation_id is not null`.execute(db)

  // Append-only: stored events are facts; a changed shape gets a new schema version and an upcaster.
  await sql`
    create function events_reject_change() returns trigger language plpgsql as $$
    begin
      raise exception 'events are append-only: % is not allowed', tg_op using errcode = 'P0001';
    end $$`.execute(db)
  await sql`create trigger events_append_only before update or delete on events
    for each row execute function events_reject_change()`.execute(db)
  await sql`create trigger events_no_truncate before truncate on events
    for each statement execute function events_reject_change()`.execute(db)

  await sql`
    create table projection_checkpoints (
      name            text primary key,
      transaction_id  xid8 not null default '0'::xid8,
      position        bigint not null default 0,
      updated_at      timestamptz not null default now()
    )`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table projection_checkpoints`.execute(db)
  await sql`drop table events`.execute(db)
  await sql`drop function events_reject_change`.execute(db)
  await sql`drop table streams`.execute(db)
}
