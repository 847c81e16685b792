/**
 * Entry point: `npm start`. Opens the database (embedded PGlite under .data/pglite
 * unless DATABASE_URL is set), applies migrations, heals the outbox, creates a demo
 * user on an empty embedded database, and serves HTTP on PORT (default 3000).
 * SIGTERM or SIGINT stops it within SHUTDOWN_GRACE_MS (exit 0; 1 when it had to abandon work).
 */
import { runMain } from "@effect/platform-node/NodeRuntime"
import { Config, Effect, Layer } from "effect"
import { ServerLive, ServicesLive } from "./app.ts"
import { Database } from "./db/Database.ts"
import { DemoUser } from "./demo.ts"
import { ShutdownGrace, teardown } from "./shutdown.ts"

const Main = Layer.unwrap(Effect.gen(function*() {
  const port = yield* Config.Port("PORT").pipe(Config.withDefault(3000))
  return ServerLive(port).pipe(Layer.provideMerge(DemoUser(port)))
})).pipe(
  Layer.provide(ServicesLive),
  Layer.provide(Database.layer),
  // First up, last down: armed while everything else starts and stops.
  Layer.provide(ShutdownGrace)
)

runMain(Layer.launch(Main), { teardown })
