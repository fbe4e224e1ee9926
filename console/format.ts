/**
 * Text helpers for the console's screen: what a string from the daemon may
 * contain once drawn (no control bytes), how many terminal columns it takes,
 * cutting and padding to a column width, and short forms of durations and
 * counts. Pure functions; the screen is ASCII apart from what the daemon names.
 *
 * @module
 */

/** Marks where text was cut to fit its column (ASCII: every terminal shows it). */
export const CUT_MARK = "~";

/** What replaces a control character from the daemon, so it cannot drive the terminal. */
export const CONTROL_STAND_IN = "?";

/** Shown for a value the daemon did not report (a missing or non-finite field). */
export const MISSING = "-";

// C0 controls, DEL and C1 controls: each could start an escape sequence.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Makes a string from the daemon safe to draw: every control character
 * (C0, DEL, C1 — ESC included) becomes `?`.
 *
 * @param text any string
 * @returns `text` with no control characters
 */
export function sanitize(text: string): string {
  return text.replace(CONTROL, CONTROL_STAND_IN);
}

// Zero-width: combining marks, zero-width space/joiners, variation selectors.
const ZERO_WIDTH: ReadonlyArray<readonly [number, number]> = [
  [0x0300, 0x036f],
  [0x200b, 0x200f],
  [0xfe00, 0xfe0f],
];

// Two columns: East Asian wide and full-width ranges, and the common emoji blocks.
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

function inRanges(cp: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  for (const [lo, hi] of ranges) if (cp >= lo && cp <= hi) return true;
  return false;
}

/**
 * Terminal columns one code point takes (0, 1 or 2), as most terminals draw it.
 *
 * @param cp a Unicode code point
 * @returns its width in columns
 */
export function charWidth(cp: number): number {
  if (inRanges(cp, ZERO_WIDTH)) return 0;
  return inRanges(cp, WIDE) ? 2 : 1;
}

/**
 * Terminal columns a (sanitized, escape-free) string takes.
 *
 * @param text the string
 * @returns its width in columns
 */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/**
 * Cuts `text` to at most `width` columns, keeping its start; a cut ends in `~`.
 *
 * @param text escape-free text
 * @param width columns available (≥ 0)
 * @returns the text, at most `width` columns wide
 */
export function cutEnd(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  if (width <= 0) return "";
  let out = "";
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + CUT_MARK;
}

/**
 * Cuts `text` to at most `width` columns, keeping its end (a spawn site's
 * `file:line` is at the end); a cut starts with `~`.
 *
 * @param text escape-free text
 * @param width columns available (≥ 0)
 * @returns the text, at most `width` columns wide
 */
export function cutStart(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  if (width <= 0) return "";
  const chars = [...text];
  let out = "";
  let w = 0;
  for (let i = chars.length - 1; i >= 0; i--) {
    const cw = charWidth(chars[i].codePointAt(0)!);
    if (w + cw > width - 1) break;
    out = chars[i] + out;
    w += cw;
  }
  return CUT_MARK + out;
}

/**
 * Exactly `width` columns: cut at the end or padded with spaces on the right.
 *
 * @param text escape-free text
 * @param width the column's width
 * @returns the cell text
 */
export function padEnd(text: string, width: number): string {
  const cut = cutEnd(text, width);
  return cut + " ".repeat(Math.max(0, width - textWidth(cut)));
}

/**
 * Exactly `width` columns: cut at the end or padded with spaces on the left
 * (numbers line up on the right).
 *
 * @param text escape-free text
 * @param width the column's width
 * @returns the cell text
 */
export function padStart(text: string, width: number): string {
  const cut = cutEnd(text, width);
  return " ".repeat(Math.max(0, width - textWidth(cut))) + cut;
}

const NS_PER_US = 1e3;
const NS_PER_MS = 1e6;
const NS_PER_S = 1e9;
const S_PER_MIN = 60;
const S_PER_HOUR = 3600;
const S_PER_DAY = 86400;

function threeDigits(value: number, unit: string): string {
  const text = value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  return text + unit;
}

/**
 * A duration in at most 6 columns: `850ns`, `1.25us`, `12.5ms`, `3.20s`,
 * `2m05s`, `1h02m`, `3d04h`; `-` when not reported.
 *
 * @param ns nanoseconds (NaN or negative when unknown)
 * @returns the short form
 */
export function duration(ns: number): string {
  if (!Number.isFinite(ns) || ns < 0) return MISSING;
  if (ns < NS_PER_US) return `${Math.round(ns)}ns`;
  if (ns < NS_PER_MS) return threeDigits(ns / NS_PER_US, "us");
  if (ns < NS_PER_S) return threeDigits(ns / NS_PER_MS, "ms");
  const s = Math.floor(ns / NS_PER_S);
  if (s < S_PER_MIN) return threeDigits(ns / NS_PER_S, "s");
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < S_PER_HOUR) return `${Math.floor(s / S_PER_MIN)}m${two(s % S_PER_MIN)}s`;
  if (s < S_PER_DAY) {
    return `${Math.floor(s / S_PER_HOUR)}h${two(Math.floor((s % S_PER_HOUR) / S_PER_MIN))}m`;
  }
  return `${Math.floor(s / S_PER_DAY)}d${two(Math.floor((s % S_PER_DAY) / S_PER_HOUR))}h`;
}

/**
 * A count in at most 6 columns: `999999`, then `1.23M`, `45.6G`; `-` when not reported.
 *
 * @param n a count (NaN when unknown)
 * @returns the short form
 */
export function count(n: number): string {
  if (!Number.isFinite(n)) return MISSING;
  if (Math.abs(n) < 1e6) return String(Math.round(n));
  if (Math.abs(n) < 1e9) return threeDigits(n / 1e6, "M");
  return threeDigits(n / 1e9, "G");
}
