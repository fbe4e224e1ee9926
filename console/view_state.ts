/**
 * What the user is looking at, and how keys change it: a pure reducer
 * `reduce(state, key) → state`. The selection is kept by row key (a task's
 * id), so it follows its task when a re-sort or an update moves the row;
 * `withSnapshot(state, snapshot)` refreshes the row keys from a new snapshot
 * (the shell calls it after every update and every key).
 *
 * Keys: up/`k` and down/`j` move, PageUp/PageDown move a page, Home/`g` and
 * End/`G` jump, Enter opens the task's details (from the task list or a
 * warning), Esc/Backspace go back, Tab/Shift-Tab cycle the lists, `t` `r` `w`
 * pick one, `s` changes the sort column, `S` reverses it, `q` or Ctrl-C quit.
 *
 * @module
 */

import type { ConsoleSnapshot } from "../runtime/instrument/snapshot.ts";
import { orderedWarnings, SORT_KEYS, sortedResources, sortedTasks, type SortKey } from "./order.ts";

/** The three lists. */
export const LISTS = ["tasks", "resources", "warnings"] as const;

/** A list view. */
export type ListName = typeof LISTS[number];

/** A screen: one of the lists, or one task's details. */
export type ViewName = ListName | "detail";

/** Rows PageUp/PageDown move by (the reducer does not know the screen's height). */
export const PAGE_ROWS = 10;

/** The cursor in one list: the selected row's key and its index (the fallback when it goes). */
export interface Cursor {
  /** Key of the selected row (task id, resource id, a warning's `atNs`), or null when empty. */
  key: number | null;
  /** Its index in `keys`. */
  index: number;
  /** Row keys in list order, as of the last snapshot. */
  keys: number[];
  /** The task each row is about (Enter opens it), or null for rows about none (resources). */
  tasks: (number | null)[];
}

/** Everything the screen depends on besides the snapshot. */
export interface ViewState {
  /** The screen shown. */
  view: ViewName;
  /** The list the detail view returns to. */
  back: ListName;
  /** The task list's sort column. */
  sort: SortKey;
  /** Sort direction: largest first (the default for times and counts). */
  descending: boolean;
  /** One cursor per list. */
  cursors: Record<ListName, Cursor>;
  /** The task the detail view shows. */
  detailTaskId: number | null;
  /** Set by `q` or Ctrl-C: the shell exits. */
  quit: boolean;
}

const EMPTY_CURSOR: Cursor = { key: null, index: 0, keys: [], tasks: [] };

/**
 * The state the console starts in: the task list, sorted by busy time, largest first.
 *
 * @returns a fresh state
 */
export function initialViewState(): ViewState {
  return {
    view: "tasks",
    back: "tasks",
    sort: "busy",
    descending: true,
    cursors: { tasks: EMPTY_CURSOR, resources: EMPTY_CURSOR, warnings: EMPTY_CURSOR },
    detailTaskId: null,
    quit: false,
  };
}

/** Whether a sort column reads best largest first (times and counts) or smallest first. */
function defaultDescending(key: SortKey): boolean {
  return key !== "name" && key !== "id";
}

function moveTo(c: Cursor, index: number): Cursor {
  if (c.keys.length === 0) return { ...c, key: null, index: 0 };
  const i = Math.max(0, Math.min(c.keys.length - 1, index));
  return { ...c, key: c.keys[i], index: i };
}

function moveBy(state: ViewState, delta: number | "first" | "last"): ViewState {
  if (state.view === "detail") return state;
  const c = state.cursors[state.view];
  const index = delta === "first" ? 0 : delta === "last" ? c.keys.length - 1 : c.index + delta;
  return { ...state, cursors: { ...state.cursors, [state.view]: moveTo(c, index) } };
}

function show(state: ViewState, view: ListName): ViewState {
  return { ...state, view, back: view };
}

function cycle(state: ViewState, step: number): ViewState {
  const from = state.view === "detail" ? state.back : state.view;
  const next = LISTS[(LISTS.indexOf(from) + step + LISTS.length) % LISTS.length];
  return show(state, next);
}

function open(state: ViewState): ViewState {
  if (state.view !== "tasks" && state.view !== "warnings") return state;
  const c = state.cursors[state.view];
  const task = c.key === null ? null : c.tasks[c.index] ?? null;
  if (task === null) return state;
  return { ...state, view: "detail", back: state.view, detailTaskId: task };
}

/**
 * The state after one key. Unknown keys change nothing.
 *
 * @param state the current state
 * @param key a key name from `decodeKeys` (`up`, `enter`, `tab`, …) or one printable character
 * @returns the next state (the same object when nothing changed)
 */
export function reduce(state: ViewState, key: string): ViewState {
  switch (key) {
    case "q":
    case "ctrl-c":
      return { ...state, quit: true };
    case "up":
    case "k":
      return moveBy(state, -1);
    case "down":
    case "j":
      return moveBy(state, 1);
    case "pageup":
      return moveBy(state, -PAGE_ROWS);
    case "pagedown":
      return moveBy(state, PAGE_ROWS);
    case "home":
    case "g":
      return moveBy(state, "first");
    case "end":
    case "G":
      return moveBy(state, "last");
    case "enter":
      return open(state);
    case "escape":
    case "backspace":
      return state.view === "detail" ? { ...state, view: state.back } : state;
    case "tab":
      return cycle(state, 1);
    case "shift-tab":
      return cycle(state, -1);
    case "t":
      return show(state, "tasks");
    case "r":
      return show(state, "resources");
    case "w":
      return show(state, "warnings");
    case "s": {
      const sort = SORT_KEYS[(SORT_KEYS.indexOf(state.sort) + 1) % SORT_KEYS.length];
      return { ...state, sort, descending: defaultDescending(sort) };
    }
    case "S":
      return { ...state, descending: !state.descending };
    default:
      return state;
  }
}

function resync(c: Cursor, keys: number[], tasks: (number | null)[]): Cursor {
  const at = c.key === null ? -1 : keys.indexOf(c.key);
  return moveTo({ ...c, keys, tasks }, at >= 0 ? at : c.index);
}

/**
 * The state with its row keys taken from `snapshot` (in the order the screen
 * lists them): a selected row that is still there stays selected wherever it
 * moved; one that went is replaced by the row now at its index.
 *
 * @param state the current state
 * @param snapshot the newest snapshot
 * @returns the state in step with `snapshot`
 */
export function withSnapshot(state: ViewState, snapshot: ConsoleSnapshot): ViewState {
  const tasks = sortedTasks(snapshot, state.sort, state.descending).map((t) => t.id);
  const resources = sortedResources(snapshot).map((r) => r.id);
  const warnings = orderedWarnings(snapshot);
  return {
    ...state,
    cursors: {
      tasks: resync(state.cursors.tasks, tasks, tasks),
      resources: resync(state.cursors.resources, resources, resources.map(() => null)),
      warnings: resync(
        state.cursors.warnings,
        warnings.map((w) => w.atNs),
        warnings.map((w) => w.taskId),
      ),
    },
  };
}
