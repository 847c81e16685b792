/**
 * list_rows: the leads of every list, oldest first — what GET /api/lists/{id}/rows
 * serves while an import streams rows in. One multi-row INSERT per batch of events, which
 * reads the rows from the stored events (./stored.ts) instead of receiving them again.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import { type BatchPersisted, profileOf } from "../events/index.ts"
import { Database } from "../src/db/Database.ts"
import { columnList } from "../src/db/sql.ts"
import type { Projection } from "../src/eventstore/Projection.ts"
import { storedEvents } from "./stored.ts"

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

export const listRowsProjection: Projection = {
  name: "list-rows",
  handles: ["BatchPersisted"],
  tables: ["list_rows"],
  apply: (events) =>
    Effect.gen(function*() {
      const db = yield* Database
      if (!events.some(({ event }) => (event as BatchPersisted).rows.length > 0)) return
      // Read from the stored events (./stored.ts), in the order given, row by row; the same
      // values as `rowOf` (added_at: the recording time to the millisecond, as events carry it).
      yield* db.query((q) =>
        sql`insert into list_rows (${columnList(columns)})
            select (r.value->>'rowId')::uuid, (e.data->>'listId')::uuid, (e.data->>'userId')::uuid,
                   (e.data->>'importId')::uuid, e.data->>'runId',
                   r.value->'lead'->>'linkedinUrl', r.value->'lead'->>'salesNavUrl',
                   jsonb_build_object(${sql.raw(profileFields.map((f) => `'${f}', r.value->'lead'->'${f}'`).join(", "))}),
                   date_trunc('milliseconds', e.recorded_at)
            from ${storedEvents(events)}
              cross join lateral jsonb_array_elements(e.data->'rows') with ordinality as r(value, ord)
            order by p.n, r.ord`.execute(q)
      )
    })
}

/** The fields of `profileOf`, in its order. */
const profileFields = ["firstName", "lastName", "fullName", "headline", "currentRole", "currentCompany", "location"] as const

/** What `apply` writes for one row of a BatchPersisted (kept as the reference its test compares with). */
export const rowOf = (e: BatchPersisted, recordedAt: Date, { rowId, lead }: BatchPersisted["rows"][number]) => ({
  id: rowId,
  list_id: e.listId,
  user_id: e.userId,
  import_id: e.importId,
  run_id: e.runId,
  linkedin_url: lead.linkedinUrl,
  sales_nav_url: lead.salesNavUrl,
  profile: profileOf(lead),
  added_at: recordedAt.toISOString()
})
