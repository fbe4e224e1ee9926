/*
 * net.c — socket helpers that act on an fd directly, outside any reactor
 * (see the "Socket helpers" part of dokio.h): Unix-domain sockets and peer
 * credentials, a socket builder (socket/bind/listen/connect and options read
 * back), nonblocking try-ops (recv with MSG_PEEK, send, vectored send, Unix
 * datagrams by path) and name resolution.
 *
 * Invariants:
 *  - Every function validates its arguments and returns -errno (never
 *    crashes) for a bad fd, a NULL buffer or a length out of range.
 *  - Sockets made here are nonblocking and close-on-exec, and never raise
 *    SIGPIPE (MSG_NOSIGNAL; SO_NOSIGPIPE on macOS); TS closes them with
 *    dk_close so every reactor hears of it.
 *  - The try-ops never block: "would block" is -EAGAIN, and TS then waits
 *    for readiness with a DK_OP_POLL record.
 *  - dk_resolve blocks (getaddrinfo): TS binds it only as a nonblocking FFI
 *    symbol, so it runs on one of Deno's blocking-call threads, never on the
 *    scheduler's.  It keeps no state and is thread-safe.
 */
#include "reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/ucred.h>
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* Most buffers one dk_try_sendv takes (POSIX guarantees IOV_MAX >= 16; Linux and macOS: 1024). */
#define DK_IOV_MAX 1024
/* Longest host name dk_resolve takes (RFC 1035: 253 characters). */
#define DK_HOST_MAX 253

/* ------------------------------------------------------------ Unix paths */

/* Fill *out from path[0..len): a file system path (no NUL inside; one is
 * appended) or, with path[0] == 0 on Linux, an abstract name.  *salen gets
 * the length to pass to bind/connect.  0 or -errno. */
static int32_t unix_sockaddr(const uint8_t *path, uint32_t len, struct sockaddr_un *out,
                             socklen_t *salen) {
  if (path == NULL) return -EFAULT;
  if (len == 0) return -EINVAL;
  memset(out, 0, sizeof *out);
  out->sun_family = AF_UNIX;
  size_t cap = sizeof out->sun_path;
  if (path[0] == 0) {
#if defined(__linux__)
    if (len > cap) return -ENAMETOOLONG;
    memcpy(out->sun_path, path, len);
    *salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    return 0;
#else
    return -EOPNOTSUPP;
#endif
  }
  if (len >= cap) return -ENAMETOOLONG; /* room for the NUL */
  if (memchr(path, 0, len) != NULL) return -EINVAL;
  memcpy(out->sun_path, path, len);
  *salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  return 0;
}

/* Contract: sizeof sun_path (108 on Linux, 104 on macOS): a path must be shorter, an abstract
 * name (leading NUL) at most this long. */
int32_t dk_unix_path_max(void) {
  struct sockaddr_un s;
  return (int32_t)sizeof s.sun_path;
}

/* Contract: bind fd (an AF_UNIX socket) to path[0..len); 0 or -errno (-ENAMETOOLONG over the
 * limit, -EINVAL for an empty path or a NUL inside, -EOPNOTSUPP for an abstract name off Linux). */
int32_t dk_unix_bind(int32_t fd, const uint8_t *path, uint32_t len) {
  if (fd < 0) return -EBADF;
  struct sockaddr_un sa;
  socklen_t salen;
  int32_t v = unix_sockaddr(path, len, &sa, &salen);
  if (v < 0) return v;
  return bind(fd, (struct sockaddr *)&sa, salen) < 0 ? -errno : 0;
}

/* Contract: connect fd (an AF_UNIX socket) to path[0..len); 0 when connected, -EINPROGRESS or
 * -EAGAIN (the listener's backlog is full: try again later) or another -errno. */
int32_t dk_unix_connect(int32_t fd, const uint8_t *path, uint32_t len) {
  if (fd < 0) return -EBADF;
  struct sockaddr_un sa;
  socklen_t salen;
  int32_t v = unix_sockaddr(path, len, &sa, &salen);
  if (v < 0) return v;
  return connect(fd, (struct sockaddr *)&sa, salen) < 0 ? -errno : 0;
}

/* Contract: the Unix address of fd (its own, or its peer's when peer != 0) into out[0..cap):
 * returns its length in bytes (0 for an unnamed socket; an abstract name starts with a NUL
 * byte; a path has no trailing NUL), or -errno (-ENOSPC when cap is too small). */
int32_t dk_unix_name(int32_t fd, int32_t peer, uint8_t *out, uint32_t cap) {
  if (fd < 0) return -EBADF;
  if (out == NULL && cap > 0) return -EFAULT;
  struct sockaddr_un sa;
  socklen_t salen = sizeof sa;
  memset(&sa, 0, sizeof sa);
  int rc = peer ? getpeername(fd, (struct sockaddr *)&sa, &salen)
                : getsockname(fd, (struct sockaddr *)&sa, &salen);
  if (rc < 0) return -errno;
  if (sa.sun_family != AF_UNIX) return -EAFNOSUPPORT;
  size_t off = offsetof(struct sockaddr_un, sun_path);
  size_t n = salen > off ? salen - off : 0;
  if (n > sizeof sa.sun_path) n = sizeof sa.sun_path;
  if (n > 0 && sa.sun_path[0] != 0) n = strnlen(sa.sun_path, n); /* a path: up to its NUL */
  if (n > cap) return -ENOSPC;
  if (n > 0) memcpy(out, sa.sun_path, n);
  return (int32_t)n;
}

/* Contract: the credentials of the process at the other end of a connected Unix socket:
 * out[0] = pid (-1 where the host does not report it), out[1] = uid, out[2] = gid.
 * 0 or -errno (-ENOTCONN, -EOPNOTSUPP where the host has no way to ask). */
int32_t dk_peer_cred(int32_t fd, int32_t *out) {
  if (fd < 0) return -EBADF;
  if (out == NULL) return -EFAULT;
#if defined(__linux__)
  struct ucred uc;
  socklen_t len = sizeof uc;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) return -errno;
  if (uc.pid == 0 && uc.uid == (uid_t)-1) return -ENOTCONN; /* no peer: Linux says pid 0, uid -1 */
  out[0] = (int32_t)uc.pid;
  out[1] = (int32_t)uc.uid;
  out[2] = (int32_t)uc.gid;
  return 0;
#elif defined(__APPLE__) || defined(__FreeBSD__)
  uid_t uid;
  gid_t gid;
  if (getpeereid(fd, &uid, &gid) < 0) return -errno;
  out[0] = -1;
#if defined(LOCAL_PEERPID)
  pid_t pid;
  socklen_t plen = sizeof pid;
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &plen) == 0) out[0] = (int32_t)pid;
#endif
  out[1] = (int32_t)uid;
  out[2] = (int32_t)gid;
  return 0;
#else
  return -EOPNOTSUPP;
#endif
}

/* ------------------------------------------------------------ builder */

/* Contract: a new nonblocking, close-on-exec socket.  family: DK_FAMILY_*; type: DK_SOCK_*.
 * Returns the fd or -errno (-EINVAL for an unknown family or type). */
int32_t dk_socket(int32_t family, int32_t type) {
  int fam = family == DK_FAMILY_INET   ? AF_INET
            : family == DK_FAMILY_INET6 ? AF_INET6
            : family == DK_FAMILY_UNIX  ? AF_UNIX
                                        : -1;
  int ty = type == DK_SOCK_STREAM ? SOCK_STREAM : type == DK_SOCK_DGRAM ? SOCK_DGRAM : -1;
  if (fam < 0 || ty < 0) return -EINVAL;
  int32_t fd = new_socket(fam, ty);
  if (fd < 0) return fd;
#ifdef SO_NOSIGPIPE
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return fd;
}

/* Contract: bind fd to the IP address *a; 0 or -errno. */
int32_t dk_bind(int32_t fd, const struct dk_addr *a) {
  if (fd < 0) return -EBADF;
  if (a == NULL) return -EFAULT;
  dk_sockaddr sa;
  socklen_t len;
  int32_t v = addr_to_sockaddr(a, &sa, &len);
  if (v < 0) return v;
  return bind(fd, &sa.sa, len) < 0 ? -errno : 0;
}

/* Contract: start connecting fd to the IP address *a: 0 when connected, -EINPROGRESS (wait for
 * writability, then read DK_SOCKOPT_ERROR), or -errno. */
int32_t dk_connect(int32_t fd, const struct dk_addr *a) {
  if (fd < 0) return -EBADF;
  if (a == NULL) return -EFAULT;
  dk_sockaddr sa;
  socklen_t len;
  int32_t v = addr_to_sockaddr(a, &sa, &len);
  if (v < 0) return v;
  return connect(fd, &sa.sa, len) < 0 ? -errno : 0;
}

/* Contract: listen(2) on fd; backlog <= 0 means 1024.  0 or -errno. */
int32_t dk_listen(int32_t fd, int32_t backlog) {
  if (fd < 0) return -EBADF;
  return listen(fd, backlog <= 0 ? 1024 : backlog) < 0 ? -errno : 0;
}

/* ------------------------------------------------------------ options */

/* How a DK_SOCKOPT_* value travels: a boolean (set: nonzero is on; get: 0/1), a plain int
 * (buffer sizes in bytes), SO_LINGER as seconds or -1, or read-only (SO_ERROR). */
enum { SO_KIND_BOOL = 1, SO_KIND_INT, SO_KIND_LINGER, SO_KIND_READ_ONLY };

typedef struct sockopt_map {
  int32_t option; /* DK_SOCKOPT_* */
  int level;
  int name;
  int kind; /* SO_KIND_* */
} sockopt_map;

/* The one mapping of DK_SOCKOPT_* to the host's options, for dk_setsockopt and dk_getsockopt. */
static const sockopt_map SOCKOPTS[] = {
    {DK_SOCKOPT_NODELAY, IPPROTO_TCP, TCP_NODELAY, SO_KIND_BOOL},
    {DK_SOCKOPT_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE, SO_KIND_BOOL},
    {DK_SOCKOPT_RCVBUF, SOL_SOCKET, SO_RCVBUF, SO_KIND_INT},
    {DK_SOCKOPT_SNDBUF, SOL_SOCKET, SO_SNDBUF, SO_KIND_INT},
    {DK_SOCKOPT_BROADCAST, SOL_SOCKET, SO_BROADCAST, SO_KIND_BOOL},
    {DK_SOCKOPT_REUSEADDR, SOL_SOCKET, SO_REUSEADDR, SO_KIND_BOOL},
#ifdef SO_REUSEPORT
    {DK_SOCKOPT_REUSEPORT, SOL_SOCKET, SO_REUSEPORT, SO_KIND_BOOL},
#endif
    {DK_SOCKOPT_LINGER, SOL_SOCKET, SO_LINGER, SO_KIND_LINGER},
    {DK_SOCKOPT_ERROR, SOL_SOCKET, SO_ERROR, SO_KIND_READ_ONLY},
};

/* The entry of option, or NULL with *err set: -EOPNOTSUPP for an option the host lacks
 * (SO_REUSEPORT), -EINVAL for one that does not exist. */
static const sockopt_map *sockopt_find(int32_t option, int32_t *err) {
  for (size_t k = 0; k < sizeof SOCKOPTS / sizeof SOCKOPTS[0]; k++) {
    if (SOCKOPTS[k].option == option) return &SOCKOPTS[k];
  }
  *err = option == DK_SOCKOPT_REUSEPORT ? -EOPNOTSUPP : -EINVAL;
  return NULL;
}

/* Contract: set one DK_SOCKOPT_* to value on fd (booleans: nonzero is on; buffer sizes in bytes;
 * DK_SOCKOPT_LINGER: seconds, or -1 for off).  0 or -errno (-EINVAL for an unknown or read-only
 * option, -EOPNOTSUPP for one the host lacks). */
int32_t dk_setsockopt(int32_t fd, int32_t option, int32_t value) {
  if (fd < 0) return -EBADF;
  int32_t err = 0;
  const sockopt_map *m = sockopt_find(option, &err);
  if (m == NULL) return err;
  switch (m->kind) {
  case SO_KIND_LINGER: {
    if (value < -1) return -EINVAL;
    struct linger l;
    l.l_onoff = value >= 0;
    l.l_linger = value >= 0 ? value : 0;
    return setsockopt(fd, m->level, m->name, &l, sizeof l) < 0 ? -errno : 0;
  }
  case SO_KIND_READ_ONLY: return -EINVAL;
  default: {
    int v = m->kind == SO_KIND_BOOL ? value != 0 : value;
    return setsockopt(fd, m->level, m->name, &v, sizeof v) < 0 ? -errno : 0;
  }
  }
}

/* Contract: out[0] = the value of one DK_SOCKOPT_* on fd (booleans 0/1; buffer sizes in bytes
 * as the kernel reports them; DK_SOCKOPT_LINGER: seconds, or -1 when off; DK_SOCKOPT_ERROR:
 * the pending error as a positive errno, cleared by the read).  0 or -errno (-EINVAL for an
 * unknown option, -EOPNOTSUPP for one the host lacks, -EFAULT for a NULL out). */
int32_t dk_getsockopt(int32_t fd, int32_t option, int32_t *out) {
  if (fd < 0) return -EBADF;
  if (out == NULL) return -EFAULT;
  int32_t err = 0;
  const sockopt_map *m = sockopt_find(option, &err);
  if (m == NULL) return err;
  if (m->kind == SO_KIND_LINGER) {
    struct linger l;
    socklen_t len = sizeof l;
    if (getsockopt(fd, m->level, m->name, &l, &len) < 0) return -errno;
    out[0] = l.l_onoff ? l.l_linger : -1;
    return 0;
  }
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, m->level, m->name, &v, &len) < 0) return -errno;
  out[0] = m->kind == SO_KIND_BOOL ? (v != 0) : v;
  return 0;
}

/* ------------------------------------------------------------ try-ops */

/* The result of a try-op whose syscall failed: "would block" is -EAGAIN on every host (where
 * EWOULDBLOCK differs from EAGAIN it is mapped), anything else -errno. */
static int32_t try_errno(void) { return errno == EWOULDBLOCK ? -EAGAIN : -errno; }

/* Contract: one nonblocking recv into buf[0..len) (flags: DK_MSG_PEEK leaves the bytes
 * queued): bytes (0 at end of stream), -EAGAIN when none are ready, or -errno. */
int32_t dk_try_recv(int32_t fd, uint8_t *buf, uint32_t len, int32_t flags) {
  if (fd < 0) return -EBADF;
  if (buf == NULL && len > 0) return -EFAULT;
  if (len > DK_MAX_LEN || (flags & ~DK_MSG_PEEK) != 0) return -EINVAL;
#ifdef DK_FAULTS
  if (fault_syscall(DK_FAULT_TRY_RECV, &len)) return try_errno();
#endif
  ssize_t n = recv(fd, buf, len, MSG_DONTWAIT | ((flags & DK_MSG_PEEK) ? MSG_PEEK : 0));
  if (n < 0) return try_errno();
  return (int32_t)n;
}

/* Contract: one nonblocking send of buf[0..len): bytes taken (maybe fewer), -EAGAIN when the
 * send buffer is full, or -errno (-EPIPE for a closed peer, never SIGPIPE). */
int32_t dk_try_send(int32_t fd, const uint8_t *buf, uint32_t len) {
  if (fd < 0) return -EBADF;
  if (buf == NULL && len > 0) return -EFAULT;
  if (len > DK_MAX_LEN) return -EINVAL;
#ifdef DK_FAULTS
  if (fault_syscall(DK_FAULT_TRY_SEND, &len)) return try_errno();
#endif
  ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) return try_errno();
  return (int32_t)n;
}

/* Contract: one nonblocking gathering send of n buffers; iov holds n (address, length) pairs
 * of uint64.  Bytes taken, -EAGAIN, or -errno (-EINVAL: n over 1024, a length or the total
 * over DK_MAX_LEN; -EFAULT: a zero address with a nonzero length). */
int32_t dk_try_sendv(int32_t fd, const uint64_t *iov, uint32_t n) {
  if (fd < 0) return -EBADF;
  if (iov == NULL && n > 0) return -EFAULT;
  if (n > DK_IOV_MAX) return -EINVAL;
  struct iovec v[DK_IOV_MAX];
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t p = iov[2 * i], l = iov[2 * i + 1];
    if (l > DK_MAX_LEN) return -EINVAL;
    if (p == 0 && l > 0) return -EFAULT;
    total += l;
    if (total > DK_MAX_LEN) return -EINVAL;
    v[i].iov_base = (void *)(uintptr_t)p;
    v[i].iov_len = (size_t)l;
  }
#ifdef DK_FAULTS
  uint32_t lim = (uint32_t)total;
  if (fault_syscall(DK_FAULT_TRY_SEND, &lim)) return try_errno();
  for (uint32_t i = 0; i < n; i++) { /* a short send: the buffers up to lim bytes */
    if (v[i].iov_len > lim) v[i].iov_len = lim;
    lim -= (uint32_t)v[i].iov_len;
  }
#endif
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = v;
  m.msg_iovlen = n;
  ssize_t r = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (r < 0) return try_errno();
  return (int32_t)r;
}

/* Contract: one nonblocking datagram to the Unix address path[0..plen) (plen 0: the connected
 * peer): bytes sent, -EAGAIN, or -errno. */
int32_t dk_try_unix_sendto(int32_t fd, const uint8_t *buf, uint32_t len, const uint8_t *path,
                           uint32_t plen) {
  if (fd < 0) return -EBADF;
  if (buf == NULL && len > 0) return -EFAULT;
  if (len > DK_MAX_LEN) return -EINVAL;
  struct sockaddr_un sa;
  socklen_t salen = 0;
  if (plen > 0) {
    int32_t v = unix_sockaddr(path, plen, &sa, &salen);
    if (v < 0) return v;
  }
  ssize_t n = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                     plen > 0 ? (struct sockaddr *)&sa : NULL, salen);
  if (n < 0) return try_errno();
  return (int32_t)n;
}

/* Contract: one nonblocking datagram into buf[0..len): its length (a longer datagram is
 * truncated), -EAGAIN, or -errno.  The sender's address goes to from[0..cap) and its length
 * to *from_len (0 for an unnamed sender; see dk_unix_name for the form). */
int32_t dk_try_unix_recvfrom(int32_t fd, uint8_t *buf, uint32_t len, uint8_t *from, uint32_t cap,
                             uint32_t *from_len) {
  if (fd < 0) return -EBADF;
  if ((buf == NULL && len > 0) || from_len == NULL || (from == NULL && cap > 0)) return -EFAULT;
  if (len > DK_MAX_LEN) return -EINVAL;
  struct sockaddr_un sa;
  socklen_t salen = sizeof sa;
  memset(&sa, 0, sizeof sa);
  ssize_t n = recvfrom(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa, &salen);
  if (n < 0) return try_errno();
  size_t off = offsetof(struct sockaddr_un, sun_path);
  size_t pl = salen > off ? salen - off : 0;
  if (pl > sizeof sa.sun_path) pl = sizeof sa.sun_path;
  if (pl > 0 && sa.sun_path[0] != 0) pl = strnlen(sa.sun_path, pl);
  if (pl > cap) pl = cap;
  if (pl > 0) memcpy(from, sa.sun_path, pl);
  *from_len = (uint32_t)pl;
  return (int32_t)n;
}

/* ------------------------------------------------------------ names */

static int32_t eai_result(int rc) {
  switch (rc) {
  case EAI_NONAME: return -DK_EAI_NONAME;
#ifdef EAI_NODATA
#if EAI_NODATA != EAI_NONAME
  case EAI_NODATA: return -DK_EAI_NONAME;
#endif
#endif
  case EAI_AGAIN: return -DK_EAI_AGAIN;
  case EAI_FAIL: return -DK_EAI_FAIL;
  case EAI_MEMORY: return -ENOMEM;
#ifdef EAI_SYSTEM
  case EAI_SYSTEM: return errno > 0 ? -errno : -DK_EAI_FAIL;
#endif
  default: return -DK_EAI_FAIL;
  }
}

/* Contract: resolve host[0..host_len) (a name or an IP literal, no NUL inside, at most 253
 * bytes) with getaddrinfo — /etc/hosts and the system resolver — into out[0..cap) as TCP
 * addresses with the given port, duplicates dropped, in the resolver's order.  Returns how many
 * it wrote (>= 1), -DK_EAI_NONAME (no such host), -DK_EAI_AGAIN (temporary failure),
 * -DK_EAI_FAIL, or -errno (-EINVAL, -EFAULT).  Blocks: call it off the scheduler thread. */
int32_t dk_resolve(const uint8_t *host, uint32_t host_len, uint32_t port, struct dk_addr *out,
                   uint32_t cap) {
  if (host == NULL || (out == NULL && cap > 0)) return -EFAULT;
  if (host_len == 0 || host_len > DK_HOST_MAX || port > 65535 || cap == 0) return -EINVAL;
  if (memchr(host, 0, host_len) != NULL) return -EINVAL;
  char name[DK_HOST_MAX + 1];
  memcpy(name, host, host_len);
  name[host_len] = 0;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(name, NULL, &hints, &res);
  if (rc != 0) return eai_result(rc);
  uint32_t n = 0;
  for (struct addrinfo *ai = res; ai != NULL && n < cap; ai = ai->ai_next) {
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addr == NULL) continue;
    dk_sockaddr s;
    memset(&s, 0, sizeof s);
    size_t sl = ai->ai_addrlen < sizeof s ? ai->ai_addrlen : sizeof s;
    memcpy(&s, ai->ai_addr, sl);
    struct dk_addr a;
    sockaddr_to_addr(&s, &a);
    a.port = (uint16_t)port;
    int dup = 0;
    for (uint32_t k = 0; k < n && !dup; k++) dup = memcmp(&out[k], &a, sizeof a) == 0;
    if (!dup) out[n++] = a;
  }
  freeaddrinfo(res);
  return n > 0 ? (int32_t)n : -DK_EAI_NONAME;
}
