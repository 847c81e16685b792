/**
 * A Server-Sent Events client for tests, as a browser's fetch() reader would read a stream
 * (EventSource cannot send an Authorization header): messages with their id, event and data,
 * and the comment lines that keep the stream alive.
 */
export interface SseMessage {
  readonly id: string | undefined
  readonly event: string
  readonly data: any
}

export interface SseRead {
  readonly status: number
  readonly messages: ReadonlyArray<SseMessage>
  readonly comments: number
  /** True when the server closed the stream (not when the reader stopped). */
  readonly closed: boolean
}

/**
 * Reads `url` until the server closes it, `stop(messages)` says enough, or `timeoutMs` passes
 * (then the reader hangs up, as a dropped connection would).
 */
export const readSse = async (
  url: string,
  options: {
    readonly token?: string
    readonly lastEventId?: string
    readonly stop?: (messages: ReadonlyArray<SseMessage>) => boolean
    readonly timeoutMs?: number
  } = {}
): Promise<SseRead> => {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 20_000)
  const messages: Array<SseMessage> = []
  let comments = 0
  let closed = false
  const response = await fetch(url, {
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.lastEventId ? { "last-event-id": options.lastEventId } : {})
    },
    signal: controller.signal
  })
  if (response.status !== 200 || response.body === null) {
    clearTimeout(timer)
    return { status: response.status, messages: [], comments: 0, closed: true }
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  try {
    while (true) {
      const { done, value } = await reader.read()
      if (done) {
        closed = true
        break
      }
      buffer += value
      let cut: number
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        if (block.startsWith(":")) {
          comments++
          continue
        }
        const field = (name: string) => block.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2)
        messages.push({ id: field("id"), event: field("event") ?? "message", data: JSON.parse(field("data") ?? "null") })
      }
      if (options.stop?.(messages)) break
    }
  } catch {
    // aborted: the reader hung up
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  return { status: 200, messages, comments, closed }
}
