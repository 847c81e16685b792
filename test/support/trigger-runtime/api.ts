/**
 * The Trigger.dev API routes the SDK and the workers call, answered from the run controller.
 * Paths and bodies are those of @trigger.dev/core 4.8.3 (dist/esm/v3/apiClient/index.js and
 * schemas/api.js): trigger, runs.retrieve (v3), cancel (v2), replay, metadata, tags,
 * idempotency key reset; the workers' OTEL export is accepted and dropped. Anything else is a
 * 404 reported to the harness log.
 */
import type { RunController } from "./controller.ts"
import { json, type Route } from "./http-stub.ts"
import { isFinal, type Run } from "./runs.ts"

/** A run as `GET /api/v3/runs/{id}` describes it (the RetrieveRunResponse schema). */
const commonFields = (run: Run) => ({
  id: run.id,
  status: run.status,
  taskIdentifier: run.taskId,
  idempotencyKey: run.options.idempotencyKeyOptions?.key ?? run.options.idempotencyKey,
  version: "20260101.1",
  isQueued: run.status === "QUEUED",
  isExecuting: run.status === "EXECUTING",
  isWaiting: run.status === "WAITING",
  isCompleted: isFinal(run.status),
  isSuccess: run.status === "COMPLETED",
  isFailed: isFinal(run.status) && run.status !== "COMPLETED",
  isCancelled: run.status === "CANCELED",
  isTest: false,
  createdAt: run.createdAt,
  updatedAt: run.finishedAt ?? run.attempts.at(-1)?.startedAt ?? run.createdAt,
  startedAt: run.startedAt,
  finishedAt: run.finishedAt,
  tags: run.tags,
  costInCents: 0,
  baseCostInCents: 0,
  durationMs: run.startedAt === undefined ? 0 : (run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime(),
  metadata: run.metadata,
  depth: run.parentId === undefined ? 0 : 1,
  triggerFunction: run.options.resumeParentOnCompletion === true ? "triggerAndWait" : "trigger"
})

const errorOf = (run: Run) => {
  const completion = run.completion
  if (completion === undefined || completion.ok) return undefined
  const error = completion.error
  switch (error.type) {
    case "BUILT_IN_ERROR":
      return { message: error.message, name: error.name, stackTrace: error.stackTrace }
    case "INTERNAL_ERROR":
      return { message: error.message ?? error.code, name: error.code, stackTrace: error.stackTrace }
    default:
      return { message: error.raw }
  }
}

export const retrieveView = (run: Run, runs: ReadonlyMap<string, Run>) => ({
  ...commonFields(run),
  payload: run.payload,
  output: run.output,
  error: errorOf(run),
  relatedRuns: {
    root: run.rootId === undefined ? undefined : commonFields(runs.get(run.rootId)!),
    parent: run.parentId === undefined ? undefined : commonFields(runs.get(run.parentId)!),
    children: [...runs.values()].filter((r) => r.parentId === run.id).map(commonFields)
  },
  attemptCount: run.attempts.length
})

const notFound = (id: string) => json({ error: `Run ${id} not found` }, 404)

export const apiRoutes = (controller: RunController, log: (line: string) => void): ReadonlyArray<Route> => [
  {
    method: "POST",
    path: /^\/api\/v1\/tasks\/([^/]+)\/trigger$/,
    handle: async (request, [taskId]) => {
      const created = await controller.trigger(taskId!, request.body ?? {})
      if (created === undefined) return json({ error: `Task ${taskId} not found` }, 404)
      return "refused" in created ? json({ error: created.refused }, 422) : json(created)
    }
  },
  {
    method: "GET",
    path: /^\/api\/v3\/runs\/([^/]+)$/,
    handle: (_, [id]) => {
      const run = controller.runs.get(id!)
      return run === undefined ? notFound(id!) : json(retrieveView(run, controller.runs))
    }
  },
  {
    method: "POST",
    path: /^\/api\/v2\/runs\/([^/]+)\/cancel$/,
    handle: (_, [id]) => {
      if (!controller.runs.has(id!)) return notFound(id!)
      // Answered at once, as the platform does; the cancel goes on in the background.
      controller.cancel(id!).catch((error) => log(`[trigger-runtime] cancel ${id} failed: ${error}`))
      return json({ id })
    }
  },
  {
    method: "POST",
    path: /^\/api\/v1\/runs\/([^/]+)\/replay$/,
    handle: async (_, [id]) => (controller.runs.has(id!) ? json({ id: await controller.replay(id!) }) : notFound(id!))
  },
  {
    method: "PUT",
    path: /^\/api\/v1\/runs\/([^/]+)\/metadata$/,
    handle: (request, [id]) => {
      const metadata = controller.updateMetadata(id!, request.body ?? {})
      return metadata === undefined ? notFound(id!) : json({ metadata })
    }
  },
  {
    method: "GET",
    path: /^\/api\/v1\/runs\/([^/]+)\/metadata$/,
    handle: (_, [id]) => {
      const run = controller.runs.get(id!)
      return run === undefined ? notFound(id!) : json({ metadata: run.metadata })
    }
  },
  {
    method: "POST",
    path: /^\/api\/v1\/runs\/([^/]+)\/tags$/,
    handle: (request, [id]) =>
      controller.addTags(id!, request.body?.tags) === undefined ? notFound(id!) : json({ message: "Successfully set tags" })
  },
  {
    method: "POST",
    path: /^\/api\/v1\/idempotencyKeys\/([^/]+)\/reset$/,
    handle: (request, [key]) => {
      controller.resetIdempotencyKey(String(request.body?.taskIdentifier), key!)
      return json({ id: key })
    }
  },
  // The workers' OpenTelemetry export (TRIGGER_OTEL_EXPORTER_OTLP_ENDPOINT = <stub>/otel).
  { method: "POST", path: /^\/otel\/v1\/(traces|logs|metrics)$/, handle: () => json({}) },
  { method: "GET", path: /^\/api\/v1\/projects\/[^/]+\/envvars$/, handle: () => json({ variables: {} }) }
]
