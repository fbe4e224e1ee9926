/*
 * kqueue.c — the macOS/BSD poller behind the kqueue backend (the engine is
 * ready.c).  Compile-checked here with zig's cross compiler, not run.
 *
 * fds are registered once with EVFILT_READ and EVFILT_WRITE, both EV_CLEAR
 * (edge-triggered; ready.c retries ops until EAGAIN on each edge).  EV_EOF
 * reports as DK_POLL_HUP, EV_ERROR as DK_POLL_ERR.  The wake source is an
 * EVFILT_USER event (ident 0, EV_CLEAR) triggered with NOTE_TRIGGER; it
 * reports as an event with fd == -1.  Sockets get SO_NOSIGPIPE when created.
 */
#include "reactor.h"

#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || \
    defined(__DragonFly__)

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#define WAKE_IDENT 0

struct dk_poller {
  int kq;
  struct kevent evs[256];
};

int32_t poller_open(dk_poller **out) {
  dk_poller *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  p->kq = kqueue();
  if (p->kq < 0) {
    int32_t err = -errno;
    free(p);
    return err;
  }
  (void)fcntl(p->kq, F_SETFD, FD_CLOEXEC);
  struct kevent ev;
  EV_SET(&ev, WAKE_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, NULL);
  if (kevent(p->kq, &ev, 1, NULL, 0, NULL) < 0) {
    int32_t err = -errno;
    poller_close(p);
    return err;
  }
  *out = p;
  return 0;
}

void poller_close(dk_poller *p) {
  if (p->kq >= 0) close(p->kq);
  free(p);
}

int32_t poller_add(dk_poller *p, int fd) {
  struct kevent ev[2];
  EV_SET(&ev[0], (uintptr_t)fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, NULL);
  EV_SET(&ev[1], (uintptr_t)fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, NULL);
  return kevent(p->kq, ev, 2, NULL, 0, NULL) < 0 ? -errno : 0;
}

void poller_del(dk_poller *p, int fd) {
  struct kevent ev[2];
  EV_SET(&ev[0], (uintptr_t)fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
  EV_SET(&ev[1], (uintptr_t)fd, EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
  (void)kevent(p->kq, ev, 2, NULL, 0, NULL);
}

int32_t poller_wait(dk_poller *p, dk_event *out, int32_t n, int32_t timeout_ms) {
  if (n > 256) n = 256;
  struct timespec ts, *tsp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
    tsp = &ts;
  }
  int k = kevent(p->kq, NULL, 0, p->evs, n, tsp);
  if (k < 0) return -errno;
  for (int i = 0; i < k; i++) {
    struct kevent *e = &p->evs[i];
    if (e->filter == EVFILT_USER) {
      out[i].fd = -1;
      out[i].mask = DK_POLL_IN;
      continue;
    }
    uint32_t m = e->filter == EVFILT_READ ? DK_POLL_IN : e->filter == EVFILT_WRITE ? DK_POLL_OUT : 0;
    if (e->flags & EV_EOF) m |= DK_POLL_HUP;
    if (e->flags & EV_ERROR) m |= DK_POLL_ERR;
    out[i].fd = (int32_t)e->ident;
    out[i].mask = m;
  }
  return k;
}

int32_t poller_fds(dk_poller *p, int32_t out[2]) {
  out[0] = p->kq;
  return 1;
}

int32_t poller_wake(dk_poller *p) {
  struct kevent ev;
  EV_SET(&ev, WAKE_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0, NULL);
  return kevent(p->kq, &ev, 1, NULL, 0, NULL) < 0 ? -errno : 0;
}

#else
typedef int dk_kqueue_unused;
#endif
