/**
 * The bench's turns: the service and its floor alternate which goes first (service, floor, floor,
 * service, …), so a machine that slows down during the run slows both alike, in slices of whole
 * seconds.
 */
import { describe, expect, it } from "vitest"
import { takingTurns } from "../../bench/lib.ts"

describe("takingTurns", () => {
  it("alternates which side goes first and gives each the same slices", async () => {
    const calls: Array<string> = []
    const turns = await takingTurns(
      4,
      8,
      async (s) => (calls.push(`service ${s}`), calls.length),
      async (s) => (calls.push(`floor ${s}`), -calls.length)
    )
    expect(calls).toEqual(["service 2", "floor 2", "floor 2", "service 2", "service 2", "floor 2", "floor 2", "service 2"])
    expect(turns).toEqual({ service: [1, 4, 5, 8], floor: [-2, -3, -6, -7] })
  })

  it("takes no more turns than whole seconds", async () => {
    const calls: Array<number> = []
    await takingTurns(3, 1, async (s) => (calls.push(s), 1), async (s) => (calls.push(s), 1))
    expect(calls).toEqual([1, 1])
  })
})
