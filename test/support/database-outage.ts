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
  /**
   * Goes down right after the next transaction that ran a statement matching `statement` commits,
   * and (with `refusals`) back up once it has refused that many connections or statements.
   */
  downAfterCommitOf(statement: RegExp, refusals?: number): void
  /** Goes down right after the next statement matching `statement` has run (its answer delivered). */
  downAfter(statement: RegExp): void
}

const driverError = (code: string, message: string) => Object.assign(new Error(`${message} (simulated outage)`), { code })

const outagePool = (inner: PostgresPool, outage: ReturnType<typeof outageSwitch>): PostgresPool => ({
  connect: async () => {
    if (outage.refuse()) throw driverError("ECONNREFUSED", "connect ECONNREFUSED")
    const client = await inner.connect()
    let inTransaction = false
    let tripOnCommit = false
    const query = async (text: string, parameters: ReadonlyArray<unknown>) => {
      if (outage.refuse()) {
        // The server's side of a lost connection: whatever the transaction did is gone.
        if (inTransaction) await client.query("rollback", [])
        inTransaction = false
        throw driverError("CONNECTION_CLOSED", "the connection to the database was lost")
      }
      const result = await client.query(text, parameters as Array<unknown>)
      outage.ran(text)
      const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase()
      if (verb === "begin" || verb === "start") inTransaction = true
      if (inTransaction && outage.trips(text)) tripOnCommit = true
      if (verb === "commit" || verb === "rollback") {
        if (verb === "commit" && tripOnCommit) outage.fall()
        inTransaction = tripOnCommit = false
      }
      return result
    }
    return { query: query as PostgresPoolClient["query"], release: () => client.release() }
  },
  end: () => inner.end(),
  options: inner.options
})

/** A new switch, up. */
export const outageSwitch = () => {
  let down = false
  let trip: { readonly statement: RegExp; readonly refusals: number } | undefined
  let refusalsLeft = Infinity
  let after: RegExp | undefined
  const outage = {
    down: () => void (down = true),
    up: () => {
      down = false
      refusalsLeft = Infinity
    },
    downAfterCommitOf: (statement: RegExp, refusals = Infinity) => void (trip = { statement, refusals }),
    downAfter: (statement: RegExp) => void (after = statement),
    /** `text` has run: down now if it is the statement `downAfter` waits for. */
    ran: (text: string) => {
      if (after === undefined || !after.test(text)) return
      after = undefined
      refusalsLeft = Infinity
      down = true
    },
    /** Whether `text` arms the trip: the commit of its transaction then calls `fall` (which disarms it). */
    trips: (text: string) => trip !== undefined && trip.statement.test(text),
    fall: () => {
      refusalsLeft = trip?.refusals ?? Infinity
      trip = undefined
      down = true
    },
    /** Whether a connection or statement is refused now (counting down to the end of a bounded outage). */
    refuse: () => {
      if (!down) return false
      if (--refusalsLeft <= 0) down = false
      return true
    }
  }
  return outage satisfies OutageSwitch
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
          const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: outagePool(makePGlitePool(pglite), outage) }) })
          if (!dump) await migrateToLatest(db)
          return db
        }),
        (db) => Effect.promise(() => db.destroy())
      )
      return makeDatabase(kysely, "pglite")
    })
  )
