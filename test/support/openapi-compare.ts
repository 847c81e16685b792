/**
 * Compares a generated OpenAPI 3.1 document with the contract and lists, as readable
 * strings, every promise of the contract that the generated document breaks: a missing
 * path, method, status code, parameter, field or security scheme, a different type or
 * nullability, a changed bound, a field required on one side only.
 * Additions in the generated document are welcome; removals, renames and changes are not.
 * Pure: two parsed documents in, a list of mismatches out ($refs resolved in both).
 */
import { isDeepStrictEqual } from "node:util"

type Obj = { readonly [key: string]: unknown }
type Direction = "request" | "response"

interface Docs {
  readonly contract: Obj
  readonly generated: Obj
}

/** Where a schema is compared: which documents, which way data flows, and the $ref pairs above it (cycles). */
interface SchemaCtx extends Docs {
  readonly direction: Direction
  readonly ancestors: ReadonlySet<string>
}

/** A schema after normalization: its non-null alternatives and whether null is allowed. */
interface Shape {
  readonly nullable: boolean
  readonly variants: ReadonlyArray<Obj>
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const

/** Bounds compared with deep equality wherever the contract gives them. */
const BOUNDS = [
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "uniqueItems",
  "default"
] as const

// --- small JSON helpers ---

const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)
const asObj = (u: unknown): Obj => (isObj(u) ? u : {})
const asArray = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
const asStrings = (u: unknown): ReadonlyArray<string> => asArray(u).filter((x): x is string => typeof x === "string")
const entries = (u: unknown): ReadonlyArray<readonly [string, unknown]> => Object.entries(asObj(u))
const show = (u: unknown): string => (u === undefined ? "absent" : typeof u === "string" ? u : JSON.stringify(u))

// --- $ref resolution ---

const unescapePointer = (token: string): string => token.replaceAll("~1", "/").replaceAll("~0", "~")

/** Resolves a local JSON pointer such as `#/components/schemas/Uuid` (undefined when it leads nowhere). */
export const resolvePointer = (doc: Obj, ref: string): unknown => {
  if (!ref.startsWith("#")) return undefined
  const tokens = ref.slice(1).split("/").slice(1).map(unescapePointer)
  return tokens.reduce<unknown>((node, token) => (isObj(node) || Array.isArray(node) ? (node as Obj)[token] : undefined), doc)
}

/** The $refs followed from `value` until a node without $ref (stops on a loop of bare refs). */
const refChain = (doc: Obj, value: unknown): ReadonlyArray<string> => {
  const chain: Array<string> = []
  let node = value
  while (isObj(node) && typeof node.$ref === "string" && !chain.includes(node.$ref)) {
    chain.push(node.$ref)
    node = resolvePointer(doc, node.$ref)
  }
  return chain
}

/** Follows $refs until a node without one; unresolvable refs give an empty object. */
export const deref = (doc: Obj, value: unknown): Obj => {
  const chain = refChain(doc, value)
  const last = chain[chain.length - 1]
  return asObj(last === undefined ? value : resolvePointer(doc, last))
}

// --- schema normalization ---

/** `const: x` ≡ `enum: [x]`. */
const enumOf = (schema: Obj): ReadonlyArray<unknown> | undefined =>
  Array.isArray(schema.enum) ? schema.enum : "const" in schema ? [schema.const] : undefined

/**
 * `type: [T, 'null']` ≡ `anyOf: [{type: T}, {type: 'null'}]` ≡ the same with oneOf ≡ an enum
 * listing null: all become `{nullable: true, variants: [{type: T, ...}]}`.
 */
export const shapeOf = (doc: Obj, value: unknown): Shape => {
  const schema = deref(doc, value)
  const union = [...asArray(schema.anyOf), ...asArray(schema.oneOf)]
  if (union.length > 0) {
    const parts = union.map((member) => shapeOf(doc, member))
    return { nullable: parts.some((p) => p.nullable), variants: parts.flatMap((p) => p.variants) }
  }
  if (Array.isArray(schema.type)) {
    const types = asStrings(schema.type)
    return {
      nullable: types.includes("null"),
      variants: types.filter((t) => t !== "null").map((type) => ({ ...schema, type }))
    }
  }
  const values = enumOf(schema)
  const onlyNull = schema.type === "null" || (values !== undefined && values.length > 0 && values.every((v) => v === null))
  if (onlyNull) return { nullable: true, variants: [] }
  // `enum: [a, b, null]` ≡ `anyOf: [{enum: [a, b]}, {type: 'null'}]`.
  if (values !== undefined && values.includes(null)) {
    const { const: _, ...rest } = schema
    return { nullable: true, variants: [{ ...rest, enum: values.filter((v) => v !== null) }] }
  }
  return { nullable: false, variants: [schema] }
}

const typeOf = (variant: Obj): string | undefined => (typeof variant.type === "string" ? variant.type : undefined)
const typesOf = (shape: Shape): string => shape.variants.map((v) => typeOf(v) ?? "(untyped)").join("|") || "(none)"
const sortedJson = (values: ReadonlyArray<unknown>): ReadonlyArray<string> => values.map((v) => JSON.stringify(v)).sort()

// --- schema comparison ---

const compareBounds = (at: string, c: Obj, g: Obj): ReadonlyArray<string> =>
  BOUNDS.filter((key) => key in c && !isDeepStrictEqual(c[key], g[key])).map((key) =>
    `${at}: ${key} contract ${show(c[key])}, generated ${show(g[key])}`
  )

const compareFormat = (at: string, c: Obj, g: Obj): ReadonlyArray<string> =>
  "format" in c && (typeOf(c) ?? typeOf(g)) === "string" && c.format !== g.format
    ? [`${at}: format contract ${show(c.format)}, generated ${show(g.format)}`]
    : []

const compareEnum = (at: string, c: Obj, g: Obj): ReadonlyArray<string> => {
  const cValues = enumOf(c)
  if (cValues === undefined) return []
  const gValues = enumOf(g)
  return gValues !== undefined && isDeepStrictEqual(sortedJson(cValues), sortedJson(gValues))
    ? []
    : [`${at}: enum contract ${show(cValues)}, generated ${show(gValues)}`]
}

const compareAdditionalProperties = (ctx: SchemaCtx, at: string, c: Obj, g: Obj): ReadonlyArray<string> => {
  if (c.additionalProperties === false) {
    return g.additionalProperties === false
      ? []
      : [`${at}: additionalProperties contract false, generated ${show(g.additionalProperties)}`]
  }
  if (isObj(c.additionalProperties)) {
    return isObj(g.additionalProperties)
      ? compareSchema(ctx, `${at}{*}`, c.additionalProperties, g.additionalProperties)
      : [`${at}: additionalProperties contract a schema, generated ${show(g.additionalProperties)}`]
  }
  return []
}

const compareProperties = (ctx: SchemaCtx, at: string, c: Obj, g: Obj): ReadonlyArray<string> => {
  const gProps = asObj(g.properties)
  return entries(c.properties).flatMap(([name, cProp]) =>
    name in gProps
      ? compareSchema(ctx, `${at}.${name}`, cProp, gProps[name])
      : [`${at}.${name}: missing in generated`]
  )
}

/** Contract-required ⊆ generated-required; for requests also generated-required ⊆ contract-required. */
const compareRequired = (ctx: SchemaCtx, at: string, c: Obj, g: Obj): ReadonlyArray<string> => {
  const cReq = asStrings(c.required)
  const gReq = asStrings(g.required)
  const gProps = asObj(g.properties)
  const cProps = asObj(c.properties)
  const missingRequired = cReq
    .filter((name) => !gReq.includes(name) && !(name in cProps && !(name in gProps)))
    .map((name) => `${at}.${name}: required in contract, optional in generated`)
  const extraRequired = ctx.direction === "request"
    ? gReq.filter((name) => !cReq.includes(name)).map((name) =>
      `${at}.${name}: required in generated, ${name in cProps ? "optional" : "absent"} in contract`
    )
    : []
  return [...missingRequired, ...extraRequired]
}

const compareItems = (ctx: SchemaCtx, at: string, c: Obj, g: Obj): ReadonlyArray<string> => {
  if (!("items" in c)) return []
  return "items" in g ? compareSchema(ctx, `${at}[]`, c.items, g.items) : [`${at}[]: items missing in generated`]
}

/** One non-null alternative against another: everything but the type (compared by the caller). */
const compareVariant = (ctx: SchemaCtx, at: string, c: Obj, g: Obj): ReadonlyArray<string> => [
  ...compareBounds(at, c, g),
  ...compareFormat(at, c, g),
  ...compareEnum(at, c, g),
  ...compareAdditionalProperties(ctx, at, c, g),
  ...compareProperties(ctx, at, c, g),
  ...compareRequired(ctx, at, c, g),
  ...compareItems(ctx, at, c, g)
]

const fewest = (lists: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> | undefined =>
  lists.reduce<ReadonlyArray<string> | undefined>((best, l) => (best === undefined || l.length < best.length ? l : best), undefined)

/** Each contract alternative against the generated alternative of the same type that matches best. */
const compareVariants = (ctx: SchemaCtx, at: string, c: Shape, g: Shape): ReadonlyArray<string> =>
  c.variants.flatMap((cv) => {
    const sameType = g.variants.filter((gv) => typeOf(cv) === undefined || typeOf(gv) === typeOf(cv))
    const candidates = sameType.length === 0 && c.variants.length === 1 && g.variants.length === 1 ? g.variants : sameType
    return fewest(candidates.map((gv) => compareVariant(ctx, at, cv, gv))) ?? []
  })

const compareTypes = (at: string, c: Shape, g: Shape): ReadonlyArray<string> => {
  const mismatches: Array<string> = []
  if (c.nullable !== g.nullable) {
    mismatches.push(`${at}: nullable in ${c.nullable ? "contract" : "generated"}, not in ${c.nullable ? "generated" : "contract"}`)
  }
  const typed = c.variants.length > 0 && c.variants.every((v) => typeOf(v) !== undefined)
  const cTypes = [...new Set(c.variants.map(typeOf))].sort()
  const gTypes = [...new Set(g.variants.map(typeOf))].sort()
  if (typed && !isDeepStrictEqual(cTypes, gTypes)) {
    mismatches.push(`${at}: type contract ${typesOf(c)}, generated ${typesOf(g)}`)
  }
  return mismatches
}

/** Recursive schema compatibility at `at` (a readable location such as `GET /x 200 body.rows[].id`). */
export const compareSchema = (ctx: SchemaCtx, at: string, contract: unknown, generated: unknown): ReadonlyArray<string> => {
  // Only a $ref on both sides can recurse forever; an inline side ends the descent by itself.
  const cChain = refChain(ctx.contract, contract)
  const gChain = refChain(ctx.generated, generated)
  const key = cChain.length > 0 && gChain.length > 0 ? `${cChain.join(">")}|${gChain.join(">")}` : undefined
  if (key !== undefined && ctx.ancestors.has(key)) return []
  const inner = key === undefined ? ctx : { ...ctx, ancestors: new Set([...ctx.ancestors, key]) }
  const c = shapeOf(ctx.contract, contract)
  const g = shapeOf(ctx.generated, generated)
  return [...compareTypes(at, c, g), ...compareVariants(inner, at, c, g)]
}

// --- operations ---

const schemaCtx = (docs: Docs, direction: Direction): SchemaCtx => ({ ...docs, direction, ancestors: new Set() })

const mediaSuffix = (mediaType: string): string => (mediaType === "application/json" ? "" : `(${mediaType})`)

/** Every media type of the contract's content exists in the generated content, with a compatible schema. */
const compareContent = (
  docs: Docs,
  direction: Direction,
  at: string,
  cContent: unknown,
  gContent: unknown
): ReadonlyArray<string> =>
  entries(cContent).flatMap(([mediaType, cMedia]) => {
    const gMedia = asObj(gContent)[mediaType]
    if (gMedia === undefined) return [`${at}: content ${mediaType} missing in generated`]
    const cSchema = asObj(cMedia).schema
    if (cSchema === undefined) return []
    const gSchema = asObj(gMedia).schema
    return gSchema === undefined
      ? [`${at}: schema of ${mediaType} missing in generated`]
      : compareSchema(schemaCtx(docs, direction), `${at}${mediaSuffix(mediaType)}`, cSchema, gSchema)
  })

/** Path-level and operation-level parameters, dereferenced (the operation's win on the same name + in). */
const parametersOf = (doc: Obj, pathItem: Obj, operation: Obj): ReadonlyArray<Obj> => {
  const all = [...asArray(pathItem.parameters), ...asArray(operation.parameters)].map((p) => deref(doc, p))
  return all.filter((p, i) => !all.slice(i + 1).some((q) => q.name === p.name && q.in === p.in))
}

/** Header names are case-insensitive (RFC 9110 §5.1); other parameter names are not. */
const sameParameter = (a: Obj, b: Obj): boolean =>
  a.in === b.in && (a.in === "header" ? String(a.name).toLowerCase() === String(b.name).toLowerCase() : a.name === b.name)

const compareParameters = (docs: Docs, op: string, cParams: ReadonlyArray<Obj>, gParams: ReadonlyArray<Obj>) =>
  cParams.flatMap((cp): ReadonlyArray<string> => {
    const at = `${op} ${show(cp.in)}.${show(cp.name)}`
    const gp = gParams.find((p) => sameParameter(p, cp))
    if (gp === undefined) return [`${at}: parameter missing in generated`]
    const cRequired = cp.required === true
    const gRequired = gp.required === true
    return [
      ...(cRequired === gRequired ? [] : [`${at}: required contract ${cRequired}, generated ${gRequired}`]),
      ...("schema" in cp ? compareSchema(schemaCtx(docs, "request"), at, cp.schema, gp.schema) : [])
    ]
  })

const compareRequestBody = (docs: Docs, op: string, cOperation: Obj, gOperation: Obj): ReadonlyArray<string> => {
  if (cOperation.requestBody === undefined) return []
  const at = `${op} requestBody`
  if (gOperation.requestBody === undefined) return [`${at}: missing in generated`]
  const c = deref(docs.contract, cOperation.requestBody)
  const g = deref(docs.generated, gOperation.requestBody)
  return [
    ...(c.required === true && g.required !== true ? [`${at}: required in contract, optional in generated`] : []),
    ...compareContent(docs, "request", at, c.content, g.content)
  ]
}

const compareResponses = (docs: Docs, op: string, cOperation: Obj, gOperation: Obj): ReadonlyArray<string> => {
  const gResponses = asObj(gOperation.responses)
  return entries(cOperation.responses).flatMap(([status, cResponse]) => {
    if (!(status in gResponses)) return [`${op} ${status}: status missing in generated`]
    const c = deref(docs.contract, cResponse)
    const g = deref(docs.generated, gResponses[status])
    return compareContent(docs, "response", `${op} ${status} body`, c.content, g.content)
  })
}

/** Security requirements as sorted JSON; an empty list means "no auth", i.e. the empty requirement `{}`. */
const requirementsOf = (doc: Obj, operation: Obj): ReadonlyArray<string> => {
  const list = asArray(operation.security ?? doc.security)
  const normalized = list.map((r) =>
    JSON.stringify(Object.fromEntries(entries(r).map(([name, scopes]) => [name, [...asStrings(scopes)].sort()]).sort()))
  )
  return normalized.length === 0 ? ["{}"] : normalized
}

const compareSecurity = (docs: Docs, op: string, cOperation: Obj, gOperation: Obj): ReadonlyArray<string> => {
  const g = requirementsOf(docs.generated, gOperation)
  return requirementsOf(docs.contract, cOperation)
    .filter((r) => !g.includes(r))
    .map((r) => `${op} security: requirement ${r} of the contract missing in generated [${g.join(", ")}]`)
}

const compareOperation = (docs: Docs, path: string, method: string, cItem: Obj, gItem: Obj): ReadonlyArray<string> => {
  const op = `${method.toUpperCase()} ${path}`
  const cOperation = asObj(cItem[method])
  if (!isObj(gItem[method])) return [`${op}: operation missing in generated`]
  const gOperation = asObj(gItem[method])
  return [
    ...compareParameters(
      docs,
      op,
      parametersOf(docs.contract, cItem, cOperation),
      parametersOf(docs.generated, gItem, gOperation)
    ),
    ...compareRequestBody(docs, op, cOperation, gOperation),
    ...compareResponses(docs, op, cOperation, gOperation),
    ...compareSecurity(docs, op, cOperation, gOperation)
  ]
}

const comparePaths = (docs: Docs): ReadonlyArray<string> => {
  const gPaths = asObj(docs.generated.paths)
  return entries(docs.contract.paths).flatMap(([path, cItemRaw]) => {
    const cItem = deref(docs.contract, cItemRaw)
    const gItem = deref(docs.generated, gPaths[path])
    return METHODS.filter((m) => isObj(cItem[m])).flatMap((m) => compareOperation(docs, path, m, cItem, gItem))
  })
}

// --- security schemes ---

const lower = (u: unknown): unknown => (typeof u === "string" ? u.toLowerCase() : u)

const compareSecurityScheme = (name: string, c: Obj, g: Obj): ReadonlyArray<string> => {
  const at = `securitySchemes.${name}`
  const fields: ReadonlyArray<readonly [string, (u: unknown) => unknown]> = [
    ["type", (u) => u],
    ["scheme", lower], // HTTP auth schemes are case-insensitive (RFC 9110 §11.1)
    ["bearerFormat", (u) => u],
    ["in", (u) => u],
    ["name", (u) => u]
  ]
  return fields
    .filter(([key, norm]) => key in c && norm(c[key]) !== norm(g[key]))
    .map(([key]) => `${at}: ${key} contract ${show(c[key])}, generated ${show(g[key])}`)
}

const compareSecuritySchemes = (docs: Docs): ReadonlyArray<string> => {
  const gSchemes = asObj(asObj(docs.generated.components).securitySchemes)
  return entries(asObj(docs.contract.components).securitySchemes).flatMap(([name, cScheme]) =>
    name in gSchemes
      ? compareSecurityScheme(name, deref(docs.contract, cScheme), deref(docs.generated, gSchemes[name]))
      : [`securitySchemes.${name}: missing in generated`]
  )
}

/** Every way in which `generated` breaks `contract` (empty when it keeps every promise). */
export const compareDocuments = (contract: unknown, generated: unknown): ReadonlyArray<string> => {
  const docs: Docs = { contract: asObj(contract), generated: asObj(generated) }
  return [...compareSecuritySchemes(docs), ...comparePaths(docs)]
}
