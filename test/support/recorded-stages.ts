/**
 * The stages as tests look at them: the application's services over a database that records every
 * raw statement they send, and a runner whose dedupes and persists run on stages with a cache of
 * their own, new for every call — a worker that holds nothing of the import.
 */
import { ConfigProvider, Effect, Layer } from "effect"
import type { CompiledQuery } from "kysely"
import { Database } from "../../src/db/Database.ts"
import { EventStore } from "../../src/eventstore/EventStore.ts"
import { LeadSource } from "../../src/leads/LeadSource.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"
import { localStageRunner } from "../../src/pipeline/LocalEngine.ts"
import type { StageRunner } from "../../src/pipeline/runImport.ts"
import { type CountingLeadSource, servicesCounting } from "./counting-lead-source.ts"
import { TestDatabase } from "./db.ts"
import { recording } from "./plans.ts"

/** The services over a fresh test database, every raw statement they send pushed to `statements`. */
export const recordedServices = (leads: CountingLeadSource, statements: Array<CompiledQuery>) =>
  servicesCounting(leads).pipe(
    Layer.provideMerge(Layer.effect(
      Database,
      Effect.map(Database, (db) => Database.of({ ...db, query: (f) => db.query((q) => f(recording(q, statements))) }))
    )),
    Layer.provideMerge(TestDatabase()),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
  )

/**
 * The local runner of the services' stages, but with every dedupe and persist on stages new for the
 * call (nothing of the import in their cache): what a fresh Trigger.dev worker does.
 */
export const runnerHoldingNothing = (leads: CountingLeadSource) =>
  Effect.gen(function*() {
    const fresh = ImportStages.layer.pipe(Layer.provide(Layer.mergeAll(
      Layer.succeed(LeadSource, leads.source),
      Layer.succeed(Database, yield* Database),
      Layer.succeed(EventStore, yield* EventStore)
    )))
    const onFresh = <A, E>(stage: (s: ImportStages["Service"]) => Effect.Effect<A, E>) =>
      Effect.provide(Effect.flatMap(ImportStages, stage), Layer.fresh(fresh))
    return {
      ...localStageRunner(yield* ImportStages),
      dedupe: (importId, page) => onFresh((s) => s.dedupe(importId, page)),
      persistBatch: (importId, page, runId) => onFresh((s) => s.persistBatch(importId, page, runId))
    } satisfies StageRunner
  })
