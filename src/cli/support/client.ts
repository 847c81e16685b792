/**
 * The support CLI's way to the service: its support API at SUPPORT_URL with SUPPORT_TOKEN.
 * Every failure becomes one CliError whose message is the line the CLI prints.
 */

/** A failure the CLI reports as one line, exiting with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.exitCode = exitCode
  }
}

export interface SupportClient {
  readonly url: string
  get(path: string): Promise<any>
  post(path: string): Promise<{ readonly status: number; readonly body: any }>
}

export const supportClient = (env: Record<string, string | undefined>): SupportClient => {
  const url = (env.SUPPORT_URL?.trim() || "http://127.0.0.1:3000").replace(/\/+$/, "")
  const token = env.SUPPORT_TOKEN?.trim()
  if (!token) {
    throw new CliError("SUPPORT_TOKEN is not set: export the service's SUPPORT_TOKEN (and SUPPORT_URL if it is not on 127.0.0.1:3000)")
  }
  const send = async (method: string, path: string) => {
    let response: Response
    try {
      response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } })
    } catch (e) {
      const cause = (e as { cause?: { code?: string; errors?: Array<{ code?: string }>; message?: string } }).cause
      const why = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e))
      throw new CliError(`cannot reach the service at ${url} (${why}): is it running? Set SUPPORT_URL to its address`)
    }
    const text = await response.text()
    let body: any
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      throw new CliError(`${url} answered ${response.status} with something that is not JSON: is SUPPORT_URL the service?`)
    }
    return { status: response.status, body }
  }
  const failure = (status: number, body: any) =>
    new CliError(`${status} ${body?.code ?? "ERROR"}: ${body?.error ?? "the service refused the request"}${
      Array.isArray(body?.details) ? ` (${body.details.map((d: any) => `${d.path}: ${d.message}`).join("; ")})` : ""
    }`)
  return {
    url,
    get: async (path) => {
      const { status, body } = await send("GET", path)
      if (status !== 200) throw failure(status, body)
      return body
    },
    post: async (path) => {
      const reply = await send("POST", path)
      if (reply.status >= 400 && reply.status !== 409) throw failure(reply.status, reply.body)
      return reply
    }
  }
}
