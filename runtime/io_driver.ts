/**
 * Placeholder type for the runtime's I/O driver; the real driver replaces this file.
 *
 * @module
 */

/** The reactor driver of one worker (see runtime/io_driver.ts once written). */
export interface IoDriver {
  /** Operations submitted to the reactor and not yet completed. */
  readonly inFlight: number;
}
