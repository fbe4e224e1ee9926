/**
 * Dokio files: {@linkcode open} gives a {@linkcode File} (cursor and
 * positional reads/writes, seek, sync, truncate, stat, web streams) driven by
 * the C reactor — io_uring natively, the C side's file-worker thread on epoll
 * and kqueue. `readFile`/`writeFile` and their text forms run each whole
 * file as one operation, and many of them from many tasks reach the kernel
 * together in one submission per scheduler round.
 *
 * Directory and metadata operations (`stat`, `lstat`, `readDir`, `mkdir`,
 * `remove`, `rename`, `symlink`, `readLink`, `realPath`, `chmod`, `truncate`,
 * `copyFile`) are not hot: they use Deno's own asynchronous APIs, wrapped as
 * operations.
 *
 * Every call returns an operation: `yield*` it inside a task or `await` it.
 * Failures are `IoError`s with Deno's `code` ("ENOENT", "EACCES", "EISDIR",
 * "ENOTDIR", "EEXIST", "ENOSPC"…) and the path in the message. Opens through
 * the reactor are checked against Deno's permission state first, so
 * `--allow-read=/srv` keeps Dokio out of `/etc` too (`Deno.errors.NotCapable`).
 * Bad arguments throw TypeError/RangeError at the call.
 *
 * @example
 * ```ts
 * import { open, readTextFile, run, writeTextFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await run(function* () {
 *   yield* writeTextFile(`${dir}/greeting.txt`, "hello, files\n");
 *   assert.equal(yield* readTextFile(`${dir}/greeting.txt`), "hello, files\n");
 *   using f = yield* open(`${dir}/greeting.txt`);
 *   const buf = new Uint8Array(5);
 *   assert.equal(yield* f.readAt(buf, 7), 5);
 *   assert.equal(new TextDecoder().decode(buf), "files");
 * });
 * ```
 *
 * @module
 */

// The runtime module installs what `await op` runs on; load it with fs/ alone too.
import "../runtime/runtime.ts";

export { File, type FsOp, open, type OpenOptions, SeekMode } from "./file.ts";
export {
  copyFile,
  readFile,
  type ReadFileOptions,
  readTextFile,
  writeFile,
  type WriteFileOptions,
  writeTextFile,
} from "./whole.ts";
export {
  chmod,
  DirListing,
  lstat,
  mkdir,
  type MkdirOptions,
  readDir,
  readLink,
  realPath,
  remove,
  type RemoveOptions,
  rename,
  stat,
  symlink,
  truncate,
} from "./meta.ts";
export type { PathLike } from "./_path.ts";
export { IoError } from "../ffi/errors.ts";
export { ClosedError } from "../runtime/errors.ts";
