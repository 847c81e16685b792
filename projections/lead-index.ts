/**
 * The dedupe lookup: lead_keys holds every identity key of every lead in a user's lists (from
 * BatchPersisted); import_seen_keys holds the keys an import has seen that its list does not hold,
 * to catch the same person on overlapping pages.
 *
 * An import's stages run one after the other (a page is persisted before the next is deduped), so
 * a lead its dedupe kept is in its list, under the same keys, before its next page is looked at —
 * and the list's keys answer for it. Only the leads the list will not hold are remembered as seen:
 * those the dedupe skipped (LeadsDeduped), and the kept ones its persist did not insert (a late
 * duplicate or existing customer, or over the cap: BatchPersisted, with the keys read from the
 * page's LeadsDeduped). Every key of every lead an import met is so in one of the two tables, and a
 * page writes each key once instead of twice.
 *
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
    where d.decision->>'outcome' <> 'kept'
    union all
    -- A batch that left kept leads out: their keys, from the page's dedupe (the last one recorded
    -- for that page before the batch: stored, found by the stream's index, or appended with it).
    select (e.data->>'importId')::uuid, k.key
    from ${events("BatchPersisted")} e
      cross join lateral (
        select c.data from (
          (select p.version, p.data from events p
            where p.stream_id = 'import-' || (e.data->>'importId') and p.version < e.version
              and p.type = 'LeadsDeduped' and p.data->'page' = e.data->'page'
            order by p.version desc limit 1)
          union all
          select b.version, b.data from ${events("LeadsDeduped")} b
            where b.data->>'importId' = e.data->>'importId' and b.version < e.version and b.data->'page' = e.data->'page'
        ) c order by c.version desc limit 1) p
      cross join lateral jsonb_array_elements(p.data->'decisions') as d(decision)
      cross join lateral jsonb_array_elements_text(d.decision->'keys') as k(key)
    where (e.data->>'overCap')::int + (e.data->>'lateDuplicates')::int + (e.data->>'lateExisting')::int > 0
      and d.decision->>'outcome' = 'kept'
      and not exists (select 1 from jsonb_array_elements(e.data->'rows') as r(row) where r.row->'index' = d.decision->'index')
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
