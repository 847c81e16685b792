/**
 * The array literals the service sends as text (`arrayLiteral`, `textArray`: keys, event ids, lock
 * keys) read back on the real database as the very strings they were made of — quotes,
 * backslashes, commas, braces, spaces, "NULL", empty strings and any other character included.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { arrayLiteral, textArray } from "../../src/db/sql.ts"
import { backend, TestDatabase } from "../support/db.ts"

// PostgreSQL's text holds any character but NUL.
const text = fc.string({ unit: "binary", maxLength: 12 }).map((s) => s.replace(/\0/g, ""))
const tricky = fc.constantFrom("", "NULL", "null", '"', "\\", '\\"', "a,b", "{x}", " padded ", "ü-ñ", "nc:o'brien|acme \\ co")
const values = fc.array(fc.oneof(text, tricky), { maxLength: 20 })

layer(TestDatabase(), { excludeTestServices: true })(`array literals (${backend})`, (it) => {
  it.effect("read back as the strings they were made of", () =>
    Effect.gen(function*() {
      const db = yield* Database
      yield* Effect.promise(() =>
        fc.assert(fc.asyncProperty(values, async (strings) => {
          const { rows } = await db.kysely.executeQuery(
            sql<{ back: Array<string> }>`select ${textArray(strings)} as back`.compile(db.kysely)
          )
          // An empty array reads back as {} (PGlite) or [] alike: compare the elements.
          expect([...(rows[0]!.back ?? [])]).toEqual(strings)
        }), { numRuns: 200 })
      )
    }))

  it("quotes every element and escapes only quotes and backslashes", () => {
    expect(arrayLiteral([])).toBe("{}")
    expect(arrayLiteral(["a", "NULL", ""])).toBe('{"a","NULL",""}')
    expect(arrayLiteral(['say "hi"', "c:\\dir"])).toBe('{"say \\"hi\\"","c:\\\\dir"}')
  })
})
