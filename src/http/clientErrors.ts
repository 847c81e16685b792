/**
 * Requests that Node's HTTP parser rejects before they reach the app — a malformed request
 * line or header, control bytes, a duplicate Content-Length, a broken chunked body, headers
 * over the size limit — get the contract's JSON error body like every other error. Node's own
 * answer to them is a bare status line with no body.
 */
import { createServer as createNodeServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"

/** The parser's error codes that have a status of their own (Node answers them alike); anything else is 400. */
const ANSWERS: Record<string, readonly [status: number, code: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, "HEADERS_TOO_LARGE", "Request line and headers too large"],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, "PAYLOAD_TOO_LARGE", "Chunk extensions too large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "REQUEST_TIMEOUT", "The request did not arrive in time"]
}
const MALFORMED = [400, "MALFORMED_REQUEST", "Malformed HTTP request"] as const

/** The raw response for a parser error: the contract's Error body, and the connection closed. */
export const clientErrorResponse = (errorCode: string | undefined): string => {
  const [status, code, message] = ANSWERS[errorCode ?? ""] ?? MALFORMED
  const body = JSON.stringify({ success: false, error: message, code })
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}

/**
 * `server`, answering the requests its parser rejects with JSON. Otherwise as Node's own handler:
 * the answer only on a socket that can take it and where no response has begun, then the
 * connection closed (a request in flight on it ends with it).
 */
export const withJsonClientErrors = <S extends Server>(server: S): S =>
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (error.code !== "ECONNRESET" && socket.writable && inFlight?.headersSent !== true) {
      socket.write(clientErrorResponse(error.code))
    }
    socket.destroy()
  })

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void

/**
 * `server`, holding the requests that arrive before the app's handler is attached and handing
 * them to it once it is. The platform's server listens first and attaches the handler when the
 * app is built; a request arriving in between (a health probe at start-up) would never be answered.
 */
export const holdingEarlyRequests = <S extends Server>(server: S): S => {
  const held: Array<[IncomingMessage, ServerResponse]> = []
  const hold: RequestListener = (request, response) => held.push([request, response])
  const handOver = (event: string | symbol, listener: RequestListener) => {
    if (event !== "request" || listener === hold) return
    server.off("newListener", handOver)
    server.off("request", hold)
    // "newListener" fires before the listener is attached: hand the held requests over after.
    queueMicrotask(() => held.splice(0).forEach(([request, response]) => listener(request, response)))
  }
  server.on("request", hold)
  server.on("newListener", handOver)
  return server
}

/** node:http's createServer, answering the requests its parser rejects with JSON, holding early ones. */
export const createServer = (): Server => holdingEarlyRequests(withJsonClientErrors(createNodeServer()))
