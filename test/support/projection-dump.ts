/**
 * Every projection table as comparable data: rows in a stable order, and instead of the
 * insertion sequence of list_rows (which has gaps where transactions rolled back), each
 * row's rank within its list — so two dumps are equal when the rows and their order are.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import { inlineProjections } from "../../projections/index.ts"
import { Database } from "../../src/db/Database.ts"

export const dumpProjections = Effect.gen(function*() {
  const db = yield* Database
  const out: Record<string, Array<string>> = {}
  for (const table of inlineProjections.flatMap((p) => p.tables)) {
    const { rows } = yield* db.query((q) =>
      table === "list_rows"
        ? sql<Record<string, unknown>>`select *, row_number() over (partition by list_id order by seq) as rank from list_rows`.execute(q)
        : sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(q)
    )
    out[table] = rows
      .map(({ seq: _seq, ...row }) => JSON.stringify(row, Object.keys(row).sort()))
      .sort()
  }
  return out
}).pipe(Effect.orDie)
