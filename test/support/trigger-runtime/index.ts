/**
 * Runs trigger/ on the real Trigger.dev runtime, offline: `buildBundle()` (the CLI's deploy
 * bundle, cached) then `startTriggerRuntime({ bundle, env })` (a platform stand-in whose runs
 * execute in real worker processes). See runtime.ts for the API, internals.ts for the CLI
 * internals it relies on.
 */
export { type Bundle, buildBundle } from "./bundle.ts"
export { type Attempt, retryDelaysOf, type Run, type RunStatus } from "./runs.ts"
export { type RuntimeOptions, startTriggerRuntime, type TriggerRuntime } from "./runtime.ts"
