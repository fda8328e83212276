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
  t->keys = NULL;
  t->n_keys = t->keys_cap = 0;
  t->bail = false;
}

void hvb__rt_clear(hvb__repair_text *t) {
  hvb__jw_clear(&t->w);
  g_free(t->keys);
  t->keys = NULL;
  t->n_keys = t->keys_cap = 0;
}

void hvb__rt_reset(hvb__repair_text *t) {
  t->w.len = 0;
  t->w.buf[0] = '\0';
  t->n_keys = 0;
}

void hvb__rt_raw(hvb__repair_text *t, const char *s, size_t n) { hvb__jw_raw(&t->w, s, n); }

void hvb__rt_string(hvb__repair_text *t, const char *s, size_t n) {
  /* Most strings need no escape: one check, one copy; else our writer's escaping. */
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  if (n <= 64)
    while (i < n && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') i++;
  if (i < n) {
    hvb__jw_string(&t->w, s, n);
    return;
  }
  hvb__rt_quoted(t, s, n);
}

void hvb__rt_quoted(hvb__repair_text *t, const char *s, size_t n) {
  hvb_json_writer *w = &t->w;
  hvb__jw_reserve(w, n + 2);
  w->buf[w->len] = '"';
  memcpy(w->buf + w->len + 1, s, n);
  w->buf[w->len + n + 1] = '"';
  w->len += n + 2;
  w->buf[w->len] = '\0';
}

static bool span_is(const hvb__repair_text *t, const hvb__rt_span *sp, const char *s,
                    size_t n) {
  return sp->len == n && !memcmp(t->w.buf + sp->off, s, n);
}

bool hvb__rt_key(hvb__repair_text *t, guint base, unsigned members, const char *key, size_t n) {
  if (t->n_keys - base >= HVB__RT_MAX_KEYS) return false;
  size_t start = t->w.len;
  if (members) hvb__rt_char(t, ',');
  hvb__rt_span sp = {t->w.len, 0};
  hvb__rt_string(t, key, n);
  sp.len = t->w.len - sp.off;
  for (guint i = base; i < t->n_keys; i++) {
    if (span_is(t, &t->keys[i], t->w.buf + sp.off, sp.len)) {
      t->w.len = start;
      t->w.buf[start] = '\0';
      return false;
    }
  }
  hvb__rt_add_span(t, sp.off, sp.len);
  hvb__rt_char(t, ':');
  return true;
}

void hvb__rt_add_span(hvb__repair_text *t, size_t off, size_t len) {
  if (t->n_keys == t->keys_cap) {
    t->keys_cap = t->keys_cap ? t->keys_cap * 2 : 32;
    t->keys = g_renew(hvb__rt_span, t->keys, t->keys_cap);
  }
  t->keys[t->n_keys++] = (hvb__rt_span){off, len};
}

bool hvb__rt_has_key(hvb__repair_text *t, guint base, const char *key) {
  hvb_json_writer q;
  hvb__jw_init(&q, strlen(key) + 8);
  hvb__jw_string(&q, key, strlen(key));
  bool found = false;
  for (guint i = base; !found && i < t->n_keys; i++) found = span_is(t, &t->keys[i], q.buf, q.len);
  hvb__jw_clear(&q);
  return found;
}

void hvb__rt_close(hvb__repair_text *t, bool array, guint base, bool top) {
  hvb__rt_char(t, array ? ']' : '}');
  if (!array && !top) t->n_keys = base;
}
