/**
 * Internal: a `Deno.FileInfo` from the fields `dk_fstat` wrote.
 *
 * @module
 */

import {
  STAT_ATIME,
  STAT_BIRTHTIME,
  STAT_BLKSIZE,
  STAT_BLOCKS,
  STAT_CTIME,
  STAT_DEV,
  STAT_GID,
  STAT_INO,
  STAT_MODE,
  STAT_MTIME,
  STAT_NLINK,
  STAT_RDEV,
  STAT_SIZE,
  STAT_UID,
} from "../ffi/file.ts";

/** st_mode's file-type bits and their values (the same on Linux and macOS). */
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;

function date(ms: number): Date | null {
  return Number.isNaN(ms) ? null : new Date(ms);
}

/**
 * The `Deno.FileInfo` of an fstat result.
 *
 * @example
 * ```ts
 * import { fileInfoOf } from "./_info.ts";
 * import { STAT_FIELDS, STAT_MODE, STAT_SIZE } from "../ffi/file.ts";
 * import assert from "node:assert/strict";
 *
 * const st = new Float64Array(STAT_FIELDS);
 * st[STAT_MODE] = 0o100644;
 * st[STAT_SIZE] = 12;
 * const info = fileInfoOf(st);
 * assert.ok(info.isFile && !info.isDirectory && info.size === 12);
 * ```
 */
export function fileInfoOf(st: Float64Array): Deno.FileInfo {
  const mode = st[STAT_MODE];
  const type = mode & S_IFMT;
  return {
    isFile: type === S_IFREG,
    isDirectory: type === S_IFDIR,
    isSymlink: type === S_IFLNK,
    size: st[STAT_SIZE],
    mtime: date(st[STAT_MTIME]),
    atime: date(st[STAT_ATIME]),
    birthtime: date(st[STAT_BIRTHTIME]),
    ctime: date(st[STAT_CTIME]),
    dev: st[STAT_DEV],
    ino: st[STAT_INO],
    mode,
    nlink: st[STAT_NLINK],
    uid: st[STAT_UID],
    gid: st[STAT_GID],
    rdev: st[STAT_RDEV],
    blksize: st[STAT_BLKSIZE],
    blocks: st[STAT_BLOCKS],
    isBlockDevice: type === S_IFBLK,
    isCharDevice: type === S_IFCHR,
    isFifo: type === S_IFIFO,
    isSocket: type === S_IFSOCK,
  };
}
