/**
 * What every section of `npm run bench` shares: the options, scratch PostgreSQL databases,
 * the service's layers under a given configuration, and the table a section prints.
 */
import { ConfigProvider, Layer, ManagedRuntime } from "effect"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import postgres from "postgres"
import { ServicesLive } from "../src/app.ts"
import { Database } from "../src/db/Database.ts"
import { adminUrl, withDatabase } from "../test/support/postgres-url.ts"

/** `--quick`, `--only a,b`; DATABASE_URL decides the backends. */
export interface Options {
  readonly quick: boolean
  readonly databaseUrl: string | undefined
  /** BENCH_SECONDS: how long each timed load of `post` and `append` lasts (the smoke test's 1). */
  readonly seconds?: number | undefined
}

export type Backend = "PostgreSQL" | "PGlite"

/** One line of a section's table: what was measured, its figure, the floor's, and the ratio. */
export interface Row {
  readonly section: string
  readonly backend: Backend
  readonly measure: string
  readonly value: string
  readonly floor?: string
  readonly ratio?: string
  readonly target?: string
  /** The raw numbers, for results.json. */
  readonly data?: Record<string, unknown>
}

/** Runs a statement on the server's maintenance database. */
export const adminSql = async (databaseUrl: string, statement: string) => {
  const sql = postgres(adminUrl(databaseUrl), { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(statement)
  } finally {
    await sql.end()
  }
}

/**
 * A CHECKPOINT on DATABASE_URL's server, so that the writes of what ran before are on disk and no
 * checkpoint they would trigger falls inside the next measurement (it needs a superuser or
 * pg_checkpoint; without one the measurement just runs).
 */
export const checkpoint = (databaseUrl: string | undefined): Promise<void> =>
  databaseUrl ? adminSql(databaseUrl, "checkpoint").catch(() => undefined) : Promise.resolve()

/** A scratch database on DATABASE_URL's server: its URL, and `drop` to remove it (forcing out any connection). */
export const scratchDatabase = async (databaseUrl: string, label: string) => {
  const name = `sni_bench_${label}_${randomBytes(4).toString("hex")}`
  await adminSql(databaseUrl, `create database ${name}`)
  return {
    name,
    url: withDatabase(databaseUrl, name),
    drop: () => adminSql(databaseUrl, `drop database if exists ${name} with (force)`)
  }
}

/** `f` with a scratch database, dropped afterwards whatever happens. */
export const withScratch = async <A>(databaseUrl: string, label: string, f: (url: string) => Promise<A>): Promise<A> => {
  const scratch = await scratchDatabase(databaseUrl, label)
  try {
    return await f(scratch.url)
  } finally {
    await scratch.drop()
  }
}

/**
 * The service's configuration for a bench: the database (a scratch PostgreSQL database, or
 * in-memory PGlite), no reconciler passes, and whatever the section sets.
 */
export const serviceEnv = (databaseUrl: string | undefined, env: Record<string, string> = {}): Record<string, string> => ({
  ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { PGLITE_DATA_DIR: "memory" }),
  DEMO_USER: "false",
  TASK_ENGINE: "local",
  RECONCILE_INTERVAL_MS: "0",
  ...env
})

/** Every service of the application over its database (Database.layer reads the same configuration). */
export const servicesRuntime = (env: Record<string, string>) =>
  ManagedRuntime.make(
    ServicesLive.pipe(
      Layer.provideMerge(Database.layer),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
    )
  )

/**
 * `turns` turns each of the service and its floor, the first of each pair alternating — service,
 * floor, floor, service, … — so a neighbour that slows the machine for a while slows both alike.
 * Each side's results, in order.
 */
export const alternating = async <A>(
  turns: number,
  service: () => Promise<A>,
  floor: () => Promise<A>
): Promise<{ service: Array<A>; floor: Array<A> }> => {
  const results = { service: [] as Array<A>, floor: [] as Array<A> }
  for (let i = 0; i < turns; i++) {
    if (i % 2 === 0) {
      results.service.push(await service())
      results.floor.push(await floor())
    } else {
      results.floor.push(await floor())
      results.service.push(await service())
    }
  }
  return results
}

/**
 * The service and its floor taking turns (`alternating`) for `seconds` each: `slices` slices of
 * whole seconds (fewer when there are fewer seconds).
 */
export const takingTurns = <A>(
  slices: number,
  seconds: number,
  service: (seconds: number) => Promise<A>,
  floor: (seconds: number) => Promise<A>
): Promise<{ service: Array<A>; floor: Array<A> }> => {
  const turns = Math.max(1, Math.min(slices, Math.floor(seconds)))
  const slice = Math.max(1, Math.round(seconds / turns))
  return alternating(turns, () => service(slice), () => floor(slice))
}

export const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

/** Seconds since `started` (a performance.now()). */
export const seconds = (started: number) => (performance.now() - started) / 1000

export const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
export const pct = (value: number, floor: number) => `${fmt((100 * value) / floor)} %`
/** The lowest and highest of the turns' ratios to their floor ("45 %–53 %"): how steady the machine was. */
export const spread = (ratios: ReadonlyArray<number>) => `${pct(Math.min(...ratios), 1)}–${pct(Math.max(...ratios), 1)}`

/** VmRSS of a process, in MB (Linux). */
export const rssMb = (pid: number = process.pid): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN)
  return kb / 1024
}

/** CPU time (user + system) processes `pids` have used so far, in ms (Linux; a process gone counts 0). */
export const cpuMsOf = (pids: Iterable<number>): number => {
  let ticks = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // a process that ended meanwhile
    }
  }
  return ticks * 10 // USER_HZ is 100 on Linux
}

/**
 * CPU used while `work` runs, in ms: this process's, and that of the PostgreSQL server backends
 * connected to `databaseUrl`'s database (same machine; those there when it ends, which a pool
 * keeps). Without a URL (PGlite runs in this process) the database's is part of this process's.
 * And the WAL the server wrote meanwhile, in bytes (0 on PGlite): what the writes cost the disk, a
 * figure the machine's neighbours do not move (but the whole server's: autovacuum, and the full pages
 * written after a checkpoint, count too).
 */
export const cpuDuring = async <A>(databaseUrl: string | undefined, work: () => Promise<A>) => {
  const sample = async () => {
    if (databaseUrl === undefined) return { backends: new Map<number, number>(), wal: 0n }
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
    try {
      const rows = await sql<Array<{ pid: number }>>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`
      const [position] = await sql<Array<{ lsn: string }>>`select pg_current_wal_lsn()::text as lsn`
      return { backends: new Map(rows.map(({ pid }) => [pid, cpuMsOf([pid])])), wal: walOffset(position!.lsn) }
    } finally {
      await sql.end()
    }
  }
  const before = await sample()
  const own = process.cpuUsage()
  const result = await work()
  const used = process.cpuUsage(own)
  const after = await sample()
  let database = 0
  for (const [pid, ms] of after.backends) database += ms - (before.backends.get(pid) ?? 0)
  return { result, processMs: (used.user + used.system) / 1000, databaseMs: database, walBytes: Number(after.wal - before.wal) }
}

/** A WAL position (`pg_lsn`, "hi/lo" in hex) as a byte offset. */
export const walOffset = (lsn: string): bigint => {
  const [hi, lo] = lsn.split("/")
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`)
}

/** Samples this process's RSS every `everyMs` until stopped; the peak in MB. */
export const rssSampler = (everyMs = 100, pid: number = process.pid) => {
  let peak = rssMb(pid)
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid))
    } catch {
      // the process is gone
    }
  }, everyMs)
  return {
    get peak() {
      return peak
    },
    stop: () => {
      clearInterval(timer)
      return peak
    }
  }
}

/** A section's rows as a markdown table. */
export const table = (rows: ReadonlyArray<Row>): string => {
  const lines = ["| section | backend | measure | result | floor (same run) | ratio | target |", "| --- | --- | --- | --- | --- | --- | --- |"]
  for (const r of rows) lines.push(`| ${r.section} | ${r.backend} | ${r.measure} | ${r.value} | ${r.floor ?? ""} | ${r.ratio ?? ""} | ${r.target ?? ""} |`)
  return lines.join("\n")
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
