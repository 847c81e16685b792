/** The Database service: one code path on both backends, transactions that follow the fiber. */
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { sql } from "kysely"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Database } from "../../src/db/Database.ts"
import { migrateToLatest } from "../../src/db/migrate.ts"
import { migrations } from "../../migrations/index.ts"
import { backend, TestDatabase } from "../support/db.ts"

const count = (table: string) =>
  Effect.flatMap(Database, (db) =>
    db.query((q) => sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(q))
  ).pipe(Effect.map(({ rows }) => rows[0]!.n))

const insert = (table: string, v: number) =>
  Effect.flatMap(Database, (db) => db.query((q) => sql`insert into ${sql.table(table)} (v) values (${v})`.execute(q)))

const freshTable = Effect.gen(function*() {
  const db = yield* Database
  const table = `t_${crypto.randomUUID().replace(/-/g, "").slice(0, 10)}`
  yield* db.query((q) => sql`create table ${sql.table(table)} (v int not null)`.execute(q))
  return table
})

layer(TestDatabase(), { excludeTestServices: true })(`database (${backend})`, (it) => {
  it.effect("commits everything inside a successful transaction", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const table = yield* freshTable
      expect(yield* db.inTransaction).toBe(false)
      yield* db.transaction(Effect.gen(function*() {
        expect(yield* db.inTransaction).toBe(true)
        yield* insert(table, 1)
        yield* insert(table, 2)
        // Read-your-writes inside the transaction.
        expect(yield* count(table)).toBe(2)
      }))
      expect(yield* count(table)).toBe(2)
    }))

  it.effect("a failure rolls back every statement inside, nested blocks included", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const table = yield* freshTable
      const exit = yield* Effect.exit(db.transaction(Effect.gen(function*() {
        yield* insert(table, 1)
        yield* db.transaction(insert(table, 2))
        return yield* Effect.fail("boom" as const)
      })))
      expect(exit).toEqual(Exit.fail("boom"))
      expect(yield* count(table)).toBe(0)
    }))

  it.effect("a defect or an interruption rolls back too", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const table = yield* freshTable
      yield* Effect.exit(db.transaction(Effect.andThen(insert(table, 1), Effect.die(new Error("defect")))))
      expect(yield* count(table)).toBe(0)

      const inserted = yield* Deferred.make<void>()
      const fiber = yield* db.transaction(Effect.gen(function*() {
        yield* insert(table, 2)
        yield* Deferred.succeed(inserted, undefined)
        yield* Effect.never
      })).pipe(Effect.forkChild)
      yield* Deferred.await(inserted)
      yield* Fiber.interrupt(fiber)
      expect(yield* count(table)).toBe(0)
    }))

  it.effect("a failed statement is a typed SqlError with its SQLSTATE", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const error = yield* Effect.flip(db.query((q) => sql`select 1/0`.execute(q)))
      expect(error._tag).toBe("SqlError")
      expect(error.code).toBe("22012")
      expect(error.retryable).toBe(false)
    }))

  it.effect("migrations are idempotent: running them again changes nothing", () =>
    Effect.gen(function*() {
      const db = yield* Database
      const before = yield* db.query((q) => sql<{ name: string }>`select name from kysely_migration order by name`.execute(q))
      yield* Effect.promise(() => migrateToLatest(db.kysely))
      yield* Effect.promise(() => migrateToLatest(db.kysely))
      const after = yield* db.query((q) => sql<{ name: string }>`select name from kysely_migration order by name`.execute(q))
      expect(after.rows).toEqual(before.rows)
      expect(after.rows.map((r) => r.name)).toEqual(Object.keys(migrations))
    }))
})

describe("PGlite on disk", () => {
  it.effect("keeps its data across restarts of the service", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "pglite-"))
      const write = Effect.gen(function*() {
        const db = yield* Database
        yield* db.query((q) => sql`create table kept (v int)`.execute(q))
        yield* db.query((q) => sql`insert into kept values (42)`.execute(q))
      })
      const read = Effect.flatMap(Database, (db) => db.query((q) => sql<{ v: number }>`select v from kept`.execute(q)))
      yield* write.pipe(Effect.provide(Database.layerPGlite({ dataDir: dir })))
      const { rows } = yield* read.pipe(Effect.provide(Database.layerPGlite({ dataDir: dir })))
      expect(rows).toEqual([{ v: 42 }])
      rmSync(dir, { recursive: true, force: true })
    }), 120_000)
})
