/**
 * `deno task redis-cli`: a command line for mini-redis (or any Redis) on
 * the project's client. With a command it runs it and prints the reply as
 * redis-cli does (`"OK"`, `(integer) 1`, `(nil)`, `1) "a"`); `SUBSCRIBE`
 * prints messages until interrupted; without one it reads commands from
 * stdin, one per line (quotes as in redis-cli).
 *
 * Flags: `-h`/`--host` (127.0.0.1), `-p`/`--port` (6379).
 *
 * @example
 * ```sh
 * deno task redis-cli -p 6380 set greeting hello
 * echo 'get greeting' | deno task redis-cli -p 6380
 * ```
 *
 * @module
 */

import { type Arg, Client, RedisError, type RespValue } from "./client.ts";
import { Command, DEFAULT_MAX_BULK, parseCommand, ProtocolError } from "./resp.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();

/**
 * A reply as redis-cli prints it.
 *
 * @param v the reply
 * @param indent the prefix of nested lines
 * @returns the text, without a final newline
 */
export function formatReply(v: RespValue, indent = ""): string {
  if (v === null) return "(nil)";
  if (v instanceof RedisError) return `(error) ${v.message}`;
  if (typeof v === "number") return `(integer) ${v}`;
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return JSON.stringify(dec.decode(v));
  if (v.length === 0) return "(empty array)";
  const w = String(v.length).length;
  return v.map((item, i) => {
    const n = `${String(i + 1).padStart(w)}) `;
    const inner = formatReply(item, indent + " ".repeat(n.length));
    return (i === 0 ? "" : indent) + n + inner;
  }).join("\n");
}

/**
 * Split a line into arguments as redis-cli does (quotes, `\x41` escapes).
 *
 * @param line the line
 * @returns the arguments, or null for unbalanced quotes
 */
export function splitLine(line: string): Uint8Array[] | null {
  const bytes = enc.encode(line + "\n");
  const c = new Command();
  try {
    parseCommand(bytes, 0, bytes.length, c, DEFAULT_MAX_BULK);
  } catch (e) {
    if (e instanceof ProtocolError) return null;
    throw e;
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < c.argc; i++) out.push(c.bytes(i));
  return out;
}

async function runOne(client: Client, args: Arg[]): Promise<void> {
  const name = String(args[0]).toUpperCase();
  if (name === "SUBSCRIBE") {
    const sub = await client.subscribe(...args.slice(1).map(String));
    console.log(`Reading messages... (press Ctrl-C to quit)`);
    for await (const m of sub) console.log(`${m.channel}: ${m.text}`);
    return;
  }
  let reply: RespValue;
  try {
    reply = await client.command(...args);
  } catch (e) {
    if (!(e instanceof RedisError)) throw e;
    reply = e;
  }
  console.log(formatReply(reply));
}

async function main(argv: string[]): Promise<number> {
  let hostname = "127.0.0.1", port = 6379;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--host") hostname = argv[++i];
    else if (a === "-p" || a === "--port") port = Number(argv[++i]);
    else break;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535 || hostname === undefined) {
    console.error("usage: deno task redis-cli [-h host] [-p port] [command args...]");
    return 1;
  }
  let client: Client;
  try {
    client = await Client.connect({ hostname, port });
  } catch (e) {
    console.error(`Could not connect to ${hostname}:${port}: ${(e as Error).message}`);
    return 1;
  }
  try {
    if (i < argv.length) {
      await runOne(client, argv.slice(i));
      return 0;
    }
    let rest = "";
    for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        const args = splitLine(line);
        if (args === null) console.log("Invalid argument(s)");
        else if (args.length > 0) await runOne(client, args);
      }
    }
    const args = splitLine(rest);
    if (args !== null && args.length > 0) await runOne(client, args);
    return 0;
  } finally {
    client.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
