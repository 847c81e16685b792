/**
 * lists: one row per lead list — owner, name, creation time — and its row count.
 * ListCreated inserts the row; BatchPersisted adds the rows it inserted. Set-based: one
 * statement for the batch's new lists, one for its row counts, however many events.
 */
import { sql } from "kysely"
import type { BatchPersisted, ListCreated } from "../events/index.ts"
import { columnList, jsonRows } from "../src/db/sql.ts"
import type { RecordedEvent } from "../src/eventstore/EventStore.ts"
import { applyWrites, type Projection, type Writes } from "../src/eventstore/Projection.ts"

const createdColumns = { id: "uuid", user_id: "uuid", name: "text", created_at: "timestamptz" }
const addedColumns = { id: "uuid", added: "integer" }

const writes = (events: ReadonlyArray<RecordedEvent>): Writes => {
  const created: Array<{ id: string; user_id: string; name: string; created_at: string }> = []
  const added = new Map<string, number>()
  for (const { event, recordedAt } of events) {
    if (event._tag === "ListCreated") {
      const e = event as ListCreated
      created.push({ id: e.listId, user_id: e.userId, name: e.name, created_at: recordedAt.toISOString() })
    } else {
      const e = event as BatchPersisted
      if (e.rows.length > 0) added.set(e.listId, (added.get(e.listId) ?? 0) + e.rows.length)
    }
  }
  const rows = [...added].map(([id, n]) => ({ id, added: n }))
  // Two steps: the count's update must see the lists this batch creates.
  return [
    created.length > 0
      ? [sql`insert into lists (${columnList(createdColumns)})
          select ${columnList(createdColumns)} from ${jsonRows(created, createdColumns)}
          on conflict (id) do nothing`]
      : [],
    rows.length > 0
      ? [sql`update lists set row_count = lists.row_count + r.added
          from ${jsonRows(rows, addedColumns)} where lists.id = r.id`]
      : []
  ].filter((step) => step.length > 0)
}

export const listsProjection: Projection = {
  name: "lists",
  handles: ["ListCreated", "BatchPersisted"],
  tables: ["lists"],
  apply: applyWrites(writes),
  writes
}
