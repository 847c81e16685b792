/**
 * The import command as one database call (`start_import`, migrations/0007 and 0011): the parameters
 * it takes, built here from the request and the ids minted up front, and its answer read back
 * as a tagged union. The checks and writes it does are `decideStartImport` and the inline
 * projections, in SQL; test/imports/start-import-sql.int.test.ts holds it to them.
 */
import { Cause, Effect } from "effect"
import { sql } from "kysely"
import { schemaVersions, uuidV7 } from "../../events/index.ts"
import { type Database, isDatabaseUnavailable, isSerializationConflict, type SqlError } from "../db/Database.ts"
import { groupCommit } from "../db/groupCommit.ts"
import { defaultListName } from "../lists/listName.ts"
import { importEventIds } from "../pipeline/importEventIds.ts"
import { KEY_TTL_HOURS, requestHash } from "./idempotency.ts"
import type { RateLimitConfig } from "./ImportRateLimit.ts"
import type { StartImportRejection } from "./startImport.ts"
import type { Engine } from "./TaskQueue.ts"

export interface StartCommandInput {
  readonly userId: string
  /** The request as asked; `url` already normalized by `checkUrl`. */
  readonly request: {
    readonly url: string
    readonly listId?: string | undefined
    readonly listName?: string | undefined
    readonly maxResults: number
    readonly skipExistingCustomers: boolean
  }
  readonly normalizedUrl: string
  readonly importId: string
  readonly newListId: string
  readonly causationId: string
  readonly now: Date
  readonly idempotencyKey?: string | undefined
  /** A cached token's hash: the statement re-checks that it is still valid (not revoked). */
  readonly tokenHash?: string | undefined
  readonly rateLimit: RateLimitConfig
  /** A run id minted up front (local engine): the run and ImportEnqueued are written too. */
  readonly runId?: string | undefined
  /** The engine that holds the run from its birth (the local engine running in this process). */
  readonly heldBy?: string | undefined
  readonly engine: Engine
}

/** What `start_import` answered. */
export type StartCommandOutcome =
  | { readonly outcome: "unauthorized" }
  | {
    readonly outcome: "replay"
    readonly requestHash: string
    readonly importId: string
    readonly listId: string | null
    readonly runId: string | null
    readonly maxResults: number | null
    readonly wasCapped: boolean | null
  }
  | { readonly outcome: "rate_limited"; readonly waitMs: number | null }
  | { readonly outcome: "key_taken" }
  | { readonly outcome: "rejected"; readonly reason: Exclude<StartImportRejection["_tag"], "InvalidUrl">; readonly available?: number }
  | {
    readonly outcome: "started"
    readonly listId: string
    readonly accountId: string
    readonly maxResults: number
    readonly wasCapped: boolean
    readonly runId: string | null
  }

/** The jsonb parameter of `start_import` (pure). */
export const startCommandParams = (input: StartCommandInput) => {
  const { request, importId } = input
  const limited = input.rateLimit.perMinute > 0
  const interval = 60_000 / input.rateLimit.perMinute
  return {
    userId: input.userId,
    tokenHash: input.tokenHash ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    requestHash: input.idempotencyKey === undefined ? null : requestHash(request),
    keyTtlHours: KEY_TTL_HOURS,
    rateIntervalMs: limited ? interval : null,
    rateToleranceMs: limited ? interval * (input.rateLimit.burst - 1) : null,
    importId,
    newListId: input.newListId,
    listId: request.listId ?? null,
    listName: request.listName?.trim() || defaultListName(input.now),
    url: input.normalizedUrl,
    requested: request.maxResults,
    skipExistingCustomers: request.skipExistingCustomers,
    causationId: input.causationId,
    runId: input.runId ?? null,
    leaseOwner: input.heldBy ?? null,
    engine: input.engine,
    schemaVersions,
    listCreatedId: uuidV7(),
    importRequestedId: uuidV7(),
    listResolvedId: uuidV7(),
    creditsReservedId: uuidV7(),
    importEnqueuedId: importEventIds.enqueued(importId)
  }
}

const outcomeOf = (r: StartCommandOutcome | string): StartCommandOutcome =>
  // postgres.js parses jsonb; PGlite too, but a driver handing back text is read the same.
  typeof r === "string" ? JSON.parse(r) : r

/** Runs the command: one statement. A lost race on the credit stream (it never should: it is locked) runs it again. */
export const runStartCommand = (db: Database["Service"], input: StartCommandInput) =>
  db.query((q) =>
    sql<{ r: StartCommandOutcome | string }>`select start_import(${JSON.stringify(startCommandParams(input))}::text::jsonb) as r`
      .execute(q)
  ).pipe(
    Effect.retry({ while: isSerializationConflict, times: 5 }),
    Effect.map(({ rows }) => outcomeOf(rows[0]!.r))
  )

/**
 * Several users' commands as ONE statement and one commit: `start_import` for each, in the order of
 * their user ids — every batch, of every instance, takes its users' locks in one order, so two
 * batches can wait on each other but never deadlock. The outcomes come back in the inputs' order.
 */
const runStartCommands = (db: Database["Service"], inputs: ReadonlyArray<StartCommandInput>) => {
  const byUser = inputs.map((_, i) => i).sort((a, b) => (inputs[a]!.userId < inputs[b]!.userId ? -1 : 1))
  return db.query((q) =>
    sql<{ r: StartCommandOutcome | string }>`
      select start_import(x.p) as r
      from jsonb_array_elements(${JSON.stringify(byUser.map((i) => startCommandParams(inputs[i]!)))}::text::jsonb)
        with ordinality as x(p, ord)
      order by x.ord`.execute(q)
  ).pipe(Effect.map(({ rows }) => {
    const outcomes = new Array<StartCommandOutcome>(inputs.length)
    byUser.forEach((input, k) => (outcomes[input] = outcomeOf(rows[k]!.r)))
    return outcomes
  }))
}

/**
 * Batches in flight at once and commands a batch: on the bench's 2 cores 2 batches in flight did at
 * least as well as 4 and 8, and 2 batches of 16 are more than one process's HTTP side can feed.
 */
const BATCHES_IN_FLIGHT = 2
const COMMANDS_A_BATCH = 16

/**
 * The import command with group commit (src/db/groupCommit.ts): commands that arrive together go
 * as one statement and one commit, a user's at most one a batch and in one batch in flight at a
 * time — the rows a command locks are its user's, so this instance's batches never wait on each
 * other (another instance's may; users in one order keep that from a deadlock). Inside a
 * transaction a command runs alone, in it.
 */
export const startCommands = (db: Database["Service"]) => {
  const grouped = groupCommit<StartCommandInput, StartCommandOutcome, SqlError>({
    maxInFlight: BATCHES_IN_FLIGHT,
    maxBatch: COMMANDS_A_BATCH,
    keysOf: (input) => [input.userId],
    runBatch: (inputs) => runStartCommands(db, inputs),
    runAlone: (input) => runStartCommand(db, input),
    failsAll: (cause) => isDatabaseUnavailable(Cause.squash(cause))
  })
  return (input: StartCommandInput): Effect.Effect<StartCommandOutcome, SqlError> =>
    Effect.flatMap(db.inTransaction, (inTransaction) => inTransaction ? runStartCommand(db, input) : grouped(input))
}
