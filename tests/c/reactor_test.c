/*
 * reactor_test.c — C-level tests of Dokio's reactor (reactor_c/), run against
 * every backend this host has (io_uring and epoll on Linux, kqueue on macOS).
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ireactor_c
 *          tests/c/(every .c) reactor_c/(every .c) -lpthread
 * (tests/c/run_c_tests.ts does this).
 * Prints one line per case and a final "N passed, M failed"; exits 1 on failure.
 * Network traffic goes to 127.0.0.1 only; every case cleans up its fds.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dokio.h"
#include "harness.h"

/* defects_test.c: regression cases of the review and fuzzing findings. */
void run_defect_cases(int backend);
void run_net_cases(int backend);
void run_fuzz_found_cases(int backend);

/* -------------------------------------------------------------- cases */

static int t_handles(int backend) {
  static struct dk_sqe sq[4];
  static struct dk_cqe cq[4];
  static struct dk_addr sa[4], ca[4];
  CHECK_EQ(dk_create(backend, 0, NULL, 4, cq, 4, sa, ca), -EINVAL);
  CHECK_EQ(dk_create(backend, 0, sq, 4, NULL, 4, sa, ca), -EINVAL);
  CHECK_EQ(dk_create(backend, 0, sq, 4, cq, 4, NULL, ca), -EINVAL);
  CHECK_EQ(dk_create(backend, 0, sq, 4, cq, 4, sa, NULL), -EINVAL);
  CHECK_EQ(dk_create(backend, 0, sq, 0, cq, 4, sa, ca), -EINVAL);
  CHECK_EQ(dk_create(backend, 0, sq, 4, cq, 0, sa, ca), -EINVAL);
  CHECK_EQ(dk_create(99, 0, sq, 4, cq, 4, sa, ca), -EINVAL);
  CHECK_EQ(dk_create(backend, 1u << 20, sq, 4, cq, 4, sa, ca), -EINVAL);
  CHECK_EQ(dk_submit(-1, 1), -EBADF);
  CHECK_EQ(dk_submit(0x12345, 1), -EBADF);
  CHECK_EQ(dk_wait(-7, 0), -EBADF);
  CHECK_EQ(dk_enter(-7, 0, 0), -EBADF);
  CHECK_EQ(dk_wake(-7), -EBADF);
  CHECK_EQ(dk_pending(-7), -EBADF);
  CHECK_EQ(dk_backend(-7), -EBADF);
  CHECK_EQ(dk_destroy(-7), -EBADF);
  int32_t h = dk_create(backend, 0, sq, 4, cq, 4, sa, ca);
  CHECK(h >= 0);
  CHECK_EQ(dk_backend(h), backend);
  CHECK_EQ(dk_submit(h, 5), -EINVAL); /* n > sq_cap */
  CHECK_EQ(dk_enter(h, 5, 0), -EINVAL);
  CHECK_EQ(dk_submit(h, 0), 0);
  CHECK_EQ(dk_wait(h, 0), 0);
  CHECK_EQ(dk_pending(h), 0);
  CHECK_EQ(dk_destroy(h), 0);
  /* stale handle after destroy */
  CHECK_EQ(dk_submit(h, 1), -EBADF);
  CHECK_EQ(dk_wait(h, 0), -EBADF);
  CHECK_EQ(dk_wake(h), -EBADF);
  CHECK_EQ(dk_pending(h), -EBADF);
  CHECK_EQ(dk_destroy(h), -EBADF);
  /* the slot is reused with a new generation: the old handle stays dead */
  int32_t h2 = dk_create(backend, 0, sq, 4, cq, 4, sa, ca);
  CHECK(h2 >= 0 && h2 != h);
  CHECK_EQ(dk_submit(h, 1), -EBADF);
  CHECK_EQ(dk_destroy(h2), 0);
  return 1;
}

static int t_records(int backend) {
  ctx *c = ctx_new(backend, 0, 64);
  CHECK(c);
  char buf[16];
  struct dk_addr bad = loopback(1);
  bad.family = 5;
  uint32_t tok[16];
  int32_t want[16];
  uint32_t n = 0;
#define R(op, fd, b, len, arg, w) (tok[n] = rec(c, n, op, fd, b, len, arg), want[n] = (w), n++)
  R(200, 0, NULL, 0, 0, -EINVAL);                                   /* unknown op */
  R(DK_OP_RECV, -1, buf, sizeof buf, 0, -EBADF);                    /* negative fd */
  R(DK_OP_RECV, 0, NULL, 10, 0, -EFAULT);                           /* null buffer */
  R(DK_OP_SEND, 0, buf, DK_MAX_LEN + 1u, 0, -EINVAL);               /* len > max */
  R(DK_OP_NOP, -1, NULL, 0, 0, 0);                                  /* a good one between */
  R(DK_OP_CONNECT, -1, NULL, 0, 0, -EFAULT);                        /* null dk_addr */
  R(DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&bad, -EINVAL); /* bad family */
  R(DK_OP_SENDTO, 0, buf, 1, (uint64_t)(uintptr_t)&bad, -EINVAL);
  R(DK_OP_LISTEN, -1, NULL, 0, 0, -EFAULT);
  R(DK_OP_OPEN, -1, NULL, 0, 0, -EFAULT);
  R(DK_OP_POLL, 0, NULL, 0, 0, -EINVAL);                            /* empty mask */
  R(DK_OP_SHUTDOWN, 0, NULL, 3, 0, -EINVAL);
  R(DK_OP_CANCEL, -1, NULL, 0, 777777, -ENOENT);                    /* no such token */
  R(DK_OP_CLOSE, -5, NULL, 0, 0, -EBADF);
#undef R
  CHECK_EQ(dk_submit(c->h, n), (int32_t)n);
  for (uint32_t k = 0; k < n; k++) {
    struct dk_cqe e;
    CHECK(await_token(c, tok[k], &e));
    if (e.result != want[k]) fprintf(stderr, "    record %u: %d != %d\n", k, e.result, want[k]);
    CHECK_EQ(e.result, want[k]);
    CHECK_EQ(e.op, c->sq[k].op);
  }
  CHECK_EQ(dk_pending(c->h), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_helpers(int backend) {
  (void)backend;
  uint32_t lay[32];
  CHECK_EQ(dk_layout(lay, 32), 15);
  CHECK_EQ(lay[0], DK_ABI_VERSION);
  CHECK_EQ(lay[1], 40);
  CHECK_EQ(lay[2], 16);
  CHECK_EQ(lay[3], 32);
  CHECK_EQ(lay[9], 16); /* sqe.addr */
  CHECK_EQ(lay[10], 24); /* sqe.arg */
  CHECK_EQ(dk_layout(lay, 2), 2);
  CHECK_EQ(dk_layout(NULL, 3), -EFAULT);
  CHECK(strcmp(dk_errno_name(ECONNRESET), "ECONNRESET") == 0);
  CHECK(strcmp(dk_errno_name(-EPIPE), "EPIPE") == 0);
  CHECK(strcmp(dk_errno_name(99999), "E?") == 0);
  struct dk_addr a;
  CHECK_EQ(dk_local_addr(-1, &a), -EBADF);
  CHECK_EQ(dk_local_addr(0, NULL), -EFAULT);
  CHECK_EQ(dk_peer_addr(-1, &a), -EBADF);
  CHECK_EQ(dk_setsockopt(-1, DK_SOCKOPT_NODELAY, 1), -EBADF);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(s >= 0);
  CHECK_EQ(dk_setsockopt(s, 99, 1), -EINVAL);
  CHECK_EQ(dk_setsockopt(s, DK_SOCKOPT_NODELAY, 1), 0);
  CHECK_EQ(dk_peer_addr(s, &a), -ENOTCONN);
  CHECK_EQ(dk_close(s), 0);
  CHECK_EQ(dk_close(-1), -EBADF);
  return 1;
}

/* Read exactly n bytes from fd into buf through c. */
static int recv_exact(ctx *c, int fd, char *buf, int n) {
  int got = 0;
  while (got < n) {
    int32_t r = one(c, DK_OP_RECV, fd, buf + got, (uint32_t)(n - got), 0);
    CHECK(r > 0);
    got += r;
  }
  return 1;
}

/* 64-byte round trips srv -> cli -> srv through c. */
static int ping_pong(ctx *c, int srv, int cli, int rounds) {
  char in[64], out[64];
  for (int k = 0; k < rounds; k++) {
    memset(out, 'A' + k % 26, sizeof out);
    CHECK_EQ(one(c, DK_OP_SEND, srv, out, sizeof out, 0), 64);
    CHECK(recv_exact(c, cli, in, 64));
    CHECK(memcmp(in, out, 64) == 0);
    CHECK_EQ(one(c, DK_OP_SEND, cli, in, sizeof in, 0), 64);
    CHECK(recv_exact(c, srv, out, 64));
    CHECK(memcmp(in, out, 64) == 0);
  }
  return 1;
}

static int t_echo(int backend) {
  ctx *c = ctx_new(backend, 0, 64);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  CHECK_EQ(dk_setsockopt(cli, DK_SOCKOPT_NODELAY, 1), 0);
  char in[64] = {0};
  /* recv posted before the data exists, send in the same batch */
  uint32_t tr = rec(c, 0, DK_OP_RECV, srv, in, sizeof in, 0);
  uint32_t ts = rec(c, 1, DK_OP_SEND, cli, "hello", 5, 0);
  int32_t ne = dk_enter(c->h, 2, 1000); /* submit + wait in one call */
  CHECK(ne >= 1);
  for (int k = 0; k < ne; k++) c->seen[c->n_seen++] = c->cq[k];
  struct dk_cqe e;
  CHECK(await_token(c, ts, &e));
  CHECK_EQ(e.result, 5);
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(e.result, 5);
  CHECK(memcmp(in, "hello", 5) == 0);
  /* and back, 1,000 round trips of 64 bytes */
  CHECK(ping_pong(c, srv, cli, 1000));
  /* POLL OUT on a connected socket is ready */
  int32_t pr = one(c, DK_OP_POLL, cli, NULL, DK_POLL_OUT, 0);
  CHECK(pr > 0 && (pr & DK_POLL_OUT));
  /* shutdown(write) → peer reads EOF */
  CHECK_EQ(one(c, DK_OP_SHUTDOWN, cli, NULL, 1, 0), 0);
  CHECK_EQ(one(c, DK_OP_RECV, srv, in, sizeof in, 0), 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, cli, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, srv, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, lfd, NULL, 0, 0), 0);
  CHECK_EQ(dk_pending(c->h), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* A short read empties the receive queue, so the next RECV may wait for an edge without trying
 * first (ready.c's drained mark; io_uring's POLL_FIRST): it must still see bytes sent after it,
 * the end of stream that came with the bytes of the short read, and one that comes later. */
static int t_short_reads(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  char in[64];
  /* short, then a RECV posted before the next bytes exist */
  CHECK_EQ(one(c, DK_OP_SEND, cli, "abc", 3, 0), 3);
  CHECK_EQ(one(c, DK_OP_RECV, srv, in, sizeof in, 0), 3);
  uint32_t tr = rec(c, 0, DK_OP_RECV, srv, in, sizeof in, 0);
  CHECK(dk_submit(c->h, 1) >= 0);
  CHECK_EQ(collect(c, 20), 0); /* nothing yet: it waits */
  CHECK_EQ(one(c, DK_OP_SEND, cli, "defg", 4, 0), 4);
  struct dk_cqe e;
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(e.result, 4);
  CHECK(memcmp(in, "defg", 4) == 0);
  /* bytes and the end of stream in one edge, taken by a waiting RECV: a short read, then 0 */
  tr = rec(c, 0, DK_OP_RECV, srv, in, sizeof in, 0);
  CHECK(dk_submit(c->h, 1) >= 0);
  CHECK_EQ(collect(c, 20), 0);
  CHECK_EQ(send(cli, "hi", 2, MSG_NOSIGNAL), 2); /* straight to the kernel: both arrive first */
  CHECK_EQ(shutdown(cli, SHUT_WR), 0);
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(e.result, 2);
  CHECK_EQ(one(c, DK_OP_RECV, srv, in, sizeof in, 0), 0);
  CHECK_EQ(one(c, DK_OP_RECV, srv, in, sizeof in, 0), 0);
  /* the other way: short read, then the end of stream alone, later */
  CHECK_EQ(one(c, DK_OP_SEND, srv, "xyz", 3, 0), 3);
  CHECK_EQ(one(c, DK_OP_RECV, cli, in, sizeof in, 0), 3);
  tr = rec(c, 0, DK_OP_RECV, cli, in, sizeof in, 0);
  CHECK(dk_submit(c->h, 1) >= 0);
  CHECK_EQ(collect(c, 20), 0);
  CHECK_EQ(one(c, DK_OP_SHUTDOWN, srv, NULL, 1, 0), 0);
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(e.result, 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, cli, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, srv, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, lfd, NULL, 0, 0), 0);
  CHECK_EQ(dk_pending(c->h), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_ipv6(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  struct dk_addr any;
  memset(&any, 0, sizeof any);
  any.family = 6;
  any.addr[15] = 1; /* ::1 */
  int l = one(c, DK_OP_LISTEN, -1, NULL, 8, (uint64_t)(uintptr_t)&any);
  if (l == -EADDRNOTAVAIL || l == -EAFNOSUPPORT) {
    printf("     (no IPv6 loopback here: %s)\n", dk_errno_name(-l));
    CHECK_EQ(ctx_free(c), 0);
    return 1;
  }
  CHECK(l >= 0);
  struct dk_addr local, peer;
  CHECK_EQ(dk_local_addr(l, &local), 0);
  CHECK_EQ(local.family, 6);
  CHECK_EQ(local.addr[15], 1);
  uint32_t ta = rec(c, 0, DK_OP_ACCEPT, l, NULL, 0, (uint64_t)(uintptr_t)&peer);
  uint32_t tc = rec(c, 1, DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&local);
  CHECK_EQ(dk_submit(c->h, 2), 2);
  struct dk_cqe ea, ec;
  CHECK(await_token(c, ta, &ea));
  CHECK(await_token(c, tc, &ec));
  CHECK(ea.result >= 0 && ec.result >= 0);
  CHECK_EQ(peer.family, 6);
  CHECK_EQ(peer.addr[15], 1);
  dk_close(ea.result);
  dk_close(ec.result);
  dk_close(l);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_connect_refused(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  /* find a free port: bind, read it, close */
  struct dk_addr any = loopback(0), local;
  int l = one(c, DK_OP_LISTEN, -1, NULL, 1, (uint64_t)(uintptr_t)&any);
  CHECK(l >= 0);
  CHECK_EQ(dk_local_addr(l, &local), 0);
  CHECK_EQ(dk_close(l), 0);
  struct dk_addr to = loopback(local.port);
  CHECK_EQ(one(c, DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&to), -ECONNREFUSED);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_reset(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  struct linger lg = {1, 0};
  CHECK_EQ(setsockopt(cli, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  char buf[32];
  uint32_t tr = rec(c, 0, DK_OP_RECV, srv, buf, sizeof buf, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(dk_close(cli), 0); /* RST */
  struct dk_cqe e;
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(e.result, -ECONNRESET);
  /* writes to the reset socket fail, and SIGPIPE (default action here) must not fire */
  int32_t r = 0;
  for (int k = 0; k < 4 && r >= 0; k++) r = one(c, DK_OP_SEND, srv, "x", 1, 0);
  CHECK(r == -EPIPE || r == -ECONNRESET);
  CHECK_EQ(one(c, DK_OP_CLOSE, srv, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, lfd, NULL, 0, 0), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* In a child: fill the fd table, then ACCEPT and CONNECT must report -EMFILE. */
static int emfile_child(int backend) {
  ctx *c = ctx_new(backend, 8, 16);
  CHECK(c);
  struct dk_addr any = loopback(0), local;
  int l = one(c, DK_OP_LISTEN, -1, NULL, 16, (uint64_t)(uintptr_t)&any);
  CHECK(l >= 0);
  CHECK_EQ(dk_local_addr(l, &local), 0);
  /* a connection waiting in the backlog, made with plain blocking calls */
  int raw = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(local.port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(connect(raw, (struct sockaddr *)&sin, sizeof sin), 0);
  struct rlimit rl;
  CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = 64;
  CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
  int last = -1;
  for (;;) {
    int d = dup(0);
    if (d < 0) break;
    last = d;
  }
  CHECK(last >= 0);
  CHECK_EQ(one(c, DK_OP_ACCEPT, l, NULL, 0, 0), -EMFILE);
  struct dk_addr to = loopback(local.port);
  CHECK_EQ(one(c, DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&to), -EMFILE);
  close(last); /* one slot free: the accept now succeeds */
  int a = one(c, DK_OP_ACCEPT, l, NULL, 0, 0);
  CHECK(a >= 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_emfile(int backend) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) _exit(emfile_child(backend) ? 0 : 1);
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  return 1;
}

static int t_cancel(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  char buf[32];
  uint32_t tr = rec(c, 0, DK_OP_RECV, srv, buf, sizeof buf, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(collect(c, 20), 0); /* nothing yet: it is pending */
  CHECK_EQ(dk_pending(c->h), 1);
  uint32_t tc = rec(c, 0, DK_OP_CANCEL, -1, NULL, 0, tr);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  struct dk_cqe e;
  CHECK(await_token(c, tc, &e));
  CHECK_EQ(e.result, 0);
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(e.result, -ECANCELED);
  CHECK(e.flags & DK_CQE_F_CANCELED);
  CHECK_EQ(dk_pending(c->h), 0);
  /* cancelling again: no such op */
  CHECK_EQ(one(c, DK_OP_CANCEL, -1, NULL, 0, tr), -ENOENT);
  /* the buffer is ours again: reuse it for a real receive */
  memset(buf, 0, sizeof buf);
  CHECK_EQ(one(c, DK_OP_SEND, cli, "xyz", 3, 0), 3);
  CHECK_EQ(one(c, DK_OP_RECV, srv, buf, sizeof buf, 0), 3);
  CHECK(memcmp(buf, "xyz", 3) == 0);
  /* cancel a pending accept too */
  uint32_t ta = rec(c, 0, DK_OP_ACCEPT, lfd, NULL, 0, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(one(c, DK_OP_CANCEL, -1, NULL, 0, ta), 0);
  CHECK(await_token(c, ta, &e));
  CHECK_EQ(e.result, -ECANCELED);
  dk_close(srv);
  dk_close(cli);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int batch_case(int backend, uint32_t entries, uint32_t cq_cap, uint8_t op) {
  ctx *c = ctx_new(backend, entries, cq_cap);
  CHECK(c);
  static uint8_t seen[1001];
  memset(seen, 0, sizeof seen);
  c->next_token = 1;
  for (uint32_t k = 0; k < 1000; k++) rec(c, k, op, -1, NULL, 0, 0);
  CHECK_EQ(dk_submit(c->h, 1000), 1000);
  uint32_t got = 0;
  int waits = 0;
  int64_t end = now_us() + 5000000;
  while (got < 1000 && now_us() < end) {
    int n = dk_wait(c->h, 100);
    CHECK(n >= 0);
    CHECK(n <= (int)cq_cap);
    if (n > 0) waits++;
    for (int k = 0; k < n; k++) {
      uint32_t t = c->cq[k].token;
      CHECK(t >= 1 && t <= 1000);
      CHECK_EQ(seen[t], 0);
      CHECK_EQ(c->cq[k].result, 0);
      CHECK_EQ(c->cq[k].op, op);
      seen[t] = 1;
      got++;
    }
  }
  CHECK_EQ(got, 1000);
  if (cq_cap < 1000) CHECK(waits >= (int)(1000 / cq_cap));
  CHECK_EQ(dk_pending(c->h), 0);
  CHECK_EQ(dk_wait(c->h, 0), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_batch(int backend) {
  CHECK(batch_case(backend, 0, 1024, DK_OP_NOP));
  CHECK(batch_case(backend, 32, 64, DK_OP_NOP)); /* small ring and small cq */
  return 1;
}

/* 10,000 completions outstanding at once: more than the kernel CQ ring holds. */
static int t_overflow(int backend) {
  ctx *c = ctx_new(backend, 8, 64);
  CHECK(c);
  static uint8_t seen[10001];
  memset(seen, 0, sizeof seen);
  for (uint32_t round = 0; round < 10; round++) {
    for (uint32_t k = 0; k < 1000; k++) rec(c, k, DK_OP_NOP, -1, NULL, 0, 0);
    CHECK_EQ(dk_submit(c->h, 1000), 1000);
  }
  CHECK_EQ(dk_pending(c->h), 10000);
  uint32_t got = 0;
  int64_t end = now_us() + 10000000;
  while (got < 10000 && now_us() < end) {
    int n = dk_wait(c->h, 100);
    CHECK(n >= 0 && n <= 64);
    for (int k = 0; k < n; k++) {
      uint32_t t = c->cq[k].token;
      CHECK(t >= 1 && t <= 10000);
      CHECK_EQ(seen[t], 0);
      seen[t] = 1;
      got++;
    }
  }
  CHECK_EQ(got, 10000);
  CHECK_EQ(dk_pending(c->h), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

typedef struct waiter_arg {
  ctx *c;
  int32_t n;
} waiter_arg;

static void *waiter(void *p) {
  waiter_arg *w = p;
  w->n = dk_wait(w->c->h, 5000);
  return NULL;
}

/* Deno's model: ops submitted on one thread, dk_wait blocking on another while the
 * submitting thread sleeps. */
static int t_cross_thread_wait(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  char buf[16];
  uint32_t tr = rec(c, 0, DK_OP_RECV, srv, buf, sizeof buf, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  waiter_arg w = {c, -1};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, waiter, &w), 0);
  struct timespec d = {0, 20 * 1000000};
  nanosleep(&d, NULL);
  CHECK_EQ(send(cli, "ping", 4, 0), 4);
  nanosleep(&d, NULL); /* this thread sleeps while the other one gets the completion */
  pthread_join(th, NULL);
  CHECK_EQ(w.n, 1);
  CHECK_EQ(c->cq[0].token, tr);
  CHECK_EQ(c->cq[0].result, 4);
  dk_close(srv);
  dk_close(cli);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

typedef struct wake_arg {
  int32_t h;
  int64_t woke_at;
} wake_arg;

static void *waker(void *p) {
  wake_arg *w = p;
  struct timespec d = {0, 50 * 1000000};
  nanosleep(&d, NULL);
  w->woke_at = now_us();
  dk_wake(w->h);
  return NULL;
}

static int t_wake(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  wake_arg w = {c->h, 0};
  pthread_t th;
  int64_t t0 = now_us();
  CHECK_EQ(pthread_create(&th, NULL, waker, &w), 0);
  int32_t n = dk_wait(c->h, -1);
  int64_t t1 = now_us();
  pthread_join(th, NULL);
  CHECK_EQ(n, 0);
  CHECK(t1 - t0 >= 40000);
  if (t1 - w.woke_at > 50000) fprintf(stderr, "    wake latency %lld us\n", (long long)(t1 - w.woke_at));
  CHECK(t1 - w.woke_at < 50000);
  /* a wake before the wait is not lost: the next wait returns at once */
  CHECK_EQ(dk_wake(c->h), 0);
  int64_t t2 = now_us();
  CHECK_EQ(dk_wait(c->h, 2000), 0);
  CHECK(now_us() - t2 < 1000000);
  /* a timeout is honoured */
  t2 = now_us();
  CHECK_EQ(dk_wait(c->h, 30), 0);
  CHECK(now_us() - t2 >= 25000);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* Spin on timeout-0 waits until token completes (bounded 5 s); 1 if it did. */
static int spin_token(ctx *c, uint32_t token, struct dk_cqe *out) {
  int64_t end = now_us() + 5000000;
  while (now_us() < end) {
    for (uint32_t k = 0; k < c->n_seen; k++) {
      if (c->seen[k].token == token) {
        *out = c->seen[k];
        memmove(&c->seen[k], &c->seen[k + 1], (c->n_seen - k - 1) * sizeof c->seen[0]);
        c->n_seen--;
        return 1;
      }
    }
    if (collect(c, 0) < 0) return 0;
  }
  return 0;
}

/* dk_clock_ms: monotonic, in milliseconds, and in step with CLOCK_MONOTONIC
 * (backend-independent; run once per backend like the rest). */
static int t_clock(int backend) {
  (void)backend;
  double prev = dk_clock_ms();
  CHECK(prev > 0);
  for (int i = 0; i < 100000; i++) {
    double t = dk_clock_ms();
    CHECK(t >= prev);
    prev = t;
  }
  struct timespec ts = {0, 20 * 1000 * 1000};
  double t0 = dk_clock_ms();
  nanosleep(&ts, NULL);
  double dt = dk_clock_ms() - t0;
  CHECK(dt >= 19.9 && dt < 2000);
  return 1;
}

/* The idle fast path (ready.c skips the kernel for timeout 0 when nothing is pending) must
 * not lose anything: ops, socket readiness, file-worker results and wakes still arrive. */
static int t_idle_poll(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  /* nothing pending: timeout-0 waits return 0 at once */
  int64_t t0 = now_us();
  for (int k = 0; k < 10000; k++) CHECK_EQ(dk_wait(c->h, 0), 0);
  CHECK_EQ(dk_enter(c->h, 0, 0), 0);
  CHECK(now_us() - t0 < 2000000);
  /* a later op still completes, also through dk_enter with timeout 0 */
  uint32_t tn = rec(c, 0, DK_OP_NOP, -1, NULL, 0, 0);
  CHECK_EQ(dk_enter(c->h, 1, 0), 1);
  CHECK_EQ(c->cq[0].token, tn);
  CHECK_EQ(dk_wait(c->h, 0), 0);
  /* an op waiting for readiness completes by timeout-0 polling alone */
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  CHECK_EQ(dk_wait(c->h, 0), 0);
  char buf[16];
  uint32_t tr = rec(c, 0, DK_OP_RECV, srv, buf, sizeof buf, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(collect(c, 0), 0);
  CHECK_EQ(send(cli, "ping", 4, 0), 4);
  struct dk_cqe e;
  CHECK(spin_token(c, tr, &e));
  CHECK_EQ(e.result, 4);
  CHECK(memcmp(buf, "ping", 4) == 0);
  /* a file-worker result arrives by timeout-0 polling alone */
  uint32_t to = rec(c, 0, DK_OP_OPEN, -1, "/dev/null", DK_O_RDONLY, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK(spin_token(c, to, &e));
  CHECK(e.result >= 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, e.result, NULL, 0, 0), 0);
  /* readiness backends: a wake is consumed by the next timeout-0 wait (it reaches the kernel
   * although nothing else is pending), not left to end a later wait early.  io_uring keeps a
   * wake until a wait that blocks, so it is not held to this. */
  if (backend != DK_BACKEND_IO_URING) {
    CHECK_EQ(dk_wake(c->h), 0);
    CHECK_EQ(dk_wait(c->h, 0), 0);
    int64_t t1 = now_us();
    CHECK_EQ(dk_wait(c->h, 40), 0);
    CHECK(now_us() - t1 >= 30000);
  }
  /* after idle timeout-0 waits, a blocking wait still blocks and is woken by dk_wake */
  for (int k = 0; k < 100; k++) CHECK_EQ(dk_wait(c->h, 0), 0);
  wake_arg w = {c->h, 0};
  pthread_t th;
  int64_t t2 = now_us();
  CHECK_EQ(pthread_create(&th, NULL, waker, &w), 0);
  int32_t n = dk_wait(c->h, 5000);
  int64_t t3 = now_us();
  pthread_join(th, NULL);
  CHECK_EQ(n, 0);
  CHECK(t3 - t2 >= 40000);
  CHECK(t3 - t2 < 4000000);
  dk_close(srv);
  dk_close(cli);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_file(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  char path[64];
  snprintf(path, sizeof path, "/tmp/dokio_reactor_test_%d_%d", (int)getpid(), backend);
  int fd = one(c, DK_OP_OPEN, -1, path, DK_O_RDWR | DK_O_CREAT | DK_O_TRUNC, 0644);
  CHECK(fd >= 0);
  const char *msg = "hello, file";
  CHECK_EQ(one(c, DK_OP_WRITE, fd, msg, (uint32_t)strlen(msg), 0), (int32_t)strlen(msg));
  char buf[32] = {0};
  CHECK_EQ(one(c, DK_OP_READ, fd, buf, sizeof buf, 0), (int32_t)strlen(msg));
  CHECK(memcmp(buf, msg, strlen(msg)) == 0);
  memset(buf, 0, sizeof buf);
  CHECK_EQ(one(c, DK_OP_READ, fd, buf, 4, 7), 4); /* at an offset */
  CHECK(memcmp(buf, "file", 4) == 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, fd, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_OPEN, -1, "/nonexistent/dokio/x", DK_O_RDONLY, 0), -ENOENT);
  unlink(path);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* One whole-file record (READ_FILE / WRITE_FILE, flags = DK_O_*, fd = mode); its completion. */
static struct dk_cqe whole(ctx *c, uint8_t op, const char *path, uint16_t flags, int32_t mode,
                           void *buf, uint32_t len) {
  uint32_t t = rec(c, 0, op, mode, path, len, (uint64_t)(uintptr_t)buf);
  c->sq[0].flags = flags;
  struct dk_cqe e = {0, -99999, 0, 0};
  if (dk_submit(c->h, 1) == 1) await_token(c, t, &e);
  return e;
}

static int t_whole_file(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int base = count_fds();
  char path[96], fifo[96];
  snprintf(path, sizeof path, "/tmp/dokio_whole_test_%d_%d", (int)getpid(), backend);
  snprintf(fifo, sizeof fifo, "%s.fifo", path);
  const uint16_t create = DK_O_WRONLY | DK_O_CREAT | DK_O_TRUNC;
  struct dk_cqe e = whole(c, DK_OP_WRITE_FILE, path, create, 0600, "hello, ", 7);
  CHECK_EQ(e.result, 7);
  CHECK_EQ(e.flags, 0u);
  CHECK_EQ(e.op, (uint32_t)DK_OP_WRITE_FILE);
  struct stat st;
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  e = whole(c, DK_OP_WRITE_FILE, path, DK_O_WRONLY | DK_O_APPEND, 0, "file", 4);
  CHECK_EQ(e.result, 4);
  char buf[64] = {0};
  e = whole(c, DK_OP_READ_FILE, path, 0, 0, buf, sizeof buf);
  CHECK_EQ(e.result, 11);
  CHECK_EQ(e.flags, 0u);
  CHECK(memcmp(buf, "hello, file", 11) == 0);
  /* no room for the end: nothing is taken as the whole file */
  e = whole(c, DK_OP_READ_FILE, path, 0, 0, buf, 11);
  CHECK_EQ(e.result, 0);
  CHECK_EQ(e.flags, DK_CQE_F_MORE);
  /* not regular: left to OPEN and READ/WRITE */
  e = whole(c, DK_OP_READ_FILE, "/tmp", 0, 0, buf, sizeof buf);
  CHECK_EQ(e.result, 0);
  CHECK_EQ(e.flags, DK_CQE_F_MORE);
  CHECK(mkfifo(fifo, 0600) == 0);
  e = whole(c, DK_OP_READ_FILE, fifo, 0, 0, buf, sizeof buf);
  CHECK_EQ(e.flags, DK_CQE_F_MORE);
  unlink(fifo);
  /* errors of the open, and invalid records */
  CHECK_EQ(whole(c, DK_OP_READ_FILE, "/nonexistent/dokio/x", 0, 0, buf, 8).result, -ENOENT);
  CHECK_EQ(whole(c, DK_OP_WRITE_FILE, path, create | DK_O_EXCL, 0600, "x", 1).result, -EEXIST);
  CHECK_EQ(whole(c, DK_OP_READ_FILE, path, 0, 0, buf, 0).result, -EINVAL);
  CHECK_EQ(whole(c, DK_OP_READ_FILE, path, 0, 0, NULL, 8).result, -EFAULT);
  CHECK_EQ(whole(c, DK_OP_READ_FILE, NULL, 0, 0, buf, 8).result, -EFAULT);
  CHECK_EQ(whole(c, DK_OP_READ_FILE, path, 1, 0, buf, 8).result, -EINVAL);
  CHECK_EQ(whole(c, DK_OP_WRITE_FILE, path, DK_O_RDONLY, 0, "x", 1).result, -EINVAL);
  CHECK_EQ(whole(c, DK_OP_WRITE_FILE, path, create, 010000, "x", 1).result, -EINVAL);
  CHECK_EQ(whole(c, DK_OP_WRITE_FILE, path, create, 0600, NULL, 1).result, -EFAULT);
  CHECK_EQ(whole(c, DK_OP_WRITE_FILE, path, create, 0600, NULL, 0).result, 0); /* truncates */
  CHECK(stat(path, &st) == 0 && st.st_size == 0);
  /* many at once, each cancelled at once: every one completes, no fd stays open */
  enum { MANY = 12 };
  static char bufs[MANY][64];
  uint32_t toks[MANY];
  for (uint32_t k = 0; k < MANY; k++) {
    toks[k] = rec(c, 2 * k, DK_OP_READ_FILE, -1, path, 64, (uint64_t)(uintptr_t)bufs[k]);
    rec(c, 2 * k + 1, DK_OP_CANCEL, -1, NULL, 0, toks[k]);
  }
  CHECK_EQ(dk_submit(c->h, 2 * MANY), 2 * MANY);
  for (uint32_t k = 0; k < MANY; k++) {
    CHECK(await_token(c, toks[k], &e));
    CHECK(e.result == 0 || e.result == -ECANCELED);
  }
  CHECK_EQ(count_fds(), base);
  unlink(path);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/*
 * While a whole-file op holds the file it opened, records naming that number are the reactor's to
 * refuse (-EBADF), as for its own fds: a forged CLOSE must not close the op's file under it, nor a
 * READ read it.  On io_uring the number is marked FD_FILE_OP; on epoll/kqueue the file worker
 * publishes it to the reactor thread under a lock (ready.c).  A large file keeps the job open long
 * enough that records land inside it; a record counts as landing inside when the number was open
 * both before and after its submit (only the job opens files here), and some must.
 */
static int t_whole_file_claim(int backend) {
  ctx *c = ctx_new(backend, 0, 64);
  CHECK(c);
  int base = count_fds();
  char path[96];
  snprintf(path, sizeof path, "/tmp/dokio_whole_claim_%d_%d", (int)getpid(), backend);
  enum { SIZE = 8 << 20, ROUNDS = 200 };
  uint8_t *data = malloc(SIZE), *got = malloc(SIZE + 1);
  CHECK(data && got);
  for (uint32_t k = 0; k < SIZE; k++) data[k] = (uint8_t)(k * 131u + 7u);
  int w = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  CHECK(w >= 0);
  CHECK_EQ(write(w, data, SIZE), SIZE);
  CHECK_EQ(fsync(w), 0); /* clean pages, so each round can drop them */
  int n = open("/dev/null", O_RDONLY); /* the number the job's open will get */
  CHECK(n >= 0);
  close(n);
  char small[16];
  int inside = 0;
  for (int round = 0; round < ROUNDS && inside < 8; round++) {
#if defined(POSIX_FADV_DONTNEED)
    /* Not in the page cache: epoll's READ_FILE cannot be done inline on the reactor thread
     * (ready.c), so a worker holds the file while the records below land. */
    CHECK_EQ(posix_fadvise(w, 0, 0, POSIX_FADV_DONTNEED), 0);
#endif
    uint32_t t = rec(c, 0, DK_OP_READ_FILE, -1, path, SIZE + 1, (uint64_t)(uintptr_t)got);
    CHECK_EQ(dk_submit(c->h, 1), 1);
    struct dk_cqe e;
    for (;;) {
      int before = fd_open(n);
      uint32_t tc = rec(c, 0, DK_OP_CLOSE, n, NULL, 0, 0);
      uint32_t tr = rec(c, 1, DK_OP_READ, n, small, sizeof small, UINT64_MAX);
      CHECK_EQ(dk_submit(c->h, 2), 2);
      if (before && fd_open(n)) inside++;
      struct dk_cqe ec, er;
      CHECK(await_token(c, tc, &ec));
      CHECK(await_token(c, tr, &er));
      CHECK_EQ(ec.result, -EBADF);
      CHECK_EQ(er.result, -EBADF);
      if (await_token_ms(c, t, &e, 0)) break;
    }
    CHECK_EQ(e.result, SIZE);
    CHECK_EQ(e.flags, 0u);
    CHECK(memcmp(got, data, SIZE) == 0);
    CHECK(!fd_open(n));
  }
  CHECK(inside > 0);
  close(w);
  CHECK_EQ(count_fds(), base);
  unlink(path);
  free(data);
  free(got);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* Threads of this process (Linux /proc; -1 elsewhere). */
static int count_threads(void) {
#if defined(__linux__)
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[128];
  int n = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1) break;
  fclose(f);
  return n;
#else
  return -1;
#endif
}

/*
 * dk_file_workers: its bounds; a pool of 4 runs 48 whole-file writes and reads of distinct files
 * (contents right, no fd left, never more than 4 threads started); cursor WRITEs on one fd, all in
 * one submission, still land in submission order, and a READ after them in that submission sees
 * them all (epoll/kqueue: jobs on one fd run one at a time, and a cached READ skips the pool only
 * when its fd has none); the pool cannot shrink below the threads it started.  io_uring accepts n
 * and ignores it.
 */
static int t_file_pool(int backend) {
  ctx *c = ctx_new(backend, 0, 128);
  CHECK(c);
  CHECK_EQ(dk_file_workers(-7, 2), -EBADF);
  CHECK_EQ(dk_file_workers(c->h, 0), -EINVAL);
  CHECK_EQ(dk_file_workers(c->h, -1), -EINVAL);
  CHECK_EQ(dk_file_workers(c->h, DK_FILE_WORKERS_MAX + 1), -EINVAL);
  int threads0 = count_threads();
  CHECK_EQ(dk_file_workers(c->h, 4), 0);
  int base = count_fds();
  enum { FILES = 48, LEN = 3000 };
  static char paths[FILES][96];
  static uint8_t data[FILES][LEN], got[FILES][LEN + 1];
  uint32_t toks[FILES];
  for (uint32_t k = 0; k < FILES; k++) {
    snprintf(paths[k], sizeof paths[k], "/tmp/dokio_pool_%d_%d_%u", (int)getpid(), backend, k);
    memset(data[k], (int)('A' + k % 26), LEN);
    data[k][0] = (uint8_t)k;
    toks[k] = rec(c, k, DK_OP_WRITE_FILE, 0600, paths[k], LEN, (uint64_t)(uintptr_t)data[k]);
    c->sq[k].flags = DK_O_WRONLY | DK_O_CREAT | DK_O_TRUNC;
  }
  CHECK_EQ(dk_submit(c->h, FILES), FILES);
  struct dk_cqe e;
  for (uint32_t k = 0; k < FILES; k++) {
    CHECK(await_token(c, toks[k], &e));
    CHECK_EQ(e.result, LEN);
  }
  for (uint32_t k = 0; k < FILES; k++)
    toks[k] = rec(c, k, DK_OP_READ_FILE, -1, paths[k], LEN + 1, (uint64_t)(uintptr_t)got[k]);
  CHECK_EQ(dk_submit(c->h, FILES), FILES);
  for (uint32_t k = 0; k < FILES; k++) {
    CHECK(await_token(c, toks[k], &e));
    CHECK_EQ(e.result, LEN);
    CHECK(memcmp(got[k], data[k], LEN) == 0);
  }
  CHECK_EQ(count_fds(), base);
  int started = threads0 < 0 ? -1 : count_threads() - threads0;
  /* An upper bound only: threads an earlier io_uring case left (io-wq) may exit meanwhile. */
  if (started >= 0 && backend != DK_BACKEND_IO_URING) CHECK(started <= 4);
  /* 40 cursor writes on one fd in one submission, then a read of them all: the writes land in
   * submission order, and the read, though its pages may be cached, waits for them (a READ is
   * done on the reactor thread only when no job on its fd is queued or running) */
  if (backend != DK_BACKEND_IO_URING) {
    int32_t fd = one(c, DK_OP_OPEN, -1, paths[0], DK_O_RDWR | DK_O_TRUNC, 0);
    CHECK(fd >= 0);
    enum { WRITES = 40, CHUNK = 64 };
    static uint8_t chunks[WRITES][CHUNK];
    static uint8_t all[WRITES * CHUNK + 1];
    for (uint32_t k = 0; k < WRITES; k++) {
      memset(chunks[k], (int)k + 1, CHUNK);
      toks[k] = rec(c, k, DK_OP_WRITE, fd, chunks[k], CHUNK, UINT64_MAX);
    }
    uint32_t tr = rec(c, WRITES, DK_OP_READ, fd, all, sizeof all, 0);
    CHECK_EQ(dk_submit(c->h, WRITES + 1), WRITES + 1);
    for (uint32_t k = 0; k < WRITES; k++) {
      CHECK(await_token(c, toks[k], &e));
      CHECK_EQ(e.result, CHUNK);
    }
    CHECK(await_token(c, tr, &e));
    CHECK_EQ(e.result, WRITES * CHUNK);
    CHECK_EQ(one(c, DK_OP_CLOSE, fd, NULL, 0, 0), 0);
    for (uint32_t k = 0; k < WRITES * CHUNK; k++) CHECK_EQ(all[k], (uint8_t)(k / CHUNK + 1));
    /* the threads it started stay: the pool cannot shrink below them (how many started depends
     * on timing: 1 is refused exactly when more did), and may always grow back to 4 */
    int32_t v = dk_file_workers(c->h, 1);
    CHECK(v == 0 || v == -EBUSY);
    CHECK_EQ(dk_file_workers(c->h, 4), 0);
  }
  for (uint32_t k = 0; k < FILES; k++) unlink(paths[k]);
  CHECK_EQ(count_fds(), base);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_udp(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  struct dk_addr la, lb, from;
  int a, b;
  CHECK(udp_pair(c, &a, &b, &la, &lb));
  struct dk_addr tob = loopback(lb.port);
  char buf[32] = {0};
  uint32_t tr = rec(c, 0, DK_OP_RECVFROM, b, buf, sizeof buf, (uint64_t)(uintptr_t)&from);
  uint32_t ts = rec(c, 1, DK_OP_SENDTO, a, "dgram", 5, (uint64_t)(uintptr_t)&tob);
  CHECK_EQ(dk_submit(c->h, 2), 2);
  struct dk_cqe e;
  CHECK(await_token(c, ts, &e));
  CHECK_EQ(e.result, 5);
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(e.result, 5);
  CHECK(memcmp(buf, "dgram", 5) == 0);
  CHECK_EQ(from.family, 4);
  CHECK_EQ(from.port, la.port);
  /* connected: SENDTO without an address */
  CHECK_EQ(one(c, DK_OP_UDP_CONNECT, a, NULL, 0, (uint64_t)(uintptr_t)&tob), 0);
  CHECK_EQ(one(c, DK_OP_SENDTO, a, "two", 3, 0), 3);
  CHECK_EQ(one(c, DK_OP_RECVFROM, b, buf, sizeof buf, 0), 3);
  CHECK(memcmp(buf, "two", 3) == 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, a, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, b, NULL, 0, 0), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_close_pending(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  char buf[32];
  uint32_t tr = rec(c, 0, DK_OP_RECV, srv, buf, sizeof buf, 0);
  uint32_t tp = rec(c, 1, DK_OP_POLL, srv, NULL, DK_POLL_IN, 0);
  CHECK_EQ(dk_submit(c->h, 2), 2);
  CHECK_EQ(collect(c, 20), 0);
  CHECK_EQ(dk_pending(c->h), 2);
  uint32_t tc = rec(c, 0, DK_OP_CLOSE, srv, NULL, 0, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  /* all three arrive; the cancelled ones before the close */
  int64_t end = now_us() + 5000000;
  while (c->n_seen < 3 && now_us() < end) collect(c, 100);
  CHECK_EQ(c->n_seen, 3);
  CHECK_EQ(c->seen[2].token, tc);
  CHECK_EQ(c->seen[2].result, 0);
  struct dk_cqe e;
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(e.result, -ECANCELED);
  CHECK(await_token(c, tp, &e));
  CHECK_EQ(e.result, -ECANCELED);
  CHECK_EQ(dk_pending(c->h), 0);
  /* the peer sees the close */
  CHECK_EQ(one(c, DK_OP_RECV, cli, buf, sizeof buf, 0), 0);
  dk_close(cli);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* Sockets that carried many ops really close by every path — dk_close, a
 * CLOSE record, a CLOSE record in another reactor — and an fd number reused
 * afterwards reaches the new socket (a guard for any per-fd state a backend
 * may keep, such as io_uring registered files). */
static int t_busy_fd_close(int backend) {
  ctx *c = ctx_new(backend, 0, 64);
  CHECK(c);
  ctx *c2 = ctx_new(backend, 0, 64);
  CHECK(c2);
  char buf[64];
  int lfd, srv, cli;
  /* dk_close: the peer reads EOF */
  CHECK(make_pair(c, &lfd, &srv, &cli));
  CHECK(ping_pong(c, srv, cli, 40));
  CHECK_EQ(dk_close(srv), 0);
  CHECK_EQ(one(c, DK_OP_RECV, cli, buf, sizeof buf, 0), 0);
  /* the fd number comes back for the next socket: ops reach the new one */
  int srv2, cli2, lfd2;
  CHECK(make_pair(c, &lfd2, &srv2, &cli2));
  CHECK(ping_pong(c, srv2, cli2, 40));
  CHECK_EQ(one(c, DK_OP_CLOSE, cli, NULL, 0, 0), 0);
  /* a CLOSE record in another reactor than the one that carried the ops */
  CHECK_EQ(one(c2, DK_OP_CLOSE, srv2, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_RECV, cli2, buf, sizeof buf, 0), 0);
  /* dk_close of an fd that carried its ops in the other reactor: same */
  int srv3, cli3, lfd3;
  CHECK(make_pair(c2, &lfd3, &srv3, &cli3));
  CHECK(ping_pong(c2, srv3, cli3, 40));
  CHECK_EQ(dk_close(cli3), 0);
  CHECK_EQ(one(c, DK_OP_RECV, srv3, buf, sizeof buf, 0), 0);
  dk_close(srv3);
  dk_close(cli2);
  dk_close(lfd);
  dk_close(lfd2);
  dk_close(lfd3);
  CHECK_EQ(dk_pending(c->h), 0);
  CHECK_EQ(dk_pending(c2->h), 0);
  CHECK_EQ(ctx_free(c2), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_destroy_pending(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  static char buf[4096];
  rec(c, 0, DK_OP_RECV, srv, buf, sizeof buf, 0);
  rec(c, 1, DK_OP_ACCEPT, lfd, NULL, 0, 0);
  CHECK_EQ(dk_submit(c->h, 2), 2);
  CHECK_EQ(dk_pending(c->h), 2);
  int32_t h = c->h;
  CHECK_EQ(ctx_free(c), 0);
  CHECK_EQ(dk_pending(h), -EBADF);
  /* the kernel let go of the buffer: data sent now is not read into it */
  memset(buf, 0, sizeof buf);
  CHECK_EQ(send(cli, "late", 4, 0), 4);
  struct timespec d = {0, 20 * 1000000};
  nanosleep(&d, NULL);
  CHECK_EQ(buf[0], 0);
  close(srv);
  close(cli);
  close(lfd);
  return 1;
}

/* ------------------------------------------------- file helpers (fs.c) */

static int t_fs_helpers(int backend) {
  (void)backend; /* synchronous helpers: no reactor involved */
  char path[] = "/tmp/dokio_fs_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  unlink(path);
  double st[DK_STAT__COUNT];
  CHECK_EQ(dk_fstat(fd, st), 0);
  CHECK_EQ(st[DK_STAT_SIZE], 0);
  CHECK_EQ(((uint32_t)st[DK_STAT_MODE]) & 0170000, 0100000); /* a regular file */
  CHECK(st[DK_STAT_MTIME] > 1e12);                          /* ms since the epoch */
  double three_gib = 3.0 * 1024 * 1024 * 1024;
  CHECK_EQ(dk_ftruncate(fd, three_gib), 0);
  CHECK_EQ(dk_fstat(fd, st), 0);
  CHECK(st[DK_STAT_SIZE] == three_gib);
  CHECK(dk_lseek(fd, 0, DK_SEEK_END) == three_gib);
  CHECK(dk_lseek(fd, -10, DK_SEEK_CUR) == three_gib - 10);
  CHECK(dk_lseek(fd, 5, DK_SEEK_SET) == 5);
  CHECK_EQ(dk_lseek(fd, -1, DK_SEEK_SET), -EINVAL);
  CHECK_EQ(dk_lseek(fd, 0, 7), -EINVAL);
  CHECK_EQ(dk_lseek(fd, 0.5, DK_SEEK_SET), -EINVAL);
  CHECK_EQ(dk_ftruncate(fd, -1), -EINVAL);
  CHECK_EQ(dk_ftruncate(fd, 1.5), -EINVAL);
  CHECK_EQ(dk_fsync(fd, 0), 0);
  CHECK_EQ(dk_fsync(fd, 1), 0);
  CHECK_EQ(dk_fstat(fd, NULL), -EFAULT);
  close(fd);
  CHECK_EQ(dk_fstat(fd, st), -EBADF);
  CHECK_EQ(dk_fstat(-1, st), -EBADF);
  CHECK_EQ(dk_fsync(-1, 0), -EBADF);
  CHECK_EQ(dk_ftruncate(-1, 0), -EBADF);
  CHECK(dk_lseek(-1, 0, DK_SEEK_SET) == -EBADF);
  return 1;
}

int main(void) {
  signal(SIGPIPE, SIG_DFL); /* MSG_NOSIGNAL must be what keeps us alive */
  int backends[3], nb = 0;
#if defined(__linux__)
  backends[nb++] = DK_BACKEND_IO_URING;
  backends[nb++] = DK_BACKEND_EPOLL;
#else
  backends[nb++] = DK_BACKEND_KQUEUE;
#endif
  static struct dk_sqe sq[1];
  static struct dk_cqe cq[1];
  static struct dk_addr sa[1], ca[1];
  int32_t h = dk_create(DK_BACKEND_AUTO, 0, sq, 1, cq, 1, sa, ca);
  printf("auto backend: %s\n", h >= 0 ? backend_name(dk_backend(h)) : "none");
  if (h >= 0) dk_destroy(h);
  for (int b = 0; b < nb; b++) {
    int32_t probe = dk_create(backends[b], 0, sq, 1, cq, 1, sa, ca);
    if (probe < 0) {
      printf("FAIL [%s] backend unavailable (%d)\n", backend_name(backends[b]), probe);
      failed++;
      continue;
    }
    dk_destroy(probe);
    run("handles: bad, stale, n > cap, null buffers", t_handles, backends[b]);
    run("records: every invalid record completes with its errno", t_records, backends[b]);
    run("helpers: layout, errno names, socket helpers", t_helpers, backends[b]);
    run("loopback echo, 1,000 round trips, shutdown", t_echo, backends[b]);
    run("short reads: later bytes, end of stream with them and after", t_short_reads,
        backends[b]);
    run("connect refused", t_connect_refused, backends[b]);
    run("IPv6 loopback listen/accept/connect", t_ipv6, backends[b]);
    run("peer reset: ECONNRESET / EPIPE, no SIGPIPE", t_reset, backends[b]);
    run("EMFILE on accept and connect (child process)", t_emfile, backends[b]);
    run("cancel a pending recv and accept; buffer reuse", t_cancel, backends[b]);
    run("1,000 NOPs, also over a small ring and cq", t_batch, backends[b]);
    run("10,000 completions outstanding (CQ ring overflow)", t_overflow, backends[b]);
    run("ops submitted on one thread, dk_wait on another", t_cross_thread_wait, backends[b]);
    run("dk_wake from another thread ends dk_wait(-1)", t_wake, backends[b]);
    run("file open/write/read/close", t_file, backends[b]);
    run("whole-file records: READ_FILE, WRITE_FILE, MORE, errors, cancel", t_whole_file,
        backends[b]);
    run("whole-file op: records naming the file it holds are refused", t_whole_file_claim,
        backends[b]);
    run("file pool: dk_file_workers bounds, 48 files on 4 threads, one fd's jobs in order",
        t_file_pool, backends[b]);
    run("UDP sendto/recvfrom, connected UDP", t_udp, backends[b]);
    run("close with pending ops cancels them first", t_close_pending, backends[b]);
    run("destroy with pending ops releases buffers", t_destroy_pending, backends[b]);
    run("busy sockets close by every path; reused fd numbers", t_busy_fd_close, backends[b]);
    run("timeout-0 wait with nothing pending; later ops, results, wakes", t_idle_poll,
        backends[b]);
    run("dk_clock_ms: monotonic milliseconds", t_clock, backends[b]);
    run_defect_cases(backends[b]);
    run_fuzz_found_cases(backends[b]);
    run("file helpers: fstat, lseek, ftruncate > 2 GiB, fsync, bad args", t_fs_helpers,
        backends[b]);
    run_net_cases(backends[b]);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
