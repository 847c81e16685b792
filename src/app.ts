/**
 * The application, assembled: services over one Database, the HTTP app, the engine, the
 * reconciler and the start-up work (heal the outbox before taking requests).
 * main.ts serves it on PORT; the tests serve the same thing on an ephemeral port.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Config, Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { createServer } from "./http/clientErrors.ts"
import { inlineProjections } from "../projections/index.ts"
import { Accounts } from "./accounts/Accounts.ts"
import { Credits } from "./credits/Credits.ts"
import { Database } from "./db/Database.ts"
import { EventStore } from "./eventstore/EventStore.ts"
import { ProjectionRebuilds } from "./eventstore/ProjectionRebuilds.ts"
import { HttpApp } from "./http/server.ts"
import { ImportFeed } from "./imports/ImportFeed.ts"
import { ImportRateLimit } from "./imports/ImportRateLimit.ts"
import { Imports } from "./imports/Imports.ts"
import { LocalTaskQueue } from "./imports/LocalTaskQueue.ts"
import { Reconciler } from "./imports/Reconciler.ts"
import { TaskQueue } from "./imports/TaskQueue.ts"
import { Lists } from "./lists/Lists.ts"
import { lazyRoutes } from "./http/lazyRoutes.ts"
import type { ImportStages } from "./pipeline/ImportStages.ts"
import { StagesLive } from "./pipeline/layers.ts"
import { LocalEngine, LocalRunSignal } from "./pipeline/LocalEngine.ts"
import { Support } from "./support/Support.ts"

const engineConfig = Config.Literals(["local", "trigger"], "TASK_ENGINE").pipe(Config.withDefault("local" as const))

/**
 * TASK_ENGINE: `local` (default, in-process) or `trigger` (Trigger.dev). The Trigger.dev SDK is
 * loaded only by the engine that uses it (about 35 MB of a process that never calls it).
 */
export const TaskQueueLive: Layer.Layer<TaskQueue | LocalRunSignal, Config.ConfigError, Database> = Layer.unwrap(
  Effect.flatMap(engineConfig, (engine) =>
    engine === "trigger"
      ? Effect.map(
        Effect.promise(() => import("./imports/TriggerTaskQueue.ts")),
        ({ TriggerTaskQueue }): Layer.Layer<TaskQueue | LocalRunSignal, Config.ConfigError, Database> =>
          Layer.merge(TriggerTaskQueue.layer, LocalRunSignal.layer)
      )
      : Effect.succeed(LocalTaskQueue.layer.pipe(Layer.provideMerge(LocalRunSignal.layer))))
)

/** The in-process engine when TASK_ENGINE=local; with Trigger.dev the platform runs the tasks. */
export const EngineLive = Layer.unwrap(
  Effect.map(engineConfig, (engine) => engine === "local" ? LocalEngine.layer : Layer.empty)
)

/** Every service of the application over a Database, with these stages (tests give them another lead source). */
export const servicesWith = <E>(stages: Layer.Layer<ImportStages, E, Database | EventStore>) => Support.layer.pipe(
  Layer.provideMerge(ProjectionRebuilds.layer(inlineProjections)),
  Layer.provideMerge(ImportFeed.layer),
  Layer.provideMerge(Imports.layer),
  Layer.provideMerge(stages),
  Layer.provideMerge(ImportRateLimit.layer),
  Layer.provideMerge(TaskQueueLive),
  Layer.provideMerge(Lists.layer),
  Layer.provideMerge(Accounts.layer),
  Layer.provideMerge(Credits.layer),
  Layer.provideMerge(EventStore.layer({ inline: inlineProjections }))
)

/** Every service of the application over a Database, with the stages over LEAD_SOURCE. */
export const ServicesLive = servicesWith(StagesLive)

/** Dispatches what a crash left in the outbox, before the server takes requests. */
const HealOutbox = Layer.effectDiscard(Effect.gen(function*() {
  const imports = yield* Imports
  const dispatched = yield* imports.dispatchPending()
  if (dispatched > 0) yield* Effect.logInfo(`outbox: dispatched ${dispatched} import(s) left over from the last run`)
}))

/** The MCP endpoint, loaded on its first request (src/http/lazyRoutes.ts). */
const McpRoutes = lazyRoutes(
  [{ method: "*", path: "/mcp" }],
  async () => (await import("./mcp/server.ts")).McpLive
)

/** The HTTP server on `port` (0 = any free port), the engine, the reconciler, and the start-up healing. */
export const ServerLive = (port: number, options: { readonly logRequests?: boolean } = {}) =>
  HttpRouter.serve(Layer.merge(HttpApp, McpRoutes), { disableLogger: options.logRequests === false, disableListenLog: options.logRequests === false }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
    Layer.provide(HealOutbox),
    Layer.provideMerge(Reconciler.layer),
    Layer.provideMerge(EngineLive)
  )
