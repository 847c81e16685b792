/**
 * The rows of the events table behind a batch of recorded events, for projections that
 * read what they write from the stored events rather than from a copy sent with the
 * statement: a page's leads and keys then travel to the database once (in the append),
 * not again with each projection's rows. Inline, the events were inserted earlier in the
 * same transaction; in a rebuild, they are committed ones.
 */
import { sql } from "kysely"
import type { RecordedEvent } from "../src/eventstore/EventStore.ts"

/**
 * `from` items giving each event's `data` and `recorded_at` as `e`, and `p.n` its place in
 * `events` (order by it to write in the order the events were given). Each is one probe of
 * the primary key: a LIMIT keeps the lateral subquery from being turned into a join, which
 * the planner, guessing the number of positions, may make a scan of the whole log.
 */
export const storedEvents = (events: ReadonlyArray<RecordedEvent>) =>
  sql`unnest(${`{${events.map((e) => e.position).join(",")}}`}::text::bigint[]) with ordinality as p(position, n)
      cross join lateral (select data, recorded_at from events where events.position = p.position limit 1) e`
