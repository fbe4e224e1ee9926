/*
 * fs_floor.c — the kernel's floor for the files suite's whole-file rows: the same files, only the
 * syscalls, no runtime.  bench/fs_bench.ts builds it and runs it between its own rounds.
 *
 *   fs_floor read  <threads> <prefix> <n>   open(O_RDONLY) + one read of up to 8 KiB + close of
 *                                           <prefix>0 … <prefix>(n-1)
 *   fs_floor write <threads> <prefix> <n>   open(O_WRONLY|O_CREAT|O_TRUNC, 0644) + a 4 KiB write
 *                                           + close of the same names (the bench gives a fresh,
 *                                           empty directory)
 *
 * Thread t of T takes files t, t+T, t+2T, … (as the bench's 64 tasks split theirs).  The program
 * prints one line: "<wall µs per file> <CPU µs per file>" (CPU = user + system of the whole
 * process, all threads, from getrusage), timed from just before the threads start until the last
 * one joined.  It exits 1 with a message when a call fails: a floor that skipped files is no floor.
 * One read of a 4 KiB file into an 8 KiB buffer returns it all: this is less than a reader that
 * does not know the size must do (Deno's readFile adds an fstat and a read that returns 0; Dokio's
 * an fstat), so it is a lower bound, not a peer.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { MAX_THREADS = 64, PATH_MAX_LEN = 4096, READ_BUF = 8192, WRITE_LEN = 4096 };

typedef struct job {
  int writing;
  int first, step, n;
  const char *prefix;
  int failed; /* 1 once a call failed (the thread stops there) */
} job;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static double cpu_us(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static void *run(void *arg) {
  job *j = arg;
  char path[PATH_MAX_LEN];
  static const char zeros[WRITE_LEN];
  char buf[READ_BUF];
  for (int i = j->first; i < j->n && !j->failed; i += j->step) {
    snprintf(path, sizeof path, "%s%d", j->prefix, i);
    int fd = j->writing ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                        : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      j->failed = 1;
      break;
    }
    ssize_t got = j->writing ? write(fd, zeros, WRITE_LEN) : read(fd, buf, sizeof buf);
    if (got < 0 || (j->writing && got != WRITE_LEN)) j->failed = 1;
    if (close(fd) < 0) j->failed = 1;
  }
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc == 5 ? atoi(argv[2]) : 0;
  int n = argc == 5 ? atoi(argv[4]) : 0;
  int writing = argc == 5 && strcmp(argv[1], "write") == 0;
  if (argc != 5 || (!writing && strcmp(argv[1], "read") != 0) || threads < 1 ||
      threads > MAX_THREADS || n < 1) {
    fprintf(stderr, "usage: fs_floor <read|write> <threads 1..%d> <prefix> <n>\n", MAX_THREADS);
    return 2;
  }
  job jobs[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  double t0 = now_us(), c0 = cpu_us();
  for (int t = 0; t < threads; t++) {
    jobs[t] = (job){writing, t, threads, n, argv[3], 0};
    if (pthread_create(&ids[t], NULL, run, &jobs[t]) != 0) {
      fprintf(stderr, "fs_floor: pthread_create failed\n");
      return 1;
    }
  }
  int failed = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(ids[t], NULL);
    failed |= jobs[t].failed;
  }
  double wall = now_us() - t0, cpu = cpu_us() - c0;
  if (failed) {
    fprintf(stderr, "fs_floor: a call failed under %s\n", argv[3]);
    return 1;
  }
  printf("%.3f %.3f\n", wall / n, cpu / n);
  return 0;
}
