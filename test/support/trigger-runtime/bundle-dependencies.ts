/**
 * Installs a build's production dependencies (its generated package.json: the externals, at
 * exact versions) the way the image's `npm i` would, but by copying them and everything they
 * depend on from the project's node_modules: no network, a second or two. Packages are copied,
 * never symlinked (a linked tree makes the CLI lay the bundle out relative to the link). When
 * something is not installed locally (a new external), it falls back to the image's own
 * `npm i --no-audit --no-fund --no-save --no-package-lock` (needs the npm registry).
 */
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"

interface PackageJson {
  readonly name?: string
  readonly version?: string
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
}

const readPackage = (dir: string): PackageJson | undefined => {
  const file = join(dir, "package.json")
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) as PackageJson : undefined
}

/** Where `name` resolves from `fromDir`, node-style: the nearest node_modules/<name> up to `root`. */
const resolveFrom = (fromDir: string, name: string, root: string): string | undefined => {
  for (let dir = fromDir;; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name)
    if (readPackage(candidate) !== undefined) return candidate
    if (dir === root || dirname(dir) === dir) return undefined
  }
}

/** The installed copy of name@version: the hoisted one, else any nested one the lockfile lists. */
const findInstalled = (projectDir: string, name: string, version: string): string | undefined => {
  const hoisted = join(projectDir, "node_modules", name)
  if (readPackage(hoisted)?.version === version) return hoisted
  const lock = JSON.parse(readFileSync(join(projectDir, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> }
  const nested = Object.entries(lock.packages)
    .filter(([path, entry]) => path.endsWith(`node_modules/${name}`) && entry.version === version)
    .map(([path]) => join(projectDir, path))
    .find((dir) => readPackage(dir)?.version === version)
  return nested
}

/**
 * Copies the build's dependencies into `<buildDir>/node_modules`. Each package goes to the top
 * level unless another version already sits there, then under the package that needs it.
 */
export const installProductionDependencies = (buildDir: string, projectDir: string): { readonly copied: number; readonly npm: boolean } => {
  const wanted = readPackage(buildDir)?.dependencies ?? {}
  const placed = new Map<string, string>() // destination dir -> source dir
  const missing: Array<string> = []

  const place = (source: string, name: string, destParent: string): void => {
    const top = join(buildDir, "node_modules", name)
    const dest = !placed.has(top) || placed.get(top) === source ? top : join(destParent, "node_modules", name)
    if (placed.has(dest)) return
    placed.set(dest, source)
    cpSync(source, dest, { recursive: true, dereference: true })
    const pkg = readPackage(source) ?? {}
    const optional = new Set(Object.keys(pkg.optionalDependencies ?? {}))
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...optional]) {
      if (existsSync(join(source, "node_modules", dep))) continue // nested: copied with the package
      const found = resolveFrom(dirname(source), dep, projectDir)
      if (found !== undefined) place(found, dep, dest)
      else if (!optional.has(dep)) missing.push(`${dep} (for ${name})`)
    }
  }

  for (const [name, version] of Object.entries(wanted)) {
    const source = findInstalled(projectDir, name, version)
    if (source === undefined) missing.push(`${name}@${version}`)
    else place(source, name, buildDir)
  }

  if (missing.length === 0) return { copied: placed.size, npm: false }
  // Not installed here: install as the image does (registry access needed).
  execFileSync("npm", ["i", "--no-audit", "--no-fund", "--no-save", "--no-package-lock"], { cwd: buildDir, stdio: "pipe" })
  return { copied: 0, npm: true }
}
