/**
 * Internal: installs the runtime's I/O factory (the reactor driver) when the
 * networking module loads, so runtimes that never touch the network never
 * load the FFI library.
 *
 * Invariant: importing any `net/` module makes every runtime able to open
 * its I/O driver on first use.
 *
 * @module
 */

import { setIoFactory } from "../runtime/runtime.ts";
import { ReactorDriver } from "../runtime/reactor_driver.ts";
import type { IoDriver } from "../runtime/io_driver.ts";

setIoFactory((backend): Promise<IoDriver> => ReactorDriver.open(backend));

/**
 * Whether the I/O factory is installed (always true once this module is loaded).
 *
 * @example
 * ```ts ignore
 * import { ioInstalled } from "./_io.ts";
 * console.assert(ioInstalled());
 * ```
 */
export function ioInstalled(): boolean {
  return true;
}
