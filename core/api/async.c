/* core/api/async.c: the public hvb_call functions (include/heavenbase/async.h) and the kinds
 * of work the engine (core/net/engine.c) drives for them: chat calls, JSON jobs and external
 * calls. Each kind is an ops table of the engine's hvb_work; the engine knows none of them.
 */
#include "api/async.h"
#include "api/chat.h"
#include "api/json-call.h"
#include "call/pipeline.h"
#include "net/engine.h"
#include "net/transport.h"
#include "base/common.h"
#include "base/error.h"

#include <heavenbase/async.h>
#include <heavenbase/embed.h>
#include <heavenbase/image.h>

#include <glib.h>

G_STATIC_ASSERT(HVB_ASYNC_MAX_HOST_CONNECTIONS == HVB_ENGINE_MAX_HOST_CONNECTIONS);

/* What every public call has: the engine's part and the caller's callbacks. The work's tag
 * says what its outcome is (an hvb_ext_kind; chat calls give an hvb_result). */
struct hvb_call {
  hvb_work work;
  hvb_call_done_fn on_done;
  hvb_call_delta_fn on_delta;
  void *user_data;
};

static void call_init(hvb_call *c, const hvb_work_ops *ops, int refs, hvb_ext_kind tag,
                      hvb_call_done_fn on_done, hvb_call_delta_fn on_delta, void *user_data) {
  hvb__work_init(&c->work, ops, refs);
  c->work.tag = tag;
  c->on_done = on_done;
  c->on_delta = on_delta;
  c->user_data = user_data;
}

static void result_free(void *r) {
  hvb_result_free(r);
}

/* Set the outcome and tell the caller. */
static void call_conclude(hvb_call *c, void *outcome, void (*free_fn)(void *),
                          const hvb_error *e) {
  hvb__work_set_outcome(&c->work, outcome, free_fn, e);
  if (c->on_done) c->on_done(c, c->user_data);
}

/* ---- chat calls: a stream whose transfer runs in the engine ---------------------------------- */

typedef struct chat_call {
  hvb_call call;
  hvb_stream *s; /* engine thread only once submitted; NULL once finished */
  hvb_engine_timer *wait_timer; /* a call waiting for another's cache entry: the next look */
} chat_call;

static hvb_transfer *chat_transfer(hvb_work *w) {
  chat_call *cc = (chat_call *)w;
  return cc->s ? hvb__chat_transfer(cc->s) : NULL;
}

static hvb_transfer *chat_start(hvb_work *w) {
  chat_call *cc = (chat_call *)w;
  return hvb__chat_over(cc->s) ? NULL : hvb__chat_transfer(cc->s);
}

static void chat_settle(hvb_work *w, hvb_step st, const hvb_error *failure) {
  hvb__chat_settle(((chat_call *)w)->s, st, failure);
}

/* Hand out queued deltas unless the call is being cancelled. */
static void chat_deliver(hvb_work *w) {
  chat_call *cc = (chat_call *)w;
  json_object *d;
  while (cc->s && (d = hvb__chat_pop_delta(cc->s))) {
    if (!hvb__work_cancel_requested(w) && cc->call.on_delta)
      cc->call.on_delta(&cc->call, d, cc->call.user_data);
    json_object_put(d);
  }
}

static void chat_finish(hvb_work *w, bool cancelled) {
  chat_call *cc = (chat_call *)w;
  g_clear_pointer(&cc->wait_timer, hvb__engine_timer_remove); /* cancelled while waiting */
  hvb_error e = HVB_ERROR_INIT;
  hvb_result *r = NULL;
  if (cancelled) hvb__fail(&e, HVB_CANCELLED, "the call was cancelled");
  else r = hvb__chat_outcome(cc->s, &e);
  /* Release the stream (and so the connection) before on_done. */
  g_clear_pointer(&cc->s, hvb_stream_free);
  call_conclude(&cc->call, r, result_free, &e);
}

static void call_release(hvb_work *w) {
  g_free(w); /* a stream left (a call inherited by a fork() child) stays where it is */
}

static const hvb_work_ops chat_ops = {
    .start = chat_start,
    .transfer = chat_transfer,
    .settle = chat_settle,
    .next = chat_start, /* a routed call's next target */
    .deliver = chat_deliver,
    .finish = chat_finish,
    .release = call_release,
};

/* A call waiting for another call's cache entry (hvb__chat_waiting) is held by the engine,
 * not started, and looks again every HVB_STAGE_POLL_MS from an engine timer; once it moved
 * on, its turn comes (resume) and it runs, or finishes, as any other. */
static void chat_wait_look(void *data);

static void chat_wait_arm(chat_call *cc) {
  cc->wait_timer = hvb__engine_timer_add(
      g_get_monotonic_time() + (gint64)HVB_STAGE_POLL_MS * 1000, chat_wait_look, cc);
}

static void chat_wait_look(void *data) {
  chat_call *cc = data;
  cc->wait_timer = NULL; /* fired: the engine frees it */
  if (hvb__chat_wait_poll(cc->s)) chat_wait_arm(cc);
  else hvb__engine_resume(&cc->call.work);
}

/* Posted: the first timer, on the engine thread (the call's own reference is dropped here). */
static void chat_wait_begin(void *data) {
  chat_call *cc = data;
  if (!hvb__work_cancel_requested(&cc->call.work)) chat_wait_arm(cc);
  hvb__work_unref(&cc->call.work);
}

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
      hvb__chat_begin_async(llm, prompt, messages, call_options, on_delta != NULL, runs_tools, err);
  if (!s) return NULL;
  chat_call *cc = g_new0(chat_call, 1);
  /* The caller's and the engine's references. */
  call_init(&cc->call, &chat_ops, 2, HVB_EXT_RESULT, on_done, on_delta, user_data);
  cc->s = s;
  if (!hvb__chat_waiting(s)) {
    hvb__engine_submit(&cc->call.work);
    return &cc->call;
  }
  hvb__engine_hold(&cc->call.work);
  hvb__work_ref(&cc->call.work); /* until the first timer is set */
  hvb__engine_post(chat_wait_begin, cc);
  return &cc->call;
}

/* ---- JSON jobs: one request, one JSON response, for another module --------------------------- */

struct hvb_engine_job {
  hvb_work work;
  hvb_json_job *job;          /* NULL once finished */
  hvb_json_done_fn json_done; /* NULL once the producer cancelled */
  void *user_data;
};

static hvb_transfer *job_transfer(hvb_work *w) {
  hvb_engine_job *j = (hvb_engine_job *)w;
  return j->job ? hvb__json_transfer(j->job) : NULL;
}

static hvb_transfer *job_start(hvb_work *w) {
  hvb_engine_job *j = (hvb_engine_job *)w;
  return hvb__json_over(j->job) ? NULL : hvb__json_transfer(j->job);
}

static void job_settle(hvb_work *w, hvb_step st, const hvb_error *failure) {
  hvb__json_settle(((hvb_engine_job *)w)->job, st, failure);
}

/* Hand the response to the producer (no user handle), unless it cancelled the job. */
static void job_finish(hvb_work *w, bool cancelled) {
  (void)cancelled; /* jobs are cancelled by their producer only (hvb__engine_job_cancel) */
  hvb_engine_job *j = (hvb_engine_job *)w;
  hvb_error e = HVB_ERROR_INIT;
  json_object *resp = hvb__json_outcome(j->job, &e);
  g_clear_pointer(&j->job, hvb__json_free);
  if (j->json_done) j->json_done(j->user_data, resp, &e);
  json_object_put(resp);
}

static const hvb_work_ops job_ops = {
    .start = job_start,
    .transfer = job_transfer,
    .settle = job_settle,
    .finish = job_finish,
    .release = call_release,
};

bool hvb__engine_json(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                      hvb_json_done_fn done, void *user_data, hvb_engine_job **job,
                      hvb_error *err) {
  hvb_json_job *jj = hvb__json_begin(llm, op, canonical, true, err);
  if (!jj) return false;
  hvb_engine_job *j = g_new0(hvb_engine_job, 1);
  /* The engine's reference only: the producer's handle is borrowed (valid until done). */
  hvb__work_init(&j->work, &job_ops, 1);
  j->job = jj;
  j->json_done = done;
  j->user_data = user_data;
  /* Before submitting: once submitted, `done` may run (and free the producer's state that
   * holds *job) before this function returns. */
  if (job) *job = j;
  hvb__engine_submit(&j->work);
  return true;
}

void hvb__engine_job_cancel(hvb_engine_job *j) {
  g_return_if_fail(hvb__engine_in_turn());
  if (!j || !j->job) return;
  j->json_done = NULL; /* the producer has let go: nobody is told */
  hvb_error e = HVB_ERROR_INIT;
  hvb__fail(&e, HVB_CANCELLED, "the call was cancelled");
  /* Frees the transfer: curl_multi_remove_handle aborts it, its easy handle goes back to the
   * pool. A job that already answered (offline gateway) keeps its outcome, unread. */
  hvb__json_settle(j->job, HVB_STEP_FAILED, &e);
  /* Attached: finish it now (only safe while no loop walks the engine's list, which is why
   * cancellation is limited to cancel hooks). Still queued: its turn finishes it. */
  hvb__engine_complete(&j->work);
}

/* ---- external calls: the outcome comes from another module ----------------------------------- */

typedef struct ext_call {
  hvb_call call;
  void *result; /* handed over by hvb__call_external_finish, owned until finish */
  void (*result_free)(void *);
  hvb_error error;
  void (*on_cancel)(void *); /* told on the engine thread when the call is cancelled */
  void *on_cancel_data;
} ext_call;

static void ext_finish(hvb_work *w, bool cancelled) {
  ext_call *x = (ext_call *)w;
  void *r = x->result;
  x->result = NULL;
  if (cancelled) {
    if (r) x->result_free(r);
    r = NULL;
    hvb__fail(&x->error, HVB_CANCELLED, "the call was cancelled");
    /* The producer stops what it runs for the call (its own calls are cancelled in turn). */
    if (x->on_cancel) x->on_cancel(x->on_cancel_data);
  }
  call_conclude(&x->call, r, x->result_free, &x->error);
}

static void ext_release(hvb_work *w) {
  ext_call *x = (ext_call *)w;
  if (x->result) x->result_free(x->result);
  g_free(x);
}

/* No start: the engine finishes an external call at the turn it is handed back. */
static const hvb_work_ops ext_ops = {.finish = ext_finish, .release = ext_release};

hvb_call *hvb__call_external_new(hvb_ext_kind kind, hvb_call_done_fn on_done,
                                 hvb_call_delta_fn on_delta, void *user_data) {
  ext_call *x = g_new0(ext_call, 1);
  /* The caller's handle, the engine's, the producer's. */
  call_init(&x->call, &ext_ops, 3, kind, on_done, on_delta, user_data);
  x->result_free = result_free;
  hvb__engine_hold(&x->call.work);
  return &x->call;
}

void hvb__call_external_finish(hvb_call *c, void *result, void (*free_fn)(void *),
                               const hvb_error *err) {
  ext_call *x = (ext_call *)c;
  if (hvb__work_is_over(&c->work)) { /* cancelled meanwhile: nobody wants it */
    if (result) free_fn(result);
    return;
  }
  x->result = result;
  x->result_free = free_fn;
  if (err) x->error = *err;
  if (hvb__engine_in_turn()) hvb__engine_complete(&c->work);
  else hvb__engine_resume(&c->work);
}

void hvb__call_external_on_cancel(hvb_call *c, void (*fn)(void *), void *data) {
  ext_call *x = (ext_call *)c;
  x->on_cancel = fn;
  x->on_cancel_data = data;
}

void hvb__call_external_delta(hvb_call *c, json_object *delta) {
  if (!hvb__work_cancel_requested(&c->work) && c->on_delta)
    c->on_delta(c, delta, c->user_data);
}

bool hvb__call_external_cancelled(hvb_call *c) {
  return hvb__work_cancel_requested(&c->work);
}

void hvb__call_unref(hvb_call *c) {
  if (c) hvb__work_unref(&c->work);
}

/* ---- public API ------------------------------------------------------------------------------ */

HVB_PUBLIC bool hvb_call_wait(hvb_call *c, long timeout_ms) {
  return c ? hvb__work_wait(&c->work, timeout_ms) : false;
}

HVB_PUBLIC void hvb_call_cancel(hvb_call *c) {
  if (c) hvb__work_cancel(&c->work);
}

HVB_PUBLIC bool hvb_engine_drive_begin(hvb_error *err) {
  return hvb__engine_drive_begin(err);
}

HVB_PUBLIC int hvb_engine_step(int timeout_ms) {
  return hvb__engine_step(timeout_ms);
}

HVB_PUBLIC bool hvb_engine_drive_end(void) {
  return hvb__engine_drive_end();
}

HVB_PUBLIC int hvb_engine_fd(void) {
  return hvb__engine_fd();
}

HVB_PUBLIC int hvb_engine_timeout(void) {
  return hvb__engine_timeout();
}

HVB_PUBLIC int hvb_engine_dispatch(int fd, int events) {
  return hvb__engine_dispatch(fd, events);
}

HVB_PUBLIC bool hvb_call_is_over(const hvb_call *c) {
  return c ? hvb__work_is_over(&c->work) : false;
}

HVB_PUBLIC hvb_status hvb_call_status(const hvb_call *c) {
  return c ? hvb__work_status(&c->work) : HVB_EINVAL;
}

HVB_PUBLIC const hvb_error *hvb_call_error(const hvb_call *c) {
  return c ? hvb__work_error(&c->work) : NULL;
}

/* The outcome of a call of `kind`, borrowed or (take) handed over. */
static void *outcome_of(const hvb_call *c, hvb_ext_kind kind, bool take) {
  if (!c || c->work.tag != (int)kind) return NULL;
  return hvb__work_outcome((hvb_work *)&c->work, take);
}

HVB_PUBLIC const hvb_result *hvb_call_result(const hvb_call *c) {
  return outcome_of(c, HVB_EXT_RESULT, false);
}

HVB_PUBLIC hvb_result *hvb_call_take_result(hvb_call *c) {
  return outcome_of(c, HVB_EXT_RESULT, true);
}

HVB_PUBLIC const hvb_embeddings *hvb_call_embeddings(const hvb_call *c) {
  return outcome_of(c, HVB_EXT_EMBEDDINGS, false);
}

HVB_PUBLIC hvb_embeddings *hvb_call_take_embeddings(hvb_call *c) {
  return outcome_of(c, HVB_EXT_EMBEDDINGS, true);
}

HVB_PUBLIC hvb_images *hvb_call_images(hvb_call *c) {
  return outcome_of(c, HVB_EXT_IMAGES, false);
}

HVB_PUBLIC hvb_images *hvb_call_take_images(hvb_call *c) {
  return outcome_of(c, HVB_EXT_IMAGES, true);
}

HVB_PUBLIC void *hvb_call_user_data(const hvb_call *c) {
  return c ? c->user_data : NULL;
}

HVB_PUBLIC void hvb_call_free(hvb_call *c) {
  if (!c) return;
  hvb_call_cancel(c);
  hvb__call_unref(c);
}
