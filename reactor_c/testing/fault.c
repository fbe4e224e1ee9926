/*
 * testing/fault.c — the test-only fault plan (compiled only with -DDK_FAULTS).
 *
 * Production builds never contain it: ffi/build.ts and build.zig do not list this file (nor
 * anything in reactor_c/testing/), and the hooks in ready.c, uring.c and net.c sit inside
 * #ifdef DK_FAULTS blocks, so the shipped library (ffi/prebuilt/) is the same bytes with or
 * without them (checked: the objects compile identically).  The fault build of the library is
 * made by tests/c/variant_build.ts (`-DDK_FAULTS` plus this file); only it exports the
 * dk_test_* symbols below, and TS tests load it through DOKIO_LIB (tests/fault_*_test.ts).
 *
 * A plan is one rule per site (DK_FAULT_* in reactor.h): let `skip` calls through, then act on
 * the next `count` (UINT32_MAX: every one) — fail the call with -value (kind
 * DK_FAULT_KIND_ERRNO), or shorten its length to at most `value` bytes (DK_FAULT_KIND_SHORT).
 * Each action counts a hit, so a test can prove the fault fired.  The plan is process-wide and
 * guarded by a mutex (calls come from every reactor's thread).
 */
#ifdef DK_FAULTS
#include "../reactor.h"

#include <errno.h>
#include <string.h>

typedef struct fault_rule {
  int32_t kind; /* 0 = none, DK_FAULT_KIND_* */
  int32_t value;
  uint32_t skip, count, hits;
} fault_rule;

static fault_rule rules[DK_FAULT__COUNT];
static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;

int32_t dk_test_fault(int32_t site, int32_t kind, int32_t value, uint32_t skip, uint32_t count) {
  if (site < 0 || site >= DK_FAULT__COUNT) return -EINVAL;
  if (kind != 0 && kind != DK_FAULT_KIND_ERRNO && kind != DK_FAULT_KIND_SHORT) return -EINVAL;
  if (kind == DK_FAULT_KIND_ERRNO && (value <= 0 || value >= 4096)) return -EINVAL;
  if (kind == DK_FAULT_KIND_SHORT && value <= 0) return -EINVAL;
  pthread_mutex_lock(&rules_lock);
  rules[site] = (fault_rule){kind, value, skip, count, 0};
  pthread_mutex_unlock(&rules_lock);
  return 0;
}

int32_t dk_test_fault_hits(int32_t site) {
  if (site < 0 || site >= DK_FAULT__COUNT) return -EINVAL;
  pthread_mutex_lock(&rules_lock);
  int32_t n = (int32_t)rules[site].hits;
  pthread_mutex_unlock(&rules_lock);
  return n;
}

int32_t dk_test_fault_clear(void) {
  pthread_mutex_lock(&rules_lock);
  memset(rules, 0, sizeof rules);
  pthread_mutex_unlock(&rules_lock);
  return 0;
}

int32_t fault_take(int site, uint32_t *len) {
  int32_t v = 0;
  pthread_mutex_lock(&rules_lock);
  fault_rule *f = &rules[site];
  if (f->kind == 0) {
    /* no rule */
  } else if (f->skip > 0) {
    f->skip--;
  } else if (f->count > 0) {
    if (f->count != UINT32_MAX) f->count--;
    if (f->kind == DK_FAULT_KIND_ERRNO) {
      f->hits++;
      v = -f->value;
    } else if (len != NULL && *len > (uint32_t)f->value) {
      f->hits++;
      *len = (uint32_t)f->value;
    }
  }
  pthread_mutex_unlock(&rules_lock);
  return v;
}

int fault_syscall(int site, uint32_t *len) {
  int32_t v = fault_take(site, len);
  if (v == 0) return 0;
  errno = -v;
  return 1;
}
#endif
