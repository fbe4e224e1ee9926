/*
 * reactor.h — internal structures shared by the reactor's C files (not ABI).
 *
 * A reactor (struct dk_reactor) owns:
 *  - the TS buffers (sq, cq) given to dk_create;
 *  - an op table of fixed-address slots, allocated in chunks of 256 and never
 *    moved, so a slot can hold the sockaddr/msghdr/iovec the kernel reads while
 *    an io_uring op is in flight.  Slots are addressed by index; a per-slot
 *    generation makes a stale index detectable;
 *  - a token -> slot hash (chained through the slots) used by DK_OP_CANCEL;
 *  - a queue of completions that did not fit the TS completion buffer (or were
 *    produced during dk_submit); dk_wait hands these out first, in order.
 * Invariant: every record accepted by dk_submit yields exactly one completion,
 * either posted at once (validation errors, synchronous ops) or from the slot
 * that the backend completes with op_complete().
 */
#ifndef DOKIO_REACTOR_H
#define DOKIO_REACTOR_H

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE 1
#endif

#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "dokio.h"

#define DK_CHUNK_SHIFT 8
#define DK_CHUNK (1u << DK_CHUNK_SHIFT)
#define DK_MAX_OPS (1u << 22)
#define DK_NIL (-1)

/* Slot states. */
enum { ST_FREE = 0, ST_ACTIVE = 1 };

/* Which readiness list of its fd a slot is on (ready.c). */
enum { L_NONE = 0, L_READ = 1, L_WRITE = 2, L_POLL = 3, L_FILE = 4 };

typedef union dk_sockaddr {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
} dk_sockaddr;

typedef struct dk_slot {
  uint32_t token;
  uint32_t gen;   /* bumped on free: (index, gen) names one use of the slot */
  uint8_t op;
  uint8_t state;
  uint8_t list;   /* L_* (ready.c) */
  uint8_t pipe_write; /* uring.c: a WRITE to a FIFO, waiting for POLLOUT to write itself */
  int32_t fd;
  int32_t held;   /* the fd number this op counts in fd_info.ops, or -1 */
  uint32_t len;
  uint16_t flags;
  uint8_t stage;  /* READ_FILE/WRITE_FILE (uring.c): FS_OPEN, then FS_IO */
  uint8_t cflags; /* DK_CQE_F_* that op_complete adds to the completion (DK_CQE_F_MORE) */
  uint32_t done;  /* WRITE_FILE (uring.c): bytes written so far */
  uint64_t addr;
  uint64_t arg;
  int32_t sock;   /* CONNECT: the socket C created (closed on failure), -1 once gone;
                     READ_FILE/WRITE_FILE: the file the op opened, -1 before or once closed */
  int32_t hnext;  /* token hash chain */
  int32_t next;   /* free list / fd list */
  int32_t prev;   /* fd list */
  socklen_t salen;
  dk_sockaddr sa; /* CONNECT/UDP_CONNECT target, ACCEPT/RECVFROM source, SENDTO target */
  struct msghdr msg;
  struct iovec iov;
} dk_slot;

/*
 * What the reactor knows of one fd number (dk_reactor.fds, indexed by fd).
 * The table grows only to numbers that are open when first named, and never
 * past the process's fd limit, so a forged number costs nothing.
 */
enum { FD_TS = 0, FD_INTERNAL = 1, FD_CONNECTING = 2, FD_FILE_OP = 3 /* a whole-file op's file */ };
enum { FK_UNKNOWN = 0, FK_FIFO = 1, FK_SOCK = 2, FK_OTHER = 3 };
typedef struct dk_fd_info {
  uint32_t ops;  /* pending ops that hold this number (slot.held) */
  uint8_t owner; /* FD_*: INTERNAL (the reactor's own) and CONNECTING are refused */
  uint8_t kind;  /* FK_*: cached fstat class (uring.c), reset when the number is reused */
  /* 1 once a record's fd was checked open (fcntl) since the number was last closed through the
   * reactor (CLOSE, dk_close notice) or handed out by it (fd_new); 0 means check again, so an op
   * never names a closed number that a later record of the same batch reuses (CONNECT, LISTEN). */
  uint8_t checked;
  /* uring.c: the last RECV on this number returned fewer bytes than asked (the receive queue was
   * emptied), so the next one polls before it tries.  A hint only: a stale mark costs one poll. */
  uint8_t drained;
} dk_fd_info;

/* A queued completion: the record, and its address when flags has DK_CQE_F_ADDR. */
typedef struct dk_qent {
  struct dk_cqe c;
  struct dk_addr a;
} dk_qent;

struct dk_reactor;

/* A backend: init/fini plus the three operations that differ. */
typedef struct dk_backend_ops {
  int32_t (*submit_one)(struct dk_reactor *r, const struct dk_sqe *e); /* 0 or -errno */
  int32_t (*flush)(struct dk_reactor *r);           /* push staged work to the kernel */
  int32_t (*wait)(struct dk_reactor *r, int32_t timeout_ms); /* completions written */
  int32_t (*wake)(struct dk_reactor *r);            /* any thread */
  void (*destroy)(struct dk_reactor *r);            /* cancel+drain, close own fds */
  /* fd was closed outside this reactor's op path (dk_close, another reactor's
   * CLOSE): fail or cancel the ops still naming it. */
  void (*closed_elsewhere)(struct dk_reactor *r, int32_t fd);
  /* fd is a new file handed out by this reactor (accept/connect/open/listen/bind);
   * sock: it is a nonblocking socket the reactor made. */
  void (*fresh)(struct dk_reactor *r, int32_t fd, int sock);
  /* May a record name fd (owner FD_TS in f)?  0 or -errno.  A backend whose worker thread or
   * kernel opens whole-file ops' files behind the reactor thread vets here (f may be stale after:
   * the caller looks it up again); NULL would mean fd_vet_open alone. */
  int32_t (*vet_fd)(struct dk_reactor *r, int32_t fd, dk_fd_info *f);
} dk_backend_ops;

typedef struct dk_reactor {
  int32_t backend;
  const dk_backend_ops *ops;
  void *be; /* backend state */

  struct dk_sqe *sq;
  uint32_t sq_cap;
  struct dk_cqe *cq;
  uint32_t cq_cap;
  struct dk_addr *sq_addrs; /* one per sq record: the input address of record i */
  struct dk_addr *cq_addrs; /* one per cq record: the output address of completion k */

  /* Output cursor while dk_wait collects (collecting != 0). */
  int collecting;
  uint32_t out_n;

  /* Completions waiting for room in cq (ring), with their addresses. */
  struct dk_qent *q;
  uint32_t q_head, q_len, q_cap;

  /* Op table. */
  dk_slot **chunks;
  uint32_t n_chunks;
  int32_t free_head;
  uint32_t n_active;

  /* token -> slot hash, buckets of slot indices chained by hnext. */
  int32_t *hash;
  uint32_t hash_mask;

  /* Per-fd facts (see dk_fd_info), and the reactor's own fds. */
  dk_fd_info *fds;
  uint32_t n_fds;
  int32_t own_fds[4];
  uint32_t n_own;

  /* Close notices: fds closed outside this reactor's op path, appended under
   * the handle-table lock by any thread, taken by the reactor's own calls. */
  _Atomic uint32_t notes_pending;
  int32_t *notes;
  uint32_t n_notes, notes_cap;
  int notes_overflow;

  /* Set by a backend's destroy that gave up waiting for an op: keep the slots. */
  int leak_slots;
} dk_reactor;

/* Slot of index i (i must be < n_chunks * DK_CHUNK). */
static inline dk_slot *slot_at(dk_reactor *r, int32_t i) {
  return &r->chunks[(uint32_t)i >> DK_CHUNK_SHIFT][(uint32_t)i & (DK_CHUNK - 1)];
}

/*
 * Shared between the reactor's C files.  The library is built with
 * -fvisibility=hidden, so none of these leaves it: it exports only the dk_*
 * ABI of dokio.h (DK_API).  Helpers used by one file are static there.
 */

/* common.c */
int32_t slot_alloc(dk_reactor *r, const struct dk_sqe *e); /* index or -ENOMEM */
void slot_free(dk_reactor *r, int32_t i);
/* The info of fd, growing the table if fd is open and below the fd limit; NULL otherwise. */
dk_fd_info *fd_info(dk_reactor *r, int32_t fd);
/* Count slot i's op as holding fd (for close notices); 0 or -EBADF. */
int32_t slot_hold(dk_reactor *r, int32_t i, int32_t fd);
void own_fd(dk_reactor *r, int32_t fd, uint8_t owner); /* mark (FD_*) a number */
/* Is fd open (checked with fcntl unless f->checked says so since its last close)?  0 or -EBADF. */
int32_t fd_vet_open(int32_t fd, dk_fd_info *f);
void add_own_fd(dk_reactor *r, int32_t fd); /* one of the reactor's own fds (refused to ops) */
/* A new file behind fd, made by this reactor: take close notices, then tell the backend. */
void fd_new(dk_reactor *r, int32_t fd, int sock);
int32_t slot_find_token(dk_reactor *r, uint32_t token);   /* index or DK_NIL */
void post(dk_reactor *r, uint32_t token, int32_t result, uint32_t flags, uint32_t op);
void op_complete(dk_reactor *r, int32_t i, int32_t result); /* post + free */
uint32_t drain_queue(dk_reactor *r);
int32_t addr_to_sockaddr(const struct dk_addr *a, dk_sockaddr *out, socklen_t *len);
/* The input address of record e (its record in the SQ address region). */
const struct dk_addr *sqe_addr(const dk_reactor *r, const struct dk_sqe *e);
void sockaddr_to_addr(const dk_sockaddr *s, struct dk_addr *out);
int32_t new_socket(int family, int type);                   /* fd or -errno */
int32_t set_nonblock_cloexec(int fd);
int open_flags(uint32_t dk_flags);
/* write(2)/pwrite(2) that never raises SIGPIPE (blocked and consumed around the call). */
ssize_t write_nosigpipe(int fd, const void *b, size_t n, uint64_t off);
int fd_blocking(int fd); /* 1 if fd lacks O_NONBLOCK */
int fd_kind(dk_reactor *r, int32_t fd); /* FK_* of fd, cached in its fd_info */
uint32_t poll_to_dk(uint32_t revents);
short dk_to_poll(uint32_t mask);
int64_t now_ms(void);

/* fs.c: the whole-file ops' steps (READ_FILE, WRITE_FILE; see dokio.h). */
#define IS_FILE_OP(op) ((op) == DK_OP_READ_FILE || (op) == DK_OP_WRITE_FILE)
enum { FS_OPEN = 0, FS_IO = 1 };
/* After the open of slot s's op: 1 to do its I/O here, 0 when it is not for here (not a
 * regular file, or a READ_FILE that does not fit: DK_CQE_F_MORE), or -errno of fstat.  When
 * size is not NULL and the file is regular, *size gets its size. */
int32_t file_op_fits(const dk_slot *s, int fd, uint64_t *size);
/* The open(2) flags of slot s's op. */
int file_op_open_flags(const dk_slot *s);
/* The number a file-worker thread holds open for a whole-file op, shown to the reactor thread:
 * fd is written only with mu held, together with the open(2) that made the number and the
 * close(2) that ends it, so a reader holding mu never sees the file open under another name.
 * -1 when the worker holds none. */
typedef struct dk_file_claim {
  pthread_mutex_t mu;
  int32_t fd;
} dk_file_claim;
/* The whole op on the calling thread (the epoll/kqueue file worker): open, fstat, I/O, close,
 * the file claimed in *claim from its open to its close.  The result; *cflags gets
 * DK_CQE_F_MORE when the op is not for here. */
int32_t file_op_run(uint8_t op, uint16_t flags, int32_t mode, uint64_t path, uint64_t buf,
                    uint32_t len, uint32_t *cflags, dk_file_claim *claim);
/* Page-cache reads on the reactor thread (Linux; elsewhere both return 0).  Neither blocks: each
 * uses only what is cached (preadv2 RWF_NOWAIT, openat2 RESOLVE_CACHED).
 * file_read_nowait: a READ of len bytes at off (UINT64_MAX: at, and moving, the file position):
 * 1 with *res the bytes read (len, or fewer only at the end), or 0 when part is not cached (or an
 * error): then the position is where it was and the op goes to a file worker.
 * file_op_nowait: a whole READ_FILE (open, fstat, read, close): 1 with *res and *cflags as
 * file_op_run gives them, or 0 (not all cached, not a READ_FILE, or an open error: nothing is
 * left open) and the op goes to a file worker. */
int file_read_nowait(int fd, void *buf, uint32_t len, uint64_t off, int32_t *res);
int file_op_nowait(uint8_t op, uint64_t path, uint64_t buf, uint32_t len, int32_t *res,
                   uint32_t *cflags);

/*
 * Pollers for the readiness engine (ready.c): epoll.c on Linux, kqueue.c on
 * macOS/BSD.  Registration is edge-triggered for both read and write; the
 * wake source reports as an event with fd == -1 (and is reset by the poller).
 */
typedef struct dk_event {
  int32_t fd;
  uint32_t mask; /* DK_POLL_*, and DK_EV_RDHUP */
} dk_event;
/* An event bit beside DK_POLL_*: the peer shut its sending side (EPOLLRDHUP; kqueue's EV_EOF is
 * DK_POLL_HUP), so the fd's read side will see no further state change.  Never reaches TS. */
#define DK_EV_RDHUP (1u << 16)
typedef struct dk_poller dk_poller;
int32_t poller_open(dk_poller **out);
void poller_close(dk_poller *p);
int32_t poller_add(dk_poller *p, int fd); /* 0 or -errno (-EPERM: fd not pollable) */
void poller_del(dk_poller *p, int fd);
int32_t poller_wait(dk_poller *p, dk_event *out, int32_t n, int32_t timeout_ms);
int32_t poller_wake(dk_poller *p); /* any thread */
int32_t poller_fds(dk_poller *p, int32_t out[2]); /* the poller's own fds; how many */

#ifdef DK_FAULTS
/*
 * The test-only fault plan (testing/fault.c; only in a build with -DDK_FAULTS, never in
 * ffi/prebuilt/).
 * Sites are the syscalls a plan can fail or shorten; every hook sits in an #ifdef DK_FAULTS
 * block, so a production build compiles none of this.
 */
enum {
  DK_FAULT_ACCEPT = 0,   /* ACCEPT records (epoll: accept4; io_uring: refused at submission) */
  DK_FAULT_RECV = 1,     /* RECV, RECVFROM, READ records (epoll: on sockets and pipes) */
  DK_FAULT_SEND = 2,     /* SEND, SENDTO, WRITE records (epoll: on sockets and pipes) */
  DK_FAULT_TRY_RECV = 3, /* dk_try_recv */
  DK_FAULT_TRY_SEND = 4, /* dk_try_send, dk_try_sendv */
  DK_FAULT__COUNT = 5
};
#define DK_FAULT_KIND_ERRNO 1 /* fail with -value */
#define DK_FAULT_KIND_SHORT 2 /* move at most value bytes */
/* Set site's rule (kind 0 clears it): after `skip` calls, act on `count` (UINT32_MAX: all). */
DK_API int32_t dk_test_fault(int32_t site, int32_t kind, int32_t value, uint32_t skip,
                             uint32_t count);
DK_API int32_t dk_test_fault_hits(int32_t site); /* actions taken at site since its rule was set */
DK_API int32_t dk_test_fault_clear(void);        /* every rule off */
/* At a site: 0 to go on (*len, if given, may be shortened), or -errno to fail with. */
int32_t fault_take(int site, uint32_t *len);
/* fault_take before a syscall: 1 with errno set when it must fail (skip the syscall), else 0. */
int fault_syscall(int site, uint32_t *len);
#endif

/* Backend constructors: fill r->ops / r->be, return 0 or -errno. */
int32_t uring_create(dk_reactor *r, uint32_t entries);
int32_t ready_create(dk_reactor *r, int32_t backend, uint32_t entries);
/* dk_file_workers on an epoll/kqueue reactor (r->be is a ready.c engine), on its thread. */
int32_t ready_file_workers(dk_reactor *r, uint32_t n);

#endif
