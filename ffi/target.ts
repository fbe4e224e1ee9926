/**
 * Build targets of the C reactor: the names (`"<arch>-<os>"`), the host's, and the library
 * file name per target. Shared by the build (`build.ts`), the shipped libraries
 * (`prebuilt.ts`) and discovery (`library.ts`), none of which needs a compiler for this.
 *
 * @module
 */

/**
 * Every target `deno task build:all` produces.
 *
 * @example
 * ```ts
 * import { libraryFileName, TARGETS } from "./target.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(TARGETS.map(libraryFileName), [
 *   "libdokio.so",
 *   "libdokio.so",
 *   "libdokio.dylib",
 *   "libdokio.dylib",
 * ]);
 * ```
 */
export const TARGETS: readonly string[] = [
  "x86_64-linux",
  "aarch64-linux",
  "x86_64-macos",
  "aarch64-macos",
];

/**
 * The target string of this machine: `"<arch>-<os>"` with arch `x86_64`/`aarch64` and os
 * `linux`/`macos` (Deno's `darwin` is reported as `macos`).
 *
 * @example
 * ```ts
 * import { hostTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * assert.match(hostTarget(), /^(x86_64|aarch64)-(linux|macos)$/); // e.g. "x86_64-linux"
 * ```
 */
export function hostTarget(): string {
  const os = Deno.build.os === "darwin" ? "macos" : Deno.build.os;
  return `${Deno.build.arch}-${os}`;
}

/**
 * The library's file name for a target: `libdokio.dylib` on macOS, `libdokio.so` elsewhere.
 *
 * @example
 * ```ts
 * import { libraryFileName } from "./target.ts";
 * import assert from "node:assert/strict";
 * assert.equal(libraryFileName("aarch64-macos"), "libdokio.dylib");
 * assert.equal(libraryFileName("x86_64-linux"), "libdokio.so");
 * ```
 */
export function libraryFileName(target: string): string {
  const os = parseTarget(target).os;
  if (os === "macos") return "libdokio.dylib";
  if (os === "windows") return "dokio.dll";
  return "libdokio.so";
}

/**
 * Split a target string into arch and os.
 *
 * @throws {RangeError} for a string that is not `<x86_64|aarch64>-<linux|macos|windows>`.
 * @example
 * ```ts
 * import { parseTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseTarget("aarch64-macos"), { arch: "aarch64", os: "macos" });
 * ```
 */
export function parseTarget(target: string): { arch: string; os: string } {
  const m = /^(x86_64|aarch64)-(linux|macos|windows)$/.exec(target);
  if (m === null) {
    throw new RangeError(
      `unknown target "${target}" (expected e.g. "x86_64-linux", "aarch64-macos")`,
    );
  }
  return { arch: m[1], os: m[2] };
}
