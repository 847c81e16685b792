/**
 * How the service stops: within SHUTDOWN_GRACE_MS of SIGTERM or SIGINT, whatever the database does.
 *
 * runMain interrupts the main fiber on the signal and the layers close in order: the HTTP server
 * stops taking requests, the engine's runs are interrupted (a transaction cut short rolls back,
 * so nothing is half-written), the pool closes. With the database up that takes about 100 ms.
 * A step that cannot end — a statement waiting on a database that does not answer — is what the
 * watchdog armed by the signal is for: when the grace period is over it logs what it abandons
 * (the imports in flight: the local engine resumes them at the next start, another instance takes
 * them over when their lease expires, or the reconciler ends and refunds them) and exits 1.
 * A second signal exits at once, the same way.
 */
import { Cause, Config, Context, Effect, Exit, Layer, Runtime } from "effect"

/** Work in flight that a shutdown may have to abandon, by the words the log should use for it. */
export interface InFlightWork {
  /** Records `what` until the returned function is called. */
  add(what: string): () => void
  readonly current: () => ReadonlyArray<string>
}

export const makeInFlightWork = (): InFlightWork => {
  const work = new Set<{ readonly what: string }>()
  return {
    add: (what) => {
      const entry = { what }
      work.add(entry)
      return () => void work.delete(entry)
    },
    current: () => Array.from(work, (entry) => entry.what)
  }
}

/** Work in flight, as ShutdownGrace reports it; where nothing provides one (tests, workers), a registry nobody reads. */
export const InFlightWork = Context.Reference<InFlightWork>("app/InFlightWork", { defaultValue: makeInFlightWork })

/**
 * The grace period: 10 s by default — about 100 times what a shutdown with the database up takes,
 * and well inside the 30 s an orchestrator (Kubernetes, systemd's default 90 s) waits before SIGKILL.
 */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000

/** What the process says when it gives up waiting; exported for the test that reads it. */
export const abandonMessage = (signal: string, waitedMs: number, abandoned: ReadonlyArray<string>): string =>
  `shutdown: still stopping ${waitedMs} ms after ${signal}; exiting without waiting further. Abandoned: ` +
  (abandoned.length === 0 ? "no import in flight" : abandoned.join("; ")) +
  ". Nothing is half-written (an interrupted transaction rolls back); an abandoned import resumes at the next start."

/**
 * Arms the watchdog on SIGTERM / SIGINT for as long as the layer lives, and provides the
 * registry of work in flight it reports from.
 */
export const ShutdownGrace = Layer.effect(
  InFlightWork,
  Effect.gen(function*() {
    const graceMs = yield* Config.Int("SHUTDOWN_GRACE_MS").pipe(Config.withDefault(DEFAULT_SHUTDOWN_GRACE_MS))
    const inFlight = makeInFlightWork()
    let signalled: { readonly signal: string; readonly at: number } | undefined
    const exit = () => {
      const waited = Date.now() - signalled!.at
      Effect.runSync(Effect.logError(abandonMessage(signalled!.signal, waited, inFlight.current())))
      process.exit(1)
    }
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled !== undefined) return exit()
      signalled = { signal, at: Date.now() }
      // Unref'd: a shutdown that ends sooner is not kept waiting for it.
      setTimeout(exit, graceMs).unref()
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        process.on("SIGTERM", onSignal)
        process.on("SIGINT", onSignal)
      }),
      () =>
        Effect.sync(() => {
          process.removeListener("SIGTERM", onSignal)
          process.removeListener("SIGINT", onSignal)
        })
    )
    return inFlight
  })
)

/** runMain's teardown: stopped by a signal with everything closed in time is a clean exit, 0 (not 130). */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
