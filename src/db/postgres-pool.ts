/**
 * The postgres.js pool as Kysely gets it, made safe for outages.
 *
 * kysely-postgres-js runs every query and transaction on a reserved connection. postgres.js
 * 3.4 (porsager/postgres#1154, #1208) crashes the whole process — an uncatchable TypeError from
 * a setImmediate — when a query is written to a reserved connection whose socket has closed:
 * the ROLLBACK after a statement that lost its connection, the next statement of a transaction
 * whose server went away, or anyone's query on such a connection after its release put it back
 * among the open ones. So a reservation here stops at the first sign that its connection is gone
 * (a connection-class error, or postgres.js's own close bookkeeping) and answers every later
 * query at once with CONNECTION_CLOSED, and its release leaves the dead connection where
 * postgres.js filed it (closed, to be reconnected on demand).
 *
 * postgres.js 3.4 also keeps a connection's count of result rows across an error (porsager/postgres
 * #1119, #1181): a statement that fails after sending rows (a cast that breaks on row 3 of a
 * batch) leaves it at 2, and the next statement on that connection comes back with its rows from
 * index 2 on, two holes first. Only a completed statement resets it; so a reservation that saw a
 * statement fail runs an empty one before its connection goes back (inside a transaction the
 * ROLLBACK does it).
 *
 * Two bounds keep the service from hanging on a database that is away: a reservation waits at
 * most `acquireTimeoutMs` for a connection (then POOL_TIMEOUT, nothing was sent), and closing
 * the pool waits at most `endTimeoutSeconds` — postgres.js alone waits forever for a connection
 * that died with a statement on it.
 */
import type postgres from "postgres"

export interface GuardOptions {
  /** How long a query or transaction waits for a connection of the pool. */
  readonly acquireTimeoutMs: number
  /** How long closing the pool waits for queries still running before it drops their connections. */
  readonly endTimeoutSeconds: number
}

/** Driver codes after which a connection is gone for good (postgres.js's and Node's socket codes). */
const lostCodes = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "ECONNRESET", "EPIPE", "ETIMEDOUT"])

/** True when `error` means the connection it happened on is closed (the server ends it after a FATAL). */
export const connectionLost = (error: unknown): boolean => {
  const e = error as { code?: unknown; severity?: unknown } | null
  if (typeof e?.code !== "string") return false
  return lostCodes.has(e.code) || e.severity === "FATAL" || e.severity === "PANIC" || e.code.startsWith("08") ||
    /^57P0[123]$/.test(e.code)
}

const driverError = (code: string, message: string): Error => Object.assign(new Error(message), { code })

/** A query that fails at once, shaped like postgres.js's pending query as kysely-postgres-js uses it. */
const failedQuery = (error: Error) => Object.assign(Promise.reject(error), { cancel: () => undefined })

/** What postgres.js keeps about the connection behind a reservation: `reserved` is nulled when it closes. */
interface ConnectionState {
  readonly reserved: unknown
}

/** A statement that completes with no rows: its CommandComplete zeroes postgres.js's row count. */
const RESET_ROW_COUNT = "select where false"

const guardReservation = (reserved: postgres.ReservedSql<{}>): postgres.ReservedSql<{}> => {
  let connection: ConnectionState | undefined
  let lost: Error | undefined
  let failed = false
  const isLost = () => lost !== undefined || (connection !== undefined && connection.reserved == null)
  // postgres.js hands the connection to `onexecute` once a statement without parameters (BEGIN,
  // COMMIT) is written; it must answer true ("ready for more").
  const onexecute = (c: ConnectionState) => {
    connection ??= c
    return true
  }
  const unsafe = (text: string, parameters?: Array<any>, options?: postgres.UnsafeQueryOptions) => {
    if (isLost()) {
      return failedQuery(lost ?? driverError("CONNECTION_CLOSED", "the connection to the database was lost"))
    }
    const query = reserved.unsafe(text, parameters, { ...options, onexecute } as postgres.UnsafeQueryOptions)
    // postgres.js settles a failed query through its `reject` (wrapped here, not awaited: the query is lazy).
    const pending = query as unknown as { reject: (error: unknown) => void }
    const reject = pending.reject
    pending.reject = (error) => {
      if (connectionLost(error)) lost ??= driverError("CONNECTION_CLOSED", `the connection to the database was lost: ${String((error as Error)?.message)}`)
      failed = true
      reject(error)
    }
    return query
  }
  // A lost connection was already filed as closed by postgres.js; releasing it would file it as open.
  const release = () => {
    if (isLost()) return
    if (!failed) return reserved.release()
    // The row count reset (see the file header) before anyone else gets the connection.
    reserved.unsafe(RESET_ROW_COUNT).then(() => reserved.release(), () => isLost() || reserved.release())
  }
  return new Proxy(reserved, {
    get: (target, property, receiver) =>
      property === "unsafe" ? unsafe : property === "release" ? release : Reflect.get(target, property, receiver)
  })
}

/** `sql` with reservations guarded and bounded, and a bounded `end` (see the file header). */
export const guardPool = <S extends postgres.Sql<any>>(sql: S, options: GuardOptions): S => {
  const reserve = () =>
    new Promise<postgres.ReservedSql<{}>>((resolve, reject) => {
      let waiting = true
      const timer = setTimeout(() => {
        waiting = false
        reject(driverError("POOL_TIMEOUT", `no database connection within ${options.acquireTimeoutMs} ms (the database is unreachable or the pool is exhausted)`))
      }, options.acquireTimeoutMs)
      sql.reserve().then(
        (reserved) => {
          clearTimeout(timer)
          // Too late: nobody waits for it any more, it goes back to the pool unused.
          if (waiting) resolve(guardReservation(reserved))
          else reserved.release()
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error)
        }
      )
    })
  const end = (endOptions?: { timeout?: number }) => sql.end({ timeout: options.endTimeoutSeconds, ...endOptions })
  return new Proxy(sql, {
    get: (target, property, receiver) =>
      property === "reserve" ? reserve : property === "end" ? end : Reflect.get(target, property, receiver)
  })
}
