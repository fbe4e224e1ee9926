/**
 * The console's input: raw terminal bytes → key names, and the pure reducer
 * `(viewState, key) → viewState` (movement, views, details, sort, quit), with
 * the selection following its task across re-sorts and updates.
 */

import assert from "node:assert/strict";
import { decodeKeys } from "../console/keys.ts";
import {
  initialViewState,
  PAGE_ROWS,
  reduce,
  type ViewState,
  withSnapshot,
} from "../console/view_state.ts";
import type { ConsoleSnapshot } from "../runtime/instrument/snapshot.ts";
import { sampleSnapshot, task } from "./console_fixture.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

function after(snap: ConsoleSnapshot, ...keys: string[]): ViewState {
  let s = withSnapshot(initialViewState(), snap);
  for (const k of keys) s = withSnapshot(reduce(s, k), snap);
  return s;
}

Deno.test("console keys: escape sequences, control bytes and characters", () => {
  assert.deepEqual(decodeKeys(bytes("\x1b[A\x1b[B\x1bOA\x1bOB")), ["up", "down", "up", "down"]);
  assert.deepEqual(decodeKeys(bytes("\x1b[5~\x1b[6~\x1b[H\x1b[F\x1b[1~\x1b[4~")), [
    "pageup",
    "pagedown",
    "home",
    "end",
    "home",
    "end",
  ]);
  assert.deepEqual(decodeKeys(bytes("\r\n\x7f\x08\t\x1b[Z\x03\x0c")), [
    "enter",
    "enter",
    "backspace",
    "backspace",
    "tab",
    "shift-tab",
    "ctrl-c",
    "ctrl-l",
  ]);
  assert.deepEqual(decodeKeys(bytes("\x1b")), ["escape"]);
  assert.deepEqual(decodeKeys(bytes("\x1bq")), ["escape", "q"]);
  assert.deepEqual(decodeKeys(bytes("jkSsé")), ["j", "k", "S", "s", "é"]);
  assert.deepEqual(
    decodeKeys(bytes("\x1b[1;5Cj\x1b[200~x")),
    ["j", "x"],
    "unknown sequences are skipped whole",
  );
  assert.deepEqual(decodeKeys(bytes("\x1b[")), [], "a cut sequence is dropped");
  assert.deepEqual(decodeKeys(bytes("\x01\x02")), [], "other control bytes mean nothing");
});

Deno.test("console reducer: j/k and arrows move within the list, clamped; pages and ends jump", () => {
  const snap = sampleSnapshot(); // busy order: 5, 4, 2, 1, 3
  assert.equal(after(snap).cursors.tasks.key, 5);
  assert.equal(after(snap, "j").cursors.tasks.key, 4);
  assert.equal(after(snap, "down", "down").cursors.tasks.key, 2);
  assert.equal(after(snap, "j", "k").cursors.tasks.key, 5);
  assert.equal(after(snap, "up", "k").cursors.tasks.key, 5, "clamped at the top");
  assert.equal(
    after(snap, "j", "j", "j", "j", "j", "j", "j").cursors.tasks.key,
    3,
    "clamped at the bottom",
  );
  assert.equal(after(snap, "G").cursors.tasks.key, 3);
  assert.equal(after(snap, "end", "home").cursors.tasks.key, 5);
  assert.equal(after(snap, "G", "g").cursors.tasks.key, 5);
  const many = { ...snap, tasks: Array.from({ length: 50 }, (_, i) => task(i + 1, { busyNs: i })) };
  assert.equal(after(many, "pagedown").cursors.tasks.index, PAGE_ROWS);
  assert.equal(after(many, "pagedown", "pagedown", "pageup").cursors.tasks.index, PAGE_ROWS);
});

Deno.test("console reducer: Tab, Shift-Tab and t/r/w switch views; each list keeps its cursor", () => {
  const snap = sampleSnapshot();
  assert.equal(after(snap, "tab").view, "resources");
  assert.equal(after(snap, "tab", "tab").view, "warnings");
  assert.equal(after(snap, "tab", "tab", "tab").view, "tasks");
  assert.equal(after(snap, "shift-tab").view, "warnings");
  assert.equal(after(snap, "r").view, "resources");
  assert.equal(after(snap, "w").view, "warnings");
  assert.equal(after(snap, "w", "t").view, "tasks");
  const s = after(snap, "j", "r", "j", "t");
  assert.equal(s.cursors.tasks.key, 4);
  assert.equal(s.cursors.resources.key, 1);
});

Deno.test("console reducer: Enter opens a task's details from the list or a warning; Esc/Backspace go back", () => {
  const snap = sampleSnapshot();
  const d = after(snap, "j", "enter");
  assert.equal(d.view, "detail");
  assert.equal(d.detailTaskId, 4);
  assert.equal(reduce(d, "escape").view, "tasks");
  assert.equal(reduce(d, "backspace").view, "tasks");
  assert.equal(reduce(d, "j"), d, "no movement inside the details");
  const w = after(snap, "w", "j", "enter"); // newest first: ticker (4), then the long poll (5)
  assert.equal(w.view, "detail");
  assert.equal(w.detailTaskId, 5);
  assert.equal(reduce(w, "escape").view, "warnings");
  assert.equal(after(snap, "r", "enter").view, "resources", "a resource has no task to open");
  const empty = { ...snap, tasks: [] };
  assert.equal(after(empty, "enter").view, "tasks", "nothing to open");
  assert.equal(
    after(snap, "enter", "tab").view,
    "resources",
    "Tab from the details goes to the next list",
  );
});

Deno.test("console reducer: s cycles the sort column with its natural direction; S reverses", () => {
  const snap = sampleSnapshot();
  const seen = [];
  let s = after(snap);
  for (let i = 0; i < 5; i++) {
    seen.push(`${s.sort}:${s.descending ? "desc" : "asc"}`);
    s = reduce(s, "s");
  }
  assert.deepEqual(seen, ["busy:desc", "polls:desc", "idle:desc", "name:asc", "id:asc"]);
  assert.equal(s.sort, "busy");
  assert.equal(reduce(s, "S").descending, false);
  assert.equal(reduce(reduce(s, "S"), "S").descending, true);
});

Deno.test("console reducer: the selection follows its task when the order changes, and falls back when it goes", () => {
  const snap = sampleSnapshot();
  const s = after(snap, "j", "j"); // task 2
  assert.equal(s.cursors.tasks.key, 2);
  const resorted = withSnapshot(reduce(s, "S"), snap);
  assert.equal(resorted.cursors.tasks.key, 2, "still task 2 after reversing the sort");
  assert.equal(resorted.cursors.tasks.index, 2);
  const busier = { ...snap, tasks: snap.tasks.map((t) => t.id === 2 ? { ...t, busyNs: 1e12 } : t) };
  const moved = withSnapshot(s, busier);
  assert.equal(moved.cursors.tasks.key, 2);
  assert.equal(moved.cursors.tasks.index, 0, "task 2 moved to the top and the cursor with it");
  const gone = withSnapshot(s, { ...snap, tasks: snap.tasks.filter((t) => t.id !== 2) });
  assert.equal(gone.cursors.tasks.index, 2, "same place");
  assert.equal(gone.cursors.tasks.key, 1, "the task now there");
  const none = withSnapshot(s, { ...snap, tasks: [] });
  assert.equal(none.cursors.tasks.key, null);
});

Deno.test("console reducer: q and Ctrl-C quit; unknown keys change nothing", () => {
  const s = after(sampleSnapshot());
  assert.equal(reduce(s, "q").quit, true);
  assert.equal(reduce(s, "ctrl-c").quit, true);
  assert.equal(reduce(s, "x"), s);
  assert.equal(reduce(s, "left"), s);
  assert.equal(s.quit, false);
});
