/* core/json.c: JSON helpers over json-c: dotted paths, recursive merge, canonical text. */
#include "internal.h"

#include <glib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_object *hvb__json_path(json_object *root, const char *path) {
  if (!path || !*path) return root;
  json_object *cur = root;
  const char *p = path;
  while (cur) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n == 0 || !json_object_is_type(cur, json_type_object)) return NULL;
    char *seg = g_strndup(p, n);
    json_object *next = NULL;
    bool found = json_object_object_get_ex(cur, seg, &next);
    g_free(seg);
    if (!found) return NULL;
    cur = next;
    if (!dot) return cur;
    p = dot + 1;
  }
  return NULL;
}

json_object *hvb__json_copy(json_object *obj) {
  if (!obj) return NULL;
  json_object *copy = NULL;
  if (json_object_deep_copy(obj, &copy, NULL) != 0) return NULL;
  return copy;
}

void hvb__json_merge(json_object *dst, json_object *src) {
  if (!json_object_is_type(dst, json_type_object) || !json_object_is_type(src, json_type_object))
    return;
  json_object_object_foreach(src, key, val) {
    json_object *cur = NULL;
    if (json_object_is_type(val, json_type_object) && json_object_object_get_ex(dst, key, &cur) &&
        json_object_is_type(cur, json_type_object)) {
      hvb__json_merge(cur, val);
    } else {
      json_object_object_add(dst, key, hvb__json_copy(val));
    }
  }
}

static void canon_string(GString *out, const char *s, size_t len) {
  g_string_append_c(out, '"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': g_string_append(out, "\\\""); break;
    case '\\': g_string_append(out, "\\\\"); break;
    case '\b': g_string_append(out, "\\b"); break;
    case '\f': g_string_append(out, "\\f"); break;
    case '\n': g_string_append(out, "\\n"); break;
    case '\r': g_string_append(out, "\\r"); break;
    case '\t': g_string_append(out, "\\t"); break;
    default:
      if (c < 0x20)
        g_string_append_printf(out, "\\u%04x", c);
      else
        g_string_append_c(out, (char)c);
    }
  }
  g_string_append_c(out, '"');
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of an object, sorted bytewise; the array (not the strings) is new (g_free). */
static const char **sorted_keys(json_object *obj, size_t *count) {
  size_t n = (size_t)json_object_object_length(obj), i = 0;
  const char **keys = g_new0(const char *, n + 1);
  json_object_object_foreach(obj, key, val) {
    (void)val;
    keys[i++] = key;
  }
  qsort(keys, n, sizeof *keys, cmp_keys);
  *count = n;
  return keys;
}

static void canon(GString *out, json_object *obj) {
  switch (json_object_get_type(obj)) {
  case json_type_null:
    g_string_append(out, "null");
    break;
  case json_type_boolean:
    g_string_append(out, json_object_get_boolean(obj) ? "true" : "false");
    break;
  case json_type_int:
    /* json-c keeps integers above INT64_MAX as uint64: print those unsigned. */
    if (json_object_get_int64(obj) == INT64_MAX && json_object_get_uint64(obj) > (uint64_t)INT64_MAX)
      g_string_append_printf(out, "%" G_GUINT64_FORMAT, (guint64)json_object_get_uint64(obj));
    else
      g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)json_object_get_int64(obj));
    break;
  case json_type_double: {
    double d = json_object_get_double(obj);
    /* Integral doubles print as integers so that 1.0 and 1 hash alike; the rest use GLib's
     * locale-independent shortest round-trip form. Non-finite values are not JSON: null. */
    if (!isfinite(d)) {
      g_string_append(out, "null");
    } else if (d > -9.007199254740992e15 && d < 9.007199254740992e15 && d == (double)(gint64)d) {
      g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)d);
    } else {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append(out, g_ascii_dtostr(buf, sizeof buf, d));
    }
    break;
  }
  case json_type_string:
    canon_string(out, json_object_get_string(obj), (size_t)json_object_get_string_len(obj));
    break;
  case json_type_array: {
    g_string_append_c(out, '[');
    size_t n = json_object_array_length(obj);
    for (size_t i = 0; i < n; i++) {
      if (i) g_string_append_c(out, ',');
      canon(out, json_object_array_get_idx(obj, i));
    }
    g_string_append_c(out, ']');
    break;
  }
  case json_type_object: {
    size_t n;
    const char **keys = sorted_keys(obj, &n);
    g_string_append_c(out, '{');
    for (size_t i = 0; i < n; i++) {
      if (i) g_string_append_c(out, ',');
      canon_string(out, keys[i], strlen(keys[i]));
      g_string_append_c(out, ':');
      canon(out, json_object_object_get(obj, keys[i]));
    }
    g_string_append_c(out, '}');
    g_free(keys);
    break;
  }
  }
}

char *hvb__json_canonical(json_object *obj) {
  GString *out = g_string_new(NULL);
  canon(out, obj);
  return g_string_free(out, FALSE);
}

json_object *hvb__json_parse(const char *text, long len, const char *what, hvb_error *err) {
  if (!text) {
    hvb__fail(err, HVB_PARSE, "%s: no data", what);
    return NULL;
  }
  size_t n = len < 0 ? strlen(text) : (size_t)len;
  if (n > (size_t)INT32_MAX) {
    hvb__fail(err, HVB_TOO_LARGE, "%s: %zu bytes is too large to parse", what, n);
    return NULL;
  }
  json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
  json_object *obj = json_tokener_parse_ex(tok, text, (int)n);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t used = jerr == json_tokener_success ? json_tokener_get_parse_end(tok) : 0;
  json_tokener_free(tok);
  if (jerr != json_tokener_success) {
    json_object_put(obj);
    if (jerr == json_tokener_continue)
      hvb__fail(err, HVB_PARSE, "%s: not valid JSON (unexpected end of input)", what);
    else
      hvb__fail(err, HVB_PARSE, "%s: not valid JSON (%s)", what, json_tokener_error_desc(jerr));
    return NULL;
  }
  for (size_t i = used; i < n; i++) {
    if (!g_ascii_isspace(text[i])) {
      json_object_put(obj);
      hvb__fail(err, HVB_PARSE, "%s: not valid JSON (unexpected data at byte %zu)", what, i);
      return NULL;
    }
  }
  if (!obj) {
    hvb__fail(err, HVB_PARSE, "%s: expected a JSON value, got null", what);
    return NULL;
  }
  return obj;
}

const char *hvb__json_str(json_object *obj, const char *key) {
  json_object *v = NULL;
  if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

char *hvb__json_keys_list(json_object *obj) {
  if (!json_object_is_type(obj, json_type_object)) return g_strdup("");
  size_t n;
  const char **keys = sorted_keys(obj, &n);
  char *s = g_strjoinv(", ", (char **)keys);
  g_free(keys);
  return s;
}
