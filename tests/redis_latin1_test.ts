/**
 * mini-redis's latin1 strings (examples/mini_redis/resp.ts `latin1`): short ones come from an
 * intern table, so a string handed back for some bytes must always be those bytes, whatever the
 * table held before (same slot, same length, other bytes).
 */

import assert from "node:assert/strict";
import { latin1, latin1Bytes } from "../examples/mini_redis/resp.ts";

/** The slot the intern table gives `bytes` (FNV-1a, 16 bits), as resp.ts computes it. */
function slotOf(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h & 0xffff;
}

Deno.test("latin1: every byte value, at every short length, gives back its bytes", () => {
  for (let n = 1; n <= 40; n++) {
    for (let v = 0; v < 256; v += 15) {
      const b = new Uint8Array(n).map((_, i) => (v + i * 7) & 0xff);
      const s = latin1(b, 0, n);
      assert.equal(s.length, n);
      assert.deepEqual(latin1Bytes(s), b);
      assert.equal(latin1(b, 0, n), s); // again: the same string
    }
  }
});

Deno.test("latin1: two keys sharing an intern slot and a length each get their own string", () => {
  // Find two different 8-byte keys whose bytes land in the same slot.
  const seen = new Map<number, Uint8Array>();
  let pair: [Uint8Array, Uint8Array] | null = null;
  for (let i = 0; pair === null; i++) {
    const k = new TextEncoder().encode(`key:${String(i).padStart(4, "0")}`);
    const slot = slotOf(k);
    const other = seen.get(slot);
    if (other !== undefined) pair = [other, k];
    else seen.set(slot, k);
  }
  const [a, b] = pair;
  assert.equal(a.length, b.length);
  for (let round = 0; round < 3; round++) {
    assert.deepEqual(latin1Bytes(latin1(a, 0, a.length)), a);
    assert.deepEqual(latin1Bytes(latin1(b, 0, b.length)), b);
  }
  // Inside a larger buffer, at an offset.
  const buf = new Uint8Array(3 + b.length + 2);
  buf.set(b, 3);
  assert.equal(latin1(buf, 3, 3 + b.length), latin1(b, 0, b.length));
});
