/**
 * Starting imports, cancelling them, and reading them back.
 *
 * `start` runs the whole command as ONE statement, `start_import` (startCommand.ts,
 * migrations/0007; the commands of several users that arrive together share one: group
 * commit): the checks that need data — in the contract's order, rejections answered as
 * data — and every write: the list, the events with their projections'
 * rows, the reservation under the credit stream's lock and version check, the outbox
 * entry and, when the engine mints run ids up front (local), the run and ImportEnqueued.
 * Otherwise (Trigger.dev) it then hands the import to the TaskQueue and records its run
 * id. Both run in a fiber of the service's own: a client that hangs up cannot stop a
 * committed import from being dispatched. A crash in between leaves the outbox entry,
 * which the reconciler dispatches.
 *
 * `cancel` records the request first (so whatever runs next sees it), ends the import
 * at once — the rows stay, the rest of the reservation is refunded, exactly once — and
 * asks the engine to stop the run.
 */
import { Context, Effect, Fiber, Layer, Option, Result, Schedule, Schema, Scope } from "effect"
import type { Selectable } from "kysely"
import { ImportEnqueued, importStream, uuidV7 } from "../../events/index.ts"
import { Database, type Executor, isDatabaseUnavailable, SqlError } from "../db/Database.ts"
import type { ImportsTable } from "../db/schema.ts"
import { EventStore, type RecordedEvent } from "../eventstore/EventStore.ts"
import { importEventIds } from "../pipeline/importEventIds.ts"
import { ImportStages } from "../pipeline/ImportStages.ts"
import type { StageFailed } from "../pipeline/StageFailed.ts"
import {
  IdempotencyKeyInUse,
  IdempotencyKeyReused,
  idempotencyKeys,
  type KeyRecord,
  requestHash
} from "./idempotency.ts"
import { ImportRateLimit, type ImportRateLimited, rateLimited } from "./ImportRateLimit.ts"
import { startCommands } from "./startCommand.ts"
import { checkUrl, StartImportRejection } from "./startImport.ts"
import { type EnqueueError, type EnqueueRequest, TaskQueue } from "./TaskQueue.ts"

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
  /** True when this answers an earlier request with the same Idempotency-Key. */
  readonly replayed: boolean
}

export interface StartOptions {
  readonly requestId?: string
  /** The caller's Idempotency-Key: the same key and body answer the first import again. */
  readonly idempotencyKey?: string | undefined
  /**
   * The hash of a bearer token authenticated from a cache: the command re-checks it, so a token
   * revoked on another instance fails here (TokenRevoked) on its next request.
   */
  readonly tokenHash?: string | undefined
}

export interface ImportListPage {
  readonly rows: ReadonlyArray<ImportRow>
  readonly total: number
}

export class ImportRejected extends Schema.TaggedError<ImportRejected>()("ImportRejected", {
  rejection: StartImportRejection
}) {}

/** The caller's (cached) token was revoked: nothing was done; the answer is 401. */
export class TokenRevoked extends Schema.TaggedError<TokenRevoked>()("TokenRevoked", {}) {}

/** The import was accepted but could not be handed to the engine; it was ended and refunded. */
export class ImportNotEnqueued extends Schema.TaggedError<ImportNotEnqueued>()("ImportNotEnqueued", {
  importId: Schema.String,
  message: Schema.String
}) {}

/** No import of the caller has this run id (another user's import answers the same). */
export class ImportNotFound extends Schema.TaggedError<ImportNotFound>()("ImportNotFound", { runId: Schema.String }) {}

/** The import had already completed, failed or been canceled. */
export class ImportAlreadyEnded extends Schema.TaggedError<ImportAlreadyEnded>()("ImportAlreadyEnded", {
  runId: Schema.String,
  status: Schema.String
}) {}

export type ImportRow = Selectable<ImportsTable>

/**
 * A stage's failure where only the database can have failed (ending or cancelling an import
 * calls no provider): its SQL error again, transient or not, for the API's error edges.
 */
const stageToSql = (e: StageFailed): SqlError =>
  new SqlError({
    message: `${e.stage}: ${e.message}`,
    code: e.code.startsWith("sql_") ? e.code.slice(4) : e.code,
    kind: e.kind === "transient" ? "connection" : "other",
    retryable: e.kind === "transient",
    cause: e
  })

/** Statuses of an import that has ended. */
export const ENDED_STATUSES: ReadonlyArray<ImportRow["status"]> = ["completed", "failed", "canceled"]

/** An outbox entry: what the engine needs to start an import. */
export type OutboxEntry = EnqueueRequest

/** After this many refused enqueues of one import, the reconciler stops trying and ends it. */
export const MAX_DISPATCH_ATTEMPTS = 5

/** A retry of a request still being dispatched waits this long, this many times, for its run id. */
const REPLAY_WAIT = "250 millis"
const REPLAY_WAITS = 12

export class Imports extends Context.Service<Imports, {
  start(
    userId: string,
    request: StartImportRequest,
    options?: StartOptions
  ): Effect.Effect<
    StartedImport,
    ImportRejected | ImportRateLimited | ImportNotEnqueued | IdempotencyKeyReused | IdempotencyKeyInUse | TokenRevoked | SqlError
  >
  /** Hands an accepted import to the engine (idempotent); returns its run id. */
  dispatch(entry: OutboxEntry): Effect.Effect<string, EnqueueError>
  /**
   * Dispatches the outbox entries left undispatched for `olderThanMs` or longer (a crash or an
   * outage between commit and dispatch); ends the imports the engine keeps refusing. Returns
   * how many were dispatched.
   */
  dispatchPending(olderThanMs?: number): Effect.Effect<number, SqlError>
  /** Cancels the caller's import: recorded, ended and refunded now, its run stopped. */
  cancel(userId: string, runId: string): Effect.Effect<ImportRow, ImportNotFound | ImportAlreadyEnded | SqlError>
  /** The caller's import with this run id. */
  findByRunId(userId: string, runId: string): Effect.Effect<Option.Option<ImportRow>, SqlError>
  /** The caller's imports that have a run, newest first. */
  list(
    userId: string,
    page: { readonly status?: ImportRow["status"] | undefined; readonly limit: number; readonly offset: number }
  ): Effect.Effect<ImportListPage, SqlError>
  /** Every event of the import, in the order they were recorded. */
  events(importId: string): Effect.Effect<ReadonlyArray<RecordedEvent>, SqlError>
}>()("app/imports/Imports") {
  static readonly layer = Layer.effect(
    Imports,
    Effect.gen(function*() {
      const db = yield* Database
      const startCommand = startCommands(db)
      const store = yield* EventStore
      const queue = yield* TaskQueue
      const stages = yield* ImportStages
      const rateLimit = yield* ImportRateLimit

      const keys = idempotencyKeys(db)

      // Work that must outlive the request that started it (a client may hang up) lives here.
      const scope = yield* Scope.Scope

      /** Records the run the engine started: ImportEnqueued, and the outbox entry closed. */
      const recordDispatch = (entry: OutboxEntry, runId: string) =>
        db.transaction(Effect.gen(function*() {
          yield* store.append(importStream(entry.importId), [new ImportEnqueued({ importId: entry.importId, runId, engine: queue.engine })], {
            expectedVersion: "any",
            eventIds: [importEventIds.enqueued(entry.importId)],
            correlationId: entry.importId,
            userId: entry.userId
          })
          yield* db.query((q) =>
            q.updateTable("outbox").set({ run_id: runId, dispatched_at: new Date() })
              .where("import_id", "=", entry.importId).execute()
          )
        })).pipe(Effect.catchTag(["WrongExpectedVersion", "IdempotencyConflict"], Effect.die))

      const dispatch = (entry: OutboxEntry) =>
        Effect.gen(function*() {
          const { runId } = yield* queue.enqueue(entry).pipe(
            Effect.tapError((e) =>
              db.query((q) =>
                q.updateTable("outbox").set((eb) => ({ attempts: eb("attempts", "+", 1), last_error: e.message }))
                  .where("import_id", "=", entry.importId).execute()
              ).pipe(Effect.ignore)
            )
          )
          // The run exists now: a database that fails to record it does not undo it. The import is
          // answered with its run id, and the reconciler records it (same idempotency key, same run).
          yield* recordDispatch(entry, runId).pipe(
            Effect.retry({ while: (e) => e._tag === "SqlError" && e.retryable, times: 3, schedule: Schedule.exponential("100 millis") }),
            Effect.catch((e) => Effect.logWarning(`outbox: import ${entry.importId} runs as ${runId}, not recorded yet (the reconciler will)`, e))
          )
          return runId
        })

      /**
       * The engine refused the import: end it the way the pipeline ends a failed import (its own
       * refund and finish stages, same event ids, so it can never happen twice), and close its
       * outbox entry. A database that is briefly away is waited for, a few seconds at most.
       */
      const abandon = (importId: string, reason: string) =>
        Effect.gen(function*() {
          yield* stages.end(importId, { outcome: "failed", error: `not enqueued: ${reason}` }).pipe(Effect.mapError(stageToSql))
          yield* keys.release(importId)
          yield* db.query((q) =>
            q.updateTable("outbox").set({ dispatched_at: new Date(), last_error: `abandoned: ${reason}` })
              .where("import_id", "=", importId).execute()
          )
        }).pipe(Effect.retry({
          while: (e) => e.retryable,
          // About 12 s in all (0.2 s, doubling), then the failure is the answer.
          schedule: Schedule.exponential("200 millis"),
          times: 6
        }))

      const afterCommit = (entry: OutboxEntry) =>
        dispatch(entry).pipe(
          Effect.catchTag("EnqueueError", (e) =>
            isDatabaseUnavailable(e.cause)
              // Not a refusal: the database (where the local engine records its runs) went away after
              // the commit. The import stays in the outbox and the reconciler dispatches it once the
              // database is back; the answer is the contract's 503 SERVICE_UNAVAILABLE.
              ? Effect.fail(new SqlError({ message: e.message, kind: "connection", retryable: true, cause: e }))
              : Effect.andThen(
                abandon(entry.importId, e.message),
                Effect.fail(new ImportNotEnqueued({ importId: entry.importId, message: e.message }))
              ))
        )

      /**
       * The answer to a request whose key is already used: 422 for another body; for the same
       * body the first import's 200, once its run is known (it is being dispatched: a moment).
       */
      const replay = (record: KeyRecord, request: StartImportRequest) =>
        Effect.gen(function*() {
          if (record.requestHash !== requestHash(request)) return yield* new IdempotencyKeyReused()
          for (let attempt = 0; attempt < REPLAY_WAITS; attempt++) {
            const row = yield* db.query((q) =>
              q.selectFrom("imports").select(["list_id", "run_id", "max_results", "was_capped"])
                .where("import_id", "=", record.importId).executeTakeFirst()
            )
            if (row?.run_id) {
              return {
                importId: record.importId,
                listId: row.list_id,
                runId: row.run_id,
                maxResults: Number(row.max_results),
                wasCapped: row.was_capped,
                replayed: true
              } satisfies StartedImport
            }
            yield* Effect.sleep(REPLAY_WAIT)
          }
          return yield* new IdempotencyKeyInUse()
        })

      /** Whether a cached token's hash is still a valid token of this user (revocation on the next request). */
      const verifyToken = (userId: string, tokenHash: string | undefined) =>
        tokenHash === undefined ? Effect.void : db.query((q) =>
          q.selectFrom("api_tokens").select("id").where("token_hash", "=", tokenHash).where("user_id", "=", userId)
            .where("revoked_at", "is", null).executeTakeFirst()
        ).pipe(Effect.flatMap((row) => row ? Effect.void : Effect.fail(new TokenRevoked())))

      /** The key is another request's: answer with its import (422 for another body, 409 while in flight). */
      const replayTaken = (userId: string, key: string, request: StartImportRequest) =>
        Effect.flatMap(keys.find(userId, key), Option.match({
          onNone: () => Effect.fail(new IdempotencyKeyInUse()),
          onSome: (record) => replay(record, request)
        }))

      const start = (userId: string, request: StartImportRequest, options: StartOptions = {}) =>
        Effect.gen(function*() {
          const key = options.idempotencyKey
          const url = checkUrl(request.url)
          if (Result.isFailure(url)) {
            // No command to run. A retry with its key is still answered first, as the contract orders it.
            yield* verifyToken(userId, options.tokenHash)
            if (key !== undefined) {
              const known = yield* keys.find(userId, key)
              if (Option.isSome(known)) return yield* replay(known.value, request)
            }
            return yield* new ImportRejected({ rejection: url.failure })
          }
          // The command and its dispatch run in the service's fiber, whatever the request does: a
          // client that hangs up (even between the commit and the dispatch) cannot strand an import.
          const command = Effect.gen(function*() {
            const importId = uuidV7()
            const run = queue.prepared ? yield* queue.prepared.mint : undefined
            // ONE statement: token, known key, rate limit, key claim, checks, and every write.
            const result = yield* startCommand({
              userId,
              request,
              normalizedUrl: url.success,
              importId,
              newListId: uuidV7(),
              causationId: options.requestId ?? crypto.randomUUID(),
              now: new Date(),
              idempotencyKey: key,
              tokenHash: options.tokenHash,
              rateLimit: rateLimit.limit,
              runId: run?.runId,
              heldBy: run?.heldBy,
              engine: queue.engine
            })
            switch (result.outcome) {
              case "unauthorized":
                return yield* new TokenRevoked()
              case "replay":
                if (result.requestHash === requestHash(request) && result.runId !== null) {
                  return {
                    importId: result.importId,
                    listId: result.listId!,
                    runId: result.runId,
                    maxResults: Number(result.maxResults),
                    wasCapped: result.wasCapped!,
                    replayed: true
                  } satisfies StartedImport
                }
                return yield* replay({ requestHash: result.requestHash, importId: result.importId }, request)
              case "rate_limited":
                return yield* rateLimited(result.waitMs ?? 60_000 / rateLimit.limit.perMinute)
              case "key_taken":
                // The same key raced in from another request: answer with that request's import.
                return yield* replayTaken(userId, key!, request)
              case "rejected":
                return yield* new ImportRejected({
                  rejection: result.reason === "InsufficientCredits"
                    ? { _tag: "InsufficientCredits", available: Number(result.available ?? 0) }
                    : { _tag: result.reason }
                })
              case "started": {
                const entry: OutboxEntry = { importId, userId, accountId: result.accountId }
                const accepted = { importId, listId: result.listId, maxResults: result.maxResults, wasCapped: result.wasCapped, replayed: false }
                if (run !== undefined && queue.prepared !== undefined) {
                  // The run was written with the import: wake the engine (a lost signal is picked up by its lease scan).
                  yield* queue.prepared.started(entry, run)
                  return { ...accepted, runId: run.runId }
                }
                return { ...accepted, runId: yield* afterCommit(entry) }
              }
            }
          })
          return yield* Fiber.join(yield* Effect.forkIn(command, scope))
        })

      const list = (
        userId: string,
        page: { readonly status?: ImportRow["status"] | undefined; readonly limit: number; readonly offset: number }
      ) =>
        Effect.gen(function*() {
          const mine = (q: Executor) =>
            q.selectFrom("imports").where("user_id", "=", userId).where("run_id", "is not", null)
              .$if(page.status !== undefined, (w) => w.where("status", "=", page.status!))
          const rows = yield* db.query((q) =>
            mine(q).selectAll().orderBy("created_at", "desc").orderBy("import_id", "desc").limit(page.limit).offset(page.offset).execute()
          )
          const { total } = yield* db.query((q) => mine(q).select((eb) => eb.fn.countAll<number>().as("total")).executeTakeFirstOrThrow())
          return { rows, total: Number(total) }
        })

      const dispatchPending = (olderThanMs = 0) =>
        Effect.gen(function*() {
          const pending = yield* db.query((q) =>
            q.selectFrom("outbox").select(["import_id", "user_id", "account_id", "attempts"])
              .where("dispatched_at", "is", null)
              .where("created_at", "<=", new Date(Date.now() - olderThanMs))
              .orderBy("created_at").limit(500).execute()
          )
          let dispatched = 0
          for (const row of pending) {
            const entry: OutboxEntry = { importId: row.import_id, userId: row.user_id, accountId: row.account_id }
            const result = yield* Effect.result(dispatch(entry))
            if (Result.isSuccess(result)) {
              dispatched++
            } else if (
              !isDatabaseUnavailable(result.failure.cause) &&
              (result.failure.permanent === true || row.attempts + 1 >= MAX_DISPATCH_ATTEMPTS)
            ) {
              yield* Effect.logWarning(`outbox: import ${entry.importId} refused ${row.attempts + 1} time(s); ending it`, result.failure)
              yield* abandon(entry.importId, result.failure.message)
            } else {
              yield* Effect.logWarning(`outbox: import ${entry.importId} not dispatched yet`, result.failure)
            }
          }
          return dispatched
        })

      const cancel = (userId: string, runId: string) =>
        Effect.gen(function*() {
          const row = yield* findByRunId(userId, runId).pipe(Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new ImportNotFound({ runId })),
            onSome: Effect.succeed
          })))
          if (ENDED_STATUSES.includes(row.status)) return yield* new ImportAlreadyEnded({ runId, status: row.status })
          const requested = yield* stages.requestCancel(row.import_id, userId).pipe(Effect.mapError(stageToSql))
          if (requested === "ended") {
            const now = yield* findByRunId(userId, runId)
            return yield* new ImportAlreadyEnded({ runId, status: Option.match(now, { onNone: () => row.status, onSome: (r) => r.status }) })
          }
          // Recorded: from here on nothing the request does can leave it half done.
          yield* Effect.uninterruptible(stages.end(row.import_id, { outcome: "canceled" }).pipe(Effect.mapError(stageToSql)))
          if (row.engine === queue.engine) {
            yield* queue.cancel(runId).pipe(
              Effect.catch((e) => Effect.logWarning(`cancel: the engine did not stop run ${runId} (its stages stop by themselves)`, e)),
              Effect.forkIn(scope)
            )
          }
          return yield* findByRunId(userId, runId).pipe(Effect.map(Option.getOrElse(() => row)))
        })

      const findByRunId = (userId: string, runId: string) =>
        db.query((q) =>
          q.selectFrom("imports").selectAll().where("run_id", "=", runId).where("user_id", "=", userId).executeTakeFirst()
        ).pipe(Effect.map(Option.fromNullishOr))

      const events = (importId: string) => store.readCommitted({ correlationId: importId })

      return Imports.of({ start, dispatch, dispatchPending, cancel, findByRunId, list, events })
    })
  )
}
