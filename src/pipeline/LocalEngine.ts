/**
 * TASK_ENGINE=local: runs imports in this process with the same orchestrator, stages
 * and retry policy as the Trigger.dev tasks.
 *
 * - Bounded: at most LOCAL_ENGINE_CONCURRENCY imports at once, and one at a time per
 *   LinkedIn account. A run waits in the engine's queue (src/pipeline/runQueue.ts: a record,
 *   not a fiber) until both its account and a slot are free, so one account's queue of imports
 *   never holds slots another account's import could use.
 * - Durable: a run stays `pending` in local_runs until its import has ended; at start every
 *   pending run this engine may take resumes from its events. A SIGKILL loses nothing.
 * - Held: a run taken by an engine is its engine's while that engine lives: the engine renews
 *   its own row in local_engines every third of LOCAL_ENGINE_LEASE_MS (one statement however
 *   many runs it holds), and marks it dead as it stops. A run enqueued in its process is held by
 *   it from birth (written so by the import command), others it claims. Another instance on the
 *   same database takes over the runs of an engine that died or stopped (and those of a
 *   previous version's engine whose timed lease expired); a run taken over too often is ended
 *   as failed instead. On PGlite one process owns the database, so every pending run is this
 *   engine's.
 */
import { Config, Context, Effect, Layer, PubSub, Ref, Schedule, Scope } from "effect"
import { sql } from "kysely"
import { Database } from "../db/Database.ts"
import { textArray } from "../db/sql.ts"
import { InFlightWork } from "../shutdown.ts"
import { ImportStages } from "./ImportStages.ts"
import { type RetryPolicy, STAGE_RETRY, withRetry } from "./retryPolicy.ts"
import { runImport, type StageRunner } from "./runImport.ts"
import { makeRunQueue } from "./runQueue.ts"

/** A run of the in-process engine. */
export interface LocalRun {
  readonly runId: string
  readonly importId: string
  /** The LinkedIn account the import searches with: one run at a time per account. */
  readonly accountId: string
  /** The engine that holds the run from its birth (it starts the run without taking it first). */
  readonly heldBy?: string | undefined
}

/**
 * Runs enqueued in this process, as they are enqueued (the local TaskQueue publishes them), and
 * the engine running in this process, if one does: the runs enqueued here are born leased to it.
 */
export class LocalRunSignal extends Context.Service<LocalRunSignal, {
  readonly runs: PubSub.PubSub<LocalRun>
  /** The owner name of the engine running in this process, if one does. */
  readonly engine: Ref.Ref<string | undefined>
}>()("app/pipeline/LocalRunSignal") {
  static readonly layer = Layer.effect(
    LocalRunSignal,
    Effect.all({ runs: PubSub.unbounded<LocalRun>(), engine: Ref.make<string | undefined>(undefined) })
  )
}

/** An engine that died this many times while running the same import gets it ended as failed. */
export const MAX_TAKEOVERS = 3

/** Stages called in-process, each with the retry policy. */
export const localStageRunner = (stages: ImportStages["Service"], policy: RetryPolicy = STAGE_RETRY): StageRunner => {
  const retry = withRetry(policy)
  return {
    fetchPage: (importId, page) => retry(stages.fetchPage(importId, page)),
    dedupe: (importId, page) => retry(stages.dedupe(importId, page)),
    persistBatch: (importId, page, runId) => retry(stages.persistBatch(importId, page, runId)),
    refundUnusedCredits: (importId, because) => retry(stages.refundUnusedCredits(importId, because))
  }
}

interface ClaimedRow {
  readonly run_id: string
  readonly import_id: string
  readonly account_id: string
  readonly takeovers: number
}

/** Which pending runs a claim takes: the ones signalled, the abandoned ones, or (PGlite, one process) all. */
export type ClaimWhich = { readonly runIds: ReadonlyArray<string> } | "abandoned" | "everything"

/**
 * A pending run nobody holds any longer: nobody took it within a lease (its enqueuer died), its
 * engine's row in local_engines is dead (the engine died or stopped), or its timed lease expired
 * (an engine of the previous version held it, or gave it back as it stopped).
 */
const abandoned = (leaseMs: number) =>
  sql`(
    (lease_owner is null and created_at < now() - ${leaseMs} * interval '1 millisecond')
    or lease_expires_at < now()
    or (lease_expires_at = 'infinity' and not exists (
      select 1 from local_engines e where e.owner = local_runs.lease_owner and e.alive_until > now())))`

/**
 * Takes pending runs for `owner`, held while it lives: the given ones (`runIds`), or every
 * abandoned one; `everything` on PGlite.
 *
 * It is planned for its values each time (planForTheseValues): a plan kept from when local_runs
 * was small read every row, and parsed the list of runs again for each, so in a burst of imports
 * each claim took longer than the last (up to 120 ms). The signalled runs are picked by
 * `status <> 'done'` (the same as `= 'pending'`) so that the index of pending runs, which a
 * burst fills, stays out of their plan: they are found through the primary key alone.
 */
export const claimStatement = (which: ClaimWhich, owner: string, leaseMs: number) =>
  sql<ClaimedRow>`
    update local_runs set
      takeovers = takeovers + (case when lease_owner is not null and lease_owner <> ${owner} then 1 else 0 end),
      lease_owner = ${owner},
      lease_expires_at = 'infinity',
      updated_at = now()
    where ${
    which === "everything"
      ? sql`status = 'pending'`
      : which === "abandoned"
      ? sql`status = 'pending' and ${abandoned(leaseMs)}`
      : sql`run_id = any(${textArray(which.runIds)}) and status <> 'done'
          and (lease_owner is null or lease_owner = ${owner} or ${abandoned(leaseMs)})`
  }
    returning run_id, import_id::text as import_id, account_id::text as account_id, takeovers`

const planForTheseValues = sql`set local plan_cache_mode = force_custom_plan`

export const LocalEngine = {
  layer: Layer.effectDiscard(Effect.gen(function*() {
    const db = yield* Database
    const stages = yield* ImportStages
    const signal = yield* LocalRunSignal
    const inFlight = yield* InFlightWork
    const concurrency = yield* Config.Int("LOCAL_ENGINE_CONCURRENCY").pipe(Config.withDefault(4))
    const leaseMs = yield* Config.Int("LOCAL_ENGINE_LEASE_MS").pipe(Config.withDefault(15_000))
    const owner = `engine-${crypto.randomUUID()}`
    const runner = localStageRunner(stages)
    /** Runs this engine has taken (queued for their account or a slot, or running). */
    const taken = new Set<string>()
    /** Taken runs waiting for their account or a slot, each with what to call once it has ended. */
    const queue = makeRunQueue<{ readonly run: LocalRun; readonly ended: () => void }>(concurrency)
    let stopping = false

    const claim = (which: ClaimWhich) =>
      db.transaction(Effect.andThen(
        db.backend === "postgres" ? db.query((q) => planForTheseValues.execute(q)) : Effect.void,
        db.query((q) => claimStatement(which, owner, leaseMs).execute(q))
      )).pipe(Effect.map(({ rows }) => rows))

    /** This engine is alive for another lease: every run it holds stays its own. */
    const heartbeat = db.query((q) =>
      sql`insert into local_engines (owner, alive_until) values (${owner}, now() + ${leaseMs} * interval '1 millisecond')
          on conflict (owner) do update set alive_until = excluded.alive_until`.execute(q)
    ).pipe(Effect.asVoid)

    const markDone = (run: LocalRun) =>
      db.query((q) =>
        q.updateTable("local_runs").set({ status: "done", lease_owner: null, lease_expires_at: null, updated_at: new Date() })
          .where("run_id", "=", run.runId).execute()
      )

    /** This engine is dead as it stops: another engine may take its runs at once. */
    const markDead = db.query((q) =>
      sql`update local_engines set alive_until = '-infinity' where owner = ${owner}`.execute(q)
    ).pipe(Effect.ignore)

    // Alive before it holds any run, and every row of an engine dead for a day goes (the runs
    // such an engine held are abandoned either way).
    yield* heartbeat
    yield* db.query((q) => sql`delete from local_engines where alive_until < now() - interval '1 day'`.execute(q))

    // The runs live in a scope of their own, closed after the loops below have stopped; then the
    // engine is marked dead, in one statement: a stopping engine does not take back the runs it
    // gives back, nor send a statement per run (a burst of queued imports is thousands).
    yield* Effect.addFinalizer(() => markDead)
    const runs = yield* Scope.fork(yield* Scope.Scope)
    // Before the runs are interrupted: none starts any more, and the queued ones are let go.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stopping = true
        for (const queued of queue.clear()) queued.ended()
      })
    )

    /**
     * Runs the import to its end. Infrastructure failures (the database away) are retried with
     * backoff while the run stays pending; a defect (a bug) ends the import as failed, refunded.
     */
    const execute = (run: LocalRun) =>
      runImport(run.importId, run.runId, () => runner).pipe(
        Effect.provideService(ImportStages, stages),
        Effect.catchDefect((defect) =>
          Effect.gen(function*() {
            yield* Effect.logError(`local engine: import ${run.importId} hit a defect; ending it as failed`, defect)
            yield* stages.end(run.importId, { outcome: "failed", error: `local engine: ${String(defect instanceof Error ? defect.message : defect)}` })
          })),
        Effect.tap(() => markDone(run)),
        Effect.tapError((e) => Effect.logWarning(`local engine: import ${run.importId} interrupted by a failure; retrying`, e)),
        Effect.retry(Schedule.min([Schedule.exponential("1 second"), Schedule.spaced("30 seconds")]))
      )

    /** Starts the queued runs that have a slot and their account free, each in a fiber of its own. */
    const startQueued: Effect.Effect<void> = Effect.suspend(() =>
      Effect.forEach(
        stopping ? [] : queue.startable(),
        ({ account, run: { run, ended } }) =>
          execute(run).pipe(
            Effect.ensuring(Effect.suspend(() => {
              queue.finished(account)
              ended()
              return startQueued
            })),
            Effect.forkIn(runs)
          ),
        { discard: true }
      ))

    /** Runs a run this engine holds, unless it already does; `takeovers`: how often engines died running it. */
    const schedule = (run: LocalRun, takeovers: number) =>
      Effect.suspend(() => {
        if (stopping || taken.has(run.runId)) return Effect.void
        taken.add(run.runId)
        const done = inFlight.add(`import ${run.importId} (local run ${run.runId})`)
        const ended = () => {
          taken.delete(run.runId)
          done()
        }
        if (takeovers > MAX_TAKEOVERS) {
          return stages.end(run.importId, {
            outcome: "failed",
            error: `the local engine running this import stopped ${takeovers} times without finishing it`
          }).pipe(
            Effect.andThen(markDone(run)),
            Effect.retry(Schedule.spaced("5 seconds")),
            Effect.ensuring(Effect.sync(ended)),
            Effect.forkIn(runs),
            Effect.asVoid
          )
        }
        queue.add(run.accountId, { run, ended })
        return startQueued
      })

    const claimAndSchedule = (which: ClaimWhich) =>
      Effect.flatMap(claim(which), (rows) =>
        Effect.forEach(
          rows,
          (row) => schedule({ runId: row.run_id, importId: row.import_id, accountId: row.account_id }, row.takeovers),
          { discard: true }
        ).pipe(Effect.as(rows.length)))

    // Subscribe before reading the pending runs, so a run enqueued in between is not missed.
    const inbox = yield* PubSub.subscribe(signal.runs)
    // A run born leased to this engine starts at once; others signalled while the previous claim
    // ran are claimed together, in one statement.
    yield* PubSub.takeAll(inbox).pipe(
      Effect.flatMap((signalled) => {
        const mine = signalled.filter((run) => run.heldBy === owner)
        const others = signalled.filter((run) => run.heldBy !== owner).map((run) => run.runId)
        return Effect.andThen(
          Effect.forEach(mine, (run) => schedule(run, 0), { discard: true }),
          others.length > 0 ? claimAndSchedule({ runIds: others }) : Effect.void
        )
      }),
      Effect.catch((e) => Effect.logWarning("local engine: could not take a run (the reconciler retries)", e)),
      Effect.forever,
      Effect.forkScoped
    )
    const resumed = yield* claimAndSchedule(db.backend === "pglite" ? "everything" : "abandoned")
    if (resumed > 0) yield* Effect.logInfo(`local engine: resuming ${resumed} import(s)`)

    // While it lives the engine says so, and takes over the runs of engines that died.
    const every = Schedule.spaced(`${Math.max(100, Math.floor(leaseMs / 3))} millis`)
    yield* heartbeat.pipe(
      Effect.andThen(claimAndSchedule("abandoned")),
      Effect.tap((n) => n > 0 ? Effect.logInfo(`local engine: took over ${n} import(s) of an engine that stopped`) : Effect.void),
      Effect.catch((e) => Effect.logWarning("local engine: could not say it is alive, or take over runs", e)),
      Effect.repeat(every),
      Effect.forkScoped
    )

    // From now on the runs enqueued in this process are born leased to this engine; as it stops,
    // before anything else, they no longer are.
    yield* Ref.set(signal.engine, owner)
    yield* Effect.addFinalizer(() => Ref.set(signal.engine, undefined))
  }))
}
