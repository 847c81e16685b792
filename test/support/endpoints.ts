/**
 * The endpoints the service serves, read from the API definition (src/http/Api.ts), and what
 * the contract documents for each. Tests that must walk every endpoint (the tenant isolation
 * matrix, the fuzz) take their list from here, so an endpoint added to the API and not to
 * them fails them.
 */
import { OpenApi } from "effect/http-api"
import { readFileSync } from "node:fs"
import { parse } from "yaml"
import { Api } from "../../src/http/Api.ts"

export interface ServedEndpoint {
  /** "GET /api/lists/{listId}" — the method and the path as the contract writes them. */
  readonly key: string
  readonly method: string
  /** The path with `{param}` placeholders. */
  readonly path: string
  readonly params: ReadonlyArray<string>
  /** Names of its query parameters and request headers (Authorization aside). */
  readonly query: ReadonlyArray<string>
  /** The query parameters it requires. */
  readonly requiredQuery: ReadonlyArray<string>
  readonly headers: ReadonlyArray<string>
  /** Whether it takes a JSON body. */
  readonly takesBody: boolean
}

const asContractPath = (path: string) => path.replace(/:(\w+)/g, "{$1}")

interface Operation {
  readonly parameters?: ReadonlyArray<{ readonly name: string; readonly in: string; readonly required?: boolean }>
  readonly requestBody?: unknown
}
const served = OpenApi.fromApi(Api) as unknown as { readonly paths: Record<string, Record<string, Operation>> }

/** Every endpoint of the API definition, in definition order. */
export const servedEndpoints: ReadonlyArray<ServedEndpoint> = Object.values(Api.groups).flatMap((group) =>
  Object.values(group.endpoints).map((endpoint) => {
    const path = asContractPath(endpoint.path)
    const method = endpoint.method.toUpperCase()
    const operation = served.paths[path]?.[method.toLowerCase()] ?? {}
    const named = (where: string) => (operation.parameters ?? []).filter((p) => p.in === where).map((p) => p.name)
    return {
      key: `${method} ${path}`,
      method,
      path,
      params: named("path"),
      query: named("query"),
      requiredQuery: (operation.parameters ?? []).filter((p) => p.in === "query" && p.required === true).map((p) => p.name),
      headers: named("header"),
      takesBody: operation.requestBody !== undefined
    }
  })
)

/** `path` with its placeholders filled (each value is put in as it is: encode it first if it must be). */
export const fillPath = (path: string, values: Record<string, string>) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`no value for {${name}} in ${path}`)
    return value
  })

const contract = parse(readFileSync(new URL("../contract/openapi.yaml", import.meta.url), "utf8")) as {
  readonly paths: Record<string, Record<string, { readonly responses?: Record<string, unknown> }>>
}

/** The statuses the contract documents for an endpoint ("GET /api/credits"), empty for one it does not name. */
export const documentedStatuses = (key: string): ReadonlySet<number> => {
  const [method, path] = key.split(" ") as [string, string]
  const responses = contract.paths[path]?.[method.toLowerCase()]?.responses ?? {}
  return new Set(Object.keys(responses).map(Number))
}
