/**
 * Internal: the channels' end-of-stream marker. A receive that gives
 * `undefined` means every sender is gone (mpsc, broadcast), so `undefined`
 * itself can never be sent.
 *
 * @module
 */

/**
 * Throw a TypeError when `value` is `undefined` (it marks end of stream).
 *
 * @example
 * ```ts
 * import { checkSendable } from "./_sendable.ts";
 * import assert from "node:assert/strict";
 *
 * checkSendable(null); // null is a message like any other
 * assert.throws(() => checkSendable(undefined), TypeError);
 * ```
 */
export function checkSendable(value: unknown): void {
  if (value === undefined) {
    throw new TypeError("undefined cannot be sent (it marks end of stream)");
  }
}
