/**
 * A projection turns events into rows. It names the event types it handles and
 * applies a batch of them inside the caller's transaction: the append transaction
 * for inline projections, the checkpoint transaction for async ones.
 */
import type { Effect } from "effect"
import type { Database, SqlError } from "../db/Database.ts"
import type { RecordedEvent } from "./EventStore.ts"

export interface Projection {
  readonly name: string
  readonly handles: ReadonlyArray<string>
  /** The tables it writes, and nothing else writes: what a rebuild empties and refills. */
  readonly tables: ReadonlyArray<string>
  /** Applies `events` (only handled types, in global order). Must be deterministic: replays run it again. */
  apply(events: ReadonlyArray<RecordedEvent>): Effect.Effect<void, SqlError, Database>
}
