/**
 * A stand-in for an instrumented daemon's metrics port, for the console's
 * tests: `GET /console` answers `application/x-ndjson`, one snapshot per
 * interval (the sample daemon's, with its ticker's polls counting up), and
 * `sendRaw` pushes arbitrary bytes (bad lines) to every open stream.
 *
 * @module
 */

import type { ConsoleSnapshot } from "../runtime/instrument/snapshot.ts";
import { sampleSnapshot } from "./console_fixture.ts";

/** A running fake daemon. */
export interface FakeDaemon {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Streams served so far. */
  readonly connections: number;
  /** Replaces the snapshot it sends. */
  set(snapshot: ConsoleSnapshot): void;
  /** Writes raw bytes to every open stream. */
  sendRaw(text: string): void;
  /** Stops serving and closes every stream. */
  close(): Promise<void>;
}

/**
 * Starts a fake daemon.
 *
 * @param intervalMs the update interval
 * @param port the port (0: any free one)
 * @returns the daemon
 */
export function startFakeDaemon(intervalMs = 200, port = 0): FakeDaemon {
  let snapshot = sampleSnapshot();
  let connections = 0;
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const enc = new TextEncoder();
  const tick = setInterval(() => {
    const ticker = snapshot.tasks.find((t) => t.name === "ticker");
    if (ticker) ticker.polls++;
    snapshot.uptimeNs += intervalMs * 1e6;
    const line = enc.encode(JSON.stringify(snapshot) + "\n");
    for (const c of streams) c.enqueue(line);
  }, intervalMs);
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => {
    if (new URL(req.url).pathname !== "/console") return new Response("not found", { status: 404 });
    connections++;
    let mine: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        mine = c;
        streams.add(c);
        c.enqueue(enc.encode(JSON.stringify(snapshot) + "\n"));
      },
      cancel() {
        streams.delete(mine);
      },
    });
    return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
  });
  return {
    port: server.addr.port,
    get connections() {
      return connections;
    },
    set(s) {
      snapshot = s;
    },
    sendRaw(text) {
      for (const c of streams) c.enqueue(enc.encode(text));
    },
    async close() {
      clearInterval(tick);
      for (const c of streams) {
        try {
          c.close();
        } catch { /* already cancelled */ }
      }
      streams.clear();
      await server.shutdown();
    },
  };
}

if (import.meta.main) {
  const d = startFakeDaemon(500, Number(Deno.args[0] ?? 6669));
  console.log(`fake daemon on 127.0.0.1:${d.port}/console`);
}
