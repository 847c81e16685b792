/**
 * The MCP tools: names, descriptions (guidance.ts) and schemas. Every input schema is built
 * from the schemas of the HTTP API (src/http/Api.ts: the import body, the Idempotency-Key, the
 * query and path parameters), so a tool and its endpoint cannot accept different things; a
 * test compares each served input schema with the contract. Unknown arguments are refused, as
 * the API refuses unknown fields.
 */
import { Schema } from "effect"
import { Tool, Toolkit } from "effect/ai"
import {
  Credits,
  IdempotencyKey,
  ImportAccepted,
  ImportList,
  ImportListQuery,
  ImportRequest,
  ImportStatus,
  ListRows,
  ListRowsQuery,
  RunId,
  SalesNavAccess,
  Uuid
} from "../http/Api.ts"
import { CurrentUser } from "../http/Security.ts"
import {
  ACCESS_DESCRIPTION,
  CANCEL_DESCRIPTION,
  CREDITS_DESCRIPTION,
  GET_IMPORT_DESCRIPTION,
  IDEMPOTENCY_KEY_DESCRIPTION,
  IMPORT_DESCRIPTION,
  LIST_IMPORTS_DESCRIPTION,
  LIST_ROWS_DESCRIPTION
} from "./guidance.ts"
import { ToolError } from "./toolErrors.ts"

// --- inputs: the API's schemas ---

export const ImportArguments = Schema.Struct({
  ...ImportRequest.fields,
  idempotencyKey: Schema.optionalKey(IdempotencyKey.annotate({ description: IDEMPOTENCY_KEY_DESCRIPTION }))
})

const RunIdArguments = Schema.Struct({ runId: RunId })

// --- outputs: the API's bodies, and the words for the human ---

const Summary = Schema.String.annotate({ description: "One line to repeat to the human." })

const ImportStatusWithSummary = Schema.Struct({ ...ImportStatus.fields, summary: Summary })

export const ImportStarted = Schema.Struct({
  ...ImportAccepted.fields,
  requested: Schema.Int.annotate({ description: "The maxResults asked for (2500 when not given)." }),
  replayed: Schema.Boolean.annotate({
    description: "True when an earlier call with the same idempotency key started this import: nothing new was started or reserved."
  }),
  idempotencyKey: Schema.String.annotate({ description: "The key this call was sent with (pass a new one to start a second import)." }),
  summary: Summary,
  tellTheHuman: Schema.NullOr(Schema.String).annotate({
    description: "When the import was capped to the credits available: what to tell the human (and propose a top-up). Null otherwise."
  })
})

// --- the tools ---

/** MCP's behaviour hints: reads are read-only; an import adds and pages through LinkedIn; a cancel stops work. */
type Kind = "read" | "import" | "cancel"

const tool = <const Name extends string, S extends Schema.Top, P extends Schema.Top = Tool.EmptyParams>(
  name: Name,
  title: string,
  kind: Kind,
  options: { readonly description: string; readonly parameters?: P; readonly success: S }
) =>
  Tool.make(name, {
    description: options.description,
    parameters: options.parameters,
    success: options.success,
    failure: ToolError,
    dependencies: [CurrentUser]
  })
    .annotate(Tool.Title, title)
    .annotate(Tool.Strict, true)
    .annotate(Tool.Readonly, kind === "read")
    .annotate(Tool.Destructive, kind === "cancel")
    // An import is idempotent too: the same call answers with the same import.
    .annotate(Tool.Idempotent, kind !== "cancel")
    .annotate(Tool.OpenWorld, kind === "import")

export const GetSalesNavAccess = tool("get_sales_nav_access", "Sales Navigator access", "read", {
  description: ACCESS_DESCRIPTION,
  success: Schema.Struct({ ...SalesNavAccess.fields, summary: Summary }),
})

export const ImportSalesNav = tool("import_sales_nav", "Import a Sales Navigator search", "import", {
  description: IMPORT_DESCRIPTION,
  parameters: ImportArguments,
  success: ImportStarted,
})

export const GetImport = tool("get_import", "Import status", "read", {
  description: GET_IMPORT_DESCRIPTION,
  parameters: RunIdArguments,
  success: ImportStatusWithSummary,
})

export const ListImports = tool("list_imports", "The user's imports", "read", {
  description: LIST_IMPORTS_DESCRIPTION,
  parameters: Schema.Struct(ImportListQuery),
  success: Schema.Struct({ ...ImportList.fields, imports: Schema.Array(ImportStatusWithSummary) }),
})

export const ListRowsTool = tool("list_rows", "Leads of a list", "read", {
  description: LIST_ROWS_DESCRIPTION,
  parameters: Schema.Struct({ listId: Uuid, ...ListRowsQuery }),
  success: ListRows,
})

export const CancelImport = tool("cancel_import", "Cancel an import", "cancel", {
  description: CANCEL_DESCRIPTION,
  parameters: RunIdArguments,
  success: ImportStatusWithSummary,
})

export const GetCredits = tool("get_credits", "Credits", "read", {
  description: CREDITS_DESCRIPTION,
  success: Credits,
})

export const SalesNavTools = Toolkit.make(
  GetSalesNavAccess,
  ImportSalesNav,
  GetImport,
  ListImports,
  ListRowsTool,
  CancelImport,
  GetCredits
)
