/*
 * echo_client.c — the load client of bench/echo_bench.ts.
 *
 * Opens `conns` TCP connections to host:port and runs a closed-loop
 * ping-pong on each: send `size` bytes, wait until `size` bytes came back,
 * repeat.  One thread, epoll, nonblocking sockets, TCP_NODELAY.  After
 * `warmup_ms` it measures for `duration_ms`: round trips, latency (a 1 µs
 * histogram up to 1 s), and — when `server_pid` > 0 — the server's CPU time
 * (utime + stime from /proc/<pid>/stat) over exactly that window.
 *
 * host "unix:PATH" connects to the Unix stream socket at PATH instead (port is ignored).
 *
 * The optional 8th argument shapes the message for servers that parse it:
 * `raw` (default: bytes i*7), `line` (`size - 1` letters and a '\n'), or
 * `frame4` (a 4-byte big-endian length of `size - 4`, then that payload).
 *
 * usage: echo_client host port conns size warmup_ms duration_ms server_pid [raw|line|frame4]
 * prints one JSON line: {"rt":…,"secs":…,"p50_us":…,"p99_us":…,"server_cpu_s":…}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HIST_MAX 1000000

struct conn {
  int fd;
  size_t sent, got;
  uint64_t t0;
};

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  /* fields after ')': state(3) ... utime(14) stime(15) */
  int field = 2;
  for (char *q = p + 1; *q && field < 15; q++) {
    if (*q == ' ') {
      field++;
      if (field == 14) utime = strtoul(q + 1, NULL, 10);
      if (field == 15) stime = strtoul(q + 1, NULL, 10);
    }
  }
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static int send_all(int fd, const char *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += (size_t)w;
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      struct timespec ts = {0, 20000};
      nanosleep(&ts, NULL);
    } else {
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: %s host port conns size warmup_ms duration_ms server_pid\n", argv[0]);
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]), nconns = atoi(argv[3]);
  size_t size = (size_t)atol(argv[4]);
  uint64_t warmup = (uint64_t)atol(argv[5]) * 1000u, duration = (uint64_t)atol(argv[6]) * 1000u;
  int server_pid = atoi(argv[7]);
  if (nconns < 1 || size < 1 || (port < 1 && strncmp(host, "unix:", 5) != 0)) return 2;

  const char *mode = argc > 8 ? argv[8] : "raw";
  char *out = malloc(size), *in = malloc(size);
  for (size_t i = 0; i < size; i++) out[i] = (char)(i * 7);
  if (strcmp(mode, "line") == 0) {
    for (size_t i = 0; i < size; i++) out[i] = (char)('a' + i % 26);
    out[size - 1] = '\n';
  } else if (strcmp(mode, "frame4") == 0) {
    if (size < 4) return 2;
    uint32_t len = (uint32_t)(size - 4);
    out[0] = (char)(len >> 24);
    out[1] = (char)(len >> 16);
    out[2] = (char)(len >> 8);
    out[3] = (char)len;
  } else if (strcmp(mode, "raw") != 0) {
    fprintf(stderr, "unknown mode %s (raw, line, frame4)\n", mode);
    return 2;
  }
  uint32_t *hist = calloc(HIST_MAX + 1, sizeof *hist);
  struct conn *cs = calloc((size_t)nconns, sizeof *cs);
  int ep = epoll_create1(EPOLL_CLOEXEC);

  struct sockaddr_in sa;
  struct sockaddr_un su;
  int unix_path = strncmp(host, "unix:", 5) == 0;
  memset(&sa, 0, sizeof sa);
  memset(&su, 0, sizeof su);
  if (unix_path) {
    su.sun_family = AF_UNIX;
    if (strlen(host + 5) >= sizeof su.sun_path) return 2;
    strcpy(su.sun_path, host + 5);
  } else {
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return 2;
  }

  for (int i = 0; i < nconns; i++) {
    int fd = socket(unix_path ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1
             : unix_path ? connect(fd, (struct sockaddr *)&su, sizeof su)
                         : connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc < 0) {
      perror("connect");
      return 1;
    }
    int one = 1;
    if (!unix_path) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    cs[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }

  uint64_t start = now_us(), mstart = start + warmup, mend = mstart + duration;
  for (int i = 0; i < nconns; i++) {
    cs[i].t0 = now_us();
    if (send_all(cs[i].fd, out, size) < 0) return 1;
  }
  int measuring = 0;
  uint64_t rts = 0;
  double cpu0 = 0, cpu1 = 0;
  struct epoll_event evs[256];
  for (;;) {
    uint64_t t = now_us();
    if (!measuring && t >= mstart) {
      measuring = 1;
      cpu0 = cpu_seconds(server_pid);
      mstart = t;
    }
    if (t >= mend) {
      cpu1 = cpu_seconds(server_pid);
      mend = t;
      break;
    }
    int n = epoll_wait(ep, evs, 256, 10);
    for (int k = 0; k < n; k++) {
      struct conn *c = &cs[evs[k].data.u32];
      for (;;) {
        ssize_t r = recv(c->fd, in, size - c->got, 0);
        if (r > 0) {
          c->got += (size_t)r;
          if (c->got < size) continue;
          uint64_t t1 = now_us();
          if (measuring) {
            uint64_t lat = t1 - c->t0;
            hist[lat > HIST_MAX ? HIST_MAX : lat]++;
            rts++;
          }
          c->got = 0;
          c->t0 = t1;
          if (send_all(c->fd, out, size) < 0) return 1;
          break;
        }
        if (r == 0) {
          fprintf(stderr, "server closed a connection\n");
          return 1;
        }
        if (errno == EAGAIN) break;
        if (errno != EINTR) {
          perror("recv");
          return 1;
        }
      }
    }
  }
  uint64_t p50 = 0, p99 = 0, acc = 0;
  int have50 = 0;
  for (uint32_t us = 0; us <= HIST_MAX; us++) {
    acc += hist[us];
    if (!have50 && acc * 100 >= rts * 50) {
      p50 = us;
      have50 = 1;
    }
    if (acc * 100 >= rts * 99) {
      p99 = us;
      break;
    }
  }
  double secs = (double)(mend - mstart) / 1e6;
  printf("{\"rt\":%llu,\"secs\":%.4f,\"p50_us\":%llu,\"p99_us\":%llu,\"server_cpu_s\":%.4f}\n",
         (unsigned long long)rts, secs, (unsigned long long)p50, (unsigned long long)p99,
         cpu1 - cpu0);
  for (int i = 0; i < nconns; i++) close(cs[i].fd);
  return 0;
}
