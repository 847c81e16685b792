/**
 * The dedupe lookup: lead_keys holds every identity key of every lead in a user's
 * lists (from BatchPersisted); import_seen_keys holds every key an import has seen,
 * kept or skipped (from LeadsDeduped), to catch the same person on overlapping pages.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import type { BatchPersisted, LeadsDeduped } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import type { Projection } from "../src/eventstore/Projection.ts"
import { storedEvents } from "./stored.ts"

export const leadIndexProjection: Projection = {
  name: "lead-index",
  handles: ["LeadsDeduped", "BatchPersisted"],
  tables: ["lead_keys", "import_seen_keys"],
  apply: (events) =>
    Effect.gen(function*() {
      const db = yield* Database
      // The keys are read from the stored events (./stored.ts), not sent again.
      const deduped = events.filter(({ event }) => event._tag === "LeadsDeduped")
      const persisted = events.filter(({ event }) => event._tag === "BatchPersisted" && (event as BatchPersisted).rows.length > 0)
      if (deduped.length > 0) {
        yield* db.query((q) =>
          sql`insert into import_seen_keys (import_id, key)
              select (e.data->>'importId')::uuid, k.key
              from ${storedEvents(deduped)}
                cross join lateral jsonb_array_elements(e.data->'decisions') d
                cross join lateral jsonb_array_elements_text(d->'keys') k(key)
              on conflict do nothing`.execute(q)
        )
      }
      if (persisted.length > 0) {
        yield* db.query((q) =>
          sql`insert into lead_keys (user_id, key, list_id, row_id)
              select (e.data->>'userId')::uuid, k.key, (e.data->>'listId')::uuid, (r.value->>'rowId')::uuid
              from ${storedEvents(persisted)}
                cross join lateral jsonb_array_elements(e.data->'rows') with ordinality as r(value, ord)
                cross join lateral jsonb_array_elements_text(r.value->'keys') with ordinality as k(key, ord)
              -- In the order given: where two rows of a list share a key, the first one's row_id stays.
              order by p.n, r.ord, k.ord
              on conflict do nothing`.execute(q)
        )
      }
    })
}

/** What `apply` writes for a batch (kept as the reference its test compares with). */
export const keysOf = (events: ReadonlyArray<LeadsDeduped | BatchPersisted>) => ({
  seen: events.flatMap((event) =>
    event._tag === "LeadsDeduped" ? event.decisions.flatMap((d) => d.keys.map((key) => ({ import_id: event.importId, key }))) : []
  ),
  keys: events.flatMap((event) =>
    event._tag === "BatchPersisted"
      ? event.rows.flatMap((row) => row.keys.map((key) => ({ user_id: event.userId, key, list_id: event.listId, row_id: row.rowId })))
      : []
  )
})
