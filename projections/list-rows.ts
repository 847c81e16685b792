/**
 * list_rows: the leads of every list, oldest first — what GET /api/lists/{id}/rows
 * serves while an import streams rows in. One multi-row INSERT per batch of events.
 */
import { sql } from "kysely"
import { type BatchPersisted, profileOf } from "../events/index.ts"
import { columnList, jsonRows } from "../src/db/sql.ts"
import type { RecordedEvent } from "../src/eventstore/EventStore.ts"
import { applyWrites, type Projection, type Writes } from "../src/eventstore/Projection.ts"

const columns = {
  id: "uuid",
  list_id: "uuid",
  user_id: "uuid",
  import_id: "uuid",
  run_id: "text",
  linkedin_url: "text",
  sales_nav_url: "text",
  profile: "jsonb",
  added_at: "timestamptz"
}

const writes = (events: ReadonlyArray<RecordedEvent>): Writes => {
  const rows = events.flatMap(({ event, recordedAt }) => {
    const e = event as BatchPersisted
    return e.rows.map(({ rowId, lead }) => ({
      id: rowId,
      list_id: e.listId,
      user_id: e.userId,
      import_id: e.importId,
      run_id: e.runId,
      linkedin_url: lead.linkedinUrl,
      sales_nav_url: lead.salesNavUrl,
      profile: profileOf(lead),
      added_at: recordedAt.toISOString()
    }))
  })
  if (rows.length === 0) return []
  return [[sql`insert into list_rows (${columnList(columns)}) select ${columnList(columns)} from ${jsonRows(rows, columns)}`]]
}

export const listRowsProjection: Projection = {
  name: "list-rows",
  handles: ["BatchPersisted"],
  tables: ["list_rows"],
  apply: applyWrites(writes),
  writes
}
