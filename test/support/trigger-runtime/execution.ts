/**
 * What the platform hands a worker for one attempt: the TaskRunExecution (the worker parses it
 * with @trigger.dev/core's TaskRunExecution schema and builds `ctx` from it) and the process
 * env. A deployed worker gets its env from the platform only (TaskRunProcess forks with exactly
 * this env plus NODE_OPTIONS and PATH), so everything the tasks read must be in it.
 */
import type { WorkerManifest } from "@trigger.dev/core/v3"
import type { Run } from "./runs.ts"

type TaskManifest = WorkerManifest["tasks"][number]

export const PROJECT = { id: "proj_harness", ref: "proj_harnessbundle", slug: "harness", name: "harness" } as const
export const DEPLOYMENT_VERSION = "20260101.1"

/** The worker identity sent with every execution (`taskContext.worker`; children lock to its version). */
export const SERVER_WORKER = { id: "worker_harness", contentHash: "harness", version: DEPLOYMENT_VERSION, engine: "V2" } as const

/** The execution of attempt `attempt` of `run` (run.id is both id and friendly id, as the SDK sees it). */
export const executionOf = (run: Run, attempt: number, task: TaskManifest, startedAt: Date) => {
  const keyOptions = run.options.idempotencyKeyOptions as { key?: string; scope?: "run" | "attempt" | "global" } | undefined
  return {
    attempt: { number: attempt, startedAt },
    run: {
      id: run.id,
      payload: run.payloadPacket.data,
      payloadType: run.payloadPacket.dataType,
      tags: run.tags,
      isTest: run.options.test === true,
      isReplay: run.replayOf !== undefined,
      createdAt: run.createdAt,
      startedAt: run.startedAt ?? startedAt,
      ...(keyOptions?.key !== undefined ? { idempotencyKey: keyOptions.key, idempotencyKeyScope: keyOptions.scope } : {}),
      maxAttempts: run.options.maxAttempts ?? task.retry?.maxAttempts,
      version: DEPLOYMENT_VERSION,
      metadata: run.metadata,
      maxDuration: run.options.maxDuration ?? task.maxDuration,
      ...(run.parentId !== undefined ? { parentTaskRunId: run.parentId, rootTaskRunId: run.rootId } : {}),
      durationMs: 0,
      costInCents: 0,
      baseCostInCents: 0
    },
    task: { id: task.id, filePath: task.filePath, exportName: task.exportName },
    queue: { id: `queue_${run.queue}`, name: run.queue },
    environment: { id: "env_harness", slug: "prod", type: "PRODUCTION" as const },
    organization: { id: "org_harness", slug: "harness", name: "harness" },
    project: PROJECT,
    machine: { name: "small-1x" as const, cpu: 0.5, memory: 0.5, centsPerMs: 0 },
    deployment: { id: "deployment_harness", shortCode: "harness", version: DEPLOYMENT_VERSION, runtime: "node", runtimeVersion: process.versions.node }
  }
}

/**
 * The env of a worker: the platform's own variables (API URL and key pointing at the stub, OTEL
 * export to the stub, heartbeat interval) under the test's (DATABASE_URL, LEAD_SOURCE, FAKE_*).
 */
export const workerEnv = (apiUrl: string, secretKey: string, testEnv: Record<string, string>): Record<string, string> => ({
  NODE_ENV: "production",
  TRIGGER_API_URL: apiUrl,
  TRIGGER_SECRET_KEY: secretKey,
  TRIGGER_PROJECT_REF: PROJECT.ref,
  TRIGGER_OTEL_EXPORTER_OTLP_ENDPOINT: `${apiUrl}/otel`,
  OTEL_EXPORTER_OTLP_ENDPOINT: `${apiUrl}/otel`,
  HEARTBEAT_INTERVAL_MS: "30000",
  ...testEnv
})
