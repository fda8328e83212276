/* core/text/json-write.c: the request-body writer (see json-write.h). */
#include "text/json-write.h"

#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Bytes a string cannot hold as they are: control characters, the quote, the backslash. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, [(unsigned char)'"'] = 1, [(unsigned char)'\\'] = 1,
};

static void reserve(hvb_json_writer *w, size_t more) {
  if (w->len + more + 1 <= w->cap) return;
  size_t cap = w->cap ? w->cap : 256;
  while (cap < w->len + more + 1) cap *= 2;
  w->buf = g_realloc(w->buf, cap);
  w->cap = cap;
}

void hvb__jw_reserve(hvb_json_writer *w, size_t more) { reserve(w, more); }

void hvb__jw_init(hvb_json_writer *w, size_t hint) {
  w->buf = NULL;
  w->len = w->cap = 0;
  reserve(w, hint);
  w->buf[0] = '\0';
}

void hvb__jw_clear(hvb_json_writer *w) {
  g_free(w->buf);
  w->buf = NULL;
  w->len = w->cap = 0;
}

char *hvb__jw_steal(hvb_json_writer *w, size_t *len) {
  if (!w->buf) hvb__jw_init(w, 0);
  char *s = w->buf;
  if (len) *len = w->len;
  w->buf = NULL;
  w->len = w->cap = 0;
  return s;
}

void hvb__jw_raw(hvb_json_writer *w, const char *s, size_t n) {
  reserve(w, n);
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

static void put_c(hvb_json_writer *w, char c) {
  reserve(w, 1);
  w->buf[w->len++] = c;
  w->buf[w->len] = '\0';
}

void hvb__jw_string(hvb_json_writer *w, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  reserve(w, n + 2); /* the usual string needs no escape: one reservation */
  put_c(w, '"');
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    const unsigned char *run = p;
    while (p < end && !needs_escape[*p]) p++;
    if (p > run) hvb__jw_raw(w, (const char *)run, (size_t)(p - run));
    if (p == end) break;
    char e[6] = {'\\', 0};
    size_t len = 2;
    switch (*p) {
    case '\b': e[1] = 'b'; break;
    case '\f': e[1] = 'f'; break;
    case '\n': e[1] = 'n'; break;
    case '\r': e[1] = 'r'; break;
    case '\t': e[1] = 't'; break;
    case '"': e[1] = '"'; break;
    case '\\': e[1] = '\\'; break;
    default:
      memcpy(e, "\\u00", 4);
      hvb__jw_raw(w, e, 4);
      e[0] = hex[*p >> 4];
      e[1] = hex[*p & 0xF];
      break;
    }
    hvb__jw_raw(w, e, len);
    p++;
  }
  put_c(w, '"');
}

void hvb__jw_int(hvb_json_writer *w, int64_t v) {
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRId64, v);
  hvb__jw_raw(w, num, (size_t)n);
}

/* json-c's own printing of one value (doubles, numbers that keep their source text). */
static void via_json_c(hvb_json_writer *w, json_object *v) {
  size_t len = 0;
  const char *s = json_object_to_json_string_length(
      v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  hvb__jw_raw(w, s, len);
}

void hvb__jw_value(hvb_json_writer *w, json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: hvb__jw_raw(w, "null", 4); return;
  case json_type_boolean:
    if (json_object_get_boolean(v)) hvb__jw_raw(w, "true", 4);
    else hvb__jw_raw(w, "false", 5);
    return;
  case json_type_string:
    hvb__jw_string(w, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    return;
  case json_type_object: {
    put_c(w, '{');
    bool first = true;
    json_object_object_foreach(v, key, val) {
      if (!first) put_c(w, ',');
      first = false;
      hvb__jw_string(w, key, strlen(key));
      put_c(w, ':');
      hvb__jw_value(w, val);
    }
    put_c(w, '}');
    return;
  }
  case json_type_array: {
    put_c(w, '[');
    for (size_t i = 0, n = json_object_array_length(v); i < n; i++) {
      if (i) put_c(w, ',');
      hvb__jw_value(w, json_object_array_get_idx(v, i));
    }
    put_c(w, ']');
    return;
  }
  case json_type_int: {
    /* An unsigned value above INT64_MAX reads as INT64_MAX: json-c prints it. */
    int64_t i = json_object_get_int64(v);
    if (i == INT64_MAX) via_json_c(w, v);
    else hvb__jw_int(w, i);
    return;
  }
  case json_type_double: via_json_c(w, v); return;
  }
}

char *hvb__json_write(json_object *v, size_t *len) {
  hvb_json_writer w;
  hvb__jw_init(&w, 0);
  hvb__jw_value(&w, v);
  return hvb__jw_steal(&w, len);
}
