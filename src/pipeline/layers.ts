/**
 * The pipeline's services, assembled — for the service (with the local engine) and for a
 * Trigger.dev task worker, which gets the stages and nothing of the HTTP app.
 *
 * A worker never falls back to a toy: DATABASE_URL and LEAD_SOURCE must be set in its
 * environment (an embedded database would import into an empty one and succeed; a fake
 * source would charge real credits for fake people), and it never migrates.
 */
import { Effect, Layer } from "effect"
import { inlineProjections } from "../../projections/index.ts"
import { configError, productionConfig, setting } from "../config.ts"
import { Database } from "../db/Database.ts"
import { EventStore } from "../eventstore/EventStore.ts"
import { LeadSourceLive } from "../leads/index.ts"
import { ImportStages } from "./ImportStages.ts"

/** LEAD_SOURCE, which must be set explicitly where `required` (a worker, or NODE_ENV=production). */
const leadSource = (required: Effect.Effect<boolean, unknown>, where: string) =>
  Layer.unwrap(Effect.gen(function*() {
    if ((yield* required) && (yield* setting("LEAD_SOURCE"))._tag === "None") {
      return yield* Effect.fail(configError(
        `LEAD_SOURCE is not set ${where}: set it to unipile (with UNIPILE_DSN and UNIPILE_API_KEY) for real searches. ` +
          "The fake lead source is never chosen by default here: it would charge real credits for made-up people."
      ))
    }
    return LeadSourceLive
  }))

/** The stages over LEAD_SOURCE (the fake by default, except with NODE_ENV=production). */
export const StagesLive = ImportStages.layer.pipe(
  Layer.provide(leadSource(productionConfig, "and NODE_ENV=production"))
)

/** What a task worker runs its stages on: the stages, the event store with its inline projections, a small pool. */
export const WorkerServicesLive = ImportStages.layer.pipe(
  Layer.provide(leadSource(Effect.succeed(true), "for this Trigger.dev task (set it in the project's environment variables)")),
  Layer.provideMerge(EventStore.layer({ inline: inlineProjections })),
  Layer.provideMerge(Database.layerWorker)
)
