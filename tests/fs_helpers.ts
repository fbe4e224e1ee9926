/**
 * Shared helpers of the fs/ tests: both backends, a seeded PRNG, random
 * bytes, the fds open under a directory and a temp directory per test.
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

/**
 * The fds of this process open on a file under `dir`, as "fd:path". The fs tests count these,
 * not all of the process's fds: deno test runs every test file in one process, and other fds come
 * and go meanwhile (a failing full run listed an extra pipe at fd 251, and an fd that closed
 * while it was listed).
 */
export function fdsUnder(dir: string): string[] {
  const open: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
      if (target.startsWith(`${dir}/`)) open.push(`${e.name}:${target}`);
    } catch { /* closed while listed */ }
  }
  return open;
}
