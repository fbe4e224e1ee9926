/**
 * The redis bench's `Deno.listen` peer: mini-redis's own parser, command
 * table and key space (examples/mini_redis/resp.ts, commands.ts, db.ts)
 * served by `Deno.listen` and async/await instead of Dokio — the same
 * batching (parse everything buffered, run it, one write) — so the bench
 * compares the runtimes, not the command code. Expiry is lazy only and
 * pub/sub is refused: the bench uses neither.
 *
 * `deno run -A bench/redis_server_deno.ts --port 0` prints
 * `listening on 127.0.0.1:PORT`.
 *
 * @module
 */

import { execute, type Session } from "../examples/mini_redis/commands.ts";
import { Db } from "../examples/mini_redis/db.ts";
import { portFlag } from "./_util.ts";
import {
  Command,
  DEFAULT_MAX_BULK,
  parseCommand,
  ProtocolError,
  Reply,
} from "../examples/mini_redis/resp.ts";

const READ_CAPACITY = 16 * 1024;

/** Pub/sub is not part of this port. */
class PlainSession implements Session {
  closing = false;
  get subscriptions(): number {
    return 0;
  }
  subscribe(_n: string[], _p: boolean, out: Reply): void {
    out.error("ERR pub/sub is not served by the Deno.listen port");
  }
  unsubscribe(_n: string[], _p: boolean, out: Reply): void {
    out.error("ERR pub/sub is not served by the Deno.listen port");
  }
  publish(): number {
    return 0;
  }
  quit(): void {
    this.closing = true;
  }
}

async function writeAll(conn: Deno.TcpConn, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
}

async function serve(conn: Deno.TcpConn, db: Db): Promise<void> {
  conn.setNoDelay(true);
  let buf = new Uint8Array(READ_CAPACITY);
  let start = 0, end = 0;
  const cmd = new Command();
  const out = new Reply();
  const session = new PlainSession();
  const x = { db, session };
  try {
    while (!session.closing) {
      if (start === end) start = end = 0;
      else if (end === buf.length) {
        if (start > 0) {
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
        } else {
          const bigger = new Uint8Array(buf.length * 2);
          bigger.set(buf);
          buf = bigger;
        }
      }
      const n = await conn.read(buf.subarray(end));
      if (n === null) break;
      end += n;
      try {
        while (start < end && !session.closing) {
          const k = parseCommand(buf, start, end, cmd, DEFAULT_MAX_BULK);
          if (k === 0) break;
          start += k;
          if (cmd.argc > 0) execute(cmd, x, out);
        }
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        out.error(`ERR ${e.message}`);
        session.closing = true;
      }
      if (out.len > 0) {
        await writeAll(conn, out.bytes);
        out.clear();
      }
    }
  } catch {
    // reset by the peer
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

if (import.meta.main) {
  const port = portFlag(Deno.args, 6379);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  console.log(`listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  const db = new Db(() => performance.now());
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  for await (const conn of listener) serve(conn, db);
}
