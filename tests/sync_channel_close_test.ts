/**
 * What the channel docs promise a new user: several tasks may `recv()` on
 * one mpsc Receiver (each message goes to exactly one of them), and every
 * sender and receiver of every channel closes with `using` — the peer sees
 * the channel closed once the scope is left, by a normal end or by a
 * cancelled task.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  broadcast,
  ClosedError,
  JoinError,
  mpsc,
  oneshot,
  run,
  sharedChannel,
  sleep,
  spawn,
  watch,
} from "../mod.ts";

Deno.test("mpsc: several tasks recv on one Receiver; each message goes to exactly one", async () => {
  const got = await run(function* () {
    const [tx, rx] = mpsc.channel<number>(4);
    using _rx = rx;
    const seen: number[][] = [[], [], []];
    const consumers = seen.map((mine) =>
      spawn(function* () {
        for (let v = yield* rx.recv(); v !== undefined; v = yield* rx.recv()) {
          mine.push(v);
          yield* sleep(0);
        }
      })
    );
    {
      using sender = tx;
      for (let i = 0; i < 30; i++) yield* sender.send(i);
    } // closed here: every consumer's loop ends
    for (const c of consumers) yield* c;
    return seen;
  });
  const all = got.flat().sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 30 }, (_, i) => i), "each message exactly once");
  assert.ok(got.filter((mine) => mine.length > 0).length >= 2, "shared by several consumers");
});

Deno.test("using closes every sender and receiver of every channel", async () => {
  await run(function* () {
    // mpsc, bounded and unbounded: a receiver's loop ends when the senders' scope ends.
    {
      const [tx, rx] = mpsc.channel<number>(2);
      {
        using t = tx;
        assert.equal(t.trySend(1), true);
      }
      assert.equal(yield* rx.recv(), 1);
      assert.equal(yield* rx.recv(), undefined, "every sender closed by using");
      const [tx2, rx2] = mpsc.channel<number>(2);
      {
        using _r = rx2;
      }
      assert.throws(() => tx2.trySend(1), ClosedError);
    }
    {
      const [tx, rx] = mpsc.unbounded<number>();
      {
        using t = tx;
        t.send(1);
      }
      assert.equal(yield* rx.recv(), 1);
      assert.equal(yield* rx.recv(), undefined, "every sender closed by using");
      const [tx2, rx2] = mpsc.unbounded<number>();
      {
        using _r = rx2;
      }
      assert.throws(() => tx2.send(1), ClosedError);
    }
    // mpsc Permit.
    {
      const [tx, rx] = mpsc.channel<number>(1);
      {
        using _p = tx.tryReserve()!;
      } // released unsent: the slot is back
      assert.equal(tx.trySend(5), true);
      tx.close();
      assert.equal(yield* rx.recv(), 5);
    }
    // oneshot.
    {
      const [tx, rx] = oneshot.channel<number>();
      {
        using _t = tx;
      }
      try {
        yield* rx;
        assert.fail("a oneshot whose sender closed unsent");
      } catch (e) {
        assert.ok(e instanceof ClosedError);
      }
      const [tx2, rx2] = oneshot.channel<number>();
      {
        using _r = rx2;
      }
      assert.equal(tx2.isClosed, true);
    }
    // broadcast.
    {
      const [tx, rx] = broadcast.channel<number>(4);
      {
        using t = tx;
        t.send(1);
      }
      assert.equal(yield* rx.recv(), 1);
      assert.equal(yield* rx.recv(), undefined);
      const [tx2, rx2] = broadcast.channel<number>(4);
      {
        using _r = rx2;
      }
      assert.throws(() => tx2.send(1), ClosedError);
    }
    // watch.
    {
      const [tx, rx] = watch.channel(0);
      {
        using _t = tx;
      }
      try {
        yield* rx.changed();
        assert.fail("changed() after every sender closed");
      } catch (e) {
        assert.ok(e instanceof ClosedError);
      }
    }
    // sharedChannel (across workers; here within one thread).
    {
      const ch = sharedChannel(64);
      {
        using c = ch;
        assert.equal(c.closed, false);
      }
      assert.equal(ch.closed, true);
    }
  });
});

Deno.test("a cancelled task's `using` closes its sender: the receiver's loop ends", async () => {
  await run(function* () {
    const [tx, rx] = mpsc.channel<number>(1);
    const producer = spawn(function* () {
      using sender = tx;
      for (let i = 0;; i++) yield* sender.send(i); // blocks when the channel is full
    });
    assert.equal(yield* rx.recv(), 0);
    producer.abort();
    try {
      yield* producer;
    } catch (e) {
      assert.ok(e instanceof JoinError && e.cancelled);
    }
    let rest = 0;
    while ((yield* rx.recv()) !== undefined) rest++;
    assert.ok(rest <= 2, `drained ${rest}, then end of stream`);
  });
});
