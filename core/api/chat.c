/* core/api/chat.c: one chat exchange, streamed or not, as a state machine.
 *
 * An exchange passes the pipeline's stages on the way in (core/call/pipeline.c: options,
 * cache, repair, limits, gateway, transport), which make its transfer or answer it (a cache
 * hit, an offline gateway); it runs the transfer, folds what comes back (canonical chunks)
 * into one accumulator (core/call/accum.c), and passes the stages on the way out. A stream
 * hands the accumulator's deltas to its caller as they come; chat runs the same machine to
 * the end and returns the result; the async engine drives the same machine's transfer.
 */
#include "api/chat.h"
#include "api/handle.h"
#include "call/accum.h"
#include "call/pipeline.h"
#include "call/result.h"
#include "call/route.h"
#include "cache/store.h"
#include "gateway/gateway.h"
#include "net/transport.h"
#include "text/json.h"
#include "text/sse.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

/* ============================================================================================
 * The exchange: hvb_stream is the object; chat runs one to the end without handing deltas out.
 * ========================================================================================== */

/* Where an exchange stands. RUNNING -> ENDED -> TOLD, or RUNNING -> FAILED (a cache hit or
 * an offline answer is ENDED from the start). */
typedef enum exchange_phase {
  PHASE_RUNNING, /* the transfer runs (or is about to) */
  PHASE_ENDED,   /* the reply is folded in; queued deltas may remain */
  PHASE_TOLD,    /* hvb_stream_next told the caller the end */
  PHASE_FAILED,  /* `error` holds why; queued deltas are still handed out first */
} exchange_phase;

/* What the reply is read as. An event stream is asked for with "stream"; each attempt then
 * looks at its Content-Type once, because an error, or a provider that ignores "stream",
 * answers with one JSON body. */
typedef enum reply_form {
  REPLY_BODY,        /* one JSON body was asked for */
  REPLY_UNSEEN,      /* events asked; this attempt's Content-Type not looked at yet */
  REPLY_EVENTS,      /* events asked and coming */
  REPLY_EVENTS_BODY, /* events asked, but this attempt answers with a JSON body */
} reply_form;

struct hvb_stream {
  hvb_exchange x; /* what the pipeline's stages see: spec, gateway, request, transfer... */
  exchange_phase phase;
  reply_form reply;
  bool gather;    /* chat: keep no queue, never commit */
  bool committed; /* a delta reached the caller: no retry */
  bool done_marker; /* the protocol's end marker ([DONE]) was seen */
  bool debug; /* debug logging was on when the call started (one level check per call) */
  int log_max; /* the most verbose level on then (hvb__log_max) */
  hvb_sse *decoder;
  void *gw_state;
  json_object *chunks; /* scratch array the gateway fills per event */
  GQueue pending; /* public deltas not yet handed out (owned references) */
  json_object *current;
  GString *body;
  hvb_error error;
  /* A routed call: what each target's way in needs again: the caller's own for a sync call
   * (they outlive it), else copies (r_owned). An async call whose way in waits (x.waiting)
   * keeps copies here too, for the stages after the one that waits. */
  const char *r_prompt;
  json_object *r_messages, *r_options;
  bool r_owned;
  bool r_switched; /* a target's way in ran */
};

static bool is_over(const hvb_stream *s) {
  return s->phase != PHASE_RUNNING;
}


static void queue_clear(hvb_stream *s) {
  json_object *d;
  while ((d = g_queue_pop_head(&s->pending))) json_object_put(d);
}

/* A public delta (taken; NULL: none) is queued for the caller (the queue owns it) unless the
 * call gathers. */
static void feed_delta(hvb_stream *s, json_object *delta) {
  if (!delta) return;
  hvb__pipeline_delta(&s->x, delta);
  if (s->gather)
    json_object_put(delta);
  else
    g_queue_push_tail(&s->pending, delta);
}

/* Fold one canonical chunk (borrowed) in and queue its delta. */
static void feed_chunk(hvb_stream *s, json_object *chunk) {
  feed_delta(s, hvb__accum_feed(s->x.acc, chunk));
}

/* Feed and empty s->chunks (the array keeps the chunks' references until emptied). */
static void feed_chunks(hvb_stream *s) {
  size_t n = json_object_array_length(s->chunks);
  for (size_t i = 0; i < n; i++) feed_chunk(s, json_object_array_get_idx(s->chunks, i));
  if (n) json_object_array_del_idx(s->chunks, 0, n);
}

/* SSE callback: one event through the gateway into the accumulator. */
static bool on_event(void *user_data, const hvb_sse_event *ev, hvb_error *err) {
  hvb_stream *s = user_data;
  if (s->done_marker) return true; /* nothing after the end marker counts */
  /* The raw record keeps the provider's payloads as they were, before translation. Both
   * parse JSON under the C locale object (see hvb__c_locale_enter: fork safety). Our reader
   * first (the usual event is a plain object); json-c's lenient reading, as before, for
   * anything else ([DONE], text after the value...). */
  locale_t previous = hvb__c_locale_enter();
  json_object *payload = hvb__json_parse(ev->data, (long)ev->data_len, "stream event", NULL);
  if (!payload) payload = json_tokener_parse(ev->data);
  if (payload) hvb__accum_raw_append(s->x.acc, payload);
  bool done = false;
  bool parsed = s->x.gw->ops.parse_event(s->gw_state, ev, s->chunks, &done, err);
  hvb__c_locale_leave(previous);
  if (!parsed) {
    hvb__error_prefix(err, "stream from %s", s->x.url);
    return false;
  }
  feed_chunks(s);
  if (done) s->done_marker = true;
  return true;
}

/* Transport sink: body bytes (borrowed, valid during the call) to the decoder or the buffer. */
static hvb_sink_rc on_body(void *user_data, const char *data, size_t len, hvb_error *err) {
  hvb_stream *s = user_data;
  if (s->x.route) hvb__route_call_first_byte(s->x.route); /* least-latency learns TTFB */
  if (s->reply == REPLY_UNSEEN)
    s->reply = g_str_has_prefix(hvb__transfer_content_type(s->x.transfer), "application/json")
                   ? REPLY_EVENTS_BODY
                   : REPLY_EVENTS;
  if (s->reply == REPLY_EVENTS) {
    int n = hvb__sse_feed(s->decoder, data, len, err);
    if (n < 0) return HVB_SINK_ABORT;
    /* Comment-only bytes (keep-alives) must not count as progress for the idle timeout. */
    return n > 0 ? HVB_SINK_PROGRESS : HVB_SINK_CONTINUE;
  }
  /* The transport caps the body (max_response_bytes, core/call/stage-limits.c). */
  g_string_append_len(s->body, data, (gssize)len);
  return HVB_SINK_PROGRESS;
}

/* Before a retried attempt: forget everything the failed one delivered. Only ever called before
 * commit, so nothing dropped here has reached the caller. */
static void on_reset(void *user_data) {
  hvb_stream *s = user_data;
  queue_clear(s);
  hvb__accum_reset(s->x.acc);
  if (s->decoder) hvb__sse_reset(s->decoder);
  g_string_truncate(s->body, 0);
  if (s->reply != REPLY_BODY) s->reply = REPLY_UNSEEN;
  if (json_object_array_length(s->chunks))
    json_object_array_del_idx(s->chunks, 0, json_object_array_length(s->chunks));
  if (s->x.gw->ops.stream_end) s->x.gw->ops.stream_end(s->gw_state);
  s->gw_state = s->x.gw->ops.stream_begin ? s->x.gw->ops.stream_begin(s->x.spec) : NULL;
  s->done_marker = false;
}

/* Record the call's failure (copied); hvb_stream_next reports it once the queue is empty.
 * A failed call stores nothing. */
static void fail_call(hvb_stream *s, const hvb_error *e) {
  s->phase = PHASE_FAILED;
  s->error = *e;
  hvb__pipeline_error(&s->x, e);
}

/* The 2xx response is complete: fold a buffered body in, or check the stream's end. */
static bool finish_transfer(hvb_stream *s, hvb_error *err) {
  if (s->debug)
    hvb__log(HVB_LOG_DEBUG, "HTTP %ld from %s after %d attempt(s)",
             hvb__transfer_status(s->x.transfer), s->x.url, hvb__transfer_attempts(s->x.transfer));
  if (s->reply == REPLY_EVENTS) {
    if (!s->done_marker && !hvb__accum_finish_reason(s->x.acc))
      return hvb__fail(err, HVB_TRUNCATED,
                       "stream from %s was truncated: it ended without [DONE] or a finish reason",
                       s->x.url);
    return true;
  }
  hvb_error perr = HVB_ERROR_INIT;
  json_object *body = hvb__json_parse(s->body->str, (long)s->body->len, "response", &perr);
  if (!body) {
    const char *why = strstr(perr.message, "not valid JSON (");
    return hvb__fail(err, HVB_PARSE, "response from %s is not valid JSON (%s", s->x.url,
                     why ? why + strlen("not valid JSON (") : "empty or null)");
  }
  if (!s->x.gw->ops.parse) {
    json_object_put(body);
    return hvb__fail(err, HVB_GATEWAY, "gateway '%s' has no parse operation", s->x.gw->name);
  }
  json_object *completion = s->x.gw->ops.parse(s->x.spec, HVB_GATEWAY_OP_CHAT, body, err);
  if (!completion) {
    json_object_put(body);
    hvb__error_prefix(err, "response from %s", s->x.url);
    return false;
  }
  feed_delta(s, hvb__accum_feed_completion(s->x.acc, completion));
  json_object_put(completion);
  hvb__accum_raw_set(s->x.acc, body);
  return true;
}

/* One step of work: run the transfer a little (waiting up to wait_ms for the network). Sets
 * failed or ended, or queues deltas. */
static void advance_for(hvb_stream *s, int wait_ms) {
  hvb_error e = HVB_ERROR_INIT;
  hvb_step st = hvb__transfer_step(s->x.transfer, wait_ms, &e);
  hvb__chat_settle(s, st, &e);
}

static void advance(hvb_stream *s) {
  advance_for(s, 1000);
}

static bool route_on(hvb_stream *s, hvb_error *e);

void hvb__chat_settle(hvb_stream *s, int st, const hvb_error *failure) {
  if (st == HVB_STEP_RUNNING) return;
  /* What the reply's headers said of the target's rate limit (catalog-named) is learned. */
  if (s->x.route && s->x.transfer) hvb__route_call_heard(s->x.route, s->x.transfer);
  hvb_error e = HVB_ERROR_INIT;
  if (failure) e = *failure;
  gint64 t = hvb__clock_us();
  bool finished = st == HVB_STEP_DONE && finish_transfer(s, &e);
  s->x.times.parse_us += hvb__clock_us() - t;
  if (finished) {
    s->phase = PHASE_ENDED;
    hvb__pipeline_reply(&s->x);
    /* Give the connection back to the pool now rather than when the caller frees the stream. */
    g_clear_pointer(&s->x.transfer, hvb__transfer_free);
    return;
  }
  /* A routed target that said Retry-After is left alone that long by every routed call. */
  long pause_ms = s->x.route && s->x.transfer ? hvb__transfer_retry_after_ms(s->x.transfer) : -1;
  g_clear_pointer(&s->x.transfer, hvb__transfer_free);
  if (pause_ms > 0) hvb__route_call_retry_after(s->x.route, pause_ms);
  if (!route_on(s, &e)) fail_call(s, &e);
}

HVB_PUBLIC void hvb_stream_free(hvb_stream *s) {
  if (!s) return;
  hvb__transfer_free(s->x.transfer);
  hvb__pipeline_release(&s->x); /* an aborted exchange stores nothing */
  if (s->decoder && s->x.gw->ops.stream_end) s->x.gw->ops.stream_end(s->gw_state);
  hvb__sse_free(s->decoder);
  queue_clear(s);
  json_object_put(s->current);
  json_object_put(s->chunks);
  hvb__accum_free(s->x.acc);
  if (s->body) g_string_free(s->body, TRUE);
  hvb_spec_unref(s->x.spec);
  hvb__route_call_free(s->x.route);
  if (s->r_owned) {
    g_free((char *)s->r_prompt);
    json_object_put(s->r_messages);
    json_object_put(s->r_options);
  }
  g_free(s);
}

/* A stage answered on the way in (the cache, an offline gateway): feed the answer as the
 * live chunks would have been (the cache's stored deltas replayed as they are), and the
 * exchange is over. */
static void take_answer(hvb_stream *s) {
  json_object *chunks = s->x.answers;
  for (size_t i = 0; i < json_object_array_length(chunks); i++) {
    json_object *c = json_object_array_get_idx(chunks, i);
    if (s->x.answer_deltas)
      feed_delta(s, hvb__accum_replay(s->x.acc, c));
    else
      feed_chunk(s, c);
  }
  if (s->x.answer_raw) hvb__accum_raw_set(s->x.acc, json_object_get(s->x.answer_raw));
  s->phase = PHASE_ENDED;
  hvb__pipeline_reply(&s->x);
}

/* After the way in: how the reply is read, or a stage's answer taken. */
static void exchange_ready(hvb_stream *s, hvb_stage_rc rc) {
  bool events = json_object_get_boolean(json_object_object_get(s->x.request, "stream"));
  s->reply = events ? REPLY_UNSEEN : REPLY_BODY;
  if (rc == HVB_STAGE_ANSWERED) {
    take_answer(s);
    return;
  }
  if (!s->body) s->body = g_string_new(NULL);
  if (events) {
    s->decoder = hvb__sse_new(0, 0, on_event, s);
    s->gw_state = s->x.gw->ops.stream_begin ? s->x.gw->ops.stream_begin(s->x.spec) : NULL;
  }
}

/* ---- a routed call: a loop around the way in and the transfer (core/call/route.c) ---- */

/* Forget the previous target's way in and reply (nothing of it reached the caller), and make
 * `t` the exchange's spec, gateway and pool. */
/* The previous target's way in and reply, forgotten (nothing of it reached the caller). */
static void target_forget(hvb_stream *s) {
  /* The previous target's stage states go as for an aborted exchange; the LLM's usage and
   * telemetry settings stay with the call (every target's exchange is accounted). */
  struct hvb_usage_cfg *usage = s->x.usage;
  struct hvb_telemetry *telemetry = s->x.telemetry;
  s->x.usage = NULL, s->x.telemetry = NULL;
  hvb__pipeline_release(&s->x);
  s->x.usage = usage, s->x.telemetry = telemetry;
  if (s->decoder) {
    if (s->x.gw->ops.stream_end) s->x.gw->ops.stream_end(s->gw_state);
    s->gw_state = NULL;
    g_clear_pointer(&s->decoder, hvb__sse_free);
  }
  queue_clear(s);
  hvb__accum_reset(s->x.acc);
  if (s->body) g_string_truncate(s->body, 0);
  if (json_object_array_length(s->chunks))
    json_object_array_del_idx(s->chunks, 0, json_object_array_length(s->chunks));
  s->done_marker = false;
  memset(&s->x.http, 0, sizeof s->x.http);
  memset(s->x.state, 0, sizeof s->x.state);
  s->x.url = NULL;
  s->x.cached = false;
  s->x.answer_deltas = false;
}

/* Make `t` the exchange's spec, gateway and pool, after forgetting the previous target. */
static void target_switch(hvb_stream *s, const hvb_route_target *t) {
  if (s->r_switched) target_forget(s); /* the first target has nothing to forget */
  s->r_switched = true;
  hvb_spec_unref(s->x.spec);
  s->x.spec = hvb_spec_ref(t->spec);
  s->x.gw = t->gw;
  s->x.client = t->client;
}

/* Run the way in on the route's next targets until one makes its transfer or answers (true),
 * or none is left or a failure does not fall through (false; *err holds the last failure,
 * which the caller set for a target that failed before). */
static bool route_next(hvb_stream *s, hvb_error *err) {
  for (;;) {
    const hvb_route_target *t = hvb__route_call_next(s->x.route, err);
    if (!t) return false;
    target_switch(s, t);
    hvb_error e = HVB_ERROR_INIT;
    hvb_stage_rc rc = HVB_STAGE_FAILED;
    if (hvb__gateway_supports(t->gw, t->spec, HVB_GATEWAY_OP_CHAT, &e)) {
      s->x.prompt = s->r_prompt, s->x.messages = s->r_messages, s->x.options = s->r_options;
      rc = hvb__pipeline_request(&s->x, &e);
      s->x.prompt = NULL, s->x.messages = s->x.options = NULL;
    }
    if (rc != HVB_STAGE_FAILED) {
      exchange_ready(s, rc);
      return true;
    }
    *err = e;
    if (!hvb__route_call_failed(s->x.route, &e)) return false;
  }
}

/* A target failed (`e`): on to the next when nothing reached the caller and the route lets
 * the failure fall through. Streams fall back only before their first delta is handed out. */
static bool route_on(hvb_stream *s, hvb_error *e) {
  if (!s->x.route || s->committed || !hvb__route_call_failed(s->x.route, e)) return false;
  return route_next(s, e);
}

static hvb_stream *route_start(hvb_stream *s, const hvb_route *route, long exclude,
                               hvb_error *err) {
  s->x.route = hvb__route_call_new(route, s->x.options, s->log_max >= HVB_LOG_INFO);
  if (exclude >= 0) hvb__route_call_exclude(s->x.route, (size_t)exclude);
  hvb__route_call_set_may_wait(s->x.route, !s->x.async);
  hvb__route_call_set_cache(s->x.route, s->x.llm_cache);
  s->x.route_no_retries = route->def->no_retries;
  /* A sync chat runs to its end before it returns: the caller's input is still there for
   * every target. A stream or an async call goes on after: it keeps copies. */
  s->r_owned = !s->gather || s->x.async;
  s->r_prompt = s->r_owned ? g_strdup(s->x.prompt) : s->x.prompt;
  s->r_messages = s->x.messages && s->r_owned ? hvb__json_copy(s->x.messages) : s->x.messages;
  s->r_options = s->x.options && s->r_owned ? hvb__json_copy(s->x.options) : s->x.options;
  s->x.prompt = NULL, s->x.messages = s->x.options = NULL;
  hvb_error e = HVB_ERROR_INIT;
  if (route_next(s, &e)) return s;
  if (err) *err = e;
  hvb_stream_free(s);
  return NULL;
}

/* Start a call: the pipeline's way in (core/call/pipeline.c) builds the request and either
 * answers or makes the transfer. `force_stream` asks for an event stream whatever the
 * options say. New stream, or NULL with err set (bad input, or a stage refused). */
static hvb_stream *call_start(hvb_llm *llm, const char *prompt, json_object *messages,
                              json_object *call_options, bool force_stream, bool gather,
                              bool runs_tools, bool async, long exclude, hvb_error *err) {
  /* The operation is checked before anything else, so that an unsupported call fails the
   * same way whatever its arguments. */
  gint64 start = hvb__clock_us(); /* the call's clock (core/call/stage-account.c) */
  const hvb_route *route = hvb__llm_route(llm);
  if (!route && !hvb_llm_supports(llm, HVB_GATEWAY_OP_CHAT, err)) return NULL;
  hvb_stream *s = g_new0(hvb_stream, 1);
  s->x.times.start_us = start;
  hvb__llm_exchange_init(llm, &s->x, HVB_GATEWAY_OP_CHAT);
  s->x.prompt = prompt;
  s->x.messages = messages;
  s->x.options = call_options;
  s->x.force_stream = force_stream;
  s->x.runs_tools = runs_tools;
  s->x.async = async;
  s->x.sink = on_body;
  s->x.reset = on_reset;
  s->x.sink_data = s;
  s->x.acc = hvb__accum_new();
  s->gather = gather;
  s->chunks = json_object_new_array();
  g_queue_init(&s->pending);
  s->log_max = hvb__log_max();
  s->debug = s->log_max >= HVB_LOG_DEBUG;
  if (route) return route_start(s, route, exclude, err);
  /* The transfer makes no progress before it is stepped: the sink's state can follow. */
  hvb_error e = HVB_ERROR_INIT;
  hvb_stage_rc rc = hvb__pipeline_request(&s->x, &e);
  if (rc == HVB_STAGE_WAIT) { /* the rest of the way in runs later (hvb__chat_wait_poll) */
    s->r_owned = true;
    s->r_prompt = g_strdup(s->x.prompt);
    s->r_messages = s->x.messages ? hvb__json_copy(s->x.messages) : NULL;
    s->r_options = s->x.options ? hvb__json_copy(s->x.options) : NULL;
  }
  s->x.prompt = NULL, s->x.messages = s->x.options = NULL; /* borrowed for the way in only */
  if (rc == HVB_STAGE_FAILED) {
    hvb__pipeline_error(&s->x, &e); /* the stages that ran are told, as of any failure */
    if (err) *err = e;
    hvb_stream_free(s);
    return NULL;
  }
  if (rc != HVB_STAGE_WAIT) exchange_ready(s, rc);
  return s;
}

/* The result of a call that ended: what the accumulator gathered, its tool calls repaired
 * (core/api/tools.c). NULL with HVB_PARSE when strict repair finds an unfixable call. */
static hvb_result *exchange_result(hvb_stream *s, hvb_error *err) {
  hvb_result *r = hvb__accum_result(s->x.acc, json_object_object_get(s->x.request, "messages"));
  r->cached = s->x.cached;
  r->steps = 1;
  if (s->x.route) hvb__route_call_record_into(s->x.route, r);
  if (!hvb__pipeline_result(&s->x, r, err)) {
    hvb_result_free(r);
    return NULL;
  }
  return r;
}

/* Run a call to its end and build the result. Consumes nothing; NULL with err on failure. */
static hvb_result *call_gather(hvb_stream *s, hvb_error *err) {
  while (!is_over(s)) advance(s);
  if (s->phase == PHASE_FAILED) {
    if (err) *err = s->error;
    return NULL;
  }
  return exchange_result(s, err);
}

/* ---- hedged requests (a route's "hedge"): a sync chat only, which owns its thread ---- */

/* The race is over: `winner` goes on, `loser` is freed, its transfer closed mid-flight; the
 * winner's record says which target was cancelled. */
static hvb_stream *hedge_settle(hvb_stream *winner, hvb_stream *loser) {
  long i = loser->x.route ? hvb__route_call_current(loser->x.route) : -1;
  if (i >= 0 && winner->phase != PHASE_FAILED)
    hvb__route_call_lost(winner->x.route, (size_t)i, hvb__route_call_started_us(loser->x.route),
                         "hedged: another target answered first");
  hvb_stream_free(loser);
  return winner;
}

/* When the current target has not answered within the route's hedge delay, the next target
 * is started beside it (a second exchange that excludes the first's target); the two are
 * stepped in turn and the first complete answer wins. The stream to gather is returned. */
static hvb_stream *hedge_race(hvb_llm *llm, hvb_stream *s, const char *prompt,
                              json_object *messages, json_object *call_options,
                              bool runs_tools) {
  long delay = s->x.route && !is_over(s) ? hvb__route_call_hedge_ms(s->x.route) : 0;
  if (delay <= 0) return s;
  gint64 until = g_get_monotonic_time() + (gint64)delay * 1000;
  for (gint64 left; !is_over(s) && (left = until - g_get_monotonic_time()) > 0;)
    advance_for(s, (int)MIN(left / 1000 + 1, 1000));
  if (is_over(s) || hvb__route_call_hedge_ms(s->x.route) <= 0) return s;
  hvb_error e = HVB_ERROR_INIT;
  hvb_stream *h = call_start(llm, prompt, messages, call_options, false, true, runs_tools,
                             false, hvb__route_call_current(s->x.route), &e);
  if (!h) return s; /* no other target could start: the first goes on alone */
  if (s->log_max >= HVB_LOG_INFO)
    hvb__log(HVB_LOG_INFO, "route: target %ld gave no answer in %ld ms: hedging with target %ld",
             hvb__route_call_current(s->x.route) + 1, delay,
             h->x.route ? hvb__route_call_current(h->x.route) + 1 : 0);
  for (;;) {
    if (!is_over(s)) advance_for(s, 5);
    if (s->phase != PHASE_RUNNING && s->phase != PHASE_FAILED) return hedge_settle(s, h);
    if (!is_over(h)) advance_for(h, 5);
    if (h->phase != PHASE_RUNNING && h->phase != PHASE_FAILED) return hedge_settle(h, s);
    if (s->phase == PHASE_FAILED) return hedge_settle(h, s);
    if (h->phase == PHASE_FAILED) return hedge_settle(s, h);
  }
}

hvb_result *hvb__chat_once(hvb_llm *llm, const char *prompt, json_object *messages,
                           json_object *call_options, bool runs_tools, json_object **again,
                           hvb_error *err) {
  hvb_stream *s =
      call_start(llm, prompt, messages, call_options, false, true, runs_tools, false, -1, err);
  if (!s) return NULL;
  if (s->x.route) s = hedge_race(llm, s, prompt, messages, call_options, runs_tools);
  hvb_result *r = call_gather(s, err);
  if (!r && again) {
    *again = s->x.retry_messages;
    s->x.retry_messages = NULL;
  }
  gint64 t = hvb__clock_us();
  hvb_stream_free(s);
  if (r) hvb__result_timing_add(r, hvb__clock_us() - t);
  return r;
}

hvb_result *hvb__llm_chat_ex(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, bool runs_tools, hvb_error *err) {
  json_object *again = NULL;
  hvb_error e = HVB_ERROR_INIT;
  hvb_result *r = hvb__chat_once(llm, prompt, messages, call_options, runs_tools, &again, &e);
  if (!r && again) return hvb__structured_retry(llm, again, call_options, runs_tools, &e, err);
  if (!r && err) *err = e;
  return r;
}


hvb_stream *hvb__chat_stream(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, hvb_error *err) {
  return call_start(llm, prompt, messages, call_options, true, false, false, false, -1, err);
}

HVB_PUBLIC bool hvb_stream_next(hvb_stream *s, json_object **delta, hvb_error *err) {
  if (delta) *delta = NULL;
  if (!s || !delta) return hvb__fail(err, HVB_EINVAL, "stream and delta must not be NULL");
  g_clear_pointer(&s->current, json_object_put);
  for (;;) {
    /* Deltas that arrived before a failure are still handed out, then the failure. */
    if (!g_queue_is_empty(&s->pending)) {
      if (!s->committed && s->x.transfer) hvb__transfer_commit(s->x.transfer);
      s->committed = true;
      s->current = g_queue_pop_head(&s->pending);
      *delta = s->current;
      return true;
    }
    if (s->phase == PHASE_FAILED) {
      if (err) *err = s->error;
      return false;
    }
    if (s->phase != PHASE_RUNNING) {
      s->phase = PHASE_TOLD;
      return true;
    }
    advance(s);
  }
}

HVB_PUBLIC hvb_result *hvb_stream_result(hvb_stream *s, hvb_error *err) {
  if (!s) {
    hvb__fail(err, HVB_EINVAL, "stream is NULL");
    return NULL;
  }
  if (s->phase == PHASE_FAILED && g_queue_is_empty(&s->pending)) {
    if (err) *err = s->error;
    return NULL;
  }
  if (s->phase != PHASE_TOLD) {
    hvb__fail(err, HVB_EINVAL,
              "the stream has not ended (call hvb_stream_next until it gives NULL)");
    return NULL;
  }
  return exchange_result(s, err);
}

/* ---- what the async engine (the chat kind of core/api/async.c) needs of a call ---- */

hvb_stream *hvb__chat_begin_async(hvb_llm *llm, const char *prompt, json_object *messages,
                            json_object *call_options, bool deltas, bool runs_tools,
                            hvb_error *err) {
  if (!prompt == !messages) {
    hvb__fail(err, HVB_EINVAL, "give exactly one of prompt and messages");
    return NULL;
  }
  return call_start(llm, prompt, messages, call_options, deltas, !deltas, runs_tools, true, -1, err);
}

bool hvb__chat_waiting(const hvb_stream *s) {
  return s->x.waiting != 0;
}

bool hvb__chat_wait_poll(hvb_stream *s) {
  hvb_error e = HVB_ERROR_INIT;
  s->x.prompt = s->r_prompt, s->x.messages = s->r_messages, s->x.options = s->r_options;
  hvb_stage_rc rc = hvb__pipeline_poll(&s->x, &e);
  s->x.prompt = NULL, s->x.messages = s->x.options = NULL;
  if (rc == HVB_STAGE_WAIT) return true;
  if (rc == HVB_STAGE_FAILED) fail_call(s, &e);
  else exchange_ready(s, rc);
  return false;
}

hvb_transfer *hvb__chat_transfer(hvb_stream *s) {
  return s->x.transfer;
}

bool hvb__chat_over(const hvb_stream *s) {
  return is_over(s);
}

json_object *hvb__chat_pop_delta(hvb_stream *s) {
  if (g_queue_is_empty(&s->pending)) return NULL;
  /* A delta reached the caller: the transfer may no longer be retried. */
  if (!s->committed && s->x.transfer) hvb__transfer_commit(s->x.transfer);
  s->committed = true;
  return g_queue_pop_head(&s->pending);
}

hvb_result *hvb__chat_outcome(hvb_stream *s, hvb_error *err) {
  if (s->phase == PHASE_FAILED) {
    if (err) *err = s->error;
    return NULL;
  }
  return exchange_result(s, err);
}

