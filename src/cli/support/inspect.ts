/** `support import`, `support projections`, `support rows`: what the support API answers, laid out. */
import { CliError } from "./client.ts"
import { type Command, whole } from "./command.ts"
import { count, table, truncate, WIDTH } from "./format.ts"
import { shortTime } from "./events.ts"

const words = (code: string | null) => (code ?? "").replace(/_/g, " ")

export const importTimeline: Command = {
  name: "import",
  summary: "an import's status and timeline, one line per recorded step",
  positionals: 1,
  options: { json: { type: "boolean" } },
  help: `Usage: npm run support -- import <runId> [--json]

Any user's import: its status and counters, then one line per recorded step, oldest first —
the request, the reservation, each page's fetch, dedupe and persist, charges, a cancel, the
refund and the end.

  --json     the support API's answer as it is

Example:
  npm run support -- import run_cm8x2k3l0000abcd1234efgh`,
  run: async ({ values, positionals }, api, io) => {
    const answer = await api().get(`/api/support/imports/${encodeURIComponent(positionals[0]!)}`)
    if (values.json === true) return io.out(JSON.stringify(answer))
    const i = answer.import
    io.out(`${i.runId}: ${i.status}${i.completionReason ? ` (${words(i.completionReason)})` : ""}` +
      `${i.cancelRequested ? ", cancel requested" : ""}, ${count(i.leadsImported)} imported of ${count(i.maxResults)}` +
      `${i.wasCapped ? ` (asked ${count(i.requested)})` : ""}`)
    io.out(`user ${answer.userId}  list ${i.listId}`)
    io.out(`${count(i.pagesFetched)} pages, ${count(i.leadsFetched)} fetched` +
      `${i.totalAvailable === null ? "" : ` of ${count(i.totalAvailable)} available`}; skipped ${count(i.skippedDuplicate)} duplicates, ` +
      `${count(i.skippedExisting)} in other lists, ${count(i.overCap)} over the cap`)
    io.out(`credits ${count(i.creditsReserved)} reserved, ${count(i.creditsCharged)} charged, ${count(i.creditsRefunded)} refunded`)
    if (i.error) io.out(truncate(`error: ${i.error}`, WIDTH))
    io.out("")
    for (
      const line of table(
        [{ title: "TIME (UTC)", width: 14 }, { title: "PAGE", width: 4, align: "right" }, { title: "TYPE", width: 21 }, { title: "SUMMARY" }],
        answer.timeline.map((t: any) => [shortTime(t.at), t.page === null ? "" : String(t.page), t.type, t.summary])
      )
    ) io.out(line)
  }
}

export const projections: Command = {
  name: "projections",
  summary: "each projection's version, status, lag and rebuild progress",
  positionals: 0,
  options: { json: { type: "boolean" } },
  help: `Usage: npm run support -- projections [--json]

Every read model: the version of its tables that serves, whether a rebuild is writing the next
one (and how far it is), and its lag — events of the log it has not applied (0 for the inline
projections, which are written in the same transaction as the events).

  --json     the support API's answer as it is`,
  run: async ({ values }, api, io) => {
    const answer = await api().get("/api/support/projections")
    if (values.json === true) return io.out(JSON.stringify(answer))
    for (
      const line of table(
        [{ title: "NAME", width: 16 }, { title: "VERSION", width: 7, align: "right" }, { title: "STATUS", width: 10 }, { title: "LAG", width: 6, align: "right" }, { title: "REBUILD" }],
        answer.projections.map((p: any) => [
          p.name,
          String(p.version),
          p.status,
          count(p.lag),
          p.rebuild === null
            ? ""
            : `version ${p.rebuild.version}: ${count(p.rebuild.processed)}/${count(p.rebuild.total)} events, ${count(p.rebuild.eventsPerSecond)} events/s`
        ])
      )
    ) io.out(line)
  }
}

export const rows: Command = {
  name: "rows",
  summary: "a list's rows as they were at a time or a position of the log",
  positionals: 1,
  options: { "as-of": { type: "string" }, limit: { type: "string" }, offset: { type: "string" }, json: { type: "boolean" } },
  help: `Usage: npm run support -- rows <listId> --as-of <time|position> [--limit n] [--offset n] [--json]

A list's rows as they were, computed from its events: at an ISO 8601 time (2025-03-01T12:00:00Z)
or at a position of the log (from \`events\`). Always a beginning of today's rows, in their order.

  --as-of <x>      the time or the position (required)
  --limit <n>      rows to show, 1 to 500 (default 100); --offset <n>: rows to skip (default 0)
  --json           one row per line, as the API has it

Example:
  npm run support -- rows 0b6c6a0e-... --as-of 2025-03-01T09:30:00Z --limit 20`,
  run: async ({ values, positionals }, api, io) => {
    const asOf = values["as-of"]
    if (typeof asOf !== "string") throw new CliError("rows: --as-of <time|position> is required (see: npm run support -- rows --help)", 2)
    const limit = whole("rows", "limit", values.limit, 100, 1)
    const offset = whole("rows", "offset", values.offset, 0)
    const query = new URLSearchParams({ asOf, limit: String(limit), offset: String(offset) })
    const answer = await api().get(`/api/support/lists/${encodeURIComponent(positionals[0]!)}/rows?${query}`)
    if (values.json === true) return answer.rows.forEach((r: unknown) => io.out(JSON.stringify(r)))
    const shown = answer.rows.length === 0 ? "none shown" : `showing ${count(offset + 1)}–${count(offset + answer.rows.length)}`
    io.out(`${count(answer.total)} rows as of ${answer.asOf} (${shown})`)
    if (answer.rows.length === 0) return
    for (
      const line of table(
        [{ title: "#", width: 6, align: "right" }, { title: "NAME", width: 26 }, { title: "COMPANY", width: 24 }, { title: "ROLE" }],
        answer.rows.map((r: any, i: number) => [
          String(offset + i + 1),
          r.profileData.fullName,
          r.profileData.currentCompany ?? "",
          r.profileData.currentRole ?? r.profileData.headline ?? ""
        ])
      )
    ) io.out(line)
  }
}
