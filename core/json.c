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

/* The shortest "%.Ng" text of `d` that reads back as the same double ("0.7", not
 * g_ascii_dtostr's "0.69999999999999996"), in the C locale whatever the process's locale.
 * Up to 15 significant digits "%.15g" is already shortest (it drops trailing zeros); 17
 * always round-trips. Returns the length. */
static size_t shortest_double(char *buf, size_t size, double d) {
  static const char *const formats[] = {"%.15g", "%.16g", "%.17g"};
  for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
    g_ascii_formatd(buf, (int)size, formats[i], d);
    if (g_ascii_strtod(buf, NULL) == d) break;
  }
  return strlen(buf);
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
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    /* Integral doubles print as integers so that 1.0 and 1 hash alike; the rest use GLib's
     * locale-independent shortest round-trip form. Non-finite values are not JSON: null. */
    if (!isfinite(d)) {
      g_string_append(out, "null");
    } else if (d > -9.007199254740992e15 && d < 9.007199254740992e15 && d == (double)(gint64)d) {
      g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)d);
    } else {
      g_string_append_len(out, buf, shortest_double(buf, sizeof buf, d));
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

/* Line and column (1-based; the column counts bytes) of byte `offset` in `text`. */
static void position(const char *text, size_t offset, size_t *line, size_t *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < offset; i++) {
    if (text[i] == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

/* json-c reads NaN and Infinity even in strict mode; RFC 8259 has neither. */
static bool has_nonfinite(json_object *obj) {
  switch (json_object_get_type(obj)) {
  case json_type_double:
    return !isfinite(json_object_get_double(obj));
  case json_type_array:
    for (size_t i = 0, n = json_object_array_length(obj); i < n; i++)
      if (has_nonfinite(json_object_array_get_idx(obj, i))) return true;
    return false;
  case json_type_object: {
    json_object_object_foreach(obj, key, val) {
      (void)key;
      if (has_nonfinite(val)) return true;
    }
    return false;
  }
  default:
    return false;
  }
}

static json_object *json_parse_c_locale(const char *text, long len, const char *what,
                                        unsigned flags, hvb_error *err);

locale_t hvb__c_locale_enter(void) {
  /* glibc returns its static C locale object here: no allocation, no lock. Made once all
   * the same, for C libraries that allocate. */
  static gsize c_locale;
  if (g_once_init_enter(&c_locale)) {
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    g_once_init_leave(&c_locale, c ? (gsize)c : (gsize)LC_GLOBAL_LOCALE);
  }
  return uselocale((locale_t)c_locale);
}

void hvb__c_locale_leave(locale_t previous) {
  if (previous) uselocale(previous);
}

json_object *hvb__json_parse_ex(const char *text, long len, const char *what, unsigned flags,
                                hvb_error *err) {
  locale_t previous = hvb__c_locale_enter();
  json_object *obj = json_parse_c_locale(text, len, what, flags, err);
  hvb__c_locale_leave(previous);
  return obj;
}

static json_object *json_parse_c_locale(const char *text, long len, const char *what,
                                        unsigned flags, hvb_error *err) {
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
  if (flags & HVB_JSON_STRICT) json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *obj = json_tokener_parse_ex(tok, text, (int)n);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  if (jerr == json_tokener_continue) {
    /* A bare top-level number or literal ("42", "true") is only complete once the tokener
     * sees what follows it: hand it the terminating NUL. Anything still open stays an
     * "unexpected end of input". */
    json_object *done = json_tokener_parse_ex(tok, "", 1);
    if (json_tokener_get_error(tok) == json_tokener_success) {
      obj = done;
      jerr = json_tokener_success;
    } else {
      json_object_put(done);
    }
    end = n;
  }
  json_tokener_free(tok);
  char where[64] = "";
  if (flags & HVB_JSON_POSITION) {
    size_t line, col;
    position(text, end < n ? end : n, &line, &col);
    snprintf(where, sizeof where, " at line %zu, column %zu", line, col);
  }
  if (jerr != json_tokener_success) {
    json_object_put(obj);
    if (jerr == json_tokener_continue)
      hvb__fail(err, HVB_PARSE, "%s: not valid JSON (unexpected end of input)%s", what, where);
    else
      hvb__fail(err, HVB_PARSE, "%s: not valid JSON (%s)%s", what, json_tokener_error_desc(jerr),
                where);
    return NULL;
  }
  for (size_t i = end; i < n; i++) {
    if (!g_ascii_isspace(text[i])) {
      json_object_put(obj);
      if (flags & HVB_JSON_POSITION) {
        size_t line, col;
        position(text, i, &line, &col);
        snprintf(where, sizeof where, ", line %zu, column %zu", line, col);
      }
      hvb__fail(err, HVB_PARSE, "%s: not valid JSON (unexpected data at byte %zu%s)", what, i,
                where);
      return NULL;
    }
  }
  if (!obj) {
    hvb__fail(err, HVB_PARSE, "%s: expected a JSON value, got null", what);
    return NULL;
  }
  if ((flags & HVB_JSON_STRICT) && has_nonfinite(obj)) {
    json_object_put(obj);
    hvb__fail(err, HVB_PARSE, "%s: not valid JSON (NaN and Infinity are not numbers in JSON)",
              what);
    return NULL;
  }
  return obj;
}

json_object *hvb__json_parse(const char *text, long len, const char *what, hvb_error *err) {
  return hvb__json_parse_ex(text, len, what, 0, err);
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

json_object *hvb__project(const char *include, const char *const *valid, const char *dflt,
                          json_object *(*value)(const void *obj, const char *field),
                          const void *obj, bool *ok, hvb_error *err) {
  if (ok) *ok = false;
  if (!include || !*include) include = dflt;
  char **parts = g_strsplit(include, ",", -1);
  GPtrArray *fields = g_ptr_array_new();
  char *names = g_strjoinv(", ", (char **)valid);
  json_object *out = NULL;
  bool good = true;
  for (char **p = parts; *p && good; p++) {
    char *f = g_strstrip(*p);
    if (!*f) continue;
    if (!g_strv_contains(valid, f)) {
      good = hvb__fail(err, HVB_EINVAL, "unknown include field '%s' (valid fields: %s)", f, names);
      break;
    }
    bool seen = false;
    for (guint i = 0; i < fields->len && !seen; i++) seen = strcmp(fields->pdata[i], f) == 0;
    if (!seen) g_ptr_array_add(fields, f);
  }
  if (good && fields->len == 0)
    good = hvb__fail(err, HVB_EINVAL, "include lists no field (valid fields: %s)", names);
  if (good && fields->len == 1) {
    out = value(obj, fields->pdata[0]);
  } else if (good) {
    out = json_object_new_object();
    for (guint i = 0; i < fields->len; i++)
      json_object_object_add(out, fields->pdata[i], value(obj, fields->pdata[i]));
  }
  g_ptr_array_free(fields, TRUE);
  g_strfreev(parts);
  g_free(names);
  if (ok) *ok = good;
  return out;
}
