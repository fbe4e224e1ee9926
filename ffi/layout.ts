/**
 * The record layouts and constants shared with the C reactor, in one place.
 *
 * Everything here mirrors `reactor_c/dokio.h`: op codes, flags, backend ids,
 * the byte sizes and field offsets of `dk_sqe`, `dk_cqe` and `dk_addr`.
 * Invariant: {@linkcode LAYOUT_FACTS} equals what the library's `dk_layout()`
 * reports; `openLibrary` refuses a library for which it does not, and
 * `tests/ffi_test.ts` checks it. Records are little-endian (every target
 * Dokio builds for is).
 *
 * It also converts between host names and `dk_addr` records: {@linkcode writeAddr}
 * fills one from `"127.0.0.1"`, `"::1"`, `"0.0.0.0"`, `"localhost"`…, and
 * {@linkcode readAddr} reads one back as a `Deno.NetAddr`-like object.
 *
 * @module
 */

/** ABI version this TypeScript side speaks; must equal the library's `DK_ABI_VERSION`. */
export const DK_ABI_VERSION = 2;

/** Backend ids (`dk_create`'s `backend`, `dk_backend`'s result). */
export const DK_BACKEND_AUTO = 0;
/** io_uring (Linux). */
export const DK_BACKEND_IO_URING = 1;
/** epoll (Linux). */
export const DK_BACKEND_EPOLL = 2;
/** kqueue (macOS, BSD). */
export const DK_BACKEND_KQUEUE = 3;

/**
 * A reactor backend, as every layer spells it (the runtime's `backend` option
 * and builder method, the scheduler's config, `DOKIO_BACKEND`): a native one
 * ({@linkcode NativeBackend}) or "deno", the portable reactor on Deno's own
 * sockets (runtime/io/deno_reactor.ts). "auto" picks io_uring where it works,
 * else epoll (Linux) or kqueue, else — when no native library can be had —
 * "deno" with a one-line notice.
 *
 * @example
 * ```ts
 * import { type Backend, Runtime } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const backend: Backend = Deno.build.os === "linux" ? "epoll" : "auto";
 * const rt = new Runtime({ backend });
 * assert.equal(rt.metrics().backend, null); // the reactor opens on first I/O
 * await rt.shutdown();
 * ```
 */
export type Backend = "auto" | "io_uring" | "epoll" | "kqueue" | "deno";

/**
 * A backend of the C reactor (what `dk_create` takes).
 *
 * @example
 * ```ts
 * import type { NativeBackend } from "./layout.ts";
 * const b: NativeBackend = "epoll";
 * console.log(b);
 * ```
 */
export type NativeBackend = "auto" | "io_uring" | "epoll" | "kqueue";

/**
 * Backend names indexed by id (`DK_BACKEND_*`).
 *
 * @example
 * ```ts
 * import { BACKEND_NAMES, DK_BACKEND_EPOLL } from "./layout.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(BACKEND_NAMES[DK_BACKEND_EPOLL], "epoll");
 * ```
 */
export const BACKEND_NAMES: readonly NativeBackend[] = ["auto", "io_uring", "epoll", "kqueue"];

/**
 * True when `name` is a {@linkcode Backend}.
 *
 * @param name Any value (an option, an environment variable).
 * @returns Whether it names a backend.
 *
 * @example
 * ```ts
 * import { isBackend } from "./layout.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isBackend("epoll"), true);
 * assert.equal(isBackend("deno"), true);
 * assert.equal(isBackend("poll"), false);
 * ```
 */
export function isBackend(name: unknown): name is Backend {
  return name === "deno" || isNativeBackend(name);
}

/**
 * True when `name` is a {@linkcode NativeBackend}.
 *
 * @param name Any value.
 * @returns Whether the C reactor has a backend of that name.
 *
 * @example
 * ```ts
 * import { isNativeBackend } from "./layout.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isNativeBackend("kqueue"), true);
 * assert.equal(isNativeBackend("deno"), false);
 * ```
 */
export function isNativeBackend(name: unknown): name is NativeBackend {
  return (BACKEND_NAMES as readonly unknown[]).includes(name);
}

/** Op code: no operation; completes with 0. */
export const DK_OP_NOP = 0;
/** Op code: bind and listen (arg = DK_ARG_ADDR, len = backlog, flags = DK_LISTEN_*). */
export const DK_OP_LISTEN = 1;
/** Op code: accept on fd (arg = DK_ARG_ADDR to get the peer's address, or 0). */
export const DK_OP_ACCEPT = 2;
/** Op code: create a TCP socket and connect it (arg = DK_ARG_ADDR). */
export const DK_OP_CONNECT = 3;
/** Op code: receive into addr/len. */
export const DK_OP_RECV = 4;
/** Op code: send addr/len (never raises SIGPIPE). */
export const DK_OP_SEND = 5;
/** Op code: shutdown(fd, len = how). */
export const DK_OP_SHUTDOWN = 6;
/** Op code: close fd; its pending ops complete with -ECANCELED first. */
export const DK_OP_CLOSE = 7;
/** Op code: wait for readiness (len = DK_POLL_* mask). */
export const DK_OP_POLL = 8;
/** Op code: cancel the op whose token is arg. */
export const DK_OP_CANCEL = 9;
/** Op code: open a file (addr = NUL-terminated path, len = DK_O_*, arg = mode). */
export const DK_OP_OPEN = 10;
/** Op code: read a file (arg = offset, -1 = current). */
export const DK_OP_READ = 11;
/** Op code: write a file (arg = offset, -1 = current). */
export const DK_OP_WRITE = 12;
/** Op code: UDP receive (arg = DK_ARG_ADDR to get the sender, or 0). */
export const DK_OP_RECVFROM = 13;
/** Op code: UDP send (arg = DK_ARG_ADDR, or 0 when connected). */
export const DK_OP_SENDTO = 14;
/** Op code: bind a UDP socket (arg = DK_ARG_ADDR, flags = DK_LISTEN_*). */
export const DK_OP_UDP_BIND = 15;
/** Op code: set a UDP socket's default peer (arg = DK_ARG_ADDR). */
export const DK_OP_UDP_CONNECT = 16;
/**
 * Op code: a whole file into a buffer in one record (addr = path, arg = buffer, len = its
 * capacity): open, fstat, read and close on the C side; result = the size, or 0 with
 * `DK_CQE_F_MORE` when the file is not regular or does not fit (then use OPEN and READ).
 */
export const DK_OP_READ_FILE = 17;
/**
 * Op code: a whole buffer into a file in one record (addr = path, flags = DK_O_*, fd = mode,
 * arg = data, len = its length): open, fstat, write and close on the C side; result = bytes
 * written, or 0 with `DK_CQE_F_MORE` when the file is not regular (then use OPEN and WRITE).
 */
export const DK_OP_WRITE_FILE = 18;
/** Number of op codes. */
export const DK_OP_COUNT = 19;

/**
 * Op names indexed by op code, used as the `syscall` of an {@linkcode IoError}.
 *
 * @example
 * ```ts
 * import { DK_OP_RECV, OP_NAMES } from "./layout.ts";
 * import assert from "node:assert/strict";
 * assert.equal(OP_NAMES[DK_OP_RECV], "recv");
 * ```
 */
export const OP_NAMES: readonly string[] = [
  "nop",
  "listen",
  "accept",
  "connect",
  "recv",
  "send",
  "shutdown",
  "close",
  "poll",
  "cancel",
  "open",
  "read",
  "write",
  "recvfrom",
  "sendto",
  "udp_bind",
  "udp_connect",
  "readfile",
  "writefile",
];

/** Listen/bind flag: SO_REUSEADDR. */
export const DK_LISTEN_REUSEADDR = 1;
/** Listen/bind flag: SO_REUSEPORT. */
export const DK_LISTEN_REUSEPORT = 2;
/** Listen/bind flag: IPV6_V6ONLY. */
export const DK_LISTEN_V6ONLY = 4;

/** Readiness: readable. */
export const DK_POLL_IN = 1;
/** Readiness: writable. */
export const DK_POLL_OUT = 2;
/** Readiness: error. */
export const DK_POLL_ERR = 4;
/** Readiness: hang-up. */
export const DK_POLL_HUP = 8;

/** Open flag: read only. */
export const DK_O_RDONLY = 0;
/** Open flag: write only. */
export const DK_O_WRONLY = 1;
/** Open flag: read and write. */
export const DK_O_RDWR = 2;
/** Open flag: create if missing. */
export const DK_O_CREAT = 4;
/** Open flag: truncate. */
export const DK_O_TRUNC = 8;
/** Open flag: append. */
export const DK_O_APPEND = 16;
/** Open flag: fail if it exists (with DK_O_CREAT). */
export const DK_O_EXCL = 32;

/** Completion flag: the op was cancelled before it could finish. */
export const DK_CQE_F_CANCELED = 1;
/** Completion flag: the CQ address record of this completion's index holds the op's address. */
export const DK_CQE_F_ADDR = 2;
/** Completion flag: a whole-file op (READ_FILE, WRITE_FILE) left the file to OPEN and READ/WRITE. */
export const DK_CQE_F_MORE = 4;

/**
 * `dk_sqe.arg` of an op with an address: the address is in the SQ address
 * record of the same index (LISTEN, CONNECT, UDP_BIND, UDP_CONNECT, SENDTO),
 * or is reported in the CQ address record of the completion's index (ACCEPT,
 * RECVFROM). Addresses never travel as pointers, so C reads and writes them
 * only inside the regions registered with `dk_create`.
 */
export const DK_ARG_ADDR = 1;

/** Socket option id: TCP_NODELAY. */
export const DK_SOCKOPT_NODELAY = 1;
/** Socket option id: SO_KEEPALIVE. */
export const DK_SOCKOPT_KEEPALIVE = 2;
/** Socket option id: SO_RCVBUF. */
export const DK_SOCKOPT_RCVBUF = 3;
/** Socket option id: SO_SNDBUF. */
export const DK_SOCKOPT_SNDBUF = 4;
/** Socket option id: SO_BROADCAST. */
export const DK_SOCKOPT_BROADCAST = 5;
/** Socket option id: SO_REUSEADDR. */
export const DK_SOCKOPT_REUSEADDR = 6;
/** Socket option id: SO_REUSEPORT (EOPNOTSUPP where the host has none). */
export const DK_SOCKOPT_REUSEPORT = 7;
/** Socket option id: SO_LINGER, as seconds or -1 for off. */
export const DK_SOCKOPT_LINGER = 8;
/** Socket option id (read only): SO_ERROR, the pending error as a positive errno. */
export const DK_SOCKOPT_ERROR = 9;

/** `dk_socket` family: Unix domain. */
export const DK_FAMILY_UNIX = 1;
/** `dk_socket` family: IPv4. */
export const DK_FAMILY_INET = 4;
/** `dk_socket` family: IPv6. */
export const DK_FAMILY_INET6 = 6;
/** `dk_socket` type: stream. */
export const DK_SOCK_STREAM = 1;
/** `dk_socket` type: datagram. */
export const DK_SOCK_DGRAM = 2;
/** `dk_try_recv` flag: leave the bytes queued (MSG_PEEK). */
export const DK_MSG_PEEK = 1;
/** `dk_resolve` failure (as its negation): no such host. */
export const DK_EAI_NONAME = 0x10001;
/** `dk_resolve` failure (as its negation): temporary failure of the resolver. */
export const DK_EAI_AGAIN = 0x10002;
/** `dk_resolve` failure (as its negation): permanent failure of the resolver. */
export const DK_EAI_FAIL = 0x10003;

/** Largest single buffer length the C side accepts (larger → -EINVAL). */
export const DK_MAX_LEN = 0x7ffff000;

/** Most threads `dk_file_workers` lets an epoll/kqueue file pool run. */
export const DK_FILE_WORKERS_MAX = 64;
/** File-pool threads an epoll/kqueue reactor may run until `dk_file_workers` says otherwise. */
export const DK_FILE_WORKERS_DEFAULT = 4;

/** Size in bytes of a submission record (`struct dk_sqe`). */
export const SQE_SIZE = 40;
/** Size of a submission record in 32-bit words. */
export const SQE_WORDS = 10;
/** Byte offset of `dk_sqe.token` (u32). */
export const SQE_TOKEN = 0;
/** Byte offset of `dk_sqe.op` (u8). */
export const SQE_OP = 4;
/** Byte offset of `dk_sqe.flags` (u16). */
export const SQE_FLAGS = 6;
/** Byte offset of `dk_sqe.fd` (i32). */
export const SQE_FD = 8;
/** Byte offset of `dk_sqe.len` (u32). */
export const SQE_LEN = 12;
/** Byte offset of `dk_sqe.addr` (u64). */
export const SQE_ADDR = 16;
/** Byte offset of `dk_sqe.arg` (u64). */
export const SQE_ARG = 24;

/** Size in bytes of a completion record (`struct dk_cqe`). */
export const CQE_SIZE = 16;
/** Size of a completion record in 32-bit words. */
export const CQE_WORDS = 4;
/** Byte offset of `dk_cqe.token` (u32). */
export const CQE_TOKEN = 0;
/** Byte offset of `dk_cqe.result` (i32). */
export const CQE_RESULT = 4;
/** Byte offset of `dk_cqe.flags` (u32). */
export const CQE_FLAGS = 8;
/** Byte offset of `dk_cqe.op` (u32). */
export const CQE_OP = 12;

/** Size in bytes of a `struct dk_addr`. */
export const ADDR_SIZE = 32;
/** Byte offset of `dk_addr.family` (u16: 4 or 6). */
export const ADDR_FAMILY = 0;
/** Byte offset of `dk_addr.port` (u16, host order). */
export const ADDR_PORT = 2;
/** Byte offset of `dk_addr.scope_id` (u32). */
export const ADDR_SCOPE_ID = 4;
/** Byte offset of `dk_addr.flowinfo` (u32). */
export const ADDR_FLOWINFO = 8;
/** Byte offset of `dk_addr.addr` (16 bytes, network order). */
export const ADDR_BYTES = 16;

/**
 * The facts `dk_layout()` reports, in its order: ABI version, sizeof sqe,
 * sizeof cqe, sizeof dk_addr, offsets of sqe token/op/flags/fd/len/addr/arg,
 * offsets of cqe token/result/flags/op.
 *
 * @example
 * ```ts
 * import { LAYOUT_FACTS } from "./layout.ts";
 * import assert from "node:assert/strict";
 * assert.equal(LAYOUT_FACTS.length, 15);
 * ```
 */
export const LAYOUT_FACTS: readonly number[] = [
  DK_ABI_VERSION,
  SQE_SIZE,
  CQE_SIZE,
  ADDR_SIZE,
  SQE_TOKEN,
  SQE_OP,
  SQE_FLAGS,
  SQE_FD,
  SQE_LEN,
  SQE_ADDR,
  SQE_ARG,
  CQE_TOKEN,
  CQE_RESULT,
  CQE_FLAGS,
  CQE_OP,
];

/** A socket address read from a `dk_addr`, shaped like `Deno.NetAddr`. */
export interface SocketAddr {
  /** Textual IP address ("127.0.0.1", "::1"). */
  hostname: string;
  /** Port in host order. */
  port: number;
  /** "tcp" or "udp", as the caller says. */
  transport: "tcp" | "udp";
}

/**
 * Allocate a zeroed `dk_addr` record.
 *
 * @example
 * ```ts
 * import { ADDR_SIZE, newAddr } from "./layout.ts";
 * import assert from "node:assert/strict";
 * assert.equal(newAddr().byteLength, ADDR_SIZE);
 * ```
 */
export function newAddr(): Uint8Array {
  return new Uint8Array(ADDR_SIZE);
}

/**
 * Fill `out` (a `dk_addr` record of 32 bytes) with `hostname:port`.
 * `hostname` is an IPv4 dotted quad, an IPv6 literal (optionally in brackets,
 * with a `%scope` number), or `"localhost"` (→ 127.0.0.1). Other names need a
 * resolver and are rejected: resolve them first (e.g. `Deno.resolveDns`).
 *
 * @throws {TypeError} when `hostname` is not an IP literal or "localhost",
 *   or `out` is not a 32-byte Uint8Array.
 * @throws {RangeError} when `port` is not an integer in 0..65535.
 * @example
 * ```ts
 * import { newAddr, readAddr, writeAddr } from "./layout.ts";
 * import assert from "node:assert/strict";
 * const a = writeAddr(newAddr(), "127.0.0.1", 8080);
 * assert.equal(readAddr(a).port, 8080);
 * ```
 */
export function writeAddr(out: Uint8Array, hostname: string, port: number): Uint8Array {
  if (!(out instanceof Uint8Array) || out.byteLength < ADDR_SIZE) {
    throw new TypeError("a dk_addr needs a Uint8Array of at least 32 bytes");
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${port}`);
  }
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  out.fill(0, 0, ADDR_SIZE);
  const dv = new DataView(out.buffer, out.byteOffset, ADDR_SIZE);
  let host = hostname;
  if (host === "localhost") host = "127.0.0.1";
  const v4 = parseIPv4(host);
  if (v4 !== null) {
    dv.setUint16(ADDR_FAMILY, 4, true);
    dv.setUint16(ADDR_PORT, port, true);
    out.set(v4, ADDR_BYTES);
    return out;
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  let scope = 0;
  const pct = host.indexOf("%");
  if (pct >= 0) {
    const s = host.slice(pct + 1);
    if (!/^[0-9]{1,10}$/.test(s) || Number(s) > 0xffffffff) {
      throw new TypeError(`unsupported IPv6 scope "${s}" (only numeric scope ids)`);
    }
    scope = Number(s);
    host = host.slice(0, pct);
  }
  const v6 = parseIPv6(host);
  if (v6 === null) {
    throw new TypeError(
      `"${hostname}" is not an IP address literal or "localhost"; resolve it first`,
    );
  }
  dv.setUint16(ADDR_FAMILY, 6, true);
  dv.setUint16(ADDR_PORT, port, true);
  dv.setUint32(ADDR_SCOPE_ID, scope, true);
  out.set(v6, ADDR_BYTES);
  return out;
}

/**
 * Read a `dk_addr` record back as `{ hostname, port, transport }`.
 * IPv6 addresses are printed in the short RFC 5952 form ("::1").
 *
 * @throws {TypeError} when the record's family is neither 4 nor 6.
 * @example
 * ```ts
 * import { newAddr, readAddr, writeAddr } from "./layout.ts";
 * import assert from "node:assert/strict";
 * const a = readAddr(writeAddr(newAddr(), "::1", 53), "udp");
 * assert.equal(a.hostname, "::1");
 * assert.equal(a.transport, "udp");
 * ```
 */
export function readAddr(rec: Uint8Array, transport: "tcp" | "udp" = "tcp"): SocketAddr {
  if (!(rec instanceof Uint8Array) || rec.byteLength < ADDR_SIZE) {
    throw new TypeError("a dk_addr needs a Uint8Array of at least 32 bytes");
  }
  const family = rec[ADDR_FAMILY] | (rec[ADDR_FAMILY + 1] << 8);
  const port = rec[ADDR_PORT] | (rec[ADDR_PORT + 1] << 8);
  const b = ADDR_BYTES;
  if (family === 4) {
    return {
      hostname: `${rec[b]}.${rec[b + 1]}.${rec[b + 2]}.${rec[b + 3]}`,
      port,
      transport,
    };
  }
  if (family === 6) return { hostname: formatIPv6(rec.subarray(b, b + 16)), port, transport };
  throw new TypeError(`dk_addr has unknown family ${family}`);
}

function parseIPv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | null {
  if (s.length === 0 || s.length > 45) return null;
  let head = s;
  let tail = "";
  const dbl = s.indexOf("::");
  if (dbl >= 0) {
    if (s.indexOf("::", dbl + 1) >= 0) return null;
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const h = groups(head);
  const t = groups(tail);
  if (h === null || t === null) return null;
  const total = h.length + t.length;
  if (dbl >= 0 ? total > 7 : total !== 8) return null;
  const words = [...h, ...new Array(8 - total).fill(0), ...t];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/** Parse colon-separated hex groups; a trailing dotted quad counts as two. */
function groups(s: string): number[] | null {
  if (s === "") return [];
  const parts = s.split(":");
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && p.includes(".")) {
      const v4 = parseIPv4(p);
      if (v4 === null) return null;
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
  // IPv4-mapped (::ffff:a.b.c.d)
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // Longest run (length ≥ 2) of zero words becomes "::".
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number) => x.toString(16);
  if (bestAt < 0) return w.map(hex).join(":");
  const left = w.slice(0, bestAt).map(hex).join(":");
  const right = w.slice(bestAt + bestLen).map(hex).join(":");
  return `${left}::${right}`;
}
