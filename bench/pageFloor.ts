/**
 * The pipeline's second floor: the writes a page of an import makes, written by a bare program in
 * the fewest statements. The same rows as the stages write — its three events with their JSON
 * (PageFetched, LeadsDeduped, BatchPersisted) and the charge, the seen keys (of the leads its list
 * will not hold), the list rows, the list keys, the counters of the import, the list and the
 * credits — and the same lookups (a probe per key), but five statements a page, each its own transaction (three commits, as three stages
 * that each commit on their own must), with no locks, no checks of what is already recorded, no
 * BEGIN or COMMIT round trips and nothing decided in between. Against the first floor (list rows
 * alone, 2,500 a statement) it tells the cost of what a page must write from the cost of the
 * service's design.
 *
 * What it writes is cloned from an import the real pipeline ran: each page's recorded events, as
 * stored, under fresh ids for the import, its user and its list.
 */
import { CompiledQuery } from "kysely"
import { randomUUID } from "node:crypto"
import type { Lead } from "../events/lead.ts"
import type { Database } from "../src/db/Database.ts"
import { matchKeysOf } from "../src/pipeline/dedupe.ts"
import { seconds } from "./lib.ts"

/** A statement and its parameters: a pool of connections, or PGlite's one. */
export type Query = (text: string, params: ReadonlyArray<unknown>) => Promise<ReadonlyArray<Record<string, unknown>>>

/** Statements through the service's own database (PGlite's one connection, or its pool). */
export const queryThrough = (db: Database["Service"]): Query => async (text, params) =>
  (await db.kysely.executeQuery(CompiledQuery.raw(text, [...params]))).rows as Array<Record<string, unknown>>

interface Recorded {
  readonly data: string
  readonly metadata: string
}

/** One page of the template import: what each stage recorded, and what its lookups probe. */
interface TemplatePage {
  readonly fetched: Recorded
  readonly deduped: Recorded
  readonly persisted: Recorded
  readonly charged: Recorded | undefined
  readonly leads: number
  readonly rows: number
  readonly skippedDuplicate: number
  readonly skippedExisting: number
  readonly charge: number
  /** The page's match keys (the dedupe lookup) and its kept leads' (persist's last check). */
  readonly matchKeys: ReadonlyArray<string>
  readonly keptMatchKeys: ReadonlyArray<string>
  /** The keys of the kept leads the batch left out (late duplicates, over the cap): seen, not in the list. */
  readonly leftOutKeys: ReadonlyArray<string>
}

/** The pages an import recorded, in page order. */
export const templatePages = async (query: Query, importId: string): Promise<ReadonlyArray<TemplatePage>> => {
  const events = await query(
    `select type, data::text as data, metadata::text as metadata, (data->>'page')::int as page from events
      where correlation_id = $1 and type in ('PageFetched', 'LeadsDeduped', 'BatchPersisted', 'CreditsCharged') order by position`,
    [importId]
  )
  const byPage = new Map<number, Map<string, Recorded>>()
  for (const e of events) {
    const page = Number(e.page)
    if (!byPage.has(page)) byPage.set(page, new Map())
    byPage.get(page)!.set(String(e.type), { data: String(e.data), metadata: String(e.metadata) })
  }
  return [...byPage.entries()].sort(([a], [b]) => a - b).flatMap(([, recorded]) => {
    const fetched = recorded.get("PageFetched")
    const deduped = recorded.get("LeadsDeduped")
    const persisted = recorded.get("BatchPersisted")
    if (!fetched || !deduped || !persisted) return []
    const leads = JSON.parse(fetched.data).leads as Array<Lead>
    const decisions = JSON.parse(deduped.data) as {
      decisions: Array<{ index: number; outcome: string; keys: Array<string> }>
      skippedDuplicate: number
      skippedExisting: number
    }
    const kept = decisions.decisions.filter((d) => d.outcome === "kept").map((d) => leads[d.index]!)
    const inserted = new Set((JSON.parse(persisted.data).rows as Array<{ index: number }>).map((r) => r.index))
    const charged = recorded.get("CreditsCharged")
    return [{
      fetched,
      deduped,
      persisted,
      charged,
      leads: leads.length,
      rows: (JSON.parse(persisted.data).rows as Array<unknown>).length,
      skippedDuplicate: decisions.skippedDuplicate,
      skippedExisting: decisions.skippedExisting,
      charge: charged ? Number(JSON.parse(charged.data).amount) : 0,
      matchKeys: matchKeysOf(leads),
      keptMatchKeys: matchKeysOf(kept),
      leftOutKeys: [
        ...new Set(decisions.decisions.filter((d) => d.outcome === "kept" && !inserted.has(d.index)).flatMap((d) => d.keys))
      ]
    }]
  })
}

/** An event of `type` appended at the version its stream's bump (`bumped`, a CTE) returned. */
const insertEvent = (bumped: string, stream: string, type: string, data: string, metadata: string) =>
  `insert into events (event_id, stream_id, version, type, schema_version, data, metadata, correlation_id, causation_id, user_id)
    select gen_random_uuid(), ${stream}, ${bumped}.version, '${type}', 1, ${data}, ${metadata}, $1::text, null, $2::text from ${bumped}`

/** The five statements of a page: $1 is the import, $2 its user (and $3 its list, where there is one). */
export const statements = {
  fetch: `with s as (update streams set version = version + 1, updated_at = now() where stream_id = 'import-' || $1 returning version),
      e as (${insertEvent("s", "'import-' || $1", "PageFetched", "$3::text::jsonb", "$4::text::jsonb")})
    update imports set status = 'running', pages_fetched = pages_fetched + 1, leads_fetched = leads_fetched + $5,
      total_available = coalesce(total_available, 0), updated_at = now()
    where import_id = $1::uuid`,
  // The dedupe lookup as the service makes it: a probe per key in the user's lists and the import's seen keys.
  lookup: `with w(key) as (select unnest($3::text[]))
    select w.key, k.list_id::text as list_id from w
      cross join lateral (select list_id from lead_keys where user_id = $2::uuid and key = w.key limit 10000) k
    union all
    select w.key, null from w cross join lateral (select 1 from import_seen_keys where import_id = $1::uuid and key = w.key limit 1) s`,
  dedupe: `with p as (select $3::text::jsonb as data),
      s as (update streams set version = version + 1, updated_at = now() where stream_id = 'import-' || $1 returning version),
      e as (${insertEvent("s", "'import-' || $1", "LeadsDeduped", "p.data", "$4::text::jsonb")}, p),
      k as (insert into import_seen_keys (import_id, key)
        select $1::uuid, k.key from p, jsonb_array_elements(p.data->'decisions') d, jsonb_array_elements_text(d->'keys') k(key)
        where d->>'outcome' <> 'kept'
        on conflict do nothing)
    update imports set skipped_duplicate = skipped_duplicate + $5, skipped_existing = skipped_existing + $6, updated_at = now()
    where import_id = $1::uuid`,
  check: `select
      (select json_agg(json_build_object('key', w.key, 'list_id', k.list_id::text)) from unnest($3::text[]) as w(key)
         cross join lateral (select list_id from lead_keys where user_id = $2::uuid and key = w.key limit 10000) k) as keys,
      (select json_build_object('reserved', reserved, 'charged', charged) from credit_holds where import_id = $1::uuid) as hold`,
  persist: `with p as (select $4::text::jsonb as batch, $6::text::jsonb as charge),
      si as (update streams set version = version + 1, updated_at = now() where stream_id = 'import-' || $1 returning version),
      sc as (update streams set version = version + 1, updated_at = now() where stream_id = 'credits-' || $2 and $7 > 0 returning version),
      eb as (${insertEvent("si", "'import-' || $1", "BatchPersisted", "p.batch", "$5::text::jsonb")}, p),
      ec as (${insertEvent("sc", "'credits-' || $2", "CreditsCharged", "p.charge", "$9::text::jsonb")}, p),
      r as materialized (select gen_random_uuid() as id, r.row, r.ord from p, jsonb_array_elements(p.batch->'rows') with ordinality r(row, ord)),
      lr as (insert into list_rows (id, list_id, user_id, import_id, run_id, linkedin_url, sales_nav_url, profile, added_at)
        select r.id, $3::uuid, $2::uuid, $1::uuid, 'run_floor', r.row->'lead'->>'linkedinUrl', r.row->'lead'->>'salesNavUrl',
          jsonb_build_object('firstName', r.row->'lead'->'firstName', 'lastName', r.row->'lead'->'lastName',
            'fullName', r.row->'lead'->'fullName', 'headline', r.row->'lead'->'headline', 'currentRole', r.row->'lead'->'currentRole',
            'currentCompany', r.row->'lead'->'currentCompany', 'location', r.row->'lead'->'location'), now()
        from r order by r.ord),
      lk as (insert into lead_keys (user_id, key, list_id, row_id)
        select $2::uuid, k.key, $3::uuid, r.id from r, jsonb_array_elements_text(r.row->'keys') k(key) on conflict do nothing),
      sk as (insert into import_seen_keys (import_id, key) select $1::uuid, unnest($10::text[]) on conflict do nothing),
      l as (update lists set row_count = row_count + $8 where id = $3::uuid),
      a as (update credit_accounts set version = version + 1, charged = charged + $7, reserved = reserved - $7 where user_id = $2::uuid and $7 > 0),
      h as (update credit_holds set charged = charged + $7 where import_id = $1::uuid and $7 > 0)
    update imports set leads_imported = leads_imported + $8, credits_charged = credits_charged + $7, updated_at = now()
    where import_id = $1::uuid`
}

export interface FloorImport {
  readonly importId: string
  readonly userId: string
  readonly listId: string
}

/** An import, its list, its credits and its streams, as the POST leaves them (not timed). */
const setUp = async (query: Query, credits: number): Promise<FloorImport> => {
  const ids = { importId: randomUUID(), userId: randomUUID(), listId: randomUUID() }
  await query(
    `with l as (insert into lists (id, user_id, name, created_at) values ($3::uuid, $2::uuid, 'floor', now())),
      a as (insert into credit_accounts (user_id, version, granted, reserved) values ($2::uuid, 2, $4, $4)),
      h as (insert into credit_holds (import_id, user_id, reserved) values ($1::uuid, $2::uuid, $4)),
      s as (insert into streams (stream_id, version) values ('import-' || $1, 3), ('credits-' || $2, 2), ('list-' || $3, 1))
    insert into imports (import_id, user_id, list_id, url, requested, max_results, was_capped, skip_existing_customers, created_at,
      status, updated_at, credits_reserved)
    select $1::uuid, $2::uuid, $3::uuid, 'https://www.linkedin.com/sales/search/people?query=floor', $4, $4, false, true, now(),
      'queued', now(), $4`,
    [ids.importId, ids.userId, ids.listId, credits]
  )
  return ids
}

/** One import's pages, one after the other, five statements each. */
const writePages = async (query: Query, to: FloorImport, pages: ReadonlyArray<TemplatePage>) => {
  const { importId, userId, listId } = to
  for (const page of pages) {
    await query(statements.fetch, [importId, userId, page.fetched.data, page.fetched.metadata, page.leads])
    await query(statements.lookup, [importId, userId, page.matchKeys])
    await query(statements.dedupe, [importId, userId, page.deduped.data, page.deduped.metadata, page.skippedDuplicate, page.skippedExisting])
    await query(statements.check, [importId, userId, page.keptMatchKeys])
    await query(statements.persist, [
      importId,
      userId,
      listId,
      page.persisted.data,
      page.persisted.metadata,
      page.charged?.data ?? "{}",
      page.charge,
      page.rows,
      page.charged?.metadata ?? "{}",
      page.leftOutKeys
    ])
  }
}

/**
 * `imports` imports at once, each the template's pages over again, through `query` (a pool of as
 * many connections as the service's); leads imported per second, as the pipeline's figure counts.
 */
export const pageFloor = async (query: Query, template: ReadonlyArray<TemplatePage>, imports: number) => {
  if (template.length === 0) throw new Error("the template import recorded no page")
  const credits = template.reduce((sum, p) => sum + p.charge, 0)
  const targets = await Promise.all(Array.from({ length: imports }, () => setUp(query, credits)))
  const started = performance.now()
  await Promise.all(targets.map((to) => writePages(query, to, template)))
  const took = seconds(started)
  // Counted as the pipeline's figure is: leads imported (list rows written).
  const rows = imports * template.reduce((sum, p) => sum + p.rows, 0)
  return { leadsPerSecond: rows / took, rows, seconds: took, imports: targets }
}
