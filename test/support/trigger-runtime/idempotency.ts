/**
 * Idempotency keys as the platform keeps them (v4, node_modules/@trigger.dev/sdk/docs/idempotency.mdx):
 * per task and key, for `idempotencyKeyTTL` (default 30 days); a trigger with a live key gets the
 * existing run (`isCached`). A run that fails frees its key; completed and canceled runs keep it.
 */
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
const DEFAULT_TTL_MS = 30 * UNIT_MS.d!

/** "60s", "5m", "2h", "30d" (the SDK's TTL strings) in ms; the default when absent or unreadable. */
export const ttlMs = (ttl: unknown): number => {
  const match = typeof ttl === "string" ? /^(\d+)([smhdw])$/.exec(ttl) : null
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : DEFAULT_TTL_MS
}

export class IdempotencyKeys {
  readonly #runs = new Map<string, { readonly runId: string; readonly expiresAt: number }>()

  #slot = (taskId: string, key: string) => `${taskId}\u0000${key}`

  /** The live run holding `key` for `taskId`, if any. */
  find(taskId: string, key: string): string | undefined {
    const entry = this.#runs.get(this.#slot(taskId, key))
    if (entry === undefined || entry.expiresAt <= Date.now()) return undefined
    return entry.runId
  }

  hold(taskId: string, key: string, runId: string, ttl: unknown) {
    this.#runs.set(this.#slot(taskId, key), { runId, expiresAt: Date.now() + ttlMs(ttl) })
  }

  /** Frees `key` if `runId` still holds it (a failed run; `idempotencyKeys.reset`). */
  release(taskId: string, key: string, runId?: string) {
    const slot = this.#slot(taskId, key)
    if (runId === undefined || this.#runs.get(slot)?.runId === runId) this.#runs.delete(slot)
  }
}
