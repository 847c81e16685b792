// Preloaded by `npm start` (node --import): caches compiled modules, type-stripped TypeScript
// included, between starts. A warm start then never loads Node's TypeScript stripper (a
// WebAssembly module of ~12 MB resident for the life of the process) and starts faster.
import module from "node:module"

module.enableCompileCache?.()
