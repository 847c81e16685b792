/** Small SQL helpers shared by queries on both backends. */
import { type RawBuilder, sql } from "kysely"

/** A text[] parameter, passed as a PostgreSQL array literal (both drivers send it as text). */
export const textArray = (values: ReadonlyArray<string>): RawBuilder<Array<string>> =>
  sql`${`{${values.map((v) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`}::text::text[]`

/**
 * Rows as one jsonb parameter, for `insert ... select <columns> from ${jsonRows(...)}`:
 * one statement text whatever the number of rows (prepared once, a single parameter),
 * instead of a VALUES list that changes shape with every batch.
 */
export const jsonRows = (rows: ReadonlyArray<object>, columns: Readonly<Record<string, string>>): RawBuilder<unknown> =>
  sql`jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as r(${
    sql.raw(Object.entries(columns).map(([name, type]) => `${name} ${type}`).join(", "))
  })`

/** The column list of `columns`, for the insert side of {@link jsonRows}. */
export const columnList = (columns: Readonly<Record<string, string>>): RawBuilder<unknown> =>
  sql.raw(Object.keys(columns).join(", "))
