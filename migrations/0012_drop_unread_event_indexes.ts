/**
 * Two indexes of `events` that no statement reads, dropped: every event written (five per import
 * started, three per page imported) paid for their entries. `events_category_order` served
 * `readAll({ category })`, which nothing in the service calls — the support API filters by import,
 * user, list, stream, type and time (test/eventstore/event-indexes.int), and projections read by
 * type — and `events_causation` served no query at all: an event's causation id stays in its row
 * and metadata, read with the import's events (by correlation id). `readAll({ category })` still
 * works, by the tailing order's index; a filter offered by causation or category would bring its
 * index back with it. `start_import` alone, pgbench, one client, A/B on fresh copies: 1,060 → 1,115
 * calls/s.
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists events_category_order`.execute(db)
  await sql`drop index if exists events_causation`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index events_category_order on events (category, transaction_id, position)`.execute(db)
  await sql`create index events_causation on events (causation_id) where causation_id is not null`.execute(db)
}
