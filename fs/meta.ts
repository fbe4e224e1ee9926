/**
 * Directory and metadata operations: `stat`, `lstat`, `readDir`, `mkdir`,
 * `remove`, `rename`, `symlink`, `readLink`, `realPath`, `chmod`, `truncate`.
 *
 * These are not on the hot path of a daemon, so they run Deno's own
 * asynchronous APIs (which check Deno's permissions themselves) wrapped as
 * Dokio operations; their errors become `IoError`s with Deno's `code` and the
 * path in the message (the original error is the `cause`).
 *
 * @module
 */

import { type Operation, toPromise } from "../runtime/operation.ts";
import { PromiseWait } from "../runtime/call.ts";
import { fromDeno } from "./_errors.ts";
import { type PathLike, toPath } from "./_path.ts";
import { checkMode, type FsOp } from "./file.ts";

function viaDeno<T>(syscall: string, shown: string, start: () => Promise<T>): FsOp<T> {
  return new PromiseWait(() =>
    start().catch((e) => {
      throw fromDeno(e, syscall, shown);
    })
  );
}

/**
 * Metadata of a path, following symlinks.
 *
 * @param path the path.
 * @returns an operation giving a `Deno.FileInfo`.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when run) ENOENT, EACCES…
 * @example
 * ```ts
 * import { stat } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok((await stat(Deno.cwd())).isDirectory);
 * ```
 */
export function stat(path: PathLike): FsOp<Deno.FileInfo> {
  const p = toPath(path, "stat");
  return viaDeno("stat", p, () => Deno.stat(p));
}

/**
 * Metadata of a path; a symlink is described itself, not followed.
 *
 * @param path the path.
 * @returns an operation giving a `Deno.FileInfo`.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when run) ENOENT…
 * @example
 * ```ts
 * import { lstat, symlink } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await symlink("nowhere", `${dir}/link`);
 * assert.ok((await lstat(`${dir}/link`)).isSymlink);
 * ```
 */
export function lstat(path: PathLike): FsOp<Deno.FileInfo> {
  const p = toPath(path, "lstat");
  return viaDeno("lstat", p, () => Deno.lstat(p));
}

/**
 * The entries of a directory: `for await` over it, or run it (`yield*`,
 * `await`) for them all as an array.
 *
 * @example
 * ```ts
 * import { readDir, writeTextFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeTextFile(`${dir}/a.txt`, "");
 * const names: string[] = [];
 * for await (const e of readDir(dir)) names.push(e.name);
 * assert.deepEqual(names, ["a.txt"]);
 * assert.equal((await readDir(dir)).length, 1);
 * ```
 */
export class DirListing
  implements
    AsyncIterable<Deno.DirEntry>,
    Operation<Deno.DirEntry[]>,
    PromiseLike<Deno.DirEntry[]> {
  readonly #path: string;
  /**
   * Internal: made by {@linkcode readDir}.
   *
   * @param path the directory.
   */
  constructor(path: string) {
    this.#path = path;
  }
  /**
   * Iterate the entries (order as the file system gives them).
   *
   * @returns an async iterator of the entries.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Deno.DirEntry> {
    try {
      for await (const e of Deno.readDir(this.#path)) yield e;
    } catch (e) {
      throw fromDeno(e, "readdir", this.#path);
    }
  }
  /**
   * All entries, as an operation.
   *
   * @returns an iterator that finishes with every entry.
   */
  [Symbol.iterator](): Iterator<unknown, Deno.DirEntry[], unknown> {
    const all = (): Promise<Deno.DirEntry[]> => Array.fromAsync<Deno.DirEntry>(this);
    return viaDeno("readdir", this.#path, all)[Symbol.iterator]();
  }
  /**
   * All entries, as a promise.
   *
   * @param onfulfilled called with every entry.
   * @param onrejected called with the error (an IoError such as ENOENT).
   * @returns a promise of what the called handler returns.
   */
  then<R1 = Deno.DirEntry[], R2 = never>(
    onfulfilled?: ((value: Deno.DirEntry[]) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return toPromise(this).then(onfulfilled, onrejected);
  }
}

/**
 * List a directory (see {@linkcode DirListing}).
 *
 * @param path the directory.
 * @returns an async-iterable that is also an operation giving every entry.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when iterated or run) ENOENT, ENOTDIR…
 * @example
 * ```ts
 * import { readDir } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(await readDir(await Deno.makeTempDir()), []);
 * ```
 */
export function readDir(path: PathLike): DirListing {
  return new DirListing(toPath(path, "readDir"));
}

/**
 * Options of {@linkcode mkdir}.
 *
 * @example
 * ```ts
 * import { mkdir, type MkdirOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const options: MkdirOptions = { recursive: true, mode: 0o755 };
 * await mkdir(`${dir}/a/b`, options);
 * assert.ok((await Deno.stat(`${dir}/a/b`)).isDirectory);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface MkdirOptions {
  /** Create missing parents too, and do not fail if the directory exists. */
  recursive?: boolean;
  /** Permission bits (before the umask); default 0o777. */
  mode?: number;
}

/**
 * Create a directory.
 *
 * @param path the directory.
 * @param options `recursive`, `mode`.
 * @returns an operation that ends once it exists.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when run) EEXIST, ENOENT (missing parent)…
 * @example
 * ```ts
 * import { mkdir, stat } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await mkdir(`${dir}/a/b`, { recursive: true });
 * assert.ok((await stat(`${dir}/a/b`)).isDirectory);
 * ```
 */
export function mkdir(path: PathLike, options?: MkdirOptions): FsOp<void> {
  options ??= {};
  const p = toPath(path, "mkdir");
  const mode = options.mode === undefined ? undefined : checkMode(options.mode, "mkdir");
  const recursive = options.recursive === true;
  return viaDeno("mkdir", p, () => Deno.mkdir(p, { recursive, mode }));
}

/**
 * Options of {@linkcode remove}.
 *
 * @example
 * ```ts
 * import { remove, type RemoveOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/f`, "x");
 * const options: RemoveOptions = { recursive: true };
 * await remove(dir, options);
 * await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
 * ```
 */
export interface RemoveOptions {
  /** Remove a directory with everything in it. */
  recursive?: boolean;
}

/**
 * Remove a file, a symlink or an (empty, unless `recursive`) directory.
 *
 * @param path what to remove.
 * @param options `recursive`.
 * @returns an operation that ends once it is gone.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when run) ENOENT, ENOTEMPTY…
 * @example
 * ```ts
 * import { remove, writeTextFile } from "../mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await writeTextFile(`${dir}/f`, "x");
 * await remove(dir, { recursive: true });
 * ```
 */
export function remove(path: PathLike, options?: RemoveOptions): FsOp<void> {
  options ??= {};
  const p = toPath(path, "remove");
  const recursive = options.recursive === true;
  return viaDeno("remove", p, () => Deno.remove(p, { recursive }));
}

/**
 * Rename (move) `from` to `to`, replacing `to` if it is a file.
 *
 * @param from the old path.
 * @param to the new path.
 * @returns an operation that ends once renamed.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when run) ENOENT, EXDEV…
 * @example
 * ```ts
 * import { rename, stat, writeTextFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeTextFile(`${dir}/a`, "x");
 * await rename(`${dir}/a`, `${dir}/b`);
 * assert.ok((await stat(`${dir}/b`)).isFile);
 * ```
 */
export function rename(from: PathLike, to: PathLike): FsOp<void> {
  const a = toPath(from, "rename");
  const b = toPath(to, "rename");
  return viaDeno("rename", `${a}' -> '${b}`, () => Deno.rename(a, b));
}

/**
 * Create a symbolic link at `path` pointing to `target`.
 *
 * @param target what the link points to (not checked).
 * @param path where the link is made.
 * @returns an operation that ends once the link exists.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when run) EEXIST…
 * @example
 * ```ts
 * import { readLink, symlink } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await symlink("target", `${dir}/link`);
 * assert.equal(await readLink(`${dir}/link`), "target");
 * ```
 */
export function symlink(target: PathLike, path: PathLike): FsOp<void> {
  const t = toPath(target, "symlink");
  const p = toPath(path, "symlink");
  return viaDeno("symlink", p, () => Deno.symlink(t, p));
}

/**
 * The target of a symbolic link.
 *
 * @param path the link.
 * @returns an operation giving the target as stored.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when run) EINVAL (not a link), ENOENT…
 * @example
 * ```ts
 * import { readLink, symlink } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await symlink("/etc/hosts", `${dir}/link`);
 * const target = await readLink(`${dir}/link`);
 * assert.equal(target, "/etc/hosts");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readLink(path: PathLike): FsOp<string> {
  const p = toPath(path, "readLink");
  return viaDeno("readlink", p, () => Deno.readLink(p));
}

/**
 * The absolute path with every symlink, `.` and `..` resolved.
 *
 * @param path the path.
 * @returns an operation giving the canonical path.
 * @throws {TypeError} for a bad path; {@linkcode IoError} (when run) ENOENT…
 * @example
 * ```ts
 * import { realPath } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await realPath("."), Deno.realPathSync("."));
 * ```
 */
export function realPath(path: PathLike): FsOp<string> {
  const p = toPath(path, "realPath");
  return viaDeno("realpath", p, () => Deno.realPath(p));
}

/**
 * Change the permission bits of a path.
 *
 * @param path the path.
 * @param mode the new bits (0..0o7777).
 * @returns an operation that ends once changed.
 * @throws {TypeError} for a bad path; {@linkcode RangeError} for a bad mode; {@linkcode IoError} (when run).
 * @example
 * ```ts
 * import { chmod, stat } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await chmod(path, 0o600);
 * assert.equal((await stat(path)).mode! & 0o777, 0o600);
 * ```
 */
export function chmod(path: PathLike, mode: number): FsOp<void> {
  const p = toPath(path, "chmod");
  if (mode === undefined) throw new RangeError("chmod: mode is required");
  const m = checkMode(mode, "chmod");
  return viaDeno("chmod", p, () => Deno.chmod(p, m));
}

/**
 * Set the length of the file at `path` (default 0), cutting or zero-extending it.
 *
 * @param path the file.
 * @param len the new length in bytes.
 * @returns an operation that ends once done.
 * @throws {TypeError} for a bad path; {@linkcode RangeError} for a bad length; {@linkcode IoError} (when run).
 * @example
 * ```ts
 * import { stat, truncate } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await truncate(path, 10);
 * assert.equal((await stat(path)).size, 10);
 * ```
 */
export function truncate(path: PathLike, len?: number): FsOp<void> {
  len ??= 0;
  const p = toPath(path, "truncate");
  if (!Number.isSafeInteger(len) || len < 0) {
    throw new RangeError(`truncate: length must be an integer ≥ 0, got ${len}`);
  }
  return viaDeno("truncate", p, () => Deno.truncate(p, len));
}
