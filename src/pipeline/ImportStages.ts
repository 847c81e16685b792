/**
 * The stages of an import as plain Effect programs, engine-agnostic: the local
 * engine calls them in-process, the Trigger.dev tasks call them from their `run`.
 *
 * Each stage first looks for the event it would record (deterministic ids: the
 * import, the stage, the page), and if it is there returns what it says; otherwise
 * it does its work and appends that event. So a retried or re-run stage never
 * duplicates anything, and a crash anywhere leaves either the whole stage or none.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { sql } from "kysely"
import {
  BatchPersisted,
  CreditsCharged,
  CreditsRefunded,
  creditsStream,
  type DomainEvent,
  eventIdFor,
  ImportCanceled,
  ImportCompleted,
  ImportFailed,
  type ImportOutcome,
  ImportRequested,
  ImportStarted,
  importStream,
  LeadsDeduped,
  PageFetched,
  type PersistedRow,
  uuidV5
} from "../../events/index.ts"
import { Database, SqlError } from "../db/Database.ts"
import { textArray } from "../db/sql.ts"
import { EventStore, type RecordedEvent } from "../eventstore/EventStore.ts"
import { LeadSource, type LeadSourceError } from "../leads/LeadSource.ts"
import { decideDedupe, type KnownKeys, matchKeysOf } from "./dedupe.ts"
import { leadIdentity } from "./identity.ts"
import { evolve, type Fact, factOf, type ImportState, initialState } from "./importProcess.ts"

const isSqlError = (e: unknown): e is SqlError => e instanceof SqlError

/** A stage that did not complete. `transient` is worth retrying (after `retryAfterMs` if given). */
export class StageFailed extends Schema.TaggedError<StageFailed>()("StageFailed", {
  stage: Schema.String,
  kind: Schema.Literals(["transient", "permanent"]),
  code: Schema.String,
  message: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

export type StageName = "fetch-page" | "dedupe" | "persist-batch" | "refund-unused-credits" | "finish"

export class ImportStages extends Context.Service<ImportStages, {
  /** The import's state, folded from its events in chunks (the leads are never all held). */
  loadState(importId: string): Effect.Effect<ImportState, StageFailed>
  /** Records that run `runId` works on the import (once per run). */
  start(importId: string, runId: string): Effect.Effect<void, StageFailed>
  fetchPage(importId: string, page: number): Effect.Effect<Fact, StageFailed>
  dedupe(importId: string, page: number): Effect.Effect<Fact, StageFailed>
  persistBatch(importId: string, page: number, runId: string): Effect.Effect<Fact, StageFailed>
  refundUnusedCredits(importId: string, because: ImportOutcome): Effect.Effect<Fact, StageFailed>
  finish(importId: string, because: ImportOutcome): Effect.Effect<Fact, StageFailed>
}>()("app/pipeline/ImportStages") {
  static readonly layer = Layer.effect(
    ImportStages,
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore
      const leads = yield* LeadSource

      const id = {
        fetched: (importId: string, page: number) => eventIdFor(importId, "PageFetched", page),
        deduped: (importId: string, page: number) => eventIdFor(importId, "LeadsDeduped", page),
        persisted: (importId: string, page: number) => eventIdFor(importId, "BatchPersisted", page),
        charged: (importId: string, page: number) => eventIdFor(importId, "CreditsCharged", page),
        refunded: (importId: string) => eventIdFor(importId, "CreditsRefunded"),
        ended: (importId: string) => eventIdFor(importId, "ImportEnded"),
        started: (importId: string, runId: string) => eventIdFor(importId, "ImportStarted", runId)
      }

      // Recorded events never change, so the ones this process appended or read are kept
      // (the next stage of the same page needs them): fewer reads, and no decoding twice.
      // Only the newest few: a stage needs its own page's events, and a larger cache would
      // make memory grow with the import (a page's events hold its 25 leads).
      const recordedCache = new Map<string, RecordedEvent>()
      const remember = (events: Iterable<RecordedEvent>) => {
        for (const e of events) {
          if (recordedCache.size >= 64) recordedCache.delete(recordedCache.keys().next().value!)
          recordedCache.set(e.eventId, e)
        }
      }

      /** The events recorded under `eventIds` (at most one query), each looked up as `Class` (undefined if absent). */
      const recordedAll = (eventIds: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          const missing = eventIds.filter((id) => !recordedCache.has(id))
          if (missing.length > 0) remember((yield* store.readEvents(missing)).values())
          return <A extends DomainEvent>(eventId: string, Class: new(...args: any) => A): RecordedEvent<A> | undefined => {
            const e = recordedCache.get(eventId)
            return e !== undefined && e.event instanceof Class ? e as RecordedEvent<A> : undefined
          }
        })

      /** The event recorded under `eventId`, decoded as `Class` (undefined if not yet recorded). */
      const recorded = <A extends DomainEvent>(eventId: string, Class: new(...args: any) => A) =>
        Effect.map(recordedAll([eventId]), (get) => get(eventId, Class))

      const must = <A>(stage: StageName, what: string) => (value: A | undefined) =>
        value === undefined
          ? Effect.fail(new StageFailed({ stage, kind: "permanent", code: "missing_event", message: `${what} is not recorded` }))
          : Effect.succeed(value)

      // An import's request never changes: read it once per import, not once per stage.
      const requests = new Map<string, ImportRequested>()

      /** The import's request: the first event of its stream. */
      const request = (stage: StageName, importId: string) => {
        const cached = requests.get(importId)
        if (cached) return Effect.succeed(cached)
        return store.readStream(importStream(importId), { limit: 1 }).pipe(
          Effect.map(([first]) => first?.event instanceof ImportRequested ? first.event : undefined),
          Effect.flatMap(must<ImportRequested>(stage, `import ${importId}`)),
          Effect.tap((r) =>
            Effect.sync(() => {
              if (requests.size >= 10_000) requests.clear()
              requests.set(importId, r)
            })
          )
        )
      }

      // The provider's id of the import's LinkedIn account, read once per import.
      const providers = new Map<string, string | null>()
      const providerAccountId = (importId: string, accountId: string) => {
        if (providers.has(importId)) return Effect.succeed(providers.get(importId) ?? null)
        return db.query((q) =>
          q.selectFrom("linkedin_accounts").select("provider_account_id").where("id", "=", accountId).executeTakeFirst()
        ).pipe(Effect.map((row) => {
          if (providers.size >= 10_000) providers.clear()
          providers.set(importId, row?.provider_account_id ?? null)
          return row?.provider_account_id ?? null
        }))
      }

      const metadata = (importId: string, userId: string, causationId?: string) => ({
        correlationId: importId,
        userId,
        ...(causationId !== undefined ? { causationId } : {})
      })

      /**
       * Appends under a deterministic id. Another worker recording the same fact first
       * (possibly with other content, e.g. a provider that answered differently) wins:
       * what it recorded is what we return.
       */
      const appendOnce = <A extends DomainEvent>(
        streamId: string,
        event: A,
        eventId: string,
        meta: ReturnType<typeof metadata>
      ): Effect.Effect<RecordedEvent<A>, SqlError> =>
        store.append(streamId, [event], { ...meta, expectedVersion: "any", eventIds: [eventId] }).pipe(
          Effect.map((r) => r.events[0]!),
          Effect.catchTag("IdempotencyConflict", () =>
            Effect.flatMap(store.readEvent(eventId), (e) => e ? Effect.succeed(e) : Effect.die(new Error(`lost ${eventId}`)))),
          Effect.catchTag("WrongExpectedVersion", Effect.die),
          Effect.map((e) => e as RecordedEvent<A>)
        )

      /** Infrastructure failures are transient: the engine retries the stage. */
      const transientSql = (stage: StageName) => <A, E, R>(self: Effect.Effect<A, E | SqlError, R>) =>
        Effect.mapError(self, (e) =>
          isSqlError(e)
            ? new StageFailed({ stage, kind: "transient", code: `sql_${e.code ?? "error"}`, message: e.message })
            : e as Exclude<E, SqlError>)

      const loadState = (importId: string) =>
        Effect.gen(function*() {
          let state = initialState
          // Chunks of 50 events: memory stays flat however many pages the import has.
          for (let from = 1;; from += 50) {
            const chunk = yield* store.readStream(importStream(importId), { fromVersion: from, limit: 50 })
            for (const e of chunk) {
              const fact = factOf(e.event)
              if (fact) state = evolve(state, fact)
            }
            if (chunk.length < 50) break
          }
          const refund = yield* recorded(id.refunded(importId), CreditsRefunded)
          return refund ? evolve(state, { _tag: "Refunded", amount: refund.event.amount, because: refund.event.because }) : state
        }).pipe(transientSql("fetch-page"))

      const start = (importId: string, runId: string) =>
        Effect.gen(function*() {
          const req = yield* request("fetch-page", importId)
          yield* appendOnce(importStream(importId), new ImportStarted({ importId, runId }), id.started(importId, runId), metadata(importId, req.userId))
        }).pipe(transientSql("fetch-page"))

      const fetchPage = (importId: string, page: number) =>
        Effect.gen(function*() {
          const get = yield* recordedAll([id.fetched(importId, page), id.fetched(importId, page - 1)])
          const done = get(id.fetched(importId, page), PageFetched)
          const event = done ?? (yield* Effect.gen(function*() {
            const req = yield* request("fetch-page", importId)
            const previous = page === 1
              ? undefined
              : yield* must<RecordedEvent<PageFetched>>("fetch-page", `page ${page - 1} of import ${importId}`)(
                get(id.fetched(importId, page - 1), PageFetched)
              )
            const result = yield* leads.fetchPage({
              accountId: req.accountId,
              providerAccountId: yield* providerAccountId(importId, req.accountId),
              url: req.url,
              page,
              cursor: previous?.event.nextCursor ?? null
            }).pipe(Effect.mapError((e: LeadSourceError) =>
              new StageFailed({ stage: "fetch-page", kind: e.kind, code: e.code, message: e.message, retryAfterMs: e.retryAfterMs })
            ))
            return yield* appendOnce(
              importStream(importId),
              new PageFetched({ importId, page, leads: result.leads, nextCursor: result.nextCursor, totalAvailable: result.totalAvailable }),
              id.fetched(importId, page),
              metadata(importId, req.userId, previous?.eventId)
            ).pipe(Effect.tap((e) => Effect.sync(() => remember([e]))))
          }))
          return factOf(event.event)!
        }).pipe(transientSql("fetch-page"))

      /** Which of `keys` are in the user's lists (this one / others) or were seen by this import: one query. */
      const lookupKeys = (userId: string, importId: string, listId: string, keys: ReadonlyArray<string>) =>
        db.query((q) =>
          // One index probe per key, whatever the planner knows of the tables: a fresh database
          // has no statistics, and a scan here would grow with every list. (A LIMIT keeps each
          // lateral subquery from being flattened into a join the planner may turn into a scan.)
          sql<{ key: string; list_id: string | null }>`
            select w.key, k.list_id::text as list_id from unnest(${textArray(keys)}) as w(key)
              cross join lateral (select list_id from lead_keys where user_id = ${userId}::uuid and key = w.key limit 10000) k
            union all
            select w.key, null from unnest(${textArray(keys)}) as w(key)
              cross join lateral (select 1 from import_seen_keys where import_id = ${importId}::uuid and key = w.key limit 1) s`
            .execute(q)
        ).pipe(Effect.map(({ rows }): KnownKeys => ({
          inThisList: new Set(rows.filter((r) => r.list_id === listId).map((r) => r.key)),
          inOtherLists: new Set(rows.filter((r) => r.list_id !== null && r.list_id !== listId).map((r) => r.key)),
          seenInImport: new Set(rows.filter((r) => r.list_id === null).map((r) => r.key))
        })))

      const dedupe = (importId: string, page: number) =>
        Effect.gen(function*() {
          const get = yield* recordedAll([id.deduped(importId, page), id.fetched(importId, page)])
          const done = get(id.deduped(importId, page), LeadsDeduped)
          const event = done ?? (yield* Effect.gen(function*() {
            const req = yield* request("dedupe", importId)
            const fetched = yield* must<RecordedEvent<PageFetched>>("dedupe", `page ${page} of import ${importId}`)(
              get(id.fetched(importId, page), PageFetched)
            )
            const known = yield* lookupKeys(req.userId, importId, req.listId, matchKeysOf(fetched.event.leads))
            const outcome = decideDedupe(fetched.event.leads, known, req.skipExistingCustomers)
            return yield* appendOnce(
              importStream(importId),
              new LeadsDeduped({ importId, page, ...outcome }),
              id.deduped(importId, page),
              metadata(importId, req.userId, fetched.eventId)
            ).pipe(Effect.tap((e) => Effect.sync(() => remember([e]))))
          }))
          return factOf(event.event)!
        }).pipe(transientSql("dedupe"))

      const persistBatch = (importId: string, page: number, runId: string) =>
        db.transaction(Effect.gen(function*() {
          const req = yield* request("persist-batch", importId)
          // One persist at a time per user: the final dedupe check below sees every other import's rows.
          yield* db.query((q) => sql`select pg_advisory_xact_lock(hashtext(${`persist:${req.userId}`}))`.execute(q))
          const get = yield* recordedAll([id.persisted(importId, page), id.fetched(importId, page), id.deduped(importId, page)])
          const done = get(id.persisted(importId, page), BatchPersisted)
          if (done) return [done]
          const fetched = yield* must<RecordedEvent<PageFetched>>("persist-batch", `page ${page} of import ${importId}`)(
            get(id.fetched(importId, page), PageFetched)
          )
          const deduped = yield* must<RecordedEvent<LeadsDeduped>>("persist-batch", `dedupe of page ${page} of import ${importId}`)(
            get(id.deduped(importId, page), LeadsDeduped)
          )
          const hold = yield* db.query((q) =>
            q.selectFrom("credit_holds").select("charged").where("import_id", "=", importId).executeTakeFirstOrThrow()
          )
          const kept = deduped.event.decisions.filter((d) => d.outcome === "kept")
          const known = yield* lookupKeys(req.userId, importId, req.listId, matchKeysOf(kept.map((d) => fetched.event.leads[d.index]!)))
          let lateDuplicates = 0
          let lateExisting = 0
          const candidates = kept.filter((d) => {
            const match = leadIdentity(fetched.event.leads[d.index]!).match
            if (match.some((k) => known.inThisList.has(k))) return lateDuplicates++, false
            if (req.skipExistingCustomers && match.some((k) => known.inOtherLists.has(k))) return lateExisting++, false
            return true
          })
          const remaining = Math.max(0, req.maxResults - Number(hold.charged))
          const rows: Array<PersistedRow> = candidates.slice(0, remaining).map((d) => ({
            rowId: uuidV5(`${importId}/row/${page}/${d.index}`),
            index: d.index,
            lead: fetched.event.leads[d.index]!,
            keys: d.keys
          }))
          const meta = metadata(importId, req.userId, deduped.eventId)
          const batch = yield* appendOnce(
            importStream(importId),
            new BatchPersisted({
              importId,
              userId: req.userId,
              listId: req.listId,
              runId,
              page,
              rows,
              overCap: candidates.length - rows.length,
              lateDuplicates,
              lateExisting
            }),
            id.persisted(importId, page),
            meta
          )
          if (batch.event.rows.length === 0) return [batch]
          const charge = yield* appendOnce(
            creditsStream(req.userId),
            new CreditsCharged({ userId: req.userId, importId, page, amount: batch.event.rows.length }),
            id.charged(importId, page),
            { ...meta, causationId: id.persisted(importId, page) }
          )
          return [batch, charge]
        })).pipe(
          // Remembered once committed: a rolled-back batch must never be taken as recorded.
          Effect.tap((appended) => Effect.sync(() => remember(appended))),
          Effect.map(([batch]) => factOf(batch!.event)!),
          transientSql("persist-batch")
        )

      /** Reserved minus charged minus already refunded, from the import's hold. */
      const hold = (importId: string) =>
        db.query((q) =>
          q.selectFrom("credit_holds").select(["reserved", "charged", "refunded"]).where("import_id", "=", importId)
            .executeTakeFirstOrThrow()
        ).pipe(Effect.map((h) => ({ reserved: Number(h.reserved), charged: Number(h.charged), refunded: Number(h.refunded) })))

      const refundUnusedCredits = (importId: string, because: ImportOutcome) =>
        db.transaction(Effect.gen(function*() {
          const done = yield* recorded(id.refunded(importId), CreditsRefunded)
          const event = done ?? (yield* Effect.gen(function*() {
            const req = yield* request("refund-unused-credits", importId)
            const h = yield* hold(importId)
            return yield* appendOnce(
              creditsStream(req.userId),
              new CreditsRefunded({ userId: req.userId, importId, amount: h.reserved - h.charged - h.refunded, because }),
              id.refunded(importId),
              metadata(importId, req.userId)
            )
          }))
          return factOf(event.event)!
        })).pipe(transientSql("refund-unused-credits"))

      const finish = (importId: string, because: ImportOutcome) =>
        Effect.gen(function*() {
          const req = yield* request("finish", importId)
          const h = yield* hold(importId)
          const counts = { importId, leadsImported: h.charged, creditsCharged: h.charged, creditsRefunded: h.refunded }
          yield* appendOnce(
            importStream(importId),
            because.outcome === "completed"
              ? new ImportCompleted({ ...counts, reason: because.reason })
              : because.outcome === "canceled"
              ? new ImportCanceled(counts)
              : new ImportFailed({ ...counts, error: because.error }),
            id.ended(importId),
            metadata(importId, req.userId, id.refunded(importId))
          )
          return { _tag: "Ended" } as const
        }).pipe(transientSql("finish"))

      return ImportStages.of({ loadState, start, fetchPage, dedupe, persistBatch, refundUnusedCredits, finish })
    })
  )
}
