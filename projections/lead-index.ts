/**
 * The dedupe lookup: lead_keys holds every identity key of every lead in a user's
 * lists (from BatchPersisted); import_seen_keys holds every key an import has seen,
 * kept or skipped (from LeadsDeduped), to catch the same person on overlapping pages.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import type { BatchPersisted, LeadsDeduped } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import { columnList, jsonRows } from "../src/db/sql.ts"
import type { Projection } from "../src/eventstore/Projection.ts"

const seenColumns = { import_id: "uuid", key: "text" }
const keyColumns = { user_id: "uuid", key: "text", list_id: "uuid", row_id: "uuid" }

export const leadIndexProjection: Projection = {
  name: "lead-index",
  handles: ["LeadsDeduped", "BatchPersisted"],
  tables: ["lead_keys", "import_seen_keys"],
  apply: (events) =>
    Effect.gen(function*() {
      const db = yield* Database
      const seen = events.flatMap(({ event }) =>
        event._tag === "LeadsDeduped"
          ? (event as LeadsDeduped).decisions.flatMap((d) => d.keys.map((key) => ({ import_id: event.importId, key })))
          : []
      )
      const keys = events.flatMap(({ event }) =>
        event._tag === "BatchPersisted"
          ? (event as BatchPersisted).rows.flatMap((row) =>
            row.keys.map((key) => ({
              user_id: (event as BatchPersisted).userId,
              key,
              list_id: (event as BatchPersisted).listId,
              row_id: row.rowId
            }))
          )
          : []
      )
      if (seen.length > 0) {
        yield* db.query((q) =>
          sql`insert into import_seen_keys (${columnList(seenColumns)})
              select ${columnList(seenColumns)} from ${jsonRows(seen, seenColumns)} on conflict do nothing`.execute(q)
        )
      }
      if (keys.length > 0) {
        yield* db.query((q) =>
          sql`insert into lead_keys (${columnList(keyColumns)})
              select ${columnList(keyColumns)} from ${jsonRows(keys, keyColumns)} on conflict do nothing`.execute(q)
        )
      }
    })
}

