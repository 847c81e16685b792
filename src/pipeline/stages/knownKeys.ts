/**
 * The dedupe lookup: which identity keys of a page are already in the user's lists (this
 * list or others) or were seen earlier by this import. One query, one index probe per key.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import type { Database } from "../../db/Database.ts"
import { textArray } from "../../db/sql.ts"
import type { KnownKeys } from "../dedupe.ts"

export const knownKeys = (db: Database["Service"]) =>
(userId: string, importId: string, listId: string, keys: ReadonlyArray<string>) =>
  db.query((q) =>
    // One index probe per key, whatever the planner knows of the tables: a fresh database
    // has no statistics, and a scan here would grow with every list. (A LIMIT keeps each
    // lateral subquery from being flattened into a join the planner may turn into a scan.)
    sql<{ key: string; list_id: string | null }>`
      select w.key, k.list_id::text as list_id from unnest(${textArray(keys)}) as w(key)
        cross join lateral (select list_id from lead_keys where user_id = ${userId}::uuid and key = w.key limit 10000) k
      union all
      select w.key, null from unnest(${textArray(keys)}) as w(key)
        cross join lateral (select 1 from import_seen_keys where import_id = ${importId}::uuid and key = w.key limit 1) s`
      .execute(q)
  ).pipe(Effect.map(({ rows }): KnownKeys => ({
    inThisList: new Set(rows.filter((r) => r.list_id === listId).map((r) => r.key)),
    inOtherLists: new Set(rows.filter((r) => r.list_id !== null && r.list_id !== listId).map((r) => r.key)),
    seenInImport: new Set(rows.filter((r) => r.list_id === null).map((r) => r.key))
  })))
