/**
 * The postgres.js dialect of kysely-postgres-js, with every transaction keeping its plans.
 *
 * A transaction's statements are planned once per connection and kept (the pipeline's stages, the
 * inline projections, rebuild steps). PostgreSQL's default kept re-planning the projections'
 * statements on every call — an array of positions and dozens of parameters, 0.2–0.8 ms each, a
 * third of a page's database time — because its plan for any values guesses an array's length
 * (10) where one made for the values knows it (1). So every statement run in a transaction is
 * written to find its rows by index whatever the values (test/pipeline/generic-plans.int,
 * test/eventstore/replay-plans.int). Reads outside a transaction (the support API's filters, whose
 * best index depends on how rare a value is) are planned as PostgreSQL decides.
 *
 * The setting goes with BEGIN, in the same round trip: it is written right behind BEGIN
 * (postgres.js pipelines a reserved connection's statements) instead of after BEGIN's answer —
 * one round trip less per transaction, three per page of an import. Should BEGIN fail, the
 * SET LOCAL behind it does nothing (outside a transaction it only warns); should the setting fail
 * after BEGIN, the transaction is rolled back before its connection goes back to the pool.
 *
 * And the transaction's first statement goes with them too (`firstBehind`): BEGIN is not waited
 * for before the transaction's work starts; its first statement is written behind BEGIN and the
 * setting, and answered only once they are — with BEGIN's (or the setting's) error if either
 * failed, whatever the statement got. One more round trip less per transaction: each stage of a
 * page is lock-and-check, append, COMMIT, where it was BEGIN, lock-and-check, append, COMMIT.
 * The statement never runs outside its transaction: BEGIN fails only with its connection (then
 * nothing behind it runs) or on a connection whose transaction is already aborted (then the
 * statement fails the same way); inside an open transaction it only warns.
 */
import { CompiledQuery, type DatabaseConnection, type QueryResult, type TransactionSettings } from "kysely"
import { PostgresJSDialect, type PostgresJSDialectConfig, PostgresJSDriver } from "kysely-postgres-js"

export const keepPlans = CompiledQuery.raw("set local plan_cache_mode = force_generic_plan")

/** BEGIN and the plan setting, pipelined on the transaction's connection. */
export const beginKeepingPlans = async (
  connection: DatabaseConnection,
  begin: () => Promise<void>
): Promise<void> => {
  const [begun, kept] = await Promise.allSettled([begin(), connection.executeQuery(keepPlans)])
  if (begun.status === "rejected") throw begun.reason
  if (kept.status === "rejected") {
    await connection.executeQuery(CompiledQuery.raw("rollback")).catch(() => undefined)
    throw kept.reason
  }
}

/**
 * The next statement on `connection` (a query, a stream, or COMMIT of an empty transaction) is
 * written at once and answered once `begun` settles: `begun`'s failure is the statement's.
 * Statements after it go as before. `begin` gets the connection as it was, to write BEGIN with.
 */
export const firstBehind = (connection: DatabaseConnection, begin: (direct: DatabaseConnection) => Promise<void>): void => {
  const own = connection as { executeQuery: DatabaseConnection["executeQuery"]; streamQuery: DatabaseConnection["streamQuery"] }
  const { executeQuery, streamQuery } = own
  const direct: DatabaseConnection = {
    executeQuery: <R>(query: CompiledQuery) => executeQuery.call(connection, query) as Promise<QueryResult<R>>,
    streamQuery: <R>(...args: Parameters<DatabaseConnection["streamQuery"]>) =>
      streamQuery.apply(connection, args) as AsyncIterableIterator<QueryResult<R>>
  }
  const begun = begin(direct)
  begun.catch(() => undefined) // answered through the first statement
  own.executeQuery = <R>(query: CompiledQuery) => {
    Object.assign(own, { executeQuery, streamQuery })
    const answered = executeQuery.call(connection, query) as Promise<QueryResult<R>>
    return begun.then(() => answered, (error: unknown) => {
      answered.catch(() => undefined) // a statement in a transaction that never began
      throw error
    })
  }
  own.streamQuery = async function*<R>(...args: Parameters<DatabaseConnection["streamQuery"]>) {
    Object.assign(own, { executeQuery, streamQuery })
    await begun
    yield* streamQuery.apply(connection, args) as AsyncIterableIterator<QueryResult<R>>
  }
}

class PlanKeepingDriver extends PostgresJSDriver {
  override beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    firstBehind(connection, (direct) => beginKeepingPlans(direct, () => super.beginTransaction(direct, settings)))
    return Promise.resolve()
  }
}

export class PlanKeepingDialect extends PostgresJSDialect {
  readonly #config: PostgresJSDialectConfig
  constructor(config: PostgresJSDialectConfig) {
    super(config)
    this.#config = config
  }
  override createDriver() {
    return new PlanKeepingDriver(this.#config)
  }
}
