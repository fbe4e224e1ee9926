/**
 * The order rows are listed in: tasks by the chosen sort column and
 * direction (ties by id, so the order is total and stable between updates),
 * resources with the most waiters first, warnings newest first. Shared by the
 * renderer and the view state, so the cursor and the screen agree.
 *
 * @module
 */

import type {
  ConsoleSnapshot,
  ResourceSnapshot,
  TaskSnapshot,
  TaskWarning,
} from "../runtime/instrument/snapshot.ts";

/** The columns the task list can be sorted by, in the order `s` cycles through them. */
export const SORT_KEYS = ["busy", "polls", "idle", "name", "id"] as const;

/** A task-list sort column. */
export type SortKey = typeof SORT_KEYS[number];

/** Sorts NaN (not reported) after every number in either direction. */
function byNumber(a: number, b: number, descending: boolean): number {
  const an = Number.isFinite(a), bn = Number.isFinite(b);
  if (!an || !bn) return an === bn ? 0 : an ? -1 : 1;
  return descending ? b - a : a - b;
}

/** Sorts unnamed tasks after named ones in either direction. */
function byName(a: string | null, b: string | null, descending: boolean): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const c = a < b ? -1 : a > b ? 1 : 0;
  return descending ? -c : c;
}

/** The number each numeric sort column compares. */
const SORT_NUMBER: Record<Exclude<SortKey, "name">, (t: TaskSnapshot) => number> = {
  busy: (t) => t.busyNs,
  polls: (t) => t.polls,
  idle: (t) => t.idleNs,
  id: (t) => t.id,
};

function compareTasks(
  key: SortKey,
  descending: boolean,
): (a: TaskSnapshot, b: TaskSnapshot) => number {
  return (a, b) => {
    const c = key === "name"
      ? byName(a.name, b.name, descending)
      : byNumber(SORT_NUMBER[key](a), SORT_NUMBER[key](b), descending);
    return c !== 0 ? c : byNumber(a.id, b.id, false);
  };
}

/**
 * The snapshot's tasks in list order.
 *
 * @param snapshot the snapshot
 * @param key the sort column
 * @param descending largest (or last by name) first
 * @returns a new array, sorted
 */
export function sortedTasks(
  snapshot: ConsoleSnapshot,
  key: SortKey,
  descending: boolean,
): TaskSnapshot[] {
  return [...snapshot.tasks].sort(compareTasks(key, descending));
}

/**
 * The snapshot's resources in list order: most waiters first, then by id.
 *
 * @param snapshot the snapshot
 * @returns a new array, sorted
 */
export function sortedResources(snapshot: ConsoleSnapshot): ResourceSnapshot[] {
  return [...snapshot.resources].sort((a, b) =>
    byNumber(a.waiters, b.waiters, true) || byNumber(a.id, b.id, false)
  );
}

/**
 * The snapshot's warnings in list order: newest first.
 *
 * @param snapshot the snapshot
 * @returns a new array
 */
export function orderedWarnings(snapshot: ConsoleSnapshot): TaskWarning[] {
  return [...snapshot.warnings].reverse();
}
