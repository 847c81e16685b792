/**
 * The local engine's queue (src/pipeline/runQueue.ts): at most `slots` runs at once, one per
 * account, each account's runs in order, and — as a property over random histories of runs
 * added and ended — none lost, none started twice, and never a free slot left idle while a run
 * of a free account waits.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { makeRunQueue } from "../../src/pipeline/runQueue.ts"

const started = <A>(q: { startable: () => ReadonlyArray<{ account: string; run: A }> }) => q.startable().map((s) => s.run)

describe("runQueue", () => {
  it("given 2 slots and 3 runs of one account: starts the first; the next starts when it ends, in order", () => {
    const q = makeRunQueue<string>(2)
    q.add("a", "a1")
    q.add("a", "a2")
    q.add("a", "a3")
    expect(started(q)).toEqual(["a1"])
    expect(started(q)).toEqual([])
    q.finished("a")
    expect(started(q)).toEqual(["a2"])
    q.finished("a")
    expect(started(q)).toEqual(["a3"])
    expect({ waiting: q.waiting(), running: q.running() }).toEqual({ waiting: 0, running: 1 })
  })

  it("one account's queue does not hold the slots: another account's run takes the free one at once", () => {
    const q = makeRunQueue<string>(2)
    for (const run of ["a1", "a2", "a3"]) q.add("a", run)
    expect(started(q)).toEqual(["a1"])
    q.add("b", "b1")
    expect(started(q)).toEqual(["b1"])
  })

  it("with every slot taken, a run of a free account waits for a slot; an account that ends a run goes behind the others", () => {
    const q = makeRunQueue<string>(1)
    q.add("a", "a1")
    q.add("a", "a2")
    q.add("b", "b1")
    expect(started(q)).toEqual(["a1"])
    q.finished("a")
    // b was ready before a ended a run: b goes first.
    expect(started(q)).toEqual(["b1"])
    q.finished("b")
    expect(started(q)).toEqual(["a2"])
  })

  it("clear hands back every waiting run and starts none of them", () => {
    const q = makeRunQueue<string>(1)
    q.add("a", "a1")
    q.add("a", "a2")
    q.add("b", "b1")
    expect(started(q)).toEqual(["a1"])
    expect([...q.clear()].sort()).toEqual(["a2", "b1"])
    q.finished("a")
    expect(started(q)).toEqual([])
    expect({ waiting: q.waiting(), running: q.running() }).toEqual({ waiting: 0, running: 0 })
  })

  it("ending a run of an account with none running is a bug, said at once", () => {
    expect(() => makeRunQueue<string>(1).finished("a")).toThrow(/no run of account a/)
  })

  const step = fc.oneof(
    fc.record({ add: fc.constantFrom("a", "b", "c", "d", "e") }),
    fc.record({ end: fc.nat(10) })
  )

  it("over random histories: bounded, one per account, in order per account, none lost or doubled, no idle slot", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(step, { maxLength: 200 }), (slots, steps) => {
        const q = makeRunQueue<{ account: string; n: number }>(slots)
        const running: Array<{ account: string; n: number }> = []
        const waiting: Array<{ account: string; n: number }> = []
        const startedOrder = new Map<string, Array<number>>()
        let next = 0
        const drain = () => {
          for (const { account, run } of q.startable()) {
            expect(run.account).toBe(account)
            expect(running.some((r) => r.account === account)).toBe(false)
            running.push(run)
            waiting.splice(waiting.indexOf(run), 1)
            startedOrder.set(account, [...(startedOrder.get(account) ?? []), run.n])
          }
          expect(running.length).toBeLessThanOrEqual(slots)
          // Work-conserving: a free slot is left idle only when every waiting run's account is busy.
          if (running.length < slots) expect(waiting.every((w) => running.some((r) => r.account === w.account))).toBe(true)
          expect({ waiting: q.waiting(), running: q.running() }).toEqual({ waiting: waiting.length, running: running.length })
        }
        for (const s of steps) {
          if ("add" in s) {
            const run = { account: s.add, n: next++ }
            waiting.push(run)
            q.add(s.add, run)
          } else if (running.length > 0) {
            const [ended] = running.splice(s.end % running.length, 1)
            q.finished(ended!.account)
          }
          drain()
        }
        // End everything: every run added starts exactly once, each account's in the order added.
        while (running.length > 0) {
          q.finished(running.shift()!.account)
          drain()
        }
        expect(waiting).toEqual([])
        const all = [...startedOrder.values()].flat()
        expect(all.length).toBe(next)
        expect(new Set(all).size).toBe(next)
        for (const ns of startedOrder.values()) expect(ns).toEqual([...ns].sort((x, y) => x - y))
      })
    )
  })
})
