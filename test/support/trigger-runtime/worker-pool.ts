/**
 * Worker processes for attempts, handed out as the cloud's run controller does
 * (trigger.dev dist/esm/entryPoints/managed/taskRunProcessProvider.js): by default a fresh
 * TaskRunProcess per attempt, cleaned up and killed when the attempt ends; with processKeepAlive
 * a finished process is flushed (cleanup(false)) and kept for the next attempt until it has run
 * `maxExecutionsPerProcess` times or is unhealthy. Unlike one cloud machine, the pool may hold
 * several processes at once: a parent waiting on a child keeps its own.
 */
import type { WorkerManifest } from "@trigger.dev/core/v3"
import { SERVER_WORKER } from "./execution.ts"
import type { CliInternals, TaskRunProcess } from "./internals.ts"

export interface KeepAlive {
  readonly enabled: boolean
  /** The controller's default is 100 (managed/controller.js); the docs say 50. */
  readonly maxExecutionsPerProcess: number
}

/** processKeepAlive from index.json (the config's), as the run controller reads it. */
export const keepAliveOf = (manifest: WorkerManifest): KeepAlive => ({
  enabled: manifest.processKeepAlive?.enabled ?? false,
  maxExecutionsPerProcess: manifest.processKeepAlive?.maxExecutionsPerProcess ?? 100
})

export class WorkerPool {
  readonly #idle: Array<TaskRunProcess> = []
  readonly #executions = new Map<TaskRunProcess, number>()
  readonly #internals: CliInternals
  readonly #manifest: WorkerManifest
  readonly #cwd: string
  readonly keepAlive: KeepAlive

  constructor(internals: CliInternals, manifest: WorkerManifest, cwd: string, keepAlive: KeepAlive) {
    this.#internals = internals
    this.#manifest = manifest
    this.#cwd = cwd
    this.keepAlive = keepAlive
  }

  /** A process for the next attempt: a kept-alive one (warm) or a new one forked with `env`. */
  acquire(env: Record<string, string>): { readonly process: TaskRunProcess; readonly warm: boolean } {
    while (this.keepAlive.enabled && this.#idle.length > 0) {
      const kept = this.#idle.shift()!
      if (kept.isHealthy) return { process: kept, warm: true }
    }
    const fresh = new this.#internals.TaskRunProcess({
      workerManifest: this.#manifest,
      serverWorker: SERVER_WORKER,
      env,
      machineResources: { cpu: 0.5, memory: 0.5 },
      isWarmStart: false,
      cwd: this.#cwd
    }).initialize()
    this.#executions.set(fresh, 0)
    fresh.onExit.attach(() => {
      this.#executions.delete(fresh)
      const idle = this.#idle.indexOf(fresh)
      if (idle >= 0) this.#idle.splice(idle, 1)
    })
    return { process: fresh, warm: false }
  }

  /** After an attempt: keep the process for the next one, or flush and terminate it. */
  async release(process: TaskRunProcess): Promise<void> {
    const executions = (this.#executions.get(process) ?? 0) + 1
    this.#executions.set(process, executions)
    if (this.keepAlive.enabled && executions < this.keepAlive.maxExecutionsPerProcess && process.isHealthy) {
      await process.cleanup(false)
      this.#idle.push(process)
    } else {
      await process.cleanup(true)
    }
  }

  /** Kills every process still alive. */
  async close(): Promise<void> {
    const all = [...this.#executions.keys()]
    this.#idle.length = 0
    await Promise.all(all.map((p) => p.kill("SIGKILL")))
  }
}
