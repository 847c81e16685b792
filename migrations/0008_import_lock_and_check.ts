/**
 * One round trip where an import's stage took two: take the import's advisory locks (in the
 * order given), then say which of the given events are recorded. A plain statement could not
 * do both, since its one snapshot is taken before it waits for the lock and would miss what
 * the lock's previous holder committed; a volatile PL/pgSQL function takes a fresh snapshot
 * for each statement it runs, so the read sees everything committed before the lock was granted.
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
      return query select e.event_id::text from events e where e.event_id = any(event_ids);
    end $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists import_lock_and_check(text[], uuid[])`.execute(db)
}
