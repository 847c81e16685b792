/**
 * Queue concurrency as v4 applies a queue's `concurrencyLimit` (docs/concurrency.mdx): per
 * concurrency key when runs are triggered with one, for the whole queue when not. Only a run
 * that is executing holds a slot: a run waiting on a child (triggerAndWait) or for its next
 * attempt releases it and must take one again to go on.
 */
export class QueueSlots {
  readonly #limits: ReadonlyMap<string, number>
  readonly #holders = new Map<string, Set<string>>()

  /** `limits`: queue name -> concurrencyLimit (index.json `queues`); queues not listed are unlimited. */
  constructor(limits: ReadonlyMap<string, number>) {
    this.#limits = limits
  }

  #pool = (queue: string, concurrencyKey: string | undefined) => `${queue}\u0000${concurrencyKey ?? ""}`

  /** Takes a slot for `runId` if its pool has room (true when it already holds one). */
  tryTake(runId: string, queue: string, concurrencyKey: string | undefined): boolean {
    const pool = this.#pool(queue, concurrencyKey)
    const holders = this.#holders.get(pool) ?? new Set<string>()
    this.#holders.set(pool, holders)
    if (holders.has(runId)) return true
    const limit = this.#limits.get(queue)
    if (limit !== undefined && holders.size >= limit) return false
    holders.add(runId)
    return true
  }

  release(runId: string, queue: string, concurrencyKey: string | undefined) {
    this.#holders.get(this.#pool(queue, concurrencyKey))?.delete(runId)
  }

  /** How many runs hold a slot of the pool now. */
  held(queue: string, concurrencyKey?: string): number {
    return this.#holders.get(this.#pool(queue, concurrencyKey))?.size ?? 0
  }
}
