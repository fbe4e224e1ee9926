/**
 * A static file server on Dokio: HTTP/1.0 `GET` (and `HEAD`) of the files
 * under a directory, read with fs/ and sent over a `TcpListener`.
 *
 * `deno run -A examples/file_server.ts --dir ./public --port 8000`
 *
 * One task per connection reads the request head (at most 8 KiB, parsed by
 * examples/http_request.ts: 400 when malformed, 431 when too large), maps the
 * path under `--dir` (a `..` segment is refused with 403), and answers:
 * a file with its bytes (streamed in 64 KiB reads from a `File`), a
 * directory with its `index.html` or a plain list of its entries, nothing
 * with 404, another method with 405. Every response closes the connection
 * (HTTP/1.0). SIGINT/SIGTERM stop it with exit code 0.
 *
 * Flags: `--dir` (default: the current directory), `--host` (default
 * 127.0.0.1), `--port` (default 8000; 0 picks one). A bad flag or a `--dir` that is not a
 * directory prints one line and exits 2; a taken port or a missing permission, one line and
 * exit 1 (examples/_daemon.ts).
 *
 * @example
 * ```sh
 * deno run -A examples/file_server.ts --dir . --port 8000 &
 * curl -0 http://127.0.0.1:8000/README.md
 * ```
 *
 * @module
 */

import {
  type File,
  IoError,
  open,
  readDir,
  run,
  shutdownSignal,
  spawn,
  TcpListener,
  type TcpStream,
} from "../mod.ts";
import { HttpError, MAX_HEAD, parseRequestHead, type RequestHead } from "./http_request.ts";
import { daemon, parseFlags, UsageError } from "./_daemon.ts";

const CHUNK = 65536;
const enc = new TextEncoder();

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  css: "text/css",
  js: "text/javascript",
  ts: "text/plain; charset=utf-8",
  json: "application/json",
  png: "image/png",
  jpg: "image/jpeg",
  svg: "image/svg+xml",
};

function contentType(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return TYPES[ext] ?? "application/octet-stream";
}

/** Read the request head (up to its blank line); null if the peer closed before sending one. */
function* readHead(conn: TcpStream): Generator<unknown, RequestHead | null, unknown> {
  const buf = new Uint8Array(MAX_HEAD);
  let len = 0;
  for (;;) {
    const n = yield* conn.read(buf.subarray(len));
    if (n === null) return null;
    len += n;
    // Throws HttpError 431 once the buffer is full without the blank line.
    const head = parseRequestHead(buf, len, MAX_HEAD);
    if (head !== null) return head;
  }
}

function* respond(
  conn: TcpStream,
  status: string,
  type: string,
  body: Uint8Array | null,
  length = body?.byteLength ?? 0,
): Generator<unknown, void, unknown> {
  const head = `HTTP/1.0 ${status}\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n` +
    `Connection: close\r\n\r\n`;
  yield* conn.writeAll(enc.encode(head));
  if (body !== null) yield* conn.writeAll(body);
}

function* error(conn: TcpStream, status: string): Generator<unknown, void, unknown> {
  yield* respond(conn, status, "text/plain; charset=utf-8", enc.encode(`${status}\n`));
}

/** Map a request target to a path under `root`; null when it leaves it. */
function mapPath(root: string, target: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(target.split("?")[0]);
  } catch {
    return null;
  }
  const parts = decoded.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === ".." || p.includes("\0"))) return null;
  return [root, ...parts].join("/");
}

/** Send an open file's bytes in CHUNK reads. */
function* sendFile(conn: TcpStream, f: File, size: number): Generator<unknown, void, unknown> {
  const buf = new Uint8Array(Math.min(CHUNK, Math.max(size, 1)));
  for (;;) {
    const n = yield* f.read(buf);
    if (n === null) return;
    yield* conn.writeAll(buf.subarray(0, n));
  }
}

function* serveDir(
  conn: TcpStream,
  path: string,
  target: string,
  head: boolean,
): Generator<unknown, void, unknown> {
  try {
    using index = yield* open(`${path}/index.html`);
    const { size } = yield* index.stat();
    yield* respond(conn, "200 OK", TYPES.html, null, size);
    if (!head) yield* sendFile(conn, index, size);
    return;
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
  }
  const names = (yield* readDir(path)).map((e) => e.name + (e.isDirectory ? "/" : "")).sort();
  const base = target.endsWith("/") ? target : `${target}/`;
  const body = enc.encode(names.map((n) => `${base}${n}`).join("\n") + "\n");
  yield* respond(conn, "200 OK", TYPES.txt, head ? null : body, body.byteLength);
}

/** One connection: one request, one response. */
function* handle(conn: TcpStream, root: string): Generator<unknown, void, unknown> {
  using c = conn;
  try {
    let req: RequestHead | null;
    try {
      req = yield* readHead(c);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      return yield* error(
        c,
        e.status === 431 ? "431 Request Header Fields Too Large" : "400 Bad Request",
      );
    }
    if (req === null) return yield* error(c, "400 Bad Request");
    const { method, target } = req;
    if (method !== "GET" && method !== "HEAD") return yield* error(c, "405 Method Not Allowed");
    if (!target.startsWith("/")) return yield* error(c, "400 Bad Request");
    const path = mapPath(root, target);
    if (path === null) return yield* error(c, "403 Forbidden");
    let f: File;
    try {
      f = yield* open(path);
    } catch (e) {
      const code = e instanceof IoError ? e.code : "";
      if (code === "ENOENT" || code === "ENOTDIR") return yield* error(c, "404 Not Found");
      if (code === "EACCES") return yield* error(c, "403 Forbidden");
      throw e;
    }
    using file = f;
    const info = yield* file.stat();
    if (info.isDirectory) return yield* serveDir(c, path, target, method === "HEAD");
    yield* respond(c, "200 OK", contentType(path), null, info.size);
    if (method === "GET") yield* sendFile(c, file, info.size);
  } catch (e) {
    if (!(e instanceof IoError)) console.error("file_server:", e);
  }
}

function* main(root: string, host: string, port: number): Generator<unknown, void, unknown> {
  using listener = yield* TcpListener.bind({ hostname: host, port });
  console.log(`serving ${root} on http://${host}:${listener.localAddr.port}/`);
  spawn(function* () {
    yield* shutdownSignal();
    listener.close();
  });
  const incoming = listener.incoming();
  for (let conn; (conn = yield* incoming.accept()) !== null;) spawn(handle(conn, root));
  console.log("file server stopped");
}

const USAGE = "usage: file_server.ts [--dir .] [--host 127.0.0.1] [--port 8000]";

/** `--dir` as a real path; a missing permission is rethrown (its own line in `daemon`). */
function resolveDir(dir: string): string {
  try {
    const root = Deno.realPathSync(dir);
    if (Deno.statSync(root).isDirectory) return root;
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e;
  }
  throw new UsageError(`--dir takes a directory, got ${JSON.stringify(dir)}`);
}

if (import.meta.main) {
  await daemon("file_server", () => {
    const given = parseFlags(Deno.args, { dir: "string", host: "string", port: "port" }, USAGE);
    return { dir: given.dir ?? ".", host: given.host ?? "127.0.0.1", port: given.port ?? 8000 };
  }, (f) => run(main(resolveDir(f.dir), f.host, f.port)));
  Deno.exit(0);
}
