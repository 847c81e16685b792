/**
 * The fake lead source with a call counter: tests prove that a stage did NOT ask LinkedIn
 * (a halted import, a replayed page) by the count staying put.
 */
import { Effect, Layer } from "effect"
import { servicesWith } from "../../src/app.ts"
import { LeadSource } from "../../src/leads/LeadSource.ts"
import { type FakeLeadSourceOptions, makeFakeLeadSource } from "../../src/leads/FakeLeadSource.ts"
import { ImportStages } from "../../src/pipeline/ImportStages.ts"

export interface CountingLeadSource {
  readonly source: LeadSource["Service"]
  /** Pages asked for so far, as `importUrl#page`. */
  readonly calls: Array<{ readonly url: string; readonly page: number }>
}

export const countingLeadSource = (options: Partial<FakeLeadSourceOptions> = {}): CountingLeadSource => {
  const fake = makeFakeLeadSource(options)
  const calls: Array<{ url: string; page: number }> = []
  return {
    calls,
    source: LeadSource.of({
      name: "counting-fake",
      fetchPage: (request) => Effect.suspend(() => (calls.push({ url: request.url, page: request.page }), fake.fetchPage(request)))
    })
  }
}

/** The application's services with the stages over `leads`. */
export const servicesCounting = (leads: CountingLeadSource) =>
  servicesWith(ImportStages.layer.pipe(Layer.provide(Layer.succeed(LeadSource, leads.source))))
