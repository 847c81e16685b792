/**
 * Projections are pure functions of the events: after real imports (the whole
 * pipeline, dedupe and credits included), rebuilding every read model from the first
 * event reproduces exactly the rows the inline projections wrote.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { sql } from "kysely"
import { inlineProjections } from "../../projections/index.ts"
import { Database } from "../../src/db/Database.ts"
import { rebuildProjections } from "../../src/eventstore/rebuild.ts"
import { makeUser } from "../support/fixtures.ts"
import { awaitImport, startImport } from "../support/imports.ts"
import { client, TestApp } from "../support/server.ts"

/** Every projection table, rows in a stable order, without the insertion sequence. */
const dump = Effect.gen(function*() {
  const db = yield* Database
  const out: Record<string, unknown> = {}
  for (const table of inlineProjections.flatMap((p) => p.tables)) {
    const { rows } = yield* db.query((q) => sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(q))
    out[table] = rows
      .map(({ seq: _seq, ...row }) => JSON.stringify(row, Object.keys(row).sort()))
      .sort()
  }
  return out
}).pipe(Effect.orDie)

layer(TestApp(), { excludeTestServices: true })("rebuilding projections", (it) => {
  it.effect("reproduces every read model from the events", () =>
    Effect.gen(function*() {
      const api = yield* client
      const user = yield* makeUser({ credits: 500 })
      const url = `https://www.linkedin.com/sales/search/people?query=(rebuild-${crypto.randomUUID().slice(0, 8)})`
      for (const body of [{ url, maxResults: 60 }, { url, maxResults: 40 }, { url: `${url}&fakeCount=10`, maxResults: 30 }]) {
        const reply = yield* startImport(api, user.token, body)
        yield* awaitImport(api, user.token, reply.body.runId, reply.body.listId)
      }
      const before = yield* dump
      expect((before.list_rows as Array<unknown>).length).toBe(110)

      const result = yield* rebuildProjections(inlineProjections).pipe(Effect.orDie)
      expect(result.events).toBeGreaterThan(20)
      const after = yield* dump
      expect(after).toEqual(before)

      // And a damaged read model is repaired.
      const db = yield* Database
      yield* db.query((q) => sql`delete from list_rows where ctid in (select ctid from list_rows limit 5)`.execute(q)).pipe(Effect.orDie)
      yield* db.query((q) => sql`update imports set leads_imported = 0`.execute(q)).pipe(Effect.orDie)
      expect(yield* dump).not.toEqual(before)
      yield* rebuildProjections(inlineProjections).pipe(Effect.orDie)
      expect(yield* dump).toEqual(before)
    }))
})
