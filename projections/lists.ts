/**
 * lists: one row per lead list — owner, name, creation time — and its row count.
 * ListCreated inserts the row; BatchPersisted adds the rows it inserted. Stated over the log
 * and set-based: one statement for the new lists, one for the row counts, however many events.
 */
import { sql } from "kysely"
import { type LogEvents, overLog, type Writes } from "../src/eventstore/Projection.ts"

const created = (events: LogEvents) =>
  sql`insert into lists (id, user_id, name, created_at)
    select (e.data->>'listId')::uuid, (e.data->>'userId')::uuid, e.data->>'name', date_trunc('milliseconds', e.recorded_at)
    from ${events("ListCreated")} e
    order by e.position
    on conflict (id) do nothing`

const counted = (events: LogEvents) =>
  sql`update lists set row_count = lists.row_count + a.added
    from (select (e.data->>'listId')::uuid as id, sum(jsonb_array_length(e.data->'rows'))::int as added
          from ${events("BatchPersisted")} e group by 1) a
    where lists.id = a.id and a.added > 0`

// Two steps: the count's update must see the lists these events create.
const fromLog = (events: LogEvents): Writes => [[created(events)], [counted(events)]]

// Inline, only the steps the appended events need: most appends create no list.
const writes = (types: ReadonlyArray<string>, events: LogEvents): Writes => [
  ...(types.includes("ListCreated") ? [[created(events)]] : []),
  ...(types.includes("BatchPersisted") ? [[counted(events)]] : [])
]

export const listsProjection = overLog({
  name: "lists",
  handles: ["ListCreated", "BatchPersisted"],
  tables: ["lists"],
  writes,
  fromLog
})
