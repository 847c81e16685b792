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
 */
import { CompiledQuery, type DatabaseConnection, type TransactionSettings } from "kysely"
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

class PlanKeepingDriver extends PostgresJSDriver {
  override beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return beginKeepingPlans(connection, () => super.beginTransaction(connection, settings))
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
