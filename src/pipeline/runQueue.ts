/**
 * The local engine's queue of runs waiting to start: at most `slots` running at once and one at
 * a time per LinkedIn account, each account's runs in the order they came. A waiting run is a
 * record here, not a fiber parked on a semaphore: a backlog of 10,000 queued imports held ~70 MB
 * of fibers, each copied by every young-generation collection until promoted (the POST bench's
 * scavenges took 15–30 ms), and each new waiter scanned its account's waiters.
 *
 * An account with waiting runs and none running is `ready`; a run that ends sends its account to
 * the back of that line when it has more waiting, so one account's long queue never holds a slot
 * another account's run could use, nor starves the others.
 */
export interface RunQueue<A> {
  /** Queues `run` behind the other waiting runs of `account`. */
  readonly add: (account: string, run: A) => void
  /** The runs to start now (each counted as running until `finished`), oldest ready account first. */
  readonly startable: () => ReadonlyArray<{ readonly account: string; readonly run: A }>
  /** A run of `account` that was started has ended: its slot and its account are free. */
  readonly finished: (account: string) => void
  /** Every waiting run, removed (the engine is stopping). */
  readonly clear: () => ReadonlyArray<A>
  readonly waiting: () => number
  readonly running: () => number
}

export const makeRunQueue = <A>(slots: number): RunQueue<A> => {
  const byAccount = new Map<string, Array<A>>()
  const ready: Array<string> = []
  const busy = new Set<string>()

  const add = (account: string, run: A) => {
    const runs = byAccount.get(account)
    if (runs !== undefined) runs.push(run)
    else {
      byAccount.set(account, [run])
      if (!busy.has(account)) ready.push(account)
    }
  }

  const startable = () => {
    const started: Array<{ account: string; run: A }> = []
    while (busy.size < slots && ready.length > 0) {
      const account = ready.shift()!
      const runs = byAccount.get(account)!
      const run = runs.shift()!
      if (runs.length === 0) byAccount.delete(account)
      busy.add(account)
      started.push({ account, run })
    }
    return started
  }

  const finished = (account: string) => {
    if (!busy.delete(account)) throw new Error(`runQueue: no run of account ${account} is running`)
    if (byAccount.has(account)) ready.push(account)
  }

  const clear = () => {
    const all = Array.from(byAccount.values()).flat()
    byAccount.clear()
    ready.length = 0
    return all
  }

  const waiting = () => Array.from(byAccount.values()).reduce((n, runs) => n + runs.length, 0)

  return { add, startable, finished, clear, waiting, running: () => busy.size }
}
