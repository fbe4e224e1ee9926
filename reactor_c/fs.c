/*
 * fs.c — synchronous file helpers for fs/ (not reactor ops): fstat, lseek,
 * ftruncate, fsync.  They act on an fd directly, outside any reactor, like
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
#include <unistd.h>

#if defined(__linux__)
#include <fcntl.h>
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
