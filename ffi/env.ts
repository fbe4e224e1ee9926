/**
 * What the reactor's discovery and build read from the environment, read tolerantly: a variable
 * that `--allow-env` does not cover counts as unset. Its own module so that `ffi/build.ts` and
 * `ffi/library.ts` (which loads `build.ts` on demand) do not import each other.
 *
 * @module
 */

/**
 * Read an environment variable; `undefined` when unset or when `--allow-env`
 * does not cover it.
 *
 * @example
 * ```ts
 * import { readEnv } from "./env.ts";
 * import assert from "node:assert/strict";
 * assert.equal(readEnv("SURELY_NOT_SET_DOKIO_X"), undefined);
 * ```
 */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The library cache directory: `$DOKIO_CACHE`, else `$XDG_CACHE_HOME/dokio`,
 * else `~/.cache/dokio`; null when none can be read (no `--allow-env`).
 *
 * @example
 * ```ts
 * import { cacheDir } from "./env.ts";
 * import assert from "node:assert/strict";
 * const dir = cacheDir();
 * assert.ok(dir === null || dir.length > 0); // null when no cache directory can be found
 * ```
 */
export function cacheDir(): string | null {
  const own = readEnv("DOKIO_CACHE");
  if (own) return own;
  const xdg = readEnv("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/dokio`;
  const home = readEnv("HOME");
  return home ? `${home}/.cache/dokio` : null;
}
