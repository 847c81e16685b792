/**
 * A Kysely `PostgresPool` over one embedded PGlite instance.
 *
 * PGlite has exactly one connection, so this pool hands its single client to one
 * borrower at a time (a FIFO mutex): a Kysely transaction keeps the connection until
 * it commits or rolls back, and every other query waits its turn. That is what makes
 * transactions on PGlite behave as they do on PostgreSQL — never interleaved.
 *
 * Every hand-over goes through setImmediate. PGlite answers in-process with promises
 * alone, so without it a running import is one unbroken chain of microtasks that keeps
 * the event loop from sockets and timers: the HTTP server stalled for a whole import
 * (2.4 s measured for 2,500 leads, more under load, enough to reset kept-alive sockets).
 */
import type { PGlite } from "@electric-sql/pglite"
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely"

export const makePGlitePool = (pglite: PGlite): PostgresPool => {
  let busy = false
  const waiting: Array<() => void> = []

  const release = () => {
    const next = waiting.shift()
    if (next) setImmediate(next)
    else busy = false
  }

  const client: PostgresPoolClient = {
    query: (async (sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<unknown>> => {
      const result = await pglite.query(sql, parameters as Array<unknown>)
      // Kysely reads `command` to report affected rows and to spot COMMIT/ROLLBACK.
      const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? "SELECT"
      return {
        command: verb === "WITH" ? "UPDATE" : verb as PostgresQueryResult<unknown>["command"],
        rowCount: result.affectedRows ?? result.rows.length,
        rows: result.rows
      }
    }) as PostgresPoolClient["query"],
    release
  }

  return {
    connect: () =>
      new Promise<PostgresPoolClient>((resolve) => {
        if (!busy) {
          busy = true
          setImmediate(() => resolve(client))
        } else {
          waiting.push(() => resolve(client))
        }
      }),
    end: () => pglite.close(),
    options: {}
  }
}
