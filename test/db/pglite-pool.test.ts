/**
 * The PGlite pool (src/db/pglite-pool.ts) prepares a statement with parameters once and reuses
 * it, keeps at most its bound of them, prepares anew one whose table changed under it, and lets
 * a transaction keep its plans — with results, errors and transactions as PGlite's own `query`
 * gives them.
 */
import { PGlite } from "@electric-sql/pglite"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Kysely, PostgresDialect, sql } from "kysely"
import { makePGlitePool } from "../../src/db/pglite-pool.ts"

let pglite: PGlite
let db: Kysely<any>

beforeAll(async () => {
  pglite = await PGlite.create()
  db = new Kysely<any>({ dialect: new PostgresDialect({ pool: makePGlitePool(pglite, { maxStatements: 4 }) }) })
  await sql`create table things (id int primary key, name text not null, seen timestamptz, tags jsonb)`.execute(db)
})
afterAll(() => db.destroy())

/** The statements prepared by protocol (not by SQL PREPARE) on the one connection. */
const prepared = async () =>
  (await pglite.query<{ statement: string }>("select statement from pg_prepared_statements where not from_sql")).rows
    .map((r) => r.statement)

describe("the PGlite pool", () => {
  it("prepares a statement with parameters once, and gives back its typed results", async () => {
    const at = new Date("2026-12-05T12:00:00.000Z")
    for (let id = 1; id <= 3; id++) {
      await sql`insert into things (id, name, seen, tags) values (${id}, ${`thing ${id}`}, ${at}, ${JSON.stringify({ id })}::jsonb)`.execute(db)
    }
    const insert = (await prepared()).filter((text) => text.startsWith("insert into things"))
    expect(insert).toHaveLength(1)
    const { rows } = await sql<{ id: number; name: string; seen: Date; tags: { id: number } }>`
      select id, name, seen, tags from things where id = ${2}`.execute(db)
    expect(rows).toEqual([{ id: 2, name: "thing 2", seen: at, tags: { id: 2 } }])
    // A null parameter, and a statement without any (run as PGlite runs it, never prepared).
    await sql`update things set seen = ${null} where id = ${3}`.execute(db)
    expect((await sql<{ n: number }>`select count(*)::int as n from things where seen is null`.execute(db)).rows).toEqual([{ n: 1 }])
    expect((await prepared()).some((text) => text.includes("seen is null"))).toBe(false)
  })

  it("keeps at most its bound, closing the least recently used", async () => {
    for (let k = 0; k < 10; k++) await sql`select ${k}::int + ${k}::int as n, ${String(k)}::text as k`.execute(db)
    expect((await prepared()).length).toBeLessThanOrEqual(4)
  })

  it("answers a failing statement with the database's error, caches nothing of it, and goes on", async () => {
    await expect(sql`select * from no_such_table where id = ${1}`.execute(db)).rejects.toMatchObject({ code: "42P01" })
    await expect(sql`insert into things (id, name) values (${1}, ${"again"})`.execute(db)).rejects.toMatchObject({ code: "23505" })
    expect((await prepared()).some((text) => text.includes("no_such_table"))).toBe(false)
    expect((await sql<{ n: number }>`select count(*)::int as n from things where id > ${0}`.execute(db)).rows).toEqual([{ n: 3 }])
  })

  it("rolls a failed transaction back whole, and the statements it used still work", async () => {
    await expect(db.transaction().execute(async (trx) => {
      await sql`insert into things (id, name) values (${10}, ${"ten"})`.execute(trx)
      await sql`insert into things (id, name) values (${1}, ${"duplicate"})`.execute(trx)
    })).rejects.toMatchObject({ code: "23505" })
    expect((await sql<{ n: number }>`select count(*)::int as n from things where id = ${10}`.execute(db)).rows).toEqual([{ n: 0 }])
    await sql`insert into things (id, name) values (${10}, ${"ten"})`.execute(db)
    expect((await sql<{ n: number }>`select count(*)::int as n from things where id = ${10}`.execute(db)).rows).toEqual([{ n: 1 }])
  })

  it("prepares anew a statement whose table changed shape under it", async () => {
    const all = () => sql<Record<string, unknown>>`select * from things where id = ${1}`.execute(db)
    expect(Object.keys((await all()).rows[0]!)).not.toContain("extra")
    await sql`alter table things add column extra int`.execute(db)
    const after = await all().catch(() => all())
    expect(Object.keys(after.rows[0]!)).toContain("extra")
  })

  it("keeps a transaction's plans, and leaves the rest to the database", async () => {
    const mode = (q: Kysely<any>) => sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(q).then((r) => r.rows[0]!.plan_cache_mode)
    expect(await db.transaction().execute(mode)).toBe("force_generic_plan")
    expect(await mode(db)).toBe("auto")
  })
})
