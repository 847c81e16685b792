/** Events of a lead list (stream `list-<listId>`). */
import { Schema } from "effect"

export class ListCreated extends Schema.TaggedClass<ListCreated>()("ListCreated", {
  listId: Schema.String,
  userId: Schema.String,
  name: Schema.String
}) {}
