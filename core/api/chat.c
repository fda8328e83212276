/* core/api/chat.c: one chat exchange, streamed or not, as a state machine.
 *
 * An exchange builds the canonical request (core/call/request.c), looks the response cache
 * up, has the gateway turn the request into HTTP (or answer offline), runs the transfer, and
 * folds what comes back (canonical chunks) into one accumulator (core/call/accum.c). A stream
 * hands the accumulator's deltas to its caller as they come; chat runs the same machine to
 * the end and returns the result; the async engine drives the same machine's transfer.
 */
#include "api/chat.h"
#include "api/handle.h"
#include "api/tools.h"
#include "call/accum.h"
#include "call/cache-codec.h"
#include "call/request.h"
#include "call/result.h"
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

/* A non-streamed response body larger than this is refused rather than buffered. */
#define HVB_MAX_BODY (64u << 20)

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

/* The exchange's part in the response cache. */
typedef enum cache_role {
  CACHE_NONE,   /* no cache, or it is done with it */
  CACHE_ALONE,  /* a miss, not coordinated with other calls of the key (it may still store) */
  CACHE_LEADER, /* a miss: this call leads its key (single flight) and releases it */
  CACHE_HIT,    /* the reply was replayed from the cache */
} cache_role;

struct hvb_stream {
  hvb_spec *spec; /* reference: a stream may outlive its LLM */
  const hvb_gateway_record *gw;
  json_object *request;
  exchange_phase phase;
  reply_form reply;
  cache_role cache_role;
  bool gather;    /* chat: keep no queue, never commit */
  bool async;     /* driven by the engine: never block on the cache, transfer made detached */
  bool committed; /* a delta reached the caller: no retry */
  bool done_marker; /* the protocol's end marker ([DONE]) was seen */
  bool debug; /* debug logging was on when the call started (one level check per call) */
  hvb_wire_request *wire;
  const char *url; /* borrowed from wire, for messages */
  hvb_transfer *transfer;
  hvb_sse *decoder;
  void *gw_state;
  json_object *chunks; /* scratch array the gateway fills per event */
  hvb_accum *acc;
  GQueue pending; /* public deltas not yet handed out (owned references) */
  json_object *current;
  GString *body;
  hvb_error error;
  /* The response cache: the call's handle while it may read or write, and its key. */
  hvb_cache *cache;
  char *cache_key;
  hvb_repair_config repair; /* tool-call repair for this call's result */
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
  if (s->gather)
    json_object_put(delta);
  else
    g_queue_push_tail(&s->pending, delta);
}

/* Fold one canonical chunk (borrowed) in and queue its delta. */
static void feed_chunk(hvb_stream *s, json_object *chunk) {
  feed_delta(s, hvb__accum_feed(s->acc, chunk));
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
  if (payload) hvb__accum_raw_append(s->acc, payload);
  bool done = false;
  bool parsed = s->gw->ops.parse_event(s->gw_state, ev, s->chunks, &done, err);
  hvb__c_locale_leave(previous);
  if (!parsed) {
    hvb__error_prefix(err, "stream from %s", s->url);
    return false;
  }
  feed_chunks(s);
  if (done) s->done_marker = true;
  return true;
}

/* Transport sink: body bytes (borrowed, valid during the call) to the decoder or the buffer. */
static hvb_sink_rc on_body(void *user_data, const char *data, size_t len, hvb_error *err) {
  hvb_stream *s = user_data;
  if (s->reply == REPLY_UNSEEN)
    s->reply = g_str_has_prefix(hvb__transfer_content_type(s->transfer), "application/json")
                   ? REPLY_EVENTS_BODY
                   : REPLY_EVENTS;
  if (s->reply == REPLY_EVENTS) {
    int n = hvb__sse_feed(s->decoder, data, len, err);
    if (n < 0) return HVB_SINK_ABORT;
    /* Comment-only bytes (keep-alives) must not count as progress for the idle timeout. */
    return n > 0 ? HVB_SINK_PROGRESS : HVB_SINK_CONTINUE;
  }
  if (s->body->len + len > HVB_MAX_BODY) {
    hvb__fail(err, HVB_TOO_LARGE, "response from %s exceeds %u bytes", s->url, HVB_MAX_BODY);
    return HVB_SINK_ABORT;
  }
  g_string_append_len(s->body, data, (gssize)len);
  return HVB_SINK_PROGRESS;
}

/* Before a retried attempt: forget everything the failed one delivered. Only ever called before
 * commit, so nothing dropped here has reached the caller. */
static void on_reset(void *user_data) {
  hvb_stream *s = user_data;
  queue_clear(s);
  hvb__accum_reset(s->acc);
  if (s->decoder) hvb__sse_reset(s->decoder);
  g_string_truncate(s->body, 0);
  if (s->reply != REPLY_BODY) s->reply = REPLY_UNSEEN;
  if (json_object_array_length(s->chunks))
    json_object_array_del_idx(s->chunks, 0, json_object_array_length(s->chunks));
  if (s->gw->ops.stream_end) s->gw->ops.stream_end(s->gw_state);
  s->gw_state = s->gw->ops.stream_begin ? s->gw->ops.stream_begin(s->spec) : NULL;
  s->done_marker = false;
}

/* ---- the response cache around a call (values: core/call/cache-codec.c; store: cache/) ---- */

/* Before a call: decide whether it may use the cache and look its answer up. A hit is fed
 * through the accumulator as the live chunks were, and the call is then complete: true.
 * A miss makes this call the key's leader (or lets it run alone): false. Never fails; a bad
 * "cache" call option was refused before (call_cache_handle). */
static bool cache_begin(hvb_stream *s, hvb_cache *c, bool runs_tools) {
  /* A chat that runs executable tools bypasses the cache: the answer depends on the tools. */
  if (!c || !hvb__cache_policy_allows(HVB_NS_TEXT, s->request, runs_tools)) {
    hvb__cache_unref(c);
    return false;
  }
  s->cache = c;
  s->cache_key = hvb__cache_key(HVB_NS_TEXT, hvb_spec_hash_key(s->spec), s->request);
  /* An async call must not block its caller, or the engine thread, on another call of the
   * same key: it runs without the cache's coordination instead (it may still store). */
  long timeout_ms = hvb_spec_timeout_ms(s->spec);
  long wait_ms = s->async ? 0 : timeout_ms > 0 ? timeout_ms : -1; /* -1: without limit */
  GBytes *value = NULL;
  hvb_flight f = hvb__cache_fetch(c, HVB_NS_TEXT, s->cache_key, wait_ms, &value);
  s->cache_role = f == HVB_FLIGHT_LEADER ? CACHE_LEADER : CACHE_ALONE;
  if (f != HVB_FLIGHT_HIT) return false;
  json_object *raw = NULL;
  json_object *chunks = hvb__chat_cache_decode(value, &raw);
  g_bytes_unref(value);
  if (!chunks) return false;
  for (size_t i = 0; i < json_object_array_length(chunks); i++)
    feed_chunk(s, json_object_array_get_idx(chunks, i));
  json_object_put(chunks);
  if (raw) hvb__accum_raw_set(s->acc, raw);
  hvb__log(HVB_LOG_DEBUG, "cache hit (text %.12s)", s->cache_key);
  s->cache_role = CACHE_HIT;
  s->phase = PHASE_ENDED;
  return true;
}

/* The call is over: store a complete live answer, give up the key, drop the handle. */
static void cache_end(hvb_stream *s, bool complete) {
  if (!s->cache) return;
  if (complete && s->cache_role != CACHE_HIT) {
    hvb_result *r = hvb__accum_result(s->acc, NULL);
    GBytes *value = hvb__chat_cache_encode(r);
    hvb__cache_put(s->cache, HVB_NS_TEXT, s->cache_key, g_bytes_get_data(value, NULL),
                   g_bytes_get_size(value));
    g_bytes_unref(value);
    hvb_result_free(r);
  }
  if (s->cache_role == CACHE_LEADER) hvb__cache_release(s->cache, s->cache_key);
  if (s->cache_role != CACHE_HIT) s->cache_role = CACHE_NONE;
  g_clear_pointer(&s->cache, hvb__cache_unref);
  g_clear_pointer(&s->cache_key, g_free);
}

/* Record the call's failure (copied); hvb_stream_next reports it once the queue is empty.
 * A failed call stores nothing. */
static void fail_call(hvb_stream *s, const hvb_error *e) {
  s->phase = PHASE_FAILED;
  s->error = *e;
  cache_end(s, false);
}

/* The 2xx response is complete: fold a buffered body in, or check the stream's end. */
static bool finish_transfer(hvb_stream *s, hvb_error *err) {
  if (s->debug)
    hvb__log(HVB_LOG_DEBUG, "HTTP %ld from %s after %d attempt(s)",
             hvb__transfer_status(s->transfer), s->url, hvb__transfer_attempts(s->transfer));
  if (s->reply == REPLY_EVENTS) {
    if (!s->done_marker && !hvb__accum_finish_reason(s->acc))
      return hvb__fail(err, HVB_TRUNCATED,
                       "stream from %s was truncated: it ended without [DONE] or a finish reason",
                       s->url);
    return true;
  }
  hvb_error perr = HVB_ERROR_INIT;
  json_object *body = hvb__json_parse(s->body->str, (long)s->body->len, "response", &perr);
  if (!body) {
    const char *why = strstr(perr.message, "not valid JSON (");
    return hvb__fail(err, HVB_PARSE, "response from %s is not valid JSON (%s", s->url,
                     why ? why + strlen("not valid JSON (") : "empty or null)");
  }
  if (!s->gw->ops.parse) {
    json_object_put(body);
    return hvb__fail(err, HVB_GATEWAY, "gateway '%s' has no parse operation", s->gw->name);
  }
  json_object *completion = s->gw->ops.parse(s->spec, HVB_GATEWAY_OP_CHAT, body, err);
  if (!completion) {
    json_object_put(body);
    hvb__error_prefix(err, "response from %s", s->url);
    return false;
  }
  feed_delta(s, hvb__accum_feed_completion(s->acc, completion));
  json_object_put(completion);
  hvb__accum_raw_set(s->acc, body);
  return true;
}

/* One step of work: run the transfer a little. Sets failed or ended, or queues deltas. */
static void advance(hvb_stream *s) {
  hvb_error e = HVB_ERROR_INIT;
  hvb_step st = hvb__transfer_step(s->transfer, 1000, &e);
  hvb__chat_settle(s, st, &e);
}

void hvb__chat_settle(hvb_stream *s, int st, const hvb_error *failure) {
  if (st == HVB_STEP_RUNNING) return;
  hvb_error e = HVB_ERROR_INIT;
  if (failure) e = *failure;
  if (st == HVB_STEP_DONE && finish_transfer(s, &e)) {
    s->phase = PHASE_ENDED;
    cache_end(s, true);
  } else
    fail_call(s, &e);
  /* Give the connection back to the pool now rather than when the caller frees the stream. */
  g_clear_pointer(&s->transfer, hvb__transfer_free);
}

HVB_PUBLIC void hvb_stream_free(hvb_stream *s) {
  if (!s) return;
  cache_end(s, false); /* an aborted stream stores nothing */
  hvb__transfer_free(s->transfer);
  if (s->decoder && s->gw->ops.stream_end) s->gw->ops.stream_end(s->gw_state);
  hvb__sse_free(s->decoder);
  hvb__wire_request_free(s->wire);
  queue_clear(s);
  json_object_put(s->current);
  json_object_put(s->chunks);
  json_object_put(s->request);
  hvb__accum_free(s->acc);
  if (s->body) g_string_free(s->body, TRUE);
  hvb_spec_unref(s->spec);
  g_free(s);
}

/* Start a call: build the request and either answer offline or start the transfer.
 * `force_stream` asks for an event stream whatever the options say. New stream, or NULL with
 * err set (bad input, or an offline gateway that failed). */
static hvb_stream *call_start(hvb_llm *llm, const char *prompt, json_object *messages,
                              json_object *call_options, bool force_stream, bool gather,
                              bool runs_tools, bool async, hvb_error *err) {
  /* The operation is checked before anything else, so that an unsupported call fails the
   * same way whatever its arguments. */
  if (!hvb_llm_supports(llm, HVB_GATEWAY_OP_CHAT, err)) return NULL;
  const hvb_gateway_record *gw = hvb__llm_gateway(llm);
  /* A gateway without streaming answers a stream request with one body: the caller still
   * gets deltas, all at once. */
  bool can_stream = (gw->ops.caps & HVB_GATEWAY_CAP_STREAM) && gw->ops.parse_event;
  hvb_repair_config repair;
  if (!hvb__llm_call_repair(llm, call_options, &repair, err)) return NULL;
  hvb_cache *cache = NULL;
  if (!hvb__cache_for_call(hvb__llm_cache(llm), call_options, HVB_NS_TEXT, &cache, err))
    return NULL;
  json_object *req =
      hvb__request_build(hvb_llm_spec(llm), prompt, messages, call_options, force_stream, err);
  if (!req) {
    hvb__cache_unref(cache);
    return NULL;
  }
  if (!can_stream && !hvb__gateway_offline(gw))
    json_object_object_add(req, "stream", json_object_new_boolean(0));

  hvb_stream *s = g_new0(hvb_stream, 1);
  s->spec = hvb_spec_ref(hvb__llm_spec(llm));
  s->gw = gw;
  s->request = req;
  s->gather = gather;
  s->async = async;
  s->repair = repair;
  s->reply =
      json_object_get_boolean(json_object_object_get(req, "stream")) ? REPLY_UNSEEN : REPLY_BODY;
  s->acc = hvb__accum_new();
  s->chunks = json_object_new_array();
  g_queue_init(&s->pending);
  if (cache_begin(s, cache, runs_tools)) return s;

  if (hvb__gateway_offline(gw)) {
    if (!gw->ops.execute(s->spec, HVB_GATEWAY_OP_CHAT, req, s->chunks, err)) {
      hvb__error_prefix(err, "gateway '%s'", gw->name);
      hvb_stream_free(s);
      return NULL;
    }
    feed_chunks(s);
    s->phase = PHASE_ENDED;
    cache_end(s, true);
    return s;
  }

  if (!gw->ops.prepare) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' has neither prepare nor an offline execute",
              gw->name);
    hvb_stream_free(s);
    return NULL;
  }
  s->wire = hvb__wire_request_new();
  if (!gw->ops.prepare(s->spec, HVB_GATEWAY_OP_CHAT, req, s->wire, err)) {
    hvb_stream_free(s);
    return NULL;
  }
  s->url = hvb_wire_request_url(s->wire);
  s->body = g_string_new(NULL);
  if (s->reply != REPLY_BODY) {
    s->decoder = hvb__sse_new(0, 0, on_event, s);
    s->gw_state = gw->ops.stream_begin ? gw->ops.stream_begin(s->spec) : NULL;
  }
  hvb_http_request hr = hvb__http_request_for(s->spec, s->wire);
  s->debug = hvb__log_enabled(HVB_LOG_DEBUG);
  if (s->debug)
    hvb__log(HVB_LOG_DEBUG, "POST %s (%s via gateway %s)", s->url, s->reply != REPLY_BODY ? "stream" : "chat",
             gw->name);
  s->transfer = async ? hvb__transfer_new_detached(hvb__llm_client(llm), &hr, on_body, on_reset, s)
                      : hvb__transfer_new(hvb__llm_client(llm), &hr, on_body, on_reset, s);
  return s;
}

/* The result of a call that ended: what the accumulator gathered, its tool calls repaired
 * (core/api/tools.c). NULL with HVB_PARSE when strict repair finds an unfixable call. */
static hvb_result *exchange_result(hvb_stream *s, hvb_error *err) {
  hvb_result *r = hvb__accum_result(s->acc, json_object_object_get(s->request, "messages"));
  r->cached = s->cache_role == CACHE_HIT;
  r->steps = 1;
  if (!hvb__result_repair(r, json_object_object_get(s->request, "tools"), &s->repair, 1, err)) {
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

hvb_result *hvb__llm_chat_ex(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, bool runs_tools, hvb_error *err) {
  hvb_stream *s =
      call_start(llm, prompt, messages, call_options, false, true, runs_tools, false, err);
  if (!s) return NULL;
  hvb_result *r = call_gather(s, err);
  hvb_stream_free(s);
  return r;
}


hvb_stream *hvb__chat_stream(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, hvb_error *err) {
  return call_start(llm, prompt, messages, call_options, true, false, false, false, err);
}

HVB_PUBLIC bool hvb_stream_next(hvb_stream *s, json_object **delta, hvb_error *err) {
  if (delta) *delta = NULL;
  if (!s || !delta) return hvb__fail(err, HVB_EINVAL, "stream and delta must not be NULL");
  g_clear_pointer(&s->current, json_object_put);
  for (;;) {
    /* Deltas that arrived before a failure are still handed out, then the failure. */
    if (!g_queue_is_empty(&s->pending)) {
      if (!s->committed && s->transfer) hvb__transfer_commit(s->transfer);
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
  return call_start(llm, prompt, messages, call_options, deltas, !deltas, runs_tools, true, err);
}

hvb_transfer *hvb__chat_transfer(hvb_stream *s) {
  return s->transfer;
}

bool hvb__chat_over(const hvb_stream *s) {
  return is_over(s);
}

json_object *hvb__chat_pop_delta(hvb_stream *s) {
  if (g_queue_is_empty(&s->pending)) return NULL;
  /* A delta reached the caller: the transfer may no longer be retried. */
  if (!s->committed && s->transfer) hvb__transfer_commit(s->transfer);
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

