/**
 * One full garbage collection now, without --expose-gc on the command line: the flag set at run
 * time takes effect in contexts made after it, and a new context hands out `gc`. For memory V8 does
 * not feel the weight of (a WebAssembly heap that became garbage) and for measuring RSS.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

export const collectGarbage = (): void => {
  setFlagsFromString("--expose-gc")
  ;(runInNewContext("gc") as () => void)()
}
