/**
 * A line chat on Dokio: every line a client sends is broadcast to every
 * connected client. Run `deno run -A examples/chat.ts --port 7001`, then
 * connect a few terminals with `nc 127.0.0.1 7001`.
 *
 * Built from one accept loop, two tasks per client (a reader publishing
 * lines on a broadcast channel — a `Framed` read half with a `LinesCodec`,
 * which drops over-long lines — and a writer forwarding the channel to its
 * socket, on the stream's split halves) and a broadcast channel. A client
 * too slow to keep up skips what it missed (it is told how much). SIGINT or
 * SIGTERM stops the server.
 *
 * @example
 * ```sh
 * deno run -A examples/chat.ts --port 7001
 * ```
 *
 * @module
 */

import {
  broadcast,
  type BroadcastReceiver,
  type BroadcastSender,
  Framed,
  LaggedError,
  LinesCodec,
  MaxLengthError,
  type OwnedReadHalf,
  type OwnedWriteHalf,
  run,
  shutdownSignal,
  spawn,
  TcpListener,
  type TcpStream,
} from "../mod.ts";
import { daemon, parseFlags } from "./_daemon.ts";

const enc = new TextEncoder();
const MAX_LINE = 4096;

/** Read lines from one client and publish them as `name: line`. */
function* reader(
  rd: OwnedReadHalf,
  name: string,
  tx: BroadcastSender<string>,
): Generator<unknown, void, unknown> {
  const lines = new Framed(rd, new LinesCodec({ maxLength: MAX_LINE }));
  try {
    for (;;) {
      let line: string | null;
      try {
        line = yield* lines.read();
      } catch (e) {
        if (!(e instanceof MaxLengthError)) throw e;
        continue; // an over-long line is dropped; the next one is read
      }
      if (line === null) return;
      if (line.length > 0) tx.send(`${name}: ${line}\n`);
    }
  } catch {
    // reset by the peer
  } finally {
    rd.close();
  }
}

/** Forward every published line to one client. */
function* writer(
  wr: OwnedWriteHalf,
  rx: BroadcastReceiver<string>,
): Generator<unknown, void, unknown> {
  try {
    for (;;) {
      let msg: string | undefined;
      try {
        msg = yield* rx.recv();
      } catch (e) {
        if (!(e instanceof LaggedError)) throw e;
        msg = `(you missed ${e.message})\n`;
      }
      if (msg === undefined) return;
      yield* wr.writeAll(enc.encode(msg));
    }
  } catch {
    // the client went away
  } finally {
    rx.close();
    wr.close();
  }
}

/** One client: a writer subscribed before the join notice, then the reader. */
function* client(conn: TcpStream, tx: BroadcastSender<string>): Generator<unknown, void, unknown> {
  const { hostname, port } = conn.peerAddr;
  const name = `${hostname}:${port}`;
  const [rd, wr] = conn.split();
  const w = spawn(writer(wr, tx.subscribe()));
  try {
    tx.send(`* ${name} joined\n`);
    yield* reader(rd, name, tx); // its finally closes the read half, also on abort
    tx.send(`* ${name} left\n`);
  } finally {
    w.abort(); // its finally closes the write half, also when this task is cancelled
  }
}

function* main(port: number): Generator<unknown, void, unknown> {
  using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port });
  const [tx, rx0] = broadcast.channel<string>(256);
  using _tx = tx; // closed on every path out of main
  rx0.close();
  console.log(
    `dokio chat on 127.0.0.1:${listener.localAddr.port} — try: nc 127.0.0.1 ${listener.localAddr.port}`,
  );
  spawn(function* () {
    yield* shutdownSignal();
    listener.close();
  });
  const incoming = listener.incoming();
  for (;;) {
    const conn = yield* incoming.accept();
    if (conn === null) break;
    spawn(client(conn, tx));
  }
  console.log("chat stopped");
}

if (import.meta.main) {
  // A bad flag: one line and exit 2; a taken port, a missing permission: one line and exit 1.
  await daemon("chat", () => {
    const given = parseFlags(Deno.args, { port: "port" }, "usage: chat.ts [--port 7001]");
    return { host: "127.0.0.1", port: given.port ?? 7001 };
  }, (flags) => run(main(flags.port)));
}
