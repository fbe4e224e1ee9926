/**
 * The console's screen as a pure function of hand-made snapshots, asserted
 * on its text: 80×24 fits, cells are cut (never wrapped), each sort order,
 * the detail view's histogram and percentiles, the other views, missing
 * fields, and colour on/off (off: not one escape byte).
 */

import assert from "node:assert/strict";
import { render, type RenderOptions } from "../console/render.ts";
import { initialViewState, reduce, type ViewState, withSnapshot } from "../console/view_state.ts";
import { textWidth } from "../console/format.ts";
import { percentile } from "../console/histogram.ts";
import { decodeSnapshot } from "../console/decode.ts";
import type { ConsoleSnapshot } from "../runtime/instrument/snapshot.ts";
import { histogram, sampleSnapshot, task } from "./console_fixture.ts";

const PLAIN: RenderOptions = {
  width: 80,
  height: 24,
  color: false,
  status: { addr: "127.0.0.1:6669", state: "connected" },
};

// deno-lint-ignore no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

function stateAfter(snap: ConsoleSnapshot, ...keys: string[]): ViewState {
  let s = withSnapshot(initialViewState(), snap);
  for (const k of keys) s = withSnapshot(reduce(s, k), snap);
  return s;
}

/** The task ids of the list's rows, top to bottom. */
function listedIds(lines: string[]): number[] {
  return lines.flatMap((l) => {
    const m = /^[> ] *(\d+) /.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

function assertFits(lines: string[], o: { width: number; height: number }): void {
  assert.equal(lines.length, o.height, "one string per screen row");
  for (const l of lines) {
    assert.ok(!l.includes("\n"), `no row wraps: ${JSON.stringify(l)}`);
    const w = textWidth(l.replace(SGR, ""));
    assert.ok(
      w <= o.width,
      `row of ${w} columns on a ${o.width}-column screen: ${JSON.stringify(l)}`,
    );
  }
}

Deno.test("console render: the task list fits 80x24 and shows header, columns and every task", () => {
  const snap = sampleSnapshot();
  const lines = render(snap, stateAfter(snap), PLAIN);
  assertFits(lines, PLAIN);
  const screen = lines.join("\n");
  assert.match(
    lines[0],
    /dokio console connected 127\.0\.0\.1:6669 +pid 4242 +up 1h02m +workers 2/,
  );
  assert.match(lines[1], /tasks 5: idle 3 sched 1 run 1 done 0 cancl 0 +warnings 2/);
  assert.match(lines[2], /w0 q 2\+1 io 4 tm 1 +w1 q 0\+1 io 2 tm 1/);
  assert.match(lines[3], /io in flight: accept 1 +recv 3 +send 2/);
  assert.match(lines[4], /<\[t\]asks 5>.*\[r\]esources 2.*\[w\]arnings 2.*sort busy desc/);
  for (
    const h of [
      "ID",
      "NAME",
      "STATE",
      "W",
      "POLLS",
      "BUSY",
      "SCHED",
      "IDLE",
      "LAST",
      "WAITING",
      "SITE",
    ]
  ) {
    assert.match(lines[5], new RegExp(`\\b${h}\\b`), `heading ${h}`);
  }
  assert.match(screen, /ticker +sched +0 +3600 +40\.0ms +5\.00us +1\.00s +200ms +sleep/);
  assert.match(screen, /accept loop +idle/);
  assert.match(lines[23], /q quit/);
  assert.ok(lines[6].startsWith(">"), "the first row is selected");
});

Deno.test("console render: sort orders by busy, polls, idle, name and id, both directions", () => {
  const snap = sampleSnapshot();
  const ids = (...keys: string[]) => listedIds(render(snap, stateAfter(snap, ...keys), PLAIN));
  assert.deepEqual(ids(), [5, 4, 2, 1, 3], "busy, largest first");
  assert.deepEqual(ids("S"), [3, 1, 2, 4, 5], "busy, smallest first");
  assert.deepEqual(ids("s"), [4, 2, 1, 3, 5], "polls, most first");
  assert.deepEqual(ids("s", "s"), [1, 3, 2, 4, 5], "idle, longest first");
  assert.deepEqual(ids("s", "s", "s"), [1, 2, 3, 4, 5], "name a→z, unnamed last");
  assert.deepEqual(ids("s", "s", "s", "S"), [4, 3, 2, 1, 5], "name z→a, unnamed still last");
  assert.deepEqual(ids("s", "s", "s", "s"), [1, 2, 3, 4, 5], "id ascending");
  assert.deepEqual(ids("s", "s", "s", "s", "S"), [5, 4, 3, 2, 1], "id descending");
  assert.deepEqual(ids("s", "s", "s", "s", "s"), [5, 4, 2, 1, 3], "back to busy");
  assert.match(render(snap, stateAfter(snap, "s"), PLAIN)[4], /sort polls desc/);
});

Deno.test("console render: long names and sites are cut to their columns, rows to the width", () => {
  const snap = sampleSnapshot();
  snap.tasks.push(task(6, {
    name: "n".repeat(200),
    spawnSite: "/very/long/path/".repeat(10) + "handler.ts:77:9",
    waitingOn: "a-very-long-leaf-kind",
  }));
  for (const width of [80, 60, 40, 20, 132]) {
    const o = { ...PLAIN, width };
    const lines = render(snap, stateAfter(snap, "s", "s", "s", "s", "S"), o);
    assertFits(lines, o);
    if (width >= 80) {
      const row = lines.find((l) => / 6 n/.test(l))!;
      assert.match(row, /n~ /, "the name is cut with ~");
      assert.match(row, /~.*:77:9$/, "the site keeps its end");
      assert.match(row, /a-very-l~/, "waiting-on cut to its 9 columns");
    }
  }
});

Deno.test("console render: no screen size, view or stream state breaks the bounds", () => {
  const snap = sampleSnapshot();
  const states = [
    stateAfter(snap),
    stateAfter(snap, "enter"),
    stateAfter(snap, "r"),
    stateAfter(snap, "w"),
    stateAfter(snap, "w", "enter"),
  ];
  for (const s of states) {
    for (const width of [0, 1, 5, 19, 40, 79, 80, 81, 200]) {
      for (const height of [0, 1, 2, 6, 7, 12, 24, 50]) {
        for (const color of [false, true]) {
          const o = { width, height, color };
          assertFits(render(snap, s, o), o);
          assertFits(render(null, s, o), o);
        }
      }
    }
  }
});

Deno.test("console render: the detail view lists the task's fields and draws its poll-time histogram", () => {
  const snap = sampleSnapshot();
  // busy order: 5, 4, 2 — the third row is task 2.
  const lines = render(snap, stateAfter(snap, "j", "j", "enter"), PLAIN);
  assertFits(lines, PLAIN);
  const screen = lines.join("\n");
  assert.match(screen, /task 2 conn 127\.0\.0\.1:50001/);
  assert.match(screen, /state +idle +worker +0/);
  assert.match(screen, /polls +1500 +waiting on +recv/);
  assert.match(screen, /wakes +10 +self-wakes +0/);
  assert.match(screen, /busy +9\.00ms +scheduled +5\.00us/);
  assert.match(screen, /idle +20\.0s +since poll +200ms/);
  assert.match(screen, /age +2\.00s/);
  assert.match(screen, /spawn site +examples\/echo\.ts:120:7/);
  // Buckets 4, 3, 2, 1 samples at ≤1us, ≤2us, ≤4us, ≤8us; the largest sample 7us.
  assert.match(screen, /poll times +n 10 +p50 2\.00us +p90 4\.00us +p99 7\.00us +max 7\.00us/);
  const bars = lines.filter((l) => /^ *<=.* \|#* *\| /.test(l));
  assert.equal(bars.length, 4, "one bar per bucket from the first sample to the last");
  const widths = bars.map((b) => b.split("|")[1].replace(/ +$/, "").length);
  assert.deepEqual(widths.map((w) => w > 0), [true, true, true, true]);
  assert.ok(widths[0] > widths[1] && widths[1] > widths[2] && widths[2] > widths[3], "bars scale");
  assert.match(bars[0], /^<=1\.00us \|#+ *\| 4/);
  assert.match(bars[3], /^<=8\.00us \|#+ *\| 1/);
});

Deno.test("console render: a histogram with an overflow sample merges buckets to fit and labels the overflow", () => {
  const snap = sampleSnapshot();
  const lines = render(snap, stateAfter(snap, "enter"), PLAIN); // task 5, the busiest
  assert.match(lines.join("\n"), /task 5 +\(Esc back\)/);
  assert.match(lines.join("\n"), /p50 65\.5ms +p90 2\.00s +p99 2\.00s +max 2\.00s/);
  const bars = lines.filter((l) => /\|#* *\|/.test(l));
  assert.ok(
    bars.length >= 2 && bars.length <= 24 - 6 - 9,
    `bars fit below the fields: ${bars.length}`,
  );
  assert.match(bars[bars.length - 1], /^ *>1\.05s \|#+ *\| 1/, "the overflow bucket");
  const small = render(snap, stateAfter(snap, "enter"), { ...PLAIN, height: 16 });
  const merged = small.filter((l) => /\|#* *\|/.test(l));
  assert.ok(merged.length >= 1 && merged.length <= 2, "merged to the rows left");
  assert.equal(
    merged.reduce((n, l) => n + Number(l.split("| ")[1]), 0),
    2,
    "no sample lost in merging",
  );
});

Deno.test("console render: percentiles are bucket bounds, capped by the largest sample", () => {
  const h = histogram([4, 3, 2, 1], 7_000);
  assert.equal(percentile(h, 0.5), 2_000);
  assert.equal(percentile(h, 0.9), 4_000);
  assert.equal(percentile(h, 0.99), 7_000);
  assert.ok(Number.isNaN(percentile(histogram([], 0), 0.5)));
  const over = histogram([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9], 5e9);
  assert.equal(percentile(over, 0.05), 2_000);
  assert.equal(percentile(over, 0.5), 5e9, "the overflow bucket answers the max");
});

Deno.test("console render: a task gone from the snapshot, empty lists and an empty poll histogram say so", () => {
  const snap = sampleSnapshot();
  const s = stateAfter(snap, "enter");
  const gone = { ...snap, tasks: snap.tasks.filter((t) => t.id !== 5) };
  assert.match(render(gone, s, PLAIN).join("\n"), /task 5 is gone/);
  const empty = { ...snap, tasks: [], resources: [], warnings: [] };
  assert.match(render(empty, stateAfter(empty), PLAIN)[5], /^no tasks/);
  assert.match(render(empty, stateAfter(empty, "r"), PLAIN)[5], /^no resources reported/);
  assert.match(render(empty, stateAfter(empty, "w"), PLAIN)[5], /^no warnings/);
  const fresh = { ...snap, tasks: [task(9, { pollTimes: histogram([], 0), polls: 0 })] };
  const lines = render(fresh, stateAfter(fresh, "enter"), PLAIN);
  assert.match(lines.join("\n"), /poll times: no polls yet/);
});

Deno.test("console render: resources list most waiters first; warnings newest first", () => {
  const snap = sampleSnapshot();
  const res = render(snap, stateAfter(snap, "r"), PLAIN);
  assertFits(res, PLAIN);
  assert.match(res[4], /<\[r\]esources 2>/);
  for (const h of ["ID", "KIND", "NAME", "WAIT", "DETAIL", "SITE"]) {
    assert.match(res[5], new RegExp(`\\b${h}\\b`));
  }
  assert.match(res[6], /^> +2 semaphore +limit +3 0\/64 permits +~?[a-z/]*echo\.ts:31:15 *$/);
  assert.match(res[7], /^ +1 mutex +table +0 unlocked/);
  const warn = render(snap, stateAfter(snap, "w"), PLAIN);
  assertFits(warn, PLAIN);
  assert.match(warn[6], /^> +23\.0s self-wake-loop +4 ticker +woke itself 100 polls in a row/);
  assert.match(warn[7], /^ +12m03s long-poll +5 +a poll took 2\.00s/);
});

Deno.test("console render: before the first snapshot, and when disconnected, it says so", () => {
  const waiting = render(null, initialViewState(), {
    ...PLAIN,
    status: { addr: "10.0.0.1:6669", state: "connecting" },
  });
  assertFits(waiting, PLAIN);
  assert.match(waiting[0], /connecting 10\.0\.0\.1:6669/);
  assert.match(waiting[23], /waiting for 10\.0\.0\.1:6669/);
  const snap = sampleSnapshot();
  const gone = render(snap, stateAfter(snap), {
    ...PLAIN,
    status: {
      addr: "127.0.0.1:6669",
      state: "disconnected",
      message: "connection refused; retry in 2.0s",
    },
  });
  assert.match(gone[0], /disconnected 127\.0\.0\.1:6669/);
  assert.match(gone[23], /^error: connection refused; retry in 2\.0s/);
  assert.match(gone.join("\n"), /ticker/, "the last snapshot stays on screen");
});

Deno.test("console render: without colour not one escape byte, even from hostile names; with colour only SGR", () => {
  const snap = sampleSnapshot();
  snap.tasks.push(task(7, { name: "evil\x1b[2J\x1b]0;pwned\x07\u009b" }));
  const decoded = decodeSnapshot(JSON.stringify(snap));
  assert.ok(decoded.ok);
  for (const keys of [[], ["enter"], ["r"], ["w"]]) {
    const s = stateAfter(decoded.snapshot, ...keys);
    const plain = render(decoded.snapshot, s, PLAIN).join("\n");
    assert.ok(!plain.includes("\x1b"), "no ESC without colour");
    assert.ok(
      // deno-lint-ignore no-control-regex
      !/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(plain),
      "no control character at all",
    );
    const colored = render(decoded.snapshot, s, { ...PLAIN, color: true });
    assert.ok(colored.join("").includes("\x1b["), "colour mode colours");
    assert.ok(!colored.join("").replace(SGR, "").includes("\x1b"), "only SGR escapes");
    assertFits(colored, PLAIN);
  }
  const wide = render(decoded.snapshot, stateAfter(decoded.snapshot), { ...PLAIN, width: 132 });
  assert.match(wide.join("\n"), /evil\?\[2J\?\]0;pwned\?\? /);
});

Deno.test("console render: the selected row stays in view in a long list", () => {
  const snap = sampleSnapshot();
  snap.tasks = Array.from({ length: 300 }, (_, i) => task(i + 1, { name: `t${i + 1}` }));
  const s = stateAfter(
    snap,
    "s",
    "s",
    "s",
    "s",
    "pagedown",
    "pagedown",
    "pagedown",
    "pagedown",
    "j",
  );
  const lines = render(snap, s, PLAIN);
  assertFits(lines, PLAIN);
  const selected = lines.find((l) => l.startsWith(">"));
  assert.match(selected ?? "", /^> +42 t42 /);
  const end = render(snap, stateAfter(snap, "s", "s", "s", "s", "G"), PLAIN);
  assert.deepEqual(listedIds(end).slice(-2), [299, 300], "the last page ends at the last task");
});

Deno.test("console render: fields an older or newer daemon leaves out are drawn as - or 'not reported'", () => {
  const line = JSON.stringify({
    version: 1,
    pid: 7,
    uptimeNs: 5e9,
    workers: [{ worker: 0, localQueueDepth: 1 }],
    tasks: [{ id: 3, name: "lean", state: "idle" }],
  });
  const d = decodeSnapshot(line);
  assert.ok(d.ok);
  assert.ok(d.missing.includes("tasks[].polls") && d.missing.includes("snapshot.resources"));
  const lines = render(d.snapshot, stateAfter(d.snapshot), PLAIN);
  assertFits(lines, PLAIN);
  assert.match(lines.join("\n"), /> 3 lean idle +- +- +- +- +- +- *$/m);
  assert.match(lines[2], /w0 q 1\+- io 0 tm -/);
  const detail = render(d.snapshot, stateAfter(d.snapshot, "enter"), PLAIN).join("\n");
  assert.match(detail, /poll times: not reported/);
  assert.match(detail, /polls +- +waiting on +-/);
});
