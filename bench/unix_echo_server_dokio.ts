/**
 * The Dokio side of the Unix echo bench: a `UnixListener` at `--path`, one task per connection
 * echoing what it reads (16 KiB buffer, as examples/echo.ts does for TCP). Prints
 * `listening on unix:PATH:0` for the harness; exits on SIGTERM. The backend comes from
 * DOKIO_BACKEND.
 *
 * @module
 */

import { run, spawn, UnixListener, type UnixStream } from "../mod.ts";
import { parseFlags, parseOrExit, required } from "../examples/_flags.ts";

function* echo(conn: UnixStream): Generator<unknown, void, unknown> {
  const buf = new Uint8Array(16384);
  try {
    for (;;) {
      const n = yield* conn.read(buf);
      if (n === null) return;
      yield* conn.writeAll(buf.subarray(0, n));
    }
  } catch {
    // peer reset
  } finally {
    conn.close();
  }
}

if (import.meta.main) {
  const usage = "usage: unix_echo_server_dokio.ts --path PATH";
  const path = parseOrExit(
    "unix_echo_server_dokio",
    () => required(parseFlags(Deno.args, { path: "string" }, usage).path, "--path"),
  );
  Deno.addSignalListener("SIGTERM", () => {
    try {
      Deno.removeSync(path);
    } catch { /* gone */ }
    Deno.exit(0);
  });
  await run(function* () {
    const listener = yield* UnixListener.bind({ path });
    console.log(`listening on unix:${path}:0`);
    for (;;) spawn(echo(yield* listener.accept()));
  });
}
