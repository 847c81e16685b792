/**
 * Whether a grant (or, negative, a removal) of credits may be recorded: the balance and what
 * stays available after it must be safe integers. The API states credits as JSON integers,
 * and a balance past 2^53 - 1 could neither be answered exactly nor added to without losing
 * credits; a grant that would take it there is refused before anything is written.
 */
export type GrantDecision =
  | { readonly _tag: "Granted"; readonly balance: number; readonly available: number }
  | { readonly _tag: "OutOfRange"; readonly balance: bigint; readonly available: bigint }

const LIMIT = BigInt(Number.MAX_SAFE_INTEGER)
const inRange = (n: bigint) => n <= LIMIT && n >= -LIMIT

/** `balance` and `reserved` as they are (safe integers), `amount` a safe integer; exact, whatever their sizes. */
export const decideGrant = (current: { readonly balance: number; readonly reserved: number }, amount: number): GrantDecision => {
  const balance = BigInt(current.balance) + BigInt(amount)
  const available = balance - BigInt(current.reserved)
  return inRange(balance) && inRange(available)
    ? { _tag: "Granted", balance: Number(balance), available: Number(available) }
    : { _tag: "OutOfRange", balance, available }
}
