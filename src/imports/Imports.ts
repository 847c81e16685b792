/**
 * Starting imports and reading them back.
 *
 * `start` runs the whole command in ONE transaction — create the list if needed,
 * reserve credits on the user's credit stream (optimistic concurrency: a concurrent
 * change to the stream makes the transaction retry from a fresh read), append
 * ImportRequested / ListResolved / CreditsReserved and an outbox entry. `dispatch`
 * then hands the import to the TaskQueue and records its run id. A crash between the
 * two leaves the outbox entry, which `dispatchPending` sends at the next start.
 */
import { Context, Effect, Layer, Option, Result, Schedule, Schema } from "effect"
import type { Selectable } from "kysely"
import { creditsStream, eventIdFor, ImportEnqueued, importStream, listStream } from "../../events/index.ts"
import { Accounts } from "../accounts/Accounts.ts"
import { Credits } from "../credits/Credits.ts"
import { Database, type SqlError } from "../db/Database.ts"
import type { ImportsTable } from "../db/schema.ts"
import { EventStore, type RecordedEvent } from "../eventstore/EventStore.ts"
import { Lists } from "../lists/Lists.ts"
import { ImportStages } from "../pipeline/ImportStages.ts"
import { checkUrl, decideStartImport, StartImportRejection } from "./startImport.ts"
import { type EnqueueError, TaskQueue } from "./TaskQueue.ts"

export interface StartImportRequest {
  readonly url: string
  readonly listId?: string | undefined
  readonly listName?: string | undefined
  readonly maxResults: number
  readonly skipExistingCustomers: boolean
}

export interface StartedImport {
  readonly importId: string
  readonly listId: string
  readonly runId: string
  readonly maxResults: number
  readonly wasCapped: boolean
}

export class ImportRejected extends Schema.TaggedError<ImportRejected>()("ImportRejected", {
  rejection: StartImportRejection
}) {}

/** The import was accepted but could not be handed to the engine; it was cancelled and refunded. */
export class ImportNotEnqueued extends Schema.TaggedError<ImportNotEnqueued>()("ImportNotEnqueued", {
  importId: Schema.String,
  message: Schema.String
}) {}

export type ImportRow = Selectable<ImportsTable>

export class Imports extends Context.Service<Imports, {
  start(
    userId: string,
    request: StartImportRequest,
    options?: { readonly requestId?: string }
  ): Effect.Effect<StartedImport, ImportRejected | ImportNotEnqueued | SqlError>
  /** Hands an accepted import to the engine (idempotent); returns its run id. */
  dispatch(importId: string): Effect.Effect<string, EnqueueError | SqlError>
  /** Dispatches every outbox entry left undispatched (a crash between commit and dispatch). */
  readonly dispatchPending: Effect.Effect<number, SqlError>
  /** The caller's import with this run id. */
  findByRunId(userId: string, runId: string): Effect.Effect<Option.Option<ImportRow>, SqlError>
  /** Every event of the import, in the order they were recorded. */
  events(importId: string): Effect.Effect<ReadonlyArray<RecordedEvent>, SqlError>
}>()("app/imports/Imports") {
  static readonly layer = Layer.effect(
    Imports,
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore
      const accounts = yield* Accounts
      const credits = yield* Credits
      const lists = yield* Lists
      const queue = yield* TaskQueue
      const stages = yield* ImportStages

      /** Everything the decision needs, read inside the command's transaction. */
      const loadState = (userId: string, request: StartImportRequest) =>
        Effect.gen(function*() {
          const account = yield* accounts.salesNavAccount(userId)
          if (Option.isNone(account)) return { salesNavAccountId: undefined, listOwned: false, availableCredits: 0, version: 0 }
          const listOwned = request.listId === undefined ? false : Option.isSome(yield* lists.find(userId, request.listId))
          const balance = yield* credits.balance(userId)
          return { salesNavAccountId: account.value.id, listOwned, availableCredits: balance.available, version: balance.version }
        })

      const accept = (userId: string, request: StartImportRequest, requestId: string) =>
        db.transaction(Effect.gen(function*() {
          const state = yield* loadState(userId, request)
          const importId = crypto.randomUUID()
          const decision = decideStartImport(
            { ...request, userId, now: new Date(), importId, newListId: crypto.randomUUID() },
            state
          )
          if (Result.isFailure(decision)) return yield* new ImportRejected({ rejection: decision.failure })
          const d = decision.success
          const metadata = { correlationId: importId, causationId: requestId, userId }
          if (d.listCreated) {
            yield* store.append(listStream(d.listId), [d.listCreated], { ...metadata, expectedVersion: "no-stream" })
          }
          yield* store.append(importStream(importId), d.importEvents, { ...metadata, expectedVersion: "no-stream" })
          yield* store.append(creditsStream(userId), [d.reservation], { ...metadata, expectedVersion: state.version })
          yield* db.query((q) =>
            q.insertInto("outbox").values({ import_id: importId, user_id: userId, account_id: d.accountId }).execute()
          )
          return { importId, listId: d.listId, maxResults: d.maxResults, wasCapped: d.wasCapped }
        })).pipe(
          // Another import of this user moved the credit stream first: decide again on a fresh read.
          Effect.retry({
            while: (e) => e._tag === "WrongExpectedVersion",
            schedule: Schedule.exponential("2 millis", 1.5).pipe(Schedule.jittered),
            times: 50
          }),
          Effect.catchTag(["WrongExpectedVersion", "IdempotencyConflict"], Effect.die)
        )

      const dispatch = (importId: string) =>
        Effect.gen(function*() {
          const entry = yield* db.query((q) =>
            q.selectFrom("outbox").selectAll().where("import_id", "=", importId).executeTakeFirstOrThrow()
          )
          if (entry.run_id !== null) return entry.run_id
          const { runId } = yield* queue.enqueue({ importId, userId: entry.user_id, accountId: entry.account_id }).pipe(
            Effect.tapError((e) =>
              db.query((q) =>
                q.updateTable("outbox").set((eb) => ({ attempts: eb("attempts", "+", 1), last_error: e.message }))
                  .where("import_id", "=", importId).execute()
              )
            )
          )
          yield* db.transaction(Effect.gen(function*() {
            yield* store.append(importStream(importId), [new ImportEnqueued({ importId, runId, engine: queue.engine })], {
              expectedVersion: "any",
              eventIds: [eventIdFor(importId, "ImportEnqueued")],
              correlationId: importId,
              userId: entry.user_id
            })
            yield* db.query((q) =>
              q.updateTable("outbox").set({ run_id: runId, dispatched_at: new Date() })
                .where("import_id", "=", importId).execute()
            )
          })).pipe(Effect.catchTag(["WrongExpectedVersion", "IdempotencyConflict"], Effect.die))
          return runId
        })

      /**
       * The engine refused the import: end it the way the pipeline ends a failed import
       * (its own refund and finish stages, same event ids, so it can never happen twice),
       * and close its outbox entry.
       */
      const abandon = (importId: string, reason: string) =>
        db.transaction(Effect.gen(function*() {
          const because = { outcome: "failed" as const, error: `not enqueued: ${reason}` }
          yield* stages.refundUnusedCredits(importId, because)
          yield* stages.finish(importId, because)
          yield* db.query((q) =>
            q.updateTable("outbox").set({ dispatched_at: new Date(), last_error: `abandoned: ${reason}` })
              .where("import_id", "=", importId).execute()
          )
        })).pipe(Effect.catchTag("StageFailed", (e) => Effect.die(e)))

      const start = (userId: string, request: StartImportRequest, options: { readonly requestId?: string } = {}) =>
        Effect.gen(function*() {
          // The URL needs no state: reject it before touching the database.
          const url = checkUrl(request.url)
          if (Result.isFailure(url)) return yield* new ImportRejected({ rejection: url.failure })
          const accepted = yield* accept(userId, request, options.requestId ?? crypto.randomUUID())
          const runId = yield* dispatch(accepted.importId).pipe(
            Effect.catchTag("EnqueueError", (e) =>
              Effect.andThen(
                abandon(accepted.importId, e.message),
                Effect.fail(new ImportNotEnqueued({ importId: accepted.importId, message: e.message }))
              ))
          )
          return { ...accepted, runId }
        })

      const dispatchPending = Effect.gen(function*() {
        const pending = yield* db.query((q) =>
          q.selectFrom("outbox").select("import_id").where("dispatched_at", "is", null).orderBy("created_at").execute()
        )
        let dispatched = 0
        for (const { import_id } of pending) {
          const result = yield* Effect.result(dispatch(import_id))
          if (Result.isSuccess(result)) dispatched++
          else yield* Effect.logWarning(`outbox: import ${import_id} not dispatched yet`, result.failure)
        }
        return dispatched
      })

      const findByRunId = (userId: string, runId: string) =>
        db.query((q) =>
          q.selectFrom("imports").selectAll().where("run_id", "=", runId).where("user_id", "=", userId).executeTakeFirst()
        ).pipe(Effect.map(Option.fromNullishOr))

      const events = (importId: string) => store.readCommitted({ correlationId: importId })

      return Imports.of({ start, dispatch, dispatchPending, findByRunId, events })
    })
  )
}
