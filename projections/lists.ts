/**
 * lists: one row per lead list — owner, name, creation time — and its row count.
 * ListCreated inserts the row; BatchPersisted adds the rows it inserted.
 */
import { Effect } from "effect"
import type { BatchPersisted, ListCreated } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import type { Projection } from "../src/eventstore/Projection.ts"

export const listsProjection: Projection = {
  name: "lists",
  handles: ["ListCreated", "BatchPersisted"],
  tables: ["lists"],
  apply: (events) =>
    Effect.gen(function*() {
      const db = yield* Database
      for (const { event, recordedAt } of events) {
        if (event._tag === "ListCreated") {
          const e = event as ListCreated
          yield* db.query((q) =>
            q.insertInto("lists").values({ id: e.listId, user_id: e.userId, name: e.name, created_at: recordedAt })
              .onConflict((oc) => oc.column("id").doNothing()).execute()
          )
        } else {
          const e = event as BatchPersisted
          if (e.rows.length === 0) continue
          yield* db.query((q) =>
            q.updateTable("lists").set((eb) => ({ row_count: eb("row_count", "+", e.rows.length) }))
              .where("id", "=", e.listId).execute()
          )
        }
      }
    })
}
