/**
 * Looking at the statements the service sends and at how PostgreSQL plans them: a Kysely that
 * records every raw statement it runs, and the nodes of an EXPLAIN (FORMAT JSON) plan.
 */
import type { CompiledQuery, Kysely } from "kysely"
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
  readonly "Plans"?: ReadonlyArray<PlanNode>
}

export const nodesOf = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]
