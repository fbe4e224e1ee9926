/**
 * The console's diffing redraw: the first frame clears and draws every row;
 * a later frame of the same size sends only the rows that differ (one cursor
 * move, one line erase and the text each); a new size or `invalidate()`
 * redraws whole; plain mode prints changed frames whole and nothing else.
 */

import assert from "node:assert/strict";
import { CLEAR_SCREEN, ERASE_LINE, moveTo, Screen } from "../console/screen.ts";
import { render } from "../console/render.ts";
import { initialViewState, reduce, withSnapshot } from "../console/view_state.ts";
import { sampleSnapshot } from "./console_fixture.ts";

// deno-lint-ignore no-control-regex
const ROW_MOVE = /\x1b\[(\d+);1H/g;

function rowsWritten(out: string): number[] {
  return [...out.matchAll(ROW_MOVE)].map((m) => Number(m[1]) - 1);
}

Deno.test("console screen: first frame whole, then only changed rows, nothing for an unchanged frame", () => {
  const s = new Screen("ansi");
  const a = ["one", "two", "three", ""];
  const first = s.draw(a, 10, 4);
  assert.ok(first.startsWith(CLEAR_SCREEN));
  assert.deepEqual(rowsWritten(first), [0, 1, 2], "blank rows need no writing after a clear");
  assert.equal(s.draw(a, 10, 4), "");
  const b = ["one", "TWO", "three", "four"];
  const out = s.draw(b, 10, 4);
  assert.equal(out, moveTo(1) + ERASE_LINE + "TWO" + moveTo(3) + ERASE_LINE + "four");
  const c = ["one", "TWO"];
  assert.deepEqual(rowsWritten(s.draw(c, 10, 4)), [2, 3], "rows that went are erased");
});

Deno.test("console screen: a new size or invalidate() redraws everything", () => {
  const s = new Screen("ansi");
  const a = ["a", "b"];
  s.draw(a, 10, 2);
  assert.ok(s.draw(a, 11, 2).startsWith(CLEAR_SCREEN));
  assert.equal(s.draw(a, 11, 2), "");
  s.invalidate();
  const again = s.draw(a, 11, 2);
  assert.ok(again.startsWith(CLEAR_SCREEN));
  assert.deepEqual(rowsWritten(again), [0, 1]);
});

Deno.test("console screen: one update of a real frame sends only the rows that changed", () => {
  const snap = sampleSnapshot();
  const state = withSnapshot(initialViewState(), snap);
  const opts = { width: 80, height: 24, color: true };
  const s = new Screen("ansi");
  s.draw(render(snap, state, opts), 80, 24);
  const next = structuredClone(snap);
  next.tasks.find((t) => t.id === 4)!.polls = 3601; // the ticker ran once more
  const before = render(snap, state, opts);
  const after = render(next, withSnapshot(state, next), opts);
  const changed = after.flatMap((r, i) => r === before[i] ? [] : [i]);
  assert.deepEqual(changed, [7], "only the ticker's row differs");
  const out = s.draw(after, 80, 24);
  assert.deepEqual(rowsWritten(out), [7]);
  assert.ok(out.length < 200, `a one-row update is small (${out.length} bytes)`);
  const moved = withSnapshot(reduce(withSnapshot(state, next), "j"), next);
  assert.deepEqual(
    rowsWritten(s.draw(render(next, moved, opts), 80, 24)),
    [6, 7],
    "moving the cursor redraws two rows",
  );
});

Deno.test("console screen: plain mode prints a changed frame whole, with no escapes of its own", () => {
  const s = new Screen("plain");
  assert.equal(s.draw(["a", "b"], 10, 2), "a\nb\n");
  assert.equal(s.draw(["a", "b"], 10, 2), "");
  assert.equal(s.draw(["a", "c"], 10, 2), "a\nc\n");
});
