/**
 * The POST's load generator, in a child process so it does not share an event loop with the
 * server it measures (autocannon only aggregates its results on a main thread): autocannon, `connections` connections for `seconds`, every request a
 * valid import body with the next user's token (round robin over all of them).
 */
import autocannon from "autocannon"

export interface LoadSpec {
  readonly url: string
  readonly path: string
  readonly tokens: ReadonlyArray<string>
  readonly body: string
  readonly connections: number
  readonly seconds: number
}

export interface LoadResult {
  readonly requests: number
  readonly seconds: number
  readonly reqPerSec: number
  readonly p50: number
  readonly p99: number
  /** Answers other than 200, connection errors and timeouts. */
  readonly non200: number
  readonly statusCodes: Record<string, number>
}

const spec = JSON.parse(process.env.BENCH_LOAD_SPEC!) as LoadSpec
let next = 0
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  timeout: 30,
  requests: [{
    method: "POST",
    path: spec.path,
    setupRequest: (request: Record<string, unknown>) => {
      const token = spec.tokens[next++ % spec.tokens.length]
      return { ...request, headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: spec.body }
    }
  }]
})
const statusCodes: Record<string, number> = {}
let ok = 0
for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
  statusCodes[code] = Number(stat.count)
  if (code === "200") ok += Number(stat.count)
}
const answered = Object.values(statusCodes).reduce((a, b) => a + b, 0)
const out: LoadResult = {
  requests: answered,
  seconds: result.duration,
  reqPerSec: ok / result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non200: answered - ok + result.errors + result.timeouts,
  statusCodes
}
process.stdout.write(JSON.stringify(out))
