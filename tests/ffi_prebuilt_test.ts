/**
 * The shipped reactor libraries (ffi/prebuilt/): every one decodes to the bytes its index
 * records, a flipped byte is refused, and unpacking into the cache checks what is already there.
 *
 * @module
 */

import assert from "node:assert/strict";
import { checkPrebuiltBytes, prebuiltBytes, prebuiltEntry, sha256Hex } from "../ffi/prebuilt.ts";
import { openLibrary, unpackPrebuilt } from "../ffi/library.ts";
import { hostTarget, libraryFileName, TARGETS } from "../ffi/target.ts";

const MAGIC: Record<string, number[]> = {
  linux: [0x7f, 0x45, 0x4c, 0x46], // ELF
  macos: [0xcf, 0xfa, 0xed, 0xfe], // Mach-O 64-bit, little-endian
};

Deno.test("prebuilt: every target is shipped, decodes to its recorded size and sha-256", async () => {
  for (const target of TARGETS) {
    const entry = prebuiltEntry(target);
    assert.ok(entry !== null, `${target} is shipped`);
    const bytes = (await prebuiltBytes(target))!;
    assert.equal(bytes.byteLength, entry.size);
    assert.equal(await sha256Hex(bytes), entry.sha256);
    assert.deepEqual([...bytes.subarray(0, 4)], MAGIC[target.split("-")[1]], target);
  }
});

Deno.test("prebuilt: one flipped byte is refused", async () => {
  const bytes = (await prebuiltBytes("x86_64-linux"))!;
  bytes[bytes.length >> 1] ^= 1;
  await assert.rejects(checkPrebuiltBytes("x86_64-linux", bytes), /corrupt.*refusing to load/);
});

Deno.test("prebuilt: unpack writes the checked bytes, replaces a corrupt cache file, loads", async () => {
  const target = hostTarget();
  const entry = prebuiltEntry(target);
  if (entry === null) return; // a host without a shipped library: nothing to unpack
  const dir = await Deno.makeTempDir();
  try {
    const name = libraryFileName(target);
    const file = await unpackPrebuilt(target, entry.sha256, dir, name);
    assert.equal(await sha256Hex(await Deno.readFile(file)), entry.sha256);
    await Deno.writeFile(file, new TextEncoder().encode("not a library"));
    const again = await unpackPrebuilt(target, entry.sha256, dir, name);
    assert.equal(again, file);
    assert.equal(await sha256Hex(await Deno.readFile(again)), entry.sha256);
    const lib = await openLibrary({ path: again });
    assert.ok(lib.symbols.dk_clock_ms() > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
