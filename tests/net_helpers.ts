/**
 * Shared helpers of the tests that talk to a server over `Deno.connect`:
 * starting an example daemon as a child process and waiting for its port,
 * and one echo round trip.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Backend } from "../mod.ts";

/**
 * A daemon started by {@linkcode startDaemon}.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * const d: Daemon = await startDaemon(ECHO, "epoll", []);
 * d.child.kill("SIGTERM");
 * assert.equal((await d.done).code, 0);
 * ```
 */
export interface Daemon {
  /** The child process. */
  child: Deno.ChildProcess;
  /** The port it printed. */
  port: number;
  /** Every line it printed so far, stdout and stderr. */
  out: string[];
  /** Its exit status. */
  done: Promise<Deno.CommandStatus>;
  /** Settles once both of its output streams ended. */
  lines: Promise<void>;
}

/**
 * Options of {@linkcode startDaemon}.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * const d = await startDaemon(ECHO, "epoll", [], { prefix: ["prlimit", "--nofile=64:64"] });
 * ```
 */
export interface DaemonOptions {
  /** A command to run the daemon under, e.g. `["prlimit", "--nofile=64:64"]`. */
  prefix?: string[];
  /** The line that gives the port (group 1); default `listening on …:PORT`. */
  listening?: RegExp;
}

/**
 * Run `script --port 0 ...args` on `backend` (DOKIO_BACKEND) and resolve
 * once it printed its port. A daemon that exits first, or says nothing for
 * 30 s (then it is killed), rejects with everything it printed.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * const d = await startDaemon(ECHO, "io_uring", ["--drain-ms", "500"]);
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: d.port });
 * ```
 */
export async function startDaemon(
  script: string,
  backend: string,
  args: string[],
  options: DaemonOptions = {},
): Promise<Daemon> {
  const listening = options.listening ?? /listening on .*:(\d+)$/;
  const cmd = [...(options.prefix ?? []), Deno.execPath(), "run", "-A", script, "--port", "0"];
  const child = new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), ...args],
    env: { DOKIO_BACKEND: backend },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  let resolvePort!: (p: number) => void;
  const portP = new Promise<number>((r) => (resolvePort = r));
  const pump = async (s: ReadableStream<Uint8Array>) => {
    let acc = "";
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      acc += chunk;
      let i;
      while ((i = acc.indexOf("\n")) >= 0) {
        const line = acc.slice(0, i);
        acc = acc.slice(i + 1);
        out.push(line);
        const m = listening.exec(line);
        if (m) resolvePort(Number(m[1]));
      }
    }
  };
  const lines = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => {});
  const done = child.status;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const port = await Promise.race([
    portP,
    done.then((s) => {
      throw new Error(`daemon exited (${s.code}) before listening:\n${out.join("\n")}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`daemon did not listen within 30 s:\n${out.join("\n")}`));
      }, 30_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { child, port, out, done, lines };
}

/**
 * Write `text` to `conn` and read the same number of bytes back; they must
 * be `text` (an echo server's round trip).
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * await echoOnce(conn, "hello\n");
 * ```
 */
export async function echoOnce(conn: Deno.Conn, text: string): Promise<void> {
  const msg = new TextEncoder().encode(text);
  let off = 0;
  while (off < msg.length) off += await conn.write(msg.subarray(off));
  const buf = new Uint8Array(msg.length);
  let got = 0;
  while (got < msg.length) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) throw new Error("EOF from the echo server");
    got += n;
  }
  assert.equal(new TextDecoder().decode(buf), text);
}

/**
 * The backends every net suite runs on: io_uring, epoll and the portable Deno-socket backend.
 * `DOKIO_TEST_BACKENDS=deno,epoll` narrows a run to some of them.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * for (const b of NET_BACKENDS) Deno.test(`echo [${b}]`, () => echoOn(b));
 * ```
 */
export const NET_BACKENDS: readonly Backend[] = (["epoll", "io_uring", "deno"] as const).filter(
  (b) => {
    const only = Deno.env.get("DOKIO_TEST_BACKENDS");
    return only === undefined || only.split(",").includes(b);
  },
);
