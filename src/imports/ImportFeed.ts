/**
 * Live events of imports, for the progress streams. ONE tailer of the event log serves every
 * open stream: each tick (STREAM_POLL_MS, only while someone follows an import) it reads the
 * new events of the followed imports and their status rows — two queries, however many
 * streams are open, whichever process (a Trigger.dev worker, another instance) appended them.
 *
 * A stream begins with a catch-up read of its own import after the checkpoint it resumes
 * from (a reconnect's Last-Event-ID), then takes the live batches. Both read in the log's
 * tailing order — (transaction, position), gated so a late commit is never skipped — and the
 * stream drops what it has passed, so every event reaches it once, in order.
 */
import { Config, Context, Effect, Layer, Queue, Ref, Schedule, Stream } from "effect"
import { Database, type SqlError } from "../db/Database.ts"
import { type Checkpoint, EventStore, type RecordedEvent } from "../eventstore/EventStore.ts"
import type { ImportRow } from "./Imports.ts"

/** Events of one import, in tailing order, and its status row once they are applied. */
export interface ImportBatch {
  readonly events: ReadonlyArray<RecordedEvent>
  readonly status: ImportRow | undefined
}

/** (transaction, position) order: the order of the tailing read. */
export const after = (a: Checkpoint, b: Checkpoint): boolean => {
  const ta = BigInt(a.transactionId)
  const tb = BigInt(b.transactionId)
  return ta !== tb ? ta > tb : a.position > b.position
}

export const checkpointOf = (e: RecordedEvent): Checkpoint => ({ transactionId: e.transactionId, position: e.position })

/** Events read per query; the tailer reads again at once while a read comes back full. */
const PAGE = 1000

export class ImportFeed extends Context.Service<ImportFeed, {
  /** `importId`'s events after `from`, in batches: what is recorded first, then as they commit. Never ends by itself. */
  follow(importId: string, from: Checkpoint): Stream.Stream<ImportBatch, SqlError>
  /** Reads of the log so far by the one tailer (how many queries all streams together cost). */
  readonly polls: Effect.Effect<number>
}>()("app/imports/ImportFeed") {
  static readonly layer = Layer.effect(
    ImportFeed,
    Effect.gen(function*() {
      const db = yield* Database
      const store = yield* EventStore
      const pollMs = yield* Config.Int("STREAM_POLL_MS").pipe(Config.withDefault(250))
      const followers = new Map<string, Set<Queue.Queue<ImportBatch>>>()
      const polls = yield* Ref.make(0)

      const statuses = (importIds: ReadonlyArray<string>) =>
        importIds.length === 0
          ? Effect.succeed(new Map<string, ImportRow>())
          : db.query((q) => q.selectFrom("imports").selectAll().where("import_id", "in", importIds).execute()).pipe(
            Effect.map((rows) => new Map(rows.map((r) => [r.import_id, r])))
          )

      /** Every event after `from` matching `filter`, page by page, in tailing order. */
      const readFrom = (from: Checkpoint, filter: { readonly correlationId?: string; readonly correlationIds?: ReadonlyArray<string> }) =>
        Effect.gen(function*() {
          const events: Array<RecordedEvent> = []
          let cursor = from
          while (true) {
            const page = yield* store.readAll({ after: cursor, limit: PAGE, ...filter })
            events.push(...page.events)
            cursor = page.checkpoint
            if (page.events.length < PAGE) return { events, checkpoint: cursor }
          }
        })

      // The one tailer. It starts at the head: history is what each stream's catch-up reads.
      let position = yield* store.head
      const tick = Effect.gen(function*() {
        if (followers.size === 0) return
        yield* Ref.update(polls, (n) => n + 1)
        const { events, checkpoint } = yield* readFrom(position, { correlationIds: [...followers.keys()] })
        position = checkpoint
        if (events.length === 0) return
        const byImport = new Map<string, Array<RecordedEvent>>()
        for (const e of events) {
          const id = e.metadata.correlationId
          if (id !== undefined) byImport.set(id, [...(byImport.get(id) ?? []), e])
        }
        const rows = yield* statuses([...byImport.keys()])
        for (const [importId, batch] of byImport) {
          for (const queue of followers.get(importId) ?? []) Queue.offerUnsafe(queue, { events: batch, status: rows.get(importId) })
        }
      })
      yield* tick.pipe(
        Effect.catch((e) => Effect.logWarning("import feed: reading the log failed; trying again", e)),
        Effect.repeat(Schedule.spaced(`${pollMs} millis`)),
        Effect.forkScoped
      )

      const follow = (importId: string, from: Checkpoint): Stream.Stream<ImportBatch, SqlError> =>
        Stream.unwrap(Effect.gen(function*() {
          // Follow before the catch-up, so nothing committed in between is missed.
          const queue = yield* Effect.acquireRelease(
            Effect.tap(Queue.unbounded<ImportBatch>(), (q) => Effect.sync(() => followers.set(importId, (followers.get(importId) ?? new Set()).add(q)))),
            (q) => Effect.sync(() => {
              const set = followers.get(importId)
              set?.delete(q)
              if (set?.size === 0) followers.delete(importId)
            })
          )
          const caughtUp = yield* readFrom(from, { correlationId: importId })
          const status = (yield* statuses([importId])).get(importId)
          let passed = from
          // What the stream has already passed is dropped: a live batch may repeat the catch-up's end.
          const onlyNew = (batch: ImportBatch): ImportBatch => {
            const events = batch.events.filter((e) => after(checkpointOf(e), passed))
            if (events.length > 0) passed = checkpointOf(events[events.length - 1]!)
            return { events, status: batch.status }
          }
          return Stream.concat(Stream.succeed({ events: caughtUp.events, status }), Stream.fromQueue(queue)).pipe(Stream.map(onlyNew))
        }))

      return ImportFeed.of({ follow, polls: Ref.get(polls) })
    })
  )
}
