/*
 * ready.c — the readiness engine behind the epoll and kqueue backends.
 *
 * On these backends the C side performs the I/O and posts completions, so TS
 * sees the same submission/completion model as io_uring:
 *  - Every fd has three FIFO lists of pending op slots: read (ACCEPT, RECV,
 *    RECVFROM, READ on pipes/ttys), write (CONNECT, SEND, SENDTO, WRITE on
 *    pipes, SHUTDOWN and UDP_CONNECT — the last two queue behind earlier
 *    writes so batch order is kept) and poll (POLL).
 *  - A new op on an fd whose list is empty is tried at once; only if it
 *    would block is it queued.  An op never overtakes an older one on the
 *    same list.
 *  - fds are registered once, edge-triggered for read and write (EPOLLET /
 *    EV_CLEAR), when an op first has to wait on them.  On an edge the engine
 *    retries the list's ops in order until one would block.  This is correct
 *    because every wait starts with a failed attempt (EAGAIN) or a short read,
 *    after which the next change of state produces an edge.
 *  - Short read: a RECV on a stream socket that returned fewer bytes than it
 *    asked for emptied the receive queue, so bytes arriving after it raise a
 *    new read edge.  The fd is marked drained and the next read op waits for
 *    that edge without trying first (the try would only cost a recv that
 *    fails with EAGAIN: in request/response traffic, one per message).  Any
 *    read edge (or error, hang-up) clears the mark, as does a new file behind
 *    the number.  Not for datagram or seqpacket sockets, where a short read
 *    ends one message, not the queue, nor once the peer's end of stream was
 *    seen (an edge with RDHUP, HUP or ERR): that state never changes again, so
 *    a read after it must try (it returns what is left, then 0).  Registration is forgotten when
 *    this reactor closes the fd or receives it fresh from accept/connect/
 *    open/listen; an fd closed elsewhere and reused must first be seen here
 *    through one of those.
 *  - Regular files (and fds the poller refuses, e.g. /dev/null) cannot wait
 *    for readiness: OPEN, and READ/WRITE on them, run on a pool of worker
 *    threads per reactor (dk_file_workers sets its size, default
 *    DK_FILE_WORKERS_DEFAULT; threads start as jobs find none idle).
 *    READ_FILE and WRITE_FILE are one job each: a worker opens, fstat's,
 *    reads or writes and closes the file (fs.c file_op_run), so its fd never
 *    reaches the reactor or TS; while the job holds it, records naming that
 *    number are refused (ready_vet_fd).  Workers take jobs from a
 *    mutex-protected FIFO, post (slot, result) to a mutex-protected done list
 *    and wake the poller when that list was empty; dk_wait turns those into
 *    completions.  Jobs on one TS fd run one at a time in queue order: a
 *    worker skips a job whose fd another worker is using (take_job).  A
 *    queued job can be cancelled; a running one finishes with its real
 *    result.  CLOSE of an fd a worker is using runs on a worker, after that
 *    job.  Reads of what the page cache holds skip the pool (Linux): a
 *    READ_FILE whose path and pages are cached, and a READ on a file fd with
 *    no job queued or running, are done on the reactor thread with calls that
 *    cannot block (fs.c file_op_nowait, file_read_nowait), as io_uring does
 *    them inline; anything not cached goes to a worker.
 *  - Idle fast path: dk_wait/dk_enter with timeout 0 skips the kernel call
 *    when nothing could come of it — no op on any fd list (n_waiting == 0),
 *    no file-worker result posted (d_avail == 0), no wake signalled since the
 *    last kernel call (wake_pending == 0) and the last kernel call did not
 *    fill its event array (more == 0).  Edges on registered fds with no op
 *    waiting are harmless to leave in the kernel: no list has an op to retry.
 *    A wake writes the wake source first and sets wake_pending after, and a
 *    kernel call clears wake_pending before it reads the source, so a wake is
 *    never left in the source with wake_pending clear past the next timeout-0
 *    call; a blocking wait never takes the fast path and sees the source.
 *  - SIGPIPE: sends use MSG_NOSIGNAL (SO_NOSIGPIPE on macOS); writes to pipes
 *    block SIGPIPE around write(2) and consume it (F_SETNOSIGPIPE on macOS).
 */
#include "reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

enum { K_UNKNOWN = 0, K_FILE = 1, K_SOCK = 2, K_OTHER = 3 };
enum { LR = 0, LW = 1, LP = 2 };

typedef struct fdst {
  int32_t head[3], tail[3];
  uint8_t reg, kind;
  uint8_t blocking; /* K_OTHER in blocking mode: touched only when poll(2) says ready */
  uint8_t stype;    /* STYPE_*: a stream socket or not, found at the first short read */
  uint8_t drained;  /* a short read emptied the receive queue: read ops wait for an edge */
  uint8_t rd_final; /* an edge said the peer's end of stream (or an error) came: never drained */
} fdst;

/* fdst.stype: not yet known, a SOCK_STREAM socket, anything else. */
enum { STYPE_UNKNOWN = 0, STYPE_STREAM = 1, STYPE_OTHER = 2 };

typedef struct job {
  int32_t idx;
  uint32_t gen;
  uint8_t op;
  uint16_t flags; /* WRITE_FILE's DK_O_* */
  int32_t fd;     /* WRITE_FILE: its mode */
  uint32_t len;
  uint64_t addr, arg;
} job;

typedef struct done {
  int32_t idx;
  uint32_t gen;
  int32_t res;
  uint32_t cflags; /* DK_CQE_F_MORE from a whole-file op */
} done;

typedef struct ready {
  dk_poller *p;
  fdst *fds;
  uint32_t nfds;
  int woken, destroying;
  uint32_t n_waiting; /* ops on some fd's read/write/poll list */
  int more;           /* the last kernel call filled evs: more events may be ready */
  _Atomic uint32_t wake_pending; /* a wake was signalled after the last kernel call began */
  /* file workers.  mu guards every field below but n_workers (the reactor thread's alone), th and
   * th_started (written only by the reactor thread, th_started under mu, so that thread reads
   * them without it) and the claims (each has its own lock). */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint32_t n_workers;  /* most threads the pool may start (dk_file_workers) */
  uint32_t th_started; /* threads started, 0..n_workers */
  uint32_t n_idle;     /* started threads waiting for a job */
  int stop;
  job *jobs;
  uint32_t j_head, j_len, j_cap;
  done *dones;
  uint32_t d_len, d_cap;
  _Atomic uint32_t d_avail;
  pthread_t th[DK_FILE_WORKERS_MAX];
  /* The TS fd each worker's running job uses: RUN_IDLE, RUN_NO_FD (an OPEN or whole-file job),
   * or the fd. */
  int32_t running_fd[DK_FILE_WORKERS_MAX];
  /* The file each worker's running READ_FILE/WRITE_FILE holds (ready_vet_fd). */
  dk_file_claim claim[DK_FILE_WORKERS_MAX];
  struct worker_arg {
    struct ready *rd;
    uint32_t w;
  } args[DK_FILE_WORKERS_MAX]; /* each thread's start argument: the pool and its index */
  dk_event evs[256];
} ready;

/* ready.running_fd of a worker with no job, and of one whose job names no TS fd. */
#define RUN_IDLE (-1)
#define RUN_NO_FD (-2)


/* ------------------------------------------------------------- fd state */

/* The state of fd, sized like the common fd table (common.c fd_info: only
 * open numbers, bounded by the fd limit); NULL for a number that is not open. */
static fdst *fd_state(dk_reactor *r, int fd) {
  ready *rd = r->be;
  if (fd < 0) return NULL;
  if ((uint32_t)fd >= rd->nfds) {
    if (!fd_info(r, fd)) return NULL;
    uint32_t n = r->n_fds;
    fdst *f = realloc(rd->fds, n * sizeof *f);
    if (!f) return NULL;
    for (uint32_t k = rd->nfds; k < n; k++) {
      for (int l = 0; l < 3; l++) f[k].head[l] = f[k].tail[l] = DK_NIL;
      f[k].reg = 0;
      f[k].kind = K_UNKNOWN;
      f[k].blocking = 0;
      f[k].stype = STYPE_UNKNOWN;
      f[k].drained = 0;
      f[k].rd_final = 0;
    }
    rd->fds = f;
    rd->nfds = n;
  }
  return &rd->fds[fd];
}

/* A new file is behind fd: forget registration and kind (lists stay). */
static void fd_fresh(ready *rd, int fd) {
  if (fd >= 0 && (uint32_t)fd < rd->nfds) {
    rd->fds[fd].reg = 0;
    rd->fds[fd].kind = K_UNKNOWN;
    rd->fds[fd].blocking = 0;
    rd->fds[fd].stype = STYPE_UNKNOWN;
    rd->fds[fd].drained = 0;
    rd->fds[fd].rd_final = 0;
  }
}

/* A RECV on fd returned fewer bytes than asked: mark a stream socket drained (see the top). */
static void note_short_read(ready *rd, int fd) {
  fdst *f = &rd->fds[fd];
  if (f->stype == STYPE_UNKNOWN) {
    int type = 0;
    socklen_t tl = sizeof type;
    f->stype = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM
                   ? STYPE_STREAM
                   : STYPE_OTHER;
  }
  if (f->stype == STYPE_STREAM && !f->rd_final) f->drained = 1;
}

static void list_append(dk_reactor *r, fdst *f, int l, int32_t i) {
  dk_slot *s = slot_at(r, i);
  s->list = (uint8_t)(L_READ + l);
  ((ready *)r->be)->n_waiting++;
  s->next = DK_NIL;
  s->prev = f->tail[l];
  if (f->tail[l] != DK_NIL) slot_at(r, f->tail[l])->next = i;
  else f->head[l] = i;
  f->tail[l] = i;
}

static void list_unlink(dk_reactor *r, fdst *f, int32_t i) {
  dk_slot *s = slot_at(r, i);
  int l = s->list - L_READ;
  if (s->prev != DK_NIL) slot_at(r, s->prev)->next = s->next;
  else f->head[l] = s->next;
  if (s->next != DK_NIL) slot_at(r, s->next)->prev = s->prev;
  else f->tail[l] = s->prev;
  s->list = L_NONE;
  s->next = s->prev = DK_NIL;
  ((ready *)r->be)->n_waiting--;
}

/* Wake the poller from any thread: the source first, then the flag (see the top). */
static int32_t signal_wake(ready *rd) {
  int32_t v = poller_wake(rd->p);
  /* seq_cst, pairing with ready_wait's seq_cst clear and load: the three form
   * a Dekker pattern (this thread: write source, then set flag; the waiter:
   * clear flag, then read source).  A total order over the flag accesses means
   * either the waiter's load sees 1 (it enters the kernel and finds the source)
   * or our store came after its clear, in which case the waiter's kernel call,
   * which follows the clear, sees the source we wrote first. */
  atomic_store_explicit(&rd->wake_pending, 1, memory_order_seq_cst);
  return v;
}

/* ------------------------------------------------------------- the I/O */

static int new_fd_flags(int fd) {
#if defined(__linux__)
  (void)fd;
  return 0;
#else
  return set_nonblock_cloexec(fd);
#endif
}

static void fail_fd(dk_reactor *r, int fd, int32_t res);

/*
 * Try the op of slot i once.  Returns 1 with *res set when it finished,
 * 0 when it would block.
 */
static int attempt(dk_reactor *r, int32_t i, int32_t *res) {
  ready *rd = r->be;
  dk_slot *s = slot_at(r, i);
  void *buf = (void *)(uintptr_t)s->addr;
  ssize_t n;
  for (;;) {
    switch (s->op) {
    case DK_OP_ACCEPT: {
      s->salen = sizeof s->sa;
#ifdef DK_FAULTS
      if (fault_syscall(DK_FAULT_ACCEPT, NULL)) {
        n = -1;
        break;
      }
#endif
#if defined(__linux__)
      n = accept4(s->fd, &s->sa.sa, &s->salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
      n = accept(s->fd, &s->sa.sa, &s->salen);
#endif
      if (n >= 0) {
        int v = new_fd_flags((int)n);
        if (v < 0) {
          close((int)n);
          *res = v;
          return 1;
        }
        fd_new(r, (int32_t)n, 1); /* op_complete reports s->sa, when asked */
      }
      break;
    }
    case DK_OP_CONNECT: {
      int err = 0;
      socklen_t el = sizeof err;
      if (getsockopt(s->sock, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
      if (err == EINPROGRESS || err == EALREADY) return 0;
      if (err == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(s->sock, (struct sockaddr *)&ss, &sl) < 0) {
          if (errno != ENOTCONN) err = errno;
          else return 0; /* not connected yet: spurious edge */
        }
      }
      /* The socket leaves the op's list as the op completes (run_list
       * unlinks it), so it is no longer the reactor's to refuse. */
      own_fd(r, s->sock, FD_TS);
      if (err) {
        poller_del(rd->p, s->sock);
        fd_fresh(rd, s->sock);
        close(s->sock);
        *res = -err;
      } else {
        *res = s->sock;
      }
      s->sock = -1;
      return 1;
    }
    case DK_OP_RECV:
#ifdef DK_FAULTS
      if (fault_syscall(DK_FAULT_RECV, &s->len)) {
        n = -1;
        break;
      }
#endif
      n = recv(s->fd, buf, s->len, MSG_DONTWAIT);
      if (n > 0 && (size_t)n < s->len) note_short_read(rd, s->fd);
      break;
    case DK_OP_SEND:
#ifdef DK_FAULTS
      if (fault_syscall(DK_FAULT_SEND, &s->len)) {
        n = -1;
        break;
      }
#endif
      n = send(s->fd, buf, s->len, MSG_DONTWAIT | MSG_NOSIGNAL);
      break;
    case DK_OP_RECVFROM:
#ifdef DK_FAULTS
      if (fault_syscall(DK_FAULT_RECV, &s->len)) {
        n = -1;
        break;
      }
#endif
      s->salen = sizeof s->sa;
      /* salen comes back 0 from a socket with no source (a stream): no address */
      n = recvfrom(s->fd, buf, s->len, MSG_DONTWAIT, &s->sa.sa, &s->salen);
      break;
    case DK_OP_SENDTO:
#ifdef DK_FAULTS
      if (fault_syscall(DK_FAULT_SEND, &s->len)) {
        n = -1;
        break;
      }
#endif
      n = sendto(s->fd, buf, s->len, MSG_DONTWAIT | MSG_NOSIGNAL, s->arg ? &s->sa.sa : NULL,
                 s->arg ? s->salen : 0);
      break;
    case DK_OP_READ:
#ifdef DK_FAULTS
      if (fault_syscall(DK_FAULT_RECV, &s->len)) {
        n = -1;
        break;
      }
#endif
      if (rd->fds[s->fd].kind == K_SOCK) n = recv(s->fd, buf, s->len, MSG_DONTWAIT);
      else if (s->arg == UINT64_MAX) n = read(s->fd, buf, s->len);
      else n = pread(s->fd, buf, s->len, (off_t)s->arg);
      break;
    case DK_OP_WRITE:
#ifdef DK_FAULTS
      if (fault_syscall(DK_FAULT_SEND, &s->len)) {
        n = -1;
        break;
      }
#endif
      if (rd->fds[s->fd].kind == K_SOCK)
        n = send(s->fd, buf, s->len, MSG_DONTWAIT | MSG_NOSIGNAL);
      else /* a blocking pipe with POLLOUT takes PIPE_BUF bytes without blocking */
        n = write_nosigpipe(s->fd, buf, rd->fds[s->fd].blocking && s->len > PIPE_BUF ? PIPE_BUF : s->len,
                            s->arg);
      break;
    case DK_OP_SHUTDOWN:
      n = shutdown(s->fd, s->len == 0 ? SHUT_RD : s->len == 1 ? SHUT_WR : SHUT_RDWR);
      break;
    case DK_OP_UDP_CONNECT:
      n = connect(s->fd, &s->sa.sa, s->salen);
      break;
    default:
      n = -1;
      errno = EINVAL;
      break;
    }
    if (n >= 0) {
      *res = (int32_t)n;
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (s->op == DK_OP_ACCEPT && errno == ECONNABORTED) continue;
    *res = -errno;
    return 1;
  }
}

static int readable_now(ready *rd, int fd, uint8_t op);

/* Retry list l of fd in order until an op would block. */
static void run_list(dk_reactor *r, int fd, int l) {
  ready *rd = r->be;
  for (;;) {
    int32_t i = rd->fds[fd].head[l], res;
    if (i == DK_NIL || !readable_now(rd, fd, slot_at(r, i)->op) || !attempt(r, i, &res)) return;
    list_unlink(r, &rd->fds[fd], i); /* attempt may have moved rd->fds */
    op_complete(r, i, res);
  }
}

static void on_ready(dk_reactor *r, int fd, uint32_t mask) {
  ready *rd = r->be;
  if (fd < 0 || (uint32_t)fd >= rd->nfds) return;
  if (mask & (DK_POLL_IN | DK_POLL_ERR | DK_POLL_HUP)) {
    rd->fds[fd].drained = 0;
    if (mask & (DK_EV_RDHUP | DK_POLL_ERR | DK_POLL_HUP)) rd->fds[fd].rd_final = 1;
    run_list(r, fd, LR);
  }
  mask &= ~DK_EV_RDHUP; /* not a DK_POLL_* bit: POLL ops never see it */
  if (mask & (DK_POLL_OUT | DK_POLL_ERR | DK_POLL_HUP)) run_list(r, fd, LW);
  for (int32_t i = rd->fds[fd].head[LP]; i != DK_NIL;) {
    dk_slot *s = slot_at(r, i);
    int32_t next = s->next;
    uint32_t got = mask & (s->len | DK_POLL_ERR | DK_POLL_HUP);
    if (got) {
      list_unlink(r, &rd->fds[fd], i);
      op_complete(r, i, (int32_t)got);
    }
    i = next;
  }
}

/* ---------------------------------------------------------- file worker */

static int32_t run_job(ready *rd, uint32_t w, const job *j, uint32_t *cflags) {
  void *buf = (void *)(uintptr_t)j->addr;
  *cflags = 0;
  if (IS_FILE_OP(j->op))
    return file_op_run(j->op, j->flags, j->fd, j->addr, j->arg, j->len, cflags, &rd->claim[w]);
  for (;;) {
    ssize_t n;
    switch (j->op) {
    case DK_OP_OPEN:
      n = open((const char *)buf, open_flags(j->len), (mode_t)j->arg);
      break;
    case DK_OP_READ:
      n = j->arg == UINT64_MAX ? read(j->fd, buf, j->len) : pread(j->fd, buf, j->len, (off_t)j->arg);
      break;
    case DK_OP_WRITE:
      n = write_nosigpipe(j->fd, buf, j->len, j->arg);
      break;
    case DK_OP_CLOSE:
      return close(j->fd) < 0 && errno != EINTR ? -errno : 0;
    default:
      return -EINVAL;
    }
    if (n >= 0) return (int32_t)n;
    if (errno != EINTR) return -errno;
  }
}

/* The TS fd job j acts on, or RUN_NO_FD (an OPEN's or whole-file op's fd field is not one). */
static int32_t job_fd(const job *j) {
  return j->op == DK_OP_OPEN || IS_FILE_OP(j->op) ? RUN_NO_FD : j->fd;
}

/* Is a worker running a job on TS fd `fd`?  Called with mu held. */
static int fd_running(const ready *rd, int32_t fd) {
  for (uint32_t w = 0; w < rd->th_started; w++)
    if (rd->running_fd[w] == fd) return 1;
  return 0;
}

/* Is a job on TS fd `fd` queued or running?  On the reactor thread (it reads th_started). */
static int fd_has_jobs(ready *rd, int32_t fd) {
  if (rd->th_started == 0) return 0; /* no worker: nothing was ever queued */
  pthread_mutex_lock(&rd->mu);
  int busy = fd_running(rd, fd);
  for (uint32_t k = 0; !busy && k < rd->j_len; k++) {
    const job *j = &rd->jobs[(rd->j_head + k) % rd->j_cap];
    busy = j->idx != DK_NIL && job_fd(j) == fd;
  }
  pthread_mutex_unlock(&rd->mu);
  return busy;
}

/*
 * Take the first queued job worker w may run now, with mu held: 1 and *out, or 0.  A job on a TS
 * fd that another worker is running is skipped, and so, because that fd stays busy, is every later
 * job on it: jobs on one fd run one at a time in queue order, as with a single worker (READs and
 * WRITEs at the file position, and a CLOSE after the job using its fd).  Cancelled and taken
 * entries (idx DK_NIL) leave the ring when they reach its head.
 */
static int take_job(ready *rd, uint32_t w, job *out) {
  while (rd->j_len > 0 && rd->jobs[rd->j_head].idx == DK_NIL) {
    rd->j_head = (rd->j_head + 1) % rd->j_cap;
    rd->j_len--;
  }
  for (uint32_t k = 0; k < rd->j_len; k++) {
    job *j = &rd->jobs[(rd->j_head + k) % rd->j_cap];
    if (j->idx == DK_NIL) continue;
    /* Stopping (destroy): a queued CLOSE still closes its fd, nothing else starts. */
    if (rd->stop && j->op != DK_OP_CLOSE) {
      j->idx = DK_NIL;
      continue;
    }
    int32_t fd = job_fd(j);
    if (fd != RUN_NO_FD && fd_running(rd, fd)) continue;
    *out = *j;
    j->idx = DK_NIL;
    rd->running_fd[w] = fd;
    return 1;
  }
  return 0;
}


static void *worker_main(void *arg) {
  struct worker_arg *a = arg;
  ready *rd = a->rd;
  uint32_t w = a->w;
  pthread_mutex_lock(&rd->mu);
  for (;;) {
    job j;
    if (!take_job(rd, w, &j)) {
      if (rd->stop) break;
      rd->n_idle++;
      pthread_cond_wait(&rd->cv, &rd->mu);
      rd->n_idle--;
      continue;
    }
    pthread_mutex_unlock(&rd->mu);
    uint32_t cflags;
    int32_t res = run_job(rd, w, &j, &cflags);
    pthread_mutex_lock(&rd->mu);
    rd->running_fd[w] = RUN_IDLE;
    /* file_job reserved room for every job it queued, so this never grows. */
    int first = rd->d_len == 0;
    rd->dones[rd->d_len++] = (done){j.idx, j.gen, res, cflags};
    /* Release (under mu as well): drain_dones' acquire load that sees 1 then
     * takes mu and finds this done; the flag only lets it skip the lock. */
    atomic_store_explicit(&rd->d_avail, 1, memory_order_release);
    /* A job skipped because its fd was this one's is taken by this worker's next take_job. */
    if (first) {
      /* One wake per batch of results: a later result joins a list the reactor has not
       * drained yet, and drain_dones takes the whole list after the wake this one sent. */
      pthread_mutex_unlock(&rd->mu);
      (void)signal_wake(rd);
      pthread_mutex_lock(&rd->mu);
    }
  }
  pthread_mutex_unlock(&rd->mu);
  return NULL;
}

/* Queue slot i for the worker pool, starting a thread when none is idle and the pool has room.
 * 0 or -errno. */
static int32_t file_job(dk_reactor *r, int32_t i) {
  ready *rd = r->be;
  dk_slot *s = slot_at(r, i);
  pthread_mutex_lock(&rd->mu);
  int32_t v = 0;
  if (rd->n_idle == 0 && rd->th_started < rd->n_workers) {
    uint32_t w = rd->th_started;
    rd->args[w].rd = rd;
    rd->args[w].w = w;
    rd->running_fd[w] = RUN_IDLE;
    if (pthread_create(&rd->th[w], NULL, worker_main, &rd->args[w]) == 0) rd->th_started++;
    else if (w == 0) v = -EAGAIN; /* with at least one thread the job still runs */
  }
  /* Reserve a done record for every job queued or running, so a worker
   * never allocates (a completion must not be lost to a failed allocation). */
  uint32_t need = rd->j_len + rd->d_len + rd->th_started + 1;
  if (v == 0 && rd->d_cap < need) {
    uint32_t nc = rd->d_cap ? rd->d_cap * 2 : 64;
    while (nc < need) nc *= 2;
    done *d = realloc(rd->dones, nc * sizeof *d);
    if (!d) v = -ENOMEM;
    else {
      rd->dones = d;
      rd->d_cap = nc;
    }
  }
  /* j_cap and d_cap double from 64 but stay below 2 * (DK_MAX_OPS + DK_FILE_WORKERS_MAX)
   * (jobs are ops, and at most DK_MAX_OPS are live), far from wrapping. */
  if (v == 0 && rd->j_len == rd->j_cap) {
    uint32_t nc = rd->j_cap ? rd->j_cap * 2 : 64;
    job *jb = malloc(nc * sizeof *jb);
    if (!jb) v = -ENOMEM;
    else {
      for (uint32_t k = 0; k < rd->j_len; k++) jb[k] = rd->jobs[(rd->j_head + k) % rd->j_cap];
      free(rd->jobs);
      rd->jobs = jb;
      rd->j_head = 0;
      rd->j_cap = nc;
    }
  }
  if (v == 0) {
    rd->jobs[(rd->j_head + rd->j_len) % rd->j_cap] =
        (job){i, s->gen, s->op, s->flags, s->fd, s->len, s->addr, s->arg};
    rd->j_len++;
    s->list = L_FILE;
    if (rd->n_idle > 0) pthread_cond_signal(&rd->cv);
  }
  pthread_mutex_unlock(&rd->mu);
  return v;
}

/* Remove not-yet-started jobs matching (idx, or fd when idx is DK_NIL); returns how many. */
static void unqueue_jobs(dk_reactor *r, int32_t idx, int fd, int32_t *out, uint32_t *n_out,
                         uint32_t max) {
  ready *rd = r->be;
  *n_out = 0;
  pthread_mutex_lock(&rd->mu);
  for (uint32_t k = 0; k < rd->j_len; k++) {
    job *j = &rd->jobs[(rd->j_head + k) % rd->j_cap];
    if (j->idx == DK_NIL) continue;
    if (idx != DK_NIL ? j->idx == idx
                      : (j->fd == fd && j->op != DK_OP_OPEN && !IS_FILE_OP(j->op))) {
      if (*n_out < max) {
        out[(*n_out)++] = j->idx;
        j->idx = DK_NIL;
      }
    }
  }
  pthread_mutex_unlock(&rd->mu);
}

static void drain_dones(dk_reactor *r) {
  ready *rd = r->be;
  /* Acquire pairs with worker_main's release.  A stale 0 is harmless: the
   * worker's signal_wake follows its store, so a later wait sees the flag. */
  if (!atomic_load_explicit(&rd->d_avail, memory_order_acquire)) return;
  done local[64];
  for (;;) {
    pthread_mutex_lock(&rd->mu);
    uint32_t n = rd->d_len < 64 ? rd->d_len : 64;
    memcpy(local, rd->dones, n * sizeof *local);
    memmove(rd->dones, rd->dones + n, (rd->d_len - n) * sizeof *local);
    rd->d_len -= n;
    /* Relaxed: written under mu, which the worker also holds when it sets 1
     * again; the mutex orders the two, the flag is only a hint to skip it. */
    if (rd->d_len == 0) atomic_store_explicit(&rd->d_avail, 0, memory_order_relaxed);
    pthread_mutex_unlock(&rd->mu);
    if (n == 0) return;
    for (uint32_t k = 0; k < n; k++) {
      dk_slot *s = slot_at(r, local[k].idx);
      if (s->state != ST_ACTIVE || s->gen != local[k].gen) continue;
      int32_t res = local[k].res;
      if (s->op == DK_OP_OPEN && res >= 0) fd_new(r, res, 0);
      if (s->op == DK_OP_CLOSE) fd_fresh(rd, s->fd);
      s->list = L_NONE;
      s->cflags = (uint8_t)local[k].cflags;
      op_complete(r, local[k].idx, res);
    }
  }
}

/* ------------------------------------------------------------- submit */

/* Cancel slot i wherever it waits; 1 if it was completed with -ECANCELED. */
static int cancel_slot(dk_reactor *r, int32_t i) {
  ready *rd = r->be;
  dk_slot *s = slot_at(r, i);
  if (s->list >= L_READ && s->list <= L_POLL) {
    int fd = s->op == DK_OP_CONNECT ? s->sock : s->fd;
    list_unlink(r, &rd->fds[fd], i);
    if (s->op == DK_OP_CONNECT && s->sock >= 0) {
      poller_del(rd->p, s->sock);
      fd_fresh(rd, s->sock);
      own_fd(r, s->sock, FD_TS);
      close(s->sock);
      s->sock = -1;
    }
    op_complete(r, i, -ECANCELED);
    return 1;
  }
  if (s->list == L_FILE) {
    int32_t got;
    uint32_t n;
    unqueue_jobs(r, i, -1, &got, &n, 1);
    if (n == 1) {
      op_complete(r, i, -ECANCELED);
      return 1;
    }
  }
  return 0; /* running on the worker: it completes with its real result */
}

/* Complete every op waiting on fd (its lists and its queued file jobs) with
 * res, and forget fd's registration.  A CONNECT waiting on fd owns it as its
 * socket; res < 0 there means that socket is closed elsewhere (not closed again). */
static void fail_fd(dk_reactor *r, int fd, int32_t res) {
  ready *rd = r->be;
  if (fd < 0 || (uint32_t)fd >= rd->nfds) return;
  for (int l = 0; l < 3; l++) {
    int32_t i;
    while ((i = rd->fds[fd].head[l]) != DK_NIL) {
      dk_slot *s = slot_at(r, i);
      list_unlink(r, &rd->fds[fd], i);
      if (s->op == DK_OP_CONNECT && s->sock >= 0) {
        own_fd(r, s->sock, FD_TS);
        s->sock = -1;
      }
      op_complete(r, i, res);
    }
  }
  int32_t ids[64];
  uint32_t n;
  do {
    unqueue_jobs(r, DK_NIL, fd, ids, &n, 64);
    for (uint32_t k = 0; k < n; k++) op_complete(r, ids[k], res);
  } while (n == 64);
  if (rd->fds[fd].reg) poller_del(rd->p, fd);
  fd_fresh(rd, fd);
}

/* fd was closed outside this reactor: its ops fail now (they would never get an
 * edge, and must not reach the next file that takes the number). */
static void ready_closed_elsewhere(dk_reactor *r, int32_t fd) { fail_fd(r, fd, -ECANCELED); }

/* fd is a new file made here: ops still queued on its number belonged to a
 * file closed without this reactor knowing; they fail instead of reaching it. */
static void ready_fresh(dk_reactor *r, int32_t fd, int sock) {
  ready *rd = r->be;
  fail_fd(r, fd, -EBADF);
  if (sock && fd >= 0 && (uint32_t)fd < rd->nfds) rd->fds[fd].kind = K_SOCK;
}

static int32_t do_close(dk_reactor *r, const struct dk_sqe *e) {
  ready *rd = r->be;
  fdst *f = fd_state(r, e->fd);
  if (!f) return -EBADF;
  for (int l = 0; l < 3; l++) {
    while (rd->fds[e->fd].head[l] != DK_NIL) cancel_slot(r, rd->fds[e->fd].head[l]);
  }
  fail_fd(r, e->fd, -ECANCELED); /* queued file jobs; forget the registration */
  pthread_mutex_lock(&rd->mu);
  int busy = fd_running(rd, e->fd);
  pthread_mutex_unlock(&rd->mu);
  if (busy) {
    int32_t i = slot_alloc(r, e);
    if (i < 0) return i;
    int32_t v = file_job(r, i);
    if (v < 0) slot_free(r, i);
    return v;
  }
  int32_t res = close(e->fd) < 0 && errno != EINTR ? -errno : 0;
  post(r, e->token, res, 0, e->op);
  return 0;
}

/*
 * The kind of fd, found once per file.  No syscall here may block the reactor
 * thread: a socket given in blocking mode is switched to nonblocking (its ops
 * all run here, and accept(2) has no per-call nonblocking flag); a pipe or tty
 * is left as it is (its file description may be shared with a terminal or a
 * parent) and marked blocking, so its ops run only when poll(2) says ready.
 */
static int kind_of(ready *rd, int fd) {
  fdst *f = &rd->fds[fd];
  if (f->kind == K_UNKNOWN) {
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    f->kind = S_ISSOCK(st.st_mode) ? K_SOCK
              : (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) ? K_FILE
                                                                                     : K_OTHER;
    f->blocking = 0;
    if (f->kind != K_FILE && fd_blocking(fd)) {
      if (f->kind == K_SOCK) {
        int32_t v = set_nonblock_cloexec(fd);
        if (v < 0) return v;
      } else {
        f->blocking = 1;
      }
    }
  }
  return f->kind;
}

/* For a pipe or tty in blocking mode, is the op's direction ready now?  Always
 * true otherwise (nonblocking fds answer EAGAIN themselves). */
static int readable_now(ready *rd, int fd, uint8_t op) {
  if ((op != DK_OP_READ && op != DK_OP_WRITE) || !rd->fds[fd].blocking) return 1;
  struct pollfd pf = {fd, op == DK_OP_READ ? POLLIN : POLLOUT, 0};
  return poll(&pf, 1, 0) > 0;
}

static int32_t ready_submit_one(dk_reactor *r, const struct dk_sqe *e) {
  ready *rd = r->be;
  int l = LR;
  switch (e->op) {
  case DK_OP_NOP:
    post(r, e->token, 0, 0, e->op);
    return 0;
  case DK_OP_CANCEL: {
    int32_t t = slot_find_token(r, (uint32_t)e->arg);
    if (t == DK_NIL) return -ENOENT;
    cancel_slot(r, t);
    post(r, e->token, 0, 0, e->op);
    return 0;
  }
  case DK_OP_CLOSE:
    return do_close(r, e);
  case DK_OP_OPEN:
  case DK_OP_READ_FILE: /* the whole op (open, fstat, I/O, close) is one worker job */
  case DK_OP_WRITE_FILE: {
    int32_t i = slot_alloc(r, e);
    if (i < 0) return i;
    /* A READ_FILE whose path and pages are all cached is done here, as io_uring does it inline:
     * no hand-off to a worker and back.  Its fd is opened and closed within this call, before
     * any other record is vetted, so it needs no claim. */
    int32_t res;
    uint32_t cflags;
    if (file_op_nowait(e->op, e->addr, e->arg, e->len, &res, &cflags)) {
      slot_at(r, i)->cflags = (uint8_t)cflags;
      op_complete(r, i, res);
      return 0;
    }
    /* A whole-file op's slot is on no fd list and unqueue_jobs never matches it by fd, so its
     * fd field (WRITE_FILE's mode, passed to the job) is never taken for a TS fd. */
    int32_t v = file_job(r, i);
    if (v < 0) slot_free(r, i);
    return v;
  }
  case DK_OP_READ:
  case DK_OP_WRITE: {
    if (!fd_state(r, e->fd)) return -EBADF;
    int k = kind_of(rd, e->fd);
    if (k < 0) return k;
    if (k == K_FILE) {
      int32_t i = slot_alloc(r, e);
      if (i < 0) return i;
      /* A READ of cached pages is done here when no job on this fd is queued or running (it
       * must not overtake them); what is not cached goes to a worker. */
      int32_t res;
      if (e->op == DK_OP_READ && !fd_has_jobs(rd, e->fd) &&
          file_read_nowait(e->fd, (void *)(uintptr_t)e->addr, e->len, e->arg, &res)) {
        op_complete(r, i, res);
        return 0;
      }
      int32_t v = file_job(r, i);
      if (v < 0) slot_free(r, i);
      return v;
    }
    l = e->op == DK_OP_READ ? LR : LW;
    break;
  }
  case DK_OP_CONNECT:
    l = LW;
    break;
  default: { /* ACCEPT, RECV, RECVFROM, SEND, SENDTO, SHUTDOWN, UDP_CONNECT, POLL */
    if (!fd_state(r, e->fd)) return -EBADF;
    int k = kind_of(rd, e->fd); /* a blocking socket becomes nonblocking */
    if (k < 0) return k;
    if (e->op == DK_OP_POLL) l = LP;
    else if (e->op != DK_OP_ACCEPT && e->op != DK_OP_RECV && e->op != DK_OP_RECVFROM) l = LW;
    break;
  }
  }
  int32_t i = slot_alloc(r, e);
  if (i < 0) return i;
  dk_slot *s = slot_at(r, i);
  int fd = e->fd;
  if (e->op == DK_OP_CONNECT || e->op == DK_OP_UDP_CONNECT ||
      (e->op == DK_OP_SENDTO && e->arg)) {
    int fam = addr_to_sockaddr(sqe_addr(r, e), &s->sa, &s->salen);
    if (fam < 0) {
      slot_free(r, i);
      return fam;
    }
    if (e->op == DK_OP_CONNECT) {
      int v = new_socket(fam, SOCK_STREAM);
      if (v < 0) {
        slot_free(r, i);
        return v;
      }
      fd_new(r, v, 1);
      s->sock = v;
      s->fd = -1;
      fd = v;
      if (connect(v, &s->sa.sa, s->salen) == 0) {
        s->sock = -1;
        op_complete(r, i, v);
        return 0;
      }
      if (errno != EINPROGRESS && errno != EINTR) {
        int32_t err = -errno;
        close(v);
        fd_fresh(rd, v);
        slot_free(r, i);
        return err;
      }
      own_fd(r, v, FD_CONNECTING); /* refused to every op until the connect completes */
    }
  }
  fdst *f = fd_state(r, fd);
  if (!f) {
    if (s->sock >= 0) {
      own_fd(r, s->sock, FD_TS);
      close(s->sock);
    }
    slot_free(r, i);
    return -EBADF;
  }
  /* A POLL never waits behind another: it consumes nothing, so order does not matter.
   * A read op on a drained socket waits for its edge (see the top). */
  if ((f->head[l] == DK_NIL || l == LP) && e->op != DK_OP_CONNECT && !(l == LR && f->drained)) {
    int32_t res;
    if (l == LP) {
      struct pollfd pf = {fd, dk_to_poll(e->len), 0};
      if (poll(&pf, 1, 0) > 0) {
        op_complete(r, i, pf.revents & POLLNVAL ? -EBADF
                                                : (int32_t)(poll_to_dk((uint32_t)pf.revents) &
                                                            (e->len | DK_POLL_ERR | DK_POLL_HUP)));
        return 0;
      }
    } else if (!readable_now(rd, fd, e->op)) {
      /* a pipe/tty that may be blocking: only touch it when poll says so */
    } else if (attempt(r, i, &res)) {
      op_complete(r, i, res);
      return 0;
    }
    f = &rd->fds[fd];
  }
  if (!f->reg) {
    int32_t v = poller_add(rd->p, fd);
    if (v < 0) {
      if (v == -EPERM && (e->op == DK_OP_READ || e->op == DK_OP_WRITE)) {
        f->kind = K_FILE; /* not pollable: a file for our purposes */
        v = file_job(r, i);
        if (v < 0) slot_free(r, i);
        return v;
      }
      if (s->sock >= 0) {
        own_fd(r, s->sock, FD_TS);
        close(s->sock);
      }
      slot_free(r, i);
      return v;
    }
    f->reg = 1;
  }
  list_append(r, f, l, i);
  return 0;
}

static int32_t ready_flush(dk_reactor *r) {
  (void)r;
  return 0;
}

static int32_t ready_wait(dk_reactor *r, int32_t timeout_ms) {
  ready *rd = r->be;
  rd->woken = 0;
  r->collecting = 1;
  r->out_n = 0;
  drain_queue(r);
  drain_dones(r);
  /* wake_pending loads and clears are seq_cst (the Dekker pattern of
   * signal_wake); d_avail's acquire pairs with the worker's release. */
  if (timeout_ms == 0 && rd->n_waiting == 0 && !rd->more &&
      !atomic_load_explicit(&rd->wake_pending, memory_order_seq_cst) &&
      !atomic_load_explicit(&rd->d_avail, memory_order_acquire)) {
    r->collecting = 0; /* idle: nothing the kernel could report */
    return (int32_t)r->out_n;
  }
  atomic_store_explicit(&rd->wake_pending, 0, memory_order_seq_cst);
  int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
  int32_t err = 0;
  for (;;) {
    int t = timeout_ms;
    if (r->out_n > 0) t = 0;
    else if (timeout_ms > 0) {
      int64_t left = deadline - now_ms();
      t = left > 0 ? (int)left : 0;
    }
    int32_t n = poller_wait(rd->p, rd->evs, 256, t);
    rd->more = n == 256;
    if (n < 0 && n != -EINTR) {
      err = n;
      break;
    }
    for (int32_t k = 0; k < n; k++) {
      if (rd->evs[k].fd == -1) {
        rd->woken = 1;
        drain_dones(r);
      } else {
        on_ready(r, rd->evs[k].fd, rd->evs[k].mask);
      }
    }
    if (r->out_n > 0 || rd->woken || t == 0) break;
  }
  r->collecting = 0;
  return r->out_n > 0 ? (int32_t)r->out_n : err;
}

static int32_t ready_wake(dk_reactor *r) { return signal_wake(r->be); }

/* How long destroy waits for the file workers' running jobs (see dokio.h). */
#define WORKER_JOIN_MS 10000

#if !defined(__GLIBC__)
/* Are there queued jobs that are not cancelled or taken?  Called with mu held. */
static int jobs_left(const ready *rd) {
  for (uint32_t k = 0; k < rd->j_len; k++)
    if (rd->jobs[(rd->j_head + k) % rd->j_cap].idx != DK_NIL) return 1;
  return 0;
}
#endif

/* Join worker thread w by the deadline `end` (now_ms); 0 if it did not finish. */
static int join_worker(ready *rd, uint32_t w, int64_t end) {
#if defined(__GLIBC__)
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  int64_t left = end - now_ms();
  if (left < 0) left = 0;
  until.tv_sec += left / 1000;
  until.tv_nsec += (long)(left % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  return pthread_timedjoin_np(rd->th[w], NULL, &until) == 0;
#else
  for (;;) {
    pthread_mutex_lock(&rd->mu);
    int idle = rd->running_fd[w] == RUN_IDLE && !jobs_left(rd);
    pthread_mutex_unlock(&rd->mu);
    if (idle) break;
    if (now_ms() >= end) return 0;
    struct timespec d = {0, 1000000};
    nanosleep(&d, NULL);
  }
  pthread_join(rd->th[w], NULL); /* idle with stop set: it is leaving */
  return 1;
#endif
}

static void ready_destroy(dk_reactor *r) {
  ready *rd = r->be;
  rd->destroying = 1;
  r->collecting = 0;
  if (rd->th_started) {
    pthread_mutex_lock(&rd->mu);
    rd->stop = 1; /* queued jobs never start, except CLOSE (take_job) */
    pthread_cond_broadcast(&rd->cv);
    pthread_mutex_unlock(&rd->mu);
    int64_t end = now_ms() + WORKER_JOIN_MS;
    uint32_t w = 0;
    while (w < rd->th_started && join_worker(rd, w, end)) w++;
    if (w < rd->th_started) {
      /* A job is stuck in a syscall (jobs are regular-file I/O, and OPEN uses
       * O_NONBLOCK, so this takes a hung device or file system).  Leave the
       * workers and the state they touch (rd, its poller) behind rather than
       * free them under them: a bounded leak instead of a use after free. */
      for (; w < rd->th_started; w++) pthread_detach(rd->th[w]); /* they still signal rd->p */
      r->be = NULL;
      r->leak_slots = 1;
      return;
    }
    drain_dones(r);
  }
  uint32_t total = r->n_chunks * DK_CHUNK;
  for (uint32_t k = 0; k < total; k++) {
    dk_slot *s = slot_at(r, (int32_t)k);
    if (s->state == ST_ACTIVE && s->op == DK_OP_CONNECT && s->sock >= 0) close(s->sock);
  }
  poller_close(rd->p);
  pthread_mutex_destroy(&rd->mu);
  for (uint32_t w = 0; w < DK_FILE_WORKERS_MAX; w++) pthread_mutex_destroy(&rd->claim[w].mu);
  pthread_cond_destroy(&rd->cv);
  free(rd->fds);
  free(rd->jobs);
  free(rd->dones);
  free(rd);
  r->be = NULL;
}

/*
 * A record's fd is vetted against the files the workers' whole-file jobs hold.  Such a file is the
 * reactor's own while the job runs, like an io_uring FD_FILE_OP, but it is opened and closed on a
 * worker thread, so it cannot be marked in the fd table (that table is the reactor thread's
 * alone).  A worker opens and claims it, and closes it and ends the claim, each as one step under
 * its claim's lock (fs.c file_op_run); here the claim checks and the fcntl that proves the number
 * open run with every started worker's claim lock held (taken in index order; a worker only ever
 * holds its own, so no cycle).  So a number that is open and not claimed when this returns is no
 * job's, and no job can get it before it is closed, which the reactor would see (its CLOSE, or a
 * close notice resetting `checked`).  The locks, not atomics, are what make each open and its
 * claim indivisible for this reader.  Before a worker exists no job opens files, and th_started
 * is written only on this thread (file_job), so the common path takes no lock.
 */
static int32_t ready_vet_fd(dk_reactor *r, int32_t fd, dk_fd_info *f) {
  ready *rd = r->be;
  uint32_t n = rd->th_started;
  if (n == 0) return fd_vet_open(fd, f);
  int32_t v = 0;
  for (uint32_t w = 0; w < n; w++) {
    pthread_mutex_lock(&rd->claim[w].mu);
    if (rd->claim[w].fd == fd) v = -EBADF;
  }
  if (v == 0) v = fd_vet_open(fd, f);
  for (uint32_t w = n; w-- > 0;) pthread_mutex_unlock(&rd->claim[w].mu);
  return v;
}

/* Contract: see reactor.h. */
int32_t ready_file_workers(dk_reactor *r, uint32_t n) {
  ready *rd = r->be;
  if (n < 1 || n > DK_FILE_WORKERS_MAX) return -EINVAL;
  if (n < rd->th_started) return -EBUSY;
  rd->n_workers = n; /* read only by file_job, on this thread */
  return 0;
}

static const dk_backend_ops ready_ops = {ready_submit_one, ready_flush, ready_wait, ready_wake,
                                         ready_destroy, ready_closed_elsewhere, ready_fresh,
                                         ready_vet_fd};

int32_t ready_create(dk_reactor *r, int32_t backend, uint32_t entries) {
  (void)entries;
  ready *rd = calloc(1, sizeof *rd);
  if (!rd) return -ENOMEM;
  int32_t v = poller_open(&rd->p);
  if (v < 0) {
    free(rd);
    return v;
  }
  pthread_mutex_init(&rd->mu, NULL);
  pthread_cond_init(&rd->cv, NULL);
  for (uint32_t w = 0; w < DK_FILE_WORKERS_MAX; w++) {
    pthread_mutex_init(&rd->claim[w].mu, NULL);
    rd->claim[w].fd = -1;
    rd->running_fd[w] = RUN_IDLE;
  }
  rd->n_workers = DK_FILE_WORKERS_DEFAULT;
  r->be = rd;
  r->ops = &ready_ops;
  r->backend = backend;
  int32_t own[2];
  int32_t n = poller_fds(rd->p, own);
  for (int32_t k = 0; k < n; k++) add_own_fd(r, own[k]);
  return 0;
}
