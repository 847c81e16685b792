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

/** Relative module specifiers of a file (static imports and re-exports, and dynamic imports unless `loadedAtStart`). */
const importsOf = (file: string, loadedAtStart: boolean): ReadonlyArray<string> => {
  const source = readFileSync(file, "utf8")
  const pattern = loadedAtStart ? /(?:from|import)\s*"(\.{1,2}\/[^"]+)"/g : /(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g
  const found = [...source.matchAll(pattern)].map((m) => m[1]!)
  return found.map((spec) => resolve(dirname(file), spec))
}

/** Every project file reachable from `entries` (only through static imports if `loadedAtStart`), relative to the repository. */
const reachable = (entries: ReadonlyArray<string>, loadedAtStart = false): ReadonlySet<string> => {
  const seen = new Set<string>()
  const queue = [...entries]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    queue.push(...importsOf(file, loadedAtStart))
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

  // Idle memory (issue 11): what a configuration may never use loads when first used.
  it("the service's start loads neither the MCP server, the docs UI, PGlite nor the Trigger.dev SDK", () => {
    const atStart = [...reachable([join(ROOT, "src/main.ts")], true)]
    expect(atStart).toContain("src/http/server.ts")
    expect(atStart.filter((f) => f.startsWith("src/mcp/") || f === "src/imports/TriggerTaskQueue.ts")).toEqual([])
    const lazy = /^import\s+(?!type\b)[^\n]*(?:from\s*"(?:@electric-sql\/pglite|@trigger\.dev\/sdk[^"]*)"|\bHttpApiScalar\b)/m
    expect(atStart.filter((f) => lazy.test(readFileSync(join(ROOT, f), "utf8")))).toEqual([])
    // … and they are still reachable, on first use.
    expect([...reachable([join(ROOT, "src/main.ts")])]).toEqual(expect.arrayContaining(["src/mcp/server.ts", "src/imports/TriggerTaskQueue.ts"]))
  })

  it("the walker sees what it should (it would catch a violation)", () => {
    expect([...reachable([join(ROOT, "src/app.ts")])]).toEqual(expect.arrayContaining(["src/http/server.ts", "src/imports/Imports.ts"]))
  })
})
