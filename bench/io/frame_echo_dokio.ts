/**
 * Length-delimited frame echo server on Dokio, for bench/io_bench.ts: per
 * connection a `Framed(conn, LengthDelimitedCodec)` that writes each frame
 * read back, flushed whenever no further frame bytes are buffered. Prints
 * `listening on 127.0.0.1:PORT`; exits on SIGTERM. The backend comes from
 * DOKIO_BACKEND.
 *
 * usage: deno run -A bench/io/frame_echo_dokio.ts [--port 0]
 *
 * @module
 */

import type { TcpStream } from "../../net/mod.ts";
import { Framed, LengthDelimitedCodec } from "../../io/mod.ts";
import { serveDokio } from "./_serve_dokio.ts";

function* echoFrames(c: TcpStream): Generator<unknown, void, unknown> {
  const f = new Framed(c, new LengthDelimitedCodec(), { readCapacity: 32 * 1024 });
  for (let frame = yield* f.read(); frame !== null; frame = yield* f.read()) {
    yield* f.write(frame);
    if (f.readBuffered === 0) yield* f.flush();
  }
}

if (import.meta.main) await serveDokio(echoFrames);
