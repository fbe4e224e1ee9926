/*
 * uring.c — the io_uring backend (Linux), by raw syscalls, no liburing.
 *
 * Each accepted record takes an op slot and becomes one SQE whose user_data
 * is (slot generation << 32 | slot index); a CQE whose (index, generation)
 * no longer names an active slot is ignored.  SQEs are staged in the mmapped
 * SQ ring and pushed with one io_uring_enter per dk_submit — or, for
 * dk_enter, in the same io_uring_enter that waits.  Completions are read from
 * the mmapped CQ ring straight into the TS completion buffer; what does not
 * fit stays in the CQ ring (the kernel keeps its own overflow, FEAT_NODROP).
 *
 *  - LISTEN and UDP_BIND are synchronous (common.c).  CONNECT creates its
 *    socket synchronously, then IORING_OP_CONNECT; on failure that socket is
 *    closed and only the error reaches TS.
 *  - CANCEL looks the token up in the slot table: found → an ASYNC_CANCEL by
 *    user_data and an immediate result 0 (the target then completes with
 *    -ECANCELED, or with its real result if it had already finished);
 *    not found → -ENOENT.
 *  - CLOSE first cancels every op pending on the fd (ASYNC_CANCEL with
 *    CANCEL_FD|CANCEL_ALL, hard-linked to the close; kernels without it get one
 *    ASYNC_CANCEL per slot found on that fd), so nothing stays pending on a
 *    closed socket.
 *  - Wake: a blocking eventfd with an IORING_OP_READ on it kept armed while
 *    dk_wait blocks; dk_wake writes the eventfd, the read completes, the wait
 *    returns.
 *  - READ_FILE / WRITE_FILE (one record per whole file): an OPENAT under the
 *    op's slot; at its CQE, C fstat's the file and stages the READ (or WRITEs)
 *    under the same user_data, then closes the file at the last CQE and posts
 *    one completion.  The fd is the reactor's (FD_FILE_OP, refused to records)
 *    until then and never reaches TS; a CANCEL hits whichever stage is in the
 *    ring.  dk_wait pushes stages staged while it reaps (a few rounds), so
 *    open → read → close of a page-cache file completes in one dk_enter.
 *  - dk_destroy cancels everything and reaps until no op is in flight (bounded
 *    by 10 s), so the kernel holds no TS buffer when it returns.
 *  - Set up with COOP_TASKRUN|TASKRUN_FLAG where the kernel has them (5.19): a
 *    completion never interrupts this thread while it runs; it is finished at
 *    the thread's next kernel entry, and a timeout-0 wait that sees
 *    IORING_SQ_TASKRUN enters the kernel for it.  On such kernels a RECV after
 *    a short read on its fd (the receive queue was emptied) carries
 *    RECVSEND_POLL_FIRST: it arms its poll at once instead of failing a recv
 *    with EAGAIN first.
 * Required: IORING_FEAT_NODROP, IORING_FEAT_EXT_ARG (5.11) and the opcodes
 * listed in need_ops; otherwise uring_create fails and AUTO falls back to epoll.
 */
#include "reactor.h"

#include <errno.h>

#if defined(__linux__)

#include <fcntl.h>
#include <limits.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Build hosts with older kernel headers (the flags are probed at setup, not assumed). */
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#endif
#ifndef IORING_SQ_TASKRUN
#define IORING_SQ_TASKRUN (1U << 2)
#endif
#ifndef IORING_RECVSEND_POLL_FIRST
#define IORING_RECVSEND_POLL_FIRST (1U << 0)
#endif

#define UD_WAKE 0xffffffffffffffffull
#define UD_IGNORE 0xfffffffffffffffeull

typedef struct uring {
  int fd;
  unsigned features;
  void *sq_map, *cq_map;
  size_t sq_map_sz, cq_map_sz;
  struct io_uring_sqe *sqes;
  size_t sqes_sz;
  unsigned *sq_head, *sq_tail, *sq_flags, *sq_array;
  unsigned sq_mask, sq_entries;
  unsigned *cq_head, *cq_tail;
  unsigned cq_mask;
  struct io_uring_cqe *cqes;
  unsigned tail; /* local SQ tail: SQEs prepared */
  int efd;
  uint64_t efd_val;
  int wake_armed, woken, destroying, cancel_fd;
  int coop; /* set up with COOP_TASKRUN|TASKRUN_FLAG (5.19+, so RECVSEND_POLL_FIRST works too) */
  uint32_t file_opens; /* whole-file ops whose open SQE is staged and its CQE not yet handled */
} uring;

static int sys_setup(unsigned entries, struct io_uring_params *p) {
  long rc = syscall(__NR_io_uring_setup, entries, p);
  return rc < 0 ? -errno : (int)rc;
}

static int sys_register(int fd, unsigned opcode, void *arg, unsigned n) {
  long rc = syscall(__NR_io_uring_register, fd, opcode, arg, n);
  return rc < 0 ? -errno : (int)rc;
}

/* io_uring_enter; waits (GETEVENTS) for min_complete with timeout_ms (-1 forever). */
static int sys_enter(uring *u, unsigned to_submit, unsigned min_complete, int wait,
                     int timeout_ms) {
  unsigned flags = 0;
  struct io_uring_getevents_arg arg;
  struct __kernel_timespec ts;
  void *argp = NULL;
  size_t argsz = 0;
  if (wait) {
    memset(&arg, 0, sizeof arg);
    if (timeout_ms >= 0) {
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
      arg.ts = (uint64_t)(uintptr_t)&ts;
    }
    arg.sigmask_sz = 8;
    flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
    argp = &arg;
    argsz = sizeof arg;
  }
  long rc = syscall(__NR_io_uring_enter, u->fd, to_submit, min_complete, flags, argp, argsz);
  return rc < 0 ? -errno : (int)rc;
}

/*
 * The rings' shared indexes.  The kernel is the other party: it writes
 * sq_head (SQEs it consumed), cq_tail (CQEs it posted) and sq_flags; we write
 * sq_tail and cq_head.  Each index has one writer, so a plain read of our own
 * index is exact; what needs ordering is the data each index guards.
 */

/* SQEs the kernel has not consumed.  Acquire: an SQE slot behind sq_head is
 * rewritten by get_sqe's memset only after the kernel's reads of it (it
 * advanced sq_head with release after copying the SQE) are complete. */
static unsigned sq_unsubmitted(uring *u) {
  return u->tail - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
}

/* Publish the staged SQEs.  Release: the kernel's acquire load of sq_tail then
 * sees every SQE field we wrote before it (prepared in order, up to u->tail). */
static void sq_publish(uring *u) { __atomic_store_n(u->sq_tail, u->tail, __ATOMIC_RELEASE); }

/* CQEs posted so far.  Acquire: pairs with the kernel's release store of
 * cq_tail, so the user_data/res of every CQE before it are visible to us. */
static unsigned cq_posted(uring *u) { return __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE); }

/* Hand CQE slots before head back to the kernel.  Release: our reads of those
 * CQEs happen before the kernel may overwrite them (it loads cq_head with
 * acquire before posting into a freed slot). */
static void cq_release(uring *u, unsigned head) { __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE); }

/* The kernel's SQ flags (CQ overflow, need-wakeup).  Relaxed: only a hint that
 * a kernel call is worth making; the call itself re-reads the state under the
 * kernel's locks, and a stale clear bit only delays the flush to the next call. */
static unsigned sq_flags(uring *u) { return __atomic_load_n(u->sq_flags, __ATOMIC_RELAXED); }

/* Publish staged SQEs and hand them to the kernel.  0 or -errno (they stay staged). */
static int push(dk_reactor *r);

/* A zeroed SQE, or NULL if the SQ ring is full even after a push. */
static struct io_uring_sqe *get_sqe(dk_reactor *r, unsigned need) {
  uring *u = r->be;
  if (u->sq_entries - sq_unsubmitted(u) < need) {
    push(r);
    if (u->sq_entries - sq_unsubmitted(u) < need) return NULL;
  }
  struct io_uring_sqe *s = &u->sqes[u->tail & u->sq_mask];
  memset(s, 0, sizeof *s);
  u->tail++;
  return s;
}

/* Make room for n SQEs in one submission; 1 if there is. */
static int get_sqe_room(dk_reactor *r, unsigned n) {
  uring *u = r->be;
  if (u->sq_entries - sq_unsubmitted(u) < n) push(r);
  return u->sq_entries - sq_unsubmitted(u) >= n;
}

static uint64_t ud_of(dk_reactor *r, int32_t i) {
  return ((uint64_t)slot_at(r, i)->gen << 32) | (uint32_t)i;
}

/* Arm (again) the POLLOUT wait of a WRITE to a FIFO (see pipe_write_ready). */
static int arm_pipe_poll(dk_reactor *r, int32_t i);

/*
 * A WRITE to a FIFO: IORING_OP_WRITE would raise SIGPIPE in this thread when
 * the reader is gone (Linux has no per-write flag against it), so the ring
 * waits for POLLOUT and the write itself runs here, with SIGPIPE blocked and
 * consumed.  A pipe in blocking mode takes up to PIPE_BUF bytes once POLLOUT
 * is reported without blocking.  Returns 1 with *res set when the op is done.
 */
static int pipe_write_ready(dk_reactor *r, int32_t i, int32_t *res) {
  dk_slot *s = slot_at(r, i);
  if (*res < 0) return 1;
  uint32_t len = s->len > PIPE_BUF && fd_blocking(s->fd) ? PIPE_BUF : s->len;
  for (;;) {
    ssize_t n = write_nosigpipe(s->fd, (const void *)(uintptr_t)s->addr, len, s->arg);
    if (n >= 0) {
      *res = (int32_t)n;
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN && arm_pipe_poll(r, i) == 0) return 0;
    *res = -errno;
    return 1;
  }
}

/* Close the file a whole-file op opened, if it still has it. */
static void file_op_close(dk_reactor *r, dk_slot *s) {
  if (s->sock < 0) return;
  own_fd(r, s->sock, FD_TS);
  fd_new(r, s->sock, 0); /* forget its kind; the number may come back as another file */
  close(s->sock);
  s->sock = -1;
}

/* Stage the next I/O SQE of whole-file op i on its open file.  0 or -errno. */
static int32_t file_op_stage(dk_reactor *r, int32_t i) {
  dk_slot *s = slot_at(r, i);
  struct io_uring_sqe *q = get_sqe(r, 1);
  if (!q) return -EAGAIN;
  q->user_data = ud_of(r, i);
  q->fd = s->sock;
  q->addr = s->arg + s->done;
  q->len = s->len - s->done;
  if (s->op == DK_OP_READ_FILE) {
    q->opcode = IORING_OP_READ;
    q->off = 0;
  } else {
    q->opcode = IORING_OP_WRITE;
    q->off = (s->flags & DK_O_APPEND) ? (uint64_t)-1 : s->done;
  }
  s->stage = FS_IO;
  return 0;
}

/* A CQE of whole-file op i (see the top): 0 when it staged its next SQE, 1 with *res final. */
static int file_op_step(dk_reactor *r, int32_t i, int32_t *res) {
  uring *u = r->be;
  dk_slot *s = slot_at(r, i);
  int32_t v = *res;
  if (s->stage == FS_OPEN) {
    u->file_opens--;
    if (v < 0) return 1;
    s->sock = v;
    fd_new(r, v, 0);
    own_fd(r, v, FD_FILE_OP);   /* refused to records until the op closes it */
    (void)slot_hold(r, i, v);   /* a close notice for the number finds this op */
    v = u->destroying ? -ECANCELED : file_op_fits(s, v, NULL);
    if (v > 0 && s->len > 0) v = file_op_stage(r, i);
    if (v == 0 && s->stage == FS_IO) return 0;
    if (v == 0 && !(s->op == DK_OP_WRITE_FILE && s->len == 0)) s->cflags = DK_CQE_F_MORE;
    file_op_close(r, s);
    *res = v > 0 ? 0 : v;
    return 1;
  }
  if (v > 0 && s->op == DK_OP_WRITE_FILE) {
    s->done += (uint32_t)v;
    if (s->done < s->len && !u->destroying && s->sock >= 0 && file_op_stage(r, i) == 0) return 0;
  }
  if (v >= 0 && s->op == DK_OP_READ_FILE && (uint32_t)v == s->len) {
    s->cflags = DK_CQE_F_MORE; /* it grew to fill the buffer: more may follow */
    v = 0;
  } else if (v >= 0 && s->op == DK_OP_WRITE_FILE) {
    v = (int32_t)s->done;
  }
  file_op_close(r, s);
  *res = v;
  return 1;
}

/* One CQE: ignore internal ones, finish the op of its slot otherwise. */
static void handle_cqe(dk_reactor *r, uint64_t ud, int32_t res) {
  uring *u = r->be;
  if (ud == UD_WAKE) {
    u->wake_armed = 0;
    u->woken = 1;
    return;
  }
  if (ud == UD_IGNORE) return;
  uint32_t i = (uint32_t)ud;
  if (i >= r->n_chunks * DK_CHUNK) return;
  dk_slot *s = slot_at(r, (int32_t)i);
  if (s->state != ST_ACTIVE || s->gen != (uint32_t)(ud >> 32)) return;
  switch (s->op) {
  case DK_OP_ACCEPT: /* the kernel set s->salen; op_complete reports s->sa when asked */
    if (res >= 0) fd_new(r, res, 1);
    break;
  case DK_OP_RECV: /* a short read emptied the queue: the next RECV polls first (fill_sqe) */
    if (res >= 0 && (uint32_t)s->fd < r->n_fds)
      r->fds[s->fd].drained = res > 0 && (uint32_t)res < s->len;
    break;
  case DK_OP_RECVFROM: /* 0 from a socket with no source (a stream): no address */
    s->salen = s->arg ? s->msg.msg_namelen : 0;
    break;
  case DK_OP_CONNECT:
    if (s->sock < 0) {
      res = res >= 0 ? -ECANCELED : res; /* its socket was closed elsewhere meanwhile */
    } else {
      own_fd(r, s->sock, FD_TS);
      if (res >= 0) {
        res = s->sock;
        fd_new(r, res, 1);
      } else {
        close(s->sock);
      }
    }
    s->sock = -1;
    break;
  case DK_OP_OPEN:
    if (res >= 0) fd_new(r, res, 0);
    break;
  case DK_OP_POLL:
    if (res >= 0) res = (int32_t)poll_to_dk((uint32_t)res);
    break;
  case DK_OP_WRITE:
    if (s->pipe_write && !pipe_write_ready(r, (int32_t)i, &res)) return; /* waits again */
    break;
  case DK_OP_READ_FILE:
  case DK_OP_WRITE_FILE:
    if (!file_op_step(r, (int32_t)i, &res)) return; /* its next stage is in the ring */
    break;
  default:
    break;
  }
  (void)u;
  op_complete(r, (int32_t)i, res);
}

/*
 * Move CQEs out of the ring.  While dk_wait collects it stops when the TS
 * buffer is full (the rest stay in the ring); otherwise (all != 0) it drains
 * the ring into the queue.
 */
static void reap(dk_reactor *r, int all) {
  uring *u = r->be;
  unsigned head = *u->cq_head; /* our own index: plain read */
  unsigned tail = cq_posted(u);
  while (head != tail) {
    if (!all && r->collecting && r->out_n >= r->cq_cap) break;
    struct io_uring_cqe *c = &u->cqes[head & u->cq_mask];
    uint64_t ud = c->user_data;
    int32_t res = c->res;
    head++;
    handle_cqe(r, ud, res);
    if (head == tail) {
      cq_release(u, head);
      tail = cq_posted(u);
    }
  }
  cq_release(u, head);
}

static int push(dk_reactor *r) {
  uring *u = r->be;
  for (int tries = 0; tries < 8; tries++) {
    unsigned n = sq_unsubmitted(u);
    if (n == 0) return 0;
    sq_publish(u);
    int rc = sys_enter(u, n, 0, 0, 0);
    if (rc >= 0 || rc == -EINTR) continue;
    if (rc == -EBUSY || rc == -EAGAIN) {
      int saved = r->collecting;
      r->collecting = 0;
      reap(r, 1); /* make room: overflowed completions go to our queue */
      r->collecting = saved;
      if (rc == -EBUSY) sys_enter(u, 0, 0, 1, 0); /* flush the kernel's overflow list */
      reap(r, 1);
      continue;
    }
    return rc;
  }
  return sq_unsubmitted(u) ? -EAGAIN : 0;
}

static int32_t uring_flush(dk_reactor *r) { return push(r); }

/* Does op act on the TS fd in its record (so CLOSE of that fd must cancel it)? */
static int uses_fd(uint8_t op) {
  return op != DK_OP_NOP && op != DK_OP_CONNECT && op != DK_OP_OPEN && op != DK_OP_CLOSE &&
         op != DK_OP_CANCEL && !IS_FILE_OP(op);
}

/* DK_OP_CANCEL: an ASYNC_CANCEL of the target's SQE (by user_data) and an
 * immediate result 0; -ENOENT if no pending op has the token. */
static int32_t prep_cancel(dk_reactor *r, const struct dk_sqe *e) {
  int32_t t = slot_find_token(r, (uint32_t)e->arg);
  if (t == DK_NIL) return -ENOENT;
  struct io_uring_sqe *q = get_sqe(r, 1);
  if (!q) return -EAGAIN;
  q->opcode = IORING_OP_ASYNC_CANCEL;
  q->fd = -1;
  q->addr = ud_of(r, t);
  q->user_data = UD_IGNORE;
  post(r, e->token, 0, 0, e->op);
  return 0;
}

/* Stage one ASYNC_CANCEL of slot k's op (user_data), hard-linked to the next
 * SQE when link is set.  0, or -EAGAIN when the ring is full. */
static int stage_cancel(dk_reactor *r, int32_t k, int link) {
  struct io_uring_sqe *c = get_sqe(r, 1);
  if (!c) return -EAGAIN;
  c->opcode = IORING_OP_ASYNC_CANCEL;
  c->fd = -1;
  c->addr = ud_of(r, k);
  c->user_data = UD_IGNORE;
  if (link) c->flags = IOSQE_IO_HARDLINK;
  return 0;
}

/*
 * The cancels that go before a CLOSE of fd (slot i is the close itself), so
 * its pending ops complete first.  With CANCEL_FD: one ASYNC_CANCEL of every
 * op on fd, hard-linked to the close.  Without: one per op found on fd, in a
 * hard-linked chain ending at the close (unlinked if the chain cannot fit the
 * ring).  0, or -EAGAIN when the ring has no room.
 */
static int32_t stage_close_cancels(dk_reactor *r, const struct dk_sqe *e, int32_t i) {
  uring *u = r->be;
  if (u->cancel_fd) {
    /* the cancel and the close go in one submission: room for both, or neither */
    if (!get_sqe_room(r, 2)) return -EAGAIN;
    struct io_uring_sqe *q = get_sqe(r, 1);
    q->opcode = IORING_OP_ASYNC_CANCEL;
    q->fd = e->fd;
    q->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
    q->flags = IOSQE_IO_HARDLINK;
    q->user_data = UD_IGNORE;
    return 0;
  }
  uint32_t total = r->n_chunks * DK_CHUNK, count = 0;
  for (uint32_t k = 0; k < total; k++) {
    dk_slot *o = slot_at(r, (int32_t)k);
    if (o->state == ST_ACTIVE && o->fd == e->fd && (int32_t)k != i && uses_fd(o->op)) count++;
  }
  int link = count + 1 <= u->sq_entries && get_sqe_room(r, count + 1);
  for (uint32_t k = 0; k < total; k++) {
    dk_slot *o = slot_at(r, (int32_t)k);
    if (o->state != ST_ACTIVE || o->fd != e->fd || (int32_t)k == i || !uses_fd(o->op)) continue;
    if (stage_cancel(r, (int32_t)k, link) < 0) break;
  }
  return 0;
}

/* CONNECT (creates its socket) and UDP_CONNECT: the target address lives in
 * the slot, which does not move while the kernel reads it.  0 or -errno. */
static int32_t fill_connect(dk_reactor *r, const struct dk_sqe *e, int32_t i,
                            struct io_uring_sqe *q) {
  dk_slot *s = slot_at(r, i);
  int fam = addr_to_sockaddr(sqe_addr(r, e), &s->sa, &s->salen);
  if (fam < 0) return fam;
  if (e->op == DK_OP_CONNECT) {
    int32_t v = new_socket(fam, SOCK_STREAM);
    if (v < 0) return v;
    s->sock = v;
    q->fd = v;
    s->fd = -1; /* not a TS fd: CLOSE of another fd must not match it */
    own_fd(r, v, FD_CONNECTING); /* refused to every op until the connect completes */
    (void)slot_hold(r, i, v);    /* a close notice for it finds this op */
  }
  q->opcode = IORING_OP_CONNECT;
  q->addr = (uint64_t)(uintptr_t)&s->sa;
  q->off = s->salen;
  return 0;
}

/* RECVFROM / SENDTO: RECVMSG / SENDMSG with the msghdr, iovec and address in
 * the slot.  0 or -errno. */
static int32_t fill_msg(dk_reactor *r, const struct dk_sqe *e, int32_t i,
                        struct io_uring_sqe *q) {
  dk_slot *s = slot_at(r, i);
  memset(&s->msg, 0, sizeof s->msg);
  s->iov.iov_base = (void *)(uintptr_t)e->addr;
  s->iov.iov_len = e->len;
  s->msg.msg_iov = &s->iov;
  s->msg.msg_iovlen = 1;
  if (e->op == DK_OP_RECVFROM) {
    q->opcode = IORING_OP_RECVMSG;
    if (e->arg) {
      s->msg.msg_name = &s->sa;
      s->msg.msg_namelen = sizeof s->sa;
    }
  } else {
    q->opcode = IORING_OP_SENDMSG;
    q->msg_flags = MSG_NOSIGNAL;
    if (e->arg) {
      int fam = addr_to_sockaddr(sqe_addr(r, e), &s->sa, &s->salen);
      if (fam < 0) return fam;
      s->msg.msg_name = &s->sa;
      s->msg.msg_namelen = s->salen;
    }
  }
  q->addr = (uint64_t)(uintptr_t)&s->msg;
  q->len = 1;
  return 0;
}

/* READ / WRITE.  A WRITE never raises SIGPIPE: on a socket it is a SEND with
 * MSG_NOSIGNAL, on a FIFO a POLLOUT wait (see pipe_write_ready). */
static void fill_rw(dk_reactor *r, const struct dk_sqe *e, int32_t i, struct io_uring_sqe *q) {
  int k = e->op == DK_OP_WRITE ? fd_kind(r, e->fd) : FK_OTHER;
  if (k == FK_FIFO) {
    slot_at(r, i)->pipe_write = 1;
    q->opcode = IORING_OP_POLL_ADD;
    q->poll32_events = POLLOUT;
    return;
  }
  q->opcode = e->op == DK_OP_READ ? IORING_OP_READ
              : k == FK_SOCK      ? IORING_OP_SEND
                                  : IORING_OP_WRITE;
  q->addr = e->addr;
  q->len = e->len;
  if (q->opcode == IORING_OP_SEND) q->msg_flags = MSG_NOSIGNAL;
  else q->off = e->arg;
}

/* Fill SQE q for record e, whose op owns slot i.  0 or -errno. */
static int32_t fill_sqe(dk_reactor *r, const struct dk_sqe *e, int32_t i,
                        struct io_uring_sqe *q) {
  dk_slot *s = slot_at(r, i);
  q->user_data = ud_of(r, i);
  q->fd = e->fd;
  switch (e->op) {
  case DK_OP_NOP:
    q->opcode = IORING_OP_NOP;
    q->fd = -1;
    return 0;
  case DK_OP_ACCEPT:
    q->opcode = IORING_OP_ACCEPT;
    if (e->arg) {
      s->salen = sizeof s->sa;
      q->addr = (uint64_t)(uintptr_t)&s->sa;
      q->addr2 = (uint64_t)(uintptr_t)&s->salen;
    }
    q->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    return 0;
  case DK_OP_CONNECT:
  case DK_OP_UDP_CONNECT:
    return fill_connect(r, e, i, q);
  case DK_OP_RECV:
  case DK_OP_SEND:
    q->opcode = e->op == DK_OP_RECV ? IORING_OP_RECV : IORING_OP_SEND;
    q->addr = e->addr;
    q->len = e->len;
    q->msg_flags = e->op == DK_OP_SEND ? MSG_NOSIGNAL : 0;
    /* After a short read the queue is empty: arm the poll at once instead of a recv that would
     * fail with EAGAIN first (one per message in request/response traffic). */
    if (e->op == DK_OP_RECV && ((uring *)r->be)->coop && (uint32_t)e->fd < r->n_fds &&
        r->fds[e->fd].drained)
      q->ioprio = IORING_RECVSEND_POLL_FIRST;
    return 0;
  case DK_OP_SHUTDOWN:
    q->opcode = IORING_OP_SHUTDOWN;
    q->len = e->len == 0 ? SHUT_RD : e->len == 1 ? SHUT_WR : SHUT_RDWR;
    return 0;
  case DK_OP_CLOSE:
    q->opcode = IORING_OP_CLOSE;
    return 0;
  case DK_OP_POLL:
    q->opcode = IORING_OP_POLL_ADD;
    q->poll32_events = (uint32_t)(uint16_t)dk_to_poll(e->len);
    return 0;
  case DK_OP_OPEN:
    q->opcode = IORING_OP_OPENAT;
    q->fd = AT_FDCWD;
    q->addr = e->addr;
    q->open_flags = (uint32_t)open_flags(e->len);
    q->len = (uint32_t)e->arg;
    return 0;
  case DK_OP_READ:
  case DK_OP_WRITE:
    fill_rw(r, e, i, q);
    return 0;
  case DK_OP_READ_FILE:
  case DK_OP_WRITE_FILE: /* the open; file_op_step does the rest */
    s->fd = -1; /* no TS fd (WRITE_FILE's fd field is its mode): no CLOSE matches it */
    q->opcode = IORING_OP_OPENAT;
    q->fd = AT_FDCWD;
    q->addr = e->addr;
    q->open_flags = (uint32_t)file_op_open_flags(s);
    q->len = e->op == DK_OP_WRITE_FILE ? (uint32_t)e->fd : 0;
    ((uring *)r->be)->file_opens++; /* fill_sqe never fails after this for these ops */
    return 0;
  case DK_OP_RECVFROM:
  case DK_OP_SENDTO:
    return fill_msg(r, e, i, q);
  default:
    return -EINVAL;
  }
}

#ifdef DK_FAULTS
/* The fault plan (testing/fault.c) at submission: an injected error refuses the record (it completes
 * with that errno, as if the kernel had failed the syscall); a short one trims its length. */
static int32_t fault_prep(dk_reactor *r, const struct dk_sqe *e, int32_t i,
                          struct io_uring_sqe *q) {
  dk_slot *s = slot_at(r, i);
  int site = e->op == DK_OP_ACCEPT ? DK_FAULT_ACCEPT
             : (e->op == DK_OP_RECV || e->op == DK_OP_RECVFROM || e->op == DK_OP_READ)
                 ? DK_FAULT_RECV
             : (e->op == DK_OP_SEND || e->op == DK_OP_SENDTO || e->op == DK_OP_WRITE)
                 ? DK_FAULT_SEND
                 : -1;
  if (site < 0 || s->pipe_write) return 0;
  if (site == DK_FAULT_ACCEPT) return fault_take(site, NULL);
  if (e->op == DK_OP_RECVFROM || e->op == DK_OP_SENDTO) {
    uint32_t l = (uint32_t)s->iov.iov_len;
    int32_t v = fault_take(site, &l);
    s->iov.iov_len = l;
    return v;
  }
  return fault_take(site, &q->len);
}
#endif

/* Stage record e as SQEs (an op slot plus, for CLOSE, its cancels).  0, or
 * -errno with nothing left pending (a staged SQE becomes an ignored NOP). */
static int32_t prep(dk_reactor *r, const struct dk_sqe *e) {
  if (e->op == DK_OP_CANCEL) return prep_cancel(r, e);
  int32_t i = slot_alloc(r, e);
  if (i < 0) return i;
  if (e->op == DK_OP_CLOSE && stage_close_cancels(r, e, i) < 0) {
    slot_free(r, i);
    return -EAGAIN;
  }
  struct io_uring_sqe *q = get_sqe(r, 1);
  if (!q) {
    slot_free(r, i);
    return -EAGAIN;
  }
  int32_t v = fill_sqe(r, e, i, q);
#ifdef DK_FAULTS
  if (v == 0) v = fault_prep(r, e, i, q);
#endif
  if (v < 0) {
    /* The SQE is already in the ring: turn it into an ignored NOP. */
    memset(q, 0, sizeof *q);
    q->opcode = IORING_OP_NOP;
    q->user_data = UD_IGNORE;
    slot_free(r, i);
  }
  return v;
}

static int32_t uring_submit_one(dk_reactor *r, const struct dk_sqe *e) { return prep(r, e); }

static int arm_pipe_poll(dk_reactor *r, int32_t i) {
  struct io_uring_sqe *q = get_sqe(r, 1);
  if (!q) return -EAGAIN;
  q->opcode = IORING_OP_POLL_ADD;
  q->fd = slot_at(r, i)->fd;
  q->poll32_events = POLLOUT;
  q->user_data = ud_of(r, i);
  return 0;
}

/* fd was closed outside this reactor: cancel the ops that still hold its old
 * file open (the peer of a socket would not see the close until they end).  A
 * CONNECT whose socket it was no longer owns it. */
static void uring_closed_elsewhere(dk_reactor *r, int32_t fd) {
  if ((uint32_t)fd >= r->n_fds || r->fds[fd].ops == 0) return;
  uint32_t total = r->n_chunks * DK_CHUNK;
  for (uint32_t k = 0; k < total; k++) {
    dk_slot *o = slot_at(r, (int32_t)k);
    if (o->state != ST_ACTIVE || o->held != fd) continue;
    if ((o->op == DK_OP_CONNECT || IS_FILE_OP(o->op)) && o->sock == fd) {
      own_fd(r, fd, FD_TS);
      o->sock = -1; /* not ours to close any more */
    }
    struct io_uring_sqe *c = get_sqe(r, 1);
    if (!c) break;
    c->opcode = IORING_OP_ASYNC_CANCEL;
    c->fd = -1;
    c->addr = ud_of(r, (int32_t)k);
    c->user_data = UD_IGNORE;
  }
}

/* io_uring ops hold files, not numbers: a new file needs no reset here. */
static void uring_fresh(dk_reactor *r, int32_t fd, int sock) {
  (void)r;
  (void)fd;
  (void)sock;
}

static void arm_wake(dk_reactor *r) {
  uring *u = r->be;
  if (u->wake_armed) return;
  struct io_uring_sqe *q = get_sqe(r, 1);
  if (!q) return;
  q->opcode = IORING_OP_READ;
  q->fd = u->efd;
  q->addr = (uint64_t)(uintptr_t)&u->efd_val;
  q->len = sizeof u->efd_val;
  q->off = (uint64_t)-1;
  q->user_data = UD_WAKE;
  u->wake_armed = 1;
}

/* Most pushes one non-blocking dk_wait makes: stages staged while it reaps go in the next. */
#define PUSH_ROUNDS 4

static int32_t uring_wait(dk_reactor *r, int32_t timeout_ms) {
  uring *u = r->be;
  u->woken = 0;
  if (r->q_len > 0) {
    /* Completions wait in our queue (they did not fit the last wait, or were posted at
     * submission): move the kernel's behind them first, so delivery stays in order and a
     * stream of immediate completions larger than the CQ buffer cannot starve the kernel's. */
    r->collecting = 0;
    reap(r, 1);
  }
  r->collecting = 1;
  r->out_n = 0;
  drain_queue(r);
  reap(r, 0);
  int32_t err = 0;
  if (r->out_n > 0 || timeout_ms == 0 || u->woken) { /* a wake that came before the wait ends it too */
    /* A few rounds: a whole-file op's CQE stages its next SQE while reaped, and a page-cache
     * open → read completes in the push that hands the read over. */
    for (int round = 0; round < PUSH_ROUNDS; round++) {
      /* TASKRUN: completions wait as task work until this thread enters the kernel. */
      if (!(sq_unsubmitted(u) > 0 || (sq_flags(u) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN))))
        break;
      int rc = push(r);
      if (rc < 0) err = rc;
      if (r->out_n < r->cq_cap && (sq_flags(u) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)))
        sys_enter(u, 0, 0, 1, 0);
      reap(r, 0);
      if (rc < 0 || r->out_n >= r->cq_cap) break;
    }
  } else {
    arm_wake(r);
    int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
      int rem = -1;
      if (timeout_ms > 0) {
        int64_t left = deadline - now_ms();
        rem = left > 0 ? (int)left : 0;
      }
      unsigned n = sq_unsubmitted(u);
      sq_publish(u);
      int rc = sys_enter(u, n, 1, 1, rem);
      if (rc == -EBUSY || rc == -EAGAIN) {
        push(r); /* reaps into the queue to make room */
        drain_queue(r);
      } else if (rc < 0 && rc != -ETIME && rc != -EINTR) {
        err = rc;
        break;
      }
      reap(r, 0);
      if (r->out_n > 0 || u->woken || rc == -ETIME) break;
      if (timeout_ms > 0 && now_ms() >= deadline) break;
      arm_wake(r);
    }
  }
  r->collecting = 0;
  return r->out_n > 0 ? (int32_t)r->out_n : err;
}

static int32_t uring_wake(dk_reactor *r) {
  uring *u = r->be;
  uint64_t one = 1;
  ssize_t w = write(u->efd, &one, sizeof one);
  return w == (ssize_t)sizeof one || errno == EAGAIN ? 0 : -errno;
}

static void cancel_all(dk_reactor *r) {
  uring *u = r->be;
  if (u->cancel_fd) {
    struct io_uring_sqe *q = get_sqe(r, 1);
    if (q) {
      q->opcode = IORING_OP_ASYNC_CANCEL;
      q->fd = -1;
      q->cancel_flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
      q->user_data = UD_IGNORE;
    }
  } else {
    uint32_t total = r->n_chunks * DK_CHUNK;
    for (uint32_t k = 0; k < total; k++) {
      if (slot_at(r, (int32_t)k)->state != ST_ACTIVE) continue;
      struct io_uring_sqe *q = get_sqe(r, 1);
      if (!q) break;
      q->opcode = IORING_OP_ASYNC_CANCEL;
      q->fd = -1;
      q->addr = ud_of(r, (int32_t)k);
      q->user_data = UD_IGNORE;
    }
    if (u->wake_armed) {
      struct io_uring_sqe *q = get_sqe(r, 1);
      if (q) {
        q->opcode = IORING_OP_ASYNC_CANCEL;
        q->fd = -1;
        q->addr = UD_WAKE;
        q->user_data = UD_IGNORE;
      }
    }
  }
  push(r);
}

static void unmap(uring *u) {
  if (u->sqes && u->sqes != MAP_FAILED) munmap(u->sqes, u->sqes_sz);
  if (u->cq_map && u->cq_map != MAP_FAILED && u->cq_map != u->sq_map)
    munmap(u->cq_map, u->cq_map_sz);
  if (u->sq_map && u->sq_map != MAP_FAILED) munmap(u->sq_map, u->sq_map_sz);
  if (u->fd >= 0) close(u->fd);
  if (u->efd >= 0) close(u->efd);
  free(u);
}

static void uring_destroy(dk_reactor *r) {
  uring *u = r->be;
  u->destroying = 1;
  r->collecting = 0;
  int64_t end = now_ms() + 10000;
  while (r->n_active > 0 || u->wake_armed) {
    cancel_all(r);
    int64_t round = now_ms() + 100;
    while ((r->n_active > 0 || u->wake_armed) && now_ms() < round) {
      int rc = sys_enter(u, 0, 1, 1, 20);
      reap(r, 1);
      if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) break;
    }
    if (now_ms() >= end) break;
  }
  /* Past the bound an op the kernel still holds may yet write its slot (an
   * accept's sockaddr, a recvmsg's msghdr): keep the slots (common.c).
   * Closing the ring fd below makes the kernel cancel and reap what is left
   * on its own; the ring pages stay mapped for it until then. */
  if (r->n_active > 0) r->leak_slots = 1;
  unmap(u);
  r->be = NULL;
}

/*
 * A whole-file op's open runs in the kernel (often on its io-wq thread): its number exists from
 * the open's fd install, but is marked FD_FILE_OP only when this thread handles the CQE.  A record
 * naming a number not vetted since it was last closed could be that file in between, so while any
 * such open is in flight it is vetted only after every one of them is handled (their CQEs reaped
 * into the queue, as push does when the ring is full).  The reactor thread waits for those opens
 * (O_NONBLOCK: a FIFO never blocks one), not for any I/O; numbers already vetted, and every
 * record while no whole-file open is in flight, pass without waiting.
 */
static int32_t uring_vet_fd(dk_reactor *r, int32_t fd, dk_fd_info *f) {
  uring *u = r->be;
  if (f->checked || u->file_opens == 0) return fd_vet_open(fd, f);
  int saved = r->collecting;
  r->collecting = 0;
  int32_t v = 0;
  while (u->file_opens > 0) {
    unsigned n = sq_unsubmitted(u);
    sq_publish(u);
    int rc = sys_enter(u, n, 1, 1, -1);
    if (rc == -EBUSY || rc == -EAGAIN) {
      push(r);
    } else if (rc < 0 && rc != -EINTR && rc != -ETIME) {
      v = -EAGAIN; /* cannot tell yet: refused, never run on a file it may not name */
      break;
    }
    reap(r, 1);
  }
  r->collecting = saved;
  if (v < 0) return v;
  f = fd_info(r, fd); /* the reaped opens may have grown the table */
  if (!f || f->owner != FD_TS) return -EBADF;
  return fd_vet_open(fd, f);
}

static const dk_backend_ops uring_ops = {uring_submit_one, uring_flush, uring_wait, uring_wake,
                                         uring_destroy, uring_closed_elsewhere, uring_fresh,
                                         uring_vet_fd};

static const uint8_t need_ops[] = {
    IORING_OP_NOP,      IORING_OP_ACCEPT,     IORING_OP_CONNECT, IORING_OP_RECV,
    IORING_OP_SEND,     IORING_OP_SHUTDOWN,   IORING_OP_CLOSE,   IORING_OP_POLL_ADD,
    IORING_OP_ASYNC_CANCEL, IORING_OP_OPENAT, IORING_OP_READ,    IORING_OP_WRITE,
    IORING_OP_RECVMSG,  IORING_OP_SENDMSG,
};

static int probe_ops(int fd) {
  size_t sz = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
  struct io_uring_probe *p = calloc(1, sz);
  if (!p) return -ENOMEM;
  int rc = sys_register(fd, IORING_REGISTER_PROBE, p, 256);
  for (size_t k = 0; rc >= 0 && k < sizeof need_ops; k++) {
    if (need_ops[k] > p->last_op || !(p->ops[need_ops[k]].flags & IO_URING_OP_SUPPORTED))
      rc = -ENOSYS;
  }
  free(p);
  return rc < 0 ? rc : 0;
}

/* Does ASYNC_CANCEL accept CANCEL_FD|ALL?  Asked once, on the wake eventfd. */
static int probe_cancel_fd(dk_reactor *r) {
  uring *u = r->be;
  struct io_uring_sqe *q = get_sqe(r, 1);
  if (!q) return 0;
  q->opcode = IORING_OP_ASYNC_CANCEL;
  q->fd = u->efd;
  q->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
  q->user_data = UD_IGNORE;
  sq_publish(u);
  if (sys_enter(u, 1, 1, 1, 1000) < 0) return 0;
  unsigned head = *u->cq_head;
  int ok = 0;
  while (head != cq_posted(u)) {
    struct io_uring_cqe *c = &u->cqes[head & u->cq_mask];
    if (c->user_data == UD_IGNORE) ok = c->res != -EINVAL;
    head++;
  }
  cq_release(u, head);
  return ok;
}

/* The smallest ring: a CLOSE takes two SQEs (its cancel and itself) and the
 * wake read one more, in one submission. */
#define MIN_ENTRIES 4u

int32_t uring_create(dk_reactor *r, uint32_t entries) {
  if (entries < MIN_ENTRIES) entries = MIN_ENTRIES;
  /* Newest first; a kernel that does not know a flag refuses the setup with EINVAL.
   * COOP_TASKRUN: a completion does not interrupt this thread with an IPI while it runs; the
   * kernel finishes it at the thread's next kernel entry (any syscall or interrupt), and
   * TASKRUN_FLAG says so in sq_flags so a timeout-0 wait enters the kernel (uring_wait). A thread
   * asleep (in Deno's event loop, or parked in a wait) is still woken for it. */
  static const unsigned setups[] = {
      IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL |
          IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
      IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP,
  };
  struct io_uring_params p;
  int fd = -EINVAL;
  unsigned used = 0;
  for (size_t k = 0; k < sizeof setups / sizeof setups[0] && fd == -EINVAL; k++) {
    memset(&p, 0, sizeof p);
    p.flags = used = setups[k];
    p.cq_entries = entries * 4 < 4096 ? 4096 : entries * 4;
    fd = sys_setup(entries, &p);
  }
  if (fd < 0) return fd;
  uring *u = calloc(1, sizeof *u);
  if (!u) {
    close(fd);
    return -ENOMEM;
  }
  u->fd = fd;
  u->efd = -1;
  u->features = p.features;
  u->coop = (used & IORING_SETUP_COOP_TASKRUN) != 0;
  int32_t v = 0;
  if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_EXT_ARG)) {
    v = -ENOSYS;
    goto fail;
  }
  if ((v = probe_ops(fd)) < 0) goto fail;
  u->sq_map_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  u->cq_map_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    if (u->cq_map_sz > u->sq_map_sz) u->sq_map_sz = u->cq_map_sz;
    u->cq_map_sz = u->sq_map_sz;
  }
  u->sq_map = mmap(NULL, u->sq_map_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                   IORING_OFF_SQ_RING);
  if (u->sq_map == MAP_FAILED) goto fail_errno;
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    u->cq_map = u->sq_map;
  } else {
    u->cq_map = mmap(NULL, u->cq_map_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                     IORING_OFF_CQ_RING);
    if (u->cq_map == MAP_FAILED) goto fail_errno;
  }
  u->sqes_sz = p.sq_entries * sizeof(struct io_uring_sqe);
  u->sqes = mmap(NULL, u->sqes_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                 IORING_OFF_SQES);
  if (u->sqes == MAP_FAILED) goto fail_errno;
  char *sq = u->sq_map, *cq = u->cq_map;
  u->sq_head = (unsigned *)(sq + p.sq_off.head);
  u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  u->sq_flags = (unsigned *)(sq + p.sq_off.flags);
  u->sq_array = (unsigned *)(sq + p.sq_off.array);
  u->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
  u->sq_entries = p.sq_entries;
  u->cq_head = (unsigned *)(cq + p.cq_off.head);
  u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  u->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
  u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  for (unsigned k = 0; k < p.sq_entries; k++) u->sq_array[k] = k; /* identity */
  u->tail = *u->sq_tail;
  u->efd = eventfd(0, EFD_CLOEXEC);
  if (u->efd < 0) goto fail_errno;
  r->be = u;
  r->ops = &uring_ops;
  r->backend = DK_BACKEND_IO_URING;
  add_own_fd(r, u->fd);
  add_own_fd(r, u->efd);
  u->cancel_fd = probe_cancel_fd(r);
#ifdef DK_TEST_NO_CANCEL_FD
  u->cancel_fd = 0; /* exercise the fallback paths in tests */
#endif
  return 0;
fail_errno:
  v = -errno;
fail:
  unmap(u);
  r->be = NULL;
  return v;
}

#else /* !__linux__ */

int32_t uring_create(dk_reactor *r, uint32_t entries) {
  (void)r;
  (void)entries;
  return -ENOSYS;
}

#endif
