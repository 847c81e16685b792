/**
 * import_lock_and_check (0008) read its events with `event_id = any(event_ids)`. PL/pgSQL keeps
 * the plan of that read for the connection's life, and one made while `events` was small is a
 * sequential scan: under load, a tenth of the database's CPU went to scanning every event (and
 * its TOAST pointers) three times a page. One probe of the unique index per id instead — the
 * LIMIT keeps the planner from flattening the lateral into a join it could turn into a scan.
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create or replace function import_lock_and_check(lock_keys text[], event_ids uuid[])
    returns setof text language plpgsql volatile as $$
    declare
      k text;
    begin
      foreach k in array lock_keys loop
        perform pg_advisory_xact_lock(hashtextextended(k, 0));
      end loop;
      return query select e.event_id::text from unnest(event_ids) as w(id)
        cross join lateral (select event_id from events where event_id = w.id limit 1) e;
    end $$`.execute(db)
}

/** Back to 0008's body. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`create or replace function import_lock_and_check(lock_keys text[], event_ids uuid[])
    returns setof text language plpgsql volatile as $$
    declare
      k text;
    begin
      foreach k in array lock_keys loop
        perform pg_advisory_xact_lock(hashtextextended(k, 0));
      end loop;
      return query select e.event_id::text from events e where e.event_id = any(event_ids);
    end $$`.execute(db)
}
