/*
 * harness.h — the shared harness of the C-level reactor tests (every .c in tests/c):
 * CHECK macros, a reactor test context (SQ/CQ buffers, collected
 * completions), record writers, waits, loopback helpers, fd counting and a
 * child-process runner for cases that may hang or die on a defect.
 */
#ifndef DOKIO_TEST_HARNESS_H
#define DOKIO_TEST_HARNESS_H

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif
#include <stdint.h>
#include <stdio.h>

#include "dokio.h"

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "    %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
      return 0;                                                                       \
    }                                                                                 \
  } while (0)

#define CHECK_EQ(a, b)                                                                \
  do {                                                                                \
    long long a_ = (long long)(a), b_ = (long long)(b);                               \
    if (a_ != b_) {                                                                   \
      fprintf(stderr, "    %s:%d: CHECK_EQ failed: %s == %lld, expected %s == %lld\n", \
              __FILE__, __LINE__, #a, a_, #b, b_);                                    \
      return 0;                                                                       \
    }                                                                                 \
  } while (0)

#define SQ_CAP 1024
#define SEEN_CAP 4096
#define ADDR_WAIT_CAP 256

/* An ACCEPT/RECVFROM waiting for its address: where to copy it (as ffi/reactor.ts does). */
typedef struct addr_wait {
  uint32_t token;
  struct dk_addr *out;
} addr_wait;

typedef struct ctx {
  int32_t h;
  struct dk_sqe sq[SQ_CAP];
  struct dk_addr sq_addr[SQ_CAP]; /* the SQ address region */
  struct dk_cqe *cq;
  struct dk_addr *cq_addr;        /* the CQ address region */
  uint32_t cq_cap;
  addr_wait waits[ADDR_WAIT_CAP];
  uint32_t n_waits;
  struct dk_cqe seen[SEEN_CAP]; /* completions collected, not yet claimed */
  uint32_t n_seen;
  uint32_t next_token;
} ctx;

extern int passed, failed;

const char *backend_name(int b);
void run(const char *name, int (*fn)(int), int backend);
int64_t now_us(void);
void sleep_ms(int ms);

ctx *ctx_new(int backend, uint32_t entries, uint32_t cq_cap);
int ctx_free(ctx *c);
/* Fill sq[i] and return its token.  For an op with an address, arg is a
 * struct dk_addr pointer of the test (or 0): an input address is copied into
 * the SQ address region, an output one is copied from the CQ address region
 * when the completion is collected (zeroed when none came), and the record
 * gets arg = DK_ARG_ADDR, as ffi/reactor.ts does. */
uint32_t rec(ctx *c, uint32_t i, uint8_t op, int32_t fd, const void *buf, uint32_t len,
             uint64_t arg);
/* Collect completions for up to timeout_ms; returns how many arrived. */
int collect(ctx *c, int timeout_ms);
/* Claim the completion of token, waiting up to 5 s.  Returns 1 if found. */
int await_token(ctx *c, uint32_t token, struct dk_cqe *out);
/* Claim the completion of token, waiting up to ms; 1 if found. */
int await_token_ms(ctx *c, uint32_t token, struct dk_cqe *out, int ms);
/* Submit one record and wait for its result (-99999 / -99998 on harness failure). */
int32_t one(ctx *c, uint8_t op, int32_t fd, const void *buf, uint32_t len, uint64_t arg);
struct dk_addr loopback(uint16_t port);
/* A listener on 127.0.0.1:0 and a connected pair (srv accepted, cli connected). */
int make_pair(ctx *c, int *lfd, int *srv, int *cli);
/* Two UDP sockets bound on 127.0.0.1:0 (a, b) and their local addresses (la, lb). */
int udp_pair(ctx *c, int *a, int *b, struct dk_addr *la, struct dk_addr *lb);

/* Is fd open in this process? */
int fd_open(int fd);
/* How many fds below 4096 are open. */
int count_fds(void);
/* Marks open fds below 4096 in set (1 byte per fd). */
void fd_snapshot(uint8_t set[4096]);
/* The lowest fd open now that was not open in before, or -1. */
int fd_new_since(const uint8_t before[4096]);

/*
 * Run fn(backend) in a child process, killed after timeout_ms: 1 if it
 * returned 1 in time, 0 if it failed, hung or died (what happened is printed).
 */
int in_child(int (*fn)(int), int backend, int timeout_ms);

#endif
