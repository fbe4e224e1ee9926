/*
 * fs.c — synchronous file helpers for fs/ (not reactor ops): fstat, lseek,
 * ftruncate, fsync; and the steps of the whole-file ops (READ_FILE, WRITE_FILE)
 * that every backend shares.  They act on an fd directly, outside any reactor, like
 * the socket helpers in common.c.  Numbers travel as doubles so the FFI
 * calls stay fast calls without BigInt (file sizes and offsets are below
 * 2^53; times are milliseconds with a fraction).
 *
 * dk_fsync and dk_ftruncate may block on the disk: TS binds them a second
 * time as `nonblocking` symbols and runs them on Deno's blocking pool.
 */
#include "reactor.h"

#include <errno.h>
#include <math.h> /* NAN */
#include <stdatomic.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/openat2.h> /* struct open_how, RESOLVE_CACHED */
#include <sys/syscall.h>
#include <sys/uio.h> /* preadv2, RWF_NOWAIT */
#endif

/* Reads that never block the calling thread: preadv2(RWF_NOWAIT) gives what the page cache
 * holds or EAGAIN, and openat2(RESOLVE_CACHED) opens only through cached path lookups (Linux
 * 5.12; on older kernels it fails and the caller takes the worker path). */
#if defined(__linux__) && defined(RWF_NOWAIT) && defined(SYS_openat2) && defined(RESOLVE_CACHED)
#define DK_NOWAIT_FILES 1
#else
#define DK_NOWAIT_FILES 0
#endif

static double ts_ms(int64_t sec, int64_t nsec) { return (double)sec * 1e3 + (double)nsec / 1e6; }

/* Contract: see dokio.h (DK_STAT_*). */
int32_t dk_fstat(int32_t fd, double *out) {
  if (fd < 0) return -EBADF;
  if (!out) return -EFAULT;
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  out[DK_STAT_SIZE] = (double)st.st_size;
  out[DK_STAT_MODE] = (double)st.st_mode;
  out[DK_STAT_NLINK] = (double)st.st_nlink;
  out[DK_STAT_UID] = (double)st.st_uid;
  out[DK_STAT_GID] = (double)st.st_gid;
  out[DK_STAT_INO] = (double)st.st_ino;
  out[DK_STAT_DEV] = (double)st.st_dev;
  out[DK_STAT_RDEV] = (double)st.st_rdev;
  out[DK_STAT_BLKSIZE] = (double)st.st_blksize;
  out[DK_STAT_BLOCKS] = (double)st.st_blocks;
#if defined(__APPLE__)
  out[DK_STAT_ATIME] = ts_ms(st.st_atimespec.tv_sec, st.st_atimespec.tv_nsec);
  out[DK_STAT_MTIME] = ts_ms(st.st_mtimespec.tv_sec, st.st_mtimespec.tv_nsec);
  out[DK_STAT_CTIME] = ts_ms(st.st_ctimespec.tv_sec, st.st_ctimespec.tv_nsec);
  out[DK_STAT_BIRTHTIME] = ts_ms(st.st_birthtimespec.tv_sec, st.st_birthtimespec.tv_nsec);
#else
  out[DK_STAT_ATIME] = ts_ms(st.st_atim.tv_sec, st.st_atim.tv_nsec);
  out[DK_STAT_MTIME] = ts_ms(st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  out[DK_STAT_CTIME] = ts_ms(st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  out[DK_STAT_BIRTHTIME] = NAN;
#if defined(__linux__) && defined(STATX_BTIME)
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME))
    out[DK_STAT_BIRTHTIME] = ts_ms(sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec);
#endif
#endif
  return 0;
}

/* Is d a whole number in [lo, 2^53]? */
static int whole(double d, double lo) {
  return d >= lo && d <= 9007199254740992.0 && d == (double)(int64_t)d;
}

/* Contract: see dokio.h. */
double dk_lseek(int32_t fd, double offset, int32_t whence) {
  if (fd < 0) return -EBADF;
  if (!whole(offset < 0 ? -offset : offset, 0)) return -EINVAL;
  int w = whence == DK_SEEK_SET ? SEEK_SET : whence == DK_SEEK_CUR ? SEEK_CUR
        : whence == DK_SEEK_END ? SEEK_END : -1;
  if (w < 0) return -EINVAL;
  off_t r = lseek(fd, (off_t)offset, w);
  return r < 0 ? -(double)errno : (double)r;
}

/* Contract: see dokio.h. */
int32_t dk_ftruncate(int32_t fd, double len) {
  if (fd < 0) return -EBADF;
  if (!whole(len, 0)) return -EINVAL;
  for (;;) {
    if (ftruncate(fd, (off_t)len) == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

/* Contract: see dokio.h. */
int32_t dk_fsync(int32_t fd, int32_t data_only) {
  if (fd < 0) return -EBADF;
  for (;;) {
#if defined(__APPLE__)
    (void)data_only;
    int rc = fsync(fd);
#else
    int rc = data_only ? fdatasync(fd) : fsync(fd);
#endif
    if (rc == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

/* ------------------------------------------------------ whole-file ops */

/* Contract: see reactor.h.  A READ_FILE reads here when the file is regular and its size is
 * below the buffer (one byte to spare shows its end); a WRITE_FILE writes to regular files. */
int32_t file_op_fits(const dk_slot *s, int fd, uint64_t *size) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  if (!S_ISREG(st.st_mode)) return 0;
  if (size) *size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
  if (s->op == DK_OP_READ_FILE) return st.st_size >= 0 && (uint64_t)st.st_size < s->len;
  return 1;
}

/* Contract: see reactor.h. */
int file_op_open_flags(const dk_slot *s) {
  return open_flags(s->op == DK_OP_READ_FILE ? DK_O_RDONLY : s->flags);
}

/* Close the claimed file and end the claim together (see dk_file_claim): once the reactor thread
 * can take claim->mu again, the number is closed and no longer claimed, so a record naming it is
 * vetted like any closed number.  0, or -errno of a failed close (EINTR counts as closed). */
static int32_t close_claimed(dk_file_claim *claim, int fd) {
  pthread_mutex_lock(&claim->mu);
  int32_t v = close(fd) < 0 && errno != EINTR ? -errno : 0;
  claim->fd = -1;
  pthread_mutex_unlock(&claim->mu);
  return v;
}

/* On a result already decided: the number is released whatever close says. */
static int32_t close_keep(dk_file_claim *claim, int fd, int32_t res) {
  (void)close_claimed(claim, fd);
  return res;
}

/* Contract: see reactor.h. */
int32_t file_op_run(uint8_t op, uint16_t flags, int32_t mode, uint64_t path, uint64_t buf,
                    uint32_t len, uint32_t *cflags, dk_file_claim *claim) {
  dk_slot s;
  s.op = op;
  s.flags = flags;
  s.len = len;
  *cflags = 0;
  int fd;
  /* The open and the claim are one step under claim->mu: the reactor thread vets a record's fd
   * under the same lock (ready.c ready_vet_fd), so it sees the number either not yet open (its
   * fcntl fails) or open and claimed, never open and unclaimed.  The open uses O_NONBLOCK (a FIFO
   * never blocks it), so the reactor waits at most one regular open(2) here. */
  pthread_mutex_lock(&claim->mu);
  do {
    fd = open((const char *)(uintptr_t)path, file_op_open_flags(&s), (mode_t)mode);
  } while (fd < 0 && errno == EINTR);
  int err = errno;
  claim->fd = fd < 0 ? -1 : fd;
  pthread_mutex_unlock(&claim->mu);
  if (fd < 0) return -err;
  uint64_t size = 0;
  int32_t v = file_op_fits(&s, fd, &size);
  if (v <= 0) {
    if (v == 0) *cflags = DK_CQE_F_MORE;
    return close_keep(claim, fd, v);
  }
  uint8_t *b = (uint8_t *)(uintptr_t)buf;
  uint32_t done = 0;
  if (op == DK_OP_READ_FILE) {
    while (done < len) {
      ssize_t n = pread(fd, b + done, len - done, (off_t)done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return close_keep(claim, fd, -errno);
      if (n == 0) break;
      done += (uint32_t)n;
      /* Short at or past the size fstat gave: the end (a regular file reads short only there),
       * so no second pread to see 0. */
      if (done < len && done >= size) break;
    }
    if (done == len) { /* it grew to fill the buffer: more may follow */
      *cflags = DK_CQE_F_MORE;
      return close_keep(claim, fd, 0);
    }
  } else {
    int append = (flags & DK_O_APPEND) != 0;
    while (done < len) {
      ssize_t n = append ? write(fd, b + done, len - done)
                         : pwrite(fd, b + done, len - done, (off_t)done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return close_keep(claim, fd, -errno);
      if (n == 0) break;
      done += (uint32_t)n;
    }
  }
  int32_t c = close_claimed(claim, fd);
  return c < 0 ? c : (int32_t)done;
}

/* --------------------------------------------- page-cache reads on the reactor thread */

/* One preadv2(RWF_NOWAIT) at off (UINT64_MAX: the file position): bytes, or -errno. */
static ssize_t pread_nowait(int fd, void *buf, uint32_t len, uint64_t off) {
#if DK_NOWAIT_FILES
  struct iovec iov = {buf, len};
  for (;;) {
    ssize_t n = preadv2(fd, &iov, 1, off == UINT64_MAX ? (off_t)-1 : (off_t)off, RWF_NOWAIT);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
#else
  (void)fd;
  (void)buf;
  (void)len;
  (void)off;
  return -EAGAIN;
#endif
}

/* Contract: see reactor.h.  A read short of len is not taken as the answer: a no-wait read stops
 * short where the cache does (a page not read in, a hole), which read(2) would not, so it goes on
 * until len, the end (0) or a miss; on a miss the worker does the whole read from where it began
 * (a cursor read moves the position back first). */
int file_read_nowait(int fd, void *buf, uint32_t len, uint64_t off, int32_t *res) {
  uint8_t *b = buf;
  uint32_t done = 0;
  while (done < len) {
    ssize_t n = pread_nowait(fd, b + done, len - done, off == UINT64_MAX ? off : off + done);
    if (n == 0) break;
    if (n < 0) {
      if (done == 0) return 0;
      if (off != UINT64_MAX || lseek(fd, -(off_t)done, SEEK_CUR) >= 0) return 0;
      break; /* the position cannot go back: what was read is the answer (a short read) */
    }
    done += (uint32_t)n;
  }
  *res = (int32_t)done;
  return 1;
}

/* Contract: see reactor.h. */
int file_op_nowait(uint8_t op, uint64_t path, uint64_t buf, uint32_t len, int32_t *res,
                   uint32_t *cflags) {
#if DK_NOWAIT_FILES
  /* openat2 or RESOLVE_CACHED refused once: this kernel lacks them.  Shared by every reactor's
   * thread.  Relaxed: it guards no other data; a thread that has not seen another's store yet
   * tries openat2 once more, is refused the same way and takes the worker path. */
  static _Atomic int unsupported;
  if (op != DK_OP_READ_FILE || atomic_load_explicit(&unsupported, memory_order_relaxed)) return 0;
  struct open_how how = {0};
  how.flags = (uint64_t)open_flags(DK_O_RDONLY);
  how.resolve = RESOLVE_CACHED;
  int fd;
  do {
    fd = (int)syscall(SYS_openat2, AT_FDCWD, (const char *)(uintptr_t)path, &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOSYS || errno == EINVAL || errno == E2BIG)
      atomic_store_explicit(&unsupported, 1, memory_order_relaxed);
    return 0; /* not all cached (EAGAIN), or an error the worker's open(2) reports */
  }
  dk_slot s;
  s.op = op;
  s.len = len;
  uint64_t size = 0;
  int32_t v = file_op_fits(&s, fd, &size);
  *cflags = 0;
  if (v <= 0) {
    if (v == 0) *cflags = DK_CQE_F_MORE;
    close(fd);
    *res = v;
    return 1;
  }
  uint8_t *b = (uint8_t *)(uintptr_t)buf;
  uint32_t done = 0;
  while (done < len) {
    ssize_t n = pread_nowait(fd, b + done, len - done, done);
    if (n < 0) {
      close(fd);
      return 0; /* a page not cached: the worker does it all again, blocking */
    }
    if (n == 0) break;
    done += (uint32_t)n;
    if (done < len && done >= size) break; /* short at the size: the end */
  }
  close(fd);
  if (done == len) { /* it grew to fill the buffer: more may follow */
    *cflags = DK_CQE_F_MORE;
    done = 0;
  }
  *res = (int32_t)done;
  return 1;
#else
  (void)op;
  (void)path;
  (void)buf;
  (void)len;
  (void)res;
  (void)cflags;
  return 0;
#endif
}
