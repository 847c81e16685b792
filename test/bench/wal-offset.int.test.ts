/**
 * `walOffset` (bench/lib.ts: the WAL a bench turn wrote) reads a WAL position as the database
 * prints it — `pg_lsn`'s text, "hi/lo" in hex — as the byte offset the database itself gives.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { sql } from "kysely"
import { walOffset } from "../../bench/lib.ts"
import { Database } from "../../src/db/Database.ts"
import { backend, TestDatabase } from "../support/db.ts"

const u32 = fc.integer({ min: 0, max: 0xffffffff })

layer(TestDatabase(), { excludeTestServices: true })(`walOffset (${backend})`, (it) => {
  it.effect("is the database's own offset of the position it prints", () =>
    Effect.gen(function*() {
      const db = yield* Database
      yield* Effect.promise(() =>
        fc.assert(fc.asyncProperty(u32, u32, async (hi, lo) => {
          const { rows } = await db.kysely.executeQuery(
            sql<{ printed: string; offset: string }>`select p::text as printed, pg_wal_lsn_diff(p, '0/0')::text as offset
              from (select ${`${hi.toString(16)}/${lo.toString(16)}`}::pg_lsn as p) as position`.compile(db.kysely)
          )
          expect(walOffset(rows[0]!.printed)).toBe(BigInt(rows[0]!.offset))
        }), { numRuns: 100 })
      )
      // The server's current position reads too, and a later one is further on.
      const now = async () =>
        (await db.kysely.executeQuery(sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.compile(db.kysely))).rows[0]!.lsn
      const before = walOffset(yield* Effect.promise(now))
      yield* db.query((q) => sql`create table wal_offset_probe as select g from generate_series(1, 1000) g`.execute(q))
      expect(walOffset(yield* Effect.promise(now))).toBeGreaterThan(before)
      yield* db.query((q) => sql`drop table wal_offset_probe`.execute(q))
    }))
})
