/**
 * The service's side of blue/green rebuilds (rebuild.ts): starts one on request and runs it in
 * a fiber of the service, resumes the ones a crash interrupted, and reports every
 * projection's version and progress.
 *
 * One process runs a rebuild at a time: it holds the rebuild's lease (REBUILD_LEASE_MS) and
 * renews it with every step. At start-up, and every third of a lease, the service takes over
 * the rebuilds whose lease has lapsed (another instance died); on PGlite one process owns the
 * database, so at start-up every unfinished rebuild is its own.
 */
import { Config, Context, Effect, Layer, Schedule, Schema, Scope } from "effect"
import { sql } from "kysely"
import { Database, type SqlError } from "../db/Database.ts"
import { EventStore } from "./EventStore.ts"
import type { Projection } from "./Projection.ts"
import { beginRebuild, type RebuildOptions, type RebuildRunning, runRebuild } from "./rebuild.ts"

export class UnknownProjection extends Schema.TaggedError<UnknownProjection>()("UnknownProjection", {
  name: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message() {
    return `no projection is named ${this.name}; known: ${this.known.join(", ")}`
  }
}

export interface RebuildProgress {
  readonly version: number
  readonly processed: number
  readonly total: number
  readonly eventsPerSecond: number
}

export interface ProjectionState {
  readonly name: string
  /** The live generation. */
  readonly version: number
  readonly status: "live" | "rebuilding"
  /** Events of the log the live generation has not applied: 0 for an inline projection. */
  readonly lag: number
  readonly rebuild: RebuildProgress | null
}

/** Events per second between two moments of a rebuild (0 before time has passed). */
export const rateOf = (processed: number, since: number, elapsedMs: number): number =>
  elapsedMs <= 0 ? 0 : Math.max(0, processed - since) * 1000 / elapsedMs

interface VersionRow {
  readonly name: string
  readonly version: number
  readonly building: number | null
  readonly processed: number
  readonly total: number
  readonly rate_processed: number
  readonly elapsed_ms: number | null
}

export class ProjectionRebuilds extends Context.Service<ProjectionRebuilds, {
  /** Every projection's version, status and the progress of its rebuild. */
  readonly states: Effect.Effect<ReadonlyArray<ProjectionState>, SqlError>
  /** Starts rebuilding `name` into its next version (run by this process); answers that version. */
  start(name: string): Effect.Effect<{ readonly name: string; readonly version: number }, UnknownProjection | RebuildRunning | SqlError>
}>()("app/eventstore/ProjectionRebuilds") {
  /** Rebuilds of `projections` (all inline: they are written in the append's transaction). */
  static readonly layer = (projections: ReadonlyArray<Projection>) =>
    Layer.effect(
      ProjectionRebuilds,
      Effect.gen(function*() {
        const db = yield* Database
        const store = yield* EventStore
        const scope = yield* Scope.Scope
        const options: RebuildOptions = {
          owner: `rebuilds-${crypto.randomUUID()}`,
          // On PGlite a step holds the only connection while it runs: smaller steps, shorter waits.
          batchSize: yield* Config.Int("REBUILD_BATCH_SIZE").pipe(Config.withDefault(db.backend === "pglite" ? 100 : 10_000)),
          maxEventsPerSecond: yield* Config.Int("REBUILD_MAX_EVENTS_PER_SECOND").pipe(Config.withDefault(0)),
          leaseMs: yield* Config.Int("REBUILD_LEASE_MS").pipe(Config.withDefault(15_000))
        }
        const byName = new Map(projections.map((p) => [p.name, p]))
        const running = new Set<string>()

        /** Runs the rebuild of `projection` in a fiber of the service, unless this process runs it already. */
        const launch = (projection: Projection) =>
          Effect.suspend(() => {
            if (running.has(projection.name)) return Effect.void
            running.add(projection.name)
            return runRebuild(projection, options).pipe(
              Effect.tap((end) =>
                Effect.logInfo(
                  end === "switched"
                    ? `rebuild ${projection.name}: switched to the new version`
                    : `rebuild ${projection.name}: ${end === "running-elsewhere" ? "another process runs it" : "finished elsewhere"}`
                )
              ),
              // The database away: wait and go on from the recorded state.
              Effect.tapError((e) => Effect.logWarning(`rebuild ${projection.name}: a step failed; retrying`, e)),
              Effect.retry(Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("10 seconds")])),
              Effect.catchDefect((defect) => Effect.logError(`rebuild ${projection.name} stopped on a defect`, defect)),
              Effect.provideService(Database, db),
              Effect.provideService(EventStore, store),
              Effect.onInterrupt(() => release(projection.name)),
              Effect.ensuring(Effect.sync(() => running.delete(projection.name))),
              Effect.forkIn(scope),
              Effect.asVoid
            )
          })

        /** Gives the lease back when this process stops: another may take the rebuild at once. */
        const release = (name: string) =>
          db.query((q) =>
            q.updateTable("projection_versions").set({ lease_expires_at: new Date(0) })
              .where("name", "=", name).where("lease_owner", "=", options.owner).execute()
          ).pipe(Effect.ignore)

        /** Launches the unfinished rebuilds nobody holds (all of them at a PGlite start-up). */
        const adopt = (everything: boolean) =>
          Effect.gen(function*() {
            const rows = yield* db.query((q) =>
              q.selectFrom("projection_versions").select(["name", "lease_owner"])
                .where("building", "is not", null)
                .$if(!everything, (w) =>
                  w.where((eb) =>
                    eb.or([eb("lease_owner", "is", null), eb("lease_expires_at", "<", sql<Date>`now()`), eb("lease_owner", "=", options.owner)])
                  ))
                .execute()
            )
            const orphans = rows.flatMap((r) => byName.get(r.name) ?? [])
            if (everything && orphans.length > 0) {
              // The process that held them is gone (PGlite has one): the leases are this one's.
              yield* db.query((q) =>
                q.updateTable("projection_versions").set({ lease_owner: options.owner })
                  .where("name", "in", orphans.map((p) => p.name)).execute()
              )
            }
            for (const projection of orphans) {
              if (!running.has(projection.name)) yield* Effect.logInfo(`rebuild ${projection.name}: resuming`)
              yield* launch(projection)
            }
          })

        yield* adopt(db.backend === "pglite")
        yield* adopt(false).pipe(
          Effect.catch((e) => Effect.logWarning("rebuilds: looking for unfinished rebuilds failed", e)),
          Effect.repeat(Schedule.spaced(`${Math.max(100, Math.floor((options.leaseMs ?? 15_000) / 3))} millis`)),
          Effect.forkScoped
        )

        const states = Effect.gen(function*() {
          const rows = yield* db.query((q) =>
            sql<VersionRow>`select name, version, building, processed, total, rate_processed,
                extract(epoch from (now() - rate_since)) * 1000 as elapsed_ms
              from projection_versions`.execute(q)
          ).pipe(Effect.map(({ rows }) => new Map(rows.map((r) => [r.name, r]))))
          return projections.map((p): ProjectionState => {
            const row = rows.get(p.name)
            const building = row?.building ?? null
            return {
              name: p.name,
              version: row?.version ?? 1,
              status: building === null ? "live" : "rebuilding",
              lag: 0,
              rebuild: building === null || row === undefined ? null : {
                version: building,
                processed: Number(row.processed),
                total: Number(row.total),
                eventsPerSecond: Math.round(rateOf(Number(row.processed), Number(row.rate_processed), Number(row.elapsed_ms ?? 0)))
              }
            }
          })
        })

        const start = (name: string) =>
          Effect.gen(function*() {
            const projection = byName.get(name)
            if (projection === undefined) return yield* new UnknownProjection({ name, known: [...byName.keys()] })
            const started = yield* beginRebuild(projection, options).pipe(
              Effect.provideService(Database, db),
              Effect.provideService(EventStore, store)
            )
            yield* launch(projection)
            return started
          })

        return ProjectionRebuilds.of({ states, start })
      })
    )
}
