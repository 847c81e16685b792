/** Small SQL helpers shared by queries on both backends. */
import { CompiledQuery, type Kysely, type RawBuilder, sql } from "kysely"

const QUOTE_OR_BACKSLASH = /["\\]/

/**
 * A PostgreSQL array literal of `values` (both drivers send it as text): each element quoted, its
 * quotes and backslashes escaped. Keys and ids rarely hold either, so they are looked for first
 * (226 keys: 92–136 → 21–36 µs; a page of an import sends ~150).
 */
export const arrayLiteral = (values: ReadonlyArray<string>): string => {
  let literal = "{"
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (i > 0) literal += ","
    literal += `"${QUOTE_OR_BACKSLASH.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"') : v}"`
  }
  return literal + "}"
}

/** A text[] parameter, passed as a PostgreSQL array literal. */
export const textArray = (values: ReadonlyArray<string>): RawBuilder<Array<string>> =>
  sql`${arrayLiteral(values)}::text::text[]`

/** Where a call's value goes in a statement compiled once (`compiledOnce`). */
class Slot {
  readonly index: number
  constructor(index: number) {
    this.index = index
  }
}

/**
 * Statements compiled once per shape. Kysely builds and walks a statement's nodes on every call —
 * for an append with its inline projections that was most of the client's work on the statement
 * (and ~190 KB of garbage a page of an import) — so a shape is compiled on its first call only,
 * with a slot for each value of a call, and later calls put their values in the kept parameters.
 * `build` must give the same statement for the same shape, whatever the values.
 */
export const compiledOnce = <R>(kysely: Kysely<any>, maxShapes = 1_000) => {
  const shapes = new Map<string, CompiledQuery<R>>()
  return (shape: string, build: (slot: (index: number) => unknown) => RawBuilder<R>, values: ReadonlyArray<unknown>): CompiledQuery<R> => {
    let compiled = shapes.get(shape)
    if (compiled === undefined) {
      compiled = build((index) => new Slot(index)).compile(kysely)
      // Shapes are few (an append's mode and event types); the bound only keeps a mistake from growing memory.
      if (shapes.size >= maxShapes) shapes.clear()
      shapes.set(shape, compiled)
    }
    return CompiledQuery.raw(compiled.sql, compiled.parameters.map((p) => (p instanceof Slot ? values[p.index] : p))) as CompiledQuery<R>
  }
}
