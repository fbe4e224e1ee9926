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
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

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
