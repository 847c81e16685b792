/** Small SQL helpers shared by queries on both backends. */
import { type RawBuilder, sql } from "kysely"

/** A text[] parameter, passed as a PostgreSQL array literal (both drivers send it as text). */
export const textArray = (values: ReadonlyArray<string>): RawBuilder<Array<string>> =>
  sql`${`{${values.map((v) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`}::text::text[]`
