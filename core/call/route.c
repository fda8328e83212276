/* core/call/route.c: one call's walk along a route (see route.h). The order of targets is
 * the strategy's; every decision (a target tried, failed, skipped, answered) is recorded for
 * the result's "route" field and logged at info level, one line each. */
#include "call/route.h"
#include "call/breaker.h"
#include "text/json.h"
#include "base/log.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

typedef struct attempt {
  size_t index;
  const char *outcome; /* "answered", "failed", "skipped" (static) */
  hvb_error error;     /* failed: why */
  char *reason;        /* skipped: why (g_free) */
  gint64 started_us, ended_us;
} attempt;

struct hvb_route_call {
  const hvb_route *route;
  size_t *order;  /* target indices in the order the strategy tries them */
  size_t norder;
  size_t pos;     /* next position in order */
  size_t tried;   /* targets tried (not skipped) */
  gint64 started_us, deadline_us; /* deadline 0: none */
  GArray *attempts; /* of attempt */
  attempt *current; /* the last attempt while it runs, else NULL */
  bool answered;
};

hvb_route_call *hvb__route_call_new(const hvb_route *r, json_object *call_options) {
  (void)call_options;
  hvb_route_call *rc = g_new0(hvb_route_call, 1);
  rc->route = r;
  rc->norder = r->def->ntargets;
  rc->order = g_new(size_t, rc->norder);
  for (size_t i = 0; i < rc->norder; i++) rc->order[i] = i;
  rc->started_us = g_get_monotonic_time();
  if (r->def->deadline_ms) rc->deadline_us = rc->started_us + (gint64)r->def->deadline_ms * 1000;
  rc->attempts = g_array_new(FALSE, TRUE, sizeof(attempt));
  return rc;
}

void hvb__route_call_free(hvb_route_call *rc) {
  if (!rc) return;
  for (guint i = 0; i < rc->attempts->len; i++)
    g_free(g_array_index(rc->attempts, attempt, i).reason);
  g_array_free(rc->attempts, TRUE);
  g_free(rc->order);
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
      hvb__log(HVB_LOG_INFO, "route %s: no further target: %s", def->name, why);
      if (err && err->status == HVB_OK) fail_none(rc, why, err);
      return NULL;
    }
    size_t i = rc->order[rc->pos++];
    const hvb_route_target *t = &rc->route->targets[i];
    char *skip = NULL;
    if (!hvb__breaker_allow(&def->breaker, t->breaker_key, &skip)) {
      add_attempt(rc, i, "skipped")->reason = skip;
      hvb__log(HVB_LOG_INFO, "route %s: target %zu (%s) skipped: %s", def->name, i + 1,
               label(rc, i), skip);
      continue;
    }
    rc->tried++;
    rc->current = add_attempt(rc, i, "running");
    hvb__log(HVB_LOG_INFO, "route %s: trying target %zu (%s)", def->name, i + 1, label(rc, i));
    return t;
  }
}

bool hvb__route_call_failed(hvb_route_call *rc, const hvb_error *e) {
  attempt *a = rc->current;
  if (!a) return false;
  rc->current = NULL;
  a->outcome = "failed";
  a->error = *e;
  a->ended_us = g_get_monotonic_time();
  bool through = hvb__route_falls_through(rc->route->def, e);
  /* Only what falls through counts against the target: a 400 says it is up. */
  hvb__breaker_record(&rc->route->def->breaker, rc->route->targets[a->index].breaker_key,
                      through);
  hvb__log(HVB_LOG_INFO, "route %s: target %zu (%s) failed after %.1f ms: %s%s",
           rc->route->def->name, a->index + 1, label(rc, a->index),
           (double)(a->ended_us - a->started_us) / 1000.0, e->message,
           through ? " (falls through)" : " (does not fall through: the call fails)");
  return through;
}

void hvb__route_call_answered(hvb_route_call *rc) {
  attempt *a = rc->current;
  if (!a) return;
  rc->current = NULL;
  rc->answered = true;
  a->outcome = "answered";
  hvb__breaker_record(&rc->route->def->breaker, rc->route->targets[a->index].breaker_key,
                      false);
  a->ended_us = g_get_monotonic_time();
  hvb__log(HVB_LOG_INFO, "route %s: target %zu (%s) answered after %.1f ms",
           rc->route->def->name, a->index + 1, label(rc, a->index),
           (double)(a->ended_us - a->started_us) / 1000.0);
}

long hvb__route_call_remaining_ms(const hvb_route_call *rc) {
  if (!rc->deadline_us) return 0;
  gint64 left = (rc->deadline_us - g_get_monotonic_time()) / 1000;
  return left >= 1 ? (long)left : 1;
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

static json_object *attempt_json(const hvb_route_call *rc, const attempt *a) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "target", json_object_new_string(label(rc, a->index)));
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

json_object *hvb__route_call_record(const hvb_route_call *rc) {
  json_object *o = json_object_new_object();
  const hvb_route_def *def = rc->route->def;
  json_object_object_add(o, "name", json_object_new_string(def->name));
  json_object_object_add(o, "strategy",
                         json_object_new_string(hvb__route_strategy_name(def->strategy)));
  json_object *tried = json_object_new_array();
  const char *answered = NULL;
  for (guint i = 0; i < rc->attempts->len; i++) {
    const attempt *a = &g_array_index(rc->attempts, attempt, i);
    if (!strcmp(a->outcome, "answered")) answered = label(rc, a->index);
    json_object_array_add(tried, attempt_json(rc, a));
  }
  json_object_object_add(o, "answered", answered ? json_object_new_string(answered) : NULL);
  json_object_object_add(o, "attempts", tried);
  json_object_object_add(o, "ms", ms_json(g_get_monotonic_time() - rc->started_us));
  return o;
}
