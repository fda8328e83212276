/* core/net/engine-watch.c: file descriptors and timers watched by the engine (see
 * "fd watches and timers" in core/net/engine.h).
 *
 * Both lists belong to the engine thread: they are touched only inside a turn, so no lock.
 * A watch or timer removed while the lists are walked (its own callback, or another's) is
 * only marked, and freed once the walk is over, so a walk never follows a freed link.
 */
#include "net/engine.h"
#include "net/engine-watch.h"

#include <poll.h>

struct hvb_engine_watch {
  int fd;
  short events, revents;
  hvb_engine_watch_fn fn;
  void *data;
  bool dead;
};

struct hvb_engine_timer {
  gint64 due;
  void (*fn)(void *data);
  void *data;
  bool dead;
};

static GPtrArray *watches, *timers; /* engine thread */
static int walking;                 /* inside a dispatch: removals are deferred */

hvb_engine_watch *hvb__engine_watch_add(int fd, short events, hvb_engine_watch_fn fn,
                                        void *data) {
  g_return_val_if_fail(hvb__engine_in_turn(), NULL);
  if (!watches) watches = g_ptr_array_new();
  hvb_engine_watch *w = g_new0(hvb_engine_watch, 1);
  w->fd = fd;
  w->events = events;
  w->fn = fn;
  w->data = data;
  g_ptr_array_add(watches, w);
  return w;
}

void hvb__engine_watch_set(hvb_engine_watch *w, short events) {
  if (w) w->events = events;
}

void hvb__engine_watch_remove(hvb_engine_watch *w) {
  if (!w) return;
  w->dead = true;
  if (!walking) {
    g_ptr_array_remove_fast(watches, w);
    g_free(w);
  }
}

hvb_engine_timer *hvb__engine_timer_add(gint64 due, void (*fn)(void *data), void *data) {
  g_return_val_if_fail(hvb__engine_in_turn(), NULL);
  if (!timers) timers = g_ptr_array_new();
  hvb_engine_timer *t = g_new0(hvb_engine_timer, 1);
  t->due = due;
  t->fn = fn;
  t->data = data;
  g_ptr_array_add(timers, t);
  return t;
}

void hvb__engine_timer_remove(hvb_engine_timer *t) {
  if (!t) return;
  t->dead = true;
  if (!walking) {
    g_ptr_array_remove_fast(timers, t);
    g_free(t);
  }
}

/* Free what was removed during a walk. */
static void sweep(GPtrArray *a) {
  for (guint i = 0; a && i < a->len;) {
    bool *dead = a == watches ? &((hvb_engine_watch *)a->pdata[i])->dead
                              : &((hvb_engine_timer *)a->pdata[i])->dead;
    if (*dead) g_free(g_ptr_array_steal_index_fast(a, i));
    else i++;
  }
}

gint64 hvb__engine_watch_dispatch(gint64 wake) {
  walking++;
  /* The array may grow while walked (a callback adds): new entries wait for the next turn. */
  guint n = watches ? watches->len : 0;
  for (guint i = 0; i < n; i++) {
    hvb_engine_watch *w = watches->pdata[i];
    short r = w->revents;
    w->revents = 0;
    if (!w->dead && r) w->fn(w->data, r);
  }
  gint64 now = g_get_monotonic_time();
  n = timers ? timers->len : 0;
  for (guint i = 0; i < n; i++) {
    hvb_engine_timer *t = timers->pdata[i];
    if (t->dead || t->due > now) continue;
    t->dead = true; /* one-shot */
    t->fn(t->data);
  }
  walking--;
  sweep(watches);
  sweep(timers);
  for (guint i = 0; timers && i < timers->len; i++)
    wake = MIN(wake, ((hvb_engine_timer *)timers->pdata[i])->due);
  return wake;
}

unsigned hvb__engine_watch_fds(struct curl_waitfd **fds) {
  static struct curl_waitfd *buf;
  static guint cap;
  guint n = watches ? watches->len : 0;
  if (n > cap) {
    cap = n * 2;
    buf = g_renew(struct curl_waitfd, buf, cap);
  }
  for (guint i = 0; i < n; i++) {
    hvb_engine_watch *w = watches->pdata[i];
    buf[i].fd = w->fd;
    buf[i].events = (short)((w->events & HVB_WATCH_IN ? CURL_WAIT_POLLIN : 0) |
                            (w->events & HVB_WATCH_OUT ? CURL_WAIT_POLLOUT : 0));
    buf[i].revents = 0;
  }
  *fds = buf;
  return n;
}

void hvb__engine_watch_polled(const struct curl_waitfd *fds, unsigned n) {
  for (guint i = 0; i < n && watches && i < watches->len; i++) {
    hvb_engine_watch *w = watches->pdata[i];
    short r = fds[i].revents;
    /* curl reports POLLIN/POLLOUT/POLLPRI only; a hang-up shows as readable (read gets 0). */
    w->revents = (short)((r & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI) ? HVB_WATCH_IN : 0) |
                         (r & CURL_WAIT_POLLOUT ? HVB_WATCH_OUT : 0));
  }
}

void hvb__engine_watch_forget(void) {
  /* fork child: the owners of the parent's watches are calls that are over here */
  watches = timers = NULL;
  walking = 0;
}
