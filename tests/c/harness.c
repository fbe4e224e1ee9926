/*
 * harness.c — the shared harness of the C-level reactor tests (see harness.h).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int passed, failed;

const char *backend_name(int b) {
  return b == DK_BACKEND_IO_URING ? "io_uring" : b == DK_BACKEND_EPOLL ? "epoll" : "kqueue";
}

void run(const char *name, int (*fn)(int), int backend) {
  int ok = fn(backend);
  printf("%s [%s] %s\n", ok ? "ok  " : "FAIL", backend_name(backend), name);
  fflush(stdout);
  if (ok) passed++;
  else failed++;
}

int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sleep_ms(int ms) {
  struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&d, NULL);
}

ctx *ctx_new(int backend, uint32_t entries, uint32_t cq_cap) {
  ctx *c = calloc(1, sizeof *c);
  c->cq = calloc(cq_cap, sizeof *c->cq);
  c->cq_addr = calloc(cq_cap, sizeof *c->cq_addr);
  c->cq_cap = cq_cap;
  c->next_token = 1;
  c->h = dk_create(backend, entries, c->sq, SQ_CAP, c->cq, cq_cap, c->sq_addr, c->cq_addr);
  if (c->h < 0) {
    fprintf(stderr, "    dk_create(%s) = %d\n", backend_name(backend), c->h);
    free(c->cq);
    free(c->cq_addr);
    free(c);
    return NULL;
  }
  return c;
}

int ctx_free(ctx *c) {
  int32_t v = dk_destroy(c->h);
  free(c->cq);
  free(c->cq_addr);
  free(c);
  return v;
}

uint32_t rec(ctx *c, uint32_t i, uint8_t op, int32_t fd, const void *buf, uint32_t len,
             uint64_t arg) {
  struct dk_sqe *e = &c->sq[i];
  memset(e, 0, sizeof *e);
  e->token = c->next_token++;
  e->op = op;
  e->fd = fd;
  e->addr = (uint64_t)(uintptr_t)buf;
  e->len = len;
  e->arg = arg;
  int in = op == DK_OP_LISTEN || op == DK_OP_CONNECT || op == DK_OP_UDP_BIND ||
           op == DK_OP_UDP_CONNECT || op == DK_OP_SENDTO;
  int out = op == DK_OP_ACCEPT || op == DK_OP_RECVFROM;
  if (arg != 0 && in) {
    c->sq_addr[i] = *(const struct dk_addr *)(uintptr_t)arg;
    e->arg = DK_ARG_ADDR;
  } else if (arg != 0 && out && c->n_waits < ADDR_WAIT_CAP) {
    c->waits[c->n_waits++] = (addr_wait){e->token, (struct dk_addr *)(uintptr_t)arg};
    e->arg = DK_ARG_ADDR;
  }
  return e->token;
}

/* Completion k of the last wait: deliver its address to whoever asked for it. */
static void deliver_addr(ctx *c, int k) {
  for (uint32_t w = 0; w < c->n_waits; w++) {
    if (c->waits[w].token != c->cq[k].token) continue;
    if (c->cq[k].flags & DK_CQE_F_ADDR) *c->waits[w].out = c->cq_addr[k];
    else memset(c->waits[w].out, 0, sizeof *c->waits[w].out);
    c->waits[w] = c->waits[--c->n_waits];
    return;
  }
}

int collect(ctx *c, int timeout_ms) {
  int n = dk_wait(c->h, timeout_ms);
  for (int k = 0; k < n; k++) {
    if (c->n_waits > 0) deliver_addr(c, k);
    if (c->n_seen < SEEN_CAP) c->seen[c->n_seen++] = c->cq[k];
  }
  return n;
}

int await_token_ms(ctx *c, uint32_t token, struct dk_cqe *out, int ms) {
  int64_t end = now_us() + (int64_t)ms * 1000;
  for (;;) {
    for (uint32_t k = 0; k < c->n_seen; k++) {
      if (c->seen[k].token == token) {
        *out = c->seen[k];
        memmove(&c->seen[k], &c->seen[k + 1], (c->n_seen - k - 1) * sizeof c->seen[0]);
        c->n_seen--;
        return 1;
      }
    }
    if (now_us() > end) return 0;
    if (collect(c, ms < 100 ? ms : 100) < 0) return 0;
  }
}

int await_token(ctx *c, uint32_t token, struct dk_cqe *out) {
  return await_token_ms(c, token, out, 5000);
}

int32_t one(ctx *c, uint8_t op, int32_t fd, const void *buf, uint32_t len, uint64_t arg) {
  uint32_t t = rec(c, 0, op, fd, buf, len, arg);
  if (dk_submit(c->h, 1) != 1) return -99999;
  struct dk_cqe e;
  if (!await_token(c, t, &e)) return -99998;
  return e.result;
}

struct dk_addr loopback(uint16_t port) {
  struct dk_addr a;
  memset(&a, 0, sizeof a);
  a.family = 4;
  a.port = port;
  a.addr[0] = 127;
  a.addr[3] = 1;
  return a;
}

int udp_pair(ctx *c, int *a, int *b, struct dk_addr *la, struct dk_addr *lb) {
  struct dk_addr any = loopback(0);
  *a = one(c, DK_OP_UDP_BIND, -1, NULL, 0, (uint64_t)(uintptr_t)&any);
  *b = one(c, DK_OP_UDP_BIND, -1, NULL, 0, (uint64_t)(uintptr_t)&any);
  CHECK(*a >= 0 && *b >= 0);
  CHECK_EQ(dk_local_addr(*a, la), 0);
  CHECK_EQ(dk_local_addr(*b, lb), 0);
  return 1;
}

int make_pair(ctx *c, int *lfd, int *srv, int *cli) {
  struct dk_addr any = loopback(0), peer, local;
  *lfd = one(c, DK_OP_LISTEN, -1, NULL, 16, (uint64_t)(uintptr_t)&any);
  CHECK(*lfd >= 0);
  CHECK_EQ(dk_local_addr(*lfd, &local), 0);
  CHECK(local.port != 0);
  struct dk_addr to = loopback(local.port);
  uint32_t ta = rec(c, 0, DK_OP_ACCEPT, *lfd, NULL, 0, (uint64_t)(uintptr_t)&peer);
  uint32_t tc = rec(c, 1, DK_OP_CONNECT, -1, NULL, 0, (uint64_t)(uintptr_t)&to);
  CHECK_EQ(dk_submit(c->h, 2), 2);
  struct dk_cqe ea, ec;
  CHECK(await_token(c, ta, &ea));
  CHECK(await_token(c, tc, &ec));
  CHECK(ea.result >= 0);
  CHECK(ec.result >= 0);
  CHECK_EQ(ea.op, DK_OP_ACCEPT);
  CHECK_EQ(peer.family, 4);
  CHECK(peer.addr[0] == 127 && peer.addr[3] == 1);
  struct dk_addr cli_local;
  CHECK_EQ(dk_local_addr(ec.result, &cli_local), 0);
  CHECK_EQ(peer.port, cli_local.port);
  *srv = ea.result;
  *cli = ec.result;
  return 1;
}

int fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++) n += fd_open(fd);
  return n;
}

void fd_snapshot(uint8_t set[4096]) {
  for (int fd = 0; fd < 4096; fd++) set[fd] = (uint8_t)fd_open(fd);
}

int fd_new_since(const uint8_t before[4096]) {
  for (int fd = 0; fd < 4096; fd++) {
    if (!before[fd] && fd_open(fd)) return fd;
  }
  return -1;
}

int in_child(int (*fn)(int), int backend, int timeout_ms) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    _exit(fn(backend) ? 0 : 1);
  }
  int status = 0;
  int64_t end = now_us() + (int64_t)timeout_ms * 1000;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (now_us() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fprintf(stderr, "    child hung: killed after %d ms\n", timeout_ms);
      return 0;
    }
    sleep_ms(5);
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "    child died of signal %d (%s)\n", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return 0;
  }
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  return 1;
}
