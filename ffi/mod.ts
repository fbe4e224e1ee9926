/**
 * The FFI layer of Dokio, re-exported for the rest of the package: record
 * layouts shared with C, the symbol table, library discovery, the `Reactor`
 * wrapper of one C reactor handle, pointers, socket helpers and I/O errors.
 * Internal: the public surface is the package's `mod.ts`.
 *
 * @example
 * ```ts
 * import { Reactor } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const r = await Reactor.open();
 * r.nop(1);
 * assert.equal(r.poll(100), 1);
 * assert.equal(r.cqToken(0), 1);
 * await r.close();
 * ```
 *
 * @module
 */

export * from "./layout.ts";
export * from "./symbols.ts";
export * from "./errors.ts";
export * from "./pointer.ts";
export * from "./library.ts";
export * from "./socket.ts";
export * from "./file.ts";
export * from "./reactor.ts";
export * from "./native_clock.ts";
