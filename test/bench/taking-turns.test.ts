/**
 * The append section's turns: service and floor alternate which goes first (A B B A …), so a
 * machine that slows down during the run slows both alike; the rates are the turns' means.
 */
import { describe, expect, it } from "vitest"
import { takingTurns } from "../../bench/append.ts"

describe("takingTurns", () => {
  it("alternates which side goes first and gives each the same slices", async () => {
    const calls: Array<string> = []
    const turns = await takingTurns(
      4,
      8,
      async (s) => (calls.push(`service ${s}`), 10 * calls.length),
      async (s) => (calls.push(`floor ${s}`), 100)
    )
    expect(calls).toEqual(["service 2", "floor 2", "floor 2", "service 2", "service 2", "floor 2", "floor 2", "service 2"])
    expect(turns.service).toBe((10 + 40 + 50 + 80) / 4)
    expect(turns.floor).toBe(100)
    expect(turns.ratios).toEqual([0.1, 0.4, 0.5, 0.8])
  })

  it("takes no more turns than whole seconds", async () => {
    const calls: Array<number> = []
    await takingTurns(3, 1, async (s) => (calls.push(s), 1), async (s) => (calls.push(s), 1))
    expect(calls).toEqual([1, 1])
  })
})
