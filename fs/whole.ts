/**
 * Whole-file helpers: `readFile`, `readTextFile`, `writeFile`,
 * `writeTextFile` (each one leaf operation over the reactor, see
 * fs/_whole_ops.ts) and `copyFile` (Deno's `copyFile`, which uses the
 * kernel's copy offload).
 *
 * @module
 */

import { DK_O_APPEND, DK_O_CREAT, DK_O_EXCL, DK_O_TRUNC, DK_O_WRONLY } from "../ffi/layout.ts";
import { PromiseWait } from "../runtime/call.ts";
import { ReadFileOp, WriteFileOp } from "./_whole_ops.ts";
import { fromDeno } from "./_errors.ts";
import { type PathLike, toPath } from "./_path.ts";
import { checkMode, type FsOp } from "./file.ts";

/**
 * Options of {@linkcode readFile} and {@linkcode readTextFile}.
 *
 * @example
 * ```ts
 * import { readFile, type ReadFileOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
 * const options: ReadFileOptions = { signal: AbortSignal.timeout(1000) };
 * const bytes = await readFile(path, options);
 * assert.deepEqual(bytes, new Uint8Array([1, 2, 3]));
 * await Deno.remove(path);
 * ```
 */
export interface ReadFileOptions {
  /** Aborting it cancels the read (the file is closed) and the op throws the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode writeFile} and {@linkcode writeTextFile} (those of `Deno.WriteFileOptions`).
 *
 * @example
 * ```ts
 * import { writeTextFile, type WriteFileOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const options: WriteFileOptions = { append: true, mode: 0o600 };
 * await writeTextFile(path, "line\n", options);
 * await writeTextFile(path, "line\n", options);
 * assert.equal(await Deno.readTextFile(path), "line\nline\n");
 * await Deno.remove(path);
 * ```
 */
export interface WriteFileOptions {
  /** Append to the file instead of replacing its content. */
  append?: boolean;
  /** Create the file if missing (default true). */
  create?: boolean;
  /** Fail with EEXIST if the file exists. */
  createNew?: boolean;
  /** Permission bits of a created file (before the umask); default 0o666. */
  mode?: number;
  /** Aborting it cancels the write (the file is closed) and the op throws the signal's reason. */
  signal?: AbortSignal;
}

function checkSignal(signal: unknown, fn: string): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${fn}: signal must be an AbortSignal`);
  }
  return signal;
}

const copyOut = (v: Uint8Array, scratch: boolean): Uint8Array => scratch ? v.slice() : v;
const decoder = new TextDecoder();
const decodeText = (v: Uint8Array): string => decoder.decode(v);
const encoder = new TextEncoder();

/**
 * Read a whole file.
 *
 * @param path the file (a string or a `file:` URL).
 * @param options an optional abort signal.
 * @returns an operation giving the file's bytes.
 * @throws {TypeError} for a bad path or signal.
 * @throws {IoError} (when run) ENOENT, EACCES, EISDIR…, with the path in the message.
 * @throws {Deno.errors.NotCapable} (when run) when Deno's permissions refuse reading it.
 * @example
 * ```ts
 * import { readFile, writeFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await writeFile(path, new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await readFile(path), new Uint8Array([1, 2, 3]));
 * ```
 */
export function readFile(path: PathLike, options?: ReadFileOptions): FsOp<Uint8Array> {
  options ??= {};
  const p = toPath(path, "readFile");
  return new ReadFileOp(p, checkSignal(options?.signal, "readFile"), copyOut);
}

/**
 * Read a whole file as UTF-8 text.
 *
 * @param path the file.
 * @param options an optional abort signal.
 * @returns an operation giving the decoded text.
 * @throws {TypeError} for a bad path or signal.
 * @throws {IoError} (when run) as {@linkcode readFile}.
 * @example
 * ```ts
 * import { readTextFile, writeTextFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await writeTextFile(path, "héllo");
 * assert.equal(await readTextFile(path), "héllo");
 * ```
 */
export function readTextFile(path: PathLike, options?: ReadFileOptions): FsOp<string> {
  options ??= {};
  const p = toPath(path, "readTextFile");
  return new ReadFileOp(p, checkSignal(options?.signal, "readTextFile"), decodeText);
}

function writeOp(
  fn: string,
  path: PathLike,
  data: Uint8Array,
  options: WriteFileOptions,
): WriteFileOp {
  const p = toPath(path, fn);
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${fn}: options must be an object`);
  }
  const mode = checkMode(options.mode, fn);
  const append = options.append === true;
  let flags = DK_O_WRONLY;
  if (options.createNew) flags |= DK_O_CREAT | DK_O_EXCL;
  else if (options.create !== false) flags |= DK_O_CREAT;
  flags |= append ? DK_O_APPEND : DK_O_TRUNC;
  return new WriteFileOp(p, data, flags, mode, append, checkSignal(options.signal, fn));
}

/**
 * Write `data` to a file, replacing it (or appending with `append`).
 *
 * @param path the file.
 * @param data the bytes (kept referenced, and not to be changed, until the op ends).
 * @param options append/create/createNew/mode/signal as `Deno.writeFile`.
 * @returns an operation that ends when all bytes are written and the file is closed.
 * @throws {TypeError} for a bad path, data, options or signal; {@linkcode RangeError} for a bad mode.
 * @throws {IoError} (when run) ENOENT (no create), EEXIST (createNew), EISDIR, ENOSPC…
 * @example
 * ```ts
 * import { readTextFile, writeFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await writeFile(path, new TextEncoder().encode("a"));
 * await writeFile(path, new TextEncoder().encode("b"), { append: true });
 * assert.equal(await readTextFile(path), "ab");
 * ```
 */
export function writeFile(
  path: PathLike,
  data: Uint8Array,
  options?: WriteFileOptions,
): FsOp<void> {
  options ??= {};
  if (!(data instanceof Uint8Array)) throw new TypeError("writeFile: data must be a Uint8Array");
  return writeOp("writeFile", path, data, options);
}

/**
 * Write `text` as UTF-8 to a file (see {@linkcode writeFile}).
 *
 * @param path the file.
 * @param text the text.
 * @param options as {@linkcode writeFile}.
 * @returns an operation that ends when the text is written and the file is closed.
 * @throws {TypeError} when `text` is not a string, or as {@linkcode writeFile}.
 * @example
 * ```ts
 * import { readTextFile, writeTextFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await writeTextFile(path, "hello\n");
 * assert.equal(await readTextFile(path), "hello\n");
 * ```
 */
export function writeTextFile(
  path: PathLike,
  text: string,
  options?: WriteFileOptions,
): FsOp<void> {
  options ??= {};
  if (typeof text !== "string") throw new TypeError("writeTextFile: text must be a string");
  return writeOp("writeTextFile", path, encoder.encode(text), options);
}

/**
 * Copy a file's content (and permission bits) to `to`, replacing it. Runs
 * Deno's `copyFile` (the kernel's copy offload; Deno checks its permissions).
 *
 * @param from the source file.
 * @param to the destination.
 * @returns an operation that ends when the copy is complete.
 * @throws {TypeError} for a bad path.
 * @throws {IoError} (when run) ENOENT, EISDIR…
 * @example
 * ```ts
 * import { copyFile, readTextFile, writeTextFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeTextFile(`${dir}/a`, "x");
 * await copyFile(`${dir}/a`, `${dir}/b`);
 * assert.equal(await readTextFile(`${dir}/b`), "x");
 * ```
 */
export function copyFile(from: PathLike, to: PathLike): FsOp<void> {
  const a = toPath(from, "copyFile");
  const b = toPath(to, "copyFile");
  return new PromiseWait(() =>
    Deno.copyFile(a, b).catch((e) => {
      throw fromDeno(e, "copyFile", `${a}' -> '${b}`);
    })
  );
}
