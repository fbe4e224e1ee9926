/*
 * fuzz_found_test.c — regression cases for the reactor defects the libFuzzer targets
 * (tests/c/fuzz/) found, one case per finding, run on every backend.  Each names the fuzzing
 * input's shape; a case that could kill the process on the defect runs in a child.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* F1 (fuzz_io_uring): a WRITE naming a closed fd number, then in the same batch a CONNECT whose
 * new socket takes that number.  The op table kept an entry for the number, so the WRITE was
 * accepted; io_uring resolved the number only when the batch was submitted, and wrote into the
 * CONNECT's socket (SIGPIPE while it was still connecting, else bytes to the wrong peer).
 * Fixed: a record's fd is checked open on its first use since the number was last closed or
 * made by the reactor.  Now the WRITE fails with -EBADF and the peer gets nothing. */
static int closed_number_child(int backend) {
  ctx *c = ctx_new(backend, 0, 16);
  CHECK(c);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(lfd >= 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
  CHECK_EQ(listen(lfd, 4), 0);
  socklen_t sl = sizeof sin;
  CHECK_EQ(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
  /* the table grows past this number, which is then closed: an entry for a closed number */
  int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHECK(probe >= 0);
  char b[8];
  CHECK_EQ(one(c, DK_OP_READ, probe, b, sizeof b, UINT64_MAX), 0);
  int n = open("/dev/null", O_RDONLY | O_CLOEXEC); /* the lowest free number: the CONNECT's */
  CHECK(n >= 0);
  CHECK_EQ(close(n), 0);
  static const char data[] = "not yours";
  struct dk_addr to = loopback(ntohs(sin.sin_port));
  uint32_t tw = rec(c, 0, DK_OP_WRITE, n, data, sizeof data, 0);
  c->sq[0].arg = UINT64_MAX;
  uint32_t tc = rec(c, 1, DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&to);
  CHECK_EQ(dk_submit(c->h, 2), 2);
  struct dk_cqe ew, ec;
  CHECK(await_token(c, tw, &ew));
  CHECK(await_token(c, tc, &ec));
  CHECK_EQ(ew.result, -EBADF);
  CHECK_EQ(ec.result, n); /* the number the WRITE named is the new socket's */
  int srv = accept(lfd, NULL, NULL);
  CHECK(srv >= 0);
  sleep_ms(50);
  CHECK_EQ(recv(srv, b, sizeof b, MSG_DONTWAIT), -1); /* nothing arrived */
  CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
  CHECK_EQ(dk_close(ec.result), 0);
  close(srv);
  close(lfd);
  close(probe);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}
static int t_closed_number(int backend) { return in_child(closed_number_child, backend, 5000); }

/* F2 (fuzz_io_uring): with a small completion buffer, completions posted at submission (refused
 * records, CANCELs) queued ahead of the kernel's; dk_wait delivered the queue first and reaped
 * the kernel's CQEs only when the buffer had room left, so a steady stream of immediate
 * completions kept a finished op from ever being delivered (the fuzzer's drain saw a RECV never
 * complete after its cancel).  Fixed: the kernel's completions join the queue, in order, before
 * it is delivered.  Here a POLL that finished first arrives within three waits of one record
 * each, while every wait is preceded by two refused records. */
static int t_queue_fairness(int backend) {
  ctx *c = ctx_new(backend, 0, 1);
  CHECK(c);
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  CHECK_EQ(send(sv[1], "x", 1, 0), 1);
  uint32_t tp = rec(c, 0, DK_OP_POLL, sv[0], NULL, DK_POLL_IN, 0);
  CHECK_EQ(dk_submit(c->h, 1), 1);
  sleep_ms(20); /* the POLL has completed in the kernel (io_uring) or at submission (epoll) */
  int got_at = -1;
  for (int k = 0; k < 20 && got_at < 0; k++) {
    rec(c, 0, 200, -1, NULL, 0, 0); /* an unknown op: refused at once */
    rec(c, 1, 201, -1, NULL, 0, 0);
    CHECK_EQ(dk_submit(c->h, 2), 2);
    int n = dk_wait(c->h, 0);
    CHECK(n >= 0 && n <= 1);
    if (n == 1 && c->cq[0].token == tp) {
      CHECK_EQ(c->cq[0].result, DK_POLL_IN);
      got_at = k;
    }
  }
  CHECK(got_at >= 0 && got_at <= 2);
  close(sv[0]);
  close(sv[1]);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

void run_fuzz_found_cases(int backend);
void run_fuzz_found_cases(int backend) {
  run("F1: a closed number reused later in the batch is refused, not written",
      t_closed_number, backend);
  run("F2: kernel completions are not starved by immediate ones in a small buffer",
      t_queue_fairness, backend);
}
