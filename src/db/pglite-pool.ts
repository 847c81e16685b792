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
 *
 * A statement with parameters is prepared once, by name, and reused (as postgres.js does on
 * PostgreSQL): PGlite's own `query` parses, analyzes and plans its text on every call, and for
 * the pipeline's statements — an append and its projections' CTEs are one statement — that was
 * ~40 % of the database's work (measured on PostgreSQL without prepared statements). And, as on
 * PostgreSQL (src/db/planKeepingDialect.ts), a transaction keeps its plans.
 */
import type { PGlite } from "@electric-sql/pglite"
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely"
import { keepPlans } from "./planKeepingDialect.ts"

/** By default at most this many named statements are kept; the least recently used is closed. */
const MAX_STATEMENTS = 500

/** Only these can be prepared (PREPARE's own rule); anything else runs as PGlite runs it. */
const preparable = /^\s*(select|insert|update|delete|with|values)\b/i
const beginning = /^\s*(begin|start\s+transaction)\b/i
/** "cached plan must not change result type", "prepared statement does not exist". */
const staleCodes = new Set(["0A000", "26000"])

interface Statement {
  readonly name: string
  /** The parameters' type oids, as the database inferred them (for PGlite's serializers). */
  readonly types: ReadonlyArray<number>
}

export const makePGlitePool = (pglite: PGlite, options: { readonly maxStatements?: number } = {}): PostgresPool => {
  const maxStatements = options.maxStatements ?? MAX_STATEMENTS
  let busy = false
  const waiting: Array<() => void> = []

  const release = () => {
    const next = waiting.shift()
    if (next) setImmediate(next)
    else busy = false
  }

  // PGlite's protocol helpers, from the module already loaded for `pglite` (never loaded by a
  // PostgreSQL deployment, which imports this file).
  const pgliteModule = import("@electric-sql/pglite")
  const statements = new Map<string, Statement>()
  let named = 0

  const send = (message: Uint8Array) => pglite.execProtocolStream(message, { syncToFs: false })

  /** Runs `messages` up to a Sync, whatever fails, and gives back what the database answered. */
  const extended = async (messages: ReadonlyArray<() => Uint8Array>) => {
    const { protocol } = await pgliteModule
    const answered = []
    try {
      for (const message of messages) answered.push(...await send(message()))
    } finally {
      answered.push(...await send(protocol.serialize.sync()))
    }
    return answered
  }

  const prepare = async (text: string): Promise<Statement> => {
    const { protocol, parse } = await pgliteModule
    const name = `kysely_${++named}`
    const described = await extended([
      () => protocol.serialize.parse({ name, text }),
      () => protocol.serialize.describe({ type: "S", name })
    ])
    const statement = { name, types: parse.parseDescribeStatementResults(described) }
    statements.set(text, statement)
    if (statements.size > maxStatements) {
      const [oldest, { name: closed }] = statements.entries().next().value!
      statements.delete(oldest)
      // A statement left open by a failed close costs only its memory.
      await extended([() => protocol.serialize.close({ type: "S", name: closed })]).catch(() => undefined)
    }
    return statement
  }

  const execute = async (text: string, parameters: ReadonlyArray<unknown>) => {
    const { protocol, parse } = await pgliteModule
    let statement = statements.get(text)
    if (statement === undefined) statement = await prepare(text)
    else {
      // Most recently used last.
      statements.delete(text)
      statements.set(text, statement)
    }
    const { name, types } = statement
    const values = parameters.map((value, i) => {
      if (value === null || value === undefined) return null
      const serialize = pglite.serializers[types[i]!]
      return serialize ? serialize(value) : String(value)
    })
    const answered = await extended([
      () => protocol.serialize.bind({ statement: name, values }),
      () => protocol.serialize.describe({ type: "P" }),
      () => protocol.serialize.execute({})
    ]).catch((error: unknown) => {
      // A statement whose tables changed shape under it, or that is gone: prepared anew next time.
      if (staleCodes.has((error as { code?: string }).code ?? "")) statements.delete(text)
      throw error
    })
    await pglite.syncToFs()
    return parse.parseResults(answered, pglite.parsers)[0]!
  }

  const run = (sql: string, parameters: ReadonlyArray<unknown>) =>
    beginning.test(sql) && parameters.length === 0
      ? pglite.exec(`${sql}; ${keepPlans.sql}`).then((results) => results[0]!)
      : parameters.length > 0 && preparable.test(sql)
      ? execute(sql, parameters)
      : pglite.query(sql, parameters as Array<unknown>)

  const client: PostgresPoolClient = {
    query: (async (sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<unknown>> => {
      const result = await run(sql, parameters)
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
