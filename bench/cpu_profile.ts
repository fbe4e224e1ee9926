/**
 * V8's sampling CPU profile of a running Deno process, taken over the
 * inspector while a load runs, and its self time summed by folder: the tool
 * for "where does a request's JavaScript time go" (`deno run` has no
 * `--cpu-prof`). Start the server with `--inspect=127.0.0.1:PORT`, then:
 *
 *   deno run -A bench/cpu_profile.ts --inspect 9229 [--interval-us 200]
 *     [--out profile.cpuprofile] [--per N] -- LOAD COMMAND ...
 *
 * It starts the profiler, runs the load command, stops the profiler, writes
 * the profile (Chrome DevTools opens a `.cpuprofile`) and prints the self
 * time by folder of this checkout (`runtime/`, `net/`, `examples/mini_redis/`
 * …), Deno's own code, the collector, idle, and native calls (a frame with no
 * script: an FFI call such as the reactor's wait, time blocked in it
 * included). With `--per N` (the load's request count) each line also says
 * µs per request. The profile counts wall time on the JS thread, not CPU:
 * compare its lines with each other, not with `/proc` CPU figures. Warm the
 * server up with a load first (the first requests run before V8 optimizes
 * them). For example, mini-redis under 200,000 `GET`/`SET` requests:
 *
 *   DOKIO_BACKEND=io_uring deno run -A --inspect=127.0.0.1:9229 examples/mini_redis/server.ts --port 7000 &
 *   deno run -A bench/cpu_profile.ts --inspect 9229 --per 200000 -- \
 *     redis-benchmark -p 7000 -t get,set -c 50 -r 100000 -n 100000 -q
 *
 * @module
 */

/** One node of a V8 CPU profile (the inspector's `Profiler.ProfileNode`). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

/** A V8 CPU profile (the inspector's `Profiler.Profile`). */
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

const HERE = new URL("../", import.meta.url).href;

/**
 * The line a frame's self time goes to.
 *
 * @param fn the frame's function name
 * @param url the frame's script URL
 * @returns the category
 * @example
 * ```ts ignore
 * // Not run: bench tooling (it reads a profile of another process).
 * category("poll", new URL("../net/_socket.ts", import.meta.url).href); // "net/"
 * ```
 */
export function category(fn: string, url: string): string {
  if (fn === "(idle)") return "idle";
  if (fn === "(garbage collector)") return "garbage collector";
  if (fn === "(program)") return "V8 (program)";
  if (url === "") return fn === "" ? "native calls (FFI waits included)" : `Deno op ${fn}`;
  if (url.startsWith(HERE)) {
    const rel = url.slice(HERE.length);
    const cut = rel.lastIndexOf("/");
    return cut < 0 ? rel : rel.slice(0, cut + 1);
  }
  if (url.startsWith("ext:")) return "Deno's JS (ext:)";
  return url;
}

async function profile(port: number, intervalUs: number, load: string[]): Promise<Profile> {
  const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    const done = waiting.get(m.id);
    if (done !== undefined) {
      waiting.delete(m.id);
      done(m.result);
    }
  };
  const send = (method: string, params: unknown = {}): Promise<unknown> => {
    ws.send(JSON.stringify({ id: ++id, method, params }));
    return new Promise((resolve) => waiting.set(id, resolve));
  };
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: intervalUs });
  await send("Profiler.start");
  const out = await new Deno.Command(load[0], { args: load.slice(1) }).output();
  const r = await send("Profiler.stop") as { profile: Profile };
  ws.close();
  if (!out.success) throw new Error(`the load command failed (exit ${out.code})`);
  const said = new TextDecoder().decode(out.stdout).trim();
  if (said !== "") console.log(`load: ${said}`);
  return r.profile;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const dash = args.indexOf("--");
  if (dash < 0 || dash === args.length - 1) {
    console.error(
      "usage: cpu_profile.ts --inspect PORT [--interval-us 200] [--out F] [--per N] -- LOAD...",
    );
    Deno.exit(2);
  }
  const opts = args.slice(0, dash);
  const opt = (name: string, fallback: string) => {
    const i = opts.indexOf(name);
    return i >= 0 && i + 1 < opts.length ? opts[i + 1] : fallback;
  };
  const port = Number(opt("--inspect", "9229"));
  const p = await profile(port, Number(opt("--interval-us", "200")), args.slice(dash + 1));
  const outFile = opt("--out", "");
  if (outFile !== "") Deno.writeTextFileSync(outFile, JSON.stringify(p));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const s of p.samples) {
    const cf = byId.get(s)!.callFrame;
    const c = category(cf.functionName, cf.url);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const per = Number(opt("--per", "0"));
  const usPerSample = (p.endTime - p.startTime) / p.samples.length;
  console.log(`${p.samples.length} samples over ${((p.endTime - p.startTime) / 1e6).toFixed(2)} s`);
  for (const [c, n] of [...counts].sort((a, b) => b[1] - a[1])) {
    const pct = (100 * n / p.samples.length).toFixed(1).padStart(5);
    const us = per > 0 ? `  ${(n * usPerSample / per).toFixed(3)} µs per request` : "";
    console.log(`${pct}%${us}  ${c}`);
  }
}
