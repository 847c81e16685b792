/**
 * The money rules of an import, in one place and pure: given the facts a stage has read,
 * what it may import and charge, and what goes back at the end.
 *
 *   reserve (POST)  maxResults = min(requested, available credits)   (src/credits/capping.ts)
 *   persist page n  insert the kept leads nobody put in first, in page order, until
 *                   charged reaches maxResults; charge = rows inserted (1 credit a row)
 *   refund (once)   reserved - charged - already refunded
 *
 * So charged <= maxResults = reserved, and reserved = charged + refunded once the import
 * has ended, whatever retries, replays or races happened (the stages record each decision
 * under a deterministic id, so it is taken once).
 */

/** A kept lead of the page: its index in the page and the identity keys it matches on. */
export interface KeptLead {
  readonly index: number
  readonly match: ReadonlyArray<string>
}

export interface PersistFacts {
  readonly maxResults: number
  /** Credits this import has been charged so far (rows it inserted on earlier pages). */
  readonly charged: number
  readonly skipExistingCustomers: boolean
  /** The page's leads that dedupe kept, in page order. */
  readonly kept: ReadonlyArray<KeptLead>
  /** Keys in this list now, and in the user's other lists now (imports may have persisted since dedupe). */
  readonly inThisList: ReadonlySet<string>
  readonly inOtherLists: ReadonlySet<string>
}

export interface PersistDecision {
  /** Indexes of the leads to insert, in page order. */
  readonly insert: ReadonlyArray<number>
  /** Kept leads left out because the import reached maxResults. */
  readonly overCap: number
  /** Kept leads another import put in this list, or in another list, since dedupe. */
  readonly lateDuplicates: number
  readonly lateExisting: number
  /** Credits to charge: one per inserted row. */
  readonly charge: number
}

export const decidePersist = (facts: PersistFacts): PersistDecision => {
  let lateDuplicates = 0
  let lateExisting = 0
  const candidates = facts.kept.filter((lead) => {
    if (lead.match.some((key) => facts.inThisList.has(key))) return lateDuplicates++, false
    if (facts.skipExistingCustomers && lead.match.some((key) => facts.inOtherLists.has(key))) return lateExisting++, false
    return true
  })
  const remaining = Math.max(0, facts.maxResults - facts.charged)
  const insert = candidates.slice(0, remaining).map((lead) => lead.index)
  return { insert, overCap: candidates.length - insert.length, lateDuplicates, lateExisting, charge: insert.length }
}

/** An import's credits as its hold records them. */
export interface Hold {
  readonly reserved: number
  readonly charged: number
  readonly refunded: number
}

/**
 * What goes back when the import ends: everything reserved and not charged or already
 * refunded. Never negative: a hold that says otherwise is corrupt, which is a defect.
 */
export const decideRefund = (hold: Hold): number => {
  const amount = hold.reserved - hold.charged - hold.refunded
  if (amount < 0) throw new Error(`credit hold overdrawn: reserved ${hold.reserved}, charged ${hold.charged}, refunded ${hold.refunded}`)
  return amount
}
