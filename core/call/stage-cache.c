/* core/call/stage-cache.c: the response cache around a chat call (values:
 * core/call/cache-codec.c; the store and single flight: core/cache/store.c).
 *
 * On the way in a hit answers the call (the stored public deltas are replayed through the
 * accumulator, hvb__accum_replay, and handed out as the live ones were); a miss makes the call its key's leader, or lets it run
 * alone. On the way out a complete live reply is stored and the key given up.
 *
 * An async call never blocks (that would block its caller or the engine thread): when
 * another call leads its key, here or on another host, the stage returns HVB_STAGE_WAIT and
 * its owner polls it from the engine's timers (cache_poll): a hit answers, a claim freed (a
 * leader that failed, or died: its lock expired) makes it the leader, and past the bound
 * sync calls wait (the call's timeout, or twice the lock's expiry) it calls alone. A routed
 * async call does not wait: its targets' way in runs inside the route's walk.
 */
#include "call/pipeline.h"
#include "call/cache-codec.h"
#include "call/accum.h"
#include "call/result.h"
#include "cache/settings.h"
#include "base/log.h"

#include <glib.h>

typedef struct cache_state {
  hvb_cache *cache; /* the call's handle while it may read or write */
  char *key;
  bool leader; /* this call leads the key (single flight) */
  gint64 wait_until_us; /* an async call waiting for another's entry: until then */
} cache_state;

/* What a lookup found: a hit answers the call; else it goes on, leading the key or alone. */
static hvb_stage_rc cache_outcome(hvb_exchange *x, cache_state *st, hvb_flight f,
                                  GBytes *value) {
  st->leader = f == HVB_FLIGHT_LEADER;
  if (f != HVB_FLIGHT_HIT) return HVB_STAGE_NEXT;
  json_object *raw = NULL;
  json_object *deltas = hvb__chat_cache_decode_deltas(value, &raw);
  g_bytes_unref(value);
  if (!deltas) return HVB_STAGE_NEXT; /* unreadable: a miss */
  x->answers = deltas;
  x->answer_deltas = true;
  x->answer_raw = raw;
  x->cached = true;
  hvb__log(HVB_LOG_DEBUG, "cache hit (text %.12s)", st->key);
  return HVB_STAGE_ANSWERED;
}

static hvb_stage_rc cache_request(hvb_exchange *x, void **state, hvb_error *err) {
  if (x->op != HVB_GATEWAY_OP_CHAT) return HVB_STAGE_NEXT; /* embed.c, imagen.c cache theirs */
  hvb_cache *c = NULL;
  if (!hvb__cache_for_call(x->llm_cache, x->options, HVB_NS_TEXT, &c, err))
    return HVB_STAGE_FAILED;
  /* A chat that runs executable tools bypasses the cache: the answer depends on the tools. */
  if (!c || !hvb__cache_policy_allows(HVB_NS_TEXT, x->request, x->runs_tools)) {
    hvb__cache_unref(c);
    return HVB_STAGE_NEXT;
  }
  cache_state *st = g_new0(cache_state, 1);
  *state = st;
  st->cache = c;
  st->key = hvb__cache_key(HVB_NS_TEXT, hvb_spec_hash_key(x->spec), x->request);
  long timeout_ms = hvb_spec_timeout_ms(x->spec);
  bool polled = x->async && !x->route; /* waits from its owner's timers, never here */
  long wait_ms = polled ? HVB_FLIGHT_ONCE : x->async ? 0 : timeout_ms > 0 ? timeout_ms : -1;
  GBytes *value = NULL;
  gint64 t = hvb__clock_us();
  hvb_flight f = hvb__cache_fetch(c, HVB_NS_TEXT, st->key, wait_ms, &value);
  x->times.cache_lookup_us += hvb__clock_us() - t;
  if (polled && f == HVB_FLIGHT_BUSY) {
    long bound = timeout_ms > 0 ? timeout_ms : (long)(2 * c->flight_lock_ms);
    st->wait_until_us = g_get_monotonic_time() + (gint64)bound * 1000;
    hvb__log(HVB_LOG_DEBUG, "cache: another call leads text %.12s: waiting for its entry",
             st->key);
    return HVB_STAGE_WAIT;
  }
  return cache_outcome(x, st, f, value);
}

/* An async call waiting for another's entry: look once more. */
static hvb_stage_rc cache_poll(hvb_exchange *x, void **state, hvb_error *err) {
  (void)err;
  cache_state *st = *state;
  GBytes *value = NULL;
  gint64 t = hvb__clock_us();
  hvb_flight f = hvb__cache_fetch(st->cache, HVB_NS_TEXT, st->key, HVB_FLIGHT_ONCE, &value);
  x->times.cache_lookup_us += hvb__clock_us() - t;
  if (f == HVB_FLIGHT_BUSY) {
    if (g_get_monotonic_time() < st->wait_until_us) return HVB_STAGE_WAIT;
    hvb__log(HVB_LOG_DEBUG, "cache: waited long enough for text %.12s: calling alone", st->key);
    f = HVB_FLIGHT_ALONE;
  }
  return cache_outcome(x, st, f, value);
}

/* Give up the key and drop the handle. */
static void cache_end(void **state) {
  cache_state *st = *state;
  if (!st) return;
  if (st->leader) hvb__cache_release(st->cache, st->key);
  hvb__cache_unref(st->cache);
  g_free(st->key);
  g_free(st);
  *state = NULL;
}

/* Only a reply worth replaying is stored: one with text or tool calls. An empty one is more
 * often a provider's fault than an answer, and storing it would serve the fault again for as
 * long as the entry lives. (A reply of the wrong shape never gets here: it failed.) */
static bool worth_storing(const hvb_result *r) {
  return json_object_get_string_len(r->text_obj) > 0 || r->tool_calls;
}

static void cache_reply(hvb_exchange *x, void **state) {
  cache_state *st = *state;
  gint64 t = hvb__clock_us();
  if (st && !x->cached && x->no_store) {
    hvb__log(HVB_LOG_DEBUG, "cache: a reply a stage refused is not stored (text %.12s)", st->key);
  } else if (st && !x->cached) {
    hvb_result *r = hvb__accum_result(x->acc, NULL);
    if (!worth_storing(r)) {
      hvb__log(HVB_LOG_DEBUG, "cache: an empty reply is not stored (text %.12s)", st->key);
      hvb_result_free(r);
      cache_end(state);
      x->times.cache_store_us += hvb__clock_us() - t;
      return;
    }
    GBytes *value = hvb__chat_cache_encode(r);
    hvb__cache_put(st->cache, HVB_NS_TEXT, st->key, g_bytes_get_data(value, NULL),
                   g_bytes_get_size(value));
    g_bytes_unref(value);
    hvb_result_free(r);
  }
  cache_end(state);
  x->times.cache_store_us += hvb__clock_us() - t;
}

/* A failed or aborted call stores nothing. */
static void cache_error(hvb_exchange *x, void **state, const hvb_error *e) {
  (void)x, (void)e;
  cache_end(state);
}

static void cache_release(hvb_exchange *x, void **state) {
  (void)x;
  cache_end(state);
}

const hvb_stage hvb__stage_cache = {.name = "cache",
                                    .request = cache_request,
                                    .reply = cache_reply,
                                    .error = cache_error,
                                    .release = cache_release,
                                    .poll = cache_poll};
