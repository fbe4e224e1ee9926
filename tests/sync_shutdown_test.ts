// shutdownSignal and a graceful-shutdown daemon run as a child process.
import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { select, shutdownSignal } from "../sync/mod.ts";
import { settle } from "./sync_helpers.ts";

Deno.test("shutdownSignal: completes on the signal and removes its listeners", async () => {
  assert.throws(() => shutdownSignal({ signals: [] }), TypeError);
  const sig = await run(function* () {
    const h = spawn(shutdownSignal({ signals: ["SIGUSR1", "SIGUSR2"] }));
    yield* settle(4); // listeners are installed on the first poll
    Deno.kill(Deno.pid, "SIGUSR2");
    return yield* h;
  });
  assert.equal(sig, "SIGUSR2");
  // the op sanitizer fails this test if a signal listener were left behind
});

Deno.test("shutdownSignal: a cancelled wait removes its listeners", async () => {
  const r = await run(function* () {
    return yield* select({ sig: shutdownSignal(), other: settle(3) });
  });
  assert.equal(r.key, "other");
});

Deno.test("shutdownSignal: a finished or cancelled wait does not keep the process alive", async () => {
  const script = new URL("./fixtures/graceful_signal_exit.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const started = performance.now();
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const out = await child.output();
  clearTimeout(killer);
  const took = performance.now() - started;
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(text.trim(), "done SIGUSR1");
  assert.ok(took < 10_000, `the process lingered ${took} ms`);
});

Deno.test("graceful daemon: SIGTERM drains the work and exits 0 in time", async () => {
  const script = new URL("./fixtures/graceful_daemon.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    while (!out.includes("ready\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    assert.ok(out.includes("ready"), `the daemon did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 200)); // let it do some work
    const sentAt = performance.now();
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const status = await child.status;
    const tookMs = performance.now() - sentAt;
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.code, 0, `exit ${status.code}; stderr: ${stderr}`);
    assert.ok(tookMs < 5_000, `shutdown took ${tookMs} ms`);
    const state = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.equal(state.signal, "SIGTERM");
    assert.ok(state.produced > 0, "it did some work");
    assert.equal(state.consumed, state.produced, "every queued job was drained");
    assert.equal(state.workersDone, 1);
    assert.equal(state.producerDone, true);
  } finally {
    clearTimeout(deadline);
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
  }
});
