/**
 * `npm run projections:rebuild [-- name ...]`: replays the named projections (all by
 * default) from the first event, on the configured database (DATABASE_URL, or the
 * embedded PGlite when the service is stopped: PGlite has a single owner).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { inlineProjections } from "../../projections/index.ts"
import { Database } from "../db/Database.ts"
import { EventStore } from "../eventstore/EventStore.ts"
import { rebuildProjections } from "../eventstore/rebuild.ts"

const names = process.argv.slice(2)
const unknown = names.filter((n) => !inlineProjections.some((p) => p.name === n))

const program = Effect.gen(function*() {
  if (unknown.length > 0) {
    return yield* Effect.fail(`unknown projection(s): ${unknown.join(", ")}; known: ${inlineProjections.map((p) => p.name).join(", ")}`)
  }
  const chosen = names.length === 0 ? inlineProjections : inlineProjections.filter((p) => names.includes(p.name))
  const started = Date.now()
  const result = yield* rebuildProjections(chosen)
  yield* Console.log(`rebuilt ${result.projections.join(", ")} from ${result.events} events in ${Date.now() - started} ms`)
})

NodeRuntime.runMain(program.pipe(Effect.provide(EventStore.layer().pipe(Layer.provideMerge(Database.layer)))))
