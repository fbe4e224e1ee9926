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

void run_fuzz_found_cases(int backend);
void run_fuzz_found_cases(int backend) {
  run("F1: a closed number reused later in the batch is refused, not written",
      t_closed_number, backend);
}
