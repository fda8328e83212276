/* core/api/usage.c: the public entry points of the usage ledger (hb usage): reports and
 * pruning (core/cache/ledger.c keeps the rows). */
#include "cache/ledger.h"
#include "base/common.h"
#include "base/error.h"

#include <heavenbase/usage.h>

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* "YYYY-MM-DD" (the start of the day, or with `end` its end) or an ISO 8601 time with zone,
 * in Unix milliseconds (UTC); false with HVB_EINVAL naming `what`. */
static bool parse_when(const char *s, bool end, const char *what, int64_t *out, hvb_error *err) {
  int y, m, d;
  char extra;
  if (s && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) == 3 && strlen(s) == 10) {
    GDateTime *t = g_date_time_new_utc(y, m, d, 0, 0, 0);
    if (t) {
      *out = (g_date_time_to_unix(t) + (end ? 86400 : 0)) * 1000;
      g_date_time_unref(t);
      return true;
    }
  } else if (s) {
    GTimeZone *utc = g_time_zone_new_utc();
    GDateTime *t = g_date_time_new_from_iso8601(s, utc);
    g_time_zone_unref(utc);
    if (t) {
      *out = g_date_time_to_unix(t) * 1000 + g_date_time_get_microsecond(t) / 1000;
      g_date_time_unref(t);
      return true;
    }
  }
  return hvb__fail(err, HVB_EINVAL, "%s: '%s' is not a date (YYYY-MM-DD) or a time "
                   "(YYYY-MM-DDTHH:MM:SSZ)", what, s ? s : "(null)");
}

static char *ledger_path(hvb_error *err) {
  hvb_config *cfg = hvb_config_load(err);
  if (!cfg) return NULL;
  char *path = hvb__ledger_path(cfg);
  hvb_config_free(cfg);
  return path;
}

static const char *query_string(json_object *query, const char *key) {
  json_object *v = json_object_object_get(query, key);
  return v ? json_object_get_string(v) : NULL;
}

HVB_PUBLIC json_object *hvb_usage_report(json_object *query, hvb_error *err) {
  if (query && !json_object_is_type(query, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "the usage query must be an object");
    return NULL;
  }
  int64_t since = 0, until = 0;
  const char *s = query_string(query, "since"), *u = query_string(query, "until");
  if (s && !parse_when(s, false, "since", &since, err)) return NULL;
  if (u && !parse_when(u, true, "until", &until, err)) return NULL;
  char *path = ledger_path(err);
  if (!path) return NULL;
  json_object *r = hvb__ledger_report(path, since, until, query_string(query, "by"), err);
  g_free(path);
  return r;
}

HVB_PUBLIC long long hvb_usage_prune(const char *before, hvb_error *err) {
  int64_t t = 0;
  if (!parse_when(before, false, "before", &t, err)) return -1;
  char *path = ledger_path(err);
  if (!path) return -1;
  long long n = hvb__ledger_prune(path, t, err);
  g_free(path);
  return n;
}
