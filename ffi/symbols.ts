/**
 * The `Deno.dlopen` symbol table of the C reactor (`reactor_c/dokio.h`).
 *
 * Signatures are chosen so V8 fast calls apply: only i32/u32 parameters and
 * results, no struct by value, handles are i32. Buffers the C side uses only
 * during the call (`dk_local_addr`'s out record, `dk_layout`'s array) and the
 * SQ, CQ and their address regions given once to `dk_create` are `"buffer"`
 * parameters; I/O buffers inside submission records travel as numbers, never
 * as FFI arguments (socket addresses travel in the address regions).
 *
 * `dk_wait` is bound twice: `dk_wait` (synchronous, for timeout 0 and short
 * waits) and `dk_wait_nb` (`nonblocking`, run on a helper thread, for parking
 * the isolate). Invariant: while a `dk_wait_nb` call is in flight on a handle,
 * the only other call made on that handle is `dk_wake`.
 *
 * The file helpers that may block on the disk (`dk_ftruncate`, `dk_fsync`)
 * are bound only as `nonblocking` symbols (`*_nb`): they run on Deno's
 * blocking pool and return promises, so a slow disk never stalls the isolate.
 *
 * @module
 */

/**
 * The symbol table passed to `Deno.dlopen`.
 *
 * @example
 * ```ts
 * import { SYMBOLS } from "./symbols.ts";
 * import assert from "node:assert/strict";
 * assert.equal(SYMBOLS.dk_wait_nb.nonblocking, true);
 * ```
 */
export const SYMBOLS = {
  dk_create: {
    parameters: ["i32", "u32", "buffer", "u32", "buffer", "u32", "buffer", "buffer"],
    result: "i32",
  },
  dk_backend: { parameters: ["i32"], result: "i32" },
  dk_file_workers: { parameters: ["i32", "i32"], result: "i32" },
  dk_submit: { parameters: ["i32", "u32"], result: "i32" },
  dk_wait: { parameters: ["i32", "i32"], result: "i32" },
  dk_wait_nb: { name: "dk_wait", parameters: ["i32", "i32"], result: "i32", nonblocking: true },
  dk_enter: { parameters: ["i32", "u32", "i32"], result: "i32" },
  dk_wake: { parameters: ["i32"], result: "i32" },
  dk_pending: { parameters: ["i32"], result: "i32" },
  dk_destroy: { parameters: ["i32"], result: "i32" },
  dk_local_addr: { parameters: ["i32", "buffer"], result: "i32" },
  dk_peer_addr: { parameters: ["i32", "buffer"], result: "i32" },
  dk_setsockopt: { parameters: ["i32", "i32", "i32"], result: "i32" },
  dk_close: { parameters: ["i32"], result: "i32" },
  dk_errno_name: { parameters: ["i32"], result: "pointer" },
  dk_layout: { parameters: ["buffer", "u32"], result: "i32" },
  // Socket helpers (reactor_c/net.c); dk_resolve blocks in getaddrinfo, so it is bound only
  // as a nonblocking symbol (run on one of Deno's blocking-call threads).
  dk_socket: { parameters: ["i32", "i32"], result: "i32" },
  dk_bind: { parameters: ["i32", "buffer"], result: "i32" },
  dk_connect: { parameters: ["i32", "buffer"], result: "i32" },
  dk_listen: { parameters: ["i32", "i32"], result: "i32" },
  dk_getsockopt: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  dk_unix_path_max: { parameters: [], result: "i32" },
  dk_unix_bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  dk_unix_connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  dk_unix_name: { parameters: ["i32", "i32", "buffer", "u32"], result: "i32" },
  dk_peer_cred: { parameters: ["i32", "buffer"], result: "i32" },
  dk_try_recv: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  dk_try_send: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  dk_try_sendv: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  dk_try_unix_sendto: { parameters: ["i32", "buffer", "u32", "buffer", "u32"], result: "i32" },
  dk_try_unix_recvfrom: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "buffer"],
    result: "i32",
  },
  dk_resolve: {
    parameters: ["buffer", "u32", "u32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  dk_clock_ms: { parameters: [], result: "f64" },
  dk_fstat: { parameters: ["i32", "buffer"], result: "i32" },
  dk_lseek: { parameters: ["i32", "f64", "i32"], result: "f64" },
  dk_ftruncate_nb: {
    name: "dk_ftruncate",
    parameters: ["i32", "f64"],
    result: "i32",
    nonblocking: true,
  },
  dk_fsync_nb: { name: "dk_fsync", parameters: ["i32", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The type of {@linkcode SYMBOLS}.
 *
 * @example
 * ```ts
 * import { SYMBOLS, type Symbols } from "./symbols.ts";
 * import assert from "node:assert/strict";
 *
 * const table: Symbols = SYMBOLS;
 * assert.equal(table.dk_clock_ms.result, "f64");
 * ```
 */
export type Symbols = typeof SYMBOLS;

/**
 * The bound functions of a loaded reactor library.
 *
 * @example
 * ```ts
 * import type { DokioSymbols } from "./symbols.ts";
 * import { openLibrary } from "./library.ts";
 * import assert from "node:assert/strict";
 * const sym: DokioSymbols = (await openLibrary()).symbols;
 * const t: number = sym.dk_clock_ms(); // typed from SYMBOLS: () => number
 * assert.ok(t >= 0);
 * ```
 */
export type DokioSymbols = Deno.DynamicLibrary<Symbols>["symbols"];
