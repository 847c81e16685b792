/**
 * The deploy bundle of trigger/, built by the real trigger.dev CLI and indexed by the image's
 * own indexer, cached under node_modules/.cache/trigger-bundle/<hash of the sources>.
 *
 * What a deploy does, offline (see /work/shared/notes/trigger-dev.md, "The real runtime offline"):
 *  1. `trigger.dev deploy --dry-run --local-build` with a fake access token against a local
 *     stub (it only asks GET /api/v1/projects/{ref}/{env} and the env vars): the CLI bundles
 *     the tasks, the config and its managed-* entry points into .trigger/tmp/build-*, with a
 *     build.json whose paths live under /app/ and a Containerfile.
 *  2. The Containerfile's `npm i` of the build's package.json (the externals): copied from the
 *     project's node_modules instead (bundle-dependencies.ts); /app/ rewritten to the real dir.
 *  3. The image's indexer (node_modules/trigger.dev/dist/esm/entryPoints/managed-index-controller.mjs,
 *     cwd = the bundle) against a stub answering the env vars and
 *     POST /api/v1/deployments/{id}/background-workers: it writes index.json (the worker
 *     manifest the run workers load: tasks, queues, retry, entry points).
 * Concurrency-safe: one builder at a time per hash (a lock directory, stolen when its owner
 * died), building in a temporary directory renamed into place when complete.
 */
import type { WorkerManifest } from "@trigger.dev/core/v3"
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { installProductionDependencies } from "./bundle-dependencies.ts"
import { json, serveJson } from "./http-stub.ts"
import { cliRoot } from "./internals.ts"

export interface Bundle {
  /** The project it was built from (where the trigger.dev CLI is installed). */
  readonly projectDir: string
  /** The build directory: holds the bundle, its node_modules, index.json and build.json. */
  readonly dir: string
  /** index.json as the image's indexer wrote it. */
  readonly manifest: WorkerManifest
  readonly hash: string
  /** False when this call built it (true: reused, or built meanwhile by another process). */
  readonly cached: boolean
  /** How long buildBundle took, ms. */
  readonly ms: number
}

export interface BuildOptions {
  /** The project (where trigger.config.ts is); default: this repository. */
  readonly projectDir?: string
  /** Where bundles are kept; default <projectDir>/node_modules/.cache/trigger-bundle. */
  readonly cacheDir?: string
  /** Progress lines (CLI output on failure is always in the thrown error). */
  readonly log?: (line: string) => void
}

/** Bump when the way the bundle is made changes, so cached bundles are rebuilt. */
const RECIPE = 1
const PROJECT_REF = "proj_harnessbundle"
const HASHED = ["trigger", "src", "events", "projections", "migrations", "trigger.config.ts", "package.json", "package-lock.json", "tsconfig.json"]
const THIS_REPO = resolve(fileURLToPath(new URL("../../..", import.meta.url)))

const filesUnder = (path: string): Array<string> =>
  !existsSync(path) ? [] : statSync(path).isDirectory()
    ? readdirSync(path).sort().flatMap((entry) => filesUnder(join(path, entry)))
    : [path]

/** sha256 of the recipe, the CLI version and every source file the bundle is made of. */
export const bundleHash = (projectDir: string): string => {
  const hash = createHash("sha256").update(`recipe ${RECIPE}\n`)
  hash.update(readFileSync(join(cliRoot(projectDir), "package.json")))
  for (const file of HASHED.flatMap((entry) => filesUnder(join(projectDir, entry)))) {
    hash.update(`\n${relative(projectDir, file)}\n`).update(readFileSync(file))
  }
  return hash.digest("hex").slice(0, 16)
}

const run = (file: string, args: ReadonlyArray<string>, options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }) =>
  new Promise<string>((done, fail) =>
    execFile(file, args, { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "")
      if (error) fail(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${output.slice(-4000)}`))
      else done(output)
    })
  )

/** The stand-in of the platform for the build and the indexer, with the calls it received. */
const buildStub = () =>
  serveJson([
    { method: "GET", path: /^\/api\/v1\/projects\/[^/]+\/envvars$/, handle: () => json({ variables: {} }) },
    {
      method: "GET",
      path: /^\/api\/v1\/projects\/([^/]+)\/([^/]+)$/,
      // The CLI goes on with the apiUrl answered here: this stub.
      handle: (request, [ref, env]) => json({ apiKey: "tr_prod_harness", name: env, apiUrl: `http://${request.headers.host}`, projectId: ref })
    },
    {
      method: "POST",
      path: /^\/api\/v1\/deployments\/[^/]+\/background-workers$/,
      handle: (request) => json({ id: "worker_harness", version: "1", contentHash: String(request.body?.metadata?.contentHash ?? "") })
    }
  ], () => {})

/** Step 1: the CLI's dry-run deploy; returns the build directory it reports. */
const cliBuild = async (projectDir: string, stubUrl: string): Promise<string> => {
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("TRIGGER_") && key !== "NODE_OPTIONS")
  )
  const preload = pathToFileURL(fileURLToPath(new URL("./offline-fetch.ts", import.meta.url))).href
  const output = await run(process.execPath, [
    join(cliRoot(projectDir), "dist/esm/index.js"),
    "deploy",
    "--dry-run",
    "--local-build",
    "--skip-update-check",
    "--skip-telemetry",
    "--plain",
    "--api-url",
    stubUrl
  ], {
    cwd: projectDir,
    env: { ...env, TRIGGER_ACCESS_TOKEN: "tr_prod_harness", TRIGGER_PROJECT_REF: PROJECT_REF, NODE_OPTIONS: `--import=${preload}`, CI: "1" },
    timeoutMs: 300_000
  })
  const built = /Dry run complete\. View the built project at (\S+)/.exec(output)?.[1]
  if (built === undefined || !existsSync(join(built, "build.json"))) throw new Error(`trigger.dev deploy --dry-run did not report a build:\n${output.slice(-4000)}`)
  return built
}

const withPrefix = (value: unknown, from: string, to: string): unknown =>
  typeof value === "string"
    ? (value.startsWith(from) ? to + value.slice(from.length) : value)
    : Array.isArray(value)
    ? value.map((v) => withPrefix(v, from, to))
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPrefix(v, from, to)]))
    : value

/** Moves the absolute paths in the bundle's manifests (string values starting with `from`) to `to`. */
const relocate = (dir: string, from: string, to: string) => {
  for (const file of ["build.json", "index.json"].map((f) => join(dir, f)).filter(existsSync)) {
    writeFileSync(file, JSON.stringify(withPrefix(JSON.parse(readFileSync(file, "utf8")), from, to), null, 2))
  }
}

/** Step 3: the image's indexer writes index.json. */
const index = async (dir: string, stubUrl: string) => {
  await run(process.execPath, [join(dir, "node_modules/trigger.dev/dist/esm/entryPoints/managed-index-controller.mjs")], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      TRIGGER_API_URL: stubUrl,
      TRIGGER_SECRET_KEY: "tr_prod_harness",
      TRIGGER_PROJECT_REF: PROJECT_REF,
      TRIGGER_DEPLOYMENT_ID: "deployment_harness"
    },
    timeoutMs: 120_000
  })
  if (!existsSync(join(dir, "index.json"))) throw new Error(`the indexer wrote no index.json in ${dir}`)
}

/** Builds into a fresh temporary directory and renames it to `finalDir` once indexed. */
const build = async (projectDir: string, finalDir: string, log: (line: string) => void) => {
  const stub = await buildStub()
  const temporary = `${finalDir}.tmp-${process.pid}-${Date.now().toString(36)}`
  try {
    const started = Date.now()
    const built = await cliBuild(projectDir, stub.url)
    renameSync(built, temporary)
    log(`trigger.dev CLI build: ${Date.now() - started} ms`)
    const deps = installProductionDependencies(temporary, projectDir)
    log(`production dependencies: ${deps.npm ? "npm i" : `${deps.copied} packages copied`}`)
    relocate(temporary, "/app/", `${temporary}/`)
    await index(temporary, stub.url)
    relocate(temporary, temporary, finalDir)
    renameSync(temporary, finalDir)
  } finally {
    rmSync(temporary, { recursive: true, force: true })
    await stub.close()
  }
}

const ownerAlive = (lockDir: string): boolean => {
  try {
    const { pid, at } = JSON.parse(readFileSync(join(lockDir, "owner.json"), "utf8")) as { pid: number; at: number }
    if (Date.now() - at > 10 * 60_000) return false
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: alive but not ours; a missing owner file is a lock being created right now.
    return (error as NodeJS.ErrnoException).code === "EPERM" || (error as NodeJS.ErrnoException).code === "ENOENT"
  }
}

/** Runs `fn` holding the lock directory, unless `done()` becomes true while waiting for it. */
const withLock = async (lockDir: string, done: () => boolean, fn: () => Promise<void>) => {
  for (;;) {
    if (done()) return
    try {
      mkdirSync(lockDir)
    } catch {
      if (!ownerAlive(lockDir)) rmSync(lockDir, { recursive: true, force: true })
      await new Promise((r) => setTimeout(r, 250))
      continue
    }
    try {
      writeFileSync(join(lockDir, "owner.json"), JSON.stringify({ pid: process.pid, at: Date.now() }))
      if (!done()) await fn()
      return
    } finally {
      rmSync(lockDir, { recursive: true, force: true })
    }
  }
}

/** Keeps the newest few bundles (other source hashes) and drops the rest. */
const prune = (cacheDir: string, keep: string) => {
  const others = readdirSync(cacheDir)
    .filter((entry) => /^[0-9a-f]{16}$/.test(entry) && entry !== keep)
    .map((entry) => ({ entry, at: statSync(join(cacheDir, entry)).mtimeMs }))
    .sort((a, b) => b.at - a.at)
  for (const { entry } of others.slice(2)) rmSync(join(cacheDir, entry), { recursive: true, force: true })
}

const inProcess = new Map<string, Promise<Bundle>>()

/** The bundle of the project's current sources: built (about 10 s) or reused from the cache. */
export const buildBundle = (options: BuildOptions = {}): Promise<Bundle> => {
  const projectDir = resolve(options.projectDir ?? THIS_REPO)
  const cacheDir = resolve(options.cacheDir ?? join(projectDir, "node_modules/.cache/trigger-bundle"))
  const hash = bundleHash(projectDir)
  const dir = join(cacheDir, hash)
  const key = `${cacheDir}:${hash}`
  const existing = inProcess.get(key)
  if (existing !== undefined) return existing
  const made = (async (): Promise<Bundle> => {
    const started = Date.now()
    const ready = () => existsSync(join(dir, "index.json"))
    let cached = true
    if (!ready()) {
      mkdirSync(cacheDir, { recursive: true })
      await withLock(`${dir}.lock`, ready, async () => {
        cached = false
        await build(projectDir, dir, options.log ?? (() => {}))
      })
      prune(cacheDir, hash)
    }
    const manifest = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as WorkerManifest
    return { projectDir, dir, manifest, hash, cached, ms: Date.now() - started }
  })()
  inProcess.set(key, made)
  made.catch(() => inProcess.delete(key))
  return made
}
