/**
 * fast-check generators of hostile input for the fuzz: text in full Unicode (NUL, lone
 * surrogates, bidi controls, emoji, combining marks), numbers a JSON parser or a database
 * may choke on, deep nesting, prototype keys, raw bytes that are not UTF-8, odd path
 * segments and query strings. Everything here is data; the fuzz decides where it goes.
 */
import fc from "fast-check"

/** Characters that broke or could break text handling somewhere. */
export const NASTY_CHARACTERS = [
  "\u0000", // NUL: PostgreSQL rejects it in text and jsonb
  "\uD800", // a lone high surrogate
  "\uDFFF", // a lone low surrogate
  "\uDBFF\uDFFF", // the last code point, well paired
  "\u202E", // right-to-left override
  "\u200F", // right-to-left mark
  "\u2066", // left-to-right isolate
  "\u200B", // zero-width space
  "\uFEFF", // byte order mark
  "\uFFFD", // the replacement character itself
  "\uFFFF", // a noncharacter
  "\u0301\u0301\u0301", // combining acute accents, nothing to combine with
  "Z\u0351\u0364\u0349\u035A", // Zalgo
  "👩‍👩‍👧‍👦", // emoji joined by ZWJ
  "🏳️‍🌈",
  "\u0085", // next line
  "\u2028", // line separator
  "\r\n",
  "\t",
  "'; drop table events; --",
  "%00",
  "%s%n",
  "${7*7}",
  "<script>alert(1)</script>",
  "../../etc/passwd",
  "__proto__",
  "constructor",
  "prototype"
]

/** One string of any Unicode, lone surrogates included, with the nasty characters mixed in. */
export const hostileString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...NASTY_CHARACTERS), maxLength: Math.max(1, Math.floor(maxLength / 4)) }) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.string({ maxLength: Math.floor(maxLength / 2) }), fc.constantFrom(...NASTY_CHARACTERS), fc.string({ maxLength: Math.floor(maxLength / 2) }))
        .map((parts) => parts.join(""))
    },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xFFFF }).map((code) => String.fromCharCode(code)) },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "\u00A0", "null", "true", "0", "-1", "[]", "{}") }
  )

/** Numbers a parser, a schema or a database may mishandle. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0, -0, 1, -1, 0.5, -0.5, 1e-7, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2,
    -(2 ** 53 - 1), -(2 ** 53), 2 ** 63, -(2 ** 63), 2 ** 64, 1e21, 1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON
  ),
  fc.integer(),
  fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)

/** JSON number tokens JSON.stringify never writes (overflowing exponents, huge digit strings, -0). */
export const hostileNumberToken: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("1e309", "-1e309", "-0", "0e0", "1E+2", "1.0", "9".repeat(400), "-" + "9".repeat(400), "0.0000000000000000000000001", "1e-400"),
  hostileNumber.map((n) => JSON.stringify(n))
)

/** Keys that reach into prototypes when code copies objects carelessly. */
export const prototypeKey = fc.constantFrom("__proto__", "constructor", "prototype", "hasOwnProperty", "toString", "valueOf", "__defineGetter__")

/** Any JSON value with hostile strings, numbers and keys, nested a few levels. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileString(),
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString(12), prototypeKey), tie("value"), { maxKeys: 4 })
  )
})).value

/** A JSON text nested `depth` levels deep (arrays or objects), well formed. */
export const deeplyNested = fc.tuple(fc.integer({ min: 100, max: 20_000 }), fc.boolean()).map(([depth, arrays]) =>
  arrays ? "[".repeat(depth) + "]".repeat(depth) : "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)
)

/** Bytes that are not UTF-8: stray continuation bytes, overlongs, encoded surrogates, truncated sequences. */
export const invalidUtf8: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(
    [0xFF], [0xFE, 0xFF], [0x80], [0xBF], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
    [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98]
  ).map((bytes) => Uint8Array.from(bytes)),
  fc.uint8Array({ minLength: 1, maxLength: 16 })
)

/** `text` with invalid UTF-8 spliced in at a random place, as bytes. */
export const withInvalidUtf8 = (text: string): fc.Arbitrary<Uint8Array> =>
  fc.tuple(fc.nat({ max: text.length }), invalidUtf8).map(([at, bad]) =>
    Uint8Array.from([...Buffer.from(text.slice(0, at)), ...bad, ...Buffer.from(text.slice(at))])
  )

/** Every byte of `bytes` percent-encoded: any byte sequence, valid UTF-8 or not, travels in a URL. */
export const percentEncode = (bytes: Uint8Array): string =>
  [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("")

/**
 * `text` as a URL component: its UTF-8 bytes percent-encoded (lone surrogates become
 * U+FFFD, as any client's encoder makes them), unreserved ASCII left as it is.
 */
export const encodeComponent = (text: string): string =>
  [...Buffer.from(text, "utf8")].map((b) =>
    /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`
  ).join("")

/** A path segment in place of an id: near misses, hostile text, raw bytes, dot segments, very long ones. */
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  hostileString().map(encodeComponent),
  invalidUtf8.map(percentEncode),
  fc.constantFrom("", ".", "..", "%2E%2E", "%2F", "a%2Fb", "%00", "%", "%ZZ", "%C0%AF", "null", "undefined", "0", "-1", "1e3", "*"),
  fc.constantFrom("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF"),
  fc.uuid({ version: [1, 4, 7] }).map((u) => `${u}x`),
  fc.stringMatching(/^run_[A-Za-z0-9]{16,40}$/),
  fc.stringMatching(/^run_[A-Za-z0-9_-]{0,60}$/),
  fc.integer({ min: 256, max: 20_000 }).map((n) => "a".repeat(n))
)

/** A value for a query parameter: numbers written every way, hostile text, raw bytes. */
export const hostileQueryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", "0", "1", "-1", "20", "100", "101", "500", "501", "1.5", "1e2", "0x10", "010", "+1", " 1", "1 ", "NaN", "Infinity",
    "-0", "9007199254740991", "9007199254740993", "99999999999999999999999", "true", "null", "[]", "queued", "running", "completed",
    "failed", "canceled", "QUEUED").map(encodeComponent),
  hostileNumberToken.map(encodeComponent),
  hostileString().map(encodeComponent),
  invalidUtf8.map(percentEncode)
)

/**
 * A whole query string (without the "?"): known and unknown keys, repeats, brackets, broken
 * escapes. `valueOf` gives a key's values (hostile ones by default; the fuzz mixes in real ones).
 */
export const hostileQuery = (
  knownKeys: ReadonlyArray<string>,
  valueOf: (key: string) => fc.Arbitrary<string> = () => hostileQueryValue
): fc.Arbitrary<string> =>
  fc.oneof(
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: knownKeys.length > 0 ? fc.constantFrom(...knownKeys) : fc.constant("limit") },
        { weight: 1, arbitrary: prototypeKey },
        { weight: 1, arbitrary: fc.constantFrom("limit[]", "offset[0]", "a[b][c]", "status[]", "x") },
        { weight: 1, arbitrary: hostileString(12).map(encodeComponent) }
      ).chain((k) => valueOf(k).map((v) => `${k}=${v}`)),
      { maxLength: 5 }
    ).map((pairs) => pairs.join("&")),
    fc.constantFrom("", "&", "&&&", "=", "==", "%", "%ZZ", "a=%", "limit", "limit=", "=1", "limit=1=2", "#", "?", ";limit=1")
  )
