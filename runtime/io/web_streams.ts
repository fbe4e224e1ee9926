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
 * ```ts
 * import { readableOf } from "./web_streams.ts";
 * import assert from "node:assert/strict";
 * // On a socket: readableOf((b) => conn.read(b), () => conn.close()). Here an in-memory source:
 * const chunks: (Uint8Array | null)[] = [new Uint8Array([1, 2]), new Uint8Array([3]), null];
 * const rs = readableOf((b) => {
 *   const c = chunks.shift() ?? null;
 *   if (c !== null) b.set(c);
 *   return Promise.resolve(c === null ? null : c.byteLength);
 * }, () => {});
 * assert.deepEqual(new Uint8Array(await new Response(rs).arrayBuffer()), new Uint8Array([1, 2, 3]));
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
 * ```ts
 * import { writableOf } from "./web_streams.ts";
 * import assert from "node:assert/strict";
 * // On a socket: writableOf((b) => conn.writeAll(b), () => conn.shutdown(), () => conn.close()).
 * const sent: number[] = [];
 * let shut = false;
 * const ws = writableOf(
 *   (b) => Promise.resolve(void sent.push(...b)),
 *   () => Promise.resolve(void (shut = true)),
 *   () => {},
 * );
 * const w = ws.getWriter();
 * await w.write(new Uint8Array([4, 5]));
 * await w.close();
 * assert.deepEqual(sent, [4, 5]);
 * assert.equal(shut, true);
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
