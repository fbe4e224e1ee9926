/*
 * clock.c — dk_clock_ms, the monotonic clock Dokio's timer wheels read.
 *
 * Deno's performance.now() costs ~100 ns a call here; this function reached
 * through a fast FFI call costs ~40 ns, and a timer-heavy program reads the
 * clock once per timer it arms.  It has no state and no argument, so it
 * cannot fail.
 */
#include "dokio.h"

#include <time.h>

#if defined(__APPLE__)
#define DK_CLOCK CLOCK_UPTIME_RAW /* monotonic, does not jump with the wall clock */
#else
#define DK_CLOCK CLOCK_MONOTONIC
#endif

double dk_clock_ms(void) {
  struct timespec ts;
  if (clock_gettime(DK_CLOCK, &ts) != 0) return 0.0; /* not reached on supported hosts */
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
