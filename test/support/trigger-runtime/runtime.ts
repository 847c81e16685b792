/**
 * The harness a test drives: a stand-in of the Trigger.dev platform on 127.0.0.1 whose runs
 * execute the deploy bundle's tasks in real worker processes (TaskRunProcess, as in the cloud).
 * Point the service's SDK at `url` with `secretKey` (TRIGGER_API_URL / TRIGGER_SECRET_KEY),
 * trigger, then inspect `runs()`; `cancel`, `crash` and `replay` act as an operator would.
 * Worker output and API calls the stand-in does not know are kept in `output()` and printed
 * when TRIGGER_RUNTIME_DEBUG is set.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Bundle } from "./bundle.ts"
import { apiRoutes } from "./api.ts"
import { RunController } from "./controller.ts"
import { type Route, serveJson } from "./http-stub.ts"
import { loadCliInternals } from "./internals.ts"
import { isFinal, type Run } from "./runs.ts"
import { type KeepAlive, keepAliveOf, WorkerPool } from "./worker-pool.ts"

export interface RuntimeOptions {
  readonly bundle: Bundle
  /** The workers' env (DATABASE_URL, LEAD_SOURCE, FAKE_*): fixed, or chosen per run and attempt. */
  readonly env?: Record<string, string> | ((run: Readonly<Run>, attempt: number) => Record<string, string>)
  /** Whether triggered runs start by themselves (default true); else `start(runId)`. */
  readonly autoRun?: boolean | ((run: Readonly<Run>) => boolean)
  /** Retry delays are waited `delay * timeScale` (default 1); the requested delay is recorded as is. */
  readonly timeScale?: number
  /** Reuse worker processes across attempts; default: the config's processKeepAlive (index.json). */
  readonly processKeepAlive?: boolean | { readonly maxExecutionsPerProcess?: number }
  /** Honour queues' concurrencyLimit per concurrency key (default true). */
  readonly concurrency?: boolean
  /** The key the SDK must send (any key is accepted; this is what workers get). */
  readonly secretKey?: string
  /** Receives worker output and unknown API calls (default: stderr when TRIGGER_RUNTIME_DEBUG is set). */
  readonly log?: (line: string) => void
}

export interface TriggerRuntime {
  /** TRIGGER_API_URL for the service and the workers. */
  readonly url: string
  /** TRIGGER_SECRET_KEY for the service. */
  readonly secretKey: string
  readonly keepAlive: KeepAlive
  /** Every run so far, in creation order (live objects: read, do not change). */
  runs(): ReadonlyArray<Readonly<Run>>
  run(runId: string): Readonly<Run> | undefined
  /** Resolves when the run has a final status; rejects after `timeoutMs` (default 60 s). */
  waitForRun(runId: string, options?: { readonly timeoutMs?: number }): Promise<Readonly<Run>>
  /** Starts a run that did not start by itself (autoRun off). */
  start(runId: string): void
  /** Cancels as from the dashboard: CANCELED, no retry, unfinished children cancelled too. */
  cancel(runId: string): Promise<void>
  /** SIGKILLs the run's worker: CRASHED, no retry. */
  crash(runId: string): Promise<void>
  /** The dashboard's Replay: a new run of the same task and payload, with no parent. Returns its id. */
  replay(runId: string): Promise<string>
  /** Worker output and harness notes, oldest first (the last 20,000 lines). */
  output(): ReadonlyArray<string>
  /** Kills every worker and stops the server. */
  close(): Promise<void>
}

const OUTPUT_LINES = 20_000

const keepAliveFrom = (option: RuntimeOptions["processKeepAlive"], configured: KeepAlive): KeepAlive =>
  option === undefined
    ? configured
    : typeof option === "boolean"
    ? { ...configured, enabled: option }
    : { enabled: true, maxExecutionsPerProcess: option.maxExecutionsPerProcess ?? configured.maxExecutionsPerProcess }

export const startTriggerRuntime = async (options: RuntimeOptions): Promise<TriggerRuntime> => {
  const internals = await loadCliInternals(options.bundle.projectDir)
  const lines: Array<string> = []
  const print = options.log ?? (process.env.TRIGGER_RUNTIME_DEBUG ? (line: string) => process.stderr.write(`${line}\n`) : () => {})
  const log = (line: string) => {
    lines.push(line)
    if (lines.length > OUTPUT_LINES) lines.splice(0, lines.length - OUTPUT_LINES)
    print(line)
  }
  const stopOutput = internals.onWorkerOutput(log)

  // The routes need the controller, the controller needs the server's URL: routes are added once both exist.
  const routes: Array<Route> = []
  const server = await serveJson(routes, (request, why) => log(`[trigger-runtime] ${request.method} ${request.path}: ${why}`))
  const secretKey = options.secretKey ?? "tr_prod_harness"
  const env = options.env ?? {}
  const autoRun = options.autoRun ?? true
  const keepAlive = keepAliveFrom(options.processKeepAlive, keepAliveOf(options.bundle.manifest))
  // The workers' cwd, like a container's /app: their own, so whatever they write there (a PGlite
  // under .data/ when DATABASE_URL is missing) never lands in the shared cached bundle. A worker
  // only reads ./index.json from it; every entry point in it is absolute.
  const cwd = mkdtempSync(join(tmpdir(), "trigger-runtime-"))
  copyFileSync(join(options.bundle.dir, "index.json"), join(cwd, "index.json"))
  const pool = new WorkerPool(internals, options.bundle.manifest, cwd, keepAlive)
  const controller = new RunController({
    manifest: options.bundle.manifest,
    internals,
    pool,
    apiUrl: server.url,
    secretKey,
    env: typeof env === "function" ? env : () => env,
    autoRun: typeof autoRun === "function" ? autoRun : () => autoRun,
    timeScale: options.timeScale ?? 1,
    concurrency: options.concurrency ?? true,
    log
  })
  routes.push(...apiRoutes(controller, log))

  const waitForRun = (runId: string, { timeoutMs = 60_000 } = {}) =>
    new Promise<Readonly<Run>>((resolve, reject) => {
      const check = () => {
        const run = controller.runs.get(runId)
        if (run !== undefined && isFinal(run.status)) {
          stop()
          resolve(run)
        }
      }
      const timer = setTimeout(() => {
        stop()
        const run = controller.runs.get(runId)
        reject(new Error(`trigger-runtime: run ${runId} is ${run?.status ?? "unknown"} after ${timeoutMs} ms (${run?.attempts.length ?? 0} attempts)`))
      }, timeoutMs)
      const unsubscribe = controller.onChange(check)
      const stop = () => {
        clearTimeout(timer)
        unsubscribe()
      }
      check()
    })

  return {
    url: server.url,
    secretKey,
    keepAlive,
    runs: () => [...controller.runs.values()],
    run: (runId) => controller.runs.get(runId),
    waitForRun,
    start: (runId) => controller.start(runId),
    cancel: (runId) => controller.cancel(runId),
    crash: (runId) => controller.crash(runId),
    replay: (runId) => controller.replay(runId),
    output: () => lines,
    close: async () => {
      await controller.close()
      await server.close()
      stopOutput()
      rmSync(cwd, { recursive: true, force: true })
    }
  }
}
