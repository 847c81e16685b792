/**
 * The sales-nav-import orchestrator: fold the import's events, then repeat
 * decide -> run that stage -> evolve, until done. Engine-agnostic: the local engine
 * runs the stages in-process, the Trigger.dev task runs each as a subtask, through
 * a `StageRunner`. Run it again at any point and it continues where the events say.
 */
import { Effect } from "effect"
import type { ImportOutcome, ImportRequested } from "../../events/index.ts"
import { decide, evolve, type Fact, type ImportState } from "./importProcess.ts"
import { ImportStages } from "./ImportStages.ts"
import type { StageFailed } from "./StageFailed.ts"

/** How the orchestrator gets a page stage or the refund done (in-process or as a subtask). */
export interface StageRunner {
  fetchPage(importId: string, page: number): Effect.Effect<Fact, StageFailed>
  dedupe(importId: string, page: number): Effect.Effect<Fact, StageFailed>
  persistBatch(importId: string, page: number, runId: string): Effect.Effect<Fact, StageFailed>
  refundUnusedCredits(importId: string, because: ImportOutcome): Effect.Effect<Fact, StageFailed>
}

export interface ImportSummary {
  readonly importId: string
  readonly runId: string
  readonly outcome: ImportOutcome | undefined
  readonly imported: number
  readonly pages: number
}

const summary = (importId: string, runId: string, state: ImportState): ImportSummary => ({
  importId,
  runId,
  outcome: state.refund?.because,
  imported: state.imported,
  pages: state.fetched.page
})

export interface RunImportOptions {
  /** Called with the state after every step (e.g. to publish progress to a dashboard). */
  readonly onStep?: (state: ImportState) => Effect.Effect<void>
}

/** Runs (or resumes) an import to its end. `runnerFor` gets the request, e.g. for its account. */
export const runImport = (
  importId: string,
  runId: string,
  runnerFor: (request: ImportRequested) => StageRunner,
  options: RunImportOptions = {}
) =>
  Effect.gen(function*() {
    const stages = yield* ImportStages
    const onStep = options.onStep ?? (() => Effect.void)
    let state = yield* stages.loadState(importId)
    if (state.request === undefined) return summary(importId, runId, state)
    const runner = runnerFor(state.request)
    if (!state.ended) yield* stages.start(importId, runId)
    while (true) {
      const action = decide(state)
      if (action._tag === "Done") return summary(importId, runId, state)
      yield* Effect.annotateCurrentSpan({ action: action._tag })
      const fact: Fact = yield* (() => {
        switch (action._tag) {
          case "FetchPage":
            return runner.fetchPage(importId, action.page)
          case "Dedupe":
            return runner.dedupe(importId, action.page)
          case "Persist":
            return runner.persistBatch(importId, action.page, runId)
          case "Refund":
            return runner.refundUnusedCredits(importId, action.because)
          case "Finish":
            return stages.finish(importId, action.because)
        }
      })().pipe(
        // A page stage that failed for good ends the import: refunded, then ImportFailed.
        Effect.catchTag("StageFailed", (e) =>
          e.kind === "permanent" && (action._tag === "FetchPage" || action._tag === "Dedupe" || action._tag === "Persist")
            ? Effect.succeed<Fact>({ _tag: "StageFailed", error: `${e.code}: ${e.message}` })
            : Effect.fail(e))
      )
      // Halted by someone else (a cancel, the reconciler): what they recorded decides the next step.
      state = fact._tag === "Halted" ? yield* stages.loadState(importId) : evolve(state, fact)
      yield* onStep(state)
    }
  }).pipe(Effect.withSpan("runImport", { attributes: { importId, runId } }))
