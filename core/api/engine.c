/* core/api/engine.c: the async engine (see include/heavenbase/async.h).
 *
 * One I/O thread owns one libcurl multi handle and runs every async transfer in it with
 * curl_multi_poll; other threads hand it work through two lists under `lock` (calls to start,
 * calls to cancel) and wake it with curl_multi_wakeup. A call is the same stream object as a
 * synchronous call (core/api/llm.c), its transfer attached to the engine's multi instead of its
 * own (core/net/transport.c): the retry, backoff and timeout code is shared, not duplicated.
 *
 * Callbacks run at safe points of the loop only, never inside libcurl's callbacks: deltas are
 * queued by the stream's body sink during curl_multi_perform and handed out afterwards, so a
 * callback may remove any transfer from the multi handle (cancel, free) without confusing
 * libcurl. Cancellation requested on the engine thread is therefore deferred to the next turn
 * of the loop; requested elsewhere, the requester waits for it.
 *
 * Lifetime: the thread is started by the first submission and exits when no call is left;
 * whoever starts the next one joins it, and a destructor joins the last one at exit, so no
 * thread or multi handle outlives the calls (valgrind stays clean).
 */
#include "net/transport.h"
#include "api/llm.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"
#include "base/fork.h"

#include <heavenbase/async.h>
#include <heavenbase/embed.h>

#include <curl/curl.h>
#include <glib.h>
#include <string.h>

#define MAX_POLL_MS 1000 /* a bound on how long the loop sleeps without a timer */

struct hvb_call {
  gint refs; /* the caller's handle + the engine's while the call is not over */
  hvb_stream *s; /* engine thread only once submitted; NULL once over */
  hvb_json_job *job;          /* instead of s: an internal JSON operation (embeddings...) */
  hvb_json_done_fn json_done; /* ...and its completion */
  /* An external call: another module (embed.c) produces the outcome and hands it over with
   * hvb__call_external_finish; the engine only runs on_done and cancellation. */
  hvb_ext_kind ext; /* 0: not external */
  void *ext_result; /* the outcome once over (of the kind's type), owned */
  void (*ext_free)(void *);
  hvb_error ext_err;
  void (*ext_cancel)(void *); /* told on the engine thread when the call is cancelled */
  void *ext_cancel_data;
  /* A posted function (hvb__engine_post): run once on the engine thread, nothing else. */
  void (*post_fn)(void *);
  hvb_call_done_fn on_done;
  hvb_call_delta_fn on_delta;
  void *user_data;
  GList link; /* in the engine's active list (engine thread only) */
  GList all_link; /* in `all` (under lock), from submission until freed; data NULL: not */
  bool attached; /* engine thread only */
  /* guarded by lock */
  bool cancel_req; /* no more deltas; complete with HVB_CANCELLED at the next turn */
  bool over;       /* outcome set (on_done may still be running) */
  bool done;       /* on_done returned: waiters may go */
  hvb_result *result;
  hvb_error error;
};

static GMutex lock;
static GCond changed; /* a call became done; the thread exited */
static int waiters;   /* threads waiting on `changed` (guarded by lock) */
static GThread *thread;       /* the running engine, NULL when none */
static GThread *zombie;       /* an engine thread that exited and is not joined yet */
static CURLM *multi;          /* the running engine's; wakeups use it under lock */
static GPtrArray *incoming;   /* hvb_call* submitted (engine reference), not yet attached */
static GPtrArray *cancels;    /* hvb_call* to cancel (extra reference each) */
static int live;              /* calls submitted and not yet done */
static GQueue active = G_QUEUE_INIT; /* engine thread only: attached calls not over */
/* Every submitted call until it is freed, under lock: what a child of fork() inherits (see
 * the fork() section; `active` belongs to the engine thread and may be mid-change then). */
static GQueue all = G_QUEUE_INIT;
/* Caller-driven mode (hvb_engine_drive_begin): no engine thread; `driver` runs the turns. */
static bool driven;
static GThread *driver;
static _Thread_local bool in_turn; /* this thread is inside an engine turn (callbacks run) */

/* Waiting on `changed` and announcing it, with `lock` held. A broadcast is a futex system
 * call even when nobody waits, and a completion made one per call: it is skipped when no
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

/* Inside a turn of the engine: a callback, on the engine thread or the driver's. */
static bool on_engine_thread(void) {
  return in_turn;
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
  return on_engine_thread() || must_drive();
}

static void call_unref(hvb_call *c) {
  if (!g_atomic_int_dec_and_test(&c->refs)) return;
  if (c->all_link.data) {
    g_mutex_lock(&lock);
    g_queue_unlink(&all, &c->all_link);
    g_mutex_unlock(&lock);
  }
  if (c->ext_result) c->ext_free(c->ext_result);
  hvb_result_free(c->result);
  g_free(c);
}

/* ---- the engine thread ------------------------------------------------------------------ */

/* A call is a chat (stream) or an internal JSON job: the same transfer underneath. */
static bool has_work(const hvb_call *c) {
  return c->s || c->job || (c->ext && !c->over);
}

static hvb_transfer *call_transfer(hvb_call *c) {
  return c->job ? hvb__json_transfer(c->job) : hvb__stream_transfer(c->s);
}

static bool call_over(hvb_call *c) {
  return c->job ? hvb__json_over(c->job) : hvb__stream_over(c->s);
}

static void call_settle(hvb_call *c, hvb_step st, const hvb_error *e) {
  if (c->job) hvb__json_settle(c->job, st, e);
  else hvb__stream_settle(c->s, st, e);
}

/* An internal call (a JSON job, a post) has run its completion: it is done, and the
 * engine's reference, the only one, goes. */
static void internal_done(hvb_call *c) {
  g_mutex_lock(&lock);
  c->over = c->done = true;
  live--;
  changed_broadcast();
  g_mutex_unlock(&lock);
  call_unref(c);
}

/* An internal job is over: hand its response to its owner (no user handle), unless its
 * producer cancelled it (json_done cleared by hvb__engine_job_cancel). */
static void complete_job(hvb_call *c) {
  hvb_error e = HVB_ERROR_INIT;
  json_object *resp = hvb__json_outcome(c->job, &e);
  g_clear_pointer(&c->job, hvb__json_free);
  if (c->json_done) c->json_done(c->user_data, resp, &e);
  json_object_put(resp);
  internal_done(c);
}

/* Deliver queued deltas unless the call is being cancelled. */
static void deliver_deltas(hvb_call *c) {
  json_object *d;
  while (c->s && (d = hvb__stream_pop_delta(c->s))) {
    g_mutex_lock(&lock);
    bool cancelled = c->cancel_req;
    g_mutex_unlock(&lock);
    if (!cancelled && c->on_delta) c->on_delta(c, d, c->user_data);
    json_object_put(d);
  }
}

/* The call is over: build its outcome, release the stream (and so the connection), run
 * on_done, drop the engine's reference. `cancel`: the outcome is HVB_CANCELLED. */
static void complete(hvb_call *c, bool cancel) {
  if (c->attached) g_queue_unlink(&active, &c->link);
  c->attached = false;
  if (c->job) {
    complete_job(c);
    return;
  }
  hvb_error e = HVB_ERROR_INIT;
  hvb_result *r = NULL;
  if (!cancel) {
    deliver_deltas(c);
    g_mutex_lock(&lock);
    cancel = c->cancel_req; /* a delta callback may have cancelled it */
    g_mutex_unlock(&lock);
  }
  if (cancel) {
    hvb__fail(&e, HVB_CANCELLED, "the call was cancelled");
    if (c->ext_result) g_clear_pointer(&c->ext_result, c->ext_free);
    /* The producer stops what it runs for the call (its own calls are cancelled in turn). */
    if (c->ext_cancel) c->ext_cancel(c->ext_cancel_data);
  } else if (c->ext == HVB_EXT_RESULT) {
    e = c->ext_err;
    r = c->ext_result; /* a chat result: the accessors of chat calls read it */
    c->ext_result = NULL;
  } else if (c->ext) {
    e = c->ext_err; /* the result, if any, stays in ext_result */
  } else {
    r = hvb__stream_outcome(c->s, &e);
  }
  g_clear_pointer(&c->s, hvb_stream_free);
  g_mutex_lock(&lock);
  c->result = r;
  c->error = e;
  c->over = true;
  g_mutex_unlock(&lock);
  if (c->on_done) c->on_done(c, c->user_data);
  g_mutex_lock(&lock);
  c->done = true;
  live--;
  changed_broadcast();
  g_mutex_unlock(&lock);
  call_unref(c);
}

/* Put a submitted call's transfer into the multi handle, or complete a call that needs none
 * (offline gateway, cache hit) or could not start. */
static void attach(hvb_call *c) {
  if (c->post_fn) {
    c->post_fn(c->user_data);
    internal_done(c);
    return;
  }
  if (c->ext) {
    /* An external outcome handed over from another thread (hvb__call_external_finish). */
    if (!c->over) complete(c, false);
    call_unref(c); /* the hand-over's reference */
    return;
  }
  hvb_transfer *t = call_transfer(c);
  if (!t || call_over(c)) {
    complete(c, false);
    return;
  }
  hvb_error e = HVB_ERROR_INIT;
  if (!hvb__transfer_attach(t, multi, c, &e)) {
    call_settle(c, HVB_STEP_FAILED, &e);
    complete(c, false);
    return;
  }
  c->attached = true;
  g_queue_push_tail_link(&active, &c->link);
}

/* A transfer stopped or moved on: settle the stream and complete the call when it is over. */
static void settle(hvb_call *c, hvb_step st, const hvb_error *e) {
  if (st == HVB_STEP_RUNNING) return;
  call_settle(c, st, e);
  complete(c, false);
}

static void take(GPtrArray **list, GPtrArray **out) {
  *out = *list;
  *list = g_ptr_array_new();
}

/* One turn of the engine: start submitted calls, process cancellations, let libcurl work,
 * finish transfers, hand out deltas, run timers, then sleep in curl_multi_poll until network
 * activity, a wakeup, the earliest timer or `max_wait_ms`. Callbacks run inside, with
 * in_turn set. */
static void engine_turn(CURLM *m, int max_wait_ms) {
  GPtrArray *in, *cx;
  g_mutex_lock(&lock);
  take(&incoming, &in);
  take(&cancels, &cx);
  g_mutex_unlock(&lock);
  in_turn = true;

  for (guint i = 0; i < in->len; i++) attach(in->pdata[i]);
  for (guint i = 0; i < cx->len; i++) {
    hvb_call *c = cx->pdata[i];
    if (has_work(c)) complete(c, true); /* not over: it still holds the engine's reference */
    call_unref(c);
  }
  g_ptr_array_free(in, TRUE);
  g_ptr_array_free(cx, TRUE);

  int running = 0;
  CURLMcode mc = curl_multi_perform(m, &running);
  int queued;
  CURLMsg *msg;
  while (mc == CURLM_OK && (msg = curl_multi_info_read(m, &queued))) {
    if (msg->msg != CURLMSG_DONE) continue;
    hvb_call *c = hvb__transfer_owner_of(msg->easy_handle);
    CURLcode rc = msg->data.result;
    hvb_error e = HVB_ERROR_INIT;
    /* msg is invalid once the handle leaves the multi: everything was read above. */
    settle(c, hvb__transfer_done(call_transfer(c), rc, &e), &e);
  }

  /* Deltas, retries whose backoff passed, idle timeouts; and when to look again. */
  gint64 now = g_get_monotonic_time(), wake = now + (gint64)MAX_POLL_MS * 1000;
  for (GList *l = active.head, *next; l; l = next) {
    next = l->next; /* completing unlinks l; callbacks never unlink other calls */
    hvb_call *c = l->data;
    if (c->on_delta) deliver_deltas(c);
    if (!has_work(c)) continue;
    hvb_error e = HVB_ERROR_INIT;
    long long due = 0;
    hvb_step st = hvb__transfer_tick(call_transfer(c), now, &due, &e);
    if (st != HVB_STEP_RUNNING) settle(c, st, &e);
    else if (due > 0 && due < wake) wake = due;
  }
  if (mc != CURLM_OK) {
    /* The multi handle is broken (out of memory): fail what runs rather than spin. */
    hvb__log(HVB_LOG_WARN, "async engine: libcurl multi error: %s", curl_multi_strerror(mc));
    while (active.head) {
      hvb_call *c = active.head->data;
      hvb_error e = HVB_ERROR_INIT;
      hvb__fail(&e, HVB_TRANSPORT, "async engine: libcurl multi error: %s",
                curl_multi_strerror(mc));
      settle(c, HVB_STEP_FAILED, &e);
    }
  }
  in_turn = false;
  if (mc != CURLM_OK) return;
  g_mutex_lock(&lock);
  /* live == 0: return at once (the thread exits) rather than sleep with nothing to do. */
  bool more = incoming->len > 0 || cancels->len > 0 || live == 0;
  g_mutex_unlock(&lock);
  if (more) return;
  gint64 left_ms = (wake - g_get_monotonic_time() + 999) / 1000;
  curl_multi_poll(m, NULL, 0, (int)CLAMP(left_ms, 0, max_wait_ms), NULL);
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
  curl_multi_cleanup(m);
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

static void all_add_locked(hvb_call *c) {
  c->all_link.data = c;
  g_queue_push_tail_link(&all, &c->all_link);
}

static void lists_init_locked(void) {
  if (!incoming) {
    incoming = g_ptr_array_new();
    cancels = g_ptr_array_new();
  }
}

/* Hand a call to the engine, starting it if needed. `count`: a new call (live++). */
static void submit_ex(hvb_call *c, bool count) {
  g_mutex_lock(&lock);
  lists_init_locked();
  if (count) {
    live++;
    all_add_locked(c);
  }
  g_ptr_array_add(incoming, c);
  if (in_turn) {
    /* From a callback: the turn looks at `incoming` before it sleeps, so no wakeup (a
     * system call per call for a completion that starts the next call). */
  } else if (driven) {
    curl_multi_wakeup(multi); /* the driver may be inside hvb_engine_step's poll */
  } else if (!thread) {
    reap_locked();
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HVB_ASYNC_MAX_HOST_CONNECTIONS);
    thread = g_thread_new("hvb-engine", engine_main, NULL);
  } else {
    curl_multi_wakeup(multi);
  }
  g_mutex_unlock(&lock);
}

static void submit(hvb_call *c) {
  submit_ex(c, true);
}

hvb_call *hvb__call_external_new(hvb_ext_kind kind, hvb_call_done_fn on_done,
                                 hvb_call_delta_fn on_delta, void *user_data) {
  hvb_call *c = g_new0(hvb_call, 1);
  c->refs = 3; /* the caller's handle, the engine's, the producer's */
  c->ext = kind;
  c->on_done = on_done;
  c->on_delta = on_delta;
  c->user_data = user_data;
  c->link.data = c;
  g_mutex_lock(&lock);
  lists_init_locked();
  live++; /* keeps the engine up until the outcome is in */
  all_add_locked(c);
  g_mutex_unlock(&lock);
  return c;
}

void hvb__call_external_finish(hvb_call *c, void *result, void (*free_fn)(void *),
                               const hvb_error *err) {
  g_mutex_lock(&lock);
  bool over = c->over;
  g_mutex_unlock(&lock);
  if (over) { /* cancelled meanwhile: nobody wants it */
    if (result) free_fn(result);
    return;
  }
  c->ext_result = result;
  c->ext_free = free_fn;
  if (err) c->ext_err = *err;
  if (on_engine_thread()) {
    complete(c, false);
  } else {
    g_atomic_int_inc(&c->refs); /* the hand-over's, dropped by attach */
    submit_ex(c, false);
  }
}

void hvb__call_external_on_cancel(hvb_call *c, void (*fn)(void *), void *data) {
  c->ext_cancel = fn;
  c->ext_cancel_data = data;
}

void hvb__call_external_delta(hvb_call *c, json_object *delta) {
  g_mutex_lock(&lock);
  bool cancelled = c->cancel_req || c->over;
  g_mutex_unlock(&lock);
  if (!cancelled && c->on_delta) c->on_delta(c, delta, c->user_data);
}

void hvb__engine_post(void (*fn)(void *), void *data) {
  hvb_call *c = g_new0(hvb_call, 1);
  c->refs = 1; /* the engine's */
  c->post_fn = fn;
  c->user_data = data;
  c->link.data = c;
  submit(c);
}

bool hvb__call_external_cancelled(hvb_call *c) {
  g_mutex_lock(&lock);
  bool cancelled = c->over || c->cancel_req;
  g_mutex_unlock(&lock);
  return cancelled;
}

void hvb__call_unref(hvb_call *c) {
  call_unref(c);
}

__attribute__((destructor)) static void engine_exit(void) {
  /* Calls still running at exit are abandoned (the process is going); a finished engine is
   * joined so that no thread is left. */
  hvb_engine_drive_end();
  g_mutex_lock(&lock);
  /* An engine with no call left is about to exit: let it, and join it. */
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

/* ---- public API --------------------------------------------------------------------------- */

HVB_PUBLIC hvb_call *hvb_llm_chat_async(hvb_llm *llm, const char *prompt, json_object *messages,
                                        json_object *call_options, hvb_call_done_fn on_done,
                                        hvb_call_delta_fn on_delta, void *user_data,
                                        hvb_error *err) {
  return hvb__chat_async(llm, prompt, messages, call_options, on_done, on_delta, user_data,
                         false, err);
}

hvb_call *hvb__chat_async(hvb_llm *llm, const char *prompt, json_object *messages,
                          json_object *call_options, hvb_call_done_fn on_done,
                          hvb_call_delta_fn on_delta, void *user_data, bool runs_tools,
                          hvb_error *err) {
  if (!llm) {
    hvb__fail(err, HVB_EINVAL, "llm is NULL");
    return NULL;
  }
  hvb_stream *s =
      hvb__call_begin(llm, prompt, messages, call_options, on_delta != NULL, runs_tools, err);
  if (!s) return NULL;
  hvb_call *c = g_new0(hvb_call, 1);
  c->refs = 2; /* the caller's and the engine's */
  c->s = s;
  c->on_done = on_done;
  c->on_delta = on_delta;
  c->user_data = user_data;
  c->link.data = c;
  submit(c);
  return c;
}

bool hvb__engine_json(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                      hvb_json_done_fn done, void *user_data, hvb_engine_job **job,
                      hvb_error *err) {
  hvb_json_job *j = hvb__json_begin(llm, op, canonical, true, err);
  if (!j) return false;
  hvb_call *c = g_new0(hvb_call, 1);
  c->refs = 1; /* the engine's only: the producer's handle is borrowed (valid until done) */
  c->job = j;
  c->json_done = done;
  c->user_data = user_data;
  c->link.data = c;
  /* Before submitting: once submitted, `done` may run (and free the producer's state that
   * holds *job) before this function returns. */
  if (job) *job = (hvb_engine_job *)(void *)c;
  submit(c);
  return true;
}

void hvb__engine_job_cancel(hvb_engine_job *job) {
  g_return_if_fail(on_engine_thread());
  hvb_call *c = (hvb_call *)(void *)job;
  if (!c || !c->job) return;
  c->json_done = NULL; /* the producer has let go: nobody is told */
  hvb_error e = HVB_ERROR_INIT;
  hvb__fail(&e, HVB_CANCELLED, "the call was cancelled");
  /* Frees the transfer: curl_multi_remove_handle aborts it, its easy handle goes back to the
   * pool. A job that already answered (offline gateway) keeps its outcome, unread. */
  hvb__json_settle(c->job, HVB_STEP_FAILED, &e);
  /* Attached: finish it now (unlinked from `active`; only safe while no loop walks it, which
   * is why cancellation is limited to cancel hooks). Still in `incoming`: attach() finds it
   * over at its turn and completes it the same way. */
  if (c->attached) complete(c, false);
}

HVB_PUBLIC bool hvb_call_wait(hvb_call *c, long timeout_ms) {
  if (!c) return false;
  if (on_engine_thread()) return hvb_call_is_over(c);
  gint64 end = timeout_ms < 0 ? G_MAXINT64 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  if (must_drive()) {
    for (;;) {
      g_mutex_lock(&lock);
      bool done = c->done;
      g_mutex_unlock(&lock);
      gint64 left_ms = (end - g_get_monotonic_time()) / 1000;
      if (done || left_ms <= 0) return done;
      hvb_engine_step((int)MIN(left_ms, MAX_POLL_MS));
    }
  }
  g_mutex_lock(&lock);
  while (!c->done) {
    if (timeout_ms < 0) changed_wait();
    else if (!changed_wait_until(end)) break;
  }
  bool done = c->done;
  g_mutex_unlock(&lock);
  return done;
}

HVB_PUBLIC void hvb_call_cancel(hvb_call *c) {
  if (!c) return;
  bool self = on_engine_thread();
  g_mutex_lock(&lock);
  if (c->over || c->cancel_req) {
    g_mutex_unlock(&lock);
    if (!self) hvb_call_wait(c, -1); /* a cancel in progress: its on_done runs before we go */
    return;
  }
  c->cancel_req = true;
  g_atomic_int_inc(&c->refs);
  g_ptr_array_add(cancels, c);
  if (multi) curl_multi_wakeup(multi);
  bool drive = !self && driven && driver == g_thread_self();
  if (!self && !drive)
    while (!c->done) changed_wait();
  g_mutex_unlock(&lock);
  if (drive) hvb_call_wait(c, -1); /* runs the turn that completes the cancellation */
}

/* ---- caller-driven mode ---- */

HVB_PUBLIC bool hvb_engine_drive_begin(hvb_error *err) {
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
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HVB_ASYNC_MAX_HOST_CONNECTIONS);
  }
  g_mutex_unlock(&lock);
  if (!ok)
    hvb__fail(err, HVB_EINVAL, "%s", thread ? "async calls are running on the engine thread: "
                                              "drive the engine before starting any"
                                            : "another thread already drives the engine");
  return ok;
}

HVB_PUBLIC int hvb_engine_step(int timeout_ms) {
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

/* Drop the references of queued cancellations (of calls that were over already). */
static void engine_turn_drain(void) {
  g_mutex_lock(&lock);
  GPtrArray *cx = NULL;
  if (cancels) take(&cancels, &cx);
  g_mutex_unlock(&lock);
  for (guint i = 0; cx && i < cx->len; i++) call_unref(cx->pdata[i]);
  if (cx) g_ptr_array_free(cx, TRUE);
}

HVB_PUBLIC bool hvb_engine_drive_end(void) {
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
  /* Cancellations of calls that were over may still be queued: drop their references. */
  if (ok) engine_turn_drain();
  if (m) curl_multi_cleanup(m);
  return ok;
}

HVB_PUBLIC bool hvb_call_is_over(const hvb_call *c) {
  if (!c) return false;
  g_mutex_lock(&lock);
  bool over = c->over;
  g_mutex_unlock(&lock);
  return over;
}

HVB_PUBLIC hvb_status hvb_call_status(const hvb_call *c) {
  if (!c) return HVB_EINVAL;
  g_mutex_lock(&lock);
  hvb_status st = c->over ? c->error.status : HVB_OK;
  g_mutex_unlock(&lock);
  return st;
}

HVB_PUBLIC const hvb_error *hvb_call_error(const hvb_call *c) {
  if (!c) return NULL;
  g_mutex_lock(&lock);
  const hvb_error *e = c->over && c->error.status != HVB_OK ? &c->error : NULL;
  g_mutex_unlock(&lock);
  return e;
}

HVB_PUBLIC hvb_result *hvb_call_result(const hvb_call *c) {
  if (!c) return NULL;
  g_mutex_lock(&lock);
  hvb_result *r = c->over ? c->result : NULL;
  g_mutex_unlock(&lock);
  return r;
}

HVB_PUBLIC hvb_result *hvb_call_take_result(hvb_call *c) {
  if (!c) return NULL;
  g_mutex_lock(&lock);
  hvb_result *r = NULL;
  if (c->over) {
    r = c->result;
    c->result = NULL;
  }
  g_mutex_unlock(&lock);
  return r;
}

/* The outcome of an external call of `kind`, borrowed or (take) handed over. */
static void *ext_outcome(hvb_call *c, hvb_ext_kind kind, bool take) {
  if (!c || c->ext != kind) return NULL;
  g_mutex_lock(&lock);
  void *out = c->over ? c->ext_result : NULL;
  if (take && c->over) c->ext_result = NULL;
  g_mutex_unlock(&lock);
  return out;
}

HVB_PUBLIC hvb_embeddings *hvb_call_embeddings(const hvb_call *c) {
  return ext_outcome((hvb_call *)c, HVB_EXT_EMBEDDINGS, false);
}

HVB_PUBLIC hvb_embeddings *hvb_call_take_embeddings(hvb_call *c) {
  return ext_outcome(c, HVB_EXT_EMBEDDINGS, true);
}

HVB_PUBLIC hvb_images *hvb_call_images(const hvb_call *c) {
  return ext_outcome((hvb_call *)c, HVB_EXT_IMAGES, false);
}

HVB_PUBLIC hvb_images *hvb_call_take_images(hvb_call *c) {
  return ext_outcome(c, HVB_EXT_IMAGES, true);
}

HVB_PUBLIC void *hvb_call_user_data(const hvb_call *c) {
  return c ? c->user_data : NULL;
}

HVB_PUBLIC void hvb_call_free(hvb_call *c) {
  if (!c) return;
  hvb_call_cancel(c);
  call_unref(c);
}

/* ---- fork() (core/base/fork.c; the contract is "fork()" in async.h) ---------------------------
 *
 * Prepare takes `lock`, so no other thread is inside one of its sections while the address
 * space is copied; the engine thread may still be mid-turn (outside the lock), which is why
 * the child looks only at state guarded by `lock` (`all`, the lists, the flags) and never at
 * `active` or a call's stream.
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
    hvb_call *c = l->data;
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
  live = 0;
  if (driven && driver == g_thread_self()) {
    /* The thread that forked drove the engine: it still does, in a new multi handle, so a
     * single-threaded program keeps running every callback on its own thread. */
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HVB_ASYNC_MAX_HOST_CONNECTIONS);
  } else {
    driven = false; /* the driver was another thread, which the child does not have */
    driver = NULL;
  }
  /* Its waiters were other threads: back to the state of a static condition. */
  memset(&changed, 0, sizeof changed);
  g_mutex_unlock(&lock);
}
