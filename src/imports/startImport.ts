/**
 * The decision behind POST /api/lists/import-sales-nav, as a pure function: given
 * what the caller asked and what we know (their Sales Navigator account, the list,
 * their credits), either the events to append or why not. The checks run in the
 * contract's order: URL, Sales Navigator account, list ownership, credits.
 */
import { Result, Schema } from "effect"
import { CreditsReserved, ImportRequested, ListCreated, ListResolved } from "../../events/index.ts"
import { capToCredits } from "../credits/capping.ts"
import { defaultListName } from "../lists/listName.ts"
import { classifySalesNavUrl } from "./salesNavUrl.ts"

export interface StartImportCommand {
  readonly userId: string
  readonly url: string
  readonly listId?: string | undefined
  readonly listName?: string | undefined
  readonly maxResults: number
  readonly skipExistingCustomers: boolean
  readonly now: Date
  /** Ids minted by the caller, so the decision stays pure. */
  readonly importId: string
  readonly newListId: string
}

export interface StartImportState {
  readonly salesNavAccountId: string | undefined
  /** Whether `listId` (when given) names a list of this user. */
  readonly listOwned: boolean
  readonly availableCredits: number
}

export const StartImportRejection = Schema.Union([
  Schema.TaggedStruct("InvalidUrl", { message: Schema.String }),
  Schema.TaggedStruct("NoSalesNavAccount", {}),
  Schema.TaggedStruct("ListForbidden", {}),
  Schema.TaggedStruct("InsufficientCredits", { available: Schema.Number })
])
export type StartImportRejection = typeof StartImportRejection.Type

export interface StartImportDecision {
  readonly listId: string
  readonly accountId: string
  readonly maxResults: number
  readonly wasCapped: boolean
  /** Present when the import creates its list. */
  readonly listCreated: ListCreated | undefined
  readonly importEvents: readonly [ImportRequested, ListResolved]
  readonly reservation: CreditsReserved
}

/** The URL check alone: it needs no state, so it runs before anything is read. */
export const checkUrl = (url: string): Result.Result<string, StartImportRejection> =>
  Result.mapError(
    Result.map(classifySalesNavUrl(url), (u) => u.url),
    (message): StartImportRejection => ({ _tag: "InvalidUrl", message })
  )

export const decideStartImport = (
  command: StartImportCommand,
  state: StartImportState
): Result.Result<StartImportDecision, StartImportRejection> => {
  const url = checkUrl(command.url)
  if (Result.isFailure(url)) return Result.fail(url.failure)
  const accountId = state.salesNavAccountId
  if (accountId === undefined) return Result.fail({ _tag: "NoSalesNavAccount" })
  if (command.listId !== undefined && !state.listOwned) return Result.fail({ _tag: "ListForbidden" })
  const cap = capToCredits(command.maxResults, state.availableCredits)
  if (cap._tag === "InsufficientCredits") return Result.fail(cap)

  const { userId, importId } = command
  const listId = command.listId ?? command.newListId
  const listCreated = command.listId === undefined
    ? new ListCreated({ listId, userId, name: command.listName?.trim() || defaultListName(command.now) })
    : undefined
  return Result.succeed({
    listId,
    accountId,
    maxResults: cap.maxResults,
    wasCapped: cap.wasCapped,
    listCreated,
    importEvents: [
      new ImportRequested({
        importId,
        userId,
        listId,
        accountId,
        url: url.success,
        requested: command.maxResults,
        maxResults: cap.maxResults,
        wasCapped: cap.wasCapped,
        skipExistingCustomers: command.skipExistingCustomers
      }),
      new ListResolved({ importId, listId, created: listCreated !== undefined })
    ],
    reservation: new CreditsReserved({ userId, importId, amount: cap.maxResults })
  })
}
