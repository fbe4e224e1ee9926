/**
 * The terminal the console draws on: what it can do (colour, cursor
 * addressing) from the environment, and taking it over — alternate screen,
 * hidden cursor, raw input — in a way that `restore()` always undoes, once,
 * whatever ended the console (q, a signal, an error).
 *
 * @module
 */

import type { ScreenMode } from "./screen.ts";

/** What decides the terminal's abilities. */
export interface TerminalEnv {
  /** `NO_COLOR`: set and non-empty turns colour off (no-color.org). */
  noColor?: string;
  /** `TERM`: `dumb` can neither colour nor move the cursor. */
  term?: string;
  /** Whether the output is a terminal. */
  isTty: boolean;
}

/**
 * Whether to colour.
 *
 * @param env the environment's say
 * @returns false for NO_COLOR, TERM=dumb, or output that is not a terminal
 */
export function colorEnabled(env: TerminalEnv): boolean {
  if (env.noColor !== undefined && env.noColor !== "") return false;
  return env.isTty && env.term !== "dumb";
}

/**
 * How to send frames.
 *
 * @param env the environment's say
 * @returns `ansi` (diffs in place) on a terminal that moves its cursor, else `plain`
 */
export function screenMode(env: TerminalEnv): ScreenMode {
  return env.isTty && env.term !== "dumb" ? "ansi" : "plain";
}

/** The screen size used when the output is not a terminal. */
export const FALLBACK_SIZE = { width: 80, height: 24 } as const;

const CSI = "\x1b[";
const ENTER = `${CSI}?1049h${CSI}?25l${CSI}H${CSI}2J`;
const LEAVE = `${CSI}0m${CSI}?25h${CSI}?1049l`;

/** The console's hold on the terminal. */
export class Terminal {
  readonly #mode: ScreenMode;
  readonly #raw: boolean;
  #restored = false;
  readonly #encoder = new TextEncoder();

  /**
   * Takes the terminal over: alternate screen and hidden cursor in `ansi`
   * mode, raw input when stdin is a terminal.
   *
   * @param mode how frames are sent
   */
  constructor(mode: ScreenMode) {
    this.#mode = mode;
    this.#raw = Deno.stdin.isTerminal();
    if (this.#raw) Deno.stdin.setRaw(true, { cbreak: false });
    if (mode === "ansi") this.write(ENTER);
  }

  /** Whether keys can be read (stdin is a terminal, in raw mode). */
  get readsKeys(): boolean {
    return this.#raw;
  }

  /**
   * The screen's size now.
   *
   * @returns columns and rows (80×24 when the output is not a terminal)
   */
  size(): { width: number; height: number } {
    try {
      const { columns, rows } = Deno.consoleSize();
      return { width: columns, height: rows };
    } catch {
      return FALLBACK_SIZE;
    }
  }

  /**
   * Writes all of `text` to stdout.
   *
   * @param text what to write
   */
  write(text: string): void {
    if (text === "") return;
    const bytes = this.#encoder.encode(text);
    let at = 0;
    while (at < bytes.length) at += Deno.stdout.writeSync(bytes.subarray(at));
  }

  /** Gives the terminal back as it was: attributes reset, cursor shown, main screen, cooked input. Safe to call twice. */
  restore(): void {
    if (this.#restored) return;
    this.#restored = true;
    try {
      if (this.#mode === "ansi") this.write(LEAVE);
    } finally {
      if (this.#raw) Deno.stdin.setRaw(false);
    }
  }
}
