/**
 * The console's screen as a pure function: `render(snapshot, viewState,
 * {width, height, color})` returns exactly `height` rows, none wider than
 * `width` columns (cut, never wrapped). Without colour the rows hold no
 * escape byte; with it, only SGR (colour/attribute) escapes. Cursor movement
 * and diffing belong to `screen.ts`.
 *
 * Layout: a header (who, uptime, workers; tasks per state; per-worker queue
 * depths and timers; I/O in flight by kind), a tab row (the views, the sort),
 * the view (task list, task details with the poll-time histogram, resources,
 * warnings), and a status row (connection trouble, or the keys).
 *
 * A field the daemon did not report arrives as NaN or null (see `decode.ts`)
 * and is drawn as `-`; a missing histogram is said to be missing.
 *
 * @module
 */

import type {
  ConsoleSnapshot,
  ResourceSnapshot,
  TaskSnapshot,
  TaskStateName,
  TaskWarning,
  WorkerSnapshot,
} from "../runtime/instrument/snapshot.ts";
import { count, duration, MISSING, padEnd, sanitize, textWidth } from "./format.ts";
import { drawBars, isWellFormed, percentile, PERCENTILES } from "./histogram.ts";
import { orderedWarnings, sortedResources, sortedTasks } from "./order.ts";
import { paint, seg, type Segment, type Style } from "./style.ts";
import { type Column, drawTable } from "./table.ts";
import type { ListName, ViewState } from "./view_state.ts";

/** Where the console's stream stands. */
export type ConnectionState = "connecting" | "connected" | "disconnected";

/** What the shell knows about the stream, drawn in the header and status row. */
export interface ConnectionStatus {
  /** `host:port` of the daemon. */
  addr: string;
  /** Where the stream stands. */
  state: ConnectionState;
  /** The last problem (a refused connection, a bad line), shown on the status row. */
  message?: string;
}

/** The screen's size and abilities. */
export interface RenderOptions {
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
  /** Whether SGR colour escapes may be used. */
  color: boolean;
  /** The stream's state; "connected" to an unnamed daemon when absent. */
  status?: ConnectionStatus;
}

/** Rows above the view: title, task counts, workers, I/O, tabs. */
export const HEADER_ROWS = 5;
/** Rows below the view: the status row. */
export const FOOTER_ROWS = 1;

/** Short state names for the STATE column. */
const STATE_SHORT: Record<TaskStateName, string> = {
  idle: "idle",
  scheduled: "sched",
  running: "run",
  done: "done",
  cancelled: "cancl",
};

const STATE_STYLE: Record<TaskStateName, Style | undefined> = {
  idle: undefined,
  scheduled: "busy",
  running: "good",
  done: "dim",
  cancelled: "dim",
};

const STATES = Object.keys(STATE_SHORT) as TaskStateName[];

const KEYS_HELP = "j/k move  Enter details  Esc back  Tab/t/r/w views  s/S sort  q quit";

function stateShort(s: TaskStateName): string {
  return STATE_SHORT[s] ?? sanitize(String(s ?? MISSING));
}

function text(s: string | null | undefined): string {
  return s === null || s === undefined ? "" : sanitize(String(s));
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : MISSING;
}

function digits(values: number[], least: number): number {
  return values.reduce((w, v) => Math.max(w, num(v).length), least);
}

/** Title row: who, connection, pid, uptime, workers. */
function titleRow(snap: ConsoleSnapshot | null, status: ConnectionStatus): Segment[] {
  const conn: Style = status.state === "connected"
    ? "good"
    : status.state === "connecting"
    ? "busy"
    : "bad";
  const segs = [
    seg("dokio console", "title"),
    seg(" "),
    seg(status.state, conn),
    seg(` ${sanitize(status.addr)}`),
  ];
  if (snap) {
    segs.push(seg(`  pid ${num(snap.pid)}  up ${duration(snap.uptimeNs)}`));
    segs.push(seg(`  workers ${snap.workers.length}`));
  }
  return segs;
}

/** Task counts per state and the warning count. */
function countsRow(snap: ConsoleSnapshot): Segment[] {
  const per = new Map<string, number>();
  for (const t of snap.tasks) per.set(t.state, (per.get(t.state) ?? 0) + 1);
  const segs = [seg(`tasks ${snap.tasks.length}:`)];
  for (const s of STATES) segs.push(seg(` ${STATE_SHORT[s]} ${per.get(s) ?? 0}`, STATE_STYLE[s]));
  const warnings = snap.warnings.length;
  segs.push(seg(`  warnings ${warnings}`, warnings > 0 ? "warn" : undefined));
  return segs;
}

function ioTotal(w: WorkerSnapshot): number {
  const io = w.ioInFlight ?? {};
  return Object.values(io).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
}

/** Per worker: queue depths (local+inject), I/O in flight, timers armed. */
function workersRow(snap: ConsoleSnapshot): Segment[] {
  if (snap.workers.length === 0) return [seg("workers: not reported", "dim")];
  return snap.workers.map((w, i) =>
    seg(
      `${i > 0 ? "  " : ""}w${num(w.worker)} q ${count(w.localQueueDepth)}+${
        count(w.injectQueueDepth)
      } io ${ioTotal(w)} tm ${count(w.timersArmed)}`,
    )
  );
}

/** I/O in flight by kind, summed over workers. */
function ioRow(snap: ConsoleSnapshot): Segment[] {
  const byKind = new Map<string, number>();
  for (const w of snap.workers) {
    for (const [kind, n] of Object.entries(w.ioInFlight ?? {})) {
      if (Number.isFinite(n)) byKind.set(kind, (byKind.get(kind) ?? 0) + n);
    }
  }
  const kinds = [...byKind.entries()].filter(([, n]) => n > 0).sort(([a], [b]) => a < b ? -1 : 1);
  if (kinds.length === 0) return [seg("io in flight: none")];
  return [seg(`io in flight: ${kinds.map(([k, n]) => `${sanitize(k)} ${n}`).join("  ")}`)];
}

/** The tab row: the three lists with their sizes, and the sort. */
function tabsRow(snap: ConsoleSnapshot | null, state: ViewState): Segment[] {
  const sizes: Record<ListName, number> = {
    tasks: snap?.tasks.length ?? 0,
    resources: snap?.resources.length ?? 0,
    warnings: snap?.warnings.length ?? 0,
  };
  const current = state.view === "detail" ? state.back : state.view;
  const segs: Segment[] = [];
  for (const list of ["tasks", "resources", "warnings"] as const) {
    const label = `[${list[0]}]${list.slice(1)} ${sizes[list]}`;
    segs.push(
      seg(list === current ? `<${label}>` : ` ${label} `, list === current ? "title" : "dim"),
    );
    segs.push(seg(" "));
  }
  segs.push(seg(` sort ${state.sort} ${state.descending ? "desc" : "asc"} (s/S)`));
  return segs;
}

/** Columns the task list's spawn site keeps before the name grows (`echo.ts:88:5`). */
const SITE_MIN = 10;

/** The width a name column wants: its longest name, at least its heading's 4, at most `cap`. */
function longest(names: (string | null)[], cap: number): number {
  return Math.min(cap, names.reduce((w, n) => Math.max(w, textWidth(text(n))), 4));
}

function taskColumns(tasks: TaskSnapshot[]): Column<TaskSnapshot>[] {
  return [
    { title: "ID", width: digits(tasks.map((t) => t.id), 2), right: true, text: (t) => num(t.id) },
    {
      title: "NAME",
      width: { min: 4, want: longest(tasks.map((t) => t.name), 24) },
      text: (t) => text(t.name),
    },
    {
      title: "STATE",
      width: 5,
      text: (t) => stateShort(t.state),
      style: (t) => STATE_STYLE[t.state],
    },
    {
      title: "W",
      width: digits(tasks.map((t) => t.worker), 1),
      right: true,
      text: (t) => num(t.worker),
    },
    { title: "POLLS", width: 6, right: true, text: (t) => count(t.polls) },
    { title: "BUSY", width: 6, right: true, text: (t) => duration(t.busyNs) },
    { title: "SCHED", width: 6, right: true, text: (t) => duration(t.scheduledNs) },
    { title: "IDLE", width: 6, right: true, text: (t) => duration(t.idleNs) },
    { title: "LAST", width: 6, right: true, text: (t) => duration(t.sinceLastPollNs) },
    { title: "WAITING", width: 9, text: (t) => text(t.waitingOn) },
    {
      title: "SITE",
      width: { min: SITE_MIN, want: 0 },
      keepEnd: true,
      text: (t) => text(t.spawnSite),
    },
  ];
}

function resourceColumns(resources: ResourceSnapshot[]): Column<ResourceSnapshot>[] {
  return [
    { title: "ID", width: 5, right: true, text: (r) => num(r.id) },
    { title: "KIND", width: 9, text: (r) => text(r.kind) },
    {
      title: "NAME",
      width: { min: 4, want: longest(resources.map((r) => r.name), 16) },
      text: (r) => text(r.name),
    },
    {
      title: "WAIT",
      width: 5,
      right: true,
      text: (r) => count(r.waiters),
      style: (r) => r.waiters > 0 ? "busy" : undefined,
    },
    { title: "DETAIL", width: { min: 6, want: 20 }, text: (r) => text(r.detail) },
    { title: "SITE", width: { min: 0, want: 0 }, keepEnd: true, text: (r) => text(r.site) },
  ];
}

function warningColumns(uptimeNs: number, warnings: TaskWarning[]): Column<TaskWarning>[] {
  return [
    { title: "AGO", width: 6, right: true, text: (w) => duration(uptimeNs - w.atNs) },
    { title: "KIND", width: 14, text: (w) => text(w.kind), style: () => "warn" },
    { title: "TASK", width: 5, right: true, text: (w) => num(w.taskId) },
    {
      title: "NAME",
      width: { min: 4, want: longest(warnings.map((w) => w.taskName), 14) },
      text: (w) => text(w.taskName),
    },
    { title: "MESSAGE", width: { min: 0, want: 0 }, text: (w) => text(w.message) },
  ];
}

/** What an empty list says. */
const EMPTY_LIST: Record<ListName, string> = {
  tasks: "no tasks (is the daemon's instrumentation on?)",
  resources: "no resources reported",
  warnings: "no warnings",
};

function listView(
  snap: ConsoleSnapshot,
  state: ViewState,
  list: ListName,
  rows: number,
  o: RenderOptions,
): string[] {
  const at = state.cursors[list].index;
  const size = list === "tasks"
    ? snap.tasks.length
    : list === "resources"
    ? snap.resources.length
    : snap.warnings.length;
  if (size === 0) return [paint([seg(EMPTY_LIST[list], "dim")], o.width, o.color)];
  switch (list) {
    case "tasks": {
      const tasks = sortedTasks(snap, state.sort, state.descending);
      return drawTable(taskColumns(tasks), tasks, at, rows - 1, o.width, o.color);
    }
    case "resources": {
      const resources = sortedResources(snap);
      return drawTable(resourceColumns(resources), resources, at, rows - 1, o.width, o.color);
    }
    case "warnings": {
      const warnings = orderedWarnings(snap);
      const columns = warningColumns(snap.uptimeNs, warnings);
      return drawTable(columns, warnings, at, rows - 1, o.width, o.color);
    }
  }
}

const LABEL_COLUMNS = 11;

function field(label: string, value: string, width: number): string {
  return padEnd(`${padEnd(label, LABEL_COLUMNS)} ${value}`, width);
}

/** One task's fields in two columns (one when narrow), then its poll-time histogram. */
function detailView(
  snap: ConsoleSnapshot,
  state: ViewState,
  rows: number,
  o: RenderOptions,
): string[] {
  const t = snap.tasks.find((x) => x.id === state.detailTaskId);
  const out: string[] = [];
  const line = (segs: Segment[]) => out.push(paint(segs, o.width, o.color));
  if (!t) {
    line([seg(`task ${num(state.detailTaskId ?? NaN)} is gone (finished and dropped)`, "dim")]);
    line([seg("Esc: back to the list")]);
    return out;
  }
  line([seg(`task ${num(t.id)} ${text(t.name)}`, "title"), seg("  (Esc back)", "dim")]);
  const pairs: Array<[string, string]> = [
    ["state", STATE_SHORT[t.state] ? t.state : text(t.state)],
    ["worker", num(t.worker)],
    ["polls", count(t.polls)],
    ["waiting on", text(t.waitingOn) || MISSING],
    ["wakes", count(t.wakes)],
    ["self-wakes", count(t.selfWakes)],
    ["busy", duration(t.busyNs)],
    ["scheduled", duration(t.scheduledNs)],
    ["idle", duration(t.idleNs)],
    ["since poll", duration(t.sinceLastPollNs)],
    ["age", duration(t.ageNs)],
  ];
  const twoColumns = o.width >= 2 * (LABEL_COLUMNS + 10);
  const half = twoColumns ? Math.floor(o.width / 2) : o.width;
  for (let i = 0; i < pairs.length; i += twoColumns ? 2 : 1) {
    let row = field(pairs[i][0], pairs[i][1], half);
    if (twoColumns && pairs[i + 1]) row += field(pairs[i + 1][0], pairs[i + 1][1], o.width - half);
    line([seg(row.trimEnd())]);
  }
  line([seg(field("spawn site", text(t.spawnSite) || MISSING, o.width).trimEnd())]);
  const h = t.pollTimes;
  if (!isWellFormed(h)) {
    line([seg("poll times: not reported", "dim")]);
  } else if (h.count === 0) {
    line([seg("poll times: no polls yet", "dim")]);
  } else {
    const p = PERCENTILES.map(([name, q]) => `${name} ${duration(percentile(h, q))}`).join("  ");
    line([
      seg("poll times", "heading"),
      seg(`  n ${count(h.count)}  ${p}  max ${duration(h.maxNs)}`),
    ]);
    for (const bar of drawBars(h, o.width, rows - out.length)) line([seg(bar)]);
  }
  return out.slice(0, rows);
}

function statusRow(snap: ConsoleSnapshot | null, status: ConnectionStatus): Segment[] {
  if (status.message) {
    return [
      seg(
        status.state === "connected" ? "note: " : "error: ",
        status.state === "connected" ? "warn" : "bad",
      ),
      seg(sanitize(status.message)),
    ];
  }
  if (!snap) return [seg(`waiting for ${sanitize(status.addr)} ...`, "dim")];
  return [seg(KEYS_HELP, "dim")];
}

/**
 * The whole screen.
 *
 * @param snapshot the newest snapshot, or null before the first one
 * @param state what the user is looking at
 * @param options the screen's width and height, colour, and the stream's state
 * @returns exactly `options.height` rows, each at most `options.width` columns
 */
export function render(
  snapshot: ConsoleSnapshot | null,
  state: ViewState,
  options: RenderOptions,
): string[] {
  const { width, height, color } = options;
  const status = options.status ?? { addr: "", state: "connected" };
  const rows: string[] = [];
  const line = (segs: Segment[]) => rows.push(paint(segs, width, color));
  line(titleRow(snapshot, status));
  if (snapshot) {
    line(countsRow(snapshot));
    line(workersRow(snapshot));
    line(ioRow(snapshot));
  } else {
    line([]);
    line([]);
    line([]);
  }
  line(tabsRow(snapshot, state));
  const viewRows = Math.max(0, height - HEADER_ROWS - FOOTER_ROWS);
  if (snapshot && viewRows > 0) {
    const view = state.view === "detail"
      ? detailView(snapshot, state, viewRows, options)
      : listView(snapshot, state, state.view, viewRows, options);
    rows.push(...view.slice(0, viewRows));
  }
  while (rows.length < height - FOOTER_ROWS) rows.push("");
  rows.length = Math.max(0, height - FOOTER_ROWS);
  if (height > 0) line(statusRow(snapshot, status));
  return rows.slice(rows.length - height);
}
