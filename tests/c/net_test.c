/*
 * net_test.c — the socket helpers of net.c on each backend: Unix stream
 * sockets driven by ACCEPT/RECV/SEND records, abstract names, peer
 * credentials, Unix datagrams by path, the try-ops (peek, vectored send),
 * the socket builder's options read back, name resolution, and every
 * argument check (-errno, never a crash).
 */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void temp_path(char *out, size_t cap, const char *tag) {
  snprintf(out, cap, "/tmp/dk_net_%d_%s.sock", (int)getpid(), tag);
  unlink(out);
}

/* A Unix listener at path, a client connected to it, and the accepted end (by ACCEPT). */
static int unix_pair(ctx *c, const uint8_t *path, uint32_t plen, int *lfd, int *srv, int *cli) {
  *lfd = dk_socket(DK_FAMILY_UNIX, DK_SOCK_STREAM);
  CHECK(*lfd >= 0);
  CHECK_EQ(dk_unix_bind(*lfd, path, plen), 0);
  CHECK_EQ(dk_listen(*lfd, 0), 0);
  *cli = dk_socket(DK_FAMILY_UNIX, DK_SOCK_STREAM);
  CHECK(*cli >= 0);
  CHECK_EQ(dk_unix_connect(*cli, path, plen), 0);
  *srv = one(c, DK_OP_ACCEPT, *lfd, NULL, 0, 0);
  CHECK(*srv >= 0);
  return 1;
}

static int t_unix_stream(int backend) {
  ctx *c = ctx_new(backend, 0, 64);
  CHECK(c);
  char path[128];
  temp_path(path, sizeof path, "stream");
  int lfd, srv, cli;
  CHECK(unix_pair(c, (const uint8_t *)path, (uint32_t)strlen(path), &lfd, &srv, &cli));
  uint8_t name[256];
  CHECK_EQ(dk_unix_name(lfd, 0, name, sizeof name), (int32_t)strlen(path));
  CHECK(memcmp(name, path, strlen(path)) == 0);
  CHECK_EQ(dk_unix_name(cli, 1, name, sizeof name), (int32_t)strlen(path));
  CHECK_EQ(dk_unix_name(cli, 0, name, sizeof name), 0); /* the client is unnamed */
  CHECK_EQ(dk_unix_name(lfd, 0, name, 4), -ENOSPC);
  for (int i = 0; i < 100; i++) {
    char msg[32];
    int n = snprintf(msg, sizeof msg, "ping %d", i);
    CHECK_EQ(one(c, DK_OP_SEND, cli, msg, (uint32_t)n, 0), n);
    char got[32];
    CHECK_EQ(one(c, DK_OP_RECV, srv, got, sizeof got, 0), n);
    CHECK(memcmp(got, msg, (size_t)n) == 0);
    CHECK_EQ(one(c, DK_OP_SEND, srv, got, (uint32_t)n, 0), n);
    CHECK_EQ(one(c, DK_OP_RECV, cli, got, sizeof got, 0), n);
  }
  int32_t cred[3] = {0, 0, 0};
  CHECK_EQ(dk_peer_cred(srv, cred), 0);
#if defined(__linux__)
  CHECK_EQ(cred[0], getpid());
#endif
  CHECK_EQ(cred[1], (int32_t)getuid());
  CHECK_EQ(cred[2], (int32_t)getgid());
  CHECK_EQ(one(c, DK_OP_SHUTDOWN, cli, NULL, 1, 0), 0);
  char got[8];
  CHECK_EQ(one(c, DK_OP_RECV, srv, got, sizeof got, 0), 0);
  CHECK_EQ(dk_close(cli), 0);
  CHECK_EQ(dk_close(srv), 0);
  CHECK_EQ(dk_close(lfd), 0);
  unlink(path);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_unix_abstract(int backend) {
#if defined(__linux__)
  ctx *c = ctx_new(backend, 0, 64);
  CHECK(c);
  char name[64];
  int n = snprintf(name + 1, sizeof name - 1, "dokio-test-%d", (int)getpid()) + 1;
  name[0] = 0;
  int lfd, srv, cli;
  CHECK(unix_pair(c, (const uint8_t *)name, (uint32_t)n, &lfd, &srv, &cli));
  uint8_t got[128];
  CHECK_EQ(dk_unix_name(lfd, 0, got, sizeof got), n);
  CHECK(got[0] == 0 && memcmp(got + 1, name + 1, (size_t)n - 1) == 0);
  CHECK_EQ(one(c, DK_OP_SEND, cli, "abc", 3, 0), 3);
  CHECK_EQ(one(c, DK_OP_RECV, srv, got, sizeof got, 0), 3);
  /* The same name again: in use. */
  int again = dk_socket(DK_FAMILY_UNIX, DK_SOCK_STREAM);
  CHECK_EQ(dk_unix_bind(again, (const uint8_t *)name, (uint32_t)n), -EADDRINUSE);
  dk_close(again);
  dk_close(cli);
  dk_close(srv);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
#else
  (void)backend;
  int s = dk_socket(DK_FAMILY_UNIX, DK_SOCK_STREAM);
  CHECK_EQ(dk_unix_bind(s, (const uint8_t *)"\0x", 2), -EOPNOTSUPP);
  dk_close(s);
#endif
  return 1;
}

static int t_unix_dgram(int backend) {
  (void)backend;
  char pa[128], pb[128];
  temp_path(pa, sizeof pa, "dga");
  temp_path(pb, sizeof pb, "dgb");
  int a = dk_socket(DK_FAMILY_UNIX, DK_SOCK_DGRAM), b = dk_socket(DK_FAMILY_UNIX, DK_SOCK_DGRAM);
  CHECK(a >= 0 && b >= 0);
  CHECK_EQ(dk_unix_bind(a, (const uint8_t *)pa, (uint32_t)strlen(pa)), 0);
  CHECK_EQ(dk_unix_bind(b, (const uint8_t *)pb, (uint32_t)strlen(pb)), 0);
  uint8_t buf[64], from[128];
  uint32_t flen = 99;
  CHECK_EQ(dk_try_unix_recvfrom(b, buf, sizeof buf, from, sizeof from, &flen), -EAGAIN);
  CHECK_EQ(dk_try_unix_sendto(a, (const uint8_t *)"hello", 5, (const uint8_t *)pb,
                              (uint32_t)strlen(pb)),
           5);
  CHECK_EQ(dk_try_unix_recvfrom(b, buf, sizeof buf, from, sizeof from, &flen), 5);
  CHECK_EQ(flen, strlen(pa));
  CHECK(memcmp(from, pa, flen) == 0 && memcmp(buf, "hello", 5) == 0);
  CHECK_EQ(dk_unix_connect(b, (const uint8_t *)pa, (uint32_t)strlen(pa)), 0);
  CHECK_EQ(dk_try_unix_sendto(b, (const uint8_t *)"back", 4, NULL, 0), 4);
  CHECK_EQ(dk_try_recv(a, buf, sizeof buf, 0), 4);
  CHECK_EQ(dk_try_unix_recvfrom(-1, buf, 1, from, 1, &flen), -EBADF);
  CHECK_EQ(dk_try_unix_recvfrom(a, buf, 1, from, 1, NULL), -EFAULT);
  dk_close(a);
  dk_close(b);
  unlink(pa);
  unlink(pb);
  return 1;
}

static int t_unix_args(int backend) {
  (void)backend;
  int s = dk_socket(DK_FAMILY_UNIX, DK_SOCK_STREAM);
  CHECK(s >= 0);
  int32_t max = dk_unix_path_max();
  CHECK(max >= 100 && max <= 108);
  uint8_t *long_path = malloc((size_t)max + 8);
  memset(long_path, 'a', (size_t)max + 8);
  long_path[0] = '/';
  CHECK_EQ(dk_unix_bind(s, long_path, (uint32_t)max), -ENAMETOOLONG);
  CHECK_EQ(dk_unix_connect(s, long_path, (uint32_t)max + 8), -ENAMETOOLONG);
  free(long_path);
  CHECK_EQ(dk_unix_bind(s, (const uint8_t *)"/tmp/a\0b", 8), -EINVAL);
  CHECK_EQ(dk_unix_bind(s, (const uint8_t *)"x", 0), -EINVAL);
  CHECK_EQ(dk_unix_bind(s, NULL, 4), -EFAULT);
  CHECK_EQ(dk_unix_bind(-1, (const uint8_t *)"/tmp/x", 6), -EBADF);
  CHECK_EQ(dk_unix_connect(s, (const uint8_t *)"/nonexistent/dk.sock", 20), -ENOENT);
  CHECK_EQ(dk_unix_name(-5, 0, NULL, 0), -EBADF);
  CHECK_EQ(dk_unix_name(s, 0, NULL, 4), -EFAULT);
  CHECK_EQ(dk_peer_cred(s, NULL), -EFAULT);
  int32_t cred[3];
  CHECK_EQ(dk_peer_cred(-1, cred), -EBADF);
  CHECK_EQ(dk_peer_cred(s, cred) < 0, 1); /* not connected */
  CHECK_EQ(dk_socket(9, DK_SOCK_STREAM), -EINVAL);
  CHECK_EQ(dk_socket(DK_FAMILY_INET, 9), -EINVAL);
  dk_close(s);
  return 1;
}

static int t_try_ops(int backend) {
  ctx *c = ctx_new(backend, 0, 64);
  CHECK(c);
  int lfd, srv, cli;
  CHECK(make_pair(c, &lfd, &srv, &cli));
  uint8_t buf[64];
  CHECK_EQ(dk_try_recv(srv, buf, sizeof buf, 0), -EAGAIN);
  CHECK_EQ(dk_try_recv(srv, buf, sizeof buf, DK_MSG_PEEK), -EAGAIN);
  const char *p1 = "head-", *p2 = "body-", *p3 = "tail";
  uint64_t iov[6] = {(uint64_t)(uintptr_t)p1, 5, (uint64_t)(uintptr_t)p2, 5,
                     (uint64_t)(uintptr_t)p3, 4};
  CHECK_EQ(dk_try_sendv(cli, iov, 3), 14);
  /* Wait for the bytes with a POLL record, then peek twice and read once. */
  CHECK_EQ(one(c, DK_OP_POLL, srv, NULL, DK_POLL_IN, 0) & DK_POLL_IN, DK_POLL_IN);
  CHECK_EQ(dk_try_recv(srv, buf, 4, DK_MSG_PEEK), 4);
  CHECK(memcmp(buf, "head", 4) == 0);
  CHECK_EQ(dk_try_recv(srv, buf, sizeof buf, DK_MSG_PEEK), 14);
  CHECK_EQ(dk_try_recv(srv, buf, sizeof buf, 0), 14);
  CHECK(memcmp(buf, "head-body-tail", 14) == 0);
  CHECK_EQ(dk_try_send(srv, (const uint8_t *)"ok", 2), 2);
  CHECK_EQ(one(c, DK_OP_RECV, cli, buf, sizeof buf, 0), 2);
  /* Fill the send buffer: the try-send says -EAGAIN, never blocks. */
  uint8_t *big = calloc(1, 1 << 16);
  int32_t r;
  int rounds = 0;
  while ((r = dk_try_send(cli, big, 1 << 16)) > 0 && rounds < 100000) rounds++;
  CHECK_EQ(r, -EAGAIN);
  free(big);
  /* Arguments. */
  CHECK_EQ(dk_try_recv(-1, buf, 1, 0), -EBADF);
  CHECK_EQ(dk_try_recv(srv, NULL, 1, 0), -EFAULT);
  CHECK_EQ(dk_try_recv(srv, buf, 1, 8), -EINVAL);
  CHECK_EQ(dk_try_send(srv, NULL, 3), -EFAULT);
  CHECK_EQ(dk_try_sendv(srv, NULL, 1), -EFAULT);
  CHECK_EQ(dk_try_sendv(srv, iov, 5000), -EINVAL);
  uint64_t bad[2] = {0, 5};
  CHECK_EQ(dk_try_sendv(srv, bad, 1), -EFAULT);
  uint64_t huge[4] = {(uint64_t)(uintptr_t)p1, DK_MAX_LEN, (uint64_t)(uintptr_t)p1, 8};
  CHECK_EQ(dk_try_sendv(srv, huge, 2), -EINVAL);
  dk_close(cli);
  dk_close(srv);
  dk_close(lfd);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

/* Every option goes through the one table both dk_setsockopt and dk_getsockopt read: each
 * boolean set on reads back 1 and off reads back 0, whatever nonzero value turned it on. */
static int t_sockopt_table(int backend) {
  (void)backend;
  int s = dk_socket(DK_FAMILY_INET, DK_SOCK_STREAM);
  CHECK(s >= 0);
  const int32_t bools[] = {DK_SOCKOPT_NODELAY, DK_SOCKOPT_KEEPALIVE, DK_SOCKOPT_BROADCAST,
                           DK_SOCKOPT_REUSEADDR,
#ifdef __linux__
                           DK_SOCKOPT_REUSEPORT
#endif
  };
  for (size_t k = 0; k < sizeof bools / sizeof bools[0]; k++) {
    int32_t v = -7;
    CHECK_EQ(dk_setsockopt(s, bools[k], 7), 0);
    CHECK_EQ(dk_getsockopt(s, bools[k], &v), 0);
    CHECK_EQ(v, 1);
    CHECK_EQ(dk_setsockopt(s, bools[k], 0), 0);
    CHECK_EQ(dk_getsockopt(s, bools[k], &v), 0);
    CHECK_EQ(v, 0);
  }
  int32_t v = 0;
  CHECK_EQ(dk_setsockopt(s, DK_SOCKOPT_RCVBUF, 32768), 0);
  CHECK_EQ(dk_getsockopt(s, DK_SOCKOPT_RCVBUF, &v), 0);
  CHECK(v >= 32768);
  CHECK_EQ(dk_setsockopt(s, DK_SOCKOPT_ERROR, 0), -EINVAL); /* read-only */
  CHECK_EQ(dk_getsockopt(s, DK_SOCKOPT_ERROR, &v), 0);
  CHECK_EQ(v, 0);
  CHECK_EQ(dk_setsockopt(s, 0, 1), -EINVAL);
  CHECK_EQ(dk_getsockopt(s, 0, &v), -EINVAL);
  CHECK_EQ(dk_setsockopt(s, -1, 1), -EINVAL);
  CHECK_EQ(dk_close(s), 0);
  return 1;
}

static int t_builder(int backend) {
  ctx *c = ctx_new(backend, 0, 64);
  CHECK(c);
  int s = dk_socket(DK_FAMILY_INET, DK_SOCK_STREAM);
  CHECK(s >= 0);
  int32_t v = -7;
  CHECK_EQ(dk_setsockopt(s, DK_SOCKOPT_REUSEADDR, 1), 0);
  CHECK_EQ(dk_getsockopt(s, DK_SOCKOPT_REUSEADDR, &v), 0);
  CHECK_EQ(v, 1);
#if defined(__linux__)
  CHECK_EQ(dk_setsockopt(s, DK_SOCKOPT_REUSEPORT, 1), 0);
  CHECK_EQ(dk_getsockopt(s, DK_SOCKOPT_REUSEPORT, &v), 0);
  CHECK_EQ(v, 1);
#endif
  CHECK_EQ(dk_getsockopt(s, DK_SOCKOPT_LINGER, &v), 0);
  CHECK_EQ(v, -1);
  CHECK_EQ(dk_setsockopt(s, DK_SOCKOPT_LINGER, 5), 0);
  CHECK_EQ(dk_getsockopt(s, DK_SOCKOPT_LINGER, &v), 0);
  CHECK_EQ(v, 5);
  CHECK_EQ(dk_setsockopt(s, DK_SOCKOPT_LINGER, -2), -EINVAL);
  CHECK_EQ(dk_setsockopt(s, DK_SOCKOPT_SNDBUF, 65536), 0);
  CHECK_EQ(dk_getsockopt(s, DK_SOCKOPT_SNDBUF, &v), 0);
  CHECK(v >= 65536);
  CHECK_EQ(dk_getsockopt(s, 99, &v), -EINVAL);
  CHECK_EQ(dk_getsockopt(s, DK_SOCKOPT_LINGER, NULL), -EFAULT);
  CHECK_EQ(dk_getsockopt(-1, DK_SOCKOPT_LINGER, &v), -EBADF);
  struct dk_addr any = loopback(0), local;
  CHECK_EQ(dk_bind(s, &any), 0);
  CHECK_EQ(dk_listen(s, 16), 0);
  CHECK_EQ(dk_local_addr(s, &local), 0);
  CHECK(local.port != 0);
  int cl = dk_socket(DK_FAMILY_INET, DK_SOCK_STREAM);
  struct dk_addr to = loopback(local.port);
  int32_t rc = dk_connect(cl, &to);
  CHECK(rc == 0 || rc == -EINPROGRESS);
  CHECK_EQ(one(c, DK_OP_POLL, cl, NULL, DK_POLL_OUT, 0) & DK_POLL_OUT, DK_POLL_OUT);
  CHECK_EQ(dk_getsockopt(cl, DK_SOCKOPT_ERROR, &v), 0);
  CHECK_EQ(v, 0);
  int acc = one(c, DK_OP_ACCEPT, s, NULL, 0, 0);
  CHECK(acc >= 0);
  CHECK_EQ(dk_bind(s, NULL), -EFAULT);
  struct dk_addr bad;
  memset(&bad, 0, sizeof bad);
  CHECK_EQ(dk_connect(cl, &bad), -EINVAL);
  CHECK_EQ(dk_listen(-1, 0), -EBADF);
  dk_close(acc);
  dk_close(cl);
  dk_close(s);
  CHECK_EQ(ctx_free(c), 0);
  return 1;
}

static int t_resolve(int backend) {
  (void)backend;
  struct dk_addr out[8];
  int32_t n = dk_resolve((const uint8_t *)"localhost", 9, 80, out, 8);
  CHECK(n >= 1);
  int loop4 = 0;
  for (int i = 0; i < n; i++) {
    CHECK_EQ(out[i].port, 80);
    if (out[i].family == 4 && out[i].addr[0] == 127) loop4 = 1;
  }
  CHECK(loop4);
  CHECK_EQ(dk_resolve((const uint8_t *)"127.0.0.1", 9, 7, out, 8), 1);
  CHECK_EQ(dk_resolve((const uint8_t *)"::1", 3, 7, out, 8), 1);
  CHECK_EQ(out[0].family, 6);
  CHECK_EQ(dk_resolve((const uint8_t *)"no-such-host.invalid", 20, 1, out, 8), -DK_EAI_NONAME);
  CHECK_EQ(dk_resolve((const uint8_t *)"a\0b", 3, 1, out, 8), -EINVAL);
  CHECK_EQ(dk_resolve((const uint8_t *)"x", 0, 1, out, 8), -EINVAL);
  CHECK_EQ(dk_resolve((const uint8_t *)"x", 1, 70000, out, 8), -EINVAL);
  CHECK_EQ(dk_resolve((const uint8_t *)"x", 1, 1, out, 0), -EINVAL);
  CHECK_EQ(dk_resolve(NULL, 1, 1, out, 1), -EFAULT);
  CHECK_EQ(dk_resolve((const uint8_t *)"x", 1, 1, NULL, 1), -EFAULT);
  char longname[300];
  memset(longname, 'a', sizeof longname);
  CHECK_EQ(dk_resolve((const uint8_t *)longname, 254, 1, out, 8), -EINVAL);
  return 1;
}

void run_net_cases(int backend);
void run_net_cases(int backend) {
  run("net: Unix stream echo by records, names, peer credentials", t_unix_stream, backend);
  run("net: Unix abstract names (Linux)", t_unix_abstract, backend);
  run("net: Unix datagrams by path and connected", t_unix_dgram, backend);
  run("net: Unix path limits and argument checks", t_unix_args, backend);
  run("net: try-ops: peek, vectored send, EAGAIN, arguments", t_try_ops, backend);
  run("net: socket builder: options read back, bind/listen/connect", t_builder, backend);
  run("net: every socket option through the one table, set and read back", t_sockopt_table, backend);
  run("net: dk_resolve: localhost, literals, an unknown name, arguments", t_resolve, backend);
}
