/**
 * How the support CLI lays text out: tables and a progress line that fit in 100 columns,
 * numbers with thousands separators, durations as m:ss. Pure, so tested for any input.
 */

/** The width every line of the CLI fits in. */
export const WIDTH = 100

const chars = (text: string): Array<string> => [...text.replace(/[\r\n\t]+/g, " ")]

/** `text` cut to `width` characters (an ellipsis marks the cut), on one line. */
export const truncate = (text: string, width: number): string => {
  const c = chars(text)
  if (c.length <= width) return c.join("")
  return width <= 0 ? "" : `${c.slice(0, width - 1).join("")}…`
}

const pad = (text: string, width: number, align: "left" | "right") => {
  const cut = truncate(text, width)
  const fill = " ".repeat(Math.max(0, width - chars(cut).length))
  return align === "right" ? fill + cut : cut + fill
}

export interface Column {
  readonly title: string
  /** Fixed width; the last column takes what is left of the line. */
  readonly width?: number
  readonly align?: "left" | "right"
}

/** A header and one line per row, columns two spaces apart, every line at most `width` wide. */
export const table = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>, width = WIDTH): Array<string> => {
  const fixed = columns.slice(0, -1).reduce((n, c) => n + (c.width ?? 10) + 2, 0)
  const last = Math.max(1, width - fixed)
  const line = (cells: ReadonlyArray<string>) =>
    columns.map((c, i) =>
      i === columns.length - 1 ? truncate(cells[i] ?? "", last) : pad(cells[i] ?? "", c.width ?? 10, c.align ?? "left")
    ).join("  ").trimEnd()
  return [line(columns.map((c) => c.title)), ...rows.map(line)].map((l) => truncate(l, width))
}

export const count = (n: number): string => Math.round(n).toLocaleString("en-US")

/** Seconds as m:ss (h:mm:ss from an hour on); "?" when unknown. */
export const duration = (seconds: number | undefined): string => {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "?"
  const s = Math.round(seconds)
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60]
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`
}

/** Seconds left at `rate` events per second; undefined while the rate is unknown. */
export const eta = (processed: number, total: number, rate: number): number | undefined =>
  rate > 0 && Number.isFinite(rate) ? Math.max(0, total - processed) / rate : undefined

/** How far along, 0 to 100 (100 when there is nothing to do). */
export const percent = (processed: number, total: number): number =>
  total <= 0 ? 100 : Math.min(100, Math.max(0, Math.floor((processed * 100) / total)))

export interface Progress {
  readonly processed: number
  readonly total: number
  readonly eventsPerSecond: number
}

/** `[#####-----]  45%  12,345/27,000 events  9,876 events/s  ETA 0:02`, at most `width` wide. */
export const progressLine = (p: Progress, width = WIDTH): string => {
  const done = percent(p.processed, p.total)
  const text = `${String(done).padStart(3)}%  ${count(p.processed)}/${count(p.total)} events  ${count(p.eventsPerSecond)} events/s  ` +
    `ETA ${duration(eta(p.processed, p.total, p.eventsPerSecond))}`
  const bar = Math.max(0, Math.min(30, width - chars(text).length - 3))
  const filled = Math.round((bar * done) / 100)
  return truncate(bar > 0 ? `[${"#".repeat(filled)}${"-".repeat(bar - filled)}] ${text}` : text, width)
}
