/**
 * Web stream adapters of a byte source and sink (a socket, a file): a byte
 * `ReadableStream` (BYOB-capable) and a `WritableStream`, each running the
 * source's operations with `await` (so they work outside tasks, on the
 * ambient runtime).
 *
 * Invariant: at most one op per stream is in flight (the streams'
 * own queueing guarantees `pull`/`write` are not re-entered), so the bytes
 * come out, and go in, in order.
 *
 * @module
 */

/**
 * A byte ReadableStream over `read` (bytes read or null at EOF); `cancel`
 * runs `onCancel`.
 *
 * @example
 * ```ts ignore
 * const rs = readableOf((b) => conn.read(b), () => conn.close());
 * ```
 */
export function readableOf(
  read: (buf: Uint8Array) => PromiseLike<number | null>,
  onCancel: () => void,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 16384,
    async pull(c: ReadableByteStreamController): Promise<void> {
      const req = c.byobRequest!;
      const v = req.view!;
      const n = await read(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      if (n === null) {
        c.close();
        req.respond(0);
      } else {
        req.respond(n);
      }
    },
    cancel(): void {
      onCancel();
    },
  });
}

/**
 * A WritableStream over `writeAll`; `close` runs `shutdown`, `abort` runs `onAbort`.
 *
 * @example
 * ```ts ignore
 * const ws = writableOf((b) => conn.writeAll(b), () => conn.shutdown(), () => conn.close());
 * ```
 */
export function writableOf(
  writeAll: (buf: Uint8Array) => PromiseLike<void>,
  shutdown: () => PromiseLike<void>,
  onAbort: () => void,
): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk: Uint8Array): Promise<void> {
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError("writable: chunks must be Uint8Array");
      }
      await writeAll(chunk);
    },
    async close(): Promise<void> {
      await shutdown();
    },
    abort(): void {
      onAbort();
    },
  });
}
