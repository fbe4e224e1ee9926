/*
 * fuzz_reactor.c — a libFuzzer target for the C reactor (reactor_c/), built once per backend:
 * -DFUZZ_BACKEND=1 (io_uring) and -DFUZZ_BACKEND=2 (epoll); see run_fuzz.ts for the build.
 *
 * Each input is a script.  A header byte picks the ring size, the SQ and CQ capacities; then
 * commands: submit a batch of random records (random op codes, fds, lengths, buffers, flags,
 * tokens, cancels of known and unknown tokens, batch sizes up to and past the SQ), wait, enter,
 * wake, write into a peer, close an fd outside the op path (dk_close) and open new files that
 * take its number, call the synchronous dk_* helpers (net.c, fs.c, names, layout, clock) with
 * random arguments, destroy and recreate the reactor, call a destroyed handle.  The harness owns
 * real files: socketpairs, a pipe (one end left blocking), a loopback TCP listener with a
 * connected pair, UDP sockets, a temp file, /dev/null, and every fd the reactor hands it.
 *
 * Buffers: every record's buffer lies inside a harness arena (a 4 KiB region per pending op, the
 * offset and length chosen by the input), or is one of the deliberately invalid forms the
 * reactor's validation must refuse (NULL with a length, a length past DK_MAX_LEN, an address
 * argument that is not DK_ARG_ADDR, an address record with no family).  Addresses travel in the
 * SQ address region as dk_addr records.
 *
 * Oracles (each abort()s, which libFuzzer reports as a crash):
 *  - accounting: after every entry point, dk_pending == records accepted - completions delivered;
 *  - every completion's token is one the harness has outstanding (none completes twice);
 *  - validation: a record the ABI says is refused completes with that errno;
 *  - a CANCEL of a token never issued completes with -ENOENT;
 *  - an fd a completion (or a harness open) delivers is open, nonblocking, close-on-exec, and not
 *    a number the harness still holds: the harness never closes a number it no longer owns, so a
 *    held number coming back means someone closed it behind the harness (a double close);
 *  - the reactor's own fds are refused: dk_close and a CLOSE record on them give -EBADF;
 *  - data: bytes written toward a file are tagged with that file's incarnation; a read that
 *    completes on an older incarnation of the same number (the number was closed outside the op
 *    path and reused) must not see the new file's bytes;
 *  - drain: after cancelling everything outstanding, every op completes within a bound;
 *  - after dk_destroy and the harness closing what it owns: the fd table equals the one before the
 *    input (a leak or a stray close fails), and a CLOSE still queued at destroy has run;
 *  - hangs: libFuzzer's -timeout (run_fuzz.ts passes it) fails an input that blocks.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dokio.h"

#ifndef FUZZ_BACKEND
#define FUZZ_BACKEND DK_BACKEND_EPOLL
#endif

#define MAX_FD 1024   /* the harness tracks fd numbers below this */
#define SQ_MAX 64     /* largest SQ capacity an input picks */
#define CQ_MAX 64
#define REGION 4096   /* one pending op's buffer region */
#define N_REGIONS 128
#define MAX_OPS 2048  /* outstanding ops tracked */
#define MAX_CMDS 96   /* commands per input */
#define DRAIN_MS 3000 /* every op completes this long after a cancel */
#define TAG_NONE 0    /* bytes from a writer that does not know its reader */

#define FAIL(...)                                                                  \
  do {                                                                             \
    fprintf(stderr, "fuzz oracle: " __VA_ARGS__);                                  \
    fprintf(stderr, "\n");                                                         \
    abort();                                                                       \
  } while (0)

/* ------------------------------------------------------------------ input */

static const uint8_t *in_p;
static size_t in_n;

static uint8_t u8(void) {
  if (in_n == 0) return 0;
  in_n--;
  return *in_p++;
}
static uint16_t u16(void) { return (uint16_t)(u8() | (u8() << 8)); }
static uint32_t u32(void) { return (uint32_t)u16() | ((uint32_t)u16() << 16); }
static uint64_t u64(void) { return (uint64_t)u32() | ((uint64_t)u32() << 32); }

/* ------------------------------------------------------------ harness fds */

enum { H_FREE = 0, H_OPEN, H_CLOSING };
enum { K_STREAM = 1, K_PIPE_R, K_PIPE_W, K_FILE, K_UDP, K_LISTEN, K_OTHER };

typedef struct hfd {
  uint8_t state;
  uint8_t kind;
  uint8_t tag;  /* this incarnation's byte: what a writer aimed at this file writes */
  int32_t peer; /* socketpair / pipe peer fd of the same generation, or -1 */
  uint32_t gen; /* bumped on every new incarnation of the number */
} hfd;

static hfd ent[MAX_FD];
static uint8_t next_tag = 1;
static uint8_t fds_before[MAX_FD];
static int internal[8];
static int n_internal;

/* FUZZ_DEBUG=1 in the environment: print every record, completion and harness step. */
static int dbg;
#define DBG(...)                                                                   \
  do {                                                                             \
    if (dbg) fprintf(stderr, __VA_ARGS__);                                         \
  } while (0)

static int fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static uint8_t new_tag(void) {
  uint8_t t = next_tag;
  next_tag = (uint8_t)(next_tag % 250 + 1);
  return t;
}

static int is_internal(int fd) {
  for (int k = 0; k < n_internal; k++)
    if (internal[k] == fd) return 1;
  return 0;
}

/* A new file behind fd, handed to the harness (by itself or by a completion). */
static void adopt(int fd, int kind, int peer, int from_reactor) {
  if (fd < 0) return;
  if (fd >= MAX_FD) FAIL("fd %d past the harness table", fd);
  if (!fd_is_open(fd)) FAIL("delivered fd %d is not open", fd);
  if (ent[fd].state == H_OPEN)
    FAIL("fd %d delivered while the harness still holds it: closed behind its back", fd);
  if (is_internal(fd)) FAIL("fd %d delivered but it is the reactor's own", fd);
  if (from_reactor) {
    int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);
    if (!(fl & O_NONBLOCK)) FAIL("delivered fd %d is blocking", fd);
    if (!(fdf & FD_CLOEXEC)) FAIL("delivered fd %d lacks close-on-exec", fd);
  }
  DBG("  fd %d: kind %d peer %d%s\n", fd, kind, peer, from_reactor ? " (from the reactor)" : "");
  for (int k = 0; k < MAX_FD; k++) /* peers named the old file behind this number */
    if (ent[k].peer == fd) ent[k].peer = -1;
  ent[fd].state = H_OPEN;
  ent[fd].kind = (uint8_t)kind;
  ent[fd].tag = new_tag();
  ent[fd].peer = peer;
  ent[fd].gen++;
}

/* The harness lets go of fd (it closed it, or a CLOSE record did). */
static void forget(int fd) {
  if (fd < 0 || fd >= MAX_FD) return;
  ent[fd].state = H_FREE;
  for (int k = 0; k < MAX_FD; k++)
    if (ent[k].peer == fd) ent[k].peer = -1;
  ent[fd].peer = -1;
}

static void hclose(int fd) {
  if (fd < 0 || fd >= MAX_FD || ent[fd].state != H_OPEN) return;
  forget(fd);
  if (close(fd) < 0) FAIL("harness close(%d): %s (closed behind its back)", fd, strerror(errno));
}

/* Local (peer = 0) or peer address of an inet socket, as (port, family) or 0. */
static uint32_t inet_name(int fd, int peer) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &l) : getsockname(fd, (struct sockaddr *)&ss, &l)) < 0)
    return 0;
  if (ss.ss_family == AF_INET) return ((uint32_t)ntohs(((struct sockaddr_in *)&ss)->sin_port) << 8) | 4;
  if (ss.ss_family == AF_INET6) return ((uint32_t)ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) << 8) | 6;
  return 0;
}

/* The tag of the one harness file that bytes sent from fd (or to `to`, a (port, family)
 * name) arrive at, TAG_NONE if it is not exactly one known file. */
static uint8_t reader_tag(int fd, uint32_t to) {
  if (fd >= 0 && fd < MAX_FD && ent[fd].state == H_OPEN && ent[fd].peer >= 0) {
    int p = ent[fd].peer;
    return ent[p].state == H_OPEN ? ent[p].tag : TAG_NONE;
  }
  uint32_t me = fd >= 0 ? inet_name(fd, 0) : 0;
  if (fd >= 0 && to == 0) to = inet_name(fd, 1);
  if (to == 0) return TAG_NONE;
  int found = -1;
  for (int k = 0; k < MAX_FD; k++) {
    if (ent[k].state != H_OPEN || (ent[k].kind != K_STREAM && ent[k].kind != K_UDP)) continue;
    if (inet_name(k, 0) != to) continue;
    if (ent[k].kind == K_STREAM && (me == 0 || inet_name(k, 1) != me)) continue;
    if (found >= 0) return TAG_NONE;
    found = k;
  }
  return found >= 0 ? ent[found].tag : TAG_NONE;
}

/* Write len tagged bytes into fd without blocking and without SIGPIPE. */
static void hwrite(int fd, uint32_t len) {
  static uint8_t b[REGION];
  if (len > sizeof b) len = sizeof b;
  memset(b, reader_tag(fd, 0), len);
  if (ent[fd].kind == K_PIPE_W) {
    if (ent[fd].peer < 0 || ent[ent[fd].peer].state != H_OPEN) return; /* no reader: SIGPIPE */
    struct pollfd pf = {fd, POLLOUT, 0};
    if (poll(&pf, 1, 0) <= 0 || !(pf.revents & POLLOUT)) return; /* one end is blocking */
    if (len > PIPE_BUF) len = PIPE_BUF;
    (void)!write(fd, b, len);
  } else {
    (void)!send(fd, b, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

/* ------------------------------------------------------------ the reactor */

static int32_t h = -1;
static int32_t stale_h = -1;
static struct dk_sqe *sq;
static struct dk_addr *sq_addr;
static struct dk_cqe *cq;
static struct dk_addr *cq_addr;
static uint32_t sq_cap, cq_cap, entries;
static int64_t accepted, delivered;

static uint8_t *arena;
static uint8_t region_used[N_REGIONS];

typedef struct op {
  uint32_t token;
  uint8_t op;
  uint8_t dup;   /* its token is shared: no per-op checks */
  int16_t region;
  int32_t fd;
  uint32_t fd_gen;
  uint8_t tag;   /* reads: the reader's tag at submission; 0 = no data check */
  int32_t expect; /* 1 = any; else the result validation must give */
} op;

static op ops[MAX_OPS];
static int n_ops;
static uint32_t next_token = 1;

static int region_take(void) {
  for (int k = 0; k < N_REGIONS; k++) {
    if (!region_used[k]) {
      region_used[k] = 1;
      return k;
    }
  }
  return -1;
}

static void check_pending(const char *where) {
  if (h < 0) return;
  int32_t p = dk_pending(h);
  if (p != accepted - delivered)
    FAIL("%s: dk_pending %d, accepted %lld - delivered %lld", where, p, (long long)accepted,
         (long long)delivered);
}

/* One completion: match it to an outstanding op, apply its checks, take its fd. */
static void on_cqe(const struct dk_cqe *c, const struct dk_addr *a, int pass) {
  /* Pass 0 handles CLOSEs only, pass 1 the rest: an fd closed and reused in one batch is
   * released before it is taken. */
  if ((pass == 0) != (c->op == DK_OP_CLOSE)) return;
  DBG("  cqe token %u op %u result %d flags %u\n", c->token, c->op, c->result, c->flags);
  int k, any = -1;
  for (k = 0; k < n_ops; k++) { /* a shared token: the op of the same code, if there is one */
    if (ops[k].token != c->token) continue;
    if (any < 0) any = k;
    if (ops[k].op == c->op) break;
  }
  if (k == n_ops) k = any < 0 ? n_ops : any;
  if (k == n_ops) FAIL("token %u completed but none outstanding (twice?)", c->token);
  op o = ops[k];
  ops[k] = ops[--n_ops];
  if (o.op != c->op && !o.dup) FAIL("token %u: op %u completed as op %u", c->token, o.op, c->op);
  if (!o.dup && o.expect != 1 && c->result != o.expect)
    FAIL("token %u op %u: result %d, validation must give %d", c->token, o.op, c->result, o.expect);
  if ((c->flags & DK_CQE_F_ADDR) && a->family != 4 && a->family != 6)
    FAIL("token %u: an address of family %u", c->token, a->family);
  if (o.region >= 0) region_used[o.region] = 0;
  if (o.dup) {
    /* Shared token: the fd (if any) may be either op's; keep it if it is new to us. */
    if (c->result >= 0 && (c->op == DK_OP_LISTEN || c->op == DK_OP_ACCEPT || c->op == DK_OP_CONNECT ||
                           c->op == DK_OP_OPEN || c->op == DK_OP_UDP_BIND))
      adopt(c->result, c->op == DK_OP_OPEN ? K_FILE : c->op == DK_OP_UDP_BIND ? K_UDP
                       : c->op == DK_OP_LISTEN ? K_LISTEN : K_STREAM, -1, 1);
    if (c->op == DK_OP_CLOSE && o.fd >= 0 && o.fd < MAX_FD && ent[o.fd].gen == o.fd_gen &&
        ent[o.fd].state == H_CLOSING) {
      if (fd_is_open(o.fd)) ent[o.fd].state = H_OPEN;
      else forget(o.fd);
    }
    return;
  }
  switch (o.op) {
  case DK_OP_LISTEN:
  case DK_OP_ACCEPT:
  case DK_OP_CONNECT:
  case DK_OP_UDP_BIND:
  case DK_OP_OPEN:
    if (c->result >= 0)
      adopt(c->result, o.op == DK_OP_OPEN ? K_FILE : o.op == DK_OP_UDP_BIND ? K_UDP
                       : o.op == DK_OP_LISTEN ? K_LISTEN : K_STREAM, -1, 1);
    break;
  case DK_OP_CLOSE:
    if (o.fd >= 0 && o.fd < MAX_FD && ent[o.fd].gen == o.fd_gen && ent[o.fd].state == H_CLOSING) {
      if (c->result == 0) {
        forget(o.fd);
      } else if (fd_is_open(o.fd)) {
        ent[o.fd].state = H_OPEN; /* refused: still ours */
      } else {
        FAIL("CLOSE of fd %d failed (%d) yet the fd is gone", o.fd, c->result);
      }
    }
    break;
  case DK_OP_RECV:
  case DK_OP_READ:
  case DK_OP_RECVFROM:
    if (c->result > 0 && o.tag != TAG_NONE && o.region >= 0) {
      const uint8_t *b = arena + (size_t)o.region * REGION;
      /* the buffer started at some offset inside the region: scan the whole region for a
       * byte of another incarnation (regions are zeroed when handed out) */
      for (int j = 0; j < REGION; j++) {
        if (b[j] != 0 && b[j] != o.tag && b[j] != 0xA5)
          FAIL("token %u: op %u on fd %d read byte %u, its file's tag is %u (data of another "
               "file behind a reused number)", c->token, o.op, o.fd, b[j], o.tag);
      }
    }
    break;
  default:
    break;
  }
}

static void take_batch(int n) {
  if (n <= 0) return;
  if ((uint32_t)n > cq_cap) FAIL("dk_wait returned %d > cq_cap %u", n, cq_cap);
  delivered += n;
  for (int pass = 0; pass < 2; pass++)
    for (int j = 0; j < n; j++) on_cqe(&cq[j], &cq_addr[j], pass);
}

static void do_wait(int timeout) {
  int n = dk_wait(h, timeout);
  DBG("dk_wait(%d) = %d\n", timeout, n);
  if (n < 0) FAIL("dk_wait: %d", n);
  take_batch(n);
  check_pending("dk_wait");
}

/* -------------------------------------------------------------- records */

/* An fd for a record: a harness fd, an internal one, a stale or forged number. */
static int32_t pick_fd_for(int closing) {
  uint8_t b = u8();
  if (closing && (b >> 6) == 3) /* a CLOSE of a number the harness does not own: only ones no
                                   file can take meanwhile (closing another's is the caller's bug) */
    return (b & 1) ? (int32_t)(0x80000000u | u32()) : (int32_t)(MAX_FD + (u32() & 0xffff));
  switch (b >> 6) {
  case 0: case 1: {
    int open_fds[MAX_FD], n = 0;
    for (int k = 0; k < MAX_FD; k++)
      if (ent[k].state == H_OPEN) open_fds[n++] = k;
    return n ? open_fds[b % n] : -1;
  }
  case 2:
    return n_internal ? internal[b % n_internal] : (int32_t)(b & 63);
  default: {
    if (b & 1) return (int32_t)u32();
    /* a number the harness does not hold and did not find open: closed, or the reactor's
     * (a pending CONNECT's socket, an accepted fd not yet delivered) */
    for (int fd = 3 + (b & 63); fd < MAX_FD; fd++)
      if (ent[fd].state == H_FREE && !fds_before[fd]) return fd;
    return -1;
  }
  }
}
static int32_t pick_fd(void) { return pick_fd_for(0); }

/* The address of one harness fd as a dk_addr (IPv4 loopback or IPv6 loopback). */
static struct dk_addr addr_of(int fd) {
  struct dk_addr a;
  memset(&a, 0, sizeof a);
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &l) == 0) {
    if (ss.ss_family == AF_INET) {
      a.family = 4;
      a.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
      memcpy(a.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
      a.family = 6;
      a.port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
      memcpy(a.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    }
  }
  return a;
}

static struct dk_addr pick_addr(void) {
  uint8_t b = u8();
  struct dk_addr a;
  memset(&a, 0, sizeof a);
  switch (b & 7) {
  case 0: case 1: case 2: /* a harness socket's own address (the listener, a UDP socket) */
    a = addr_of(pick_fd());
    if (a.family) break;
    /* fall through */
  case 3: /* 127.0.0.1:0 */
    a.family = 4;
    a.addr[0] = 127;
    a.addr[3] = 1;
    break;
  case 4: /* [::1]:0 */
    a.family = 6;
    a.addr[15] = 1;
    break;
  case 5: /* a loopback port nobody listens on, probably */
    a.family = 4;
    a.addr[0] = 127;
    a.addr[3] = 1;
    a.port = (uint16_t)(1 + (u8() & 15));
    break;
  default: /* raw bytes: any family, port, scope; loopback hosts only (no packets leave) */
    for (size_t j = 0; j < sizeof a; j++) ((uint8_t *)&a)[j] = u8();
    if (a.family == 4) {
      a.addr[0] = 127;
    } else if (a.family == 6) {
      memset(a.addr, 0, sizeof a.addr);
      a.addr[15] = 1;
    }
    break;
  }
  return a;
}

static char tmpdir[64];
static char paths[6][96];

static int needs_fd(uint8_t opc) {
  return opc == DK_OP_ACCEPT || opc == DK_OP_RECV || opc == DK_OP_SEND || opc == DK_OP_SHUTDOWN ||
         opc == DK_OP_CLOSE || opc == DK_OP_POLL || opc == DK_OP_READ || opc == DK_OP_WRITE ||
         opc == DK_OP_RECVFROM || opc == DK_OP_SENDTO || opc == DK_OP_UDP_CONNECT;
}
static int has_buf(uint8_t opc) {
  return opc == DK_OP_RECV || opc == DK_OP_SEND || opc == DK_OP_READ || opc == DK_OP_WRITE ||
         opc == DK_OP_RECVFROM || opc == DK_OP_SENDTO;
}
static int is_read(uint8_t opc) {
  return opc == DK_OP_RECV || opc == DK_OP_READ || opc == DK_OP_RECVFROM;
}

/* Fill record i with a random op; note what the harness expects of it in *o. */
static void make_record(uint32_t i, op *o) {
  struct dk_sqe *e = &sq[i];
  memset(e, 0, sizeof *e);
  memset(o, 0, sizeof *o);
  o->region = -1;
  o->expect = 1;
  uint8_t opc = u8();
  opc = opc < 200 ? (uint8_t)(opc % DK_OP__COUNT) : opc; /* now and then an unknown op */
  e->op = opc;
  e->flags = (u8() & 0x80) ? u16() : 0;
  e->fd = needs_fd(opc) ? pick_fd_for(opc == DK_OP_CLOSE) : ((u8() & 1) ? -1 : (int32_t)u32());
  uint8_t shape = u8();
  e->len = (shape & 3) == 0 ? u32() : (uint32_t)(u16() % (REGION + 1));
  e->arg = 0;
  e->token = next_token++;
  o->token = e->token;
  /* buffers: inside a fresh region of the arena, or deliberately invalid */
  if (has_buf(opc) || opc == DK_OP_OPEN) {
    int r = region_take();
    switch ((shape >> 2) & 7) {
    case 0: /* NULL: refused when len > 0 */
      e->addr = 0;
      break;
    case 1: /* an unmapped page: the kernel answers -EFAULT; C must never touch it */
      e->addr = 0x1000;
      if (e->len > REGION) e->len = REGION;
      break;
    default:
      if (r < 0) {
        e->addr = 0;
        e->len = 0;
        break;
      }
      o->region = (int16_t)r;
      uint8_t *base = arena + (size_t)r * REGION;
      memset(base, 0, REGION);
      uint32_t off = u16() % REGION;
      if (e->len <= DK_MAX_LEN && e->len > REGION - off) e->len = REGION - off;
      e->addr = (uint64_t)(uintptr_t)(base + off);
      break;
    }
    if (o->region < 0 && r >= 0) region_used[r] = 0;
  }
  switch (opc) {
  case DK_OP_LISTEN:
  case DK_OP_CONNECT:
  case DK_OP_UDP_BIND:
  case DK_OP_UDP_CONNECT:
  case DK_OP_SENDTO:
    if ((shape >> 5) == 0) e->arg = 0;
    else if ((shape >> 5) == 1) e->arg = u64();
    else e->arg = DK_ARG_ADDR;
    sq_addr[i] = pick_addr();
    if (opc == DK_OP_LISTEN || opc == DK_OP_UDP_BIND) e->flags &= (u8() & 1) ? 0xffff : 7;
    if (opc == DK_OP_LISTEN && e->len > 4096) e->len = 16;
    break;
  case DK_OP_ACCEPT:
  case DK_OP_RECVFROM:
    e->arg = (shape >> 5) == 1 ? u64() : (shape >> 5) & 1;
    break;
  case DK_OP_READ:
  case DK_OP_WRITE:
    e->arg = (shape >> 5) == 1 ? (uint64_t)(u32() & 0xfffff) : (shape >> 5) == 2 ? u64() : UINT64_MAX;
    break;
  case DK_OP_POLL:
    e->len = (shape >> 5) ? (uint32_t)(1 + u8() % 15) : e->len;
    break;
  case DK_OP_SHUTDOWN:
    e->len = (shape >> 5) ? e->len % 3 : e->len;
    break;
  case DK_OP_CANCEL:
    if ((shape >> 5) == 0) e->arg = u64(); /* forged, maybe past UINT32_MAX */
    else if ((shape >> 5) == 1) e->arg = 0x80000000u | u32(); /* never issued */
    else if (n_ops) e->arg = ops[u16() % n_ops].token; /* an outstanding one */
    break;
  case DK_OP_OPEN: {
    uint8_t p = u8();
    if (p < 240) e->addr = (uint64_t)(uintptr_t)paths[p % 6];
    e->len = (shape >> 5) ? (uint32_t)(u8() & 0x3f) : e->len;
    e->arg = (shape >> 5) == 1 ? u64() : 0600;
    break;
  }
  default:
    if ((shape >> 5) == 7) e->arg = u64();
    break;
  }
  o->op = opc;
  o->fd = e->fd;
  if (e->fd >= 0 && e->fd < MAX_FD) o->fd_gen = ent[e->fd].gen;
  /* tokens: now and then one an outstanding op already has */
  int k = n_ops ? u16() % n_ops : 0;
  if (n_ops && (u8() & 0x1f) == 0 && opc != DK_OP_CLOSE && ops[k].op != DK_OP_CLOSE) {
    e->token = ops[k].token;
    o->token = e->token;
    ops[k].dup = 1;
    o->dup = 1;
  }
  /* What validation must answer (checked on completion). */
  if (opc >= DK_OP__COUNT) o->expect = -EINVAL;
  else if (needs_fd(opc) && e->fd < 0) o->expect = -EBADF;
  else if (has_buf(opc) && e->len > DK_MAX_LEN) o->expect = -EINVAL;
  else if (has_buf(opc) && e->addr == 0 && e->len > 0) o->expect = -EFAULT;
  else if (is_internal(e->fd) && (opc == DK_OP_CLOSE || opc == DK_OP_RECV || opc == DK_OP_SEND ||
                                   opc == DK_OP_READ || opc == DK_OP_WRITE ||
                                   (opc == DK_OP_ACCEPT && e->arg <= DK_ARG_ADDR)))
    o->expect = -EBADF;
  else if (opc == DK_OP_CANCEL && e->arg > UINT32_MAX) o->expect = -EINVAL;
  else if (opc == DK_OP_CANCEL && (e->arg & 0x80000000u)) o->expect = -ENOENT;
  /* data: a read's tag; a write's bytes carry its reader's tag */
  int owned = e->fd >= 0 && e->fd < MAX_FD && ent[e->fd].state == H_OPEN;
  if (is_read(opc) && owned && o->region >= 0 && ent[e->fd].kind != K_FILE &&
      ent[e->fd].kind != K_OTHER)
    o->tag = ent[e->fd].tag;
  if (!is_read(opc) && has_buf(opc) && o->region >= 0) {
    /* a SENDTO's address counts on a datagram socket only (a connected stream ignores it) */
    uint32_t to = 0;
    int udp = owned && ent[e->fd].kind == K_UDP;
    if (udp && opc == DK_OP_SENDTO && e->arg == DK_ARG_ADDR)
      to = sq_addr[i].family == 4 ? ((uint32_t)sq_addr[i].port << 8) | 4 : UINT32_MAX;
    uint8_t t = !owned || ent[e->fd].kind == K_OTHER ? TAG_NONE
                : ent[e->fd].kind == K_FILE           ? 0xA5
                : to == UINT32_MAX                    ? TAG_NONE
                                                      : reader_tag(e->fd, to);
    memset(arena + (size_t)o->region * REGION, t, REGION);
  }
  if (opc == DK_OP_CLOSE && owned && o->expect == 1) ent[e->fd].state = H_CLOSING;
  DBG("  sqe[%u] token %u op %u fd %d len %u addr %#llx arg %#llx flags %#x%s\n", i, e->token, opc,
      e->fd, e->len, (unsigned long long)e->addr, (unsigned long long)e->arg, e->flags,
      o->dup ? " (dup token)" : "");
}

static void do_batch(int enter) {
  uint32_t n = u8() % (sq_cap + 2); /* sometimes sq_cap + 1: refused whole */
  if (n_ops + (int)n > MAX_OPS) n = 0;
  uint32_t m = n < sq_cap ? n : sq_cap;
  op batch[SQ_MAX];
  uint8_t closing[SQ_MAX];
  for (uint32_t i = 0; i < m; i++) {
    int32_t fd = 0;
    make_record(i, &batch[i]);
    fd = batch[i].fd;
    closing[i] = fd >= 0 && fd < MAX_FD && ent[fd].state == H_CLOSING && batch[i].op == DK_OP_CLOSE &&
                 batch[i].expect == 1;
  }
  int32_t v = enter ? dk_enter(h, n, (u8() & 3) == 0 ? 1 : 0) : dk_submit(h, n);
  DBG("dk_%s(%u) = %d\n", enter ? "enter" : "submit", n, v);
  if (n > sq_cap && v != -EINVAL) FAIL("dk_submit(%u > sq_cap %u) = %d", n, sq_cap, v);
  if (n <= sq_cap && v < 0 && v != -ENOMEM) FAIL("dk_%s(%u) = %d", enter ? "enter" : "submit", n, v);
  if (n > sq_cap || v == -ENOMEM || (!enter && v != (int32_t)n)) {
    /* nothing accepted: undo the harness's bookkeeping */
    for (uint32_t i = 0; i < m; i++) {
      if (batch[i].region >= 0) region_used[batch[i].region] = 0;
      if (closing[i]) ent[batch[i].fd].state = H_OPEN;
    }
    check_pending("refused batch");
    return;
  }
  for (uint32_t i = 0; i < n; i++) ops[n_ops++] = batch[i];
  accepted += n;
  if (enter) take_batch(v);
  check_pending(enter ? "dk_enter" : "dk_submit");
}

/* ------------------------------------------------------- harness files */

static int listener = -1;

static void open_stream_pair(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) return;
  adopt(sv[0], K_STREAM, -1, 0);
  adopt(sv[1], K_STREAM, sv[0], 0);
  ent[sv[0]].peer = sv[1];
}

static void open_pipe(int blocking_read) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | (blocking_read ? 0 : O_NONBLOCK)) < 0) return;
  if (blocking_read) fcntl(p[1], F_SETFL, O_NONBLOCK);
  adopt(p[0], K_PIPE_R, -1, 0);
  adopt(p[1], K_PIPE_W, p[0], 0);
}

static void open_tcp_client(void) {
  if (listener < 0 || ent[listener].state != H_OPEN) return;
  struct sockaddr_in sa;
  socklen_t l = sizeof sa;
  if (getsockname(listener, (struct sockaddr *)&sa, &l) < 0) return;
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c < 0) return;
  (void)connect(c, (struct sockaddr *)&sa, l);
  adopt(c, K_STREAM, -1, 0);
}

static void accept_one(int lfd) {
  if (lfd < 0 || lfd >= MAX_FD || ent[lfd].state != H_OPEN) return;
  int a = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (a >= 0) adopt(a, K_STREAM, -1, 0);
}

static void open_udp(void) {
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (u < 0) return;
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)bind(u, (struct sockaddr *)&sa, sizeof sa);
  adopt(u, K_UDP, -1, 0);
}

static void open_file(int which) {
  int f = which ? open(paths[0], O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600)
                : open("/dev/null", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (f >= 0) adopt(f, which ? K_FILE : K_OTHER, -1, 0);
}

static void open_listener(void) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l < 0) return;
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 64) < 0) {
    close(l);
    return;
  }
  adopt(l, K_LISTEN, -1, 0);
  listener = l;
}

static void open_something(uint8_t b) {
  switch (b % 8) {
  case 0: open_stream_pair(); break;
  case 1: open_pipe(b & 8); break;
  case 2: open_tcp_client(); break;
  case 3: accept_one(listener); break;
  case 4: open_udp(); break;
  case 5: open_file(1); break;
  case 6: open_file(0); break;
  default: open_listener(); break;
  }
}

/* ------------------------------------------------- synchronous helpers */

static int pick_owned(void) {
  int32_t fd = pick_fd();
  return (fd >= 0 && fd < MAX_FD && ent[fd].state == H_OPEN) ? fd : -1;
}

static void sync_call(void) {
  uint8_t which = u8();
  int fd = (which & 0x80) ? pick_fd() : pick_owned();
  /* fds the harness does not own are only given to calls that cannot close or change them */
  int owned = fd >= 0 && fd < MAX_FD && ent[fd].state == H_OPEN;
  int r = region_take();
  if (r < 0) return;
  uint8_t *buf = arena + (size_t)r * REGION;
  memset(buf, 0, REGION);
  uint32_t len = u16() % (REGION + 1);
  struct dk_addr a = pick_addr();
  int32_t out[4];
  double st[DK_STAT__COUNT];
  switch (which % 24) {
  case 0: {
    int32_t v = dk_try_recv(fd, (u8() & 1) ? buf : NULL, len, (int32_t)(u8() & 3));
    if (v > 0 && owned && ent[fd].kind == K_STREAM) {
      for (int j = 0; j < v; j++)
        if (buf[j] != 0 && buf[j] != ent[fd].tag) FAIL("dk_try_recv on %d read tag %u, not %u", fd, buf[j], ent[fd].tag);
    }
    break;
  }
  case 1:
    memset(buf, reader_tag(fd, 0), REGION);
    (void)dk_try_send(fd, (u8() & 1) ? buf : NULL, len);
    break;
  case 2: {
    uint64_t iov[8];
    uint32_t n = u8() % 5;
    memset(buf, reader_tag(fd, 0), REGION);
    for (uint32_t j = 0; j < n; j++) {
      uint32_t off = u16() % REGION;
      iov[2 * j] = (u8() & 7) ? (uint64_t)(uintptr_t)(buf + off) : 0;
      /* inside the region, or a length validation refuses (past DK_MAX_LEN) */
      iov[2 * j + 1] = (u8() & 7) ? u16() % (REGION - off + 1) : (uint64_t)DK_MAX_LEN + 1 + u16();
    }
    /* n within iov[], or a count validation refuses (over 1024) */
    (void)dk_try_sendv(fd, (u8() & 7) ? iov : NULL, (u8() & 7) ? n : 1025 + u16());
    break;
  }
  case 3: (void)dk_getsockopt(fd, (int32_t)(u8() % 12) - 1, (u8() & 7) ? out : NULL); break;
  case 4:
    if (owned) {
      int32_t opt = (int32_t)(u8() % 12) - 1, val = (u8() & 1) ? (int32_t)u32() : (int32_t)(u8() % 3) - 1;
      if ((opt == DK_SOCKOPT_RCVBUF || opt == DK_SOCKOPT_SNDBUF) && (val < 0 || val > 1 << 20)) val = 4096;
      (void)dk_setsockopt(fd, opt, val);
    }
    break;
  case 5: (void)dk_local_addr(fd, (u8() & 7) ? &a : NULL); break;
  case 6: (void)dk_peer_addr(fd, (u8() & 7) ? &a : NULL); break;
  case 7: (void)dk_fstat(fd, (u8() & 7) ? st : NULL); break;
  case 8: {
    double offs[] = {0, 1, -1, 1e300, NAN, INFINITY, 4096, 9007199254740993.0};
    (void)dk_lseek(fd, offs[u8() % 8], (int32_t)(u8() % 5) - 1);
    break;
  }
  case 9:
    if (owned && ent[fd].kind == K_FILE) {
      double lens[] = {0, 1, -1, 1e300, NAN, 65536, 1e7};
      (void)dk_ftruncate(fd, lens[u8() % 7]);
    }
    break;
  case 10: if (owned) (void)dk_fsync(fd, u8() & 1); break;
  case 11: {
    const char *s = dk_errno_name((int32_t)u32());
    if (!s) FAIL("dk_errno_name returned NULL");
    break;
  }
  case 12: {
    uint32_t lay[20];
    int32_t v = dk_layout((u8() & 7) ? lay : NULL, u8() % 20);
    if (v < -EFAULT || v > 15) FAIL("dk_layout = %d", v);
    break;
  }
  case 13: {
    double t0 = dk_clock_ms(), t1 = dk_clock_ms();
    if (!(t1 >= t0)) FAIL("dk_clock_ms went back");
    break;
  }
  case 14:
    if (h >= 0 && dk_backend(h) != FUZZ_BACKEND) FAIL("dk_backend(%d) = %d", h, dk_backend(h));
    break;
  case 15: { /* a new socket, built with the helpers */
    int32_t s = dk_socket((int32_t)(u8() % 8), (int32_t)(u8() % 4));
    if (s >= 0) {
      adopt(s, K_OTHER, -1, 1);
      uint8_t m = u8();
      if (m & 1) (void)dk_bind(s, (m & 2) ? &a : NULL);
      if (m & 4) (void)dk_listen(s, (int32_t)(u8()) - 2);
      if (m & 8) (void)dk_connect(s, (m & 16) ? &a : NULL);
      if (m & 32) {
        int l = snprintf((char *)buf, REGION, "%s/u%u", tmpdir, (unsigned)(u8() & 3));
        if (m & 64) buf[0] = 0; /* an abstract name */
        if (u8() & 1) l = (int)(u16() % 300);
        if (m & 128) (void)dk_unix_connect(s, buf, (uint32_t)l);
        else (void)dk_unix_bind(s, buf, (uint32_t)l);
      }
    }
    break;
  }
  case 16: (void)dk_unix_name(fd, u8() & 1, (u8() & 7) ? buf : NULL, u8()); break;
  case 17: (void)dk_peer_cred(fd, (u8() & 7) ? out : NULL); break;
  case 18: {
    int l = snprintf((char *)buf + 2048, 1024, "%s/u%u", tmpdir, (unsigned)(u8() & 3));
    (void)dk_try_unix_sendto(fd, buf, len > 2048 ? 2048 : len, (u8() & 7) ? buf + 2048 : NULL,
                             (u8() & 3) ? (uint32_t)l : u8());
    break;
  }
  case 19: {
    uint32_t fl = 0;
    (void)dk_try_unix_recvfrom(fd, buf, len > 2048 ? 2048 : len, buf + 2048, u8() % 200,
                               (u8() & 7) ? &fl : NULL);
    break;
  }
  case 20: { /* names only the resolver answers without the network */
    static const char *hosts[] = {"127.0.0.1", "::1", "", "a\0b"};
    int k = u8() % 5;
    struct dk_addr res[4];
    if (k < 4) (void)dk_resolve((const uint8_t *)hosts[k], k == 3 ? 3 : (uint32_t)strlen(hosts[k]), u32() % 70000, (u8() & 7) ? res : NULL, u8() % 5);
    else (void)dk_resolve(buf, 254 + (u8() & 1), 80, res, 4); /* too long: refused unread */
    break;
  }
  case 21: (void)dk_unix_path_max(); break;
  case 22: if (h >= 0 && dk_wake(h) != 0) FAIL("dk_wake"); break;
  default: { /* the reactor's own fds: refused */
    if (n_internal) {
      int fdi = internal[u8() % n_internal];
      if (dk_close(fdi) != -EBADF) FAIL("dk_close(internal %d) was not refused", fdi);
    }
    break;
  }
  }
  region_used[r] = 0;
  check_pending("sync helper");
}

/* ------------------------------------------------------ reactor life */

static void snapshot_internal(const uint8_t before[MAX_FD]) {
  n_internal = 0;
  for (int fd = 0; fd < MAX_FD && n_internal < 8; fd++)
    if (!before[fd] && fd_is_open(fd) && ent[fd].state == H_FREE) {
      char link[64] = "", path[32];
      snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
      (void)!readlink(path, link, sizeof link - 1);
      DBG("  fd %d: the reactor's own (%s)\n", fd, link);
      internal[n_internal++] = fd;
    }
}

static void create(void) {
  uint8_t now[MAX_FD];
  for (int fd = 0; fd < MAX_FD; fd++) now[fd] = (uint8_t)fd_is_open(fd);
  h = dk_create(FUZZ_BACKEND, entries, sq, sq_cap, cq, cq_cap, sq_addr, cq_addr);
  if (h < 0) FAIL("dk_create(%d, %u) = %d", FUZZ_BACKEND, entries, h);
  snapshot_internal(now);
  accepted = delivered = 0;
  check_pending("dk_create");
}

/* One round of CANCELs, one per outstanding op (not CANCELs themselves). */
static void cancel_round(void) {
  uint32_t n = 0;
  op batch[SQ_MAX];
  for (int k = 0; k < n_ops && n < sq_cap && n_ops + (int)n < MAX_OPS; k++) {
    if (ops[k].op == DK_OP_CANCEL) continue;
    struct dk_sqe *e = &sq[n];
    memset(e, 0, sizeof *e);
    e->op = DK_OP_CANCEL;
    e->token = next_token++;
    e->arg = ops[k].token;
    memset(&batch[n], 0, sizeof batch[n]);
    batch[n].token = e->token;
    batch[n].op = DK_OP_CANCEL;
    batch[n].region = -1;
    batch[n].expect = 1;
    n++;
  }
  int32_t v = dk_submit(h, n);
  if (v == (int32_t)n) {
    for (uint32_t i = 0; i < n; i++) ops[n_ops++] = batch[i];
    accepted += n;
  }
  check_pending("drain submit");
}

static int outstanding_cancels(void) {
  for (int k = 0; k < n_ops; k++)
    if (ops[k].op == DK_OP_CANCEL) return 1;
  return 0;
}

/* Cancel what is outstanding and collect until nothing is owed.  A new round of cancels goes
 * out each time the last round's have all come back: with a shared token a CANCEL hits the
 * newest op holding it (dokio.h), which may be one that has finished but whose completion is not
 * collected yet, so the other is cancelled by a later round. */
static void drain(void) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (n_ops > 0) {
    if (!outstanding_cancels()) cancel_round();
    do_wait(outstanding_cancels() ? 0 : 5);
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > DRAIN_MS) {
      for (int k = 0; k < n_ops; k++)
        fprintf(stderr, "  pending: token %u op %u fd %d%s\n", ops[k].token, ops[k].op, ops[k].fd,
                ops[k].dup ? " (dup token)" : "");
      FAIL("%d ops still pending %d ms after being cancelled (first: op %u fd %d)", n_ops, DRAIN_MS,
           ops[0].op, ops[0].fd);
    }
  }
}

static void destroy(void) {
  int32_t old = h;
  if (dk_destroy(h) != 0) FAIL("dk_destroy");
  stale_h = old;
  h = -1;
  n_ops = 0;
  memset(region_used, 0, sizeof region_used);
  /* a CLOSE still queued ran */
  for (int fd = 0; fd < MAX_FD; fd++) {
    if (ent[fd].state != H_CLOSING) continue;
    if (fd_is_open(fd)) FAIL("fd %d: its CLOSE was pending at destroy and never ran", fd);
    forget(fd);
  }
  for (int k = 0; k < n_internal; k++)
    if (fd_is_open(internal[k])) FAIL("reactor fd %d open after destroy", internal[k]);
  n_internal = 0;
}

static void stale_calls(void) {
  if (stale_h < 0) return;
  if (dk_submit(stale_h, 0) != -EBADF || dk_wait(stale_h, 0) != -EBADF ||
      dk_pending(stale_h) != -EBADF || dk_wake(stale_h) != -EBADF ||
      dk_backend(stale_h) != -EBADF || dk_destroy(stale_h) != -EBADF ||
      dk_enter(stale_h, 0, 0) != -EBADF)
    FAIL("a destroyed handle was not refused");
}

/* ------------------------------------------------------------ the input */

/* The reactor must never raise SIGPIPE (dokio.h: a broken pipe or reset socket gives -EPIPE);
 * the harness writes only into files with a reader.  One that arrives is a crash, with the
 * stack of the thread that wrote. */
void __sanitizer_print_stack_trace(void);
static void on_sigpipe(int sig) {
  (void)sig;
  static const char msg[] = "fuzz oracle: SIGPIPE raised\n";
  (void)!write(2, msg, sizeof msg - 1);
  __sanitizer_print_stack_trace();
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  signal(SIGPIPE, on_sigpipe);
  { /* a host without the backend (io_uring refused by the kernel or a sandbox): nothing to fuzz */
    struct dk_sqe q[1];
    struct dk_cqe c[1];
    struct dk_addr a[2];
    int32_t probe = dk_create(FUZZ_BACKEND, 0, q, 1, c, 1, &a[0], &a[1]);
    if (probe < 0) {
      fprintf(stderr, "backend %d unavailable here (%d): skipped\n", FUZZ_BACKEND, probe);
      exit(0);
    }
    dk_destroy(probe);
  }
  arena = aligned_alloc(4096, (size_t)N_REGIONS * REGION);
  sq = calloc(SQ_MAX + 1, sizeof *sq);
  sq_addr = calloc(SQ_MAX + 1, sizeof *sq_addr);
  cq = calloc(CQ_MAX, sizeof *cq);
  cq_addr = calloc(CQ_MAX, sizeof *cq_addr);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/dokio_fuzz_%d", (int)getpid());
  mkdir(tmpdir, 0700);
  snprintf(paths[0], sizeof paths[0], "%s/file", tmpdir);
  snprintf(paths[1], sizeof paths[1], "%s/missing/x", tmpdir);
  snprintf(paths[2], sizeof paths[2], "%s", tmpdir);
  snprintf(paths[3], sizeof paths[3], "%s/fifo", tmpdir);
  snprintf(paths[4], sizeof paths[4], "/dev/null");
  snprintf(paths[5], sizeof paths[5], "%s/new", tmpdir);
  mkfifo(paths[3], 0600);
  dbg = getenv("FUZZ_DEBUG") != NULL;
  for (int fd = 0; fd < MAX_FD; fd++) ent[fd].peer = -1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  in_p = data;
  in_n = size;
  for (int fd = 0; fd < MAX_FD; fd++) fds_before[fd] = (uint8_t)fd_is_open(fd);
  uint8_t hdr = u8();
  static const uint32_t ring[8] = {0, 1, 2, 4, 8, 16, 64, 256};
  entries = ring[hdr & 7];
  sq_cap = 1 + (u8() % SQ_MAX);
  cq_cap = 1 + (u8() % CQ_MAX);
  int drain_first = !(hdr & 8);
  unlink(paths[5]);

  /* the files of every input */
  open_listener();
  open_stream_pair();
  open_pipe(1);
  open_tcp_client();
  accept_one(listener);
  open_udp();
  open_file(1);
  create();

  for (int cmd = 0; cmd < MAX_CMDS && in_n > 0; cmd++) {
    uint8_t c = u8();
    DBG("cmd %u\n", c % 12);
    switch (c % 12) {
    case 0: case 1: case 2: do_batch(0); break;
    case 3: do_batch(1); break;
    case 4: do_wait((u8() & 7) == 0 ? 2 : 0); break;
    case 5: { /* write into a file the harness holds */
      int fd = pick_owned();
      if (fd >= 0) hwrite(fd, u16() % REGION + 1);
      break;
    }
    case 6: { /* close outside the op path, then maybe reuse the number at once */
      int fd = pick_owned();
      if (fd >= 0) {
        forget(fd);
        int32_t v = dk_close(fd);
        if (v != 0) FAIL("dk_close(%d) = %d on an fd the harness holds", fd, v);
        if (u8() & 1) open_something(u8());
      }
      check_pending("dk_close");
      break;
    }
    case 7: open_something(u8()); break;
    case 8: sync_call(); break;
    case 9: { /* a wake is not lost: the next wait returns at once */
      if (dk_wake(h) != 0) FAIL("dk_wake");
      do_wait(u8() & 1 ? -1 : 5000);
      break;
    }
    case 10: /* destroy with whatever is in flight, and start again */
      if ((u8() & 3) == 0) {
        destroy();
        stale_calls();
        create();
      }
      break;
    default: accept_one(pick_owned()); break;
    }
  }

  if (drain_first) drain();
  destroy();
  stale_calls();
  for (int fd = 0; fd < MAX_FD; fd++)
    if (ent[fd].state == H_OPEN) hclose(fd);
  for (int fd = 0; fd < MAX_FD; fd++) {
    int open_now = fd_is_open(fd);
    if (open_now && !fds_before[fd]) FAIL("fd %d leaked by the input", fd);
    if (!open_now && fds_before[fd]) FAIL("fd %d (open before the input) was closed", fd);
    ent[fd].state = H_FREE;
    ent[fd].peer = -1;
  }
  listener = -1;
  return 0;
}
