/**
 * `node bench/delay-proxy.ts <port> <delay ms> [upstream host:port]`: a TCP proxy to PostgreSQL
 * (default 127.0.0.1:5432) that holds every chunk `delay` ms each way, so a round trip costs what
 * it costs across a network (2 × delay, plus Node's timer granularity of ~1 ms) instead of on
 * loopback. For the diagnostics, not the table: what the service's round trips cost where the
 * database is another machine, e.g.
 *
 *   node bench/delay-proxy.ts 6543 0.5 &
 *   DATABASE_URL=postgres://postgres@127.0.0.1:6543/postgres node bench/pipeline-profile.ts
 *
 * Chunks keep their order: timers of one delay fire in the order they were set.
 */
import { connect, createServer, type Socket } from "node:net"

const [port, delayMs, upstream = "127.0.0.1:5432"] = process.argv.slice(2)
if (port === undefined || delayMs === undefined) {
  console.error("usage: node bench/delay-proxy.ts <port> <delay ms> [upstream host:port]")
  process.exit(2)
}
const [upstreamHost, upstreamPort] = upstream.split(":")
const delay = Number(delayMs)

const relay = (from: Socket, to: Socket) =>
  from.on("data", (chunk) => setTimeout(() => to.writable && to.write(chunk), delay))

createServer((client) => {
  const server = connect(Number(upstreamPort ?? 5432), upstreamHost ?? "127.0.0.1")
  client.setNoDelay(true)
  server.setNoDelay(true)
  relay(client, server)
  relay(server, client)
  const close = () => {
    client.destroy()
    server.destroy()
  }
  for (const socket of [client, server]) socket.on("close", close).on("error", close)
}).listen(Number(port), "127.0.0.1", () => console.error(`delay proxy: 127.0.0.1:${port} → ${upstream}, ${delay} ms each way`))
