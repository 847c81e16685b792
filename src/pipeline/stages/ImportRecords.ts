/**
 * What every stage of an import reads and writes through: its recorded events, looked up
 * by deterministic id (with a small cache: recorded events never change), its request,
 * the append-once rule, and the guard that keeps page work off an import that has ended.
 *
 * The guard: an import halts when its end, its refund or a cancel request is recorded.
 * A stage checks that first and does nothing on a halted import (no provider call, no
 * event); and it records its own event inside a transaction holding the import's lock,
 * which the refund and the cancel take too — so no charge or page can slip in after them.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import { type DomainEvent, ImportRequested, importStream } from "../../../events/index.ts"
import type { Database, SqlError } from "../../db/Database.ts"
import { textArray } from "../../db/sql.ts"
import type { EventStore, RecordedEvent } from "../../eventstore/EventStore.ts"
import { haltEventIds, importEventIds } from "../importEventIds.ts"
import type { Fact, HaltReason } from "../importProcess.ts"
import { StageFailed, type StageName } from "../StageFailed.ts"
import type { Hold, KeyRow } from "./knownKeys.ts"

/** The events recorded under the ids asked for: each taken as `Class` (undefined if absent or another type). */
export interface Recorded {
  <A extends DomainEvent>(eventId: string, Class: new(...args: any) => A): RecordedEvent<A> | undefined
  /** Whether anything is recorded under `eventId`. */
  readonly has: (eventId: string) => boolean
}

/**
 * Events kept per process: a stage needs its own page's (fetched, deduped), so a few per import
 * in flight — enough for some 60 imports at once; more would grow memory with the import.
 */
const CACHE_SIZE = 256

/** Requests and provider account ids kept per process (one per import in flight). */
const LOOKUP_CACHE_SIZE = 10_000

export type ImportRecords = ReturnType<typeof makeImportRecords>

export const makeImportRecords = (db: Database["Service"], store: EventStore["Service"]) => {
  const cache = new Map<string, RecordedEvent>()
  const remember = (events: Iterable<RecordedEvent>) => {
    for (const e of events) {
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!)
      cache.set(e.eventId, e)
    }
  }

  /**
   * The events recorded under `eventIds`: cached ones from memory, the rest in one query. The
   * answer is a snapshot of its own, so other imports sharing the cache cannot evict it.
   */
  const recorded = (eventIds: ReadonlyArray<string>): Effect.Effect<Recorded, SqlError> =>
    Effect.gen(function*() {
      const found = new Map<string, RecordedEvent>()
      for (const id of eventIds) {
        const e = cache.get(id)
        if (e !== undefined) found.set(id, e)
      }
      const missing = eventIds.filter((id) => !found.has(id))
      if (missing.length > 0) {
        const read = yield* store.readEvents(missing)
        for (const [id, e] of read) found.set(id, e)
        remember(read.values())
      }
      const get = <A extends DomainEvent>(eventId: string, Class: new(...args: any) => A) => taken(found.get(eventId), Class)
      return Object.assign(get, { has: (eventId: string) => found.has(eventId) })
    })

  /** A recorded event this process holds already, taken as `Class` (no query; undefined if not held). */
  const cached = <A extends DomainEvent>(eventId: string, Class: new(...args: any) => A): RecordedEvent<A> | undefined =>
    taken(cache.get(eventId), Class)

  /** Why page work must stop, if it must: the import ended, was refunded, or a cancel was asked. */
  const haltOf = (importId: string, get: Recorded): HaltReason | undefined => {
    const [ended, refunded, cancelRequested] = haltEventIds(importId)
    return get.has(ended) ? "ended" : get.has(refunded) ? "refunded" : get.has(cancelRequested) ? "cancel_requested" : undefined
  }

  /** The recorded events under `eventIds` and the import's halt (one query for what is not cached). */
  const check = (importId: string, eventIds: ReadonlyArray<string>) =>
    Effect.map(recorded([...eventIds, ...haltEventIds(importId)]), (get) => ({ get, halt: haltOf(importId, get) }))

  const halted = (stage: StageName, importId: string, reason: HaltReason, what: string) =>
    Effect.as(
      Effect.logInfo(`${stage}: import ${importId} ${describeHalt(reason)}; ${what} did nothing`),
      { _tag: "Halted", reason } satisfies Fact as Fact
    )

  /**
   * Takes the import's lock for the rest of the transaction (and the user's, for a persist:
   * its final dedupe check must see every other import's rows), then answers as `check` does,
   * from what is committed once the lock is ours — in one round trip (migration 0008). The
   * refund and the cancel take the import's lock too, so a stage's write and the import's
   * end never interleave. Only recorded events missing from the cache are read (rarely any).
   */
  const lockAndCheck = (importId: string, eventIds: ReadonlyArray<string>, userId?: string) =>
    Effect.gen(function*() {
      const ids = [...eventIds, ...haltEventIds(importId)]
      const { rows } = yield* db.query((q) =>
        sql<{ id: string }>`select id from import_lock_and_check(${textArray(locksOf(importId, userId))}, ${textArray(ids)}::uuid[]) as id`
          .execute(q)
      )
      const get = yield* recorded(rows.map((r) => r.id))
      return { get, halt: haltOf(importId, get), looked: undefined }
    })

  /**
   * lockAndCheck, and in the same round trip (migration 0013) the lookups the stage makes next
   * under the lock, for keys it knew before it: which of `keys` are in the user's lists and in
   * which, which this import has seen (`seen`), and its credit hold (`hold`). They are read after
   * the locks are ours, as a statement after lockAndCheck would read them. `lockUser` takes the
   * user's lock too (a persist's).
   */
  const lockCheckAndLookUp = (
    importId: string,
    eventIds: ReadonlyArray<string>,
    lookUp: { readonly userId: string; readonly keys: ReadonlyArray<string>; readonly seen: boolean; readonly hold: boolean; readonly lockUser: boolean }
  ) =>
    Effect.gen(function*() {
      const ids = [...eventIds, ...haltEventIds(importId)]
      const locks = locksOf(importId, lookUp.lockUser ? lookUp.userId : undefined)
      const { rows } = yield* db.query((q) =>
        sql<{ found: LookedUp & { ids: Array<string> } }>`select import_lock_check_and_look_up(${textArray(locks)}, ${textArray(ids)}::uuid[],
            ${lookUp.userId}::uuid, ${importId}::uuid, ${textArray(lookUp.keys)}, ${lookUp.seen}::boolean, ${lookUp.hold}::boolean) as found`
          .execute(q)
      )
      const { ids: found, ...looked } = rows[0]!.found
      const get = yield* recorded(found)
      return { get, halt: haltOf(importId, get), looked }
    })

  const must = <A>(stage: StageName, what: string) => (value: A | undefined) =>
    value === undefined
      ? Effect.fail(new StageFailed({ stage, kind: "permanent", code: "missing_event", message: `${what} is not recorded` }))
      : Effect.succeed(value)

  // An import's request never changes: read once per import, not once per stage.
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
          if (requests.size >= LOOKUP_CACHE_SIZE) requests.clear()
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
      if (providers.size >= LOOKUP_CACHE_SIZE) providers.clear()
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
   * Appends under a deterministic id. Another worker recording the same fact first (possibly
   * with other content, e.g. a provider that answered differently) wins: what it recorded is
   * what we return. Call `remember` with the result once its transaction has committed.
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

  /** The import's credit hold: reserved, charged and refunded so far. */
  const hold = (importId: string) =>
    db.query((q) =>
      q.selectFrom("credit_holds").select(["reserved", "charged", "refunded"]).where("import_id", "=", importId)
        .executeTakeFirstOrThrow()
    ).pipe(Effect.map((h) => ({ reserved: Number(h.reserved), charged: Number(h.charged), refunded: Number(h.refunded) })))

  return {
    ids: importEventIds,
    recorded,
    cached,
    remember,
    check,
    halted,
    lockAndCheck,
    lockCheckAndLookUp,
    must,
    request,
    providerAccountId,
    metadata,
    appendOnce,
    hold
  }
}

/** `e` taken as `Class`: undefined if there is none or it is another type. */
const taken = <A extends DomainEvent>(e: RecordedEvent | undefined, Class: new(...args: any) => A) =>
  e !== undefined && e.event instanceof Class ? e as RecordedEvent<A> : undefined

/** The import's lock, and for a persist its user's (its final dedupe check must see every other import's rows). */
const locksOf = (importId: string, userId: string | undefined) =>
  userId === undefined ? [`import:${importId}`] : [`import:${importId}`, `persist:${userId}`]

/** What lockCheckAndLookUp read beside the check (null: not asked for). */
export interface LookedUp {
  readonly keys: ReadonlyArray<KeyRow>
  readonly seen: ReadonlyArray<string> | null
  readonly hold: Hold | null
}

const describeHalt = (reason: HaltReason): string =>
  reason === "ended" ? "has ended" : reason === "refunded" ? "is ending (refunded)" : "was asked to cancel"
