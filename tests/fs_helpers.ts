/**
 * Shared helpers of the fs/ tests: both backends, a seeded PRNG, random
 * bytes, the process's open fd count and a temp directory per test.
 */

export { rng } from "./rng.ts";

/** The backends every fs/ test runs on. */
export const BACKENDS = ["epoll", "io_uring"] as const;
/** One backend. */
export type Backend = typeof BACKENDS[number];

/** Register `fn` once per backend, with a fresh temp dir removed afterwards. */
export function t(name: string, fn: (backend: Backend, dir: string) => Promise<void>): void {
  for (const b of BACKENDS) {
    Deno.test(`${name} [${b}]`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "dokio_fs_test_" });
      try {
        await fn(b, dir);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

/** `n` random bytes from `rand`. */
export function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

/** How many fds this process has open. */
export function fdCount(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}
