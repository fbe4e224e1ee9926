/**
 * Frames → terminal output, sending only what changed. It keeps the
 * previous frame; a new frame of the same size costs one cursor move, one
 * line erase and the row's text for each row that differs, and nothing for
 * the rows that do not. The first frame, a new size, or `invalidate()` (after
 * Ctrl-L or anything else that may have scribbled on the screen) clears and
 * draws every row.
 *
 * The `plain` mode is for a terminal that cannot move the cursor (TERM=dumb)
 * or output that is not a terminal: each changed frame is printed whole,
 * below the last, and an unchanged one prints nothing.
 *
 * @module
 */

/** How frames reach the terminal. */
export type ScreenMode = "ansi" | "plain";

const CSI = "\x1b[";
/** Home the cursor and clear the whole screen. */
export const CLEAR_SCREEN = `${CSI}H${CSI}2J`;
/** Erase the whole line the cursor is on (the cursor stays). */
export const ERASE_LINE = `${CSI}2K`;

/**
 * The cursor move to a row (0-based) and its first column.
 *
 * @param row the row, from 0
 * @returns the escape sequence
 */
export function moveTo(row: number): string {
  return `${CSI}${row + 1};1H`;
}

/** The last frame sent, and how to send the next one. */
export class Screen {
  readonly #mode: ScreenMode;
  #previous: string[] | null = null;
  #size = "";

  /**
   * A screen that has drawn nothing yet.
   *
   * @param mode `ansi` (cursor addressing, diffs) or `plain` (whole frames, no escapes of its own)
   */
  constructor(mode: ScreenMode) {
    this.#mode = mode;
  }

  /** Forget the previous frame: the next `draw` redraws everything. */
  invalidate(): void {
    this.#previous = null;
  }

  /**
   * What to write to show `rows` on a screen of the given size.
   *
   * @param rows the frame (from `render`), one string per screen row
   * @param width the screen's columns
   * @param height the screen's rows
   * @returns the output to write ("" when nothing changed)
   */
  draw(rows: string[], width: number, height: number): string {
    const size = `${width}x${height}`;
    const previous = this.#previous;
    const full = previous === null || size !== this.#size;
    this.#previous = rows.slice();
    this.#size = size;
    if (this.#mode === "plain") {
      const same = !full && rows.length === previous!.length &&
        rows.every((r, i) => r === previous![i]);
      return same ? "" : rows.join("\n") + "\n";
    }
    let out = full ? CLEAR_SCREEN : "";
    const count = Math.max(rows.length, previous?.length ?? 0);
    for (let i = 0; i < count; i++) {
      const row = rows[i] ?? "";
      if (full ? row === "" : row === (previous![i] ?? "")) continue;
      out += moveTo(i) + ERASE_LINE + row;
    }
    return out;
  }
}
