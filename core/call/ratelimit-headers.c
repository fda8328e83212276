/* core/call/ratelimit-headers.c: "N remaining until T" from reply headers whose names the
 * catalog gives (see ratelimit-headers.h). */
#include "call/ratelimit-headers.h"
#include "call/ratelimit.h"
#include "base/error.h"
#include "base/log.h"

#include <glib.h>
#include <math.h>
#include <string.h>

static const char *const keys[HVB_RLH_COUNT] = {"requests_remaining", "requests_reset",
                                                "tokens_remaining", "tokens_reset"};

/* A header name is a token (RFC 9110): no separators, no spaces. */
static bool is_header_name(const char *s) {
  if (!*s || strlen(s) > 128) return false;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p)) return false;
  return true;
}

bool hvb__ratelimit_headers_read(json_object *decl, const char *owner,
                                 char *names[HVB_RLH_COUNT], hvb_error *err) {
  for (int i = 0; i < HVB_RLH_COUNT; i++) names[i] = NULL;
  if (!decl) return true;
  json_object_object_foreach(decl, key, val) {
    int k = 0;
    while (k < HVB_RLH_COUNT && strcmp(keys[k], key)) k++;
    const char *v = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : "";
    if (k == HVB_RLH_COUNT || !is_header_name(v)) {
      for (int i = 0; i < HVB_RLH_COUNT; i++) g_clear_pointer(&names[i], g_free);
      if (k == HVB_RLH_COUNT)
        return hvb__fail(err, HVB_CONFIG, "catalog %s: 'rate_limit_headers' has an unknown key "
                         "'%s' (known: requests_remaining, requests_reset, tokens_remaining, "
                         "tokens_reset)", owner, key);
      return hvb__fail(err, HVB_CONFIG, "catalog %s: 'rate_limit_headers.%s' must be a header "
                       "name", owner, key);
    }
    g_free(names[k]);
    names[k] = g_strdup(v);
  }
  return true;
}

/* Go's time.Duration text, as OpenAI sends it: numbers each with a unit, largest first. */
static bool duration_us(const char *v, int64_t *out) {
  static const struct { const char *unit; double us; } units[] = {
      {"ms", 1e3}, {"us", 1}, {"\xc2\xb5s", 1}, {"ns", 1e-3}, {"h", 3.6e9}, {"m", 6e7},
      {"s", 1e6}};
  double total = 0;
  const char *p = v;
  while (*p) {
    char *end;
    double n = g_ascii_strtod(p, &end);
    if (end == p || !isfinite(n) || n < 0) return false;
    p = end;
    if (!*p && p == v + strlen(v) && total == 0) { /* a bare number: seconds */
      total = n * 1e6;
      break;
    }
    size_t u = 0;
    while (u < G_N_ELEMENTS(units) && !g_str_has_prefix(p, units[u].unit)) u++;
    if (u == G_N_ELEMENTS(units)) return false;
    total += n * units[u].us;
    p += strlen(units[u].unit);
  }
  if (p == v || total > 1e13) return false; /* over 100 days is not a rate-limit window */
  *out = (int64_t)total;
  return true;
}

static bool rfc3339_us(const char *v, int64_t *out) {
  GDateTime *when = g_date_time_new_from_iso8601(v, NULL);
  if (!when) return false;
  GDateTime *now = g_date_time_new_now_utc();
  GTimeSpan d = g_date_time_difference(when, now);
  g_date_time_unref(when);
  g_date_time_unref(now);
  *out = d > 0 ? d : 0;
  return true;
}

bool hvb__ratelimit_reset_in(const char *value, int64_t *in_us) {
  return duration_us(value, in_us) || rfc3339_us(value, in_us);
}

void hvb__ratelimit_heard(const char *key, const char *const values[HVB_RLH_COUNT]) {
  for (int k = HVB_RL_REQUESTS; k <= HVB_RL_TOKENS; k++) {
    const char *left = values[k == HVB_RL_REQUESTS ? HVB_RLH_REQUESTS_REMAINING
                                                   : HVB_RLH_TOKENS_REMAINING];
    const char *reset = values[k == HVB_RL_REQUESTS ? HVB_RLH_REQUESTS_RESET
                                                    : HVB_RLH_TOKENS_RESET];
    if (!left || !reset) continue;
    char *end;
    double n = g_ascii_strtod(left, &end);
    int64_t in_us = 0;
    if (end == left || *end || !isfinite(n) || n < 0 || !hvb__ratelimit_reset_in(reset, &in_us)) {
      hvb__log(HVB_LOG_DEBUG, "rate-limit headers not understood: remaining '%s', reset '%s'",
               left, reset);
      continue;
    }
    hvb__ratelimit_learn(key, (hvb_ratelimit_kind)k, n, g_get_monotonic_time() + in_us);
  }
}
