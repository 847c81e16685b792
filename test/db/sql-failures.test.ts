/**
 * Which database failures are worth a retry: a lost connection (later, with backoff) or a
 * lost race (the transaction again, at once); never a constraint or data error, which no
 * retry can fix (a page that hit a CHECK used to be retried 8 times).
 */
import { describe, expect, it } from "@effect/vitest"
import { EVENT_ID_CONSTRAINT, failureKind, toSqlError } from "../../src/db/Database.ts"

describe("failureKind", () => {
  it.each([
    ["08006", undefined, "connection"],
    ["08001", undefined, "connection"],
    ["57P01", undefined, "connection"],
    ["57P03", undefined, "connection"],
    ["53300", undefined, "connection"],
    ["57014", undefined, "connection"],
    ["ECONNREFUSED", undefined, "connection"],
    ["ECONNRESET", undefined, "connection"],
    ["CONNECTION_CLOSED", undefined, "connection"],
    ["CONNECT_TIMEOUT", undefined, "connection"],
    ["POOL_TIMEOUT", undefined, "connection"],
    ["3D000", undefined, "connection"],
    ["40001", undefined, "serialization"],
    ["40P01", undefined, "serialization"],
    ["23505", EVENT_ID_CONSTRAINT, "serialization"],
    ["23505", "users_email_key", "constraint"],
    ["23514", "credit_holds_check", "constraint"],
    ["23503", undefined, "constraint"],
    ["22P05", undefined, "data"],
    ["22021", undefined, "data"],
    ["42P01", undefined, "other"],
    ["P0001", undefined, "other"],
    [undefined, undefined, "other"]
  ] as const)("%s %s is %s", (code, constraint, kind) => {
    expect(failureKind(code, constraint)).toBe(kind)
  })

  it("only connection and serialization failures are retryable", () => {
    expect(toSqlError({ code: "23514", constraint_name: "credit_holds_check", message: "check" }).retryable).toBe(false)
    expect(toSqlError({ code: "22P05", message: "unsupported Unicode escape sequence" }).retryable).toBe(false)
    expect(toSqlError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED" }).retryable).toBe(true)
    expect(toSqlError({ code: "23505", constraint_name: EVENT_ID_CONSTRAINT, message: "dup" })).toMatchObject({
      kind: "serialization",
      retryable: true
    })
  })
})
