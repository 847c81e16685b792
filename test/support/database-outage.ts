/**
 * An outage on PGlite, which runs in-process and so can never be unreachable by itself: its pool
 * wrapped, at the Database edge, so that while the switch is down it refuses connections
 * (ECONNREFUSED) and fails every statement (CONNECTION_CLOSED) — after rolling back the
 * transaction the statement was in, as a server that goes away does. Everything above the pool
 * (the Database service, the stages, the engine, the HTTP edge) runs as it would on PostgreSQL.
 */
import { PGlite } from "@electric-sql/pglite"
import { Effect, Layer } from "effect"
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from "kysely"
import { readFileSync } from "node:fs"
import { inject } from "vitest"
import { Database, makeDatabase } from "../../src/db/Database.ts"
import { migrateToLatest } from "../../src/db/migrate.ts"
import { makePGlitePool } from "../../src/db/pglite-pool.ts"
import type { DB } from "../../src/db/schema.ts"

export interface OutageSwitch {
  /** The database is unreachable from now on. */
  down(): void
  /** It is back. */
  up(): void
}

const driverError = (code: string, message: string) => Object.assign(new Error(`${message} (simulated outage)`), { code })

const outagePool = (inner: PostgresPool, isDown: () => boolean): PostgresPool => ({
  connect: async () => {
    if (isDown()) throw driverError("ECONNREFUSED", "connect ECONNREFUSED")
    const client = await inner.connect()
    let inTransaction = false
    const query = async (text: string, parameters: ReadonlyArray<unknown>) => {
      if (isDown()) {
        // The server's side of a lost connection: whatever the transaction did is gone.
        if (inTransaction) await client.query("rollback", [])
        inTransaction = false
        throw driverError("CONNECTION_CLOSED", "the connection to the database was lost")
      }
      const result = await client.query(text, parameters as Array<unknown>)
      const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase()
      if (verb === "begin" || verb === "start") inTransaction = true
      if (verb === "commit" || verb === "rollback") inTransaction = false
      return result
    }
    return { query: query as PostgresPoolClient["query"], release: () => client.release() }
  },
  end: () => inner.end(),
  options: inner.options
})

/** A new switch, up. */
export const outageSwitch = (): OutageSwitch & { readonly isDown: () => boolean } => {
  let down = false
  return { down: () => void (down = true), up: () => void (down = false), isDown: () => down }
}

/**
 * A migrated in-memory PGlite (from the suite's dump on the PGlite pass, migrated here on the
 * PostgreSQL pass) whose connection `outage` can cut.
 */
export const PGliteWithOutage = (outage: ReturnType<typeof outageSwitch>): Layer.Layer<Database> =>
  Layer.effect(
    Database,
    Effect.gen(function*() {
      const dump = inject("pgliteDump")
      const kysely = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const pglite = await PGlite.create(dump ? { loadDataDir: new Blob([readFileSync(dump)]) } : {})
          const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: outagePool(makePGlitePool(pglite), outage.isDown) }) })
          if (!dump) await migrateToLatest(db)
          return db
        }),
        (db) => Effect.promise(() => db.destroy())
      )
      return makeDatabase(kysely, "pglite")
    })
  )
