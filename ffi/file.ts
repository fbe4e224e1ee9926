/**
 * Synchronous and pool-run file helpers of the C library (`reactor_c/fs.c`):
 * `fstat`, `lseek`, and `ftruncate`/`fsync` (which may block on the disk, so
 * they run on Deno's blocking pool and return promises). They act on a file
 * descriptor directly, outside any reactor. Invariant: a negative C result
 * becomes an `IoError`; nothing here returns `-errno`.
 *
 * @module
 */

import { ioError } from "./errors.ts";
import type { Library } from "./library.ts";

/** Field index of `dk_fstat`'s output: size in bytes. */
export const STAT_SIZE = 0;
/** Field index: st_mode (type and permission bits). */
export const STAT_MODE = 1;
/** Field index: link count. */
export const STAT_NLINK = 2;
/** Field index: owner uid. */
export const STAT_UID = 3;
/** Field index: owner gid. */
export const STAT_GID = 4;
/** Field index: inode number. */
export const STAT_INO = 5;
/** Field index: device id. */
export const STAT_DEV = 6;
/** Field index: device id of a special file. */
export const STAT_RDEV = 7;
/** Field index: preferred I/O block size. */
export const STAT_BLKSIZE = 8;
/** Field index: 512-byte blocks allocated. */
export const STAT_BLOCKS = 9;
/** Field index: access time, ms since the epoch. */
export const STAT_ATIME = 10;
/** Field index: modification time, ms since the epoch. */
export const STAT_MTIME = 11;
/** Field index: status change time, ms since the epoch. */
export const STAT_CTIME = 12;
/** Field index: birth time, ms since the epoch (NaN when not recorded). */
export const STAT_BIRTHTIME = 13;
/**
 * Number of fields `dk_fstat` writes (the length of its output array).
 *
 * @example
 * ```ts
 * import { STAT_FIELDS, STAT_SIZE } from "./file.ts";
 * import assert from "node:assert/strict";
 * assert.ok(STAT_SIZE < STAT_FIELDS);
 * ```
 */
export const STAT_FIELDS = 14;

/** `lseek` whence: from the start. */
export const SEEK_SET = 0;
/** `lseek` whence: from the current position. */
export const SEEK_CUR = 1;
/** `lseek` whence: from the end. */
export const SEEK_END = 2;

/**
 * Fill `out` (at least `STAT_FIELDS` doubles) with the fstat(2) of `fd`.
 *
 * @throws {IoError} when fstat fails (EBADF…).
 * @example
 * ```ts ignore
 * // Not run: needs an fd the reactor opened for a file; fs/ File's examples make these calls.
 * import { fstat, STAT_FIELDS, STAT_SIZE } from "./file.ts";
 * const st = new Float64Array(STAT_FIELDS);
 * fstat(lib, fd, st);
 * console.log(st[STAT_SIZE]);
 * ```
 */
export function fstat(lib: Library, fd: number, out: Float64Array): void {
  if (out.length < STAT_FIELDS) throw new RangeError(`fstat needs ${STAT_FIELDS} doubles`);
  const r = lib.symbols.dk_fstat(fd, out);
  if (r < 0) throw ioError(r, "fstat");
}

/**
 * Move the file position of `fd` (`whence`: `SEEK_SET`, `SEEK_CUR`, `SEEK_END`);
 * returns the new position.
 *
 * @throws {IoError} when lseek fails (EINVAL for a negative result position, ESPIPE…).
 * @example
 * ```ts ignore
 * // Not run: needs an fd the reactor opened for a file; fs/ File's examples make these calls.
 * import { lseek, SEEK_END } from "./file.ts";
 * const size = lseek(lib, fd, 0, SEEK_END);
 * ```
 */
export function lseek(lib: Library, fd: number, offset: number, whence: number): number {
  const r = lib.symbols.dk_lseek(fd, offset, whence);
  if (r < 0) throw ioError(r, "lseek");
  return r;
}

/**
 * Set the length of `fd` on Deno's blocking pool.
 *
 * @throws {IoError} (rejects) when ftruncate fails.
 * @example
 * ```ts ignore
 * // Not run: needs an fd the reactor opened for a file; fs/ File's examples make these calls.
 * import { ftruncate } from "./file.ts";
 * await ftruncate(lib, fd, 0);
 * ```
 */
export async function ftruncate(lib: Library, fd: number, len: number): Promise<void> {
  const r = await lib.symbols.dk_ftruncate_nb(fd, len);
  if (r < 0) throw ioError(r, "ftruncate");
}

/**
 * Flush `fd` to disk on Deno's blocking pool (`dataOnly`: fdatasync).
 *
 * @throws {IoError} (rejects) when fsync fails.
 * @example
 * ```ts ignore
 * // Not run: needs an fd the reactor opened for a file; fs/ File's examples make these calls.
 * import { fsync } from "./file.ts";
 * await fsync(lib, fd, false);
 * ```
 */
export async function fsync(lib: Library, fd: number, dataOnly: boolean): Promise<void> {
  const r = await lib.symbols.dk_fsync_nb(fd, dataOnly ? 1 : 0);
  if (r < 0) throw ioError(r, "fsync");
}
