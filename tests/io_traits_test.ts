/**
 * Reader/Writer: every stream type of Dokio is one (checked by the type
 * checker below), and io/ works over a Unix stream too: Framed lines over
 * a UnixStream pair on each backend.
 */

import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import {
  type OwnedReadHalf,
  type OwnedWriteHalf,
  type TcpStream,
  UnixListener,
  UnixStream,
} from "../net/mod.ts";
import {
  type BufReader,
  type BufWriter,
  type DuplexStream,
  Framed,
  LinesCodec,
  type Reader,
  type Stdin,
  type StdWriter,
  type Writer,
} from "../io/mod.ts";
import { NET_BACKENDS } from "./net_helpers.ts";

// Compile-time: each stream type is a Reader and/or a Writer.
type Is<T extends true> = T;
type IsReader<S> = S extends Reader ? true : false;
type IsWriter<S> = S extends Writer ? true : false;
export type Checks = [
  Is<IsReader<TcpStream>>,
  Is<IsWriter<TcpStream>>,
  Is<IsReader<UnixStream>>,
  Is<IsWriter<UnixStream>>,
  Is<IsReader<OwnedReadHalf>>,
  Is<IsWriter<OwnedWriteHalf>>,
  Is<IsReader<DuplexStream>>,
  Is<IsWriter<DuplexStream>>,
  Is<IsReader<Stdin>>,
  Is<IsWriter<StdWriter>>,
  Is<IsReader<BufReader>>,
  Is<IsWriter<BufWriter>>,
];

for (const backend of NET_BACKENDS) {
  Deno.test(`Framed lines over a Unix stream [${backend}]`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const got = await run(function* () {
        using l = yield* UnixListener.bind({ path: `${dir}/s.sock` });
        using c = yield* UnixStream.connect({ path: `${dir}/s.sock` });
        using s = yield* l.accept();
        const out = new Framed(c, new LinesCodec());
        const writer = spawn(function* () {
          for (const line of ["one", "two", "three"]) yield* out.write(line);
          yield* out.shutdown();
        });
        const lines: string[] = [];
        const inp = new Framed(s, new LinesCodec());
        for (let l = yield* inp.read(); l !== null; l = yield* inp.read()) lines.push(l);
        yield* writer;
        return lines;
      }, { backend });
      assert.deepEqual(got, ["one", "two", "three"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
