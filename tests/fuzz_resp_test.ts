/**
 * Fuzzing of mini-redis's request parser (examples/mini_redis/resp.ts
 * `parseCommand`), driven as the server drives it: bytes arrive in chunks,
 * every complete command is taken from the front of the buffer, a
 * `ProtocolError` ends the connection. Properties: nothing but
 * ProtocolError is thrown; the commands (and the error, if any) are the
 * same for every split of the stream; multibulk and inline encodings of
 * random arguments parse back to those arguments; while a frame is
 * incomplete, what the parser makes the server keep past its complete
 * arguments is at most one bulk header and one bulk of `maxBulk` bytes (an
 * inline line: `MAX_INLINE`); its own tables grow only with arguments
 * present; a 4 GiB bulk length or argument count is refused at its header.
 * CI: fixed seed and iteration count; long mode: see tests/fuzz_helpers.ts.
 */

import assert from "node:assert/strict";
import {
  Command,
  DEFAULT_MAX_BULK,
  MAX_HEADER,
  MAX_INLINE,
  parseCommand,
  ProtocolError,
} from "../examples/mini_redis/resp.ts";
import {
  bytesOf,
  FeedBuffer,
  fuzz,
  join,
  mutate,
  type Prng,
  randomBytes,
  split,
} from "./fuzz_helpers.ts";

/** The iterations of each target in CI. */
const CI_ITERS = 1500;
/** The scratch and offsets tables a fresh Command starts with. */
const FRESH = new Command();
/** Bytes of a `\r\n`. */
const CRLF = 2;

/** A parsed command's arguments (as arrays, to compare), or the end of the connection. */
type Event = number[][] | "error";

/**
 * Parse `chunks` as the server does; the commands and a final "error" if
 * the stream was refused. Checks the bounds after every call.
 */
function drive(
  chunks: Uint8Array[],
  maxBulk: number,
  shifts: Prng | null = null,
): { events: Event[]; highWater: number } {
  const fb = new FeedBuffer();
  const cmd = new Command();
  const events: Event[] = [];
  let mostArgs = 0;
  for (const c of chunks) {
    fb.push(c);
    for (;;) {
      // With `shifts`, the bytes sit at a new offset of a new array each call (as when a reader
      // moves its buffered bytes): a remembered frame must move with them.
      const at = shifts === null ? 0 : shifts.int(8);
      const buf = at === 0 ? fb.buffer : join([new Uint8Array(at), fb.buffer]);
      let n: number;
      try {
        n = parseCommand(buf, at, buf.length, cmd, maxBulk);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        events.push("error");
        // The server closes the connection; the Command is left clean for another frame.
        const ping = bytesOf("*1\r\n$4\r\nPING\r\n");
        assert.equal(parseCommand(ping, 0, ping.length, cmd, DEFAULT_MAX_BULK), ping.length);
        assert.deepEqual([cmd.argc, cmd.str(0)], [1, "PING"]);
        return { events, highWater: fb.highWater };
      }
      mostArgs = Math.max(mostArgs, cmd.argc);
      assert.ok(n > 0 || cmd.pendingCount < 0 || cmd.argc <= cmd.pendingCount, "argc past count");
      assert.ok(cmd.offs.length <= Math.max(FRESH.offs.length, 4 * mostArgs), "offsets grew");
      assert.ok(cmd.scratch.length <= Math.max(FRESH.scratch.length, MAX_INLINE), "scratch grew");
      if (n === 0) {
        fb.mark();
        checkPending(buf.subarray(at), cmd, maxBulk, at);
        break;
      }
      assert.ok(n > 0 && n <= buf.length - at, `took ${n} of ${buf.length - at}`);
      const args: number[][] = [];
      for (let i = 0; i < cmd.argc; i++) args.push([...cmd.view(i)]);
      if (cmd.argc > 0) events.push(args);
      fb.consume(n);
    }
  }
  return { events, highWater: fb.highWater };
}

/** An incomplete frame keeps at most its complete args, a header and one bulk (or one line). */
function checkPending(buf: Uint8Array, cmd: Command, maxBulk: number, at: number): void {
  if (buf.length === 0) return;
  if (buf[0] !== 0x2a) {
    assert.ok(buf.length <= MAX_INLINE, `an inline line of ${buf.length} bytes kept`);
    return;
  }
  const header = MAX_HEADER + 1 + CRLF;
  const bulk = header + maxBulk + CRLF;
  // A remembered frame's argc counts its args that are in; else its header is not in yet.
  const argc = cmd.pendingCount >= 0 ? cmd.argc : 0;
  const tail = argc > 0 ? buf.length - (cmd.offs[2 * argc - 1] - at + CRLF) : buf.length;
  const bound = argc > 0 ? bulk : header + bulk;
  assert.ok(tail <= bound, `kept ${tail} bytes past the complete args (bound ${bound})`);
}

/** The multibulk frame of `args`. */
function multibulk(args: Uint8Array[]): Uint8Array {
  const parts = [bytesOf(`*${args.length}\r\n`)];
  for (const a of args) parts.push(bytesOf(`$${a.length}\r\n`), a, bytesOf("\r\n"));
  return join(parts);
}

const PLAIN = Array.from("abcXYZ019-_:.{}*$", (c) => c.charCodeAt(0));

/** An inline argument and its encoding: plain, "double-quoted" with escapes, or 'single'. */
function inlineArg(r: Prng): { arg: number[]; text: string } {
  const n = r.range(1, 8);
  const mode = r.int(3);
  const arg: number[] = [];
  let text = mode === 1 ? '"' : mode === 2 ? "'" : "";
  for (let i = 0; i < n; i++) {
    if (mode === 0) {
      const c = r.pick(PLAIN);
      arg.push(c);
      text += String.fromCharCode(c);
    } else if (mode === 1) {
      const c = r.int(256);
      arg.push(c);
      text += `\\x${c.toString(16).padStart(2, "0")}`;
    } else {
      const c = r.pick([...PLAIN, 0x20, 0x22, 0x27]);
      arg.push(c);
      text += c === 0x27 ? "\\'" : String.fromCharCode(c);
    }
  }
  if (mode === 1) text += '"';
  if (mode === 2) text += "'";
  // A plain argument starting with '*' would make the line a multibulk frame.
  if (mode === 0 && arg[0] === 0x2a) return inlineArg(r);
  return { arg, text };
}

/** Random commands, each multibulk or inline, and what they parse to. */
function commands(r: Prng, maxBulk: number): { bytes: Uint8Array; want: Event[] } {
  const parts: Uint8Array[] = [];
  const want: Event[] = [];
  for (let k = r.range(0, 6); k > 0; k--) {
    const argc = r.range(1, 5);
    if (r.chance(0.6)) {
      const args = Array.from(
        { length: argc },
        () => randomBytes(r, r.int(Math.min(maxBulk, 40) + 1)),
      );
      parts.push(multibulk(args));
      want.push(args.map((a) => [...a]));
    } else {
      const args = Array.from({ length: argc }, () => inlineArg(r));
      const sep = () => r.pick([" ", "  ", "\t"]);
      parts.push(bytesOf(args.map((a) => a.text).join(sep()) + (r.chance(0.5) ? "\r\n" : "\n")));
      want.push(args.map((a) => a.arg));
    }
  }
  return { bytes: join(parts), want };
}

const TOKENS = [
  "*",
  "$",
  "\r\n",
  "\n",
  "-1",
  "0",
  "00",
  "-0",
  "4294967296",
  "9007199254740993",
  "99999999999999999999999",
  "*1048577\r\n",
  "*1048576\r\n",
  "$536870913\r\n",
  "$4294967296\r\n",
  '"',
  "'",
  "\\x4",
  "\\",
  " ",
].map(bytesOf);

Deno.test("fuzz RESP parser: multibulk and inline commands parse back to their args, any split", () => {
  fuzz("RESP round trip", 2 * CI_ITERS, (r) => {
    const maxBulk = r.pick([1, 8, 40, 512 * 1024 * 1024]);
    const { bytes, want } = commands(r, maxBulk);
    const got = drive(split(r, bytes), maxBulk, r.chance(0.5) ? r : null);
    assert.deepEqual(got.events, want);
  });
});

Deno.test("fuzz RESP parser: mutated and random streams give the same result for every split", () => {
  fuzz("RESP mutated", 2 * CI_ITERS, (r) => {
    const maxBulk = r.pick([1, 8, 40, 512 * 1024 * 1024]);
    const input = r.chance(0.15)
      ? randomBytes(r, r.int(120))
      : mutate(r, commands(r, maxBulk).bytes, TOKENS);
    const whole = drive([input], maxBulk);
    const parts = drive(split(r, input), maxBulk, r.chance(0.5) ? r : null);
    assert.deepEqual(parts.events, whole.events);
  });
});

Deno.test("RESP parser: a 4 GiB bulk length or argument count is refused at its header", () => {
  for (const head of ["*1\r\n$4294967296\r\n", "*4294967296\r\n", "*1048577\r\n"]) {
    const cmd = new Command();
    const b = bytesOf(head);
    assert.throws(() => parseCommand(b, 0, b.length, cmd, 512 * 1024 * 1024), ProtocolError);
    assert.equal(cmd.offs.length, FRESH.offs.length);
  }
  // The largest count accepted, with none of its args yet: nothing sized for it.
  const cmd = new Command();
  const b = bytesOf("*1048576\r\n$1\r\na\r\n");
  assert.equal(parseCommand(b, 0, b.length, cmd, 512 * 1024 * 1024), 0);
  assert.equal(cmd.offs.length, FRESH.offs.length);
});

Deno.test("RESP parser: an inline line that never ends is refused past MAX_INLINE (plus one read)", () => {
  const read = 16 * 1024;
  const chunks = Array.from({ length: 64 }, () => new Uint8Array(read).fill(0x61)); // 1 MiB
  const got = drive(chunks, 512 * 1024 * 1024);
  assert.deepEqual(got.events, ["error"]);
  assert.ok(got.highWater <= MAX_INLINE + read, `held ${got.highWater}`);
});

Deno.test("RESP parser regression: a large frame in small reads is parsed once, not from its start each read", () => {
  // 100,000 args in 1 KiB reads: each argument must be taken once (it was taken again on every
  // read — 34 million times — pinning the single-threaded server for seconds per frame).
  const args = 100_000;
  const all = join([bytesOf(`*${args}\r\n`), bytesOf("$1\r\na\r\n".repeat(args))]);
  const read = 1024;
  const fb = new FeedBuffer();
  const cmd = new Command();
  let pushes = 0;
  const push = cmd.push.bind(cmd);
  cmd.push = (start, end) => {
    pushes++;
    push(start, end);
  };
  let n = 0;
  for (let at = 0; n === 0 && at < all.length; at += read) {
    fb.push(all.subarray(at, at + read));
    n = parseCommand(fb.buffer, 0, fb.buffer.length, cmd, 1);
  }
  assert.equal(n, all.length);
  assert.equal(cmd.argc, args);
  assert.equal(pushes, args);
  assert.deepEqual([...cmd.view(args - 1)], [0x61]);
});
