/* core/net/engine-watch.c: file descriptors and timers watched by the engine (see
 * "fd watches and timers" in core/net/engine.h).
 *
 * A watch's fd is in the engine's epoll set (engine-loop.c), found again by its number when
 * an event comes (a table, engine thread only): a watch removed by an earlier callback of
 * the same batch is simply not found. A timer is a node of the loop's heap; one removed
 * while its own fn runs is freed after it.
 */
#include "net/engine.h"
#include "net/engine-loop.h"
#include "net/engine-watch.h"
#include "base/fork.h"

struct hvb_engine_watch {
  int fd;
  short events;
  hvb_engine_watch_fn fn;
  void *data;
};

struct hvb_engine_timer {
  hvb_loop_timer node; /* first: the heap's pointer is the timer's */
  void (*fn)(void *data);
  void *data;
  bool firing, dead;
};

static GHashTable *watches; /* fd -> hvb_engine_watch*, engine thread */

hvb_engine_watch *hvb__engine_watch_add(int fd, short events, hvb_engine_watch_fn fn,
                                        void *data) {
  g_return_val_if_fail(hvb__engine_in_turn(), NULL);
  if (!watches) watches = g_hash_table_new(NULL, NULL);
  g_return_val_if_fail(!g_hash_table_contains(watches, GINT_TO_POINTER(fd)), NULL);
  if (!hvb__loop_fd_set(fd, HVB_LOOP_WATCH, events, false)) return NULL;
  hvb_engine_watch *w = g_new0(hvb_engine_watch, 1);
  w->fd = fd;
  w->events = events;
  w->fn = fn;
  w->data = data;
  g_hash_table_insert(watches, GINT_TO_POINTER(fd), w);
  return w;
}

void hvb__engine_watch_set(hvb_engine_watch *w, short events) {
  if (!w || w->events == events) return;
  bool added = w->events != 0;
  w->events = events;
  if (!hvb__loop_fd_set(w->fd, HVB_LOOP_WATCH, events, added))
    w->events = 0; /* the fd is gone (closed): nothing will come */
}

void hvb__engine_watch_remove(hvb_engine_watch *w) {
  if (!w) return;
  hvb__loop_fd_remove(w->fd);
  g_hash_table_remove(watches, GINT_TO_POINTER(w->fd));
  g_free(w);
}

void hvb__engine_watch_ready(int fd, uint32_t epoll_events) {
  hvb_engine_watch *w = watches ? g_hash_table_lookup(watches, GINT_TO_POINTER(fd)) : NULL;
  if (!w) return;
  /* A hang-up or error is reported as what the watch waits for: its read gets 0 or its
   * write fails, and it learns why there (level-triggered: it must not stay unreported). */
  bool gone = epoll_events & (EPOLLHUP | EPOLLERR);
  short r = (short)(((epoll_events & EPOLLIN) || gone ? HVB_WATCH_IN : 0) |
                    ((epoll_events & EPOLLOUT) || gone ? HVB_WATCH_OUT : 0));
  r &= w->events;
  if (r) w->fn(w->data, r);
}

static void timer_fire(hvb_loop_timer *node) {
  hvb_engine_timer *t = (hvb_engine_timer *)node;
  t->firing = true;
  t->fn(t->data);
  g_free(t); /* one-shot: its owner forgets it in fn */
}

hvb_engine_timer *hvb__engine_timer_add(gint64 due, void (*fn)(void *data), void *data) {
  g_return_val_if_fail(hvb__engine_in_turn(), NULL);
  hvb_engine_timer *t = g_new0(hvb_engine_timer, 1);
  t->node.fire = timer_fire;
  t->fn = fn;
  t->data = data;
  hvb__loop_timer_arm(&t->node, due);
  return t;
}

void hvb__engine_timer_remove(hvb_engine_timer *t) {
  if (!t || t->firing) return; /* firing: freed once its fn returns */
  hvb__loop_timer_disarm(&t->node);
  g_free(t);
}

void hvb__engine_watch_forget(void) {
  /* fork child: the owners of the parent's watches are calls that are over here */
  hvb__fork_keep(watches);
  watches = NULL;
}

void hvb__engine_watch_close(void) {
  /* The loop is closing with no work left: a watch's owner removed it before its work ended,
   * so the table is empty. */
  if (watches) g_hash_table_destroy(watches);
  watches = NULL;
}
