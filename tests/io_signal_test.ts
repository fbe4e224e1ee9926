/**
 * signal(): several SIGHUPs sent to the test process each arrive through
 * recv(); a cancelled recv takes none; close ends the stream; an unknown
 * or forbidden name is a TypeError.
 */

import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { sleep } from "../time/mod.ts";
import { signal } from "../io/mod.ts";

Deno.test("signal: several SIGHUPs, each received", async () => {
  const got = await run(function* () {
    using hup = signal("SIGHUP");
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const waiter = spawn(hup.recv());
      yield* sleep(5);
      Deno.kill(Deno.pid, "SIGHUP");
      const s = yield* waiter;
      if (s !== null) seen.push(s);
    }
    return seen;
  });
  assert.deepEqual(got, ["SIGHUP", "SIGHUP", "SIGHUP", "SIGHUP", "SIGHUP"]);
});

Deno.test("signal: arrivals before recv are kept; a cancelled recv takes none", async () => {
  await run(function* () {
    using usr1 = signal("SIGUSR1");
    Deno.kill(Deno.pid, "SIGUSR1");
    yield* sleep(20); // delivered while nobody waits
    assert.equal(yield* usr1.recv(), "SIGUSR1");
    const w = spawn(usr1.recv());
    yield* sleep(5);
    w.abort();
    try {
      yield* w;
    } catch { /* cancelled */ }
    Deno.kill(Deno.pid, "SIGUSR1");
    assert.equal(yield* usr1.recv(), "SIGUSR1");
    const pending = spawn(usr1.recv());
    yield* sleep(5);
    usr1.close();
    assert.equal(yield* pending, null);
  });
});

Deno.test("signal: unknown and forbidden names are TypeErrors", () => {
  assert.throws(() => signal("SIGNOPE" as Deno.Signal), TypeError);
  assert.throws(() => signal("SIGKILL"), TypeError);
  assert.throws(() => signal(1 as unknown as Deno.Signal), TypeError);
});
