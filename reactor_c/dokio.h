/*
 * dokio.h — the C ABI of Dokio's reactor.
 *
 * Model: submission and completion.  TypeScript owns four buffers that it
 * registers once with dk_create(): a submission buffer of `struct dk_sqe`
 * records, a completion buffer of `struct dk_cqe` records, and beside each an
 * address region of `struct dk_addr` records, one per SQ / CQ record.  It writes N
 * operation records, then makes one call (dk_submit, or dk_enter which also
 * waits) per batch.  Completions come back as (token, result, flags) records.
 *
 * Backends: io_uring (Linux, default where io_uring_setup succeeds), epoll
 * (Linux fallback, and by choice), kqueue (macOS/BSD).  On epoll and kqueue
 * the C side performs the I/O when the fd is ready and posts the completion,
 * so every backend shows the same model.
 *
 * Handles are small integers (an index and generation into a static table),
 * so a stale or forged handle is detected and answered with -EBADF, never
 * dereferenced.  Every entry point validates its arguments and returns a
 * negative errno instead of crashing; a bad record completes with a negative
 * errno under its own token and does not fail the rest of the batch.
 *
 * Threads: dk_wake() may be called from any thread at any time.  All other
 * calls on one handle must not run concurrently with each other (TS calls
 * dk_wait through a `nonblocking` FFI symbol only while it makes no other
 * call on that handle; dk_destroy must not run while a dk_wait is blocked —
 * wake it and let it return first).  Submit from one long-lived thread (the
 * JS thread): io_uring ties an op to the thread that submitted it, and work
 * the kernel handed to its worker threads is cancelled if that thread exits.
 *
 * fds: an op naming an fd that is not open fails with -EBADF (the reactor's
 * per-fd tables grow only for open numbers, never past the fd limit), and so
 * does one naming the reactor's own fds (its ring, eventfd or poller) or the
 * socket of a CONNECT still pending (that socket is the reactor's until the
 * CONNECT completes).  Close an fd the reactor has seen through a CLOSE record
 * or dk_close, not plain close(2): dk_close tells every live reactor first, so
 * ops they still have on the fd fail (-ECANCELED) at their next call instead
 * of reaching the next file that takes the number; after a plain close(2) a
 * reused number may be taken for the old kind of file.  On epoll/kqueue a
 * socket given in blocking mode is switched to nonblocking; a pipe or tty is
 * left as it is and touched only when poll(2) says the op will not block (a
 * WRITE to a blocking pipe then moves at most PIPE_BUF bytes).
 *
 * Addresses never travel as pointers: an op that takes one (LISTEN, CONNECT,
 * UDP_BIND, UDP_CONNECT, SENDTO) sets arg = DK_ARG_ADDR and reads record i of
 * the SQ address region, i being its own index in the SQ; an op that reports
 * one (ACCEPT, RECVFROM) sets arg = DK_ARG_ADDR and its completion at CQ index
 * k carries DK_CQE_F_ADDR with the address in record k of the CQ address
 * region.  So the C side reads and writes addresses only inside regions it was
 * given with their sizes, whatever a record says.  (I/O buffers, paths in
 * OPEN, are still pointers: they are zero-copy by design.)
 *
 * The record layouts below are mirrored in ffi/layout.ts; dk_layout()
 * reports them so a test checks both sides agree.
 */
#ifndef DOKIO_H
#define DOKIO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DK_ABI_VERSION 2

/* The library is built with -fvisibility=hidden: only what DK_API marks is exported. */
#if defined(__GNUC__) || defined(__clang__)
#define DK_API __attribute__((visibility("default")))
#else
#define DK_API
#endif

/* Backends (dk_create's `backend`, dk_backend's result). */
#define DK_BACKEND_AUTO 0
#define DK_BACKEND_IO_URING 1
#define DK_BACKEND_EPOLL 2
#define DK_BACKEND_KQUEUE 3

/*
 * Operation codes (dk_sqe.op).  Fields not named for an op are ignored.
 * Results are >= 0 on success, -errno on failure.  Every op accepted by
 * dk_submit produces exactly one completion carrying its token.
 */
enum dk_op {
  DK_OP_NOP = 0,      /* result 0. */
  DK_OP_LISTEN = 1,   /* arg = DK_ARG_ADDR (the address to bind); len = backlog (0 = 1024);
                         flags = DK_LISTEN_*; result = listening fd (nonblocking, CLOEXEC). */
  DK_OP_ACCEPT = 2,   /* fd = listener; arg = DK_ARG_ADDR to get the peer's address, or 0;
                         result = accepted fd (nonblocking, CLOEXEC). */
  DK_OP_CONNECT = 3,  /* arg = DK_ARG_ADDR (the peer); C creates the TCP socket;
                         result = connected fd. */
  DK_OP_RECV = 4,     /* fd; addr = buffer; len = capacity; result = bytes, 0 at EOF. */
  DK_OP_SEND = 5,     /* fd; addr = buffer; len = bytes; MSG_NOSIGNAL / SO_NOSIGPIPE;
                         result = bytes taken (may be fewer than len). */
  DK_OP_SHUTDOWN = 6, /* fd; len = how (0 read, 1 write, 2 both). */
  DK_OP_CLOSE = 7,    /* fd; ops still pending on fd complete with -ECANCELED first
                         (their completions arrive before the CLOSE's); ops other
                         reactors have on fd fail at their next call (see dk_close). */
  DK_OP_POLL = 8,     /* fd; len = DK_POLL_* mask; result = ready DK_POLL_* mask. */
  DK_OP_CANCEL = 9,   /* arg = token of the op to cancel.  result 0 if found (that op then
                         completes with -ECANCELED, or with its real result if it had
                         already finished), -ENOENT if no such pending op.  Tokens of
                         pending ops should be unique; with duplicates the newest is hit. */
  DK_OP_OPEN = 10,    /* addr = NUL-terminated path; len = DK_O_* flags; arg = mode;
                         result = fd, opened O_NONBLOCK|O_CLOEXEC: a FIFO with no peer
                         never blocks the open (write side: -ENXIO). */
  DK_OP_READ = 11,    /* fd; addr = buffer; len; arg = file offset (int64, -1 = current). */
  DK_OP_WRITE = 12,   /* fd; addr = buffer; len; arg = file offset (int64, -1 = current).
                         For files and pipes (on a socket it acts as SEND).  Never raises
                         SIGPIPE: a broken pipe or reset socket gives -EPIPE. */
  DK_OP_RECVFROM = 13,/* UDP. fd; addr = buffer; len; arg = DK_ARG_ADDR to get the sender
                         (no DK_CQE_F_ADDR when the socket reports none), or 0. */
  DK_OP_SENDTO = 14,  /* UDP. fd; addr = buffer; len; arg = DK_ARG_ADDR (the target), or 0
                         on a connected socket. */
  DK_OP_UDP_BIND = 15,/* arg = DK_ARG_ADDR (the local address); flags = DK_LISTEN_*;
                         result = bound datagram fd. */
  DK_OP_UDP_CONNECT = 16, /* fd; arg = DK_ARG_ADDR (the default peer); result 0. */
  /* Whole-file ops: one record opens a file, does its I/O and closes it on the C side (the fd
   * never reaches TS).  The file is opened as by OPEN, then fstat'ed; only a regular file is
   * read or written here.  Anything else (a FIFO, a device, a directory) or a file that does
   * not fit the buffer completes with result 0 and DK_CQE_F_MORE, nothing read or written:
   * do it with OPEN and READ/WRITE instead.  A cancelled op, or one whose reactor is destroyed,
   * closes what it opened; so does every failure (-errno of the open, fstat or I/O). */
  DK_OP_READ_FILE = 17,  /* addr = NUL-terminated path; arg = buffer; len = its capacity
                            (1..DK_MAX_LEN); flags = 0.  Reads the whole file from offset 0
                            into the buffer: result = its size (< len).  A file whose size is
                            len or more (or that grew to fill the buffer) gives DK_CQE_F_MORE. */
  DK_OP_WRITE_FILE = 18, /* addr = NUL-terminated path; flags = DK_O_* (WRONLY or RDWR, with
                            CREAT/TRUNC/APPEND/EXCL as wanted); fd = mode (0..07777, no fd: the
                            op opens its own); arg = data; len = its length (<= DK_MAX_LEN).
                            Writes all of it (at the end with DK_O_APPEND, else from offset 0):
                            result = bytes written, fewer than len only if a write took none. */
  DK_OP__COUNT = 19
};

/* dk_sqe.arg of an op with an address: it is in (or goes to) the address
 * region record of the same index (see the top).  Any other nonzero arg is
 * -EINVAL; 0 is "no address" (-EFAULT for ops that need one). */
#define DK_ARG_ADDR 1u

/* dk_sqe.flags for DK_OP_LISTEN and DK_OP_UDP_BIND. */
#define DK_LISTEN_REUSEADDR 1u
#define DK_LISTEN_REUSEPORT 2u
#define DK_LISTEN_V6ONLY 4u

/* Readiness mask for DK_OP_POLL. */
#define DK_POLL_IN 1u
#define DK_POLL_OUT 2u
#define DK_POLL_ERR 4u
#define DK_POLL_HUP 8u

/* Portable open flags for DK_OP_OPEN (mapped to the host's O_*). */
#define DK_O_RDONLY 0u
#define DK_O_WRONLY 1u
#define DK_O_RDWR 2u
#define DK_O_CREAT 4u
#define DK_O_TRUNC 8u
#define DK_O_APPEND 16u
#define DK_O_EXCL 32u

/* A socket address that TS can fill without knowing the host's sockaddr. */
struct dk_addr {         /* 32 bytes */
  uint16_t family;       /* 4 = IPv4, 6 = IPv6 (not AF_*) */
  uint16_t port;         /* host byte order */
  uint32_t scope_id;     /* IPv6 scope */
  uint32_t flowinfo;     /* IPv6 flow info */
  uint32_t _pad;
  uint8_t addr[16];      /* IPv4 uses the first 4 bytes, network order */
};

/* A submission record. */
struct dk_sqe {          /* 40 bytes */
  uint32_t token;        /* echoed in the completion; chosen by TS */
  uint8_t op;            /* enum dk_op */
  uint8_t _pad;
  uint16_t flags;        /* op-specific */
  int32_t fd;
  uint32_t len;
  uint64_t addr;         /* buffer or path pointer */
  uint64_t arg;          /* offset, DK_ARG_ADDR, target token, mode */
  uint64_t _reserved;
};

/* A completion record. */
struct dk_cqe {          /* 16 bytes */
  uint32_t token;
  int32_t result;        /* >= 0 success, -errno failure */
  uint32_t flags;        /* DK_CQE_* */
  uint32_t op;           /* the op code that completed */
};

#define DK_CQE_F_CANCELED 1u /* the op was cancelled before it could finish */
#define DK_CQE_F_ADDR 2u     /* the CQ address record of this index holds the op's address */
#define DK_CQE_F_MORE 4u     /* READ_FILE/WRITE_FILE: not done here (see DK_OP_READ_FILE) */

/* Largest single buffer length accepted (larger → -EINVAL). */
#define DK_MAX_LEN 0x7ffff000u

/*
 * dk_create: make a reactor.  backend: DK_BACKEND_*; entries: ring size hint
 * (rounded up to a power of two, 1..32768, 0 = 256; io_uring uses at least 4,
 * the most one record needs at once).  sq/cq: TS-owned buffers of
 * sq_cap submission and cq_cap completion records; sq_addrs/cq_addrs: their
 * address regions, sq_cap and cq_cap dk_addr records.  All four 8-byte
 * aligned, and valid until dk_destroy returns.  Returns a handle >= 0 or
 * -errno (-EINVAL for bad arguments, -ENOSYS/-EPERM when the asked backend is
 * unavailable).
 */
DK_API int32_t dk_create(int32_t backend, uint32_t entries, void *sq, uint32_t sq_cap,
                         void *cq, uint32_t cq_cap, void *sq_addrs, void *cq_addrs);

/* dk_backend: the backend a handle uses (DK_BACKEND_*), or -EBADF. */
DK_API int32_t dk_backend(int32_t handle);

/* Bounds of dk_file_workers' n, and the pool size a reactor starts with. */
#define DK_FILE_WORKERS_MAX 64
#define DK_FILE_WORKERS_DEFAULT 4

/*
 * dk_file_workers: the most threads the file pool of an epoll/kqueue reactor may run
 * (1..DK_FILE_WORKERS_MAX; DK_FILE_WORKERS_DEFAULT until set).  The pool runs OPEN, READ/WRITE on
 * regular files and the whole-file ops; a thread starts when a job is queued and none is idle,
 * until n run.  Jobs on one fd still run one at a time, in submission order; ops on different
 * files run in parallel.  Call it on the reactor's own thread, with no dk_wait in flight.  io_uring
 * does file I/O in the kernel (inline, or on its own io-wq workers): it accepts n and ignores it.
 * Returns 0; -EINVAL for n out of range; -EBUSY when n is below the threads already started;
 * -EBADF for a bad handle.
 */
DK_API int32_t dk_file_workers(int32_t handle, int32_t n);

/*
 * dk_submit: start the first n records of the submission buffer.  Returns n
 * (each record will complete, invalid ones with a negative errno) or -errno
 * for a bad handle or n > sq_cap, or -ENOMEM (no record accepted) when the
 * completions owed (ops in flight plus completions not yet delivered) would
 * pass 2^23 or memory for them is short: room for every completion is
 * reserved here, so none is ever lost or aborts the process later.
 */
DK_API int32_t dk_submit(int32_t handle, uint32_t n);

/*
 * dk_wait: move up to cq_cap completions into the completion buffer, waiting
 * up to timeout_ms (0 = poll, -1 = forever, below -1: -EINVAL) for at least one.  A dk_wake()
 * ends the wait early (also one made since the last wait: wakes are not
 * lost).  Completions that do not fit stay queued, in order, for the next
 * call.  Returns the number of completions written (0 on timeout or wake)
 * or -errno.
 */
DK_API int32_t dk_wait(int32_t handle, int32_t timeout_ms);

/* dk_enter: dk_submit(n) then dk_wait(timeout_ms), in one call. */
DK_API int32_t dk_enter(int32_t handle, uint32_t n, int32_t timeout_ms);

/* dk_wake: interrupt a blocked dk_wait from any thread.  Returns 0 or -EBADF. */
DK_API int32_t dk_wake(int32_t handle);

/* dk_pending: records accepted by dk_submit whose completion has not yet been
 * written to the completion buffer, or -EBADF. */
DK_API int32_t dk_pending(int32_t handle);

/*
 * dk_destroy: cancel every pending op, close the reactor's own fds and free
 * the handle.  Completions not yet delivered are dropped, and the fds they
 * carry (LISTEN, ACCEPT, CONNECT, OPEN, UDP_BIND results) are closed; a CLOSE
 * still queued runs.  TS must treat every buffer it handed over as released
 * only when this returns: io_uring waits until the kernel has finished or
 * cancelled every op, epoll/kqueue until the file worker has finished its job.
 * Both waits are bounded (10 s) for a syscall that never returns (a hung
 * device or file system): past it, the op's memory is left allocated rather
 * than freed under the kernel or the worker, and the TS buffers it names must
 * then never be freed (see ffi/reactor.ts).  Returns 0 or -EBADF.
 */
DK_API int32_t dk_destroy(int32_t handle);

/* Synchronous socket helpers: 0 / value on success, -errno on failure. */
DK_API int32_t dk_local_addr(int32_t fd, struct dk_addr *out);
DK_API int32_t dk_peer_addr(int32_t fd, struct dk_addr *out);
#define DK_SOCKOPT_NODELAY 1
#define DK_SOCKOPT_KEEPALIVE 2
#define DK_SOCKOPT_RCVBUF 3
#define DK_SOCKOPT_SNDBUF 4
#define DK_SOCKOPT_BROADCAST 5
#define DK_SOCKOPT_REUSEADDR 6
#define DK_SOCKOPT_REUSEPORT 7 /* -EOPNOTSUPP where the host has no SO_REUSEPORT */
#define DK_SOCKOPT_LINGER 8    /* seconds, or -1 for off (the default) */
#define DK_SOCKOPT_ERROR 9     /* dk_getsockopt only: the pending error (SO_ERROR) */
DK_API int32_t dk_setsockopt(int32_t fd, int32_t option, int32_t value);
/* dk_close: close(2) now, outside any reactor's op path.  The reactor's own fds
 * are refused (-EBADF).  Every live reactor is told before the close: its ops
 * on fd fail with -ECANCELED at its next call (io_uring: cancelled, so the
 * file is released and a peer sees the close). */
DK_API int32_t dk_close(int32_t fd);

/*
 * Socket helpers beyond the records (net.c), synchronous, acting on an fd
 * outside any reactor; results are >= 0 or -errno, and a bad fd, NULL buffer
 * or out-of-range length is refused, never dereferenced.  Sockets made here
 * are nonblocking and close-on-exec; close them with dk_close.  The reactor's
 * records (ACCEPT, RECV, SEND, SHUTDOWN, POLL, CLOSE) work on them as on any
 * socket.
 *
 * A Unix address is path[0..len): a file system path (no NUL inside, shorter
 * than dk_unix_path_max(); -ENAMETOOLONG otherwise), or on Linux an abstract
 * name, whose first byte is NUL (at most dk_unix_path_max() bytes;
 * -EOPNOTSUPP elsewhere).
 *
 * The try-ops never block: "not ready" is -EAGAIN, and the caller then waits
 * for readiness with a DK_OP_POLL record.  dk_resolve blocks in getaddrinfo:
 * call it only off the scheduler thread (TS binds it as a nonblocking FFI
 * symbol, run on a Deno blocking-call thread); it is thread-safe.
 */
#define DK_FAMILY_UNIX 1
#define DK_FAMILY_INET 4
#define DK_FAMILY_INET6 6
#define DK_SOCK_STREAM 1
#define DK_SOCK_DGRAM 2
#define DK_MSG_PEEK 1
/* dk_resolve's failures beyond errno (as -DK_EAI_*); far above every errno. */
#define DK_EAI_NONAME 0x10001 /* no such host (EAI_NONAME / EAI_NODATA) */
#define DK_EAI_AGAIN 0x10002  /* temporary failure of the resolver */
#define DK_EAI_FAIL 0x10003   /* permanent failure of the resolver */

/* dk_socket: a new socket (DK_FAMILY_*, DK_SOCK_*); fd or -errno. */
DK_API int32_t dk_socket(int32_t family, int32_t type);
/* dk_bind / dk_connect: bind or start connecting fd to the IP address *a.  dk_connect: 0 when
 * connected, -EINPROGRESS (wait for DK_POLL_OUT, then read DK_SOCKOPT_ERROR), or -errno. */
DK_API int32_t dk_bind(int32_t fd, const struct dk_addr *a);
DK_API int32_t dk_connect(int32_t fd, const struct dk_addr *a);
/* dk_listen: listen(2); backlog <= 0 means 1024. */
DK_API int32_t dk_listen(int32_t fd, int32_t backlog);
/* dk_getsockopt: out[0] = the value of a DK_SOCKOPT_* (booleans 0/1, LINGER seconds or -1). */
DK_API int32_t dk_getsockopt(int32_t fd, int32_t option, int32_t *out);
/* dk_unix_path_max: sizeof sun_path (108 Linux, 104 macOS). */
DK_API int32_t dk_unix_path_max(void);
/* dk_unix_bind / dk_unix_connect: bind or connect an AF_UNIX socket to a Unix address.
 * dk_unix_connect: 0 connected, -EAGAIN (the listener's backlog is full: retry), or -errno. */
DK_API int32_t dk_unix_bind(int32_t fd, const uint8_t *path, uint32_t len);
DK_API int32_t dk_unix_connect(int32_t fd, const uint8_t *path, uint32_t len);
/* dk_unix_name: fd's own (peer = 0) or peer's Unix address into out[0..cap); its length
 * (0: unnamed), or -errno (-ENOSPC when it does not fit). */
DK_API int32_t dk_unix_name(int32_t fd, int32_t peer, uint8_t *out, uint32_t cap);
/* dk_peer_cred: out[0..3) = pid (-1 if the host does not say), uid, gid of the peer of a
 * connected Unix socket (SO_PEERCRED; getpeereid + LOCAL_PEERPID on macOS). */
DK_API int32_t dk_peer_cred(int32_t fd, int32_t *out);
/* dk_try_recv: one recv into buf[0..len), flags DK_MSG_PEEK or 0; bytes (0 = end), -EAGAIN. */
DK_API int32_t dk_try_recv(int32_t fd, uint8_t *buf, uint32_t len, int32_t flags);
/* dk_try_send: one send of buf[0..len), never SIGPIPE; bytes taken, -EAGAIN. */
DK_API int32_t dk_try_send(int32_t fd, const uint8_t *buf, uint32_t len);
/* dk_try_sendv: one gathering send; iov = n (address, length) uint64 pairs, n <= 1024, total
 * <= DK_MAX_LEN; bytes taken, -EAGAIN. */
DK_API int32_t dk_try_sendv(int32_t fd, const uint64_t *iov, uint32_t n);
/* dk_try_unix_sendto: one datagram to a Unix address (plen 0: the connected peer). */
DK_API int32_t dk_try_unix_sendto(int32_t fd, const uint8_t *buf, uint32_t len,
                                  const uint8_t *path, uint32_t plen);
/* dk_try_unix_recvfrom: one datagram into buf (truncated to len); the sender's Unix address
 * into from[0..cap), its length into *from_len. */
DK_API int32_t dk_try_unix_recvfrom(int32_t fd, uint8_t *buf, uint32_t len, uint8_t *from,
                                    uint32_t cap, uint32_t *from_len);
/* dk_resolve: host[0..host_len) (<= 253 bytes, no NUL) through getaddrinfo (/etc/hosts and
 * the system resolver) into out[0..cap) with the given port, duplicates dropped; the count
 * (>= 1), -DK_EAI_*, or -errno.  Blocks. */
DK_API int32_t dk_resolve(const uint8_t *host, uint32_t host_len, uint32_t port,
                          struct dk_addr *out, uint32_t cap);

/* dk_errno_name: "ECONNRESET" etc. for a positive errno; "E?" if unknown. */
DK_API const char *dk_errno_name(int32_t err);

/*
 * dk_clock_ms: a monotonic clock in milliseconds (CLOCK_MONOTONIC; macOS
 * CLOCK_UPTIME_RAW), with sub-millisecond fraction.  Never decreases; the
 * origin is unspecified (compare readings, do not interpret one).  Thread-safe.
 */
DK_API double dk_clock_ms(void);

/*
 * dk_layout: fill out[0..n) with the layout facts ffi/layout.ts relies on:
 * [abi, sizeof sqe, sizeof cqe, sizeof dk_addr, offsetof sqe.token, .op,
 *  .flags, .fd, .len, .addr, .arg, offsetof cqe.token, .result, .flags, .op].
 * Returns how many it wrote (at most 15), or -EFAULT if out is NULL and n > 0.
 */
DK_API int32_t dk_layout(uint32_t *out, uint32_t n);

/*
 * File helpers (fs.c), synchronous, acting on an fd outside any reactor.
 * Numbers are doubles (below 2^53); results are >= 0 or -errno.
 *
 * dk_fstat fills out[0..DK_STAT__COUNT) with the DK_STAT_* fields (times in
 * milliseconds since the epoch, with a fraction; BIRTHTIME is NaN where the
 * file system does not record it).  dk_lseek moves the file position
 * (whence DK_SEEK_*) and returns the new one.  dk_ftruncate sets the length.
 * dk_fsync flushes the file to disk (data_only != 0: fdatasync where the host
 * has it); it and dk_ftruncate may block on the disk.
 */
#define DK_STAT_SIZE 0
#define DK_STAT_MODE 1
#define DK_STAT_NLINK 2
#define DK_STAT_UID 3
#define DK_STAT_GID 4
#define DK_STAT_INO 5
#define DK_STAT_DEV 6
#define DK_STAT_RDEV 7
#define DK_STAT_BLKSIZE 8
#define DK_STAT_BLOCKS 9
#define DK_STAT_ATIME 10
#define DK_STAT_MTIME 11
#define DK_STAT_CTIME 12
#define DK_STAT_BIRTHTIME 13
#define DK_STAT__COUNT 14
#define DK_SEEK_SET 0
#define DK_SEEK_CUR 1
#define DK_SEEK_END 2
DK_API int32_t dk_fstat(int32_t fd, double *out);
DK_API double dk_lseek(int32_t fd, double offset, int32_t whence);
DK_API int32_t dk_ftruncate(int32_t fd, double len);
DK_API int32_t dk_fsync(int32_t fd, int32_t data_only);

#ifdef __cplusplus
}
#endif
#endif
