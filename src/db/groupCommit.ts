/**
 * Group commit: work items that arrive together (while earlier batches are in flight, or in the
 * same tick) run as ONE statement and one commit, each item getting its own outcome — the
 * database's per-statement and per-commit costs, and the client's per-query costs, are paid once
 * a batch instead of once an item. An item alone goes as a batch of one, its own statement.
 *
 * Items that share a key (a stream, a user) never share a batch, and no two batches in flight
 * share a key: a batch never waits on the row locks of another of this process.
 *
 * A batch that fails as a whole (one item's row breaks the statement, a race lost) is re-run item
 * by item, so one item's failure is never another's; an unreachable database (`failsAll`) fails
 * them all at once. Interrupted while still queued, an item never runs; once in a batch it
 * completes as it would alone.
 */
import { Cause, Effect } from "effect"

export interface GroupCommitOptions<I, O, E> {
  /** Batches in flight at once. */
  readonly maxInFlight: number
  /** Items a batch at most. */
  readonly maxBatch: number
  /** Items sharing a key never run in one batch or in two batches at once. */
  readonly keysOf: (item: I) => ReadonlyArray<string>
  /** The batch's statement: one outcome per item, in the items' order. */
  readonly runBatch: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>
  /** One item alone: for a batch of one, and to re-run a failed batch item by item. */
  readonly runAlone: (item: I) => Effect.Effect<O, E>
  /** A failure that would fail each item alone as well (the database is away): not re-run. */
  readonly failsAll: (cause: Cause.Cause<E>) => boolean
}

interface Waiting<I, O, E> {
  readonly item: I
  readonly keys: ReadonlyArray<string>
  readonly resume: (outcome: Effect.Effect<O, E>) => void
}

/** A function that runs an item in the next batch it fits in. */
export const groupCommit = <I, O, E>(options: GroupCommitOptions<I, O, E>): (item: I) => Effect.Effect<O, E> => {
  const queue: Array<Waiting<I, O, E>> = []
  const busy = new Set<string>()
  let inFlight = 0
  let pumpScheduled = false

  /** The next batch: queued items whose keys are free, oldest first. */
  const takeBatch = (): Array<Waiting<I, O, E>> => {
    const batch: Array<Waiting<I, O, E>> = []
    const taken = new Set<string>()
    for (let k = 0; k < queue.length && batch.length < options.maxBatch;) {
      const w = queue[k]!
      if (w.keys.some((key) => busy.has(key) || taken.has(key))) {
        k++
        continue
      }
      queue.splice(k, 1)
      batch.push(w)
      for (const key of w.keys) taken.add(key)
    }
    return batch
  }

  const pump = () => {
    pumpScheduled = false
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = takeBatch()
      if (batch.length === 0) return
      inFlight++
      for (const w of batch) for (const key of w.keys) busy.add(key)
      Effect.runFork(runBatch(batch).pipe(Effect.ensuring(Effect.sync(() => {
        inFlight--
        for (const w of batch) for (const key of w.keys) busy.delete(key)
        schedulePump()
      }))))
    }
  }
  // After the current tick, so items made together join one batch.
  const schedulePump = () => {
    if (pumpScheduled) return
    pumpScheduled = true
    setImmediate(pump)
  }

  const runBatch = (batch: ReadonlyArray<Waiting<I, O, E>>) =>
    Effect.gen(function*() {
      if (batch.length === 1) {
        const w = batch[0]!
        w.resume(yield* Effect.exit(options.runAlone(w.item)))
        return
      }
      const outcomes = yield* Effect.exit(options.runBatch(batch.map((w) => w.item)))
      if (outcomes._tag === "Success") {
        batch.forEach((w, i) => w.resume(Effect.succeed(outcomes.value[i]!)))
        return
      }
      if (options.failsAll(outcomes.cause)) {
        for (const w of batch) w.resume(Effect.failCause(outcomes.cause))
        return
      }
      yield* Effect.forEach(batch, (w) => Effect.map(Effect.exit(options.runAlone(w.item)), (exit) => w.resume(exit)), {
        discard: true
      })
    }).pipe(Effect.uninterruptible)

  return (item: I) =>
    Effect.callback<O, E>((resume) => {
      const waiting: Waiting<I, O, E> = { item, keys: options.keysOf(item), resume }
      queue.push(waiting)
      schedulePump()
      return Effect.sync(() => {
        const at = queue.indexOf(waiting)
        if (at >= 0) queue.splice(at, 1)
      })
    })
}
