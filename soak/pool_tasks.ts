/**
 * The shared tasks the soak's pool runs (every pool worker imports this
 * module): a digest of bytes made from a seed, so the server can check each
 * result against its own computation, at once or after a sleep (a task still
 * running when its worker is killed).
 *
 * @module
 */

import { defineTask, sleep } from "../mod.ts";

/**
 * FNV-1a over `len` bytes of a xorshift stream seeded with `seed`.
 *
 * @param seed the stream's seed.
 * @param len how many bytes.
 * @returns the 32-bit digest.
 */
export function digestOf(seed: number, len: number): number {
  let x = (seed | 0) || 1;
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    h = Math.imul(h ^ (x & 0xff), 0x01000193);
  }
  return h >>> 0;
}

/** `digestOf` on a pool worker. */
export const digest: ReturnType<typeof defineTask<typeof digestOf>> = defineTask(
  "soak.digest",
  digestOf,
);

/** `digestOf` after sleeping `ms` on the worker's runtime (still running when a kill comes). */
export const slowDigest: ReturnType<
  typeof defineTask<(seed: number, len: number, ms: number) => Generator<unknown, number, unknown>>
> = defineTask(
  "soak.slowDigest",
  function* (seed: number, len: number, ms: number): Generator<unknown, number, unknown> {
    yield* sleep(ms);
    return digestOf(seed, len);
  },
);
