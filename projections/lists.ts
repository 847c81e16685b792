/**
 * lists: one row per lead list — owner, name, creation time — and its row count.
 * ListCreated inserts the row; BatchPersisted adds the rows it inserted. Set-based: one
 * statement for the batch's new lists, one for its row counts, however many events.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import type { BatchPersisted, ListCreated } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import { columnList, jsonRows } from "../src/db/sql.ts"
import type { Projection } from "../src/eventstore/Projection.ts"

const createdColumns = { id: "uuid", user_id: "uuid", name: "text", created_at: "timestamptz" }
const addedColumns = { id: "uuid", added: "integer" }

export const listsProjection: Projection = {
  name: "lists",
  handles: ["ListCreated", "BatchPersisted"],
  tables: ["lists"],
  apply: (events) =>
    Effect.gen(function*() {
      const db = yield* Database
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
      if (created.length > 0) {
        yield* db.query((q) =>
          sql`insert into lists (${columnList(createdColumns)})
              select ${columnList(createdColumns)} from ${jsonRows(created, createdColumns)}
              on conflict (id) do nothing`.execute(q)
        )
      }
      if (added.size > 0) {
        const rows = [...added].map(([id, n]) => ({ id, added: n }))
        yield* db.query((q) =>
          sql`update lists set row_count = lists.row_count + r.added
              from ${jsonRows(rows, addedColumns)} where lists.id = r.id`.execute(q)
        )
      }
    })
}
