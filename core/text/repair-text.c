/* core/text/repair-text.c: the text mode of the repair scanner (see repair-scan.h): the
 * repaired document written as it is scanned, with our JSON writer, instead of json-c values
 * printed afterwards. The scanner decides what to write; this file keeps the text and the
 * keys of the open objects, so that a repeated key can hand the input to the json-c path
 * (json-c keeps the first position and the last value of a repeated key).
 */
#include "text/repair-scan.h"

#include <string.h>

void hvb__rt_init(hvb__repair_text *t, size_t hint) {
  hvb__jw_init(&t->w, hint);
  t->keys = g_array_new(FALSE, FALSE, sizeof(hvb__rt_span));
  t->bail = false;
}

void hvb__rt_clear(hvb__repair_text *t) {
  hvb__jw_clear(&t->w);
  if (t->keys) g_array_free(t->keys, TRUE);
  t->keys = NULL;
}

void hvb__rt_reset(hvb__repair_text *t) {
  t->w.len = 0;
  t->w.buf[0] = '\0';
  g_array_set_size(t->keys, 0);
}

void hvb__rt_raw(hvb__repair_text *t, const char *s, size_t n) { hvb__jw_raw(&t->w, s, n); }

void hvb__rt_string(hvb__repair_text *t, const char *s, size_t n) {
  hvb__jw_string(&t->w, s, n);
}

static bool span_is(const hvb__repair_text *t, const hvb__rt_span *sp, const char *s,
                    size_t n) {
  return sp->len == n && !memcmp(t->w.buf + sp->off, s, n);
}

bool hvb__rt_key(hvb__repair_text *t, guint base, unsigned members, const char *key, size_t n) {
  if (t->keys->len - base >= HVB__RT_MAX_KEYS) return false;
  size_t start = t->w.len;
  if (members) hvb__jw_raw(&t->w, ",", 1);
  hvb__rt_span sp = {t->w.len, 0};
  hvb__jw_string(&t->w, key, n);
  sp.len = t->w.len - sp.off;
  for (guint i = base; i < t->keys->len; i++) {
    if (span_is(t, &g_array_index(t->keys, hvb__rt_span, i), t->w.buf + sp.off, sp.len)) {
      t->w.len = start;
      t->w.buf[start] = '\0';
      return false;
    }
  }
  g_array_append_val(t->keys, sp);
  hvb__jw_raw(&t->w, ":", 1);
  return true;
}

bool hvb__rt_has_key(hvb__repair_text *t, guint base, const char *key) {
  hvb_json_writer q;
  hvb__jw_init(&q, strlen(key) + 8);
  hvb__jw_string(&q, key, strlen(key));
  bool found = false;
  for (guint i = base; !found && i < t->keys->len; i++)
    found = span_is(t, &g_array_index(t->keys, hvb__rt_span, i), q.buf, q.len);
  hvb__jw_clear(&q);
  return found;
}

void hvb__rt_close(hvb__repair_text *t, bool array, guint base, bool top) {
  hvb__jw_raw(&t->w, array ? "]" : "}", 1);
  if (!array && !top) g_array_set_size(t->keys, base);
}
