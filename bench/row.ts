/**
 * One line of the bench table: a Dokio figure beside its peer's, measured
 * in the same run, and their ratio; and, where the workload has one, Tokio's
 * figures (bench/tokio/) and Dokio's ratio to them.
 *
 * @module
 */

/** A measured comparison. */
export interface BenchRow {
  /** The suite it belongs to ("runtime", "time", "sync", "echo"…). */
  suite: string;
  /** What was measured. */
  name: string;
  /** Dokio's figure. */
  dokio: number;
  /** The peer's figure, measured in the same run. */
  peer: number;
  /** Who the peer is ("async fn + Promise.all", "Deno.listen"…). */
  peerName: string;
  /** Unit of both figures ("M ops/s", "µs/rt", "MB"…). */
  unit: string;
  /** How many times better Dokio is (>1 is better, whichever way the unit points). */
  ratio: number;
  /** The bar this row must meet, e.g. "≥ 3×" (README lists each with its row). */
  bar?: string;
  /** Tokio's figure on the same workload, current_thread runtime, same run. */
  tokio?: number;
  /** Tokio's figure on multi_thread with 2 workers, same run. */
  tokioMt?: number;
  /** How many times better Dokio is than Tokio current_thread (>1 is better). */
  vsTokio?: number;
  /** How many times better Dokio is than Tokio multi_thread(2) (>1 is better). */
  vsTokioMt?: number;
}
