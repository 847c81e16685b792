/**
 * Every projection, in the order they run inside an append. All of them are inline
 * (read-your-writes for credits, dedupe and the rows an import has streamed so far);
 * the ProjectionRunner replays any of them from an empty checkpoint.
 */
import type { Projection } from "../src/eventstore/Projection.ts"
import { creditsProjection } from "./credits.ts"
import { importProgressProjection } from "./import-progress.ts"
import { leadIndexProjection } from "./lead-index.ts"
import { listRowsProjection } from "./list-rows.ts"
import { listsProjection } from "./lists.ts"

export const inlineProjections: ReadonlyArray<Projection> = [
  listsProjection,
  creditsProjection,
  listRowsProjection,
  leadIndexProjection,
  importProgressProjection
]
