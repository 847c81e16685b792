/**
 * imports: status and counters of every import — what GET /api/imports/{runId}
 * serves. Every counter is a sum over the import's events, so a replay rebuilds it.
 *
 * Stated over the log and set-based: one insert for the new imports, then one update per
 * import with what its events change, folded in SQL — counters as sums, the rest as its last
 * event of a kind says — however many events. The same rows as applying the events one by one.
 */
import { type RawBuilder, sql } from "kysely"
import { type LogEvents, overLog, type Writes } from "../src/eventstore/Projection.ts"

/** The events that change an import once it is requested. */
const changing = [
  "ImportEnqueued",
  "ImportStarted",
  "PageFetched",
  "LeadsDeduped",
  "BatchPersisted",
  "CreditsReserved",
  "CreditsCharged",
  "CreditsRefunded",
  "ImportCompleted",
  "ImportFailed",
  "ImportCancelRequested",
  "ImportCanceled"
]

const inserted = (events: LogEvents) =>
  sql`insert into imports (import_id, user_id, list_id, url, requested, max_results, was_capped, skip_existing_customers,
      created_at, status, updated_at)
    select (e.data->>'importId')::uuid, (e.data->>'userId')::uuid, (e.data->>'listId')::uuid, e.data->>'url',
      (e.data->>'requested')::bigint, (e.data->>'maxResults')::bigint, (e.data->>'wasCapped')::boolean,
      (e.data->>'skipExistingCustomers')::boolean, date_trunc('milliseconds', e.recorded_at), 'queued',
      date_trunc('milliseconds', e.recorded_at)
    from ${events("ImportRequested")} e
    order by e.position
    on conflict (import_id) do nothing`

/** The last value of `value` among the import's events that `where`, in log order (null if none). */
const last = (value: RawBuilder<unknown>, where: RawBuilder<unknown>) =>
  sql`(array_agg(${value} order by e.position desc) filter (where ${where}))[1]`
const sumOf = (value: RawBuilder<unknown>, type: string) =>
  sql`coalesce(sum(${value}) filter (where e.type = ${type}), 0)`
const ended = sql`e.type in ('ImportCompleted', 'ImportFailed', 'ImportCanceled')`

/**
 * Per import: a status event sets the status, except that running (ImportStarted, PageFetched)
 * only moves a queued import; the run id is the last ImportEnqueued's, else the first
 * ImportStarted's when none is known yet.
 *
 * `types` are the types among the events (all of them, over the log): what no event of theirs can
 * change is left out of the statement (its neutral value instead: null, 0 or false), so an
 * append's update folds only what it needs — each `last` is a sort of its own, even over no row.
 */
const changed = (events: LogEvents, types: ReadonlyArray<string> = changing) => {
  const has = (...some: ReadonlyArray<string>) => some.some((type) => types.includes(type))
  const lastOf = (of: ReadonlyArray<string>, value: RawBuilder<unknown>, where: RawBuilder<unknown>) =>
    has(...of) ? last(value, where) : sql`null`
  const sum = (value: RawBuilder<unknown>, type: string) => has(type) ? sumOf(value, type) : sql`0`
  const endedAs = lastOf(
    ["ImportCompleted", "ImportFailed", "ImportCanceled"],
    sql`case e.type when 'ImportCompleted' then 'completed' when 'ImportFailed' then 'failed' else 'canceled' end`,
    ended
  )
  const completionReason = lastOf(
    ["ImportCompleted", "ImportCanceled"],
    sql`case e.type when 'ImportCompleted' then e.data->>'reason' else 'canceled' end`,
    sql`e.type in ('ImportCompleted', 'ImportCanceled')`
  )
  const startedRunId = has("ImportStarted")
    ? sql`(array_agg(e.data->>'runId' order by e.position) filter (where e.type = 'ImportStarted'))[1]`
    : sql`null`
  return sql`update imports i set
      status = coalesce(r.ended, case when r.running and i.status = 'queued' then 'running' else i.status end),
      run_id = coalesce(r.enqueued_run_id, i.run_id, r.started_run_id),
      engine = coalesce(r.engine, i.engine),
      total_available = case when r.pages_fetched > 0 then r.total_available else i.total_available end,
      completion_reason = coalesce(r.completion_reason, i.completion_reason),
      error = coalesce(r.error, i.error),
      cancel_requested = i.cancel_requested or r.cancel_requested,
      pages_fetched = i.pages_fetched + r.pages_fetched,
      leads_fetched = i.leads_fetched + r.leads_fetched,
      leads_imported = i.leads_imported + r.leads_imported,
      skipped_existing = i.skipped_existing + r.skipped_existing,
      skipped_duplicate = i.skipped_duplicate + r.skipped_duplicate,
      over_cap = i.over_cap + r.over_cap,
      credits_reserved = i.credits_reserved + r.credits_reserved,
      credits_charged = i.credits_charged + r.credits_charged,
      credits_refunded = i.credits_refunded + r.credits_refunded,
      updated_at = r.updated_at
    from (
      select (e.data->>'importId')::uuid as import_id,
        ${endedAs}::text as ended,
        ${has("ImportStarted", "PageFetched") ? sql`bool_or(e.type in ('ImportStarted', 'PageFetched'))` : sql`false`} as running,
        ${lastOf(["ImportEnqueued"], sql`e.data->>'runId'`, sql`e.type = 'ImportEnqueued'`)}::text as enqueued_run_id,
        ${lastOf(["ImportEnqueued"], sql`e.data->>'engine'`, sql`e.type = 'ImportEnqueued'`)}::text as engine,
        ${startedRunId}::text as started_run_id,
        ${lastOf(["PageFetched"], sql`(e.data->>'totalAvailable')::int`, sql`e.type = 'PageFetched'`)}::int as total_available,
        ${completionReason}::text as completion_reason,
        ${lastOf(["ImportFailed"], sql`e.data->>'error'`, sql`e.type = 'ImportFailed'`)}::text as error,
        ${has("ImportCancelRequested") ? sql`bool_or(e.type = 'ImportCancelRequested')` : sql`false`} as cancel_requested,
        ${has("PageFetched") ? sql`count(*) filter (where e.type = 'PageFetched')` : sql`0`} as pages_fetched,
        ${sum(sql`jsonb_array_length(e.data->'leads')`, "PageFetched")} as leads_fetched,
        ${sum(sql`jsonb_array_length(e.data->'rows')`, "BatchPersisted")} as leads_imported,
        ${sum(sql`(e.data->>'skippedExisting')::bigint`, "LeadsDeduped")} + ${sum(sql`(e.data->>'lateExisting')::bigint`, "BatchPersisted")} as skipped_existing,
        ${sum(sql`(e.data->>'skippedDuplicate')::bigint`, "LeadsDeduped")} + ${sum(sql`(e.data->>'lateDuplicates')::bigint`, "BatchPersisted")} as skipped_duplicate,
        ${sum(sql`(e.data->>'overCap')::bigint`, "BatchPersisted")} as over_cap,
        ${sum(sql`(e.data->>'amount')::bigint`, "CreditsReserved")} as credits_reserved,
        ${sum(sql`(e.data->>'amount')::bigint`, "CreditsCharged")} as credits_charged,
        ${sum(sql`(e.data->>'amount')::bigint`, "CreditsRefunded")} as credits_refunded,
        (array_agg(date_trunc('milliseconds', e.recorded_at) order by e.position desc))[1] as updated_at
      from ${events(...changing.filter((type) => types.includes(type)))} e
      where e.data ? 'importId'
      group by 1
    ) r
    where i.import_id = r.import_id`
}

// Two steps: the update must see the imports these events request.
const fromLog = (events: LogEvents): Writes => [[inserted(events)], [changed(events)]]

// Inline, only the steps the appended events need: most appends request no import.
const writes = (types: ReadonlyArray<string>, events: LogEvents): Writes => [
  ...(types.includes("ImportRequested") ? [[inserted(events)]] : []),
  ...(types.some((type) => type !== "ImportRequested") ? [[changed(events, types)]] : [])
]

export const importProgressProjection = overLog({
  name: "import-progress",
  handles: ["ImportRequested", ...changing],
  tables: ["imports"],
  writes,
  fromLog
})
