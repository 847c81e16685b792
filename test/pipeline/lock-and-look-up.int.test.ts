/**
 * A dedupe or a persist whose page this process holds (it fetched and deduped it) looks its keys
 * up in the round trip that takes its locks (migration 0013): one statement fewer each. One that
 * does not hold it — another process's page, as a Trigger.dev subtask in a fresh worker meets
 * it — locks and checks, then looks up. Both must decide alike: two users with the same list
 * behind them import the same search into a new list, one each way, and get the same decisions,
 * rows and counters.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { type CompiledQuery, sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../../src/pipeline/LocalEngine.ts"
import { runImport } from "../../src/pipeline/runImport.ts"
import { countingLeadSource } from "../support/counting-lead-source.ts"
import { backend } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"
import { recordedServices, runnerHoldingNothing } from "../support/recorded-stages.ts"

const statements: Array<CompiledQuery> = []
const leads = countingLeadSource()
const Services = recordedServices(leads, statements)

/** What an import decided and wrote, without its ids: its dedupe decisions, its rows' leads, its counters. */
const decided = (importId: string) =>
  Effect.gen(function*() {
    const db = yield* Database
    const { rows } = yield* db.query((q) =>
      sql<{ decisions: unknown; rows: unknown; counters: unknown }>`select
        (select json_agg(data->'decisions' order by (data->>'page')::int) from events
           where correlation_id = ${importId} and type = 'LeadsDeduped') as decisions,
        (select json_agg(json_build_object('index', r->'index', 'lead', r->'lead', 'keys', r->'keys') order by (e.data->>'page')::int, o)
           from events e, jsonb_array_elements(e.data->'rows') with ordinality as x(r, o)
           where e.correlation_id = ${importId} and e.type = 'BatchPersisted') as rows,
        (select json_build_object('imported', leads_imported, 'existing', skipped_existing, 'duplicate', skipped_duplicate,
           'charged', credits_charged, 'status', status) from imports where import_id = ${importId}::uuid) as counters`.execute(q)
    )
    return rows[0]!
  })

const lookedUpWithTheLock = (s: CompiledQuery) => s.sql.includes("import_lock_check_and_look_up(")
const lookedUpAlone = (s: CompiledQuery) => s.sql.includes("from lead_keys where") && !lookedUpWithTheLock(s)

layer(Services, { excludeTestServices: true })(`the dedupe lookup with the lock (${backend})`, (it) => {
  it.effect("in the lock's round trip when the page is held, after it when not; the same decisions either way", () =>
    Effect.gen(function*() {
      const imports = yield* Imports
      const stages = yield* ImportStages
      const held = localStageRunner(stages)
      const notHeld = yield* runnerHoldingNothing(leads)
      const url = `https://www.linkedin.com/sales/search/people?query=(look-up-${crypto.randomUUID().slice(0, 8)})&fakeCount=90`

      const outcomes = []
      for (const runner of [held, notHeld]) {
        const user = yield* makeUser({ credits: 1_000 })
        // A first list with some of the search's people, so the second import meets them there.
        const first = yield* imports.start(user.userId, { url, maxResults: 40, skipExistingCustomers: false }).pipe(Effect.orDie)
        yield* runImport(first.importId, first.runId, () => held)
        const second = yield* imports.start(user.userId, { url, maxResults: 80, skipExistingCustomers: true }).pipe(Effect.orDie)
        statements.length = 0
        const summary = yield* runImport(second.importId, second.runId, () => runner)
        expect(summary.outcome?.outcome).toBe("completed")
        const pages = summary.pages
        if (runner === held) {
          expect(statements.filter(lookedUpWithTheLock)).toHaveLength(2 * pages)
          expect(statements.filter(lookedUpAlone)).toHaveLength(0)
        } else {
          expect(statements.filter(lookedUpWithTheLock)).toHaveLength(0)
          expect(statements.filter(lookedUpAlone)).toHaveLength(2 * pages)
        }
        outcomes.push(yield* decided(second.importId))
      }
      const [viaLock, after] = outcomes
      expect(viaLock).toEqual(after)
      // The lookups found something: the first list's 40 people were skipped as existing customers.
      expect(viaLock!.counters).toMatchObject({ existing: 40, imported: 50, status: "completed" })
    }), 120_000)
})
