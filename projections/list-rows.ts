/**
 * list_rows: the leads of every list, oldest first — what GET /api/lists/{id}/rows
 * serves while an import streams rows in. Stated over the log: one INSERT … SELECT reads the
 * rows of BatchPersisted events where they are stored, in log order.
 */
import { sql } from "kysely"
import { type LogEvents, overLog, type Writes } from "../src/eventstore/Projection.ts"

/** profileOf (events/lead.ts) in SQL: what a row shows of its lead. */
const profile = sql`jsonb_build_object('firstName', l.lead->'firstName', 'lastName', l.lead->'lastName',
  'fullName', l.lead->'fullName', 'headline', l.lead->'headline', 'currentRole', l.lead->'currentRole',
  'currentCompany', l.lead->'currentCompany', 'location', l.lead->'location')`

const fromLog = (events: LogEvents): Writes => [[sql`
  insert into list_rows (id, list_id, user_id, import_id, run_id, linkedin_url, sales_nav_url, profile, added_at)
  select (r.row->>'rowId')::uuid, (e.data->>'listId')::uuid, (e.data->>'userId')::uuid, (e.data->>'importId')::uuid,
    e.data->>'runId', l.lead->>'linkedinUrl', l.lead->>'salesNavUrl', ${profile},
    date_trunc('milliseconds', e.recorded_at)
  from ${events("BatchPersisted")} e
    cross join lateral jsonb_array_elements(e.data->'rows') with ordinality as r(row, ord)
    cross join lateral (select r.row->'lead') as l(lead)
  order by e.position, r.ord`]]

export const listRowsProjection = overLog({
  name: "list-rows",
  handles: ["BatchPersisted"],
  tables: ["list_rows"],
  fromLog
})
