/**
 * The MCP surface stays in step with the HTTP contract: each tool's input schema, as the server
 * lists it to an MCP client, takes exactly what its endpoint takes in the contract — the body's
 * fields and the path, query and header parameters — with the same types, formats, enums,
 * bounds, defaults and required fields, compared both ways (test/support/openapi-compare.ts).
 * The mutation cases prove the comparison fails when a tool drifts.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { parse } from "yaml"
import { makeUser } from "../support/fixtures.ts"
import { connectAgent } from "../support/mcp.ts"
import { compareSchema, deref } from "../support/openapi-compare.ts"
import { TestApp } from "../support/server.ts"

type Obj = Record<string, any>

/**
 * Two spellings of the same thing made one before comparing: an integer without a bound is
 * bounded by the safe integers anyway (effect's Schema.Int writes them out), and an enum of
 * strings without a type is a string.
 */
const normalized = <A>(schema: A): A => {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (typeof node !== "object" || node === null) return node
    const out: Obj = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]))
    if (out.type === "integer") {
      out.maximum ??= Number.MAX_SAFE_INTEGER
      out.minimum ??= Number.MIN_SAFE_INTEGER
    }
    if (out.type === undefined && Array.isArray(out.enum) && out.enum.every((v: unknown) => typeof v === "string")) out.type = "string"
    return out
  }
  return walk(schema) as A
}

const contract: Obj = normalized(parse(readFileSync(new URL("../contract/openapi.yaml", import.meta.url), "utf8")))

/** Header names as the tools spell them. */
const ARGUMENT_NAMES: Record<string, string> = { "Idempotency-Key": "idempotencyKey" }

/**
 * What an endpoint takes, as one object schema: its JSON body's fields plus its parameters.
 * Unknown fields are refused (the body's additionalProperties: false; the tools refuse unknown
 * arguments throughout).
 */
const requestOf = (method: string, path: string): Obj => {
  const item = contract.paths[path]
  const operation = item[method]
  const parameters: Array<Obj> = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p: unknown) => deref(contract, p))
  const body: Obj = operation.requestBody === undefined
    ? { properties: {}, required: [] }
    : deref(contract, (deref(contract, operation.requestBody) as Obj).content["application/json"].schema)
  const name = (p: Obj) => ARGUMENT_NAMES[p.name] ?? p.name
  return {
    type: "object",
    additionalProperties: false,
    properties: { ...body.properties, ...Object.fromEntries(parameters.map((p: Obj) => [name(p), p.schema])) },
    required: [...(body.required ?? []), ...parameters.filter((p: Obj) => p.required === true).map(name)]
  }
}

const ENDPOINTS: Record<string, readonly [string, string]> = {
  get_sales_nav_access: ["get", "/api/lists/sales-nav-access"],
  import_sales_nav: ["post", "/api/lists/import-sales-nav"],
  get_import: ["get", "/api/imports/{runId}"],
  list_imports: ["get", "/api/imports"],
  list_rows: ["get", "/api/lists/{listId}/rows"],
  cancel_import: ["post", "/api/imports/{runId}/cancel"],
  get_credits: ["get", "/api/credits"]
}

/** Every disagreement between a tool's input schema and its endpoint's request, each way. */
const disagreements = (tool: string, served: Obj): ReadonlyArray<string> => {
  const inputSchema = normalized(served)
  const [method, path] = ENDPOINTS[tool]!
  const request = requestOf(method, path)
  const at = `${tool} (${method.toUpperCase()} ${path})`
  const ctx = (from: Obj, to: Obj) => ({ contract: from, generated: to, direction: "request" as const, ancestors: new Set<string>() })
  return [
    ...compareSchema(ctx(contract, inputSchema), at, request, inputSchema).map((m) => `${m} [contract → tool]`),
    ...compareSchema(ctx(inputSchema, contract), at, inputSchema, request).map((m) => `${m} [tool → contract]`)
  ]
}

const mutations: ReadonlyArray<{ readonly name: string; readonly tool: string; readonly change: (schema: Obj) => void; readonly expected: string }> = [
  {
    name: "a changed bound",
    tool: "import_sales_nav",
    change: (s) => void (s.properties.maxResults.maximum = 100),
    expected: "import_sales_nav (POST /api/lists/import-sales-nav).maxResults: maximum contract 9007199254740991, generated 100 [contract → tool]"
  },
  {
    name: "a bound the contract does not have",
    tool: "list_rows",
    change: (s) => void (s.properties.offset.maximum = 10_000),
    expected: "list_rows (GET /api/lists/{listId}/rows).offset: maximum contract 9007199254740991, generated 10000 [contract → tool]"
  },
  {
    name: "a dropped bound",
    tool: "list_imports",
    change: (s) => void delete s.properties.limit.maximum,
    expected: "list_imports (GET /api/imports).limit: maximum contract 100, generated 9007199254740991 [contract → tool]"
  },
  {
    name: "a field the endpoint does not take",
    tool: "list_rows",
    change: (s) => void (s.properties.sort = { type: "string" }),
    expected: "list_rows (GET /api/lists/{listId}/rows).sort: missing in generated [tool → contract]"
  },
  {
    name: "a field the tool lost",
    tool: "import_sales_nav",
    change: (s) => void delete s.properties.skipExistingCustomers,
    expected: "import_sales_nav (POST /api/lists/import-sales-nav).skipExistingCustomers: missing in generated [contract → tool]"
  },
  {
    name: "another type",
    tool: "get_import",
    change: (s) => void (s.properties.runId = { type: "integer" }),
    expected: "get_import (GET /api/imports/{runId}).runId: type contract string, generated integer [contract → tool]"
  },
  {
    name: "an optional field made required",
    tool: "import_sales_nav",
    change: (s) => void s.required.push("maxResults"),
    expected: "import_sales_nav (POST /api/lists/import-sales-nav).maxResults: required in generated, optional in contract [contract → tool]"
  },
  {
    name: "another pattern for the header's key",
    tool: "import_sales_nav",
    change: (s) => void (s.properties.idempotencyKey.pattern = "^.+$"),
    expected: "import_sales_nav (POST /api/lists/import-sales-nav).idempotencyKey: pattern contract ^[\\x21-\\x7E]+$, generated ^.+$ [contract → tool]"
  }
]

layer(TestApp(), { excludeTestServices: true })("tool input schemas against the HTTP contract", (it) => {
  it.effect("every tool takes exactly what its endpoint takes; a drifted schema is reported", () =>
    Effect.gen(function*() {
      const agent = yield* connectAgent((yield* makeUser()).token)
      const { tools } = yield* Effect.promise(() => agent.mcp.listTools())
      expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(ENDPOINTS).sort())
      for (const tool of tools) expect(disagreements(tool.name, tool.inputSchema), tool.name).toEqual([])

      const served = Object.fromEntries(tools.map((t) => [t.name, t.inputSchema as Obj]))
      for (const mutation of mutations) {
        const schema = structuredClone(served[mutation.tool]!)
        mutation.change(schema)
        expect(disagreements(mutation.tool, schema), mutation.name).toContain(mutation.expected)
      }
    }))
})
