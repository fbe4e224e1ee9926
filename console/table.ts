/**
 * A text table that fits a width: fixed columns keep their width, flexible
 * ones share what is left (each gets its minimum, then what it wants, in
 * order; the last one takes the rest), every cell is cut to its column, and a
 * row is never wider than the screen. The selected row is marked with `>` in
 * the first column (visible without colour) and, with colour, reverse video.
 *
 * @module
 */

import { cutEnd, cutStart, padEnd, padStart } from "./format.ts";
import { paint, seg, type Segment, type Style } from "./style.ts";

/** One column of a table over rows of type `T`. */
export interface Column<T> {
  /** The heading. */
  title: string;
  /** A fixed width, or how a flexible column grows. */
  width: number | { min: number; want: number };
  /** Numbers: padded on the left. */
  right?: boolean;
  /** Cut from the start, keeping the end (file:line sites). */
  keepEnd?: boolean;
  /** The cell's text (sanitized). */
  text(row: T): string;
  /** The cell's look. */
  style?(row: T): Style | undefined;
}

/** Columns between the selection mark and the first column, and between columns. */
const GAP = " ";
/** The selection mark's column. */
const MARK = ">";

/**
 * The width each column gets on a screen `width` wide.
 *
 * @param columns the columns
 * @param width the screen's width
 * @returns one width per column
 */
export function columnWidths<T>(columns: Column<T>[], width: number): number[] {
  let left = width - MARK.length - GAP.length * (columns.length - 1);
  const out = columns.map((c) => typeof c.width === "number" ? c.width : c.width.min);
  for (const w of out) left -= w;
  const flex = columns.flatMap((c, i) => typeof c.width === "number" ? [] : [i]);
  for (const i of flex) {
    if (left <= 0) break;
    const col = columns[i].width as { min: number; want: number };
    const more = i === flex[flex.length - 1] ? left : Math.min(left, col.want - out[i]);
    if (more > 0) {
      out[i] += more;
      left -= more;
    }
  }
  return out;
}

function cell<T>(c: Column<T>, row: T, w: number): string {
  const text = c.text(row);
  if (c.right) return padStart(text, w);
  return c.keepEnd ? padEnd(cutStart(text, w), w) : padEnd(cutEnd(text, w), w);
}

/**
 * The heading row and up to `bodyRows` rows around the selected one (the
 * window keeps the selection in view, centred when the list is longer).
 *
 * @param columns the columns
 * @param rows the rows in list order
 * @param selected index of the selected row (−1: none)
 * @param bodyRows rows available below the heading
 * @param width the screen's width
 * @param color whether to emit SGR escapes
 * @returns the heading followed by the visible rows
 */
export function drawTable<T>(
  columns: Column<T>[],
  rows: T[],
  selected: number,
  bodyRows: number,
  width: number,
  color: boolean,
): string[] {
  const widths = columnWidths(columns, width);
  const heading: Segment[] = [seg(" ")];
  columns.forEach((c, i) => {
    const title = c.right ? padStart(c.title, widths[i]) : padEnd(c.title, widths[i]);
    heading.push(seg((i > 0 ? GAP : "") + title, "heading"));
  });
  const out = [paint(heading, width, color)];
  const shown = Math.max(0, bodyRows);
  const top = Math.max(0, Math.min(selected - Math.floor(shown / 2), rows.length - shown));
  for (let r = top; r < Math.min(rows.length, top + shown); r++) {
    const row = rows[r];
    const isSelected = r === selected;
    const segs: Segment[] = [seg(isSelected ? MARK : " ")];
    columns.forEach((c, i) => {
      segs.push(seg(i > 0 ? GAP : ""));
      segs.push(seg(cell(c, row, widths[i]), c.style?.(row)));
    });
    out.push(paint(segs, width, color, isSelected ? "selected" : undefined));
  }
  return out;
}
