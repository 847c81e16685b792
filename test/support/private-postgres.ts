/**
 * A PostgreSQL server of a test's own, for outages: `initdb` into a temp dir with the machine's
 * binaries (/usr/lib/postgresql/<n>/bin, or PG_BIN), its own free port, started and stopped
 * with `pg_ctl`. Stopping it disturbs nothing else — the shared server other tests use stays up.
 *
 * initdb and postgres refuse to run as root: as root (CI) every command runs as the `postgres`
 * OS user through `runuser`, in a temp dir that user owns. A server whose test process died
 * without stopping it (a worker killed at a timeout) is stopped and deleted by the next start.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./service-process.ts"

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string
  readonly port: number
  /** Starts the server (again, on the same port and data) unless it runs; returns once it accepts connections. */
  start(): void
  /** Stops it: `fast` ends every session and refuses new ones; `immediate` is a crash. */
  stop(mode?: "fast" | "immediate"): void
  /** Stops it (if it runs) and deletes its files. */
  destroy(): void
}

const binDir = (): string => {
  if (process.env.PG_BIN) return process.env.PG_BIN
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (newest === undefined) {
    throw new Error(`no PostgreSQL binaries in ${root}/<version>/bin: install PostgreSQL's server package or set PG_BIN`)
  }
  return join(root, newest, "bin")
}

const isRoot = process.getuid?.() === 0

/** Runs a PostgreSQL binary (as the postgres OS user when this process is root). */
const run = (dir: string, binary: string, args: ReadonlyArray<string>) => {
  const command = join(binDir(), binary)
  const [file, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, [...args]]
  const result = spawnSync(file, argv, { cwd: dir, encoding: "utf8", timeout: 60_000 })
  if (result.status !== 0) {
    const log = existsSync(join(dir, "server.log")) ? readFileSync(join(dir, "server.log"), "utf8").slice(-2000) : ""
    throw new Error(`${binary} ${args.join(" ")} failed (${result.status ?? result.signal}): ${result.stderr}${result.stdout}\n${log}`)
  }
}

const PREFIX = "private-pg-"

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Stops and deletes the private servers of test processes that are gone. */
const sweepOrphans = () => {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX))) {
    const dir = join(tmpdir(), name)
    const owner = Number(existsSync(join(dir, "owner.pid")) ? readFileSync(join(dir, "owner.pid"), "utf8") : NaN)
    if (!Number.isInteger(owner) || alive(owner)) continue
    try {
      if (existsSync(join(dir, "data", "postmaster.pid"))) run(dir, "pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"])
    } catch {
      // Not running after all: the files go anyway.
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Creates, initialises and starts a private server; `destroy` it when done. */
export const startPrivatePostgres = async (): Promise<PrivatePostgres> => {
  sweepOrphans()
  const dir = mkdtempSync(join(tmpdir(), PREFIX))
  writeFileSync(join(dir, "owner.pid"), String(process.pid))
  if (isRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
    chownSync(dir, uid, gid)
  }
  chmodSync(dir, 0o700)
  const data = join(dir, "data")
  let port = 0
  const options = () =>
    [
      `-p ${port}`,
      // TCP on loopback only: no Unix socket, whose path length a deep temp dir could exceed.
      "-c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
      // A throwaway server: durability buys nothing here, and the machine is shared.
      "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
      "-c shared_buffers=16MB -c max_connections=40"
    ].join(" ")
  let running = false
  const server: PrivatePostgres = {
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/postgres`
    },
    get port() {
      return port
    },
    start: () => {
      if (running) return
      run(dir, "pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-o", options(), "-w", "-t", "60", "start"])
      running = true
    },
    stop: (mode = "fast") => {
      run(dir, "pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"])
      running = false
    },
    destroy: () => {
      try {
        if (running) server.stop("immediate")
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  try {
    run(dir, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
    // The free port may be taken by someone else before the server binds it: then another one.
    for (let attempt = 1;; attempt++) {
      port = await freePort()
      try {
        server.start()
        break
      } catch (e) {
        if (attempt === 3) throw e
      }
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  return server
}
