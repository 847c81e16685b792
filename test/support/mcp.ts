/** An agent's side of the MCP endpoint: the official TypeScript MCP client over Streamable HTTP, with the bearer header. */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect } from "effect"
import { client } from "./server.ts"

export interface ToolReply {
  readonly isError: boolean
  /** The structured result, or the JSON in the text content (tool errors carry their body there). */
  readonly body: any
  readonly text: string
}

export interface Agent {
  readonly mcp: Client
  call(name: string, args?: Record<string, unknown>): Effect.Effect<ToolReply>
}

/** A connected MCP client for the server of the current test layer; its session is ended with the scope. */
export const connectAgent = (token: string) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const api = yield* client
      const mcp = new Client({ name: "e2e-agent", version: "1.0.0" })
      const transport = new StreamableHTTPClientTransport(new URL(`${api.baseUrl}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } }
      })
      yield* Effect.promise(() => mcp.connect(transport))
      const agent: Agent = {
        mcp,
        call: (name, args = {}) =>
          Effect.promise(() => mcp.callTool({ name, arguments: args })).pipe(Effect.map((result) => {
            const text = (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? "").join("")
            let parsed: unknown = text
            try {
              parsed = JSON.parse(text)
            } catch {
              // a text answer: tests assert on it as text
            }
            return { isError: result.isError === true, body: result.structuredContent ?? parsed, text }
          }))
      }
      return { agent, transport }
    }),
    ({ agent, transport }) => Effect.promise(() => transport.terminateSession().catch(() => undefined).then(() => agent.mcp.close()))
  ).pipe(Effect.map(({ agent }) => agent))
