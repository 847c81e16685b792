import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // PGlite instances are memory-heavy; a few workers keep the 2-core machines busy without swapping.
    maxWorkers: 4
  }
})
