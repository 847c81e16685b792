/**
 * The dedupe lookups: which identity keys of a page are already in the user's lists (this
 * list or others) or were seen earlier by this import. One query, one index probe per key.
 *
 * One index probe per key, whatever the planner knows of the tables: a fresh database has no
 * statistics, and a scan here would grow with every list. (A LIMIT keeps each lateral subquery
 * from being flattened into a join the planner may turn into a scan.) The keys are sent once.
 *
 * A stage that holds its page (it recorded it in this process) knows its keys before its lock and
 * gets the same lookups in the lock's round trip (migration 0013, ImportRecords.lockCheckAndLookUp);
 * the queries here are for one that learns them after (a worker that holds nothing of the import).
 */
import { Effect } from "effect"
import { sql } from "kysely"
import { type Database, toSqlError } from "../../db/Database.ts"
import { textArray } from "../../db/sql.ts"
import type { KnownKeys } from "../dedupe.ts"

export interface KeyRow {
  readonly key: string
  readonly list_id: string | null
}

/** The keys found in the user's lists, split into this list's and the others' (rows without a list are not list keys). */
const inLists = (rows: ReadonlyArray<KeyRow>, listId: string) => ({
  inThisList: new Set(rows.filter((r) => r.list_id === listId).map((r) => r.key)),
  inOtherLists: new Set(rows.filter((r) => r.list_id !== null && r.list_id !== listId).map((r) => r.key))
})

/** For dedupe: the keys in the user's lists and those this import has seen. */
export const knownKeys = (db: Database["Service"]) =>
(userId: string, importId: string, listId: string, keys: ReadonlyArray<string>) =>
  db.query((q) =>
    sql<KeyRow>`
      with w(key) as (select unnest(${textArray(keys)}))
      select w.key, k.list_id::text as list_id from w
        cross join lateral (select list_id from lead_keys where user_id = ${userId}::uuid and key = w.key limit 10000) k
      union all
      select w.key, null from w
        cross join lateral (select 1 from import_seen_keys where import_id = ${importId}::uuid and key = w.key limit 1) s`
      .execute(q)
  ).pipe(Effect.map(({ rows }) => knownFrom(rows, rows.filter((r) => r.list_id === null).map((r) => r.key), listId)))

/** The dedupe lookup's answer: the keys found in the user's lists, and those this import has seen. */
export const knownFrom = (inUserLists: ReadonlyArray<KeyRow>, seen: ReadonlyArray<string>, listId: string): KnownKeys => ({
  ...inLists(inUserLists, listId),
  seenInImport: new Set(seen)
})

export interface Hold {
  readonly reserved: number
  readonly charged: number
  readonly refunded: number
}

/**
 * For persist, in one round trip: the keys in the user's lists (its last check, under the
 * user's lock) and the import's credit hold (what it has charged so far).
 */
export const persistLookup = (db: Database["Service"]) =>
(userId: string, importId: string, listId: string, keys: ReadonlyArray<string>) =>
  db.query((q) =>
    sql<{ keys: Array<KeyRow> | null; hold: { reserved: number; charged: number; refunded: number } }>`
      select
        (select json_agg(json_build_object('key', w.key, 'list_id', k.list_id::text))
           from unnest(${textArray(keys)}) as w(key)
           cross join lateral (select list_id from lead_keys where user_id = ${userId}::uuid and key = w.key limit 10000) k
        ) as keys,
        (select json_build_object('reserved', reserved, 'charged', charged, 'refunded', refunded)
           from credit_holds where import_id = ${importId}::uuid) as hold`
      .execute(q)
  ).pipe(Effect.flatMap(({ rows }) => persistFound(importId, listId, rows[0]!.keys ?? [], rows[0]!.hold)))

/** Persist's lookup as it came back: the keys in the user's lists and the import's credit hold. */
export const persistFound = (
  importId: string,
  listId: string,
  keys: ReadonlyArray<KeyRow>,
  hold: Hold | null
) =>
  // As a statement that found no row would: a permanent failure of the stage.
  hold === null
    ? Effect.fail(toSqlError(new Error(`import ${importId} has no credit hold`)))
    : Effect.succeed({
      known: inLists(keys, listId),
      hold: { reserved: Number(hold.reserved), charged: Number(hold.charged), refunded: Number(hold.refunded) } satisfies Hold
    })
