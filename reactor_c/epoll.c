/*
 * epoll.c — the Linux poller behind the epoll backend (the engine is ready.c).
 *
 * fds are registered once with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET (edge-
 * triggered, never re-armed: ready.c retries ops until EAGAIN on each edge).
 * The wake source is a nonblocking eventfd registered level-triggered; the
 * poller drains it and reports it as an event with fd == -1.  dk_wake and the
 * file worker thread both write it.
 */
#include "reactor.h"

#if defined(__linux__)

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WAKE_KEY (1ull << 32)

struct dk_poller {
  int ep, efd;
  struct epoll_event evs[256];
};

int32_t poller_open(dk_poller **out) {
  dk_poller *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  p->ep = epoll_create1(EPOLL_CLOEXEC);
  p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data = {.u64 = WAKE_KEY}};
  if (p->ep < 0 || p->efd < 0 || epoll_ctl(p->ep, EPOLL_CTL_ADD, p->efd, &ev) < 0) {
    int32_t err = -errno;
    poller_close(p);
    return err;
  }
  *out = p;
  return 0;
}

void poller_close(dk_poller *p) {
  if (p->ep >= 0) close(p->ep);
  if (p->efd >= 0) close(p->efd);
  free(p);
}

int32_t poller_add(dk_poller *p, int fd) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                           .data = {.u64 = (uint32_t)fd}};
  if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
  if (errno == EEXIST && epoll_ctl(p->ep, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  return -errno;
}

void poller_del(dk_poller *p, int fd) { (void)epoll_ctl(p->ep, EPOLL_CTL_DEL, fd, NULL); }

int32_t poller_wait(dk_poller *p, dk_event *out, int32_t n, int32_t timeout_ms) {
  if (n > 256) n = 256;
  int k = epoll_wait(p->ep, p->evs, n, timeout_ms);
  if (k < 0) return -errno;
  for (int i = 0; i < k; i++) {
    uint32_t e = p->evs[i].events;
    if (p->evs[i].data.u64 == WAKE_KEY) {
      uint64_t v;
      while (read(p->efd, &v, sizeof v) > 0) {}
      out[i].fd = -1;
      out[i].mask = DK_POLL_IN;
      continue;
    }
    uint32_t m = 0;
    if (e & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) m |= DK_POLL_IN;
    if (e & EPOLLRDHUP) m |= DK_EV_RDHUP;
    if (e & EPOLLOUT) m |= DK_POLL_OUT;
    if (e & EPOLLERR) m |= DK_POLL_ERR;
    if (e & EPOLLHUP) m |= DK_POLL_HUP;
    out[i].fd = (int32_t)p->evs[i].data.u64;
    out[i].mask = m;
  }
  return k;
}

int32_t poller_fds(dk_poller *p, int32_t out[2]) {
  out[0] = p->ep;
  out[1] = p->efd;
  return 2;
}

int32_t poller_wake(dk_poller *p) {
  uint64_t one = 1;
  if (write(p->efd, &one, sizeof one) == (ssize_t)sizeof one || errno == EAGAIN) return 0;
  return -errno;
}

#else
typedef int dk_epoll_unused;
#endif
