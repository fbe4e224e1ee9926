/**
 * Line echo server on Dokio, for bench/io_bench.ts: per connection a
 * `BufReader.readLine()` loop writing each line back through a
 * `BufWriter` (`writeString`, then the `\n`), flushed whenever no further
 * line is already buffered. Prints `listening on 127.0.0.1:PORT`; exits on
 * SIGTERM. The backend comes from DOKIO_BACKEND.
 *
 * usage: deno run -A bench/io/line_echo_dokio.ts [--port 0]
 *
 * @module
 */

import type { TcpStream } from "../../net/mod.ts";
import { BufReader, BufWriter } from "../../io/mod.ts";
import { serveDokio } from "./_serve_dokio.ts";

const NL = new TextEncoder().encode("\n");

function* echoLines(c: TcpStream): Generator<unknown, void, unknown> {
  const r = new BufReader(c);
  const w = new BufWriter(c);
  for (let line = yield* r.readLine(); line !== null; line = yield* r.readLine()) {
    yield* w.writeString(line);
    yield* w.writeAll(NL);
    if (r.buffered === 0) yield* w.flush();
  }
}

if (import.meta.main) await serveDokio(echoLines);
