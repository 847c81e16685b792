/**
 * What each tool does: one call into the services the HTTP handlers use (Imports, Lists,
 * Credits, Accounts), as the user of the request's bearer token, answered with the API's bodies
 * plus the words for the human (summaries.ts). Failures are the contract's errors (toolErrors.ts).
 */
import { Effect, Option } from "effect"
import { databaseUnavailable } from "../http/errorEdges.ts"
import { Accounts } from "../accounts/Accounts.ts"
import { Credits } from "../credits/Credits.ts"
import { CANCEL_IMPORT_FAILURES, cancelImportError, START_IMPORT_FAILURES, startImportError } from "../http/handlers/importErrors.ts"
import { importNotFound, iso, listForbidden, toImportStatus } from "../http/handlers/responses.ts"
import { CurrentUser } from "../http/Security.ts"
import { type ImportRow, Imports } from "../imports/Imports.ts"
import { Lists } from "../lists/Lists.ts"
import { derivedIdempotencyKey, normalizeImportArguments } from "./importArguments.ts"
import { accessSummary, cappedAdvice, importStartedSummary, importSummary } from "./summaries.ts"
import { rateLimitedError, serviceUnavailableError, type ToolError, toolError } from "./toolErrors.ts"
import { SalesNavTools } from "./tools.ts"

const withSummary = (row: ImportRow) => {
  const status = toImportStatus(row)
  return { ...status, summary: importSummary(status) }
}

const fail = (e: Parameters<typeof toolError>[0]) => Effect.fail(toolError(e))

/**
 * Every tool, answering SERVICE_UNAVAILABLE (a tool error, as the API answers 503) when it meets an
 * unreachable database, where the MCP server would say only "internal error". A request that meets
 * it earlier, at the bearer check, is answered 503 by the HTTP edge.
 */
const answeringOutages = <H extends Parameters<typeof SalesNavTools.of>[0]>(handlers: H): H =>
  Object.fromEntries(Object.entries(handlers).map(([name, handler]) => {
    const run = handler as (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, ToolError, unknown>
    return [name, (...args: ReadonlyArray<unknown>) =>
      run(...args).pipe(Effect.catchCause((cause) => databaseUnavailable(cause) ? Effect.fail(serviceUnavailableError) : Effect.failCause(cause)))]
  })) as H

export const SalesNavToolsLive = SalesNavTools.toLayer(Effect.gen(function*() {
  const accounts = yield* Accounts
  const credits = yield* Credits
  const imports = yield* Imports
  const lists = yield* Lists

  return SalesNavTools.of(answeringOutages({
    get_sales_nav_access: () =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const account = yield* accounts.salesNavAccount(user.id).pipe(Effect.orDie)
        const access = Option.match(account, {
          onNone: () => ({ hasSalesNavigator: false, account: null }),
          onSome: (a) => ({ hasSalesNavigator: true, account: { id: a.id, name: a.name, providerAccountId: a.providerAccountId } })
        })
        return { ...access, summary: accessSummary(access) }
      }),

    import_sales_nav: ({ idempotencyKey, ...args }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const request = normalizeImportArguments(args)
        const key = idempotencyKey ?? derivedIdempotencyKey(user.id, request)
        // No token hash: the MCP endpoint looked its token up itself, so TokenRevoked cannot happen here.
        const started = yield* imports.start(user.id, request, { idempotencyKey: key }).pipe(Effect.catchTag("TokenRevoked", Effect.die))
        const accepted = {
          success: true as const,
          listId: started.listId,
          runId: started.runId,
          maxResults: started.maxResults,
          wasCapped: started.wasCapped
        }
        return {
          ...accepted,
          requested: request.maxResults,
          replayed: started.replayed,
          idempotencyKey: key,
          summary: importStartedSummary(accepted, started.replayed),
          tellTheHuman: cappedAdvice(accepted, request.maxResults)
        }
      }).pipe(
        Effect.catchTag(START_IMPORT_FAILURES, (e) => fail(startImportError(e))),
        Effect.catchTag("ImportRateLimited", (e) => Effect.fail(rateLimitedError(e))),
        Effect.catchTag("SqlError", Effect.die)
      ),

    get_import: ({ runId }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const row = yield* imports.findByRunId(user.id, runId).pipe(Effect.orDie)
        return Option.isSome(row) ? withSummary(row.value) : yield* fail(importNotFound)
      }),

    list_imports: ({ status, limit = 20, offset = 0 }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const page = yield* imports.list(user.id, { status, limit, offset }).pipe(Effect.orDie)
        return { imports: page.rows.map(withSummary), total: page.total, limit, offset, hasMore: offset + page.rows.length < page.total }
      }),

    list_rows: ({ listId, limit = 100, offset = 0 }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const list = yield* lists.find(user.id, listId).pipe(Effect.orDie)
        if (Option.isNone(list)) return yield* fail(listForbidden)
        const rows = yield* lists.rows(listId, { limit, offset }).pipe(Effect.orDie)
        return {
          rows: rows.map((r) => ({ ...r, source: "sales_nav" as const, addedAt: iso(r.addedAt) })),
          total: list.value.rowCount,
          limit,
          offset,
          hasMore: offset + rows.length < list.value.rowCount
        }
      }),

    cancel_import: ({ runId }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        return withSummary(yield* imports.cancel(user.id, runId))
      }).pipe(
        Effect.catchTag(CANCEL_IMPORT_FAILURES, (e) => fail(cancelImportError(e))),
        Effect.catchTag("SqlError", Effect.die)
      ),

    get_credits: () =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const { balance, reserved, available } = yield* credits.balance(user.id).pipe(Effect.orDie)
        return { balance, reserved, available }
      })
  }))
}))
