/*
 * defects_test.c — regression cases for the reactor defects that review and
 * fuzzing found (issue 12), one case per finding, each run on every backend.
 * A case that could hang or kill the process on a defect runs in a child
 * process with a deadline (harness in_child), so the suite reports it as a
 * failure instead of stopping.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1. The reactor's own fds (ring, eventfd, epoll fd) are refused by every op
 *    and by dk_close; the reactor keeps working. */
static int t_internal_fds(int backend) {
  static uint8_t before[4096];
  fd_snapshot(before);
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int own[8], n_own = 0;
  for (int fd = 0; fd < 4096 && n_own < 8; fd++) {
    if (!before[fd] && fd_open(fd)) own[n_own++] = fd;
  }
  CHECK(n_own >= 2);
  char buf[8];
  for (int k = 0; k < n_own; k++) {
    CHECK_EQ(one(c, DK_OP_CLOSE, own[k], NULL, 0, 0), -EBADF);
    CHECK_EQ(one(c, DK_OP_READ, own[k], buf, sizeof buf, 0), -EBADF);
    CHECK_EQ(one(c, DK_OP_POLL, own[k], NULL, DK_POLL_IN, 0), -EBADF);
    CHECK_EQ(dk_close(own[k]), -EBADF);
    CHECK(fd_open(own[k]));
  }
  /* still alive: a wake ends a wait, ops complete */
  CHECK_EQ(dk_wake(c->h), 0);
  CHECK_EQ(dk_wait(c->h, 2000), 0);
  CHECK_EQ(one(c, DK_OP_NOP, -1, NULL, 0, 0), 0);
  CHECK_EQ(ctx_free(c), 0);
  for (int k = 0; k < n_own; k++) CHECK(!fd_open(own[k]));
  return 1;
}

/* A listener on 127.0.0.1 with a full backlog: a CONNECT to it stays pending. */
static int full_listener(int *lfd, struct dk_addr *to, int *fillers, int n_fill) {
  *lfd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(*lfd >= 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(bind(*lfd, (struct sockaddr *)&sin, sizeof sin), 0);
  CHECK_EQ(listen(*lfd, 0), 0);
  socklen_t sl = sizeof sin;
  CHECK_EQ(getsockname(*lfd, (struct sockaddr *)&sin, &sl), 0);
  for (int k = 0; k < n_fill; k++) {
    fillers[k] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(fillers[k] >= 0);
    (void)connect(fillers[k], (struct sockaddr *)&sin, sizeof sin);
  }
  sleep_ms(20);
  *to = loopback(ntohs(sin.sin_port));
  return 1;
}

/* 2. A pending CONNECT's socket is the reactor's until it completes: a CLOSE
 *    naming it is refused, and cancelling the connect later never closes an
 *    unrelated fd that took a number meanwhile. */
static int t_connect_socket_refused(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, fill[4];
  struct dk_addr to;
  CHECK(full_listener(&lfd, &to, fill, 4));
  static uint8_t before[4096];
  fd_snapshot(before);
  uint32_t tc = rec(c, 0, DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&to);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(collect(c, 50), 0); /* pending: the backlog is full */
  int sock = fd_new_since(before);
  CHECK(sock >= 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, sock, NULL, 0, 0), -EBADF);
  CHECK(fd_open(sock));
  /* the connect is still pending; cancel it and see which fds survive */
  struct dk_cqe e;
  CHECK(!await_token_ms(c, tc, &e, 50));
  int other = open("/dev/null", O_RDONLY);
  CHECK(other >= 0);
  CHECK_EQ(one(c, DK_OP_CANCEL, -1, NULL, 0, tc), 0);
  CHECK(await_token(c, tc, &e));
  CHECK_EQ(e.result, -ECANCELED);
  CHECK(fd_open(other));
  CHECK(!fd_open(sock) || sock == other);
  close(other);
  for (int k = 0; k < 4; k++) close(fill[k]);
  close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* 3. dk_close of a socket with a RECV pending: the RECV fails (it never
 *    receives the bytes of the next connection that takes the number) and, on
 *    every backend, the peer sees the close. */
static int t_close_outside_reuse(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  char old_buf[32] = {0}, buf[32] = {0};
  uint32_t tr = rec(c, 0, DK_OP_RECV, srv, old_buf, sizeof old_buf, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(collect(c, 20), 0);
  struct dk_addr local;
  CHECK_EQ(dk_local_addr(lfd, &local), 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(local.port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int cli2 = socket(AF_INET, SOCK_STREAM, 0); /* made first: the accept takes srv's number */
  CHECK(cli2 >= 0);
  CHECK_EQ(dk_close(srv), 0);
  /* the peer sees EOF */
  CHECK_EQ(one(c, DK_OP_RECV, cli, buf, sizeof buf, 0), 0);
  /* a new connection takes the number */
  CHECK_EQ(connect(cli2, (struct sockaddr *)&sin, sizeof sin), 0);
  struct dk_cqe ea, e;
  CHECK_EQ(one(c, DK_OP_NOP, -1, NULL, 0, 0), 0);
  uint32_t ta = rec(c, 0, DK_OP_ACCEPT, lfd, NULL, 0, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK(await_token(c, ta, &ea));
  CHECK(ea.result >= 0);
  int srv2 = ea.result;
  CHECK_EQ(srv2, srv);
  CHECK_EQ(send(cli2, "new", 3, 0), 3);
  CHECK_EQ(one(c, DK_OP_RECV, srv2, buf, sizeof buf, 0), 3);
  CHECK(memcmp(buf, "new", 3) == 0);
  /* the old RECV completed without data */
  CHECK(await_token_ms(c, tr, &e, 1000));
  CHECK(e.result < 0);
  CHECK(memcmp(old_buf, "new", 3) != 0);
  CHECK_EQ(dk_pending(c->h), 0);
  dk_close(srv2);
  close(cli2);
  dk_close(cli);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* 4. A listener and a UDP socket that waited once, closed with dk_close, and
 *    a new one on the same fd number: ACCEPT and RECVFROM on it complete. */
static int t_relisten_same_number(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  struct dk_addr any = loopback(0), local, to;
  for (int round = 0; round < 2; round++) {
    int l = one(c, DK_OP_LISTEN, -1, NULL, 16, (uint64_t)(uintptr_t)&any);
    CHECK(l >= 0);
    uint32_t ta = rec(c, 0, DK_OP_ACCEPT, l, NULL, 0, 0);
    CHECK_EQ(dk_submit(c->h, 1), 1);
    CHECK_EQ(collect(c, 20), 0); /* waits: registered with the poller */
    CHECK_EQ(one(c, DK_OP_CANCEL, -1, NULL, 0, ta), 0);
    struct dk_cqe e;
    CHECK(await_token(c, ta, &e));
    CHECK_EQ(dk_close(l), 0);
    int l2 = one(c, DK_OP_LISTEN, -1, NULL, 16, (uint64_t)(uintptr_t)&any);
    CHECK_EQ(l2, l);
    CHECK_EQ(dk_local_addr(l2, &local), 0);
    to = loopback(local.port);
    ta = rec(c, 0, DK_OP_ACCEPT, l2, NULL, 0, 0);
    CHECK_EQ(dk_submit(c->h, 1), 1);
    CHECK_EQ(collect(c, 20), 0);
    int cfd = one(c, DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&to);
    CHECK(cfd >= 0);
    CHECK(await_token_ms(c, ta, &e, 2000));
    CHECK(e.result >= 0);
    dk_close(e.result);
    dk_close(cfd);
    dk_close(l2);
  }
  /* the same with UDP_BIND and RECVFROM */
  int u = one(c, DK_OP_UDP_BIND, -1, NULL, 0, (uint64_t)(uintptr_t)&any);
  CHECK(u >= 0);
  char buf[16];
  uint32_t tr = rec(c, 0, DK_OP_RECVFROM, u, buf, sizeof buf, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(collect(c, 20), 0);
  CHECK_EQ(one(c, DK_OP_CANCEL, -1, NULL, 0, tr), 0);
  struct dk_cqe e;
  CHECK(await_token(c, tr, &e));
  CHECK_EQ(dk_close(u), 0);
  int u2 = one(c, DK_OP_UDP_BIND, -1, NULL, 0, (uint64_t)(uintptr_t)&any);
  CHECK_EQ(u2, u);
  CHECK_EQ(dk_local_addr(u2, &local), 0);
  to = loopback(local.port);
  tr = rec(c, 0, DK_OP_RECVFROM, u2, buf, sizeof buf, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(collect(c, 20), 0);
  int s = one(c, DK_OP_UDP_BIND, -1, NULL, 0, (uint64_t)(uintptr_t)&any);
  CHECK(s >= 0);
  CHECK_EQ(one(c, DK_OP_SENDTO, s, "dg", 2, (uint64_t)(uintptr_t)&to), 2);
  CHECK(await_token_ms(c, tr, &e, 2000));
  CHECK_EQ(e.result, 2);
  dk_close(s);
  dk_close(u2);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* 5. POLL{IN} then POLL{OUT} on a writable socket: the second completes at once. */
static int t_poll_behind_poll(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  uint32_t tin = rec(c, 0, DK_OP_POLL, cli, NULL, DK_POLL_IN, 0);
  uint32_t tout = rec(c, 1, DK_OP_POLL, cli, NULL, DK_POLL_OUT, 0);
  CHECK_EQ(dk_submit(c->h, 2), 2);
  struct dk_cqe e;
  CHECK(await_token_ms(c, tout, &e, 1000));
  CHECK_EQ(e.result, DK_POLL_OUT);
  CHECK(!await_token_ms(c, tin, &e, 20)); /* nothing to read yet */
  CHECK_EQ(one(c, DK_OP_SEND, srv, "x", 1, 0), 1);
  CHECK(await_token(c, tin, &e));
  CHECK(e.result & DK_POLL_IN);
  dk_close(srv);
  dk_close(cli);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* 6. Blocking fds never block the reactor: two READs on a blocking pipe with
 *    one byte written, ACCEPT on a blocking listener with nobody connecting. */
static int blocking_fds_child(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int p[2];
  CHECK_EQ(pipe(p), 0);
  char a[4], b[4];
  uint32_t t1 = rec(c, 0, DK_OP_READ, p[0], a, sizeof a, UINT64_MAX);
  uint32_t t2 = rec(c, 1, DK_OP_READ, p[0], b, sizeof b, UINT64_MAX);
  CHECK_EQ(dk_submit(c->h, 2), 2);
  CHECK_EQ(collect(c, 20), 0);
  CHECK_EQ(write(p[1], "z", 1), 1);
  /* one READ gets the byte (io_uring does not promise which), the other waits */
  struct dk_cqe e;
  int64_t end = now_us() + 1000000;
  while (c->n_seen < 1 && now_us() < end) collect(c, 50);
  CHECK_EQ(c->n_seen, 1);
  uint32_t later = c->seen[0].token == t1 ? t2 : t1;
  CHECK(c->seen[0].token == t1 || c->seen[0].token == t2);
  CHECK_EQ(c->seen[0].result, 1);
  c->n_seen = 0;
  CHECK(!await_token_ms(c, later, &e, 50)); /* waits for the next byte, without blocking */
  CHECK_EQ(write(p[1], "y", 1), 1);
  CHECK(await_token_ms(c, later, &e, 1000));
  CHECK_EQ(e.result, 1);
  (void)a;
  (void)b;
  dk_close(p[0]); /* through the library: the number comes back as a socket below */
  dk_close(p[1]);
  int l = socket(AF_INET, SOCK_STREAM, 0); /* blocking */
  CHECK(l >= 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(bind(l, (struct sockaddr *)&sin, sizeof sin), 0);
  CHECK_EQ(listen(l, 8), 0);
  uint32_t ta = rec(c, 0, DK_OP_ACCEPT, l, NULL, 0, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1); /* returns: the accept waits in the reactor */
  CHECK_EQ(collect(c, 20), 0);
  socklen_t sl = sizeof sin;
  CHECK_EQ(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(connect(s, (struct sockaddr *)&sin, sizeof sin), 0);
  CHECK(await_token_ms(c, ta, &e, 1000));
  CHECK(e.result >= 0);
  close(e.result);
  close(s);
  close(l);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_blocking_fds(int backend) { return in_child(blocking_fds_child, backend, 5000); }

/* 7. OPEN of a FIFO nobody has open never blocks: it completes, and destroy returns. */
static int fifo_child(int backend) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/dokio_fifo_%d_%d", (int)getpid(), backend);
  unlink(path);
  CHECK_EQ(mkfifo(path, 0600), 0);
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  struct dk_cqe e;
  uint32_t t = rec(c, 0, DK_OP_OPEN, -1, path, DK_O_RDONLY, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  int ok = await_token_ms(c, t, &e, 1000);
  unlink(path);
  CHECK(ok);
  CHECK(e.result >= 0);
  close(e.result);
  /* a second open stuck in the file worker would make destroy hang */
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_fifo_open(int backend) { return in_child(fifo_child, backend, 5000); }

/* 8. dk_destroy closes the fds carried by completions nobody collected. */
static int t_destroy_closes_fds(int backend) {
  int base = count_fds();
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  struct dk_addr any = loopback(0), local;
  for (int k = 0; k < 5; k++) rec(c, (uint32_t)k, DK_OP_UDP_BIND, -1, NULL, 0, (uint64_t)(uintptr_t)&any);
  rec(c, 5, DK_OP_LISTEN, -1, NULL, 8, (uint64_t)(uintptr_t)&any);
  CHECK_EQ(dk_submit(c->h, 6), 6);
  CHECK_EQ(ctx_free(c), 0);
  CHECK_EQ(count_fds(), base);
  /* an ACCEPT that completes at once, and ACCEPT/CONNECT results not yet collected */
  c = ctx_new(backend, 0, 16);
  CHECK(c);
  int l = one(c, DK_OP_LISTEN, -1, NULL, 8, (uint64_t)(uintptr_t)&any);
  CHECK(l >= 0);
  CHECK_EQ(dk_local_addr(l, &local), 0);
  struct dk_addr to = loopback(local.port);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(local.port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(connect(s, (struct sockaddr *)&sin, sizeof sin), 0);
  sleep_ms(10);
  rec(c, 0, DK_OP_ACCEPT, l, NULL, 0, 0);
  rec(c, 1, DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&to);
  rec(c, 2, DK_OP_ACCEPT, l, NULL, 0, 0);
  CHECK_EQ(dk_submit(c->h, 3), 3);
  sleep_ms(50); /* the kernel finishes them; nobody collects */
  CHECK_EQ(ctx_free(c), 0);
  close(s);
  close(l);
  CHECK_EQ(count_fds(), base);
  return 1;
}

/* 9. A CLOSE queued behind a running file job still closes its fd at destroy. */
static int t_destroy_runs_queued_close(int backend) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/dokio_bigwrite_%d_%d", (int)getpid(), backend);
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int fd = one(c, DK_OP_OPEN, -1, path, DK_O_RDWR | DK_O_CREAT | DK_O_TRUNC, 0600);
  CHECK(fd >= 0);
  unlink(path);
  size_t big = 64u << 20;
  char *buf = calloc(1, big);
  CHECK(buf);
  rec(c, 0, DK_OP_WRITE, fd, buf, (uint32_t)big, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  sleep_ms(2); /* the worker has started the write */
  rec(c, 0, DK_OP_CLOSE, fd, NULL, 0, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  CHECK_EQ(ctx_free(c), 0);
  free(buf);
  CHECK(!fd_open(fd));
  return 1;
}

/* 10. A ring of one entry still runs CLOSE (io_uring's needs two SQEs). */
static int t_tiny_ring_close(int backend) {
  ctx *c = ctx_new(backend, 1, 16);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  CHECK_EQ(one(c, DK_OP_CLOSE, srv, NULL, 0, 0), 0);
  CHECK(!fd_open(srv));
  CHECK_EQ(one(c, DK_OP_CLOSE, cli, NULL, 0, 0), 0);
  CHECK_EQ(one(c, DK_OP_CLOSE, lfd, NULL, 0, 0), 0);
  CHECK(!fd_open(cli) && !fd_open(lfd));
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long size = 0, res = 0;
  if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* 11. Ops naming huge or unopened fd numbers are refused without growing any table. */
static int t_huge_fd(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  char buf[8];
  long before = rss_kb();
  CHECK_EQ(one(c, DK_OP_POLL, (1 << 24) - 1, NULL, DK_POLL_IN, 0), -EBADF);
  CHECK_EQ(one(c, DK_OP_RECV, (1 << 24) - 2, buf, sizeof buf, 0), -EBADF);
  CHECK_EQ(one(c, DK_OP_READ, (1 << 23) + 5, buf, sizeof buf, 0), -EBADF);
  CHECK_EQ(one(c, DK_OP_CLOSE, (1 << 22) + 3, NULL, 0, 0), -EBADF);
  long grew = rss_kb() - before;
  if (grew > 16384) fprintf(stderr, "    RSS grew by %ld kB\n", grew);
  CHECK(grew < 16384);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* 12. RECVFROM on a stream socket reports no address (not the previous op's). */
static int t_recvfrom_stream_addr(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  struct dk_addr la, lb, from;
  int a, b;
  CHECK(udp_pair(c, &a, &b, &la, &lb));
  struct dk_addr tob = loopback(lb.port);
  char buf[16];
  CHECK_EQ(one(c, DK_OP_SENDTO, a, "u", 1, (uint64_t)(uintptr_t)&tob), 1);
  CHECK_EQ(one(c, DK_OP_RECVFROM, b, buf, sizeof buf, (uint64_t)(uintptr_t)&from), 1);
  CHECK_EQ(from.port, la.port);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  CHECK_EQ(one(c, DK_OP_SEND, cli, "t", 1, 0), 1);
  struct dk_addr from2;
  memset(&from2, 0x5a, sizeof from2);
  CHECK_EQ(one(c, DK_OP_RECVFROM, srv, buf, sizeof buf, (uint64_t)(uintptr_t)&from2), 1);
  CHECK_EQ(from2.family, 0);
  CHECK_EQ(from2.port, 0);
  dk_close(a);
  dk_close(b);
  dk_close(srv);
  dk_close(cli);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* 13. Addresses are records in the registered regions, never pointers: a
 *     forged arg (a would-be pointer) is refused; misaligned regions are
 *     refused at create; addresses reported through the queue (completions
 *     that did not fit the CQ) arrive with their own completion. */
static int t_address_regions(int backend) {
  static struct dk_sqe sq[4];
  static struct dk_cqe cq[4];
  static uint64_t raw[4 * 4 + 1]; /* 8-aligned storage for dk_addr records */
  struct dk_addr *ra = (struct dk_addr *)(void *)raw;
  CHECK_EQ(dk_create(backend, 0, sq, 4, cq, 4, (char *)ra + 4, ra), -EINVAL);
  CHECK_EQ(dk_create(backend, 0, sq, 4, cq, 4, ra, (char *)ra + 2), -EINVAL);
  CHECK_EQ(dk_create(backend, 0, (char *)sq + 4, 2, cq, 4, ra, ra), -EINVAL);
  ctx *c = ctx_new(backend, 0, 1);
  CHECK(c);
  const uint64_t forged = 0x1000;
  uint8_t ops[] = {DK_OP_LISTEN, DK_OP_CONNECT, DK_OP_UDP_BIND, DK_OP_ACCEPT, DK_OP_RECVFROM,
                   DK_OP_SENDTO, DK_OP_UDP_CONNECT};
  char buf[8];
  for (uint32_t k = 0; k < sizeof ops; k++) {
    uint32_t t = rec(c, 0, ops[k], 0, buf, sizeof buf, 0);
    c->sq[0].arg = forged;
    CHECK_EQ(dk_submit(c->h, 1), 1);
    struct dk_cqe e;
    CHECK(await_token(c, t, &e));
    CHECK_EQ(e.result, -EINVAL);
    CHECK_EQ(e.flags & DK_CQE_F_ADDR, 0);
  }
  /* three datagrams from three senders, received with a one-record CQ */
  struct dk_addr any = loopback(0), lb, from[3], la[3];
  int b = one(c, DK_OP_UDP_BIND, -1, NULL, 0, (uint64_t)(uintptr_t)&any);
  CHECK(b >= 0);
  CHECK_EQ(dk_local_addr(b, &lb), 0);
  struct dk_addr tob = loopback(lb.port);
  int a[3];
  for (int k = 0; k < 3; k++) {
    a[k] = one(c, DK_OP_UDP_BIND, -1, NULL, 0, (uint64_t)(uintptr_t)&any);
    CHECK(a[k] >= 0);
    CHECK_EQ(dk_local_addr(a[k], &la[k]), 0);
    CHECK_EQ(one(c, DK_OP_SENDTO, a[k], "d", 1, (uint64_t)(uintptr_t)&tob), 1);
  }
  char in[3][4];
  uint32_t tr[3];
  for (uint32_t k = 0; k < 3; k++)
    tr[k] = rec(c, k, DK_OP_RECVFROM, b, in[k], sizeof in[k], (uint64_t)(uintptr_t)&from[k]);
  CHECK_EQ(dk_submit(c->h, 3), 3);
  for (int k = 0; k < 3; k++) {
    struct dk_cqe e;
    CHECK(await_token(c, tr[k], &e));
    CHECK_EQ(e.result, 1);
    CHECK(e.flags & DK_CQE_F_ADDR);
  }
  int matched = 0;
  for (int k = 0; k < 3; k++) {
    for (int j = 0; j < 3; j++) matched += from[k].port == la[j].port && from[k].family == 4;
  }
  CHECK_EQ(matched, 3);
  for (int k = 0; k < 3; k++) dk_close(a[k]);
  dk_close(b);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* 14. dk_errno_name(INT32_MIN) (no overflow), dk_wait with a timeout below -1 is refused. */
static int t_argument_edges(int backend) {
  CHECK(strcmp(dk_errno_name(INT32_MIN), "E?") == 0);
  CHECK(strcmp(dk_errno_name(INT32_MIN + 1), "E?") == 0);
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  CHECK_EQ(dk_wake(c->h), 0);
  CHECK_EQ(dk_wait(c->h, -2), -EINVAL);
  CHECK_EQ(dk_enter(c->h, 0, INT32_MIN), -EINVAL);
  CHECK_EQ(dk_wait(c->h, 0), 0);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* 15. WRITE to a pipe whose reader is gone: -EPIPE, never SIGPIPE (default action here). */
static int broken_pipe_child(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int p[2];
  CHECK_EQ(pipe(p), 0);
  close(p[0]);
  CHECK_EQ(one(c, DK_OP_WRITE, p[1], "x", 1, UINT64_MAX), -EPIPE);
  CHECK_EQ(one(c, DK_OP_WRITE, p[1], "y", 1, UINT64_MAX), -EPIPE);
  close(p[1]);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_broken_pipe(int backend) { return in_child(broken_pipe_child, backend, 5000); }

void run_defect_cases(int backend);
void run_defect_cases(int backend) {
  run("1: the reactor's own fds are refused", t_internal_fds, backend);
  run("2: a pending CONNECT's socket is refused; its cancel closes nothing else",
      t_connect_socket_refused, backend);
  run("3: dk_close with a RECV pending: no data crosses, the peer sees EOF",
      t_close_outside_reuse, backend);
  run("4: re-listen and re-bind on the same fd number", t_relisten_same_number, backend);
  run("5: a POLL queued behind another POLL", t_poll_behind_poll, backend);
  run("6: blocking pipe and listener never block the reactor", t_blocking_fds, backend);
  run("7: OPEN of a FIFO completes; destroy returns", t_fifo_open, backend);
  run("8: destroy closes fds of uncollected completions", t_destroy_closes_fds, backend);
  run("9: destroy runs a CLOSE queued behind a file job", t_destroy_runs_queued_close, backend);
  run("10: a one-entry ring still closes", t_tiny_ring_close, backend);
  run("11: huge and unopened fd numbers are refused, nothing grows", t_huge_fd, backend);
  run("12: RECVFROM on a stream socket reports no address", t_recvfrom_stream_addr, backend);
  run("13: addresses only in the registered regions; forged args refused", t_address_regions,
      backend);
  run("14: errno name of INT32_MIN; wait timeouts below -1", t_argument_edges, backend);
  run("15: WRITE to a broken pipe: -EPIPE, no SIGPIPE", t_broken_pipe, backend);
}
