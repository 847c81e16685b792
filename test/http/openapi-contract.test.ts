/**
 * The OpenAPI document the server generates from src/http/Api.ts (served at /openapi.json)
 * must keep every promise of the contract (test/contract/openapi.yaml): paths, methods,
 * status codes, parameters, fields, types, nullability, bounds and the bearer scheme.
 * All mismatches are reported at once. The mutation cases prove the comparer can fail.
 */
import { describe, expect, it } from "@effect/vitest"
import { OpenApi } from "effect/http-api"
import { readFileSync } from "node:fs"
import { parse } from "yaml"
import { Api } from "../../src/http/Api.ts"
import { compareDocuments } from "../support/openapi-compare.ts"

const loadContract = (): unknown => parse(readFileSync(new URL("../contract/openapi.yaml", import.meta.url), "utf8"))
/** Through JSON, exactly as a client of /openapi.json would see it. */
const loadGenerated = (): unknown => JSON.parse(JSON.stringify(OpenApi.fromApi(Api)))

type Node = Record<string, unknown>

/** The object at `path` inside a parsed document (throws when the mutation targets nothing). */
const nodeAt = (doc: unknown, path: ReadonlyArray<string>): Node =>
  path.reduce<Node>((node, key) => {
    const next = node[key]
    if (typeof next !== "object" || next === null) throw new Error(`no object at ${path.join("/")} (${key})`)
    return next as Node
  }, doc as Node)

const schemaAt = (doc: unknown, ...path: ReadonlyArray<string>): Node => nodeAt(doc, ["components", "schemas", ...path])
const operationAt = (doc: unknown, path: string, method: string): Node => nodeAt(doc, ["paths", path, method])
/** A property of an operation's 200 JSON body. */
const okBodyPropertyAt = (doc: unknown, path: string, method: string, property: string): Node =>
  nodeAt(operationAt(doc, path, method), ["responses", "200", "content", "application/json", "schema", "properties", property])

interface Mutation {
  readonly name: string
  readonly contract?: (doc: unknown) => void
  readonly generated?: (doc: unknown) => void
  readonly expected: string
}

const IMPORT = "POST /api/lists/import-sales-nav"
const ROWS = "GET /api/lists/{listId}/rows"

const mutations: ReadonlyArray<Mutation> = [
  {
    name: "a changed maximum",
    contract: (c) => {
      schemaAt(c, "ImportRequest", "properties", "maxResults").maximum = 100
    },
    expected: `${IMPORT} requestBody.maxResults: maximum contract 100, generated 9007199254740991`
  },
  {
    name: "exclusiveMinimum written as minimum",
    contract: (c) => {
      const maxResults = schemaAt(c, "ImportRequest", "properties", "maxResults")
      delete maxResults.exclusiveMinimum
      maxResults.minimum = 1
    },
    expected: `${IMPORT} requestBody.maxResults: minimum contract 1, generated absent`
  },
  {
    name: "a new required response field",
    contract: (c) => {
      const accepted = schemaAt(c, "ImportAccepted")
      nodeAt(accepted, ["properties"]).creditsLeft = { type: "integer" }
      accepted.required = [...(accepted.required as Array<string>), "creditsLeft"]
    },
    expected: `${IMPORT} 200 body.creditsLeft: missing in generated`
  },
  {
    name: "an optional field made required (through $ref and array items)",
    contract: (c) => {
      const lead = schemaAt(c, "Lead")
      lead.required = [...(lead.required as Array<string>), "runId"]
    },
    expected: `${ROWS} 200 body.rows[].runId: required in contract, optional in generated`
  },
  {
    name: "a request field the contract leaves optional but the generated document requires",
    contract: (c) => {
      schemaAt(c, "ImportRequest").required = []
    },
    expected: `${IMPORT} requestBody.url: required in generated, optional in contract`
  },
  {
    name: "a renamed path",
    contract: (c) => {
      const paths = nodeAt(c, ["paths"])
      paths["/api/credit"] = paths["/api/credits"]
      delete paths["/api/credits"]
    },
    expected: "GET /api/credit: operation missing in generated"
  },
  {
    name: "a changed method",
    contract: (c) => {
      const item = nodeAt(c, ["paths", "/api/credits"])
      item.put = item.get
      delete item.get
    },
    expected: "PUT /api/credits: operation missing in generated"
  },
  {
    name: "integer vs number",
    contract: (c) => {
      okBodyPropertyAt(c, "/api/credits", "get", "balance").type = "number"
    },
    expected: "GET /api/credits 200 body.balance: type contract number, generated integer"
  },
  {
    name: "array items of another type",
    contract: (c) => {
      okBodyPropertyAt(c, "/api/lists/{listId}/rows", "get", "rows").items = { type: "string" }
    },
    expected: `${ROWS} 200 body.rows[]: type contract string, generated object`
  },
  {
    name: "null dropped from a type in the contract",
    contract: (c) => {
      schemaAt(c, "Lead", "properties", "linkedinUrl").type = "string"
    },
    expected: `${ROWS} 200 body.rows[].linkedinUrl: nullable in generated, not in contract`
  },
  {
    name: "null dropped from a union in the generated document",
    generated: (g) => {
      const profile = schemaAt(g, "Lead", "properties", "profileData", "properties")
      profile.headline = { type: "string" }
    },
    expected: `${ROWS} 200 body.rows[].profileData.headline: nullable in contract, not in generated`
  },
  {
    name: "a new status code",
    contract: (c) => {
      nodeAt(operationAt(c, "/api/credits", "get"), ["responses"])["404"] = { description: "Not found" }
    },
    expected: "GET /api/credits 404: status missing in generated"
  },
  {
    name: "a status code removed from the generated document",
    generated: (g) => {
      delete nodeAt(operationAt(g, "/api/lists/import-sales-nav", "post"), ["responses"])["413"]
    },
    expected: `${IMPORT} 413: status missing in generated`
  },
  {
    name: "a changed pattern (shared $ref, reported at each use)",
    contract: (c) => {
      schemaAt(c, "RunId").pattern = "^run_[a-z]+$"
    },
    expected: "GET /api/imports/{runId} path.runId: pattern contract ^run_[a-z]+$, generated ^run_[A-Za-z0-9]{16,40}$"
  },
  {
    name: "an extra enum value",
    contract: (c) => {
      const status = schemaAt(c, "ImportStatus", "properties", "status")
      status.enum = [...(status.enum as Array<string>), "paused"]
    },
    expected: "GET /api/imports/{runId} 200 body.status: enum contract " +
      "[\"queued\",\"running\",\"completed\",\"failed\",\"canceled\",\"paused\"], " +
      "generated [\"queued\",\"running\",\"completed\",\"failed\",\"canceled\"]"
  },
  {
    name: "a changed const",
    contract: (c) => {
      schemaAt(c, "ImportAccepted", "properties", "success").const = false
    },
    expected: `${IMPORT} 200 body.success: enum contract [false], generated [true]`
  },
  {
    name: "a changed string format",
    contract: (c) => {
      schemaAt(c, "Lead", "properties", "addedAt").format = "date"
    },
    expected: `${ROWS} 200 body.rows[].addedAt: format contract date, generated date-time`
  },
  {
    name: "a changed default",
    contract: (c) => {
      schemaAt(c, "ImportRequest", "properties", "skipExistingCustomers").default = false
    },
    expected: `${IMPORT} requestBody.skipExistingCustomers: default contract false, generated true`
  },
  {
    name: "a changed length bound",
    contract: (c) => {
      schemaAt(c, "ImportRequest", "properties", "listName").maxLength = 100
    },
    expected: `${IMPORT} requestBody.listName: maxLength contract 100, generated 200`
  },
  {
    name: "additionalProperties: false lost in the generated document",
    generated: (g) => {
      delete schemaAt(g, "ImportRequest").additionalProperties
    },
    expected: `${IMPORT} requestBody: additionalProperties contract false, generated absent`
  },
  {
    name: "a query parameter made required",
    contract: (c) => {
      const params = operationAt(c, "/api/lists/{listId}/rows", "get").parameters as Array<Node>
      const limit = params.find((p) => p.name === "limit")
      if (limit === undefined) throw new Error("no limit parameter")
      limit.required = true
    },
    expected: `${ROWS} query.limit: required contract true, generated false`
  },
  {
    name: "a parameter moved to a header",
    contract: (c) => {
      const params = operationAt(c, "/api/lists/{listId}/rows", "get").parameters as Array<Node>
      const offset = params.find((p) => p.name === "offset")
      if (offset === undefined) throw new Error("no offset parameter")
      offset.in = "header"
    },
    expected: `${ROWS} header.offset: parameter missing in generated`
  },
  {
    name: "a changed query parameter bound",
    contract: (c) => {
      const params = operationAt(c, "/api/lists/{listId}/rows", "get").parameters as Array<Node>
      const limit = params.find((p) => p.name === "limit")
      if (limit === undefined) throw new Error("no limit parameter")
      nodeAt(limit, ["schema"]).maximum = 1000
    },
    expected: `${ROWS} query.limit: maximum contract 1000, generated 500`
  },
  {
    name: "a request body the generated operation lacks",
    generated: (g) => {
      delete operationAt(g, "/api/admin/users", "post").requestBody
    },
    expected: "POST /api/admin/users requestBody: missing in generated"
  },
  {
    name: "another security scheme",
    contract: (c) => {
      nodeAt(c, ["components", "securitySchemes", "bearer"]).scheme = "basic"
    },
    expected: "securitySchemes.bearer: scheme contract basic, generated Bearer"
  },
  {
    name: "a missing security scheme",
    generated: (g) => {
      delete nodeAt(g, ["components", "securitySchemes"]).bearer
    },
    expected: "securitySchemes.bearer: missing in generated"
  },
  {
    name: "an operation the contract leaves public",
    contract: (c) => {
      operationAt(c, "/api/credits", "get").security = []
    },
    expected: "GET /api/credits security: requirement {} of the contract missing in generated [{\"bearer\":[]}]"
  }
]

const mutated = (mutate: ((doc: unknown) => void) | undefined, doc: unknown): unknown => {
  const copy = structuredClone(doc)
  mutate?.(copy)
  return copy
}

/**
 * What the contract promises that the service does not serve yet, line for line as the
 * comparer reports it, with the work that serves it. The list only shrinks: a line that
 * no longer mismatches fails the test, so it must be removed when its part is served.
 */
const NOT_SERVED_YET: ReadonlyArray<string> = []

describe("generated OpenAPI document vs the contract", () => {
  it("keeps every path, method, status, parameter, field, type and bound of the contract it serves", () => {
    const mismatches = compareDocuments(loadContract(), loadGenerated())
    expect(mismatches.filter((line) => !NOT_SERVED_YET.includes(line))).toEqual([])
  })

  it("serves none of what it lists as not served yet (served parts leave the list)", () => {
    const mismatches = compareDocuments(loadContract(), loadGenerated())
    expect(NOT_SERVED_YET.filter((line) => !mismatches.includes(line))).toEqual([])
  })
})

describe("the comparer reports each deliberate break", () => {
  const contract = loadContract()
  const generated = loadGenerated()
  const baseline = compareDocuments(contract, generated)

  for (const m of mutations) {
    it(m.name, () => {
      const found = compareDocuments(mutated(m.contract, contract), mutated(m.generated, generated))
      expect(found.filter((line) => !baseline.includes(line))).toContain(m.expected)
    })
  }
})

describe("the comparer's normalizations", () => {
  const docWith = (schema: unknown): unknown => ({
    paths: {
      "/x": { get: { responses: { "200": { content: { "application/json": { schema } } } } } }
    }
  })
  const compareSchemas = (contract: unknown, generated: unknown) => compareDocuments(docWith(contract), docWith(generated))

  it("type [T, null] ≡ anyOf [T, null] ≡ oneOf [null, T]", () => {
    const typeArray = { type: ["string", "null"], maxLength: 3 }
    const anyOf = { anyOf: [{ type: "string", maxLength: 3 }, { type: "null" }] }
    const oneOf = { oneOf: [{ type: "null" }, { type: "string", maxLength: 3 }] }
    expect(compareSchemas(typeArray, anyOf)).toEqual([])
    expect(compareSchemas(anyOf, oneOf)).toEqual([])
    expect(compareSchemas(oneOf, typeArray)).toEqual([])
  })

  it("enum [a, null] ≡ anyOf [enum [a], null]", () => {
    const generated = { anyOf: [{ type: "string", enum: ["a", "b"] }, { type: "null" }] }
    expect(compareSchemas({ enum: ["a", "b", null] }, generated)).toEqual([])
    expect(compareSchemas({ enum: ["a", "b", "c", null] }, generated)).toEqual([
      "GET /x 200 body: enum contract [\"a\",\"b\",\"c\"], generated [\"a\",\"b\"]"
    ])
    expect(compareSchemas({ enum: ["a", "b"] }, generated)).toEqual(["GET /x 200 body: nullable in generated, not in contract"])
  })

  it("const x ≡ enum [x], and enum order does not matter", () => {
    expect(compareSchemas({ const: "a" }, { type: "string", enum: ["a"] })).toEqual([])
    expect(compareSchemas({ enum: ["a", "b"] }, { type: "string", enum: ["b", "a"] })).toEqual([])
  })

  it("$refs are resolved on both sides, including recursive ones", () => {
    const treeOf = (ref: string) => ({ type: "object", properties: { children: { type: "array", items: { $ref: ref } } } })
    const withSchemas = (root: unknown, schemas: Node): unknown => ({ ...(docWith(root) as Node), components: { schemas } })
    const contract = withSchemas({ $ref: "#/components/schemas/Tree" }, { Tree: treeOf("#/components/schemas/Tree") })
    // Generated: first level inline, then its own recursive schema under another name.
    const generated = withSchemas(treeOf("#/components/schemas/Node"), { Node: treeOf("#/components/schemas/Node") })
    expect(compareDocuments(contract, generated)).toEqual([])
    const stricter = withSchemas(treeOf("#/components/schemas/Node"), {
      Node: { ...treeOf("#/components/schemas/Node"), additionalProperties: false, required: ["children"] }
    })
    expect(compareDocuments(contract, stricter)).toEqual([]) // a response may promise more
    const renamed = withSchemas(treeOf("#/components/schemas/Node"), {
      Node: { type: "object", properties: { kids: { type: "array", items: { $ref: "#/components/schemas/Node" } } } }
    })
    expect(compareDocuments(contract, renamed)).toEqual(["GET /x 200 body.children[].children: missing in generated"])
  })

  it("integer and number differ", () => {
    expect(compareSchemas({ type: "integer" }, { type: "number" })).toEqual([
      "GET /x 200 body: type contract integer, generated number"
    ])
  })
})
