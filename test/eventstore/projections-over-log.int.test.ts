/**
 * The projections stated over the log (all five: lists, credits, list-rows, lead-index, import-progress) are SQL
 * that reads the stored events. Random import histories — every event kind, leads with quotes,
 * backslashes and nulls, events grouped into appends at random — must leave exactly the rows a
 * small model gets by applying the events one at a time in TypeScript; and a rebuild of the
 * same projections from the log (replayed in the database, in small steps) the same rows again.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import * as E from "../../events/index.ts"
import { creditsProjection } from "../../projections/credits.ts"
import { importProgressProjection } from "../../projections/import-progress.ts"
import { leadIndexProjection } from "../../projections/lead-index.ts"
import { listRowsProjection } from "../../projections/list-rows.ts"
import { listsProjection } from "../../projections/lists.ts"
import { Database } from "../../src/db/Database.ts"
import { EventStore, type RecordedEvent } from "../../src/eventstore/EventStore.ts"
import { rebuildProjections } from "../../src/eventstore/rebuild.ts"
import { domainEvents, lead } from "../support/arbitraries.ts"
import { TestDatabase } from "../support/db.ts"

const overLog = [listsProjection, creditsProjection, listRowsProjection, leadIndexProjection, importProgressProjection]

/** Which of two users, lists and imports an event is about (the ids are made fresh per run). */
const slot = fc.nat({ max: 1 })
const bodyKinds = [
  "ImportEnqueued",
  "ImportStarted",
  "PageFetched",
  "LeadsDeduped",
  "BatchPersisted",
  "CreditsGranted",
  "CreditsCharged",
  "CreditsRefunded",
  "ImportCompleted",
  "ImportFailed",
  "ImportCancelRequested",
  "ImportCanceled"
] as const
const bodyEvent = fc.record({
  event: fc.oneof(...bodyKinds.map((kind) => domainEvents[kind])),
  import: slot,
  /** Appended with the events before it (one append, if on the same stream), or as the start of a new append. */
  joinPrevious: fc.boolean()
})
const history = fc.record({
  requests: fc.tuple(domainEvents.ImportRequested, domainEvents.ImportRequested),
  body: fc.array(bodyEvent, { maxLength: 30 })
})

interface Ids {
  readonly users: ReadonlyArray<string>
  readonly lists: ReadonlyArray<string>
  readonly imports: ReadonlyArray<string>
}

/** The event with its ids replaced by this run's: import i belongs to user i and list i. */
const withIds = (event: E.DomainEvent, i: number, ids: Ids): E.DomainEvent => {
  const { _tag, ...fields } = event as E.DomainEvent & Record<string, unknown>
  const own: Record<string, unknown> = { ...fields }
  if ("importId" in own) own.importId = ids.imports[i]
  if ("userId" in own) own.userId = ids.users[i]
  if ("listId" in own) own.listId = ids.lists[i]
  // Run ids are unique across imports (imports.run_id).
  if (_tag === "ImportEnqueued" || _tag === "ImportStarted") own.runId = `${ids.imports[i]}/${own.runId}`
  // Two pages at most: a batch then often meets its page's dedupe (the seen keys of the leads it left out).
  if (_tag === "LeadsDeduped" || _tag === "BatchPersisted") own.page = 1 + (own.page as number) % 2
  if (_tag === "BatchPersisted") {
    own.rows = (own.rows as ReadonlyArray<E.PersistedRow>).map((row) => ({ ...row, rowId: crypto.randomUUID() }))
  }
  return new (Object.getPrototypeOf(event).constructor)(own)
}

const ms = (d: Date) => d.toISOString()

/** The rows of the four projections, applying each event alone, in log order. */
const model = (log: ReadonlyArray<RecordedEvent>) => {
  const lists = new Map<string, Record<string, unknown>>()
  const listRows: Array<Record<string, unknown>> = []
  const leadKeys = new Map<string, string>()
  const seen = new Set<string>()
  const dedupes = new Map<string, E.LeadsDeduped>()
  const imports = new Map<string, Record<string, any>>()
  const accounts = new Map<string, Record<string, number | string>>()
  const holds = new Map<string, Record<string, number | string>>()
  for (const { event, recordedAt, version } of log) {
    if (event._tag === "CreditsGranted" || event._tag === "CreditsReserved" || event._tag === "CreditsCharged" || event._tag === "CreditsRefunded") {
      const account = accounts.get(event.userId) ?? { user_id: event.userId, version: 0, granted: 0, charged: 0, reserved: 0 }
      const add = (column: string, n: number) => (account[column] = (account[column] as number) + n)
      account.version = Math.max(account.version as number, version)
      if (event._tag === "CreditsGranted") add("granted", event.amount)
      if (event._tag === "CreditsReserved") add("reserved", event.amount)
      if (event._tag === "CreditsCharged") add("charged", event.amount)
      if (event._tag !== "CreditsGranted" && event._tag !== "CreditsReserved") add("reserved", -event.amount)
      accounts.set(event.userId, account)
      if (event._tag === "CreditsReserved") {
        holds.set(event.importId, { import_id: event.importId, user_id: event.userId, reserved: event.amount, charged: 0, refunded: 0 })
      }
      const hold = "importId" in event ? holds.get(event.importId) : undefined
      if (hold && event._tag === "CreditsCharged") hold.charged = (hold.charged as number) + event.amount
      if (hold && event._tag === "CreditsRefunded") hold.refunded = (hold.refunded as number) + event.amount
    }
    switch (event._tag) {
      case "ListCreated":
        if (!lists.has(event.listId)) {
          lists.set(event.listId, { id: event.listId, user_id: event.userId, name: event.name, row_count: 0, created_at: ms(recordedAt) })
        }
        break
      case "ImportRequested":
        if (!imports.has(event.importId)) {
          imports.set(event.importId, {
            import_id: event.importId,
            status: "queued",
            run_id: null,
            engine: null,
            url: event.url,
            max_results: event.maxResults,
            total_available: null,
            completion_reason: null,
            error: null,
            cancel_requested: false,
            pages_fetched: 0,
            leads_fetched: 0,
            leads_imported: 0,
            skipped_existing: 0,
            skipped_duplicate: 0,
            over_cap: 0,
            credits_reserved: 0,
            credits_charged: 0,
            credits_refunded: 0,
            created_at: ms(recordedAt),
            updated_at: ms(recordedAt)
          })
        }
        continue
      case "LeadsDeduped":
        for (const d of event.decisions) {
          if (d.outcome !== "kept") for (const key of d.keys) seen.add(`${event.importId} ${key}`)
        }
        dedupes.set(`${event.importId} ${event.page}`, event)
        break
      case "BatchPersisted": {
        // Kept leads the batch left out are seen; the list holds the others (the page's last dedupe before it).
        const dedupe = dedupes.get(`${event.importId} ${event.page}`)
        if (dedupe && event.overCap + event.lateDuplicates + event.lateExisting > 0) {
          const inserted = new Set(event.rows.map((r) => r.index))
          for (const d of dedupe.decisions) {
            if (d.outcome === "kept" && !inserted.has(d.index)) for (const key of d.keys) seen.add(`${event.importId} ${key}`)
          }
        }
        const list = lists.get(event.listId)
        if (list) list.row_count = (list.row_count as number) + event.rows.length
        for (const row of event.rows) {
          listRows.push({
            id: row.rowId,
            list_id: event.listId,
            import_id: event.importId,
            run_id: event.runId,
            linkedin_url: row.lead.linkedinUrl,
            sales_nav_url: row.lead.salesNavUrl,
            profile: E.profileOf(row.lead),
            added_at: ms(recordedAt)
          })
          for (const key of row.keys) {
            const k = `${event.userId} ${key} ${event.listId}`
            if (!leadKeys.has(k)) leadKeys.set(k, row.rowId)
          }
        }
        break
      }
    }
    const progress = "importId" in event ? imports.get(event.importId) : undefined
    if (progress === undefined) continue
    progress.updated_at = ms(recordedAt)
    switch (event._tag) {
      case "ImportEnqueued":
        progress.run_id = event.runId
        progress.engine = event.engine
        break
      case "ImportStarted":
        progress.run_id ??= event.runId
        if (progress.status === "queued") progress.status = "running"
        break
      case "PageFetched":
        if (progress.status === "queued") progress.status = "running"
        progress.pages_fetched++
        progress.leads_fetched += event.leads.length
        progress.total_available = event.totalAvailable
        break
      case "LeadsDeduped":
        progress.skipped_duplicate += event.skippedDuplicate
        progress.skipped_existing += event.skippedExisting
        break
      case "BatchPersisted":
        progress.leads_imported += event.rows.length
        progress.over_cap += event.overCap
        progress.skipped_duplicate += event.lateDuplicates
        progress.skipped_existing += event.lateExisting
        break
      case "CreditsReserved":
        progress.credits_reserved += event.amount
        break
      case "CreditsCharged":
        progress.credits_charged += event.amount
        break
      case "CreditsRefunded":
        progress.credits_refunded += event.amount
        break
      case "ImportCompleted":
        progress.status = "completed"
        progress.completion_reason = event.reason
        break
      case "ImportFailed":
        progress.status = "failed"
        progress.error = event.error
        break
      case "ImportCancelRequested":
        progress.cancel_requested = true
        break
      case "ImportCanceled":
        progress.status = "canceled"
        progress.completion_reason = "canceled"
        break
    }
  }
  return {
    lists: [...lists.values()].sort(byKey("id")),
    listRows,
    leadKeys: [...leadKeys].map(([k, rowId]) => `${k} ${rowId}`).sort(),
    seen: [...seen].sort(),
    imports: [...imports.values()].sort(byKey("import_id")),
    accounts: [...accounts.values()].sort(byKey("user_id")),
    holds: [...holds.values()].sort(byKey("import_id"))
  }
}

const byKey = (key: string) => (a: Record<string, unknown>, b: Record<string, unknown>) =>
  String(a[key]).localeCompare(String(b[key]))

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString())

/** The same rows as the tables hold them, for this run's ids only. */
const tables = (ids: Ids) =>
  Effect.gen(function*() {
    const db = yield* Database
    const users = `{${ids.users.join(",")}}`
    const lists = `{${ids.lists.join(",")}}`
    const imports = `{${ids.imports.join(",")}}`
    const q = <R>(statement: ReturnType<typeof sql<R>>) => db.query((k) => statement.execute(k)).pipe(Effect.map((r) => r.rows))
    const listRows = yield* q(sql<Record<string, unknown>>`select id::text, list_id::text, import_id::text, run_id, linkedin_url,
        sales_nav_url, profile, added_at from list_rows where list_id = any(${lists}::text::uuid[]) order by seq`)
    const keys = yield* q(sql<{ k: string }>`select user_id::text || ' ' || key || ' ' || list_id::text || ' ' || row_id::text as k
        from lead_keys where user_id = any(${users}::text::uuid[])`)
    const seen = yield* q(sql<{ k: string }>`select import_id::text || ' ' || key as k
        from import_seen_keys where import_id = any(${imports}::text::uuid[])`)
    const listRowsOut = yield* q(sql<Record<string, unknown>>`select id::text, user_id::text, name, row_count, created_at
        from lists where id = any(${lists}::text::uuid[])`)
    const importRows = yield* q(sql<Record<string, unknown>>`select import_id::text, status, run_id, engine, url, max_results,
        total_available, completion_reason, error, cancel_requested, pages_fetched, leads_fetched, leads_imported,
        skipped_existing, skipped_duplicate, over_cap, credits_reserved, credits_charged, credits_refunded, created_at, updated_at
        from imports where import_id = any(${imports}::text::uuid[])`)
    const accounts = yield* q(sql<Record<string, unknown>>`select user_id::text, version, granted, charged, reserved
        from credit_accounts where user_id = any(${users}::text::uuid[])`)
    const holds = yield* q(sql<Record<string, unknown>>`select import_id::text, user_id::text, reserved, charged, refunded
        from credit_holds where import_id = any(${imports}::text::uuid[])`)
    const numbers = (row: Record<string, unknown>, columns: ReadonlyArray<string>) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, columns.includes(k) && v !== null ? Number(v) : v]))
    return {
      lists: listRowsOut.map((r) => ({ ...numbers(r, ["row_count"]), created_at: iso(r.created_at) })).sort(byKey("id")),
      listRows: listRows.map((r) => ({ ...r, added_at: iso(r.added_at) })),
      leadKeys: keys.map((r) => r.k).sort(),
      seen: seen.map((r) => r.k).sort(),
      imports: importRows.map((r) => ({
        ...numbers(r, [
          "max_results",
          "total_available",
          "pages_fetched",
          "leads_fetched",
          "leads_imported",
          "skipped_existing",
          "skipped_duplicate",
          "over_cap",
          "credits_reserved",
          "credits_charged",
          "credits_refunded"
        ]),
        created_at: iso(r.created_at),
        updated_at: iso(r.updated_at)
      })).sort(byKey("import_id")),
      accounts: accounts.map((r) => numbers(r, ["version", "granted", "charged", "reserved"])).sort(byKey("user_id")),
      holds: holds.map((r) => numbers(r, ["reserved", "charged", "refunded"])).sort(byKey("import_id"))
    }
  }).pipe(Effect.orDie)

layer(EventStore.layer({ inline: overLog }).pipe(Layer.provideMerge(TestDatabase())), { excludeTestServices: true })(
  "projections stated over the log",
  (it) => {
    it("read the stored shape of each event type they handle: a new schema version must come with their SQL", () => {
      // Their SQL reads `data` as stored, without the codec's upcasters: version 1 of every type.
      const read = [...new Set(overLog.flatMap((p) => p.handles))]
      expect(Object.fromEntries(read.map((type) => [type, E.schemaVersions[type as E.EventType]])))
        .toEqual(Object.fromEntries(read.map((type) => [type, 1])))
      expect(overLog.every((p) => p.fromLog !== undefined)).toBe(true)
    })

    it.effect("write what applying the events one at a time gives, inline and when rebuilt from the log", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const context = yield* Effect.context<Database | EventStore>()
        const run = <A, Err>(effect: Effect.Effect<A, Err, Database | EventStore>) =>
          Effect.runPromise(Effect.provideContext(effect, context))
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(history, async ({ requests, body }) => {
              const fresh = () => [crypto.randomUUID(), crypto.randomUUID()]
              const ids: Ids = { users: fresh(), lists: fresh(), imports: fresh() }
              const log: Array<RecordedEvent> = []
              const append = async (stream: string, events: ReadonlyArray<E.DomainEvent>) => {
                const result = await run(store.append(stream, events, { expectedVersion: "any" }))
                log.push(...result.events)
              }
              // A list, its import and its reservation come first, as the POST records them.
              for (const i of [0, 1]) {
                await append(`list-${ids.lists[i]}`, [new E.ListCreated({ listId: ids.lists[i]!, userId: ids.users[i]!, name: `l"\\${i}` })])
                await append(`import-${ids.imports[i]}`, [withIds(requests[i]!, i, ids)])
                // Held for every charge and refund to come (a hold never settles more than it holds).
                await append(`credits-${ids.users[i]}`, [
                  new E.CreditsReserved({ userId: ids.users[i]!, importId: ids.imports[i]!, amount: 1_000_000_000 })
                ])
              }
              // Each event on its stream, as the service appends them: a user's credit events on
              // their credit stream (in version order), the rest on the import's.
              let group: Array<E.DomainEvent> = []
              let groupStream = ""
              for (const { event, import: i, joinPrevious } of body) {
                const stream = event._tag.startsWith("Credits") ? `credits-${ids.users[i]}` : `import-${ids.imports[i]}`
                if ((!joinPrevious || stream !== groupStream) && group.length > 0) {
                  await append(groupStream, group)
                  group = []
                }
                groupStream = stream
                group.push(withIds(event, i, ids))
              }
              if (group.length > 0) await append(groupStream, group)

              const expected = model(log)
              expect(await run(tables(ids))).toEqual(expected)
              // Replayed in the database, a few events a step: the same rows.
              await run(rebuildProjections(overLog, { batchSize: 3 }).pipe(Effect.orDie))
              expect(await run(tables(ids))).toEqual(expected)
            }),
            { numRuns: 15 }
          )
        )
      }), 240_000)

    it.effect("remember as seen the keys of the leads a list will not hold: skipped, or kept and left out by the batch", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const db = yield* Database
        const [userId, listId] = [crypto.randomUUID(), crypto.randomUUID()]
        const someLead = fc.sample(lead, 1)[0]!
        const deduped = (importId: string) =>
          new E.LeadsDeduped({
            importId,
            page: 1,
            decisions: [
              { index: 0, keys: ["a1", "a2"], outcome: "kept", matchedKey: null },
              { index: 1, keys: ["b1"], outcome: "duplicate", matchedKey: "b1" },
              { index: 2, keys: ["c1"], outcome: "kept", matchedKey: null },
              { index: 3, keys: ["d1"], outcome: "kept", matchedKey: null }
            ],
            kept: 3,
            skippedDuplicate: 1,
            skippedExisting: 0
          })
        // Lead 0 met another import's row, lead 3 was over the cap: only lead 2 is inserted.
        const persisted = (importId: string) =>
          new E.BatchPersisted({
            importId,
            userId,
            listId,
            runId: `run-${importId}`,
            page: 1,
            rows: [{ rowId: crypto.randomUUID(), index: 2, lead: someLead, keys: ["c1"] }],
            overCap: 1,
            lateDuplicates: 1,
            lateExisting: 0
          })
        // One import as the stages record it (a transaction each), one with both in one append.
        const [apart, together] = [crypto.randomUUID(), crypto.randomUUID()]
        yield* store.append(`import-${apart}`, [deduped(apart)], { expectedVersion: "any" })
        yield* store.append(`import-${apart}`, [persisted(apart)], { expectedVersion: "any" })
        yield* store.append(`import-${together}`, [deduped(together), persisted(together)], { expectedVersion: "any" })
        const keys = db.query((q) =>
          sql<{ seen: Array<string>; listed: Array<string> }>`select
            (select json_agg(import_id::text || ' ' || key order by import_id::text, key) from import_seen_keys
              where import_id in (${apart}::uuid, ${together}::uuid)) as seen,
            (select json_agg(key order by key) from lead_keys where user_id = ${userId}::uuid) as listed`.execute(q)
        ).pipe(Effect.map(({ rows }) => rows[0]!))
        const expected = {
          seen: [apart, together].sort().flatMap((i) => ["a1", "a2", "b1", "d1"].map((k) => `${i} ${k}`)),
          listed: ["c1"]
        }
        expect(yield* keys).toEqual(expected)
        yield* rebuildProjections([leadIndexProjection], { batchSize: 1 }).pipe(Effect.orDie)
        expect(yield* keys).toEqual(expected)
      }))
  }
)
