/**
 * The postgres.js pool as the service uses it (guardPool), against a PostgreSQL server of this
 * test's own that it kills connections of, stops and starts. Without the guard, the second
 * statement below (a ROLLBACK on a connection whose backend died) crashes the whole process
 * with an uncatchable TypeError (porsager/postgres#1208). Runs in both passes of the suite.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import postgres from "postgres"
import { toSqlError } from "../../src/db/Database.ts"
import { guardPool } from "../../src/db/postgres-pool.ts"
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.ts"

let server: PrivatePostgres

beforeAll(async () => {
  server = await startPrivatePostgres()
}, 60_000)
afterAll(() => server?.destroy())

const pool = (max: number, acquireTimeoutMs = 10_000) =>
  guardPool(postgres(server.url, { max, onnotice: () => {}, backoff: () => 0.01 }), { acquireTimeoutMs, endTimeoutSeconds: 1 })

const codeOf = (promise: Promise<unknown>) => promise.then(() => "succeeded", (e: { code?: string }) => e.code)

describe("the postgres.js pool under outages", () => {
  it("a reserved connection whose backend dies fails its statements with CONNECTION_CLOSED, and the pool goes on", async () => {
    server.start()
    const sql = pool(2)
    const killer = postgres(server.url, { max: 1, onnotice: () => {} })
    try {
      const reserved = await sql.reserve()
      await reserved.unsafe("begin")
      const [row] = await reserved.unsafe<Array<{ pid: number }>>("select pg_backend_pid() as pid")
      // Returns once the backend is gone.
      await killer`select pg_terminate_backend(${row!.pid}, 10000)`
      // CONNECTION_CLOSED, or ECONNRESET / EPIPE when the write meets the closing socket first.
      const first = await codeOf(reserved.unsafe("select 1"))
      expect(toSqlError({ code: first, message: "" }).kind).toBe("connection")
      // Where postgres.js alone crashes the process.
      expect(await codeOf(reserved.unsafe("rollback"))).toBe("CONNECTION_CLOSED")
      reserved.release()
      // The dead connection was not put back among the open ones: every later use works.
      for (let i = 0; i < 4; i++) {
        const next = await sql.reserve()
        expect(await next.unsafe("select 1 as x")).toEqual([{ x: 1 }])
        next.release()
      }
      expect(toSqlError({ code: "CONNECTION_CLOSED", message: "lost" })).toMatchObject({ kind: "connection", retryable: true })
    } finally {
      await sql.end()
      await killer.end()
    }
  })

  it("a stopped server fails statements at once with a connection-class error; the pool reconnects when it is back", async () => {
    server.start()
    const sql = pool(3)
    try {
      expect(await sql.unsafe("select 1 as x")).toEqual([{ x: 1 }])
      const reserved = await sql.reserve()
      await reserved.unsafe("begin")
      await reserved.unsafe("create table cut_short (id int)")
      server.stop()
      // The transaction the stop cut short: its statements fail, nothing more is sent on it.
      const lost = await codeOf(reserved.unsafe("insert into cut_short values (1)"))
      expect(toSqlError({ code: lost, message: "" }).kind).toBe("connection")
      expect(await codeOf(reserved.unsafe("commit"))).toBe("CONNECTION_CLOSED")
      reserved.release()
      const refused = await codeOf(sql.unsafe("select 1"))
      expect(toSqlError({ code: refused, message: "" }).kind).toBe("connection")

      server.start()
      // The first statement after a restart may still meet the old connection's end; then it works.
      let answer: unknown
      for (let attempt = 0; attempt < 20 && answer === undefined; attempt++) {
        answer = await sql.unsafe("select to_regclass('cut_short') as t").catch(() => undefined)
      }
      // The table created in the transaction that never committed does not exist.
      expect(answer).toEqual([{ t: null }])
    } finally {
      server.start()
      await sql.end()
    }
  })

  it("waiting for a connection is bounded (POOL_TIMEOUT), and a connection that comes too late goes back to the pool", async () => {
    server.start()
    const sql = pool(1, 300)
    try {
      const held = await sql.reserve()
      expect(await codeOf(sql.reserve())).toBe("POOL_TIMEOUT")
      expect(toSqlError({ code: "POOL_TIMEOUT", message: "" })).toMatchObject({ kind: "connection", retryable: true })
      held.release()
      // The reservation that timed out got the connection afterwards and released it unused.
      const again = await sql.reserve()
      expect(await again.unsafe("select 2 as x")).toEqual([{ x: 2 }])
      again.release()
    } finally {
      await sql.end()
    }
  })

  it("a statement that fails after sending rows leaves the next one on its connection whole (porsager/postgres#1119)", async () => {
    server.start()
    const sql = pool(1)
    try {
      for (const prepare of [false, true]) {
        const first = await sql.reserve()
        // Rows 1–3 are sent, then row 4 divides by zero.
        expect(await codeOf(first.unsafe("select i, 1 / (4 - i) as x from generate_series(1, 10) i", [], { prepare }))).toBe("22012")
        first.release()
        // The same (only) connection: without the guard its rows came back from index 3 on, three holes first.
        const next = await sql.reserve()
        const rows = await next.unsafe<Array<{ x: number }>>("select x from generate_series(1, 5) x", [], { prepare })
        next.release()
        expect(rows.length).toBe(5)
        expect([...rows]).toEqual([1, 2, 3, 4, 5].map((x) => ({ x })))
      }
    } finally {
      await sql.end()
    }
  })
})
