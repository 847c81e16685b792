/**
 * A transaction's BEGIN, its plan setting and its first statement go in one round trip
 * (src/db/planKeepingDialect.ts): the setting and the statement are written before BEGIN is
 * answered, a failure of BEGIN or the setting is the statement's, and leaves no transaction open
 * on the connection. (That the setting holds on a real PostgreSQL: test/pipeline/generic-plans.int.)
 */
import type { CompiledQuery, DatabaseConnection, QueryResult } from "kysely"
import { describe, expect, it } from "vitest"
import { beginKeepingPlans, firstBehind } from "../../src/db/planKeepingDialect.ts"

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

describe("a transaction's first statement behind its BEGIN (firstBehind)", () => {
  const statement = { sql: "select 1" } as CompiledQuery
  const beginning = (connection: DatabaseConnection) => {
    firstBehind(connection, (direct) => beginKeepingPlans(direct, begin(direct)))
  }

  it("writes BEGIN, the setting and the first statement before anything is answered; later ones go as before", async () => {
    const db = scriptedConnection()
    beginning(db.connection)
    const first = db.connection.executeQuery(statement)
    await new Promise((resolve) => setImmediate(resolve))
    expect(db.written).toEqual(["begin", SET, "select 1"])
    await db.answer()
    await expect(first).resolves.toEqual({ rows: [] })
    const second = db.connection.executeQuery({ sql: "select 2" } as CompiledQuery)
    expect(db.written).toEqual(["begin", SET, "select 1", "select 2"])
    await db.answer()
    await expect(second).resolves.toEqual({ rows: [] })
  })

  it("fails the first statement with BEGIN's error, though the statement itself was answered", async () => {
    const db = scriptedConnection(new Set(["begin"]))
    beginning(db.connection)
    const first = expect(db.connection.executeQuery(statement)).rejects.toThrow("begin failed")
    await db.answer()
    await first
  })

  it("fails it with the setting's error, after the setting's own rollback", async () => {
    const db = scriptedConnection(new Set([SET]))
    beginning(db.connection)
    const first = expect(db.connection.executeQuery(statement)).rejects.toThrow(`${SET} failed`)
    await db.answer()
    await db.answer()
    await first
    expect(db.written).toEqual(["begin", SET, "select 1", "rollback"])
  })

  it("answers the statement's own failure once BEGIN succeeded", async () => {
    const db = scriptedConnection(new Set(["select 1"]))
    beginning(db.connection)
    const first = expect(db.connection.executeQuery(statement)).rejects.toThrow("select 1 failed")
    await db.answer()
    await first
  })

  it("holds a COMMIT with nothing before it behind BEGIN too", async () => {
    const db = scriptedConnection(new Set(["begin"]))
    beginning(db.connection)
    const commit = expect(db.connection.executeQuery({ sql: "commit" } as CompiledQuery)).rejects.toThrow("begin failed")
    await db.answer()
    await commit
  })
})
