/**
 * The real service as a child process (`node src/main.ts`), for tests of what only a whole
 * process shows: a SIGKILL mid-import, what it writes to its logs. Its output is collected.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** Starts the service with `env` added to this process's; stdout and stderr go to `output`. */
export const startService = (env: Record<string, string>, output: Array<string>, nodeArgs: ReadonlyArray<string> = []): ChildProcess => {
  const child = spawn(process.execPath, [...nodeArgs, "src/main.ts"], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (d: Buffer) => output.push(d.toString()))
  child.stderr!.on("data", (d: Buffer) => output.push(d.toString()))
  return child
}

/** A JSON client of the service on `port`. */
export const api = (port: number) => async (method: string, path: string, token?: string, json?: unknown) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    // A service that stops answering fails the call (and the test says where) instead of hanging it.
    signal: AbortSignal.timeout(30_000),
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json ? { "content-type": "application/json" } : {}) },
    ...(json ? { body: JSON.stringify(json) } : {})
  })
  const text = await response.text()
  return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as any }
}

/** Polls `probe` until it answers something (errors count as not yet). */
export const waitFor = async <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 90_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Resolves when the child has exited. */
export const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())))
