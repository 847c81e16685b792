/**
 * The dedupe lookup: lead_keys holds every identity key of every lead in a user's
 * lists (from BatchPersisted); import_seen_keys holds every key an import has seen,
 * kept or skipped (from LeadsDeduped), to catch the same person on overlapping pages.
 */
import { sql } from "kysely"
import type { BatchPersisted, LeadsDeduped } from "../events/index.ts"
import { columnList, jsonRows } from "../src/db/sql.ts"
import type { RecordedEvent } from "../src/eventstore/EventStore.ts"
import { applyWrites, type Projection, type Writes } from "../src/eventstore/Projection.ts"

const seenColumns = { import_id: "uuid", key: "text" }
const keyColumns = { user_id: "uuid", key: "text", list_id: "uuid", row_id: "uuid" }

// Two tables, so one step: the seen keys and the list keys never meet.
const writes = (events: ReadonlyArray<RecordedEvent>): Writes => {
  const seen = events.flatMap(({ event }) =>
    event._tag === "LeadsDeduped"
      ? (event as LeadsDeduped).decisions.flatMap((d) => d.keys.map((key) => ({ import_id: event.importId, key })))
      : []
  )
  const keys = events.flatMap(({ event }) => {
    if (event._tag !== "BatchPersisted") return []
    const e = event as BatchPersisted
    return e.rows.flatMap((row) => row.keys.map((key) => ({ user_id: e.userId, key, list_id: e.listId, row_id: row.rowId })))
  })
  return [[
    ...(seen.length > 0
      ? [sql`insert into import_seen_keys (${columnList(seenColumns)})
          select ${columnList(seenColumns)} from ${jsonRows(seen, seenColumns)} on conflict do nothing`]
      : []),
    ...(keys.length > 0
      ? [sql`insert into lead_keys (${columnList(keyColumns)})
          select ${columnList(keyColumns)} from ${jsonRows(keys, keyColumns)} on conflict do nothing`]
      : [])
  ]]
}

export const leadIndexProjection: Projection = {
  name: "lead-index",
  handles: ["LeadsDeduped", "BatchPersisted"],
  tables: ["lead_keys", "import_seen_keys"],
  apply: applyWrites(writes),
  writes
}
