/**
 * One line of the bench table: a Dokio figure beside its peer's, measured
 * in the same run, and their ratio.
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
  /** The bar from DESIGN.md, e.g. "≥ 3×". */
  bar?: string;
}
