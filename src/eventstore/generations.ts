/**
 * The tables of a projection's generations. The live generation sits where the code names
 * its tables (`lists`, found through the search path), so readers and the inline writers
 * never need to know a version. A rebuild writes the next generation in a schema of its own,
 * `projection_<name>_v<n>`, with the same columns, defaults, constraints and index names;
 * the switch drops the live tables and moves the new ones in, in one transaction.
 */
import { Effect } from "effect"
import { sql } from "kysely"
import type { Database } from "../db/Database.ts"

/** The schema a rebuild writes generation `version` of `projection` in. */
export const generationSchema = (projection: string, version: number): string =>
  `projection_${projection.toLowerCase().replace(/[^a-z0-9]+/g, "_")}_v${version}`

/**
 * An index definition as `pg_get_indexdef` prints it, moved from table `from` to table `to`
 * (both schema-qualified as PostgreSQL prints them). Undefined when it is not of that table.
 */
export const retargetIndex = (definition: string, from: string, to: string): string | undefined => {
  for (const on of [` ON ${from} USING `, ` ON ONLY ${from} USING `]) {
    const at = definition.indexOf(on)
    if (at > 0) return `${definition.slice(0, at)}${on.replace(from, to)}${definition.slice(at + on.length)}`
  }
  return undefined
}

/** The schema of the table that `table` names for this connection (the live generation). */
const liveSchemaOf = (db: Database["Service"], table: string) =>
  db.query((q) =>
    sql<{ schema: string }>`select n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.oid = to_regclass(quote_ident(${table}))`.execute(q)
  ).pipe(Effect.flatMap(({ rows }) =>
    rows[0] ? Effect.succeed(rows[0].schema) : Effect.die(new Error(`projection table ${table} does not exist`))
  ))

/** Where each table of a projection lives now: `[table, schema]`. */
export const liveTables = (db: Database["Service"], tables: ReadonlyArray<string>) =>
  Effect.forEach(tables, (table) => Effect.map(liveSchemaOf(db, table), (schema) => [table, schema] as const))

/**
 * The indexes of live table `table` that are no key (a key is a constraint, copied with the
 * table) and that the generation in `schema` lacks, unique ones only if `uniqueOnly`: their
 * definitions retargeted at the generation.
 */
const plainIndexes = (db: Database["Service"], schema: string, table: string, live: string, uniqueOnly: boolean) =>
  Effect.gen(function*() {
    const { rows } = yield* db.query((q) =>
      sql<{ definition: string; qualified: string; target: string }>`
        select pg_get_indexdef(i.indexrelid) as definition,
               quote_ident(${live}) || '.' || quote_ident(${table}) as qualified,
               quote_ident(${schema}) || '.' || quote_ident(${table}) as target
        from pg_index i join pg_class x on x.oid = i.indexrelid
        where i.indrelid = to_regclass(quote_ident(${live}) || '.' || quote_ident(${table}))
          and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid and c.conrelid = i.indrelid)
          and (i.indisunique or not ${uniqueOnly})
          and to_regclass(quote_ident(${schema}) || '.' || quote_ident(x.relname)) is null
        order by i.indexrelid`.execute(q)
    )
    return yield* Effect.forEach(rows, ({ definition, qualified, target }) => {
      const moved = retargetIndex(definition, qualified, target)
      return moved === undefined ? Effect.die(new Error(`cannot copy index of ${qualified}: ${definition}`)) : Effect.succeed(moved)
    })
  })

/**
 * Creates empty copies of the live tables in `schema` (dropped first if a crash left it):
 * columns, defaults, identity, checks, and every key (primary, unique, exclusion) under its
 * own name, and every unique index — what ON CONFLICT and the updates of a replay need. The
 * other indexes come later, built once over the loaded rows by {@link indexGeneration}:
 * maintaining them row by row costs a bulk load about a fifth of its time.
 */
export const createGeneration = (db: Database["Service"], schema: string, tables: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    yield* db.query((q) => sql`drop schema if exists ${sql.id(schema)} cascade`.execute(q))
    yield* db.query((q) => sql`create schema ${sql.id(schema)}`.execute(q))
    for (const [table, live] of yield* liveTables(db, tables)) {
      yield* db.query((q) =>
        sql`create table ${sql.id(schema, table)} (like ${sql.id(live, table)} including all excluding indexes)`.execute(q)
      )
      const { rows } = yield* db.query((q) =>
        sql<{ constraint: string; definition: string }>`
          select c.conname as constraint, pg_get_constraintdef(c.oid) as definition
          from pg_index i join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
          where i.indrelid = to_regclass(quote_ident(${live}) || '.' || quote_ident(${table}))
          order by i.indexrelid`.execute(q)
      )
      for (const { constraint, definition } of rows) {
        // A key: the constraint, which brings its index, by name.
        yield* db.query((q) =>
          sql`alter table ${sql.id(schema, table)} add constraint ${sql.id(constraint)} ${sql.raw(definition)}`.execute(q)
        )
      }
    }
    yield* indexGeneration(db, schema, tables, { uniqueOnly: true })
  })

/**
 * Builds the indexes of the live tables that the generation in `schema` lacks (none once
 * built: safe to call again, after a crash or before the switch).
 */
export const indexGeneration = (
  db: Database["Service"],
  schema: string,
  tables: ReadonlyArray<string>,
  options: { readonly uniqueOnly?: boolean } = {}
) =>
  Effect.gen(function*() {
    for (const [table, live] of yield* liveTables(db, tables)) {
      for (const moved of yield* plainIndexes(db, schema, table, live, options.uniqueOnly ?? false)) {
        yield* db.query((q) => sql.raw(moved).execute(q))
      }
    }
  })

/** Whether every table of the generation in `schema` exists (a crash never leaves it half made, a person might). */
export const generationReady = (db: Database["Service"], schema: string, tables: ReadonlyArray<string>) =>
  db.query((q) =>
    sql<{ missing: number }>`select count(*)::int as missing from jsonb_array_elements_text(${JSON.stringify(tables)}::text::jsonb) t
      where to_regclass(quote_ident(${schema}) || '.' || quote_ident(t)) is null`.execute(q)
  ).pipe(Effect.map(({ rows }) => rows[0]!.missing === 0))

/**
 * For the rest of the transaction, unqualified table names find the generation in `schema` first.
 * Only once {@link generationReady}: a missing table would be found in the live generation instead.
 */
export const writeInto = (db: Database["Service"], schema: string) =>
  db.query((q) =>
    sql`select set_config('search_path', quote_ident(${schema}) || ', ' || current_setting('search_path'), true)`.execute(q)
  )

/**
 * Takes the live tables for the rest of the transaction: every transaction that has read or
 * written them has ended, and every other waits. Gives up after `timeoutMs` (SQLSTATE 55P03)
 * instead of waiting behind a long reader — or in a cycle with one.
 */
export const lockLive = (db: Database["Service"], live: ReadonlyArray<readonly [string, string]>, timeoutMs: number) =>
  Effect.gen(function*() {
    if (live.length === 0) return
    yield* db.query((q) => sql`select set_config('lock_timeout', ${`${timeoutMs}ms`}, true)`.execute(q))
    yield* db.query((q) =>
      sql`lock table ${sql.join(live.map(([table, schema]) => sql.id(schema, table)))} in access exclusive mode`.execute(q)
    )
    yield* db.query((q) => sql`select set_config('lock_timeout', '0', true)`.execute(q))
  })

/** Drops the live tables and moves the generation in `schema` in their place; drops the schema. */
export const switchTo = (db: Database["Service"], schema: string, live: ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function*() {
    for (const [table, liveSchema] of live) {
      yield* db.query((q) => sql`drop table ${sql.id(liveSchema, table)}`.execute(q))
      yield* db.query((q) => sql`alter table ${sql.id(schema, table)} set schema ${sql.id(liveSchema)}`.execute(q))
    }
    yield* db.query((q) => sql`drop schema ${sql.id(schema)}`.execute(q))
  })
