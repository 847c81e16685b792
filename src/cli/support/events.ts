/** `support events`: the event log, filtered, as a table or JSON lines; `--follow` tails it. */
import { Result } from "effect"
import { eventCodec, schemaVersions } from "../../../events/index.ts"
import { timelineEntry } from "../../imports/timeline.ts"
import { type Command, whole } from "./command.ts"
import { table } from "./format.ts"

export interface LogEvent {
  readonly position: string
  readonly streamId: string
  readonly type: string
  readonly data: Record<string, unknown>
  readonly recordedAt: string
}

/** What an event says, in the words of an import's timeline (its data when it does not decode). */
export const summaryOf = (e: LogEvent): string => {
  const decoded = eventCodec.decode({ type: e.type, schemaVersion: schemaVersions[e.type as keyof typeof schemaVersions] ?? 1, data: e.data })
  return Result.isSuccess(decoded) ? timelineEntry(decoded.success, new Date(e.recordedAt)).summary : JSON.stringify(e.data)
}

/** `import-3f2a…` → `import:3f2a1b2c`: enough to tell streams apart in a table. */
const shortStream = (streamId: string) => {
  const at = streamId.indexOf("-")
  return at < 0 ? streamId : `${streamId.slice(0, at)}:${streamId.slice(at + 1, at + 9)}`
}

/** A time as `MM-DD HH:MM:SS` (UTC). */
export const shortTime = (iso: string) => iso.slice(5, 19).replace("T", " ")

export const eventTable = (events: ReadonlyArray<LogEvent>, header: boolean) => {
  const lines = table(
    [{ title: "POSITION", width: 8, align: "right" }, { title: "TIME (UTC)", width: 14 }, { title: "TYPE", width: 21 }, { title: "STREAM", width: 16 }, { title: "SUMMARY" }],
    events.map((e) => [e.position, shortTime(e.recordedAt), e.type, shortStream(e.streamId), summaryOf(e)])
  )
  return header ? lines : lines.slice(1)
}

const PAGE = 1000
const FOLLOW_EVERY_MS = 1000

export const events: Command = {
  name: "events",
  summary: "the event log, filtered; --follow tails it live",
  positionals: 0,
  options: {
    run: { type: "string" },
    user: { type: "string" },
    list: { type: "string" },
    stream: { type: "string" },
    type: { type: "string", multiple: true },
    from: { type: "string" },
    to: { type: "string" },
    after: { type: "string" },
    limit: { type: "string" },
    follow: { type: "boolean" },
    json: { type: "boolean" }
  },
  help: `Usage: npm run support -- events [filters] [--after <position>] [--limit <n>] [--follow] [--json]

The event log in log order (the order events became visible), filtered; filters combine.

  --run <runId>          one import's events (any user's)
  --user <userId>        events recorded on behalf of a user
  --list <listId>        events that name a list (its creation, imports into it, their rows)
  --stream <streamId>    one stream: import-<id>, credits-<userId> or list-<id>
  --type <type>          an event type; repeat it or comma-separate for several
  --from <time>          recorded at or after an ISO 8601 time; --to <time>: at or before
  --after <position>     start after this position (an event's, or the one a cut-off names)
  --limit <n>            print at most n events (default 100)
  --follow               print every matching event, then each new one as it comes (Ctrl-C ends);
                         without --after or --from it starts now
  --json                 one JSON object per line instead of the table

Examples:
  npm run support -- events --run run_abc123... --type PageFetched,BatchPersisted
  npm run support -- events --user 6f1c... --from 2025-03-01T00:00:00Z --limit 500 --json
  npm run support -- events --type ImportFailed --follow`,
  run: async ({ values }, api, io) => {
    const limit = whole("events", "limit", values.limit, 100, 1)
    const follow = values.follow === true
    const from = (values.from as string | undefined) ?? (follow && values.after === undefined ? new Date().toISOString() : undefined)
    const filters = new URLSearchParams()
    for (const [option, param] of [["run", "runId"], ["user", "userId"], ["list", "listId"], ["stream", "streamId"], ["to", "to"]] as const) {
      if (typeof values[option] === "string") filters.set(param, values[option])
    }
    if (from !== undefined) filters.set("from", from)
    for (const type of (values.type as Array<string> | undefined) ?? []) filters.append("type", type)
    const client = api()
    let after = values.after as string | undefined
    if (follow) io.err(`following the log ${after !== undefined ? `after position ${after}` : `from ${from}`}; Ctrl-C ends`)
    let printed = 0
    let header = values.json !== true
    const print = (page: ReadonlyArray<LogEvent>) => {
      if (values.json === true) for (const e of page) io.out(JSON.stringify(e))
      else for (const line of eventTable(page, header)) io.out(line)
      header = false
      printed += page.length
    }
    while (true) {
      const size = follow ? PAGE : Math.min(PAGE, limit - printed)
      const query = new URLSearchParams(filters)
      query.set("limit", String(size))
      if (after !== undefined) query.set("after", after)
      const page = await client.get(`/api/support/events?${query}`) as { events: Array<LogEvent>; next: string | null }
      print(page.events)
      after = page.events.at(-1)?.position ?? after
      if (follow) {
        if (page.next === null) await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS))
        continue
      }
      if (page.next === null) break
      if (printed >= limit) {
        io.err(`… more events: add --after ${page.next} (or a larger --limit)`)
        break
      }
    }
    if (printed === 0 && values.json !== true) io.err("no events match")
  }
}
