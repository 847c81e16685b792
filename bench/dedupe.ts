/**
 * Section `dedupe`: how long the dedupe stage takes for a user who already has 10,000 leads in
 * their lists, and for one who has 1,000,000 (--quick: 100,000). The existing leads are seeded by
 * set-based SQL as the projections would write them (list_rows + their identity keys in
 * lead_keys, a few lists); then an import of that user fetches its pages and each page's dedupe
 * is timed (the stage alone, through the local stage runner). The goal: ≤ 2× at the large size.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import { randomBytes } from "node:crypto"
import { Accounts } from "../src/accounts/Accounts.ts"
import { Database } from "../src/db/Database.ts"
import { Imports } from "../src/imports/Imports.ts"
import { ImportStages } from "../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../src/pipeline/LocalEngine.ts"
import { searchUrl } from "./pipeline.ts"
import { type Backend, fmt, type Options, type Row, serviceEnv, servicesRuntime, withScratch } from "./lib.ts"

const PAGES = 20
const LISTS = 4

/** `count` leads in LISTS lists of `userId`, with three identity keys each, 100,000 rows a statement. */
const seed = (userId: string, count: number) =>
  Effect.gen(function*() {
    const db = yield* Database
    const lists = Array.from({ length: LISTS }, () => crypto.randomUUID())
    for (const [i, listId] of lists.entries()) {
      yield* db.query((q) => sql`insert into lists (id, user_id, name, row_count, created_at) values (${listId}::uuid, ${userId}::uuid, ${`seeded ${i}`}, 0, now())`.execute(q))
    }
    const importId = crypto.randomUUID()
    for (let from = 0; from < count; from += 100_000) {
      const to = Math.min(count, from + 100_000) - 1
      yield* db.query((q) =>
        sql`with r as (
              insert into list_rows (id, list_id, user_id, import_id, run_id, linkedin_url, sales_nav_url, profile, added_at)
              select gen_random_uuid(), (${lists}::uuid[])[1 + i % ${LISTS}], ${userId}::uuid, ${importId}::uuid, 'run_seededseededseeded',
                     'https://www.linkedin.com/in/seeded-' || i, null,
                     jsonb_build_object('fullName', 'Seeded Person ' || i, 'company', 'Seeded Co ' || (i % 5000)), now()
              from generate_series(${from}::int, ${to}::int) i
              returning id, list_id, linkedin_url
            )
            insert into lead_keys (user_id, key, list_id, row_id)
            select ${userId}::uuid, k, r.list_id, r.id from r,
              lateral (values ('urn:acwaaseeded' || substr(r.linkedin_url, 36)), ('slug:' || substr(r.linkedin_url, 29)),
                              ('name:seeded person ' || substr(r.linkedin_url, 36) || '|seeded co')) as keys(k)
            on conflict do nothing`.execute(q)
      )
    }
    for (const listId of lists) {
      yield* db.query((q) => sql`update lists set row_count = (select count(*) from list_rows where list_id = ${listId}::uuid) where id = ${listId}::uuid`.execute(q))
    }
    yield* db.query((q) => sql`analyze list_rows`.execute(q))
    yield* db.query((q) => sql`analyze lead_keys`.execute(q))
  })

/** A user with `existing` leads imports PAGES pages; the mean and p90 ms of each page's dedupe stage. */
const dedupeTime = (existing: number) =>
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const imports = yield* Imports
    const runner = localStageRunner(yield* ImportStages)
    const user = yield* accounts.createUser({ email: `dedupe-${randomBytes(6).toString("hex")}@example.com`, credits: 2500, salesNavigator: true })
    const seeding = performance.now()
    yield* seed(user.userId, existing)
    const seeded = (performance.now() - seeding) / 1000
    const run = yield* imports.start(user.userId, { url: searchUrl("dedupe"), maxResults: 2500, skipExistingCustomers: true })
    const times: Array<number> = []
    for (let page = 1; page <= PAGES; page++) {
      yield* runner.fetchPage(run.importId, page)
      const started = performance.now()
      yield* runner.dedupe(run.importId, page)
      times.push(performance.now() - started)
    }
    const sorted = times.slice(1).sort((a, b) => a - b) // the first page warms the statement's plan
    return { mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, p90: sorted[Math.floor(sorted.length * 0.9)]!, seeded }
  })

const measure = async (backend: Backend, options: Options, serviceUrl: string | undefined) => {
  const large = options.quick || backend === "PGlite" ? 100_000 : 1_000_000
  const runtime = servicesRuntime(serviceEnv(serviceUrl, { FAKE_PAGE_LATENCY_MS: "0" }))
  try {
    const small = await runtime.runPromise(dedupeTime(10_000))
    const big = await runtime.runPromise(dedupeTime(large))
    const ratio = big.mean / small.mean
    const line = (r: typeof small) => `${fmt(r.mean, 2)} ms a page (p90 ${fmt(r.p90, 2)} ms)`
    const row: Row = {
      section: "dedupe",
      backend,
      measure: `dedupe stage, user with ${fmt(large)} existing leads vs 10,000 (${PAGES - 1} pages of 25 timed)`,
      value: line(big),
      floor: `${line(small)} at 10,000`,
      ratio: `${fmt(ratio, 2)}×`,
      target: "≤ 2×",
      data: { large, small, big, ratio }
    }
    console.error(`dedupe ${backend}: ${row.value} | ${row.floor} | ${row.ratio} (seeded ${fmt(large)} in ${fmt(big.seeded, 1)} s)`)
    return [row]
  } finally {
    await runtime.dispose()
  }
}

export const runDedupe = async (options: Options): Promise<Array<Row>> => {
  if (!options.databaseUrl) return measure("PGlite", options, undefined)
  return withScratch(options.databaseUrl, "dedupe", (url) => measure("PostgreSQL", options, url))
}
