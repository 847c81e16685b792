/**
 * compiledOnce: a statement compiled on the first call of its shape gives, on every later call,
 * exactly what compiling it afresh with that call's values gives — the same text, the same
 * parameters in the same places — and compiles nothing more.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from "kysely"
import { compiledOnce } from "../../src/db/sql.ts"

const kysely = new Kysely<any>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler()
  }
})

/** A statement of two shapes, with constants of its own among the values of a call. */
const statement = (mode: "one" | "two", value: (index: number) => unknown) =>
  mode === "one"
    ? sql`select ${value(0)}::text, ${"constant"}::text where ${value(1)}::int > ${7}::int and ${value(0)}::text <> ''`
    : sql`with x as (select ${value(2)}::jsonb as j) select ${value(1)}::int, j, ${sql.join([sql`${"a"}`, sql`${value(0)}`])} from x`

const values = fc.tuple(fc.string(), fc.integer(), fc.option(fc.json(), { nil: null }))

describe("compiledOnce", () => {
  it("gives for each call what compiling afresh gives, and compiles each shape once", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom("one" as const, "two" as const), values), { minLength: 1, maxLength: 20 }), (calls) => {
      const compiles = new Map<string, number>()
      const reuse = compiledOnce<unknown>(kysely)
      for (const [mode, call] of calls) {
        const got = reuse(mode, (slot) => {
          compiles.set(mode, (compiles.get(mode) ?? 0) + 1)
          return statement(mode, slot)
        }, call)
        const fresh = statement(mode, (i) => call[i]).compile(kysely)
        expect(got.sql).toBe(fresh.sql)
        expect(got.parameters).toEqual(fresh.parameters)
      }
      for (const n of compiles.values()) expect(n).toBe(1)
    }))
  })
})
