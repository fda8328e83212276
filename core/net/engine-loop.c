/* core/net/engine-loop.c: the engine's poller (see engine-loop.h).
 *
 * Level-triggered epoll: an fd that stays ready is reported at every wait, which is what
 * libcurl's socket interface and the watches' contract (engine.h) expect, and what lets a
 * caller's loop (async.h) poll the epoll fd itself for readability: it is readable exactly
 * while a wait here would return an event. Timers live in a binary min-heap of pointers to
 * nodes embedded in their owners, each node knowing its index, so arming, disarming and
 * re-arming are O(log n) and a turn touches only the timers that are due.
 */
#include "net/engine-loop.h"
#include "net/engine.h"
#include "base/fork.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_EVENTS 256

static int epfd = -1, wakefd = -1;
static struct epoll_event ready[MAX_EVENTS];
static hvb_loop_timer **heap;
static guint heap_len, heap_cap;
static guint64 run_seq; /* the current run of timers */
/* Deferred removals (hvb__loop_fd_remove_later): later[fd] is set while one waits; the fds
 * whose removal was asked in this turn, and in the previous one. */
static guint8 *later;
static int later_cap;
static GArray *removed_now, *removed_before;

bool hvb__loop_open(void) {
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return false;
  wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakefd < 0 || !hvb__loop_fd_set(wakefd, HVB_LOOP_WAKE, HVB_WATCH_IN, false)) {
    int e = errno;
    hvb__loop_close();
    errno = e;
    return false;
  }
  return true;
}

/* Forget the deferred removals (the set they were for is gone). */
static void later_reset(bool free_all) {
  if (later) memset(later, 0, (size_t)later_cap);
  if (removed_now) g_array_set_size(removed_now, 0);
  if (removed_before) g_array_set_size(removed_before, 0);
  if (!free_all) return;
  g_free(later);
  later = NULL;
  later_cap = 0;
  if (removed_now) g_array_free(removed_now, TRUE);
  if (removed_before) g_array_free(removed_before, TRUE);
  removed_now = removed_before = NULL;
}

void hvb__loop_close(void) {
  later_reset(true);
  for (guint i = 0; i < heap_len; i++) heap[i]->pos = 0; /* disarmed, should one be reused */
  if (wakefd >= 0) close(wakefd);
  if (epfd >= 0) close(epfd);
  epfd = wakefd = -1;
  g_free(heap);
  heap = NULL;
  heap_len = heap_cap = 0;
}

void hvb__loop_atfork(bool reopen) {
  int old = epfd;
  if (wakefd >= 0) close(wakefd);
  epfd = wakefd = -1;
  later_reset(false);
  hvb__fork_keep(heap); /* the parent's timers' owners are calls that are over here */
  heap = NULL;
  heap_len = heap_cap = 0;
  if (!reopen) {
    if (old >= 0) close(old);
    return;
  }
  if (hvb__loop_open() && old >= 0 && epfd != old) {
    /* dup3 closes our copy of the parent's epoll fd and puts ours on its number. */
    if (dup3(epfd, old, O_CLOEXEC) == old) {
      close(epfd);
      epfd = old;
    } else {
      close(old);
    }
  }
}

int hvb__loop_fd(void) {
  return epfd;
}

void hvb__loop_wake(void) {
  if (wakefd < 0) return;
  uint64_t one = 1;
  /* EAGAIN: the counter is full, so the wait is woken anyway. */
  ssize_t n = write(wakefd, &one, sizeof one);
  (void)n;
}

void hvb__loop_wake_drain(void) {
  uint64_t v;
  ssize_t n = read(wakefd, &v, sizeof v);
  (void)n;
}

bool hvb__loop_fd_set(int fd, hvb_loop_kind kind, short events, bool added) {
  if (!events) {
    hvb__loop_fd_remove(fd);
    return true;
  }
  if (fd < later_cap && later[fd]) {
    later[fd] = 0; /* back before its removal: still in the set (or closed: ENOENT below) */
    added = true;
  }
  struct epoll_event ev = {
      .events = (events & HVB_WATCH_IN ? EPOLLIN : 0) | (events & HVB_WATCH_OUT ? EPOLLOUT : 0),
      .data.u64 = ((uint64_t)kind << 32) | (uint32_t)fd};
  int op = added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(epfd, op, fd, &ev) == 0) return true;
  /* Our idea of whether it is in the set was wrong (an fd number reused): the other op. */
  if (errno == (added ? ENOENT : EEXIST))
    return epoll_ctl(epfd, added ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) == 0;
  return false;
}

void hvb__loop_fd_remove(int fd) {
  if (fd >= 0 && fd < later_cap) later[fd] = 0;
  /* ENOENT (not in the set) and EBADF (closed already, which took it out) are fine. */
  (void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

void hvb__loop_fd_remove_later(int fd) {
  if (fd < 0) return;
  if (fd >= later_cap) {
    int cap = MAX(later_cap * 2, MAX(fd + 1, 1024));
    later = g_realloc(later, (size_t)cap);
    memset(later + later_cap, 0, (size_t)(cap - later_cap));
    later_cap = cap;
  }
  if (later[fd]) return;
  later[fd] = 1;
  if (!removed_now) removed_now = g_array_new(FALSE, FALSE, sizeof(int));
  g_array_append_val(removed_now, fd);
}

void hvb__loop_flush(void) {
  /* A closed fd left the set with its close, and its number may be another socket of
   * ours by now only if that one was set again, which cleared later[fd]: a DEL here never
   * takes out a live registration. */
  for (guint i = 0; removed_before && i < removed_before->len; i++) {
    int fd = g_array_index(removed_before, int, i);
    if (!later[fd]) continue;
    later[fd] = 0;
    (void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  }
  if (removed_before) g_array_set_size(removed_before, 0);
  GArray *t = removed_before;
  removed_before = removed_now;
  removed_now = t;
}

int hvb__loop_wait(int timeout_ms, struct epoll_event **evs) {
  *evs = ready;
  int n = epoll_wait(epfd, ready, MAX_EVENTS, timeout_ms);
  return n < 0 ? 0 : n; /* EINTR: a turn with nothing ready */
}

/* ---- the timer heap ---- */

static void heap_place(guint i, hvb_loop_timer *t) {
  heap[i] = t;
  t->pos = i + 1;
}

static void sift_up(guint i) {
  hvb_loop_timer *t = heap[i];
  while (i > 0) {
    guint parent = (i - 1) / 2;
    if (heap[parent]->due <= t->due) break;
    heap_place(i, heap[parent]);
    i = parent;
  }
  heap_place(i, t);
}

static void sift_down(guint i) {
  hvb_loop_timer *t = heap[i];
  for (;;) {
    guint c = 2 * i + 1;
    if (c >= heap_len) break;
    if (c + 1 < heap_len && heap[c + 1]->due < heap[c]->due) c++;
    if (heap[c]->due >= t->due) break;
    heap_place(i, heap[c]);
    i = c;
  }
  heap_place(i, t);
}

void hvb__loop_timer_disarm(hvb_loop_timer *t) {
  if (!t->pos) return;
  guint i = t->pos - 1;
  t->pos = 0;
  hvb_loop_timer *last = heap[--heap_len];
  if (i == heap_len) return;
  heap_place(i, last);
  if (i > 0 && heap[(i - 1) / 2]->due > last->due) sift_up(i);
  else sift_down(i);
}

void hvb__loop_timer_arm(hvb_loop_timer *t, gint64 due) {
  hvb__loop_timer_disarm(t);
  if (heap_len == heap_cap) {
    heap_cap = heap_cap ? heap_cap * 2 : 64;
    heap = g_renew(hvb_loop_timer *, heap, heap_cap);
  }
  t->due = due;
  t->seq = run_seq;
  heap[heap_len] = t;
  sift_up(heap_len++);
}

void hvb__loop_run_timers(gint64 now) {
  guint64 seq = ++run_seq;
  /* A fire that arms a timer due now (libcurl asks for 0 ms) would keep this loop going: a
   * timer armed during this run (seq == run_seq) waits for the next turn, which does not
   * sleep since it is due. */
  while (heap_len && heap[0]->due <= now && heap[0]->seq < seq) {
    hvb_loop_timer *t = heap[0];
    hvb__loop_timer_disarm(t);
    t->fire(t);
  }
}

gint64 hvb__loop_next_due(void) {
  return heap_len ? heap[0]->due : G_MAXINT64;
}
