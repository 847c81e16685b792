/**
 * The dedupe lookup: lead_keys holds every identity key of every lead in a user's
 * lists (from BatchPersisted); import_seen_keys holds every key an import has seen,
 * kept or skipped (from LeadsDeduped), to catch the same person on overlapping pages.
 * Stated over the log: the keys are read from the stored events, not sent again.
 */
import { sql } from "kysely"
import { type LogEvents, overLog, type Writes } from "../src/eventstore/Projection.ts"

// Two tables, so one step: the seen keys and the list keys never meet.
const fromLog = (events: LogEvents): Writes => [[
  sql`insert into import_seen_keys (import_id, key)
    select (e.data->>'importId')::uuid, k.key
    from ${events("LeadsDeduped")} e
      cross join lateral jsonb_array_elements(e.data->'decisions') as d(decision)
      cross join lateral jsonb_array_elements_text(d.decision->'keys') as k(key)
    on conflict do nothing`,
  sql`insert into lead_keys (user_id, key, list_id, row_id)
    select (e.data->>'userId')::uuid, k.key, (e.data->>'listId')::uuid, (r.row->>'rowId')::uuid
    from ${events("BatchPersisted")} e
      cross join lateral jsonb_array_elements(e.data->'rows') with ordinality as r(row, ord)
      cross join lateral jsonb_array_elements_text(r.row->'keys') with ordinality as k(key, ord)
    order by e.position, r.ord, k.ord
    on conflict do nothing`
]]

export const leadIndexProjection = overLog({
  name: "lead-index",
  handles: ["LeadsDeduped", "BatchPersisted"],
  tables: ["lead_keys", "import_seen_keys"],
  fromLog
})
