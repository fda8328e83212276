/* core/net/engine.c: the async engine (see core/net/engine.h; the public contract is
 * include/heavenbase/async.h).
 *
 * One I/O thread owns one libcurl multi handle and runs every async transfer in it through
 * libcurl's socket interface (curl_multi_socket_action: libcurl tells which sockets to watch
 * and when its timeout is due; engine-loop.c keeps them in one epoll set and a timer heap);
 * other threads hand it work through two lists under `lock` (works to start, works to
 * cancel) and wake it through the loop's eventfd. A work's transfer is made detached
 * (core/net/transport.c) and attached to the engine's multi: the retry, backoff and timeout
 * code is the synchronous path's, not a copy.
 *
 * Ops run at safe points of the loop only, never inside libcurl's callbacks: output is queued
 * by the transfer's body sink inside curl_multi_socket_action and handed out afterwards
 * (deliver, for the works whose transfer received something in the turn),
 * so a callback may remove any transfer from the multi handle (cancel, free) without confusing
 * libcurl. Cancellation requested on the engine thread is therefore deferred to the next turn
 * of the loop; requested elsewhere, the requester waits for it.
 *
 * Lifetime: the thread is started by the first submission and exits when no work is left;
 * whoever starts the next one joins it, and a destructor joins the last one at exit, so no
 * thread or multi handle outlives the works (valgrind stays clean).
 */
#include "net/engine.h"
#include "net/transport.h"
#include "net/engine-watch.h"
#include "net/engine-loop.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"
#include "base/fork.h"

#include <curl/curl.h>
#include <glib.h>
#include <errno.h>
#include <string.h>

#define MAX_POLL_MS 1000 /* a bound on how long the loop sleeps without a timer */

static GMutex lock;
static GCond changed; /* a work became done; the thread exited */
static int waiters;   /* threads waiting on `changed` (guarded by lock) */
static GThread *thread;       /* the running engine, NULL when none */
static GThread *zombie;       /* an engine thread that exited and is not joined yet */
static CURLM *multi;          /* the running engine's; wakeups use it under lock */
static GPtrArray *incoming;   /* hvb_work* to start (engine reference), not yet attached */
static GPtrArray *cancels;    /* hvb_work* to cancel (extra reference each) */
static int live;              /* works submitted and not yet done */
static GQueue active = G_QUEUE_INIT; /* engine thread only: attached works not over */
/* Every counted work until it is freed, under lock: what a child of fork() inherits (see
 * the fork() section; `active` belongs to the engine thread and may be mid-change then). */
static GQueue all = G_QUEUE_INIT;
/* Caller-driven mode (hvb__engine_drive_begin): no engine thread; `driver` runs the turns. */
static bool driven;
static GThread *driver;
static _Thread_local bool in_turn; /* this thread is inside an engine turn (callbacks run) */
/* Engine thread: works whose transfer received data this turn (deliver runs for them). */
static GQueue touched = G_QUEUE_INIT;
static hvb_loop_timer curl_timer; /* libcurl's timeout (CURLMOPT_TIMERFUNCTION) */
static CURLM *turn_multi;         /* the multi handle of the running turn */
static CURLMcode turn_mc;         /* the turn's first libcurl multi error */
static int loop_errno;            /* the loop could not be made: works fail at attach */

/* Waiting on `changed` and announcing it, with `lock` held. A broadcast is a futex system
 * call even when nobody waits, and a completion made one per work: it is skipped when no
 * thread waits (waiters counts under the same lock, so no wakeup can be missed). */
static void changed_wait(void) {
  waiters++;
  g_cond_wait(&changed, &lock);
  waiters--;
}

static bool changed_wait_until(gint64 end) {
  waiters++;
  bool woken = g_cond_wait_until(&changed, &lock, end);
  waiters--;
  return woken;
}

static void changed_broadcast(void) {
  if (waiters) g_cond_broadcast(&changed);
}

/* The driving thread outside a turn: waiting must drive the engine, not block on it. */
static bool must_drive(void) {
  g_mutex_lock(&lock);
  bool yes = driven && driver == g_thread_self() && !in_turn;
  g_mutex_unlock(&lock);
  return yes;
}

bool hvb__engine_in_turn(void) {
  return in_turn;
}

bool hvb__engine_is_current(void) {
  return in_turn || must_drive();
}

/* ---- libcurl's socket interface ---- */

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  (void)easy, (void)userp;
  if (what == CURL_POLL_REMOVE) {
    hvb__loop_fd_remove_later(s);
    return 0;
  }
  short ev = (short)((what & CURL_POLL_IN ? HVB_WATCH_IN : 0) |
                     (what & CURL_POLL_OUT ? HVB_WATCH_OUT : 0));
  if (!hvb__loop_fd_set(s, HVB_LOOP_CURL, ev, socketp != NULL)) {
    hvb__log(HVB_LOG_WARN, "async engine: cannot watch a socket: %s", g_strerror(errno));
    return -1; /* libcurl fails the transfer rather than leave it unwatched */
  }
  if (!socketp) curl_multi_assign(turn_multi, s, &curl_timer); /* any non-NULL: known */
  return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp) {
  (void)m, (void)userp;
  if (timeout_ms < 0) hvb__loop_timer_disarm(&curl_timer);
  else hvb__loop_timer_arm(&curl_timer, g_get_monotonic_time() + (gint64)timeout_ms * 1000);
  return 0;
}

static void turn_error(CURLMcode mc) {
  /* A socket libcurl closed after the event was read is not an error of the engine. */
  if (mc != CURLM_OK && mc != CURLM_BAD_SOCKET && turn_mc == CURLM_OK) turn_mc = mc;
}

static void curl_timer_fire(hvb_loop_timer *t) {
  (void)t;
  int running;
  turn_error(curl_multi_socket_action(turn_multi, CURL_SOCKET_TIMEOUT, 0, &running));
}

static void on_activity(void *owner) {
  hvb_work *w = owner;
  if (w->touch_link.data) return;
  w->touch_link.data = w;
  g_queue_push_tail_link(&touched, &w->touch_link);
}

static void untouch(hvb_work *w) {
  if (!w->touch_link.data) return;
  g_queue_unlink(&touched, &w->touch_link);
  w->touch_link.data = NULL;
}

/* A new engine's multi handle and, with `open_loop`, its loop; with `lock` held (the previous
 * engine is gone). */
static CURLM *multi_new(bool open_loop) {
  CURLM *m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HVB_ENGINE_MAX_HOST_CONNECTIONS);
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_timer.fire = curl_timer_fire;
  hvb__transfer_on_activity(on_activity);
  if (open_loop) loop_errno = hvb__loop_open() ? 0 : errno;
  else loop_errno = hvb__loop_fd() >= 0 ? 0 : EBADF;
  if (loop_errno)
    hvb__log(HVB_LOG_WARN, "async engine: cannot make its epoll set: %s", g_strerror(loop_errno));
  return m;
}

/* The engine's end, once no work is left: its sockets leave the epoll set first. */
static void multi_close(CURLM *m) {
  turn_multi = m;
  curl_multi_cleanup(m);
  turn_multi = NULL;
  hvb__engine_watch_close();
  hvb__admit_close();
  hvb__loop_close();
}

/* ---- works ------------------------------------------------------------------------------ */

static void tick_fire(hvb_loop_timer *t);

void hvb__work_init(hvb_work *w, const hvb_work_ops *ops, int refs) {
  w->ops = ops;
  w->refs = refs;
  w->link.data = w;
  w->tick.fire = tick_fire;
}

void hvb__work_ref(hvb_work *w) {
  g_atomic_int_inc(&w->refs);
}

void hvb__work_unref(hvb_work *w) {
  if (!w || !g_atomic_int_dec_and_test(&w->refs)) return;
  if (w->all_link.data) {
    g_mutex_lock(&lock);
    g_queue_unlink(&all, &w->all_link);
    g_mutex_unlock(&lock);
  }
  if (w->outcome) w->outcome_free(w->outcome);
  w->ops->release(w);
}

void hvb__work_set_outcome(hvb_work *w, void *outcome, void (*free_fn)(void *),
                           const hvb_error *err) {
  g_mutex_lock(&lock);
  if (w->outcome) w->outcome_free(w->outcome);
  w->outcome = outcome;
  w->outcome_free = free_fn;
  if (err) w->error = *err;
  w->over = true;
  g_mutex_unlock(&lock);
}

void *hvb__work_outcome(hvb_work *w, bool take) {
  g_mutex_lock(&lock);
  void *out = w->over ? w->outcome : NULL;
  if (take && w->over) w->outcome = NULL;
  g_mutex_unlock(&lock);
  return out;
}

bool hvb__work_is_over(const hvb_work *w) {
  g_mutex_lock(&lock);
  bool over = w->over;
  g_mutex_unlock(&lock);
  return over;
}

hvb_status hvb__work_status(const hvb_work *w) {
  g_mutex_lock(&lock);
  hvb_status st = w->over ? w->error.status : HVB_OK;
  g_mutex_unlock(&lock);
  return st;
}

const hvb_error *hvb__work_error(const hvb_work *w) {
  g_mutex_lock(&lock);
  const hvb_error *e = w->over && w->error.status != HVB_OK ? &w->error : NULL;
  g_mutex_unlock(&lock);
  return e;
}

bool hvb__work_cancel_requested(const hvb_work *w) {
  g_mutex_lock(&lock);
  bool cancelled = w->over || w->cancel_req;
  g_mutex_unlock(&lock);
  return cancelled;
}

/* ---- the engine thread ------------------------------------------------------------------ */

/* The work is over: hand out what is queued, let the kind set the outcome and run its
 * completion, then drop the engine's reference. `cancel`: it was cancelled. */
static void complete(hvb_work *w, bool cancel) {
  hvb__admit_leave(&w->admit, false); /* cancelled: its place (settle gave it otherwise) */
  if (w->attached) g_queue_unlink(&active, &w->link);
  w->attached = false;
  untouch(w);
  hvb__loop_timer_disarm(&w->tick);
  w->finished = true;
  if (!cancel) {
    if (w->ops->deliver) w->ops->deliver(w);
    g_mutex_lock(&lock);
    cancel = w->cancel_req; /* a delta callback may have cancelled it */
    g_mutex_unlock(&lock);
  }
  w->ops->finish(w, cancel);
  g_mutex_lock(&lock);
  w->over = w->done = true;
  live--;
  changed_broadcast();
  g_mutex_unlock(&lock);
  hvb__work_unref(w);
}

static void settle(hvb_work *w, hvb_step st, const hvb_error *e);

static void admit_overdue(hvb_work *w);

/* Run the transfer's own timers (a retry whose backoff passed, an idle attempt) and arm the
 * work's heap timer for the next; settle the work when that ended its transfer. A work that
 * waits for a connection has one timer, its deadline. */
static void tick(hvb_work *w) {
  if (hvb__admit_waiting(&w->admit)) { /* its timer is its deadline (transfer_attach) */
    gint64 deadline = hvb__transfer_deadline(w->ops->transfer(w));
    if (deadline > 0 && deadline <= g_get_monotonic_time()) admit_overdue(w);
    return;
  }
  hvb_error e = HVB_ERROR_INIT;
  long long due = 0;
  hvb_step st = hvb__transfer_tick(w->ops->transfer(w), g_get_monotonic_time(), &due, &e);
  if (st != HVB_STEP_RUNNING) {
    hvb__loop_timer_disarm(&w->tick);
    settle(w, st, &e);
  } else if (due > 0) {
    hvb__loop_timer_arm(&w->tick, due);
  } else {
    hvb__loop_timer_disarm(&w->tick);
  }
}

static void tick_fire(hvb_loop_timer *t) {
  tick((hvb_work *)((char *)t - offsetof(hvb_work, tick)));
}

/* Put a transfer into the multi handle for `w`, or queue it behind its origin's
 * (engine-admit.h; until its deadline at most); false with e set. */
static bool transfer_attach(hvb_work *w, hvb_transfer *t, hvb_error *e) {
  if (loop_errno)
    return hvb__fail(e, HVB_TRANSPORT, "async engine: cannot make its epoll set: %s",
                     g_strerror(loop_errno));
  if (!hvb__admit_enter(&w->admit, hvb__transfer_url(t), w)) {
    gint64 deadline = hvb__transfer_deadline(t);
    if (deadline > 0) hvb__loop_timer_arm(&w->tick, deadline);
    return true;
  }
  return hvb__transfer_attach(t, multi, w, e);
}

/* A queued work may start (its place is counted): attach its transfer. */
static void admit_start(hvb_work *w) {
  hvb__loop_timer_disarm(&w->tick);
  hvb_error e = HVB_ERROR_INIT;
  if (hvb__transfer_attach(w->ops->transfer(w), multi, w, &e)) tick(w);
  else settle(w, HVB_STEP_FAILED, &e);
}

/* A queued work's deadline passed: it leaves the queue and starts over the limit, so its
 * attempt fails at once with the transfer's own "total timeout" error. */
static void admit_overdue(hvb_work *w) {
  hvb__admit_leave(&w->admit, false);
  admit_start(w);
}

/* Start the queued works that have room now (a transfer of their origin ended). */
static void admit_drain(void) {
  hvb_work *w;
  while ((w = hvb__admit_next())) admit_start(w);
}

/* A transfer stopped or moved on: settle the work and complete it when it stopped. */
static void settle(hvb_work *w, hvb_step st, const hvb_error *e) {
  if (st == HVB_STEP_RUNNING) return;
  hvb__admit_leave(&w->admit, hvb__transfer_multiplexed(w->ops->transfer(w)));
  w->ops->settle(w, st, e);
  hvb_transfer *t = w->ops->next ? w->ops->next(w) : NULL;
  if (t) { /* the work stays in the active list, with its new transfer */
    hvb_error ae = HVB_ERROR_INIT;
    if (transfer_attach(w, t, &ae)) {
      tick(w);
      return;
    }
    settle(w, HVB_STEP_FAILED, &ae);
    return;
  }
  complete(w, false);
}

/* A submitted (or resumed) work's turn: put its transfer into the multi handle, or complete
 * a work that needs none (answered at once, handed back by its producer) or could not start. */
static void attach(hvb_work *w) {
  g_mutex_lock(&lock);
  bool resumed = w->resumed;
  w->resumed = false;
  g_mutex_unlock(&lock);
  hvb_transfer *t = w->finished || !w->ops->start ? NULL : w->ops->start(w);
  if (!t) {
    if (!w->finished) complete(w, false);
  } else {
    hvb_error e = HVB_ERROR_INIT;
    if (transfer_attach(w, t, &e)) {
      w->attached = true;
      g_queue_push_tail_link(&active, &w->link);
      tick(w);
    } else {
      settle(w, HVB_STEP_FAILED, &e);
    }
  }
  if (resumed) hvb__work_unref(w); /* the resume's reference */
}

static void take(GPtrArray **list, GPtrArray **out) {
  *out = *list;
  *list = g_ptr_array_new();
}

/* Start submitted works and process cancellations (a work not finished still holds the
 * engine's reference). */
static void take_submissions(void) {
  GPtrArray *in, *cx;
  g_mutex_lock(&lock);
  take(&incoming, &in);
  take(&cancels, &cx);
  for (guint i = 0; i < in->len; i++) ((hvb_work *)in->pdata[i])->queued = false;
  g_mutex_unlock(&lock);
  for (guint i = 0; i < in->len; i++) attach(in->pdata[i]);
  for (guint i = 0; i < cx->len; i++) {
    hvb_work *w = cx->pdata[i];
    if (!w->finished) complete(w, true);
    hvb__work_unref(w);
  }
  g_ptr_array_free(in, TRUE);
  g_ptr_array_free(cx, TRUE);
}

/* Hand out the output of the works whose transfer received data. */
static void deliver_touched(void) {
  GList *l;
  while ((l = touched.head)) { /* a deliver may complete other works: they leave the list */
    hvb_work *w = l->data;
    untouch(w);
    if (!w->finished && w->ops->deliver) w->ops->deliver(w);
  }
}

/* libcurl's reports of finished attempts: settle, or wait out a retry's backoff. */
static void collect(CURLM *m) {
  int queued;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(m, &queued))) {
    if (msg->msg != CURLMSG_DONE) continue;
    hvb_work *w = hvb__transfer_owner_of(msg->easy_handle);
    CURLcode rc = msg->data.result;
    hvb_error e = HVB_ERROR_INIT;
    /* msg is invalid once the handle leaves the multi: everything was read above. */
    hvb_step st = hvb__transfer_done(w->ops->transfer(w), rc, &e);
    if (st == HVB_STEP_RUNNING) tick(w);
    else settle(w, st, &e);
  }
}

/* The fds the wait reported: libcurl's sockets, the watches, the wakeup. */
static void dispatch_events(CURLM *m, const struct epoll_event *evs, int n) {
  for (int i = 0; i < n; i++) {
    int fd = hvb__loop_fd_of(&evs[i]);
    uint32_t ev = evs[i].events;
    switch (hvb__loop_kind_of(&evs[i])) {
    case HVB_LOOP_WAKE:
      hvb__loop_wake_drain();
      break;
    case HVB_LOOP_CURL: {
      int running;
      int act = (ev & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                (ev & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      turn_error(curl_multi_socket_action(m, fd, act, &running));
      break;
    }
    case HVB_LOOP_WATCH:
      hvb__engine_watch_ready(fd, ev);
      break;
    }
  }
}

/* libcurl calls the timer function only when its timeout changes; a timer that fired a
 * little before libcurl's own clock said so, or a change made outside socket_action (a
 * handle removed by a callback), could leave the heap without libcurl's next deadline and a
 * transfer waiting for an event that never comes. Ask libcurl once per turn (a look at its
 * timer tree, no system call). */
static void timer_resync(CURLM *m) {
  long ms = -1;
  if (curl_multi_timeout(m, &ms) != CURLM_OK || ms < 0) return;
  gint64 due = g_get_monotonic_time() + (gint64)ms * 1000;
  if (!curl_timer.pos || curl_timer.due > due) hvb__loop_timer_arm(&curl_timer, due);
}

/* How long the turn may sleep: until the earliest timer, at most max_ms. */
static int wait_ms(int max_ms) {
  gint64 due = hvb__loop_next_due();
  if (due == G_MAXINT64) return max_ms;
  gint64 left = (due - g_get_monotonic_time() + 999) / 1000;
  return (int)CLAMP(left, 0, max_ms);
}

/* The multi handle is broken (out of memory): fail what runs rather than spin. */
static void fail_active(CURLMcode mc) {
  hvb__log(HVB_LOG_WARN, "async engine: libcurl multi error: %s", curl_multi_strerror(mc));
  while (active.head) {
    hvb_error e = HVB_ERROR_INIT;
    hvb__fail(&e, HVB_TRANSPORT, "async engine: libcurl multi error: %s",
              curl_multi_strerror(mc));
    settle(active.head->data, HVB_STEP_FAILED, &e);
  }
}

/* One turn of the engine: start submitted works, process cancellations, sleep in the loop
 * until a socket or watch is ready, a wakeup, the earliest timer or `max_wait_ms` (not at all
 * when there is more to do), then let libcurl work on the ready sockets, run the watches and
 * the due timers, finish transfers and hand out output. Ops run inside, with in_turn set. */
static void engine_turn(CURLM *m, int max_wait_ms) {
  in_turn = true;
  turn_multi = m;
  turn_mc = CURLM_OK;
  take_submissions();
  g_mutex_lock(&lock);
  /* live == 0: return at once (the thread exits) rather than sleep with nothing to do. */
  bool more = incoming->len > 0 || cancels->len > 0 || live == 0;
  g_mutex_unlock(&lock);
  struct epoll_event *evs;
  int n = hvb__loop_wait(more ? 0 : wait_ms(max_wait_ms), &evs);
  dispatch_events(m, evs, n);
  hvb__loop_run_timers(g_get_monotonic_time());
  collect(m);
  deliver_touched();
  if (turn_mc != CURLM_OK) fail_active(turn_mc);
  admit_drain();
  hvb__loop_flush();
  timer_resync(m);
  in_turn = false;
}

static gpointer engine_main(gpointer unused) {
  (void)unused;
  g_mutex_lock(&lock);
  CURLM *m = multi;
  g_mutex_unlock(&lock);
  for (;;) {
    g_mutex_lock(&lock);
    if (live == 0 && incoming->len == 0 && cancels->len == 0) {
      /* Nothing left: exit; the next submission starts a new engine. */
      multi = NULL;
      zombie = thread;
      thread = NULL;
      g_cond_broadcast(&changed);
      g_mutex_unlock(&lock);
      break;
    }
    g_mutex_unlock(&lock);
    engine_turn(m, MAX_POLL_MS);
  }
  multi_close(m);
  return NULL;
}

/* Join an engine thread that exited. Called with `lock` held; the exiting thread no longer
 * takes the lock after it set `zombie`, so this cannot deadlock. */
static void reap_locked(void) {
  if (!zombie) return;
  GThread *z = zombie;
  zombie = NULL;
  g_thread_join(z);
}

static void lists_init_locked(void) {
  if (!incoming) {
    incoming = g_ptr_array_new();
    cancels = g_ptr_array_new();
  }
}

static void count_locked(hvb_work *w) {
  lists_init_locked();
  live++;
  w->all_link.data = w;
  g_queue_push_tail_link(&all, &w->all_link);
}

/* Queue a work for the next turn, starting the engine if needed. With `lock` held. */
static void enqueue_locked(hvb_work *w) {
  lists_init_locked();
  w->queued = true;
  g_ptr_array_add(incoming, w);
  if (in_turn) {
    /* From a callback: the turn looks at `incoming` before it sleeps, so no wakeup (a
     * system call per work for a completion that starts the next one). */
  } else if (driven) {
    hvb__loop_wake(); /* the driver may be inside hvb__engine_step's wait, or a caller's poll */
  } else if (!thread) {
    reap_locked();
    multi = multi_new(true);
    thread = g_thread_new("hvb-engine", engine_main, NULL);
  } else {
    hvb__loop_wake();
  }
}

void hvb__engine_submit(hvb_work *w) {
  g_mutex_lock(&lock);
  count_locked(w);
  enqueue_locked(w);
  g_mutex_unlock(&lock);
}

void hvb__engine_hold(hvb_work *w) {
  g_mutex_lock(&lock);
  count_locked(w); /* keeps the engine up until the work is handed back */
  g_mutex_unlock(&lock);
}

void hvb__engine_resume(hvb_work *w) {
  hvb__work_ref(w);
  g_mutex_lock(&lock);
  w->resumed = true;
  enqueue_locked(w);
  g_mutex_unlock(&lock);
}

void hvb__engine_complete(hvb_work *w) {
  g_return_if_fail(in_turn);
  g_mutex_lock(&lock);
  bool queued = w->queued;
  g_mutex_unlock(&lock);
  if (!queued && !w->finished) complete(w, false);
}

/* A posted function: a work with no transfer and no outcome. */
typedef struct post_work {
  hvb_work work;
  void (*fn)(void *);
  void *data;
} post_work;

static hvb_transfer *post_start(hvb_work *w) {
  post_work *p = (post_work *)w;
  p->fn(p->data);
  return NULL;
}

static void post_finish(hvb_work *w, bool cancelled) {
  (void)w, (void)cancelled;
}

static void post_release(hvb_work *w) {
  g_free(w);
}

static const hvb_work_ops post_ops = {
    .start = post_start, .finish = post_finish, .release = post_release};

void hvb__engine_post(void (*fn)(void *), void *data) {
  post_work *p = g_new0(post_work, 1);
  hvb__work_init(&p->work, &post_ops, 1); /* the engine's */
  p->fn = fn;
  p->data = data;
  hvb__engine_submit(&p->work);
}

HVB_DESTRUCTOR static void engine_exit(void) {
  /* Works still running at exit are abandoned (the process is going); a finished engine is
   * joined so that no thread is left. */
  hvb__engine_drive_end();
  g_mutex_lock(&lock);
  /* An engine with no work left is about to exit: let it, and join it. */
  while (thread && live == 0 && incoming && incoming->len == 0 && cancels->len == 0)
    changed_wait();
  bool idle = !thread;
  if (idle) reap_locked();
  if (idle && incoming) {
    g_ptr_array_free(incoming, TRUE);
    g_ptr_array_free(cancels, TRUE);
    incoming = cancels = NULL;
  }
  g_mutex_unlock(&lock);
}

/* ---- waiting and cancelling ------------------------------------------------------------- */

bool hvb__work_wait(hvb_work *w, long timeout_ms) {
  if (in_turn) return hvb__work_is_over(w);
  gint64 end = timeout_ms < 0 ? G_MAXINT64 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  if (must_drive()) {
    for (;;) {
      g_mutex_lock(&lock);
      bool done = w->done;
      g_mutex_unlock(&lock);
      gint64 left_ms = (end - g_get_monotonic_time()) / 1000;
      if (done || left_ms <= 0) return done;
      hvb__engine_step((int)MIN(left_ms, MAX_POLL_MS));
    }
  }
  g_mutex_lock(&lock);
  while (!w->done) {
    if (timeout_ms < 0) changed_wait();
    else if (!changed_wait_until(end)) break;
  }
  bool done = w->done;
  g_mutex_unlock(&lock);
  return done;
}

void hvb__work_cancel(hvb_work *w) {
  bool self = in_turn;
  g_mutex_lock(&lock);
  if (w->over || w->cancel_req) {
    g_mutex_unlock(&lock);
    if (!self) hvb__work_wait(w, -1); /* a cancel in progress: its finish runs before we go */
    return;
  }
  w->cancel_req = true;
  hvb__work_ref(w);
  lists_init_locked();
  g_ptr_array_add(cancels, w);
  if (multi) hvb__loop_wake();
  bool drive = !self && driven && driver == g_thread_self();
  if (!self && !drive)
    while (!w->done) changed_wait();
  g_mutex_unlock(&lock);
  if (drive) hvb__work_wait(w, -1); /* runs the turn that completes the cancellation */
}

/* ---- caller-driven mode ---- */

bool hvb__engine_drive_begin(hvb_error *err) {
  g_mutex_lock(&lock);
  lists_init_locked();
  /* An engine thread with nothing left is about to exit: let it. */
  while (thread && live == 0 && incoming->len == 0 && cancels->len == 0)
    changed_wait();
  reap_locked();
  bool ok = !thread && (!driven || driver == g_thread_self());
  if (ok && !driven) {
    driven = true;
    driver = g_thread_self();
    multi = multi_new(true);
  }
  g_mutex_unlock(&lock);
  if (!ok)
    hvb__fail(err, HVB_EINVAL, "%s", thread ? "async calls are running on the engine thread: "
                                              "drive the engine before starting any"
                                            : "another thread already drives the engine");
  return ok;
}

int hvb__engine_step(int timeout_ms) {
  g_mutex_lock(&lock);
  bool ok = driven && driver == g_thread_self() && !in_turn;
  CURLM *m = multi;
  g_mutex_unlock(&lock);
  if (!ok) return -1;
  engine_turn(m, MAX(timeout_ms, 0));
  g_mutex_lock(&lock);
  int n = live;
  g_mutex_unlock(&lock);
  return n;
}

/* The driving thread outside a turn (with `lock` held). */
static bool is_driver_locked(void) {
  return driven && driver == g_thread_self() && !in_turn;
}

int hvb__engine_fd(void) {
  g_mutex_lock(&lock);
  int fd = is_driver_locked() ? hvb__loop_fd() : -1;
  g_mutex_unlock(&lock);
  return fd;
}

int hvb__engine_timeout(void) {
  g_mutex_lock(&lock);
  bool ok = is_driver_locked();
  /* Works queued from a callback did not wake the loop (no wakeup inside a turn). */
  bool now = ok && (incoming->len > 0 || cancels->len > 0);
  g_mutex_unlock(&lock);
  if (!ok) return -1;
  if (now) return 0;
  gint64 due = hvb__loop_next_due();
  if (due == G_MAXINT64) return -1;
  gint64 left = (due - g_get_monotonic_time() + 999) / 1000;
  return (int)CLAMP(left, 0, G_MAXINT);
}

int hvb__engine_dispatch(int fd, int events) {
  (void)events; /* the turn asks the epoll set itself, level-triggered */
  g_mutex_lock(&lock);
  bool ok = is_driver_locked() && (fd < 0 || fd == hvb__loop_fd());
  g_mutex_unlock(&lock);
  return ok ? hvb__engine_step(0) : -1;
}

/* For a GLib source (core/api/glib-async.c): make the engine driven before any call is
 * submitted, by the calling thread (`claim`) or by the first thread that calls
 * hvb__engine_drive_claim (the context's, once it iterates). False when the engine thread has
 * calls in flight or a thread drives (or reserved) already. */
bool hvb__engine_drive_reserve(bool claim) {
  g_mutex_lock(&lock);
  lists_init_locked();
  while (thread && live == 0 && incoming->len == 0 && cancels->len == 0)
    changed_wait();
  reap_locked();
  bool ok = !thread && !driven;
  if (ok) {
    driven = true;
    driver = claim ? g_thread_self() : NULL;
    multi = multi_new(true);
  }
  g_mutex_unlock(&lock);
  return ok;
}

bool hvb__engine_drive_claim(void) {
  g_mutex_lock(&lock);
  if (driven && !driver) driver = g_thread_self();
  bool ok = driven && driver == g_thread_self();
  g_mutex_unlock(&lock);
  return ok;
}

int hvb__engine_loop_fd(void) {
  g_mutex_lock(&lock);
  int fd = multi ? hvb__loop_fd() : -1;
  g_mutex_unlock(&lock);
  return fd;
}

/* Drop the references of queued cancellations (of works that were over already). */
static void engine_turn_drain(void) {
  g_mutex_lock(&lock);
  GPtrArray *cx = NULL;
  if (cancels) take(&cancels, &cx);
  g_mutex_unlock(&lock);
  for (guint i = 0; cx && i < cx->len; i++) hvb__work_unref(cx->pdata[i]);
  if (cx) g_ptr_array_free(cx, TRUE);
}

bool hvb__engine_drive_end(void) {
  g_mutex_lock(&lock);
  bool ok = driven && driver == g_thread_self() && live == 0 && !in_turn;
  CURLM *m = NULL;
  if (ok) {
    m = multi;
    multi = NULL;
    driven = false;
    driver = NULL;
  }
  g_mutex_unlock(&lock);
  /* Cancellations of works that were over may still be queued: drop their references. */
  if (ok) engine_turn_drain();
  if (m) multi_close(m);
  return ok;
}

/* ---- fork() (core/base/fork.c; the contract is "fork()" in heavenbase/async.h) ----------
 *
 * Prepare takes `lock`, so no other thread is inside one of its sections while the address
 * space is copied; the engine thread may still be mid-turn (outside the lock), which is why
 * the child looks only at state guarded by `lock` (`all`, the lists, the flags) and never at
 * `active` or a work's own state.
 *
 * In the child no engine thread exists. Every call that was not done is over, with an error
 * and without callbacks (the parent runs them; running them twice, or from fork(), would
 * surprise the program), so that waiting returns at once and freeing does not hang. What the
 * calls and the old engine hold (the multi handle, easy handles with the parent's
 * connections, streams) is left untouched: cleaning it up could write on the parent's
 * sockets. It stays reachable (the calls keep the engine's reference and stay in `all`; the
 * rest through hvb__fork_keep) so that leak checkers do not count it as lost. The child's
 * first call starts a new engine with a new multi handle. */

#define FORKED_CALL_MESSAGE \
  "the call was started before fork(): it does not run in the child process"

void hvb__engine_atfork(hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) {
    g_mutex_lock(&lock);
    return;
  }
  if (phase == HVB_FORK_PARENT) {
    g_mutex_unlock(&lock);
    return;
  }
  for (GList *l = all.head; l; l = l->next) {
    hvb_work *c = l->data;
    if (c->done) continue;
    if (!c->over) { /* else its on_done was running: its outcome stands */
      hvb__fail(&c->error, HVB_TRANSPORT, FORKED_CALL_MESSAGE);
      c->over = true;
    }
    c->done = true;
  }
  hvb__fork_keep(multi);
  hvb__fork_keep(thread);
  hvb__fork_keep(zombie);
  hvb__fork_keep(incoming);
  hvb__fork_keep(cancels);
  multi = NULL;
  thread = zombie = NULL;
  incoming = cancels = NULL;
  lists_init_locked(); /* a driver's turn takes them without looking */
  g_queue_init(&active);
  g_queue_init(&touched);
  memset(&curl_timer, 0, sizeof curl_timer);
  hvb__engine_watch_forget();
  hvb__admit_forget();
  live = 0;
  bool drives = driven && driver == g_thread_self();
  hvb__loop_atfork(drives);
  if (drives) {
    /* The thread that forked drove the engine: it still does, in a new multi handle, so a
     * single-threaded program keeps running every callback on its own thread. The loop
     * was made again on the same fd number (hvb_engine_fd). */
    multi = multi_new(false);
  } else {
    driven = false; /* the driver was another thread, which the child does not have */
    driver = NULL;
  }
  /* Its waiters were other threads: back to the state of a static condition. */
  memset(&changed, 0, sizeof changed);
  g_mutex_unlock(&lock);
}
