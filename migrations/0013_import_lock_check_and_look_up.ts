/**
 * The lock-and-check of a dedupe or a persist (0008, 0009) and the key lookup that follows it, in
 * one round trip: take the import's (and the user's) locks with 0009's function — the same locks the
 * other stages, the refund and the cancel take — then answer in ONE statement, run after the locks
 * are ours (so its snapshot holds every commit made before): which of the event ids are recorded,
 * which of the keys are in the user's lists (and in which), which this import has seen, and its
 * credit hold. The stage knows its keys before the lock when its page's events are in its cache
 * (nearly always: the stage before recorded them); without them it locks and checks with 0009's
 * function and looks up after, as before. Each read is a probe per id or key (the LIMIT keeps the
 * planner from flattening a lateral into a join it could turn into a scan).
 */
import { type Kysely, sql } from "kysely"

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create function import_lock_check_and_look_up(lock_keys text[], event_ids uuid[], p_user uuid, p_import uuid,
      p_keys text[], p_seen boolean, p_hold boolean)
    returns json language plpgsql volatile as $$
    begin
      perform 1 from import_lock_and_check(lock_keys, '{}'::uuid[]);
      return json_build_object(
        'ids', (select coalesce(json_agg(e.event_id::text), '[]'::json) from unnest(event_ids) as w(id)
          cross join lateral (select event_id from events where event_id = w.id limit 1) e),
        'keys', (select coalesce(json_agg(json_build_object('key', w.key, 'list_id', l.list_id::text)), '[]'::json)
          from unnest(p_keys) as w(key)
          cross join lateral (select list_id from lead_keys where user_id = p_user and key = w.key limit 10000) l),
        'seen', case when p_seen then (select coalesce(json_agg(w.key), '[]'::json) from unnest(p_keys) as w(key)
          cross join lateral (select 1 from import_seen_keys where import_id = p_import and key = w.key limit 1) s) end,
        'hold', case when p_hold then (select json_build_object('reserved', reserved, 'charged', charged, 'refunded', refunded)
          from credit_holds where import_id = p_import) end);
    end $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists import_lock_check_and_look_up(text[], uuid[], uuid, uuid, text[], boolean, boolean)`.execute(db)
}
