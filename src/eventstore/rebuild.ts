/**
 * Replays projections from the first event: empties their tables and applies every
 * committed event again, in one transaction. Writers wait on the tables' locks while
 * it runs, so nothing is applied twice or missed; readers see the old rows until the
 * commit. For support staff who suspect a read model, and to prove projections are
 * pure functions of the events (a rebuild must reproduce the same rows).
 */
import { Effect } from "effect"
import { sql } from "kysely"
import { Database } from "../db/Database.ts"
import { EventStore } from "./EventStore.ts"
import type { Projection } from "./Projection.ts"

export const rebuildProjections = (projections: ReadonlyArray<Projection>, options: { readonly batchSize?: number } = {}) =>
  Effect.gen(function*() {
    const db = yield* Database
    const store = yield* EventStore
    const tables = [...new Set(projections.flatMap((p) => p.tables))]
    const types = [...new Set(projections.flatMap((p) => p.handles))]
    return yield* db.transaction(Effect.gen(function*() {
      yield* db.query((q) => sql`lock table ${sql.join(tables.map((t) => sql.table(t)))} in share row exclusive mode`.execute(q))
      for (const table of tables) yield* db.query((q) => sql`delete from ${sql.table(table)}`.execute(q))
      let replayed = 0
      for (let after = 0;;) {
        const events = yield* store.readCommitted({ afterPosition: after, types, limit: options.batchSize ?? 2000 })
        if (events.length === 0) return { projections: projections.map((p) => p.name), events: replayed }
        for (const projection of projections) {
          const handled = events.filter((e) => projection.handles.includes(e.type))
          if (handled.length > 0) yield* projection.apply(handled)
        }
        replayed += events.length
        after = events[events.length - 1]!.position
      }
    }))
  })
