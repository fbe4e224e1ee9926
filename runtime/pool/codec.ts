/**
 * A small binary codec for shared-task arguments: the plain data a shared
 * task may take (numbers, strings, booleans, null, undefined, bigint,
 * Uint8Array, arrays and plain objects of those), written into a byte buffer
 * that may be SharedArrayBuffer-backed. A SharedArrayBuffer argument (a
 * `sharedChannel`'s buffer, say) is written as an index into a side list that
 * the pool posts along with the bytes — memory is shared, never copied.
 *
 * Why not `structuredClone`/`node:v8` serialize: the latter costs ~9 µs for a
 * three-element call here, more than the whole queueing path; this codec costs
 * well under 1 µs for small arguments. Invariant: `decode(encode(v))` is deep-equal
 * to `v` for every accepted value; anything else (functions, class instances,
 * symbols, cycles) is a TypeError at encode time, at the spawn call.
 *
 * @module
 */

const T_UNDEF = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT = 4;
const T_F64 = 5;
const T_STR = 6;
const T_BYTES = 7;
const T_ARRAY = 8;
const T_OBJECT = 9;
const T_BIGINT = 10;
const T_SAB = 11;

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A value the codec accepts (checked at run time).
 *
 * @example
 * ```ts
 * import { defineTask, type SharedArg } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const kinds = defineTask(
 *   "doc.SharedArg.kinds",
 *   (...args: SharedArg[]): string[] => args.map((a) => typeof a),
 * );
 * const args: SharedArg[] = [1, "two", null, 3n, new Uint8Array([4]), { nested: [true] }];
 * // On a pool: rt.spawnShared(moduleUrl, kinds.name, ...args); locally:
 * const expected = ["number", "string", "object", "bigint", "object", "object"];
 * assert.deepEqual(kinds.fn(...args), expected);
 * ```
 */
export type SharedArg =
  | number
  | string
  | boolean
  | null
  | undefined
  | bigint
  | Uint8Array
  | SharedArrayBuffer
  | SharedArg[]
  | { [key: string]: SharedArg };

/**
 * A growable byte writer. Reuse one per thread: `reset()` then `write*`.
 *
 * @example
 * ```ts
 * import { ArgWriter, decodeArgs } from "./codec.ts";
 * import assert from "node:assert/strict";
 * const w = new ArgWriter();
 * w.value([1, "a"]);
 * assert.deepEqual(decodeArgs(w.bytes(), 0, w.length), [[1, "a"]]);
 * ```
 */
export class ArgWriter {
  #buf: Uint8Array = new Uint8Array(256);
  #view: DataView = new DataView(this.#buf.buffer);
  #pos = 0;
  #depth = 0;
  /** SharedArrayBuffers met while writing (sent beside the bytes). */
  shared: SharedArrayBuffer[] = [];

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** The backing bytes (valid up to `length`, until the next write). */
  bytes(): Uint8Array {
    return this.#buf;
  }

  /** Forget what was written. */
  reset(): void {
    this.#pos = 0;
    this.#depth = 0;
    if (this.shared.length > 0) this.shared = [];
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.#buf.subarray(0, this.#pos));
    this.#buf = b;
    this.#view = new DataView(b.buffer);
  }

  /** Append one value (recursively). Throws TypeError for unsupported values. */
  value(v: unknown): void {
    switch (typeof v) {
      case "number":
        if ((v | 0) === v && !Object.is(v, -0)) {
          this.#room(5);
          this.#buf[this.#pos++] = T_INT;
          this.#view.setInt32(this.#pos, v, true);
          this.#pos += 4;
        } else {
          this.#room(9);
          this.#buf[this.#pos++] = T_F64;
          this.#view.setFloat64(this.#pos, v, true);
          this.#pos += 8;
        }
        return;
      case "string":
        this.#str(T_STR, v);
        return;
      case "boolean":
        this.#room(1);
        this.#buf[this.#pos++] = v ? T_TRUE : T_FALSE;
        return;
      case "undefined":
        this.#room(1);
        this.#buf[this.#pos++] = T_UNDEF;
        return;
      case "bigint":
        this.#str(T_BIGINT, v.toString());
        return;
      case "object":
        break;
      default:
        throw new TypeError(`shared task arguments: cannot send a ${typeof v}`);
    }
    if (v === null) {
      this.#room(1);
      this.#buf[this.#pos++] = T_NULL;
      return;
    }
    if (++this.#depth > 64) {
      throw new TypeError("shared task arguments: nested too deep (a cycle?)");
    }
    if (v instanceof SharedArrayBuffer) {
      this.#room(5);
      this.#buf[this.#pos++] = T_SAB;
      this.#view.setUint32(this.#pos, this.shared.length, true);
      this.#pos += 4;
      this.shared.push(v);
    } else if (v instanceof Uint8Array) {
      this.#room(5 + v.length);
      this.#buf[this.#pos++] = T_BYTES;
      this.#view.setUint32(this.#pos, v.length, true);
      this.#pos += 4;
      this.#buf.set(v, this.#pos);
      this.#pos += v.length;
    } else if (Array.isArray(v)) {
      this.#room(5);
      this.#buf[this.#pos++] = T_ARRAY;
      this.#view.setUint32(this.#pos, v.length, true);
      this.#pos += 4;
      for (let i = 0; i < v.length; i++) this.value(v[i]);
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          "shared task arguments: only plain objects, arrays and Uint8Array can be sent",
        );
      }
      const keys = Object.keys(v);
      this.#room(5);
      this.#buf[this.#pos++] = T_OBJECT;
      this.#view.setUint32(this.#pos, keys.length, true);
      this.#pos += 4;
      for (const k of keys) {
        this.#str(T_STR, k);
        this.value((v as Record<string, unknown>)[k]);
      }
    }
    this.#depth--;
  }

  #str(tag: number, s: string): void {
    const max = s.length * 3;
    this.#room(5 + max);
    this.#buf[this.#pos] = tag;
    const at = this.#pos + 5;
    let n: number;
    // Short ASCII strings (module URLs, names) are copied without the encoder call.
    ascii: {
      if (s.length <= 64) {
        for (let i = 0; i < s.length; i++) {
          const c = s.charCodeAt(i);
          if (c >= 0x80) break ascii;
          this.#buf[at + i] = c;
        }
        n = s.length;
        this.#view.setUint32(this.#pos + 1, n, true);
        this.#pos = at + n;
        return;
      }
    }
    n = enc.encodeInto(s, this.#buf.subarray(at)).written;
    this.#view.setUint32(this.#pos + 1, n, true);
    this.#pos = at + n;
  }
}

/**
 * Decode every value in `bytes[start, end)` into an array.
 * The bytes may live in a SharedArrayBuffer; strings and Uint8Arrays are copied out.
 *
 * @example
 * ```ts
 * import { ArgWriter, decodeArgs } from "./codec.ts";
 * import assert from "node:assert/strict";
 * const w = new ArgWriter();
 * w.value("x");
 * w.value(new Uint8Array([1, 2]));
 * assert.deepEqual(decodeArgs(w.bytes(), 0, w.length), ["x", new Uint8Array([1, 2])]);
 * ```
 */
export function decodeArgs(
  bytes: Uint8Array,
  start: number,
  end: number,
  shared: readonly SharedArrayBuffer[] = [],
): unknown[] {
  const r = new Reader(bytes, start, end, shared);
  const out: unknown[] = [];
  while (r.pos < end) out.push(r.value());
  return out;
}

class Reader {
  pos: number;
  #b: Uint8Array;
  #v: DataView;
  #end: number;
  #shared: readonly SharedArrayBuffer[];
  constructor(b: Uint8Array, start: number, end: number, shared: readonly SharedArrayBuffer[]) {
    this.#shared = shared;
    this.#b = b;
    this.#v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.pos = start;
    this.#end = end;
  }
  #u32(): number {
    if (this.pos + 4 > this.#end) throw new RangeError("shared task arguments: truncated");
    const n = this.#v.getUint32(this.pos, true);
    this.pos += 4;
    return n;
  }
  #str(): string {
    const n = this.#u32();
    if (this.pos + n > this.#end) throw new RangeError("shared task arguments: truncated");
    let s = "";
    if (n <= 64) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = this.#b[this.pos + i];
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        s += String.fromCharCode(c);
      }
      if (ascii) {
        this.pos += n;
        return s;
      }
    }
    // TextDecoder refuses SharedArrayBuffer views: copy out first.
    s = dec.decode(this.#b.slice(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  value(): unknown {
    if (this.pos >= this.#end) throw new RangeError("shared task arguments: truncated");
    const tag = this.#b[this.pos++];
    switch (tag) {
      case T_UNDEF:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_INT: {
        const v = this.#v.getInt32(this.pos, true);
        this.pos += 4;
        return v;
      }
      case T_F64: {
        const v = this.#v.getFloat64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case T_STR:
        return this.#str();
      case T_BIGINT:
        return BigInt(this.#str());
      case T_BYTES: {
        const n = this.#u32();
        const v = this.#b.slice(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case T_SAB: {
        const i = this.#u32();
        if (i >= this.#shared.length) throw new RangeError("shared task arguments: missing buffer");
        return this.#shared[i];
      }
      case T_ARRAY: {
        const n = this.#u32();
        const a = new Array(n);
        for (let i = 0; i < n; i++) a[i] = this.value();
        return a;
      }
      case T_OBJECT: {
        const n = this.#u32();
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          this.pos++; // key tag (always T_STR)
          const k = this.#str();
          o[k] = this.value();
        }
        return o;
      }
      default:
        throw new RangeError(`shared task arguments: bad tag ${tag}`);
    }
  }
}
