/**
 * Stream names and deterministic event ids.
 *
 * A stage that records "page 3 fetched" always uses the same event id for it, so a
 * retried stage can never append the fact twice (the store reports it as already
 * appended instead).
 */
import { createHash } from "node:crypto"

const NAMESPACE = "5b1f7c3e-9a4d-4e8b-8c2f-0d6a1e9b7c55"

/** RFC 4122 version-5 UUID (SHA-1 of namespace + name). */
export const uuidV5 = (name: string, namespace: string = NAMESPACE): string => {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex")
  const bytes = createHash("sha1").update(ns).update(name, "utf8").digest().subarray(0, 16)
  bytes[6] = (bytes[6]! & 0x0f) | 0x50
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The id of the event `type` that `scope` (an import, a user) records for `key` (a page, a run). */
export const eventIdFor = (scope: string, type: string, key: string | number = ""): string =>
  uuidV5(`${scope}/${type}/${key}`)

export const importStream = (importId: string) => `import-${importId}`
export const creditsStream = (userId: string) => `credits-${userId}`
export const listStream = (listId: string) => `list-${listId}`
