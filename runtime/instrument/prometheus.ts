/**
 * The Prometheus text exposition format (version 0.0.4) of a runtime:
 * totals, per-worker series (label `worker`), the poll-time and
 * scheduled-time histograms (`_bucket` with `le`, `_sum`, `_count`, in
 * seconds), and task series by task *name* (label `name`; at most
 * `MAX_NAMES` names plus `(other)` and `(unnamed)`), never by task id, so
 * the number of series stays bounded however many tasks come and go.
 *
 * Invariant: every metric family is written as `# HELP`, `# TYPE`, then
 * its samples, each family once; label values are escaped (`\\`, `"`,
 * newline); bucket counts are cumulative and end with `le="+Inf"` equal to
 * `_count`.
 *
 * @module
 */

import type { ConsoleSnapshot, Histogram, WorkerSnapshot } from "./snapshot.ts";
import type { Instrument, NameTotals } from "./instrument.ts";

/** The content type of the exposition. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
type Kind = "counter" | "gauge" | "histogram";

/**
 * Escape a label value (backslash, double quote, newline).
 *
 * @param v the raw value.
 * @returns the escaped value, without the quotes.
 * @example
 * ```ts
 * import { escapeLabel } from "./prometheus.ts";
 * import assert from "node:assert/strict";
 * assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(l: Labels): string {
  const keys = Object.keys(l);
  if (keys.length === 0) return "";
  return "{" + keys.map((k) => `${k}="${escapeLabel(l[k])}"`).join(",") + "}";
}

function num(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

class Writer {
  #out: string[] = [];
  family(name: string, kind: Kind, help: string, samples: [Labels, number][]): void {
    this.#out.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    this.#out.push(`# TYPE ${name} ${kind}`);
    for (const [l, v] of samples) this.#out.push(`${name}${labelText(l)} ${num(v)}`);
  }
  histogram(name: string, help: string, series: [Labels, Histogram][]): void {
    this.#out.push(`# HELP ${name} ${help}`);
    this.#out.push(`# TYPE ${name} histogram`);
    for (const [l, h] of series) {
      let cum = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        cum += h.counts[i];
        this.#out.push(`${name}_bucket${labelText({ ...l, le: num(h.bounds[i] / 1e9) })} ${cum}`);
      }
      cum += h.counts[h.bounds.length];
      this.#out.push(`${name}_bucket${labelText({ ...l, le: "+Inf" })} ${cum}`);
      this.#out.push(`${name}_sum${labelText(l)} ${num(h.sumNs / 1e9)}`);
      this.#out.push(`${name}_count${labelText(l)} ${cum}`);
    }
  }
  text(): string {
    return this.#out.join("\n") + "\n";
  }
}

/** Runtime totals the exposition adds to a snapshot. */
export interface RuntimeTotals {
  /** Tasks spawned since start. */
  spawnedTasks: number;
  /** Tasks alive now. */
  activeTasks: number;
  /** The I/O backend, or null. */
  backend: string | null;
}

/**
 * The exposition text of a runtime.
 *
 * @param snap a snapshot (workers, histograms, warnings).
 * @param totals the runtime's totals.
 * @param inst the instrumentation, for the per-name task series (null: none).
 * @returns the text, ending with a newline.
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * await using rt = new Runtime({ instrument: true });
 * await rt.run(function* () {});
 * const text = rt.metricsText();
 * assert.match(text, /^# TYPE dokio_tasks_spawned_total counter$/m);
 * assert.match(text, /^dokio_poll_duration_seconds_bucket\{worker="0",le="\+Inf"\} \d+$/m);
 * ```
 */
export function prometheusText(
  snap: ConsoleSnapshot,
  totals: RuntimeTotals,
  inst: Instrument | null,
): string {
  const w = new Writer();
  const workers = snap.workers;
  const per = (f: (x: WorkerSnapshot) => number): [Labels, number][] =>
    workers.map((x) => [{ worker: String(x.worker) }, f(x)]);
  w.family("dokio_tasks_spawned_total", "counter", "Tasks spawned on the main scheduler.", [
    [{}, totals.spawnedTasks],
  ]);
  w.family("dokio_tasks_active", "gauge", "Tasks alive on the main scheduler.", [
    [{}, totals.activeTasks],
  ]);
  w.family("dokio_instrumented", "gauge", "1 when task instrumentation is on.", [
    [{}, inst !== null ? 1 : 0],
  ]);
  w.family("dokio_uptime_seconds", "gauge", "Time since the runtime started.", [
    [{}, snap.uptimeNs / 1e9],
  ]);
  const perWorker: [string, Kind, string, (x: WorkerSnapshot) => number][] = [
    ["dokio_worker_polls_total", "counter", "Task polls per worker.", (x) => x.polls],
    ["dokio_worker_steals_total", "counter", "Steal operations per worker.", (x) => x.steals],
    ["dokio_worker_parks_total", "counter", "Times each worker parked.", (x) => x.parks],
    [
      "dokio_worker_local_queue_depth",
      "gauge",
      "Tasks in each worker's local queue.",
      (x) => x.localQueueDepth,
    ],
    [
      "dokio_worker_inject_queue_depth",
      "gauge",
      "Tasks in each worker's inject queue.",
      (x) => x.injectQueueDepth,
    ],
    ["dokio_worker_timers_armed", "gauge", "Timers armed per worker.", (x) => x.timersArmed],
  ];
  for (const [name, kind, help, f] of perWorker) w.family(name, kind, help, per(f));
  const io: [Labels, number][] = [];
  for (const x of workers) {
    for (const [kind, n] of Object.entries(x.ioInFlight)) {
      io.push([{ worker: String(x.worker), kind }, n]);
    }
  }
  w.family("dokio_io_in_flight", "gauge", "Reactor operations in flight, by kind.", io);
  const main = workers.filter((x) => x.worker === 0);
  w.histogram(
    "dokio_poll_duration_seconds",
    "Task poll durations per worker.",
    main.map((x) => [{ worker: String(x.worker) }, x.pollTimes]),
  );
  w.histogram(
    "dokio_scheduled_duration_seconds",
    "Time from a task's wake to its poll, per worker (in bursts of short polls one wait in 16 is sampled and counted 16 times).",
    main.map((x) => [{ worker: String(x.worker) }, x.scheduledTimes]),
  );
  if (inst !== null) {
    const byName = [...inst.nameTotals()];
    const series = (f: (t: NameTotals & { alive: number }) => number): [Labels, number][] =>
      byName.map(([name, t]) => [{ name }, f(t)]);
    const byTask: [string, Kind, string, (t: NameTotals & { alive: number }) => number][] = [
      ["dokio_task_spawned_total", "counter", "Tasks spawned, by task name.", (t) => t.spawned],
      ["dokio_task_finished_total", "counter", "Tasks finished, by task name.", (t) => t.finished],
      ["dokio_task_alive", "gauge", "Tasks alive, by task name.", (t) => t.alive],
      ["dokio_task_polls_total", "counter", "Polls, by task name.", (t) => t.polls],
      [
        "dokio_task_busy_seconds_total",
        "counter",
        "Time inside polls, by task name.",
        (t) => t.busyNs / 1e9,
      ],
      [
        "dokio_task_scheduled_seconds_total",
        "counter",
        "Time woken but not yet polled, by task name.",
        (t) => t.scheduledNs / 1e9,
      ],
    ];
    for (const [name, kind, help, f] of byTask) w.family(name, kind, help, series(f));
    w.family(
      "dokio_warnings_total",
      "counter",
      "Warnings raised, by kind.",
      Object.entries(inst.warningCounts).map(([kind, n]) => [{ kind }, n]),
    );
    w.family(
      "dokio_long_polls_unattributed_total",
      "counter",
      "Long polls inside a sampled window of fast polls (not tied to a task).",
      [[{}, inst.unattributedLongPolls]],
    );
    w.family("dokio_wakes_total", "counter", "Task wakes on the main scheduler.", [
      [{}, inst.totalWakes],
    ]);
    w.family("dokio_self_wakes_total", "counter", "Wakes a task gave itself.", [
      [{}, inst.totalSelfWakes],
    ]);
  }
  return w.text();
}
