/* core/call/route.c: one call's walk along a route (see route.h). The order of targets is
 * the strategy's; every decision (a target tried, failed, skipped, answered) is recorded for
 * the result's "route" field and logged at info level, one line each. */
#include "call/route.h"
#include "call/breaker.h"
#include "call/ratelimit.h"
#include "call/ratelimit-headers.h"
#include "call/result.h"
#include "text/json.h"
#include "base/log.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

/* Decisions are logged at info level; whether that level is on is asked once per call. */
#define RLOG(rc, ...)                                                                          \
  do {                                                                                         \
    if ((rc)->info) hvb__log(HVB_LOG_INFO, __VA_ARGS__);                                        \
  } while (0)

/* ---- what the strategies learn ---- */

#define TTFB_RING 32
#define TTFB_P95_MIN 8 /* measured answers before a p95 means anything */

struct hvb_route_stats {
  GMutex lock;
  size_t n;
  double *current;  /* smooth weighted round robin: each target's current weight */
  double *ttfb_us;  /* EWMA of time to first byte; 0: not measured yet */
  int *inflight;
  gint64 (*ttfb_ring)[TTFB_RING]; /* the last TTFB_RING times to first byte (for hedging) */
  size_t *ttfb_count;             /* how many were measured (the ring holds the last ones) */
};

#define EWMA_ALPHA 0.3

hvb_route_stats *hvb__route_stats_new(size_t n) {
  hvb_route_stats *st = g_new0(hvb_route_stats, 1);
  g_mutex_init(&st->lock);
  st->n = n;
  st->current = g_new0(double, n);
  st->ttfb_us = g_new0(double, n);
  st->inflight = g_new0(int, n);
  st->ttfb_ring = g_malloc0(n * sizeof *st->ttfb_ring);
  st->ttfb_count = g_new0(size_t, n);
  return st;
}

void hvb__route_stats_free(hvb_route_stats *st) {
  if (!st) return;
  g_mutex_clear(&st->lock);
  g_free(st->current);
  g_free(st->ttfb_us);
  g_free(st->inflight);
  g_free(st->ttfb_ring);
  g_free(st->ttfb_count);
  g_free(st);
}

/* nginx's smooth weighted round robin: every pick adds each weight to its target's current
 * weight, takes the largest and subtracts the total from it. Shares are exact over every
 * cycle of sum(weights) picks, and the picks are spread out (3:1 gives a a b a, not a a a b). */
static size_t swrr_pick(hvb_route_stats *st, const double *weights) {
  g_mutex_lock(&st->lock);
  double total = 0;
  size_t best = 0;
  for (size_t i = 0; i < st->n; i++) {
    st->current[i] += weights[i];
    total += weights[i];
    if (st->current[i] > st->current[best]) best = i;
  }
  st->current[best] -= total;
  g_mutex_unlock(&st->lock);
  return best;
}

static void stats_busy(hvb_route_stats *st, size_t i, int delta) {
  g_mutex_lock(&st->lock);
  st->inflight[i] += delta;
  g_mutex_unlock(&st->lock);
}

static void stats_ttfb(hvb_route_stats *st, size_t i, gint64 us) {
  g_mutex_lock(&st->lock);
  st->ttfb_us[i] = st->ttfb_us[i] > 0 ? EWMA_ALPHA * (double)us + (1 - EWMA_ALPHA) * st->ttfb_us[i]
                                      : (double)us;
  st->ttfb_ring[i][st->ttfb_count[i]++ % TTFB_RING] = us;
  g_mutex_unlock(&st->lock);
}

/* Target i's p95 time to first byte over its last answers, or 0 before TTFB_P95_MIN. */
static gint64 stats_p95(hvb_route_stats *st, size_t i) {
  gint64 v[TTFB_RING];
  g_mutex_lock(&st->lock);
  size_t n = MIN(st->ttfb_count[i], (size_t)TTFB_RING);
  memcpy(v, st->ttfb_ring[i], n * sizeof *v);
  g_mutex_unlock(&st->lock);
  if (n < TTFB_P95_MIN) return 0;
  for (size_t a = 1; a < n; a++) /* insertion sort of 32 at most */
    for (size_t b = a; b > 0 && v[b] < v[b - 1]; b--) {
      gint64 t = v[b];
      v[b] = v[b - 1];
      v[b - 1] = t;
    }
  return v[(n * 95 + 99) / 100 - 1];
}

/* ---- one call ---- */

typedef struct attempt {
  size_t index;
  const char *outcome; /* "answered", "failed", "skipped" (static) */
  hvb_error error;     /* failed: why */
  char *reason;        /* skipped: why (g_free) */
  gint64 started_us, ended_us;
  bool first_byte;
} attempt;

#define SMALL_ROUTE 8

struct hvb_route_call {
  const hvb_route *route;
  size_t *order;  /* target indices in the order the strategy tries them */
  size_t order_small[SMALL_ROUTE]; /* order's room for a route of a few targets */
  size_t norder;
  size_t pos;     /* next position in order */
  size_t tried;   /* targets tried (not skipped) */
  gint64 started_us, deadline_us; /* deadline 0: none */
  GArray *attempts; /* of attempt */
  attempt *current; /* the last attempt while it runs, else NULL */
  bool answered;
  bool may_wait;
  bool info;      /* info-level logging was on when the call started */
  size_t answered_index;
  hvb_cache *cache; /* borrowed: the LLM's cache, whose backend may share the rate limits */
  hvb_breaker_store shared_breakers; /* the cache backend's, when it shares breakers */
  const hvb_breaker_store *breakers; /* the store in use: NULL, the process's */
};

/* The order of targets by a key per target, smallest first (ties: as listed). */
static void sort_by(size_t *order, size_t n, const double *key) {
  for (size_t i = 1; i < n; i++) /* insertion sort: routes have a handful of targets */
    for (size_t j = i; j > 0 && key[order[j]] < key[order[j - 1]]; j--) {
      size_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
}

/* Rendezvous hashing: each target's score for the key, highest first (so negated). */
static void hash_scores(const hvb_route_def *def, const char *key, double *out) {
  for (size_t i = 0; i < def->ntargets; i++) {
    guint64 h = 1469598103934665603ULL; /* FNV-1a over key, a separator and the label */
    for (const char *p = key; *p; p++) h = (h ^ (guchar)*p) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (const char *p = def->labels[i]; *p; p++) h = (h ^ (guchar)*p) * 1099511628211ULL;
    h ^= h >> 33; /* FNV's low bits mix poorly: finish as splitmix does */
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    out[i] = -(double)(h >> 11);
  }
}

static void strategy_order(hvb_route_call *rc, json_object *call_options) {
  const hvb_route_def *def = rc->route->def;
  hvb_route_stats *st = rc->route->stats;
  size_t n = rc->norder;
  if (def->strategy == HVB_ROUTE_FALLBACK) return; /* as listed */
  double *key = g_new0(double, n);
  switch (def->strategy) {
  case HVB_ROUTE_FALLBACK: break;
  case HVB_ROUTE_WEIGHTED: key[swrr_pick(st, def->weights)] = -1; break;
  case HVB_ROUTE_LEAST_LATENCY:
  case HVB_ROUTE_LEAST_BUSY:
    g_mutex_lock(&st->lock);
    for (size_t i = 0; i < n; i++)
      key[i] = def->strategy == HVB_ROUTE_LEAST_BUSY ? st->inflight[i] : st->ttfb_us[i];
    g_mutex_unlock(&st->lock);
    break;
  case HVB_ROUTE_HASH: {
    const char *k = hvb__json_str(call_options, "route_key");
    if (k) hash_scores(def, k, key);
    else RLOG(rc, "route %s: no route_key option: targets in order", def->name);
    break;
  }
  }
  sort_by(rc->order, n, key);
  g_free(key);
}

static void attempt_clear(gpointer p) {
  g_free(((attempt *)p)->reason);
}

hvb_route_call *hvb__route_call_new(const hvb_route *r, json_object *call_options, bool log_info) {
  hvb_route_call *rc = g_new0(hvb_route_call, 1);
  rc->route = r;
  rc->norder = r->def->ntargets;
  rc->order = rc->norder <= SMALL_ROUTE ? rc->order_small : g_new(size_t, rc->norder);
  for (size_t i = 0; i < rc->norder; i++) rc->order[i] = i;
  rc->info = log_info;
  strategy_order(rc, call_options);
  rc->started_us = g_get_monotonic_time();
  if (r->def->deadline_ms) rc->deadline_us = rc->started_us + (gint64)r->def->deadline_ms * 1000;
  rc->attempts = g_array_sized_new(FALSE, TRUE, sizeof(attempt), MIN(rc->norder, 4));
  g_array_set_clear_func(rc->attempts, attempt_clear);
  return rc;
}

void hvb__route_call_free(hvb_route_call *rc) {
  if (!rc) return;
  if (rc->current) stats_busy(rc->route->stats, rc->current->index, -1); /* abandoned */
  g_array_unref(rc->attempts); /* a result's record may still hold it */
  if (rc->order != rc->order_small) g_free(rc->order);
  g_free(rc);
}

static const char *label(const hvb_route_call *rc, size_t i) {
  return rc->route->def->labels[i];
}

static attempt *add_attempt(hvb_route_call *rc, size_t index, const char *outcome) {
  attempt a = {.index = index, .outcome = outcome};
  a.started_us = a.ended_us = g_get_monotonic_time();
  g_array_append_val(rc->attempts, a);
  return &g_array_index(rc->attempts, attempt, rc->attempts->len - 1);
}

/* Why no further target is tried, or NULL when one may be. */
static const char *stop_reason(const hvb_route_call *rc) {
  if (rc->pos >= rc->norder) return "every target was tried";
  if (rc->tried >= rc->route->def->max_targets) return "max_targets reached";
  if (rc->deadline_us && g_get_monotonic_time() >= rc->deadline_us)
    return "the route's deadline passed";
  return NULL;
}

void hvb__route_call_set_may_wait(hvb_route_call *rc, bool may_wait) {
  rc->may_wait = may_wait;
}

void hvb__route_call_set_cache(hvb_route_call *rc, hvb_cache *cache) {
  rc->cache = cache;
  rc->breakers = hvb__breaker_shared_store(cache, &rc->shared_breakers) ? &rc->shared_breakers
                                                                         : NULL;
}

void hvb__route_call_spend(hvb_route_call *rc, int64_t tokens) {
  if (!rc->answered) return;
  size_t i = rc->answered_index;
  hvb__ratelimit_spend(rc->route->targets[i].breaker_key, &rc->route->def->limits[i], tokens);
  hvb__ratelimit_shared_spend(rc->cache, rc->route->targets[i].breaker_key,
                              &rc->route->def->limits[i], tokens);
}

/* Take one request from target i's buckets: this process's, then the fleet's (a cache
 * backend with counters). *held names the limit that holds it back. */
static bool take(hvb_route_call *rc, size_t i, int64_t *wait_us, const char **held) {
  const char *key = rc->route->targets[i].breaker_key;
  const hvb_rate_limits *l = &rc->route->def->limits[i];
  if (!hvb__ratelimit_take(key, l, wait_us, held)) return false;
  return hvb__ratelimit_shared_take(rc->cache, key, l, wait_us, held);
}

/* May target i go now under its rate limits? A sync call of a route that waits sleeps for
 * a free slot while the deadline allows. Else *why (new) says when one frees. */
static bool within_limits(hvb_route_call *rc, size_t i, char **why) {
  const hvb_route_def *def = rc->route->def;
  const hvb_rate_limits *l = &def->limits[i];
  int64_t wait_us = 0;
  const char *held = NULL;
  while (!take(rc, i, &wait_us, &held)) {
    gint64 now = g_get_monotonic_time();
    bool past = rc->deadline_us && now + wait_us >= rc->deadline_us;
    double secs = (double)wait_us / 1e6;
    if (!def->wait_on_limit || !rc->may_wait || past) {
      if (held && !strcmp(held, "Retry-After"))
        *why = g_strdup_printf("the server asked for quiet (Retry-After): %.1f s left", secs);
      else if (held && !strcmp(held, "remaining"))
        *why = g_strdup_printf("the server said its rate limit is used up (rate-limit "
                               "headers): it resets in %.2f s", secs);
      else
        *why = g_strdup_printf("rate limit (%g rpm, %g tpm): a request may go in %.2f s",
                               l->rpm, l->tpm, secs);
      return false;
    }
    RLOG(rc, "route %s: target %zu (%s) at its rate limit (%s): waiting %.2f s",
             def->name, i + 1, label(rc, i), held ? held : "rpm/tpm", secs);
    g_usleep((gulong)wait_us);
  }
  return true;
}

/* No target could be tried (every one skipped): say so, naming the skips. */
static void fail_none(const hvb_route_call *rc, const char *why, hvb_error *err) {
  GString *skips = g_string_new(NULL);
  for (guint i = 0; i < rc->attempts->len; i++) {
    const attempt *a = &g_array_index(rc->attempts, attempt, i);
    g_string_append_printf(skips, "%s target %zu (%s): %s", i ? ";" : "", a->index + 1,
                           label(rc, a->index), a->reason ? a->reason : a->outcome);
  }
  hvb__fail(err, HVB_TRANSPORT, "route '%s': no target could be tried (%s)%s%s",
            rc->route->def->name, why, skips->len ? ":" : "", skips->str);
  g_string_free(skips, TRUE);
}

const hvb_route_target *hvb__route_call_next(hvb_route_call *rc, hvb_error *err) {
  rc->current = NULL;
  const hvb_route_def *def = rc->route->def;
  for (;;) {
    const char *why = stop_reason(rc);
    if (why) {
      RLOG(rc, "route %s: no further target: %s", def->name, why);
      if (err && err->status == HVB_OK) fail_none(rc, why, err);
      return NULL;
    }
    size_t i = rc->order[rc->pos++];
    const hvb_route_target *t = &rc->route->targets[i];
    char *skip = NULL;
    if (!within_limits(rc, i, &skip) ||
        !hvb__breaker_allow(rc->breakers, &def->breaker, t->breaker_key, &skip)) {
      add_attempt(rc, i, "skipped")->reason = skip;
      RLOG(rc, "route %s: target %zu (%s) skipped: %s", def->name, i + 1,
               label(rc, i), skip);
      continue;
    }
    rc->tried++;
    rc->current = add_attempt(rc, i, "running");
    stats_busy(rc->route->stats, i, +1);
    RLOG(rc, "route %s: trying target %zu (%s)", def->name, i + 1, label(rc, i));
    return t;
  }
}

bool hvb__route_call_failed(hvb_route_call *rc, const hvb_error *e) {
  attempt *a = rc->current;
  if (!a) return false;
  rc->current = NULL;
  stats_busy(rc->route->stats, a->index, -1);
  a->outcome = "failed";
  a->error = *e;
  a->ended_us = g_get_monotonic_time();
  bool through = hvb__route_falls_through(rc->route->def, e);
  /* Only what falls through counts against the target: a 400 says it is up. */
  hvb__breaker_record(rc->breakers, &rc->route->def->breaker, rc->route->targets[a->index].breaker_key,
                      through);
  RLOG(rc, "route %s: target %zu (%s) failed after %.1f ms: %s%s",
           rc->route->def->name, a->index + 1, label(rc, a->index),
           (double)(a->ended_us - a->started_us) / 1000.0, e->message,
           through ? " (falls through)" : " (does not fall through: the call fails)");
  return through;
}

void hvb__route_call_answered(hvb_route_call *rc) {
  attempt *a = rc->current;
  if (!a) return;
  rc->current = NULL;
  stats_busy(rc->route->stats, a->index, -1);
  /* An answer without body bytes (an offline gateway, a cache hit) counts whole. */
  if (!a->first_byte) stats_ttfb(rc->route->stats, a->index, g_get_monotonic_time() - a->started_us);
  rc->answered = true;
  rc->answered_index = a->index;
  a->outcome = "answered";
  hvb__breaker_record(rc->breakers, &rc->route->def->breaker, rc->route->targets[a->index].breaker_key,
                      false);
  a->ended_us = g_get_monotonic_time();
  RLOG(rc, "route %s: target %zu (%s) answered after %.1f ms",
           rc->route->def->name, a->index + 1, label(rc, a->index),
           (double)(a->ended_us - a->started_us) / 1000.0);
}

void hvb__route_call_retry_after(hvb_route_call *rc, long ms) {
  attempt *a = rc->current;
  if (!a) return;
  hvb__ratelimit_pause(rc->route->targets[a->index].breaker_key,
                       g_get_monotonic_time() + (gint64)ms * 1000);
  hvb__ratelimit_shared_pause(rc->cache, rc->route->targets[a->index].breaker_key, ms);
  RLOG(rc, "route %s: target %zu (%s) asked for %.1f s of quiet (Retry-After)",
           rc->route->def->name, a->index + 1, label(rc, a->index), (double)ms / 1000.0);
}

G_STATIC_ASSERT(HVB_RLH_COUNT <= HVB_CAPTURE_MAX);

size_t hvb__route_call_capture(const hvb_route_call *rc, const char *const **names) {
  const hvb_route_target *t = rc->current ? &rc->route->targets[rc->current->index] : NULL;
  *names = t ? t->limit_headers : NULL;
  return *names ? HVB_RLH_COUNT : 0;
}

void hvb__route_call_heard(hvb_route_call *rc, const hvb_transfer *t) {
  const hvb_route_target *target = rc->current ? &rc->route->targets[rc->current->index] : NULL;
  if (!target || !target->limit_headers) return;
  const char *values[HVB_RLH_COUNT];
  for (size_t i = 0; i < HVB_RLH_COUNT; i++) values[i] = hvb__transfer_captured(t, i);
  hvb__ratelimit_heard(target->breaker_key, values);
}

void hvb__route_call_first_byte(hvb_route_call *rc) {
  attempt *a = rc->current;
  if (!a || a->first_byte) return;
  a->first_byte = true;
  stats_ttfb(rc->route->stats, a->index, g_get_monotonic_time() - a->started_us);
}

long hvb__route_call_remaining_ms(const hvb_route_call *rc) {
  if (!rc->deadline_us) return 0;
  gint64 left = (rc->deadline_us - g_get_monotonic_time()) / 1000;
  return left >= 1 ? (long)left : 1;
}

long hvb__route_call_hedge_ms(const hvb_route_call *rc) {
  const hvb_route_def *def = rc->route->def;
  if (!def->hedge || !rc->current || hvb__route_call_is_last(rc)) return 0;
  gint64 p95 = def->hedge_p95 ? stats_p95(rc->route->stats, rc->current->index) : 0;
  return p95 > 0 ? (long)MAX(p95 / 1000, 1) : def->hedge_after_ms;
}

long hvb__route_call_current(const hvb_route_call *rc) {
  return rc->current ? (long)rc->current->index : -1;
}

void hvb__route_call_exclude(hvb_route_call *rc, size_t index) {
  for (size_t p = rc->pos; p < rc->norder; p++)
    if (rc->order[p] == index) {
      memmove(&rc->order[p], &rc->order[p + 1], (rc->norder - p - 1) * sizeof *rc->order);
      rc->norder--;
      return;
    }
}

void hvb__route_call_lost(hvb_route_call *rc, size_t index, int64_t started_us,
                          const char *why) {
  attempt *keep = rc->current; /* appending may move the array: keep the position */
  size_t at = keep ? (size_t)(keep - &g_array_index(rc->attempts, attempt, 0)) : 0;
  attempt *a = add_attempt(rc, index, "cancelled");
  a->started_us = started_us;
  a->reason = g_strdup(why);
  if (keep) rc->current = &g_array_index(rc->attempts, attempt, at);
  RLOG(rc, "route %s: target %zu (%s) cancelled: %s", rc->route->def->name, index + 1,
       label(rc, index), why);
}

int64_t hvb__route_call_started_us(const hvb_route_call *rc) {
  return rc->current ? rc->current->started_us : 0;
}

bool hvb__route_call_is_last(const hvb_route_call *rc) {
  return rc->pos >= rc->norder || rc->tried >= rc->route->def->max_targets;
}

/* Milliseconds with one decimal, printed as such (not 11.800000000000001). */
static json_object *ms_json(gint64 us) {
  char buf[32];
  g_snprintf(buf, sizeof buf, "%.1f", (double)us / 1000.0);
  return json_object_new_double_s(g_ascii_strtod(buf, NULL), buf);
}

static json_object *attempt_json(const hvb_route_def *def, const attempt *a) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "target", json_object_new_string(def->labels[a->index]));
  json_object_object_add(o, "index", json_object_new_int64((int64_t)a->index));
  json_object_object_add(o, "outcome", json_object_new_string(a->outcome));
  if (a->error.status != HVB_OK) {
    json_object_object_add(o, "status", json_object_new_string(hvb_status_name(a->error.status)));
    if (a->error.http_status)
      json_object_object_add(o, "http_status", json_object_new_int(a->error.http_status));
    json_object_object_add(o, "reason", json_object_new_string(a->error.message));
  } else if (a->reason) {
    json_object_object_add(o, "reason", json_object_new_string(a->reason));
  }
  json_object_object_add(o, "ms", ms_json(a->ended_us - a->started_us));
  return o;
}

/* What a result's route record is made from, when it is first read (hvb_result_route): the
 * def (a reference: the result may outlive its LLM) and the attempts (shared with the call,
 * which adds none once its result is made). */
typedef struct trace {
  hvb_route_def *def;
  GArray *attempts;
  gint64 started_us, ended_us;
} trace;

static json_object *trace_json(const void *p) {
  const trace *t = p;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "name", json_object_new_string(t->def->name));
  json_object_object_add(o, "strategy",
                         json_object_new_string(hvb__route_strategy_name(t->def->strategy)));
  json_object *tried = json_object_new_array();
  const char *answered = NULL;
  for (guint i = 0; i < t->attempts->len; i++) {
    const attempt *a = &g_array_index(t->attempts, attempt, i);
    if (!strcmp(a->outcome, "answered")) answered = t->def->labels[a->index];
    json_object_array_add(tried, attempt_json(t->def, a));
  }
  json_object_object_add(o, "answered", answered ? json_object_new_string(answered) : NULL);
  json_object_object_add(o, "attempts", tried);
  json_object_object_add(o, "ms", ms_json(t->ended_us - t->started_us));
  return o;
}

static void trace_free(void *p) {
  trace *t = p;
  hvb__route_def_free(t->def);
  g_array_unref(t->attempts);
  g_free(t);
}

void hvb__route_call_record_into(const hvb_route_call *rc, hvb_result *r) {
  trace *t = g_new(trace, 1);
  /* The def is the routed LLM's; the route only borrows it, hence the cast to count a ref. */
  t->def = hvb__route_def_ref((hvb_route_def *)rc->route->def);
  t->attempts = g_array_ref(rc->attempts);
  t->started_us = rc->started_us;
  t->ended_us = g_get_monotonic_time();
  hvb__result_set_route_lazy(r, t, trace_json, trace_free);
}
