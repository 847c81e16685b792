/**
 * HTTP/1.1 over a bare socket, byte for byte: what no well-behaved client (fetch, curl) would
 * send — control characters in headers, bytes that are not UTF-8 in the request line, broken
 * chunked bodies, duplicate Content-Length. The answer is the first response on the socket.
 */
import { connect } from "node:net"

export interface RawAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** Sends `bytes` to 127.0.0.1:`port` and reads the first response (the server closes or the deadline passes). */
export const sendRaw = (port: number, bytes: Uint8Array, timeoutMs = 20_000): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    const chunks: Array<Buffer> = []
    let settled = false
    const finish = (error?: Error) => {
      if (settled) return
      const parsed = parseResponse(Buffer.concat(chunks))
      if (parsed === undefined && error === undefined) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (parsed !== undefined) resolve(parsed)
      else reject(new Error(`no HTTP response (${error?.message}): ${JSON.stringify(Buffer.concat(chunks).toString("latin1").slice(0, 200))}`))
    }
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs)
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk)
      finish()
    })
    socket.on("end", () => finish(new Error("closed")))
    socket.on("close", () => finish(new Error("closed")))
    // A server that answers early and closes may reset the rest of our write; the answer is what counts.
    socket.on("error", (error) => finish(error))
    socket.write(bytes)
  })

/** The first complete response in `data` (Content-Length or chunked body), or undefined while it is incomplete. */
const parseResponse = (data: Buffer): RawAnswer | undefined => {
  const headEnd = data.indexOf("\r\n\r\n")
  if (headEnd < 0) return undefined
  const [statusLine, ...lines] = data.subarray(0, headEnd).toString("latin1").split("\r\n")
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1])
  if (!Number.isInteger(status)) return undefined
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(":")
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const rest = data.subarray(headEnd + 4)
  if (headers["transfer-encoding"]?.includes("chunked")) {
    const body: Array<Buffer> = []
    let at = 0
    while (true) {
      const lineEnd = rest.indexOf("\r\n", at)
      if (lineEnd < 0) return undefined
      const size = parseInt(rest.subarray(at, lineEnd).toString("latin1"), 16)
      if (size === 0) return { status, headers, body: Buffer.concat(body).toString("utf8") }
      if (rest.length < lineEnd + 2 + size + 2) return undefined
      body.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size))
      at = lineEnd + 2 + size + 2
    }
  }
  const length = Number(headers["content-length"] ?? 0)
  if (rest.length < length) return undefined
  return { status, headers, body: rest.subarray(0, length).toString("utf8") }
}
