/**
 * Looking at the statements the service sends and at how PostgreSQL plans them: a Kysely that
 * records every raw statement it runs, and the nodes of an EXPLAIN (FORMAT JSON) plan.
 */
import { CompiledQuery, type Kysely } from "kysely"
import type { DB } from "../../src/db/schema.ts"

/** `target`'s member, methods bound to it (they use private fields a proxy does not have). */
const member = (target: object, property: PropertyKey) => {
  const value = Reflect.get(target, property, target)
  return typeof value === "function" ? value.bind(target) : value
}

/**
 * A Kysely (or transaction) that records every raw statement it runs (what `sql`...`.execute(q)`
 * sends; the query builder's statements go past it).
 */
export const recording = <K extends Kysely<DB>>(kysely: K, statements: Array<CompiledQuery>): K =>
  new Proxy(kysely, {
    get: (target, property) =>
      property === "getExecutor"
        ? () =>
          new Proxy(target.getExecutor(), {
            get: (executor, p) =>
              p === "executeQuery"
                ? (query: CompiledQuery, ...rest: Array<unknown>) => {
                  statements.push(query)
                  return (executor.executeQuery as any)(query, ...rest)
                }
                : member(executor, p)
          })
        : member(target, property)
  })

export interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly "Index Name"?: string
  readonly "Index Cond"?: string
  readonly "Plans"?: ReadonlyArray<PlanNode>
}

export const nodesOf = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

/** A parameter as an SQL literal, for EXECUTE (the prepared statement gives it its type). */
const literal = (value: unknown): string =>
  value === null || value === undefined
    ? "null"
    : typeof value === "number" || typeof value === "bigint" || typeof value === "boolean"
    ? String(value)
    : `'${(value instanceof Date ? value.toISOString() : typeof value === "string" ? value : JSON.stringify(value)).replace(/'/g, "''")}'`

let prepared = 0

/**
 * The plan of `statement` with its parameters as a prepared statement is planned: once for any
 * values (`generic`, as the service's connections keep plans) or for these (`custom`); `settings`
 * (`enable_seqscan = off`, …) hold for the planning.
 */
export const preparedPlan = (
  db: Kysely<DB>,
  statement: CompiledQuery,
  mode: "generic" | "custom",
  settings: ReadonlyArray<string> = []
): Promise<PlanNode> =>
  db.transaction().execute(async (trx) => {
    const name = `plan_${++prepared}`
    for (const setting of [`plan_cache_mode = force_${mode}_plan`, ...settings]) {
      await trx.executeQuery(CompiledQuery.raw(`set local ${setting}`, []))
    }
    await trx.executeQuery(CompiledQuery.raw(`prepare ${name} as ${statement.sql}`, []))
    const { rows } = await trx.executeQuery<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(
      CompiledQuery.raw(`explain (format json) execute ${name}(${statement.parameters.map(literal).join(", ")})`, [])
    )
    await trx.executeQuery(CompiledQuery.raw(`deallocate ${name}`, []))
    return rows[0]!["QUERY PLAN"][0]!.Plan
  })
