/**
 * SQL is never assembled from strings outside a few reviewed places. Values always travel
 * as parameters (Kysely's builder and `sql` templates do that); what can put text into the
 * statement itself — sql.raw/lit/id/ref/table, postgres.js unsafe, a raw CompiledQuery — is
 * allowed only where listed below, each fed by constants of the code. A new use fails here
 * until someone reviews it and adds it to the list with its reason.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)))
const PRODUCTION_CODE = ["src", "projections", "migrations", "trigger", "events"]
const RAW_SQL = /sql\.(raw|lit|id|ref|table)\(|\.unsafe\(|CompiledQuery\.raw\(/g

/** Reviewed uses: file, the line's code, and why what it puts in the statement is a constant. */
const REVIEWED: ReadonlyArray<{ readonly file: string; readonly code: string; readonly why: string }> = [
  {
    file: "src/eventstore/EventStore.ts",
    code: "const eventColumns = sql.raw(",
    why: "a literal column list"
  },
  {
    file: "src/db/sql.ts",
    code: "return CompiledQuery.raw(compiled.sql, compiled.parameters.map((p) => (p instanceof Slot ? values[p.index] : p))) as CompiledQuery<R>",
    why: "the text Kysely compiled from a sql template (compiledOnce); a call's values go in as parameters, never into the text"
  },
  {
    file: "src/eventstore/Projection.ts",
    code: "sql.join(statements.map((s, i) => sql`${sql.raw(`${prefix}${i}`)} as (${s})`))",
    why: "CTE names w0, w1, … (or p0, …) from a constant prefix and a counter"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "yield* db.query((q) => sql`drop schema if exists ${sql.id(schema)} cascade`.execute(q))",
    why: "the rebuild's schema, projection_<name>_v<n>, from a projection's constant name, quoted as an identifier"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "yield* db.query((q) => sql`create schema ${sql.id(schema)}`.execute(q))",
    why: "the same schema name"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "sql`create table ${sql.id(schema, table)} (like ${sql.id(live, table)} including all excluding indexes)`.execute(q)",
    why: "that schema, a projection's constant table names and their schema from pg_namespace, quoted as identifiers"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "sql`alter table ${sql.id(schema, table)} add constraint ${sql.id(constraint)} ${sql.raw(definition)}`.execute(q)",
    why: "a key of the live table as PostgreSQL prints it (pg_constraint, pg_get_constraintdef) under its own name"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "yield* db.query((q) => sql.raw(moved).execute(q))",
    why: "an index of the live table as PostgreSQL prints it (pg_get_indexdef), retargeted at the copy by retargetIndex"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "sql`lock table ${sql.join(live.map(([table, schema]) => sql.id(schema, table)))} in access exclusive mode`.execute(q)",
    why: "a projection's constant table names and their schema from pg_namespace, quoted as identifiers"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "yield* db.query((q) => sql`drop table ${sql.id(liveSchema, table)}`.execute(q))",
    why: "the same names"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "yield* db.query((q) => sql`alter table ${sql.id(schema, table)} set schema ${sql.id(liveSchema)}`.execute(q))",
    why: "the same names, and the rebuild's schema"
  },
  {
    file: "src/eventstore/generations.ts",
    code: "yield* db.query((q) => sql`drop schema ${sql.id(schema)}`.execute(q))",
    why: "the rebuild's schema"
  },
  {
    file: "src/db/postgres-pool.ts",
    code: "const query = reserved.unsafe(text, parameters, { ...options, onexecute } as postgres.UnsafeQueryOptions)",
    why: "passes on, unchanged, the statement and parameters Kysely compiled (kysely-postgres-js calls unsafe with them)"
  },
  {
    file: "src/db/planKeepingDialect.ts",
    code: 'export const keepPlans = CompiledQuery.raw("set local plan_cache_mode = force_generic_plan")',
    why: "a constant statement"
  },
  {
    file: "src/db/planKeepingDialect.ts",
    code: 'await connection.executeQuery(CompiledQuery.raw("rollback")).catch(() => undefined)',
    why: "a constant statement"
  },
  {
    file: "src/db/postgres-pool.ts",
    code: "reserved.unsafe(RESET_ROW_COUNT).then(() => reserved.release(), () => isLost() || reserved.release())",
    why: "a constant statement (select where false)"
  },
  {
    file: "migrations/0002_accounts_and_read_models.ts",
    code: ") await sql`drop table ${sql.table(table)}`.execute(db)",
    why: "a literal list of the migration's own tables"
  }
]

const filesUnder = (dir: string): ReadonlyArray<string> =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(ROOT, dir, f))

/** Every line of production code that can put text into a statement. */
const rawSqlUses = () =>
  PRODUCTION_CODE.flatMap(filesUnder).flatMap((file) =>
    readFileSync(file, "utf8").split("\n").flatMap((line) =>
      line.match(RAW_SQL) ? [{ file: relative(ROOT, file), code: line.trim() }] : []
    )
  )

describe("SQL is assembled from strings only in reviewed places", () => {
  it("every use of raw SQL in production code is on the reviewed list", () => {
    const unreviewed = rawSqlUses().filter((use) => !REVIEWED.some((r) => r.file === use.file && r.code === use.code))
    expect(unreviewed).toEqual([])
  })

  it("the reviewed list holds nothing that is gone (it stays the truth)", () => {
    const uses = rawSqlUses()
    expect(REVIEWED.filter((r) => !uses.some((u) => u.file === r.file && u.code === r.code))).toEqual([])
  })

  it("the scan finds a raw SQL use when there is one", () => {
    expect("const x = sql.raw(input)".match(RAW_SQL)).not.toBeNull()
    expect("await client.unsafe(query)".match(RAW_SQL)).not.toBeNull()
    expect("sql`select ${value}`".match(RAW_SQL)).toBeNull()
  })
})
