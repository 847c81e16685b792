/**
 * The import graph keeps its promises: a Trigger.dev worker bundle carries the stages and
 * nothing of the HTTP service (trigger/ never reaches src/http, src/app.ts or src/imports),
 * and the pipeline never depends on the API's import command (src/pipeline never reaches
 * src/imports). Followed statically through every relative import, types included.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..")

/** Relative module specifiers of a file (static imports, re-exports and dynamic imports). */
const importsOf = (file: string): ReadonlyArray<string> => {
  const source = readFileSync(file, "utf8")
  const found = [...source.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!)
  return found.map((spec) => resolve(dirname(file), spec))
}

/** Every project file reachable from `entries`, as paths relative to the repository. */
const reachable = (entries: ReadonlyArray<string>): ReadonlySet<string> => {
  const seen = new Set<string>()
  const queue = [...entries]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    queue.push(...importsOf(file))
  }
  return new Set([...seen].map((f) => relative(ROOT, f)))
}

const filesIn = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(".ts")).map((f) => join(ROOT, dir, f))

describe("the import graph", () => {
  it("trigger/ reaches the pipeline, never the HTTP app or the import command", () => {
    const graph = reachable(filesIn("trigger"))
    expect([...graph]).toContain("src/pipeline/ImportStages.ts")
    expect([...graph].filter((f) => f.startsWith("src/http/") || f === "src/app.ts" || f.startsWith("src/imports/"))).toEqual([])
  })

  it("src/pipeline never reaches src/imports or src/http", () => {
    const graph = reachable(filesIn("src/pipeline"))
    expect([...graph].filter((f) => f.startsWith("src/imports/") || f.startsWith("src/http/") || f === "src/app.ts")).toEqual([])
  })

  it("the walker sees what it should (it would catch a violation)", () => {
    expect([...reachable([join(ROOT, "src/app.ts")])]).toEqual(expect.arrayContaining(["src/http/server.ts", "src/imports/Imports.ts"]))
  })
})
