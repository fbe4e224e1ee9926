/**
 * The shapes of `ffi/prebuilt/index.ts` (what the shipped reactor libraries were built from, and
 * each one's checksum), importing nothing: the generated index imports them from here, and
 * prebuilt.ts, which imports the index, re-exports them, so no import cycle runs through it.
 *
 * @module
 */

/**
 * One shipped library, as `ffi/prebuilt/index.ts` records it.
 *
 * @example
 * ```ts
 * import type { PrebuiltEntry } from "./prebuilt_types.ts";
 * import assert from "node:assert/strict";
 * const e: PrebuiltEntry = { sha256: "e3b0…", size: 44112, packedSize: 22042 };
 * assert.ok(e.packedSize < e.size);
 * ```
 */
export interface PrebuiltEntry {
  /** SHA-256 (hex) of the library file. */
  sha256: string;
  /** Its size in bytes. */
  size: number;
  /** Size of its gzip stream (before base64). */
  packedSize: number;
}

/**
 * What the shipped libraries were built from, and each one's checksum.
 *
 * @example
 * ```ts
 * import type { PrebuiltIndex } from "./prebuilt_types.ts";
 * import assert from "node:assert/strict";
 * const none: PrebuiltIndex = { sourceHash: "0123456789abcdef", zig: "0.17.1", targets: {} };
 * assert.equal(Object.keys(none.targets).length, 0);
 * ```
 */
export interface PrebuiltIndex {
  /** `sourceHash()` of reactor_c/ and the build recipe. */
  sourceHash: string;
  /** `zig version` of the compiler. */
  zig: string;
  /** Target ("x86_64-linux"…) → its library. */
  targets: Record<string, PrebuiltEntry>;
}
