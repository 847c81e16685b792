/**
 * The service's transactions on PostgreSQL plan each prepared statement once (plan_cache_mode =
 * force_generic_plan): a plan made without the statement's values, and kept for the
 * connection's life, however the tables grow. So every statement an import sends (captured as
 * the database receives it) must find its rows through indexes in such a plan, made on a
 * database whose tables were never analyzed — as a new deployment's are while its first
 * imports run — and never read a table that grows with the imports from end to end.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { CompiledQuery, sql } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { Imports } from "../../src/imports/Imports.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../../src/pipeline/LocalEngine.ts"
import { runImport } from "../../src/pipeline/runImport.ts"
import { countingLeadSource } from "../support/counting-lead-source.ts"
import { backend } from "../support/db.ts"
import { makeUser } from "../support/fixtures.ts"
import { nodesOf, preparedPlan } from "../support/plans.ts"
import { recordedServices, runnerHoldingNothing } from "../support/recorded-stages.ts"

const statements: Array<CompiledQuery> = []
const leads = countingLeadSource()
const Services = recordedServices(leads, statements)

/** Tables that grow with every import, page or lead: reading one whole would slow every page. */
const growing = [
  "events",
  "streams",
  "lead_keys",
  "import_seen_keys",
  "list_rows",
  "lists",
  "imports",
  "credit_holds",
  "credit_accounts"
]

layer(Services, { excludeTestServices: true })(`an import's statements in plans kept for good (${backend})`, (it) => {
  it.effect("probe indexes, and never read a growing table whole, on a database never analyzed", () =>
    Effect.gen(function*() {
      const db = yield* Database
      if (db.backend === "postgres") {
        const mode = db.query((q) => sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(q)).pipe(
          Effect.map(({ rows }) => rows[0]!.plan_cache_mode)
        )
        expect(yield* db.transaction(mode)).toBe("force_generic_plan")
        expect(yield* mode).toBe("auto")
      }
      // Two imports of one user into one list, the second repeating the first's search: every
      // stage, dedupe finding leads in the list, the refund and the end.
      const user = yield* makeUser({ credits: 1_000 })
      const imports = yield* Imports
      const stages = yield* ImportStages
      const holdingNothing = yield* runnerHoldingNothing(leads)
      const url = `https://www.linkedin.com/sales/search/people?query=(plans-${crypto.randomUUID().slice(0, 8)})`
      statements.length = 0
      const first = yield* imports.start(user.userId, { url, maxResults: 60, skipExistingCustomers: true }).pipe(Effect.orDie)
      yield* runImport(first.importId, first.runId, () => localStageRunner(stages))
      const second = yield* imports.start(user.userId, { url, maxResults: 60, skipExistingCustomers: true, listId: first.listId })
        .pipe(Effect.orDie)
      // The second's dedupes and persists as a worker that holds none of its pages makes them: the
      // lookups after the lock-and-check, as statements of their own (the first's ride with the lock).
      const summary = yield* runImport(second.importId, second.runId, () => holdingNothing)
      expect(summary.outcome?.outcome).toBe("completed")

      const distinct = [...new Map(statements.map((s) => [s.sql, s])).values()]
      // The lock-and-look-up function's lookups (migration 0013): PL/pgSQL runs its RETURN as a
      // statement of its own, planned as the transaction's are; that statement, from the function's source.
      const { rows: [source] } = yield* db.query((q) =>
        sql<{ src: string }>`select prosrc as src from pg_proc where proname = 'import_lock_check_and_look_up'`.execute(q)
      )
      const returned = /\breturn\s+([\s\S]*?);\s*end\b/i.exec(source!.src)![1]!
      const argument: Record<string, string> = {
        event_ids: "$1::uuid[]",
        p_user: "$2::uuid",
        p_import: "$3::uuid",
        p_keys: "$4::text[]",
        p_seen: "$5::boolean",
        p_hold: "$6::boolean"
      }
      distinct.push(CompiledQuery.raw(
        `select ${returned.replace(/\b(event_ids|p_user|p_import|p_keys|p_seen|p_hold)\b/g, (name) => argument[name]!)}`,
        [`{${crypto.randomUUID()}}`, user.userId, first.importId, "{in:somebody,nc:some body|acme}", true, true]
      ))
      // Among them the appends with their projections, the dedupe lookups and the locks.
      for (
        const part of [
          "insert into events",
          "insert into list_rows",
          "insert into lead_keys",
          "insert into import_seen_keys",
          "from lead_keys where",
          "import_lock_and_check",
          "import_lock_check_and_look_up(",
          "from credit_holds where"
        ]
      ) {
        expect(distinct.some((s) => s.sql.includes(part)), part).toBe(true)
      }
      const scans: Array<{ sql: string; table: string }> = []
      for (const statement of distinct) {
        const plan = yield* Effect.promise(() => preparedPlan(db.kysely, statement, "generic"))
        for (const node of nodesOf(plan)) {
          if (node["Node Type"] === "Seq Scan" && growing.includes(node["Relation Name"] ?? "")) {
            scans.push({ sql: statement.sql.replace(/\s+/g, " ").slice(0, 160), table: node["Relation Name"]! })
          }
        }
      }
      expect(scans).toEqual([])
    }), 60_000)
})
