/** Lead lists as the caller sees them: the `lists` and `list_rows` read models. */
import { Context, Effect, Layer, Option } from "effect"
import { Database, type SqlError } from "../db/Database.ts"

export interface ListSummary {
  readonly id: string
  readonly userId: string
  readonly name: string
  readonly rowCount: number
  readonly createdAt: Date
}

export interface ListRow {
  readonly id: string
  readonly listId: string
  readonly runId: string
  readonly linkedinUrl: string | null
  readonly salesNavUrl: string | null
  readonly profileData: {
    readonly firstName: string
    readonly lastName: string
    readonly fullName: string
    readonly headline: string | null
    readonly currentRole: string | null
    readonly currentCompany: string | null
    readonly location: string | null
  }
  readonly addedAt: Date
}

export class Lists extends Context.Service<Lists, {
  /** The list, if it exists and belongs to `userId`. */
  find(userId: string, listId: string): Effect.Effect<Option.Option<ListSummary>, SqlError>
  /** A page of a list's rows, oldest first. */
  rows(listId: string, page: { readonly limit: number; readonly offset: number }): Effect.Effect<ReadonlyArray<ListRow>, SqlError>
}>()("app/lists/Lists") {
  static readonly layer = Layer.effect(
    Lists,
    Effect.gen(function*() {
      const db = yield* Database

      const find = (userId: string, listId: string) =>
        db.query((q) =>
          q.selectFrom("lists").select(["id", "user_id", "name", "row_count", "created_at"])
            .where("id", "=", listId).where("user_id", "=", userId).executeTakeFirst()
        ).pipe(Effect.map((row) =>
          Option.map(Option.fromNullishOr(row), (r): ListSummary => ({
            id: r.id,
            userId: r.user_id,
            name: r.name,
            rowCount: r.row_count,
            createdAt: r.created_at
          }))
        ))

      const rows = (listId: string, page: { readonly limit: number; readonly offset: number }) =>
        db.query((q) =>
          q.selectFrom("list_rows").select(["id", "list_id", "run_id", "linkedin_url", "sales_nav_url", "profile", "added_at"])
            .where("list_id", "=", listId).orderBy("seq").limit(page.limit).offset(page.offset).execute()
        ).pipe(Effect.map((rows) =>
          rows.map((r): ListRow => ({
            id: r.id,
            listId: r.list_id,
            runId: r.run_id,
            linkedinUrl: r.linkedin_url,
            salesNavUrl: r.sales_nav_url,
            profileData: r.profile as ListRow["profileData"],
            addedAt: r.added_at
          }))
        ))

      return Lists.of({ find, rows })
    })
  )
}
