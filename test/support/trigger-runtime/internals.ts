/**
 * Every internal of the trigger.dev CLI this harness relies on, in one place. The CLI's
 * package exports only its bin, so these are loaded by file path from the installed
 * package, pinned by the exact devDependency `"trigger.dev": "4.8.3"` (= @trigger.dev/sdk).
 * After an upgrade, re-read the files named here.
 *
 *  - dist/esm/executions/taskRunProcess.js: `TaskRunProcess`, the class the cloud's run
 *    controller (dist/esm/entryPoints/managed/taskRunProcessProvider.js) uses. `initialize()`
 *    forks the bundle's managed-run-worker with the given env and cwd; `execute()` sends
 *    EXECUTE_TASK_RUN over IPC and resolves with the worker's TASK_RUN_COMPLETED result (or
 *    rejects when the process exits first); `waitpointCompleted()` sends RESOLVE_WAITPOINT
 *    (resumes a triggerAndWait); `cancel()` sends CANCEL (onCancel hooks) then SIGTERM/SIGKILL;
 *    `cleanup(kill)` flushes (FLUSH) and, with kill, terminates; `kill(signal)`;
 *    `TaskRunProcess.parseExecuteError(error)` turns a rejected execute into the
 *    INTERNAL_ERROR the controller reports (process exits, cancel, max duration).
 *  - dist/esm/utilities/logger.js: the CLI's `logger` singleton. TaskRunProcess prints each
 *    line the worker writes through `logger.log`; the harness replaces that one method to
 *    capture worker output instead of flooding the test output.
 *  - dist/esm/index.js (the CLI itself) and, in the build, the image's
 *    node_modules/trigger.dev/dist/esm/entryPoints/managed-index-controller.mjs: see bundle.ts.
 */
import type { CompletedWaitpoint, TaskRunExecutionResult, TaskRunInternalError, WorkerManifest } from "@trigger.dev/core/v3"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { format } from "node:util"

/** The root of the installed trigger.dev CLI package. */
export const cliRoot = (projectDir: string): string =>
  dirname(createRequire(join(projectDir, "package.json")).resolve("trigger.dev/package.json"))

/** The part of TaskRunProcess (taskRunProcess.d.ts, 4.8.3) the harness uses. */
export interface TaskRunProcess {
  initialize(): TaskRunProcess
  execute(
    params: {
      readonly payload: { readonly execution: unknown; readonly traceContext: Record<string, unknown>; readonly metrics: ReadonlyArray<unknown> }
      readonly messageId: string
      readonly env?: Record<string, string>
    },
    isWarmStart?: boolean
  ): Promise<TaskRunExecutionResult>
  waitpointCompleted(waitpoint: CompletedWaitpoint): void
  cancel(): Promise<void>
  cleanup(kill?: boolean): Promise<void>
  kill(signal?: NodeJS.Signals, timeoutInMs?: number): Promise<void>
  readonly pid: number | undefined
  readonly isHealthy: boolean
  readonly onExit: { attach(handler: (exit: { code: number | null; signal: NodeJS.Signals | null }) => void): void }
}

export interface TaskRunProcessOptions {
  readonly workerManifest: WorkerManifest
  readonly serverWorker: { readonly id: string; readonly contentHash: string; readonly version: string; readonly engine: "V2" }
  readonly env: Record<string, string>
  readonly machineResources: { readonly cpu: number; readonly memory: number }
  readonly isWarmStart?: boolean
  readonly cwd: string
  readonly gracefulTerminationTimeoutInMs?: number
}

interface TaskRunProcessClass {
  new(options: TaskRunProcessOptions): TaskRunProcess
  parseExecuteError(error: unknown, dockerMode?: boolean): TaskRunInternalError
}

export interface CliInternals {
  readonly TaskRunProcess: TaskRunProcessClass
  /** Calls `listener` with every line any worker prints (TaskRunProcess → logger.log); returns the unsubscribe. */
  onWorkerOutput(listener: (line: string) => void): () => void
}

let loaded: Promise<CliInternals> | undefined

/** Loads the internals once per process (the logger is a process-wide singleton). */
export const loadCliInternals = (projectDir: string): Promise<CliInternals> =>
  loaded ??= (async () => {
    const root = cliRoot(projectDir)
    const load = (file: string) => import(pathToFileURL(join(root, "dist/esm", file)).href)
    const { TaskRunProcess } = await load("executions/taskRunProcess.js") as { TaskRunProcess: TaskRunProcessClass }
    const { logger } = await load("utilities/logger.js") as { logger: { log: (...args: Array<unknown>) => void } }
    const listeners = new Set<(line: string) => void>()
    logger.log = (...args) => {
      const line = format(...args)
      for (const listener of listeners) listener(line)
    }
    return {
      TaskRunProcess,
      onWorkerOutput: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      }
    }
  })()
