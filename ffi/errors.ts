/**
 * The errors every layer shares, defined at the bottom so no layer imports
 * upward: {@linkcode ClosedError} (a closed channel, socket or reactor) and
 * I/O errors from the reactor: {@linkcode IoError} carries the positive
 * `errno`, its symbolic `code` ("ECONNRESET") and the operation that failed.
 *
 * Errno names come from the loaded C library (`dk_errno_name`, so they are the
 * host's names, also on macOS where numbers differ) and are cached by number.
 * Invariant: `errnoName` never throws; before any library is loaded, or for an
 * unknown number, it answers `"E?"` — never a wrong name.
 *
 * @module
 */

const names = new Map<number, string>();
let source: ((errno: number) => string) | null = null;

/**
 * Install the function that asks the C library for an errno's name.
 * `ffi/library.ts` calls it when the first library is loaded.
 *
 * @example
 * ```ts
 * import { errnoName, setErrnoSource } from "./errors.ts";
 * import assert from "node:assert/strict";
 * setErrnoSource((n) => (n === 2 ? "ENOENT" : "E?"));
 * assert.equal(errnoName(2), "ENOENT");
 * ```
 */
export function setErrnoSource(fn: (errno: number) => string): void {
  source = fn;
  names.clear();
  byName = null;
}

/**
 * True once something (the loaded library, or the portable backend) names errno values.
 *
 * @example
 * ```ts
 * import { hasErrnoSource } from "./errors.ts";
 * console.log(hasErrnoSource()); // false until a reactor is opened
 * ```
 */
export function hasErrnoSource(): boolean {
  return source !== null;
}

/**
 * The symbolic name of a positive errno ("ECONNRESET"); a negative number is
 * taken as a `-errno` result. `"E?"` when unknown or before any library is loaded.
 *
 * @example
 * ```ts
 * import { errnoName } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof errnoName(104), "string");
 * ```
 */
export function errnoName(errno: number): string {
  const n = errno < 0 ? -errno : errno;
  const hit = names.get(n);
  if (hit !== undefined) return hit;
  if (source === null || !Number.isInteger(n) || n > 0x7fffffff) return "E?";
  let name = "E?";
  try {
    name = source(n);
  } catch {
    return "E?";
  }
  names.set(n, name);
  return name;
}

/**
 * A failed system call: `errno` (positive), `code` ("ECONNRESET") and
 * `syscall` (the reactor op that failed, "recv", "connect"…).
 *
 * @example
 * ```ts
 * import { IoError } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const e = new IoError(111, "ECONNREFUSED", "connect");
 * assert.equal(e.code, "ECONNREFUSED");
 * assert.equal(e.errno, 111);
 * ```
 */
export class IoError extends Error {
  /** The positive errno value. */
  readonly errno: number;
  /** The errno's symbolic name, "E?" when unknown. */
  readonly code: string;
  /** The operation that failed. */
  readonly syscall: string;
  /**
   * Make one; the message is built from the three fields unless given.
   *
   * @param errno the errno value.
   * @param code its name, e.g. "ECONNREFUSED".
   * @param syscall the call that failed.
   * @param message the message (default: built from the three fields).
   */
  constructor(errno: number, code: string, syscall: string, message?: string) {
    super(message ?? `${syscall} failed: ${code} (errno ${errno})`);
    this.name = "IoError";
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
  }
}

/**
 * Build an {@linkcode IoError} from a negative reactor result (`-errno`).
 *
 * @throws {RangeError} when `result` is not a negative integer.
 * @example
 * ```ts
 * import { ioError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = ioError(-104, "recv");
 * assert.equal(e.errno, 104);
 * assert.equal(e.syscall, "recv");
 * ```
 */
export function ioError(result: number, op: string): IoError {
  if (!Number.isInteger(result) || result >= 0) {
    throw new RangeError(`ioError needs a negative -errno result, got ${result}`);
  }
  return new IoError(-result, errnoName(-result), op);
}

/**
 * Use of something closed: a channel with no receiver, a closed semaphore,
 * a socket after `close()`. `value` carries what could not be delivered.
 *
 * @example
 * ```ts
 * import { ClosedError } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const e = new ClosedError("channel closed", "hello");
 * assert.equal(e.value, "hello");
 * ```
 */
export class ClosedError<T = unknown> extends Error {
  /** What could not be delivered, when there was such a value. */
  readonly value: T | undefined;
  /**
   * Make one with a message and, optionally, the undelivered value.
   *
   * @param message says what was closed (default "closed").
   * @param value the value that was not delivered, if any.
   */
  constructor(message?: string, value?: T) {
    super(message ?? "closed");
    this.name = "ClosedError";
    this.value = value;
  }
}

const MAX_ERRNO_SCAN = 256;
let byName: Map<string, number> | null = null;

/**
 * The host's errno number of a symbolic name ("ENOENT" → 2 on Linux), found
 * by asking the loaded C library for the names of 1..255 once; 0 when the
 * name is unknown or no library is loaded yet.
 *
 * @example
 * ```ts
 * import { errnoOf, setErrnoSource } from "./errors.ts";
 * import assert from "node:assert/strict";
 * setErrnoSource((n) => (n === 2 ? "ENOENT" : "E?"));
 * assert.equal(errnoOf("ENOENT"), 2);
 * assert.equal(errnoOf("EBOGUS"), 0);
 * ```
 */
export function errnoOf(code: string): number {
  if (source === null) return 0;
  if (byName === null || byName.size === 0) {
    byName = new Map();
    for (let n = 1; n < MAX_ERRNO_SCAN; n++) {
      const name = errnoName(n);
      if (name !== "E?" && !byName.has(name)) byName.set(name, n);
    }
  }
  return byName.get(code) ?? 0;
}
