/**
 * Styled text for one screen row: a row is a list of segments, each with a
 * style name; `paint` cuts the row to the screen's width (never wraps) and,
 * only when colour is on, wraps segments in SGR escapes. Without colour the
 * result is plain text with no escape byte.
 *
 * @module
 */

import { charWidth, textWidth } from "./format.ts";

/** The named looks of the console. */
export type Style =
  | "plain"
  | "title"
  | "heading"
  | "selected"
  | "dim"
  | "good"
  | "busy"
  | "warn"
  | "bad";

/** A run of text in one style. */
export interface Segment {
  /** Escape-free text (already sanitized). */
  text: string;
  /** How it looks when colour is on; plain when absent. */
  style?: Style;
}

const ESC = "\x1b[";
/** Resets every SGR attribute. */
export const SGR_RESET = `${ESC}0m`;

const SGR: Record<Style, string> = {
  plain: "",
  title: `${ESC}1m`,
  heading: `${ESC}1;4m`,
  selected: `${ESC}7m`,
  dim: `${ESC}2m`,
  good: `${ESC}32m`,
  busy: `${ESC}33m`,
  warn: `${ESC}1;33m`,
  bad: `${ESC}1;31m`,
};

/**
 * A segment.
 *
 * @param text escape-free text
 * @param style its look, or undefined for plain
 * @returns the segment
 */
export function seg(text: string, style?: Style): Segment {
  return style ? { text, style } : { text };
}

/**
 * One row as terminal text: the segments cut to `width` columns; with
 * `color`, each styled segment is wrapped in its SGR codes, and a `rowStyle`
 * (the selected row's reverse video) spans the whole width.
 *
 * @param segments the row's text runs, left to right
 * @param width the screen's width in columns
 * @param color whether to emit SGR escapes
 * @param rowStyle a style under the whole row (padded to `width`), or undefined
 * @returns the row, at most `width` visible columns
 */
export function paint(
  segments: Segment[],
  width: number,
  color: boolean,
  rowStyle?: Style,
): string {
  let out = "";
  let used = 0;
  for (const s of segments) {
    if (used >= width) break;
    let text = s.text;
    const w = textWidth(text);
    if (used + w > width) {
      let cut = "";
      let cw = 0;
      for (const ch of text) {
        const c = charWidth(ch.codePointAt(0)!);
        if (used + cw + c > width) break;
        cut += ch;
        cw += c;
      }
      text = cut;
    }
    used += textWidth(text);
    const sgr = s.style ? SGR[s.style] : "";
    if (color && sgr !== "" && text !== "") {
      out += sgr + text + SGR_RESET + (rowStyle ? SGR[rowStyle] : "");
    } else out += text;
  }
  if (color && rowStyle && SGR[rowStyle] !== "") {
    return SGR[rowStyle] + out + " ".repeat(Math.max(0, width - used)) + SGR_RESET;
  }
  return out;
}
