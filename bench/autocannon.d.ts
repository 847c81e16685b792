/** The part of autocannon's programmatic API the bench uses (the package ships no types). */
declare module "autocannon" {
  interface Histogram {
    readonly average: number
    readonly p50: number
    readonly p99: number
    readonly [percentile: string]: number
  }
  interface Result {
    readonly duration: number
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
    readonly latency: Histogram
    readonly requests: Histogram & { readonly total: number }
    readonly statusCodeStats?: Record<string, { readonly count: number | string }>
  }
  interface Options {
    readonly url: string
    readonly connections?: number
    readonly duration?: number
    readonly timeout?: number
    readonly requests?: ReadonlyArray<{
      readonly method?: string
      readonly path?: string
      readonly setupRequest?: (request: Record<string, unknown>) => Record<string, unknown>
    }>
  }
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
