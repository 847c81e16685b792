/**
 * A transaction's BEGIN and its plan setting go in one round trip (src/db/planKeepingDialect.ts):
 * the setting is written before BEGIN is answered, and a failure of either leaves no transaction
 * open on the connection. (That the setting holds on a real PostgreSQL: test/pipeline/generic-plans.int.)
 */
import type { CompiledQuery, DatabaseConnection, QueryResult } from "kysely"
import { describe, expect, it } from "vitest"
import { beginKeepingPlans } from "../../src/db/planKeepingDialect.ts"

/** A connection that records what is written to it and answers only when told to. */
const scriptedConnection = (fails: ReadonlySet<string> = new Set()) => {
  const written: Array<string> = []
  const pending: Array<() => void> = []
  const connection: DatabaseConnection = {
    executeQuery: <R>(query: CompiledQuery) => {
      written.push(query.sql)
      return new Promise<QueryResult<R>>((resolve, reject) =>
        pending.push(() => (fails.has(query.sql) ? reject(new Error(`${query.sql} failed`)) : resolve({ rows: [] })))
      )
    },
    streamQuery: () => {
      throw new Error("not used")
    }
  }
  /** Answers everything written so far, in order, as the server would. */
  const answer = async () => {
    while (pending.length > 0) pending.shift()!()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { connection, written, answer }
}

const begin = (connection: DatabaseConnection) => async () => {
  await connection.executeQuery({ sql: "begin" } as CompiledQuery)
}

const SET = "set local plan_cache_mode = force_generic_plan"

describe("beginning a transaction that keeps its plans", () => {
  it("writes the plan setting behind BEGIN before BEGIN is answered", async () => {
    const db = scriptedConnection()
    const started = beginKeepingPlans(db.connection, begin(db.connection))
    await new Promise((resolve) => setImmediate(resolve))
    expect(db.written).toEqual(["begin", SET])
    await db.answer()
    await expect(started).resolves.toBeUndefined()
    expect(db.written).toEqual(["begin", SET])
  })

  it("fails with BEGIN's error when BEGIN fails, and sends nothing more", async () => {
    const db = scriptedConnection(new Set(["begin"]))
    const failed = expect(beginKeepingPlans(db.connection, begin(db.connection))).rejects.toThrow("begin failed")
    await db.answer()
    await failed
    expect(db.written).toEqual(["begin", SET])
  })

  it("rolls back before failing when the setting fails after BEGIN", async () => {
    const db = scriptedConnection(new Set([SET]))
    const failed = expect(beginKeepingPlans(db.connection, begin(db.connection))).rejects.toThrow(`${SET} failed`)
    await db.answer()
    await db.answer()
    await failed
    expect(db.written).toEqual(["begin", SET, "rollback"])
  })
})
