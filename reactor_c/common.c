/*
 * common.c — the backend-independent half of the reactor: the handle table,
 * the public entry points of dokio.h, argument validation, the op table and
 * token hash, the completion queue, dk_addr <-> sockaddr conversion, errno
 * names, dk_layout and the synchronous socket helpers.
 *
 * Handles: a static table of DK_MAX_REACTORS entries.  A handle is
 * (generation << 6 | index); destroy bumps the generation, so a stale or
 * forged handle never matches and is answered with -EBADF.  The table lock is
 * held only by dk_create, dk_destroy (to publish/unpublish) and dk_wake (so a
 * wake never writes to a wake fd that destroy has already closed).
 */
#include "reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DK_MAX_REACTORS 64u
#define DK_HANDLE_SHIFT 6
#define DK_MAX_CAP (1u << 24)

typedef struct handle_entry {
  _Atomic uint32_t gen; /* odd while live */
  dk_reactor *r;
} handle_entry;

static handle_entry handles[DK_MAX_REACTORS];
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;

static int32_t make_handle(uint32_t idx, uint32_t gen) {
  return (int32_t)(((gen & 0xffffffu) << DK_HANDLE_SHIFT) | idx);
}

/* The live reactor of handle h, or NULL. */
static dk_reactor *lookup(int32_t h) {
  if (h < 0) return NULL;
  uint32_t idx = (uint32_t)h & (DK_MAX_REACTORS - 1);
  uint32_t gen = (uint32_t)h >> DK_HANDLE_SHIFT;
  uint32_t g = atomic_load_explicit(&handles[idx].gen, memory_order_acquire);
  if ((g & 1u) == 0 || (g & 0xffffffu) != gen) return NULL;
  return handles[idx].r;
}

/* ---------------------------------------------------------------- slots */

static uint32_t hash_token(const dk_reactor *r, uint32_t t) {
  t ^= t >> 16;
  t *= 0x7feb352du;
  t ^= t >> 15;
  return t & r->hash_mask;
}

static int grow_hash(dk_reactor *r) {
  uint32_t n = (r->hash_mask + 1) * 2;
  int32_t *h = malloc(n * sizeof *h);
  if (!h) return -ENOMEM;
  for (uint32_t i = 0; i < n; i++) h[i] = DK_NIL;
  free(r->hash);
  r->hash = h;
  r->hash_mask = n - 1;
  uint32_t total = r->n_chunks * DK_CHUNK;
  for (uint32_t i = 0; i < total; i++) {
    dk_slot *s = slot_at(r, (int32_t)i);
    if (s->state != ST_ACTIVE) continue;
    uint32_t b = hash_token(r, s->token);
    s->hnext = h[b];
    h[b] = (int32_t)i;
  }
  return 0;
}

static int grow_slots(dk_reactor *r) {
  if ((r->n_chunks + 1) * DK_CHUNK > DK_MAX_OPS) return -ENOMEM;
  dk_slot **c = realloc(r->chunks, (r->n_chunks + 1) * sizeof *c);
  if (!c) return -ENOMEM;
  r->chunks = c;
  dk_slot *chunk = calloc(DK_CHUNK, sizeof *chunk);
  if (!chunk) return -ENOMEM;
  c[r->n_chunks] = chunk;
  uint32_t base = r->n_chunks * DK_CHUNK;
  r->n_chunks++;
  for (uint32_t i = DK_CHUNK; i-- > 0;) {
    chunk[i].next = r->free_head;
    chunk[i].gen = 1;
    r->free_head = (int32_t)(base + i);
  }
  return 0;
}

/* Ops that keep the TS fd of their record busy while pending (not CLOSE, which ends it). */
#define HOLDS_FD ((1u << DK_OP_ACCEPT) | (1u << DK_OP_RECV) | (1u << DK_OP_SEND) |          \
                  (1u << DK_OP_SHUTDOWN) | (1u << DK_OP_POLL) | (1u << DK_OP_READ) |        \
                  (1u << DK_OP_WRITE) | (1u << DK_OP_RECVFROM) | (1u << DK_OP_SENDTO) |     \
                  (1u << DK_OP_UDP_CONNECT))

int32_t slot_alloc(dk_reactor *r, const struct dk_sqe *e) {
  if (r->n_active + 1 > r->hash_mask + 1 && grow_hash(r) < 0) return -ENOMEM;
  if (r->free_head == DK_NIL && grow_slots(r) < 0) return -ENOMEM;
  int32_t i = r->free_head;
  dk_slot *s = slot_at(r, i);
  r->free_head = s->next;
  s->token = e->token;
  s->op = e->op;
  s->state = ST_ACTIVE;
  s->list = L_NONE;
  s->fd = e->fd;
  s->len = e->len;
  s->flags = e->flags;
  s->addr = e->addr;
  s->arg = e->arg;
  s->sock = -1;
  s->held = -1;
  s->pipe_write = 0;
  s->stage = FS_OPEN;
  s->cflags = 0;
  s->done = 0;
  s->salen = 0; /* no address until an op's syscall reports one */
  s->sa.sa.sa_family = AF_UNSPEC;
  s->next = s->prev = DK_NIL;
  uint32_t b = hash_token(r, e->token);
  s->hnext = r->hash[b];
  r->hash[b] = i;
  r->n_active++;
  if ((1u << e->op) & HOLDS_FD) (void)slot_hold(r, i, e->fd); /* check_fd made its entry */
  return i;
}

static void slot_release(dk_reactor *r, int32_t i);

void slot_free(dk_reactor *r, int32_t i) {
  dk_slot *s = slot_at(r, i);
  slot_release(r, i);
  int32_t *p = &r->hash[hash_token(r, s->token)];
  while (*p != DK_NIL && *p != i) p = &slot_at(r, *p)->hnext;
  if (*p == i) *p = s->hnext;
  s->state = ST_FREE;
  s->gen++;
  s->next = r->free_head;
  r->free_head = i;
  r->n_active--;
}

/* ------------------------------------------------------------- fd facts */

/* The process's fd limit (soft), never below 64. */
static uint32_t fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 24))
    return 1u << 24;
  return rl.rlim_cur < 64 ? 64 : (uint32_t)rl.rlim_cur;
}

dk_fd_info *fd_info(dk_reactor *r, int32_t fd) {
  if (fd < 0) return NULL;
  if ((uint32_t)fd < r->n_fds) return &r->fds[fd];
  /* Grow only for a number that names an open file: a forged one is refused
   * before it costs memory.  The limit bounds the table; an fd above it (the
   * limit was lowered after it opened) still gets its entry. */
  if (fcntl(fd, F_GETFD) < 0) return NULL;
  uint32_t lim = fd_limit();
  uint32_t n = r->n_fds ? r->n_fds : 64;
  while (n <= (uint32_t)fd) n *= 2;
  if (n > lim && lim > (uint32_t)fd) n = lim;
  if (n <= (uint32_t)fd) n = (uint32_t)fd + 1;
  dk_fd_info *f = realloc(r->fds, n * sizeof *f);
  if (!f) return NULL;
  memset(f + r->n_fds, 0, (n - r->n_fds) * sizeof *f);
  r->fds = f;
  r->n_fds = n;
  return &r->fds[fd];
}

int32_t slot_hold(dk_reactor *r, int32_t i, int32_t fd) {
  dk_fd_info *f = fd_info(r, fd);
  if (!f) return -EBADF;
  f->ops++;
  slot_at(r, i)->held = fd;
  return 0;
}

static void slot_release(dk_reactor *r, int32_t i) {
  dk_slot *s = slot_at(r, i);
  if (s->held >= 0 && (uint32_t)s->held < r->n_fds) r->fds[s->held].ops--;
  s->held = -1;
}

void own_fd(dk_reactor *r, int32_t fd, uint8_t owner) {
  dk_fd_info *f = fd_info(r, fd);
  if (f) f->owner = owner;
}

/* Close notices.  A close made outside a reactor's op path (dk_close, or a
 * CLOSE record in another reactor) is announced to every live reactor before
 * the close(2), under handles_lock.  Each reactor takes its notices on its own
 * thread at the start of every entry point and before it hands out a new fd,
 * so the notice for a number is always applied before that number can come
 * back to it as a new file: close(2) happens after the announcement, and the
 * number can only be reused after close(2). */
#define DK_NOTES_MAX 65536u

static void note_close(dk_reactor *r, int32_t fd) {
  if (r->notes_overflow) return;
  if (r->n_notes == r->notes_cap) {
    uint32_t n = r->notes_cap ? r->notes_cap * 2 : 64;
    int32_t *p = n <= DK_NOTES_MAX ? realloc(r->notes, n * sizeof *p) : NULL;
    if (!p) {
      r->notes_overflow = 1; /* the reactor re-checks every fd it knows instead */
      atomic_store_explicit(&r->notes_pending, 1, memory_order_release);
      return;
    }
    r->notes = p;
    r->notes_cap = n;
  }
  r->notes[r->n_notes++] = fd;
  atomic_store_explicit(&r->notes_pending, 1, memory_order_release);
}

static void take_notices(dk_reactor *r) {
  /* Acquire pairs with note_close's release: a set flag means the appended
   * notes are visible once we hold the lock (the lock alone would do; the flag
   * keeps the common no-notice path free of it). */
  if (!atomic_load_explicit(&r->notes_pending, memory_order_acquire)) return;
  for (;;) {
    int32_t local[64];
    uint32_t n = 0;
    int overflow = 0;
    pthread_mutex_lock(&handles_lock);
    while (n < 64 && r->n_notes > 0) local[n++] = r->notes[--r->n_notes];
    if (r->n_notes == 0) {
      overflow = r->notes_overflow;
      r->notes_overflow = 0;
      atomic_store_explicit(&r->notes_pending, 0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&handles_lock);
    for (uint32_t k = 0; k < n; k++) {
      if ((uint32_t)local[k] < r->n_fds) {
        r->fds[local[k]].kind = FK_UNKNOWN;
        r->fds[local[k]].checked = 0;
        r->fds[local[k]].drained = 0;
      }
      r->ops->closed_elsewhere(r, local[k]);
    }
    if (overflow) {
      /* Notices were lost: every number with ops whose file is gone is closed. */
      for (uint32_t fd = 0; fd < r->n_fds; fd++) {
        if (r->fds[fd].owner != FD_INTERNAL && fcntl((int)fd, F_GETFD) < 0) {
          r->fds[fd].kind = FK_UNKNOWN;
          r->fds[fd].checked = 0;
          r->fds[fd].drained = 0;
          r->ops->closed_elsewhere(r, (int32_t)fd);
        }
      }
    }
    if (n < 64 && !overflow) return;
  }
}

/* Announce that fd is about to be closed outside the op path of every live
 * reactor but self.  Returns -EBADF (and announces nothing) if fd is one of a
 * live reactor's own fds.  Caller holds no lock. */
static int32_t announce_close(dk_reactor *self, int32_t fd) {
  pthread_mutex_lock(&handles_lock);
  for (uint32_t i = 0; i < DK_MAX_REACTORS; i++) {
    dk_reactor *r = handles[i].r;
    if (!r) continue;
    for (uint32_t k = 0; k < r->n_own; k++) {
      if (r->own_fds[k] == fd) {
        pthread_mutex_unlock(&handles_lock);
        return -EBADF;
      }
    }
  }
  for (uint32_t i = 0; i < DK_MAX_REACTORS; i++) {
    dk_reactor *r = handles[i].r;
    if (r && r != self) note_close(r, fd);
  }
  pthread_mutex_unlock(&handles_lock);
  return 0;
}

void add_own_fd(dk_reactor *r, int32_t fd) {
  if (fd < 0 || r->n_own >= sizeof r->own_fds / sizeof r->own_fds[0]) return;
  r->own_fds[r->n_own++] = fd;
  own_fd(r, fd, FD_INTERNAL);
}

/* Notices need not be taken here: one for this number, if any, is applied at the
 * start of the next entry point, before any op can name the new file (the
 * backend's fresh hook already fails what its number still carried). */
void fd_new(dk_reactor *r, int32_t fd, int sock) {
  if (fd >= 0 && (uint32_t)fd < r->n_fds) {
    r->fds[fd].kind = sock ? FK_SOCK : FK_UNKNOWN;
    r->fds[fd].owner = FD_TS;
    r->fds[fd].checked = 0; /* the reactor may close it before TS names it (a failed CONNECT) */
    r->fds[fd].drained = 0;
  }
  r->ops->fresh(r, fd, sock);
}

int32_t slot_find_token(dk_reactor *r, uint32_t token) {
  for (int32_t i = r->hash[hash_token(r, token)]; i != DK_NIL; i = slot_at(r, i)->hnext) {
    if (slot_at(r, i)->token == token) return i;
  }
  return DK_NIL;
}

/* ----------------------------------------------------------- completions */

/* Most completions that can be owed at once: ops in flight plus queued
 * completions (a power of two, so the queue's capacity never wraps). */
#define DK_MAX_OWED (1u << 23)

/* Grow the completion queue to hold at least need entries.  0 or -ENOMEM. */
static int grow_queue(dk_reactor *r, uint32_t need) {
  if (need > DK_MAX_OWED) return -ENOMEM;
  uint32_t n = r->q_cap ? r->q_cap : 256;
  while (n < need) n *= 2; /* need <= 2^23: no overflow */
  if (n == r->q_cap) return 0;
  dk_qent *q = malloc(n * sizeof *q);
  if (!q) return -ENOMEM;
  for (uint32_t k = 0; k < r->q_len; k++) q[k] = r->q[(r->q_head + k) & (r->q_cap - 1)];
  free(r->q);
  r->q = q;
  r->q_head = 0;
  r->q_cap = n;
  return 0;
}

/*
 * Hand one completion to TS: straight into the completion buffer while dk_wait
 * collects and nothing older is queued, else into the queue.  The queue never
 * needs to grow here: dk_submit reserved a place for every completion it may
 * owe (reserve_queue) before accepting a record, so a full queue here would be
 * a broken invariant, not an allocation failure.
 */
/* post() with an address (a != NULL): it goes to the CQ address record of the
 * completion's index, or with it into the queue, and the flags say so. */
static void post_addr(dk_reactor *r, uint32_t token, int32_t result, uint32_t flags, uint32_t op,
                      const struct dk_addr *a) {
  struct dk_cqe c = {token, result, flags | (a ? DK_CQE_F_ADDR : 0), op};
  if (r->collecting && r->q_len == 0 && r->out_n < r->cq_cap) {
    if (a) r->cq_addrs[r->out_n] = *a;
    r->cq[r->out_n++] = c;
    return;
  }
  if (r->q_len == r->q_cap && grow_queue(r, r->q_len + 1) < 0) abort(); /* not reached */
  dk_qent *q = &r->q[(r->q_head + r->q_len) & (r->q_cap - 1)];
  q->c = c;
  if (a) q->a = *a;
  r->q_len++;
}

void post(dk_reactor *r, uint32_t token, int32_t result, uint32_t flags, uint32_t op) {
  post_addr(r, token, result, flags, op, NULL);
}

/* Finish slot i's op.  An ACCEPT or RECVFROM that asked for its source
 * address (arg = DK_ARG_ADDR) reports the one its syscall returned (salen > 0
 * of the slot's sockaddr), and none when there is none. */
void op_complete(dk_reactor *r, int32_t i, int32_t result) {
  dk_slot *s = slot_at(r, i);
  uint32_t flags = (result == -ECANCELED ? DK_CQE_F_CANCELED : 0) | s->cflags;
  if (result >= 0 && s->arg == DK_ARG_ADDR && s->salen > 0 &&
      (s->op == DK_OP_ACCEPT || s->op == DK_OP_RECVFROM) &&
      (s->sa.sa.sa_family == AF_INET || s->sa.sa.sa_family == AF_INET6)) {
    struct dk_addr a;
    sockaddr_to_addr(&s->sa, &a);
    post_addr(r, s->token, result, flags, s->op, &a);
  } else {
    post(r, s->token, result, flags, s->op);
  }
  slot_free(r, i);
}

uint32_t drain_queue(dk_reactor *r) {
  uint32_t moved = 0;
  while (r->q_len > 0 && r->out_n < r->cq_cap) {
    const dk_qent *q = &r->q[r->q_head];
    if (q->c.flags & DK_CQE_F_ADDR) r->cq_addrs[r->out_n] = q->a;
    r->cq[r->out_n++] = q->c;
    r->q_head = (r->q_head + 1) & (r->q_cap - 1);
    r->q_len--;
    moved++;
  }
  return moved;
}

/* ------------------------------------------------------------- addresses */

int32_t addr_to_sockaddr(const struct dk_addr *a, dk_sockaddr *out, socklen_t *len) {
  if (!a) return -EFAULT;
  memset(out, 0, sizeof *out);
  if (a->family == 4) {
    out->in4.sin_family = AF_INET;
    out->in4.sin_port = htons(a->port);
    memcpy(&out->in4.sin_addr, a->addr, 4);
#ifdef __APPLE__
    out->in4.sin_len = sizeof out->in4;
#endif
    *len = sizeof out->in4;
    return AF_INET;
  }
  if (a->family == 6) {
    out->in6.sin6_family = AF_INET6;
    out->in6.sin6_port = htons(a->port);
    out->in6.sin6_flowinfo = htonl(a->flowinfo);
    out->in6.sin6_scope_id = a->scope_id;
    memcpy(&out->in6.sin6_addr, a->addr, 16);
#ifdef __APPLE__
    out->in6.sin6_len = sizeof out->in6;
#endif
    *len = sizeof out->in6;
    return AF_INET6;
  }
  return -EINVAL;
}

void sockaddr_to_addr(const dk_sockaddr *s, struct dk_addr *out) {
  memset(out, 0, sizeof *out);
  if (s->sa.sa_family == AF_INET) {
    out->family = 4;
    out->port = ntohs(s->in4.sin_port);
    memcpy(out->addr, &s->in4.sin_addr, 4);
  } else if (s->sa.sa_family == AF_INET6) {
    out->family = 6;
    out->port = ntohs(s->in6.sin6_port);
    out->flowinfo = ntohl(s->in6.sin6_flowinfo);
    out->scope_id = s->in6.sin6_scope_id;
    memcpy(out->addr, &s->in6.sin6_addr, 16);
  }
}

const struct dk_addr *sqe_addr(const dk_reactor *r, const struct dk_sqe *e) {
  return &r->sq_addrs[e - r->sq];
}

/* An input address: arg must be DK_ARG_ADDR (0: none, -EFAULT) and the record
 * of e's index must name a family. */
static int32_t check_addr(const dk_reactor *r, const struct dk_sqe *e) {
  if (e->arg == 0) return -EFAULT;
  if (e->arg != DK_ARG_ADDR) return -EINVAL;
  uint16_t fam = sqe_addr(r, e)->family;
  return (fam == 4 || fam == 6) ? 0 : -EINVAL;
}

/* ------------------------------------------------------------ validation */

#define NEEDS_FD ((1u << DK_OP_ACCEPT) | (1u << DK_OP_RECV) | (1u << DK_OP_SEND) | \
                  (1u << DK_OP_SHUTDOWN) | (1u << DK_OP_CLOSE) | (1u << DK_OP_POLL) |   \
                  (1u << DK_OP_READ) | (1u << DK_OP_WRITE) | (1u << DK_OP_RECVFROM) |   \
                  (1u << DK_OP_SENDTO) | (1u << DK_OP_UDP_CONNECT))
#define HAS_BUF ((1u << DK_OP_RECV) | (1u << DK_OP_SEND) | (1u << DK_OP_READ) | \
                 (1u << DK_OP_WRITE) | (1u << DK_OP_RECVFROM) | (1u << DK_OP_SENDTO))
#define NEEDS_ADDR ((1u << DK_OP_LISTEN) | (1u << DK_OP_CONNECT) | (1u << DK_OP_UDP_BIND) | \
                    (1u << DK_OP_UDP_CONNECT))

static int32_t validate_sqe(const dk_reactor *r, const struct dk_sqe *e) {
  if (e->op >= DK_OP__COUNT) return -EINVAL;
  uint32_t bit = 1u << e->op;
  if ((bit & NEEDS_FD) && e->fd < 0) return -EBADF;
  if (bit & HAS_BUF) {
    if (e->len > DK_MAX_LEN) return -EINVAL;
    if (e->addr == 0 && e->len > 0) return -EFAULT;
  }
  if (bit & NEEDS_ADDR) {
    int32_t v = check_addr(r, e);
    if (v < 0) return v;
  }
  switch (e->op) {
  case DK_OP_ACCEPT:
  case DK_OP_RECVFROM:
    if (e->arg > DK_ARG_ADDR) return -EINVAL; /* an address goes to the CQ region, or nowhere */
    break;
  case DK_OP_LISTEN:
  case DK_OP_UDP_BIND:
    if (e->flags & ~7u) return -EINVAL;
    break;
  case DK_OP_SENDTO:
    if (e->arg != 0) return check_addr(r, e);
    break;
  case DK_OP_SHUTDOWN:
    if (e->len > 2) return -EINVAL;
    break;
  case DK_OP_POLL:
    if (e->len == 0 || (e->len & ~15u)) return -EINVAL;
    break;
  case DK_OP_CANCEL:
    if (e->arg > UINT32_MAX) return -EINVAL;
    break;
  case DK_OP_OPEN:
    if (e->addr == 0) return -EFAULT;
    if ((e->len & ~63u) || (e->len & 3u) == 3u || e->arg > 07777) return -EINVAL;
    break;
  case DK_OP_READ_FILE: /* the buffer is a pointer, like a READ's (zero-copy) */
    if (e->addr == 0 || e->arg == 0) return -EFAULT;
    if (e->len == 0 || e->len > DK_MAX_LEN || e->flags != 0) return -EINVAL;
    break;
  case DK_OP_WRITE_FILE:
    if (e->addr == 0 || (e->arg == 0 && e->len > 0)) return -EFAULT;
    if (e->len > DK_MAX_LEN || (e->flags & ~63u) || (e->flags & 3u) == DK_O_RDONLY ||
        (e->flags & 3u) == 3u || e->fd < 0 || e->fd > 07777)
      return -EINVAL;
    break;
  default:
    break;
  }
  return 0;
}

/* --------------------------------------------------------------- sockets */

int32_t set_nonblock_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return -errno;
#ifdef SO_NOSIGPIPE
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return 0;
}

int32_t new_socket(int family, int type) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
#else
  int fd = socket(family, type, 0);
  if (fd < 0) return -errno;
  int32_t v = set_nonblock_cloexec(fd);
  if (v < 0) {
    close(fd);
    return v;
  }
  return fd;
#endif
}

static int32_t do_listen(const dk_reactor *r, const struct dk_sqe *e, int stream) {
  dk_sockaddr sa;
  socklen_t len;
  int fam = addr_to_sockaddr(sqe_addr(r, e), &sa, &len);
  if (fam < 0) return fam;
  int fd = new_socket(fam, stream ? SOCK_STREAM : SOCK_DGRAM);
  if (fd < 0) return fd;
  int one = 1;
  if ((e->flags & DK_LISTEN_REUSEADDR) &&
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    goto fail;
#ifdef SO_REUSEPORT
  if ((e->flags & DK_LISTEN_REUSEPORT) &&
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    goto fail;
#endif
  if (fam == AF_INET6 && (e->flags & DK_LISTEN_V6ONLY) &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
    goto fail;
  if (bind(fd, &sa.sa, len) < 0) goto fail;
  if (stream && listen(fd, e->len == 0 ? 1024 : (e->len > INT_MAX ? INT_MAX : (int)e->len)) < 0)
    goto fail;
  return fd;
fail:;
  int32_t err = -errno;
  close(fd);
  return err;
}

int open_flags(uint32_t f) {
  int o = (f & 3u) == DK_O_WRONLY ? O_WRONLY : (f & 3u) == DK_O_RDWR ? O_RDWR : O_RDONLY;
  if (f & DK_O_CREAT) o |= O_CREAT;
  if (f & DK_O_TRUNC) o |= O_TRUNC;
  if (f & DK_O_APPEND) o |= O_APPEND;
  if (f & DK_O_EXCL) o |= O_EXCL;
  /* O_NONBLOCK: opening a FIFO nobody has open at the other end never blocks
   * (read side: succeeds; write side: -ENXIO).  Regular files ignore it; a
   * FIFO or tty opened this way is then waited on by readiness. */
  return o | O_CLOEXEC | O_NONBLOCK;
}

ssize_t write_nosigpipe(int fd, const void *b, size_t n, uint64_t off) {
#if defined(__linux__)
  /* Linux has no per-write way to suppress SIGPIPE on a pipe: block it for this
   * thread around the write and consume the one the write raised. */
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  ssize_t w = off == UINT64_MAX ? write(fd, b, n) : pwrite(fd, b, n, (off_t)off);
  int err = errno;
  if (w < 0 && err == EPIPE && !sigismember(&old, SIGPIPE)) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) == SIGPIPE) {}
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = err;
  return w;
#else
#ifdef F_SETNOSIGPIPE
  (void)fcntl(fd, F_SETNOSIGPIPE, 1);
#endif
  return off == UINT64_MAX ? write(fd, b, n) : pwrite(fd, b, n, (off_t)off);
#endif
}

int fd_kind(dk_reactor *r, int32_t fd) {
  dk_fd_info *f = fd_info(r, fd);
  if (!f) return FK_UNKNOWN;
  if (f->kind == FK_UNKNOWN) {
    struct stat st;
    if (fstat(fd, &st) < 0) return FK_UNKNOWN;
    f->kind = S_ISFIFO(st.st_mode) ? FK_FIFO : S_ISSOCK(st.st_mode) ? FK_SOCK : FK_OTHER;
  }
  return f->kind;
}

int fd_blocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && !(fl & O_NONBLOCK);
}

uint32_t poll_to_dk(uint32_t ev) {
  uint32_t m = 0;
  if (ev & (POLLIN | POLLPRI)) m |= DK_POLL_IN;
  if (ev & POLLOUT) m |= DK_POLL_OUT;
  if (ev & POLLERR) m |= DK_POLL_ERR;
  if (ev & POLLHUP) m |= DK_POLL_HUP;
  return m;
}

short dk_to_poll(uint32_t mask) {
  short ev = 0;
  if (mask & DK_POLL_IN) ev |= POLLIN;
  if (mask & DK_POLL_OUT) ev |= POLLOUT;
  return ev;
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --------------------------------------------------------- entry points */

/* Contract: see dokio.h.  Validates every argument; never blocks for long. */
/* Every buffer dk_create is given holds 8-byte fields (dk_sqe.addr, .arg) or
 * is read as dk_addr records: it must be 8-byte aligned. */
static int aligned8(const void *p) { return p != NULL && ((uintptr_t)p & 7u) == 0; }

int32_t dk_create(int32_t backend, uint32_t entries, void *sq, uint32_t sq_cap, void *cq,
                  uint32_t cq_cap, void *sq_addrs, void *cq_addrs) {
  if (!aligned8(sq) || !aligned8(cq) || !aligned8(sq_addrs) || !aligned8(cq_addrs) ||
      sq_cap == 0 || cq_cap == 0 || sq_cap > DK_MAX_CAP || cq_cap > DK_MAX_CAP ||
      entries > 32768 || backend < DK_BACKEND_AUTO || backend > DK_BACKEND_KQUEUE)
    return -EINVAL;
  if (entries == 0) entries = 256;
  uint32_t pow2 = 1;
  while (pow2 < entries) pow2 <<= 1;

  dk_reactor *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  r->sq = sq;
  r->sq_cap = sq_cap;
  r->cq = cq;
  r->cq_cap = cq_cap;
  r->sq_addrs = sq_addrs;
  r->cq_addrs = cq_addrs;
  r->free_head = DK_NIL;
  r->hash_mask = 255;
  r->hash = malloc(256 * sizeof *r->hash);
  int32_t v = r->hash ? 0 : -ENOMEM;
  for (uint32_t i = 0; v == 0 && i < 256; i++) r->hash[i] = DK_NIL;
  if (v == 0) {
#if defined(__linux__)
    if (backend == DK_BACKEND_AUTO || backend == DK_BACKEND_IO_URING) {
      v = uring_create(r, pow2);
      if (v < 0 && backend == DK_BACKEND_AUTO) v = ready_create(r, DK_BACKEND_EPOLL, pow2);
    } else if (backend == DK_BACKEND_EPOLL) {
      v = ready_create(r, DK_BACKEND_EPOLL, pow2);
    } else {
      v = -ENOSYS;
    }
#else
    if (backend == DK_BACKEND_AUTO || backend == DK_BACKEND_KQUEUE)
      v = ready_create(r, DK_BACKEND_KQUEUE, pow2);
    else
      v = -ENOSYS;
#endif
  }
  if (v < 0) {
    free(r->hash);
    free(r);
    return v;
  }
  pthread_mutex_lock(&handles_lock);
  int32_t h = -EMFILE;
  for (uint32_t i = 0; i < DK_MAX_REACTORS; i++) {
    uint32_t g = atomic_load_explicit(&handles[i].gen, memory_order_relaxed);
    if (g & 1u) continue;
    handles[i].r = r;
    g = (g + 1) & 0xffffffu;
    atomic_store_explicit(&handles[i].gen, g, memory_order_release);
    h = make_handle(i, g);
    break;
  }
  pthread_mutex_unlock(&handles_lock);
  if (h < 0) {
    r->ops->destroy(r);
    free(r->hash);
    free(r);
  }
  return h;
}

/* Contract: the backend of handle (DK_BACKEND_*), or -EBADF. */
int32_t dk_backend(int32_t handle) {
  dk_reactor *r = lookup(handle);
  return r ? r->backend : -EBADF;
}

/* Contract: see dokio.h. */
int32_t dk_file_workers(int32_t handle, int32_t n) {
  dk_reactor *r = lookup(handle);
  if (!r) return -EBADF;
  if (n < 1 || n > DK_FILE_WORKERS_MAX) return -EINVAL;
  if (r->backend == DK_BACKEND_IO_URING) return 0;
  return ready_file_workers(r, (uint32_t)n);
}

int32_t fd_vet_open(int32_t fd, dk_fd_info *f) {
  if (!f->checked) {
    /* First use since the number was closed or made: it must be open now.  (The table keeps
     * entries for closed numbers; without this an op naming one would be staged, and on io_uring
     * run on whatever file a later record of the batch opens under that number.) */
    if (fcntl(fd, F_GETFD) < 0) return -EBADF;
    f->checked = 1;
  }
  return 0;
}

/* An op's fd must be open, and not the reactor's own, a pending CONNECT's socket or a whole-file
 * op's file. */
static int32_t check_fd(dk_reactor *r, const struct dk_sqe *e) {
  if (!((1u << e->op) & NEEDS_FD)) return 0;
  dk_fd_info *f = fd_info(r, e->fd);
  if (!f || f->owner != FD_TS) return -EBADF;
  int32_t v = r->ops->vet_fd ? r->ops->vet_fd(r, e->fd, f) : fd_vet_open(e->fd, f);
  if (v < 0) return v;
  f = fd_info(r, e->fd); /* vet_fd may have taken completions that grew the table */
  if (!f) return -EBADF;
  if (e->op == DK_OP_CLOSE) {
    f->kind = FK_UNKNOWN; /* the number may come back as another kind of file */
    f->checked = 0;
    f->drained = 0;
    return announce_close(r, e->fd);
  }
  return 0;
}

static void submit_records(dk_reactor *r, uint32_t n, int flush) {
  take_notices(r);
  for (uint32_t i = 0; i < n; i++) {
    const struct dk_sqe *e = &r->sq[i];
    int32_t v = validate_sqe(r, e);
    if (v == 0) v = check_fd(r, e);
    if (v == 0) {
      if (e->op == DK_OP_LISTEN || e->op == DK_OP_UDP_BIND) {
        v = do_listen(r, e, e->op == DK_OP_LISTEN);
        if (v >= 0) {
          fd_new(r, v, 1);
          post(r, e->token, v, 0, e->op);
          continue;
        }
      } else {
        v = r->ops->submit_one(r, e);
        if (v == 0) continue;
      }
    }
    post(r, e->token, v, v == -ECANCELED ? DK_CQE_F_CANCELED : 0, e->op);
  }
  if (flush) r->ops->flush(r);
}

/*
 * Reserve queue room for every completion the reactor may owe after n more
 * records: each record yields one, each op in flight one (the queue holds
 * what dk_wait has not delivered).  -ENOMEM (nothing accepted) when that
 * passes DK_MAX_OWED or memory is short: the caller collects and retries.
 */
static int32_t reserve_queue(dk_reactor *r, uint32_t n) {
  uint64_t need = (uint64_t)r->n_active + r->q_len + n;
  if (need > DK_MAX_OWED) return -ENOMEM;
  return need <= r->q_cap ? 0 : grow_queue(r, (uint32_t)need);
}

/* Contract: start records sq[0..n); returns n, or -EBADF / -EINVAL (n > sq_cap) / -ENOMEM
 * (no room to owe n more completions: collect some, then submit again). */
int32_t dk_submit(int32_t handle, uint32_t n) {
  dk_reactor *r = lookup(handle);
  if (!r) return -EBADF;
  if (n > r->sq_cap) return -EINVAL;
  int32_t v = reserve_queue(r, n);
  if (v < 0) return v;
  submit_records(r, n, 1);
  return (int32_t)n;
}

/* Contract: up to cq_cap completions into cq, waiting up to timeout_ms for one. */
int32_t dk_wait(int32_t handle, int32_t timeout_ms) {
  dk_reactor *r = lookup(handle);
  if (!r) return -EBADF;
  if (timeout_ms < -1) return -EINVAL;
  take_notices(r);
  return r->ops->wait(r, timeout_ms);
}

/* Contract: dk_submit(n) then dk_wait(timeout_ms); -EINVAL before any work if n > sq_cap. */
int32_t dk_enter(int32_t handle, uint32_t n, int32_t timeout_ms) {
  dk_reactor *r = lookup(handle);
  if (!r) return -EBADF;
  if (n > r->sq_cap || timeout_ms < -1) return -EINVAL;
  int32_t v = reserve_queue(r, n);
  if (v < 0) return v;
  /* Records are staged; the backend's wait pushes them in its own syscall. */
  submit_records(r, n, 0);
  return r->ops->wait(r, timeout_ms);
}

/* Contract: wakes a blocked dk_wait on handle from any thread; 0 or -EBADF. */
int32_t dk_wake(int32_t handle) {
  pthread_mutex_lock(&handles_lock);
  dk_reactor *r = lookup(handle);
  int32_t v = r ? r->ops->wake(r) : -EBADF;
  pthread_mutex_unlock(&handles_lock);
  return v;
}

/* Contract: accepted ops whose completion has not yet reached the completion buffer. */
int32_t dk_pending(int32_t handle) {
  dk_reactor *r = lookup(handle);
  if (!r) return -EBADF;
  return (int32_t)(r->n_active + r->q_len);
}

/* Ops whose successful result is a new fd. */
#define MAKES_FD ((1u << DK_OP_LISTEN) | (1u << DK_OP_ACCEPT) | (1u << DK_OP_CONNECT) | \
                  (1u << DK_OP_OPEN) | (1u << DK_OP_UDP_BIND))

/* Close the fds that completions nobody will collect carry (the backend has
 * already drained every op into the queue). */
static void close_undelivered(dk_reactor *r) {
  for (uint32_t k = 0; k < r->q_len; k++) {
    const struct dk_cqe *c = &r->q[(r->q_head + k) & (r->q_cap - 1)].c;
    if (c->result >= 0 && c->op < 32 && ((1u << c->op) & MAKES_FD)) close(c->result);
  }
  r->q_len = 0;
}

/*
 * Contract: cancels every pending op and waits until the kernel/worker holds
 * none of TS's buffers, closes the reactor's own fds, frees the handle.  fds
 * created by ops that completed during the drain are closed (nobody can see
 * them).  0 or -EBADF.
 */
int32_t dk_destroy(int32_t handle) {
  pthread_mutex_lock(&handles_lock);
  dk_reactor *r = lookup(handle);
  if (r) {
    uint32_t idx = (uint32_t)handle & (DK_MAX_REACTORS - 1);
    uint32_t g = atomic_load_explicit(&handles[idx].gen, memory_order_relaxed);
    atomic_store_explicit(&handles[idx].gen, (g + 1) & 0xffffffu, memory_order_release);
    handles[idx].r = NULL;
  }
  pthread_mutex_unlock(&handles_lock);
  if (!r) return -EBADF;
  r->ops->destroy(r);
  close_undelivered(r);
  /* A backend that could not drain every op within its bound (leak_slots)
   * leaves the op slots allocated: the kernel may still write a slot's
   * sockaddr/msghdr.  A leak is the price of never writing freed memory. */
  if (!r->leak_slots) {
    for (uint32_t c = 0; c < r->n_chunks; c++) free(r->chunks[c]);
  }
  free(r->chunks);
  free(r->hash);
  free(r->q);
  free(r->fds);
  free(r->notes);
  free(r);
  return 0;
}

/* ----------------------------------------------------- socket helpers */

static int32_t name_of(int32_t fd, struct dk_addr *out, int peer) {
  if (fd < 0) return -EBADF;
  if (!out) return -EFAULT;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                : getsockname(fd, (struct sockaddr *)&ss, &len);
  if (rc < 0) return -errno;
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return -EAFNOSUPPORT;
  dk_sockaddr s;
  memcpy(&s, &ss, sizeof s);
  sockaddr_to_addr(&s, out);
  return 0;
}

/* Contract: the local address of socket fd into *out; 0 or -errno. */
int32_t dk_local_addr(int32_t fd, struct dk_addr *out) { return name_of(fd, out, 0); }

/* Contract: the peer address of socket fd into *out; 0 or -errno (-ENOTCONN). */
int32_t dk_peer_addr(int32_t fd, struct dk_addr *out) { return name_of(fd, out, 1); }

/* Contract: close(2) fd now, outside any reactor's op path; 0 or -errno (EINTR counts as
 * closed).  A reactor's own fd is refused (-EBADF).  Every live reactor is told first, so ops
 * it still has on fd fail at its next call instead of reaching a later file with that number. */
int32_t dk_close(int32_t fd) {
  if (fd < 0) return -EBADF;
  int32_t v = announce_close(NULL, fd);
  if (v < 0) return v;
  if (close(fd) < 0 && errno != EINTR) return -errno;
  return 0;
}

/* Contract: a static name for a positive errno, "E?" if unknown; never NULL. */
const char *dk_errno_name(int32_t err) {
  int64_t e = err < 0 ? -(int64_t)err : err; /* INT32_MIN has no int32 negation */
  switch (e) {
#define N(e) case e: return #e;
    N(EPERM) N(ENOENT) N(ESRCH) N(EINTR) N(EIO) N(ENXIO) N(E2BIG) N(ENOEXEC) N(EBADF)
    N(ECHILD) N(EAGAIN) N(ENOMEM) N(EACCES) N(EFAULT) N(EBUSY) N(EEXIST) N(EXDEV)
    N(ENODEV) N(ENOTDIR) N(EISDIR) N(EINVAL) N(ENFILE) N(EMFILE) N(ENOTTY) N(EFBIG)
    N(ENOSPC) N(ESPIPE) N(EROFS) N(EMLINK) N(EPIPE) N(ERANGE) N(EDEADLK) N(ENAMETOOLONG)
    N(ENOSYS) N(ENOTEMPTY) N(ELOOP) N(ENOTSOCK) N(EDESTADDRREQ) N(EMSGSIZE) N(EPROTOTYPE)
    N(ENOPROTOOPT) N(EPROTONOSUPPORT) N(EOPNOTSUPP) N(EAFNOSUPPORT) N(EADDRINUSE)
    N(EADDRNOTAVAIL) N(ENETDOWN) N(ENETUNREACH) N(ENETRESET) N(ECONNABORTED) N(ECONNRESET)
    N(ENOBUFS) N(EISCONN) N(ENOTCONN) N(ETIMEDOUT) N(ECONNREFUSED) N(EHOSTUNREACH)
    N(EALREADY) N(EINPROGRESS) N(ECANCELED) N(EOVERFLOW)
#ifdef ETIME
    N(ETIME)
#endif
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
    N(ENOTSUP)
#endif
#undef N
  default: return "E?";
  }
}

/* Contract: layout facts (see dokio.h) into out[0..n); returns how many, -EFAULT if out is 0. */
int32_t dk_layout(uint32_t *out, uint32_t n) {
  const uint32_t facts[] = {
      DK_ABI_VERSION,
      sizeof(struct dk_sqe),
      sizeof(struct dk_cqe),
      sizeof(struct dk_addr),
      offsetof(struct dk_sqe, token),
      offsetof(struct dk_sqe, op),
      offsetof(struct dk_sqe, flags),
      offsetof(struct dk_sqe, fd),
      offsetof(struct dk_sqe, len),
      offsetof(struct dk_sqe, addr),
      offsetof(struct dk_sqe, arg),
      offsetof(struct dk_cqe, token),
      offsetof(struct dk_cqe, result),
      offsetof(struct dk_cqe, flags),
      offsetof(struct dk_cqe, op),
  };
  if (!out && n > 0) return -EFAULT;
  uint32_t k = n < sizeof facts / sizeof facts[0] ? n : (uint32_t)(sizeof facts / sizeof facts[0]);
  for (uint32_t i = 0; i < k; i++) out[i] = facts[i];
  return (int32_t)k;
}
