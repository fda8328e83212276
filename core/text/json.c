/* core/text/json.c: JSON helpers over json-c: dotted paths, recursive merge, canonical text. */
#include "text/json.h"
#include "base/error.h"

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
  size_t run = 0; /* start of the bytes not yet copied: they need no escape */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    g_string_append_len(out, s + run, (gssize)(i - run));
    run = i + 1;
    switch (c) {
    case '"': g_string_append_len(out, "\\\"", 2); break;
    case '\\': g_string_append_len(out, "\\\\", 2); break;
    case '\b': g_string_append_len(out, "\\b", 2); break;
    case '\f': g_string_append_len(out, "\\f", 2); break;
    case '\n': g_string_append_len(out, "\\n", 2); break;
    case '\r': g_string_append_len(out, "\\r", 2); break;
    case '\t': g_string_append_len(out, "\\t", 2); break;
    default: g_string_append_printf(out, "\\u%04x", c);
    }
  }
  g_string_append_len(out, s + run, (gssize)(len - run));
  g_string_append_c(out, '"');
}

/* An integer in decimal, without printf (a request's integers are hashed on every call). */
static void canon_int(GString *out, gint64 v) {
  char buf[24], *p = buf + sizeof buf;
  guint64 u = v < 0 ? (guint64)0 - (guint64)v : (guint64)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) *--p = '-';
  g_string_append_len(out, p, (gssize)(buf + sizeof buf - p));
}

typedef struct canon_member {
  const char *key;
  json_object *val;
} canon_member;

static int cmp_members(const void *a, const void *b) {
  return strcmp(((const canon_member *)a)->key, ((const canon_member *)b)->key);
}

static void canon(GString *out, json_object *obj);

/* An object's members sorted bytewise by key, leaving out the keys in `skip` (NULL: none). */
static void canon_object(GString *out, json_object *obj, const char *const *skip) {
  size_t n = (size_t)json_object_object_length(obj), i = 0;
  canon_member local[16];
  canon_member *m = n <= G_N_ELEMENTS(local) ? local : g_new(canon_member, n);
  json_object_object_foreach(obj, key, val) {
    if (!skip || !g_strv_contains(skip, key)) m[i++] = (canon_member){key, val};
  }
  qsort(m, i, sizeof *m, cmp_members);
  g_string_append_c(out, '{');
  for (size_t j = 0; j < i; j++) {
    if (j) g_string_append_c(out, ',');
    canon_string(out, m[j].key, strlen(m[j].key));
    g_string_append_c(out, ':');
    canon(out, m[j].val);
  }
  g_string_append_c(out, '}');
  if (m != local) g_free(m);
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
      canon_int(out, (gint64)json_object_get_int64(obj));
    break;
  case json_type_double: {
    double d = json_object_get_double(obj);
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    /* Integral doubles print as integers so that 1.0 and 1 hash alike; the rest use GLib's
     * locale-independent shortest round-trip form. Non-finite values are not JSON: null. */
    if (!isfinite(d)) {
      g_string_append(out, "null");
    } else if (d > -9.007199254740992e15 && d < 9.007199254740992e15 && d == (double)(gint64)d) {
      canon_int(out, (gint64)d);
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
  case json_type_object:
    canon_object(out, obj, NULL);
    break;
  }
}

char *hvb__json_canonical(json_object *obj) {
  GString *out = g_string_new(NULL);
  canon(out, obj);
  return g_string_free(out, FALSE);
}

void hvb__json_canonical_append(GString *out, json_object *obj, const char *const *skip) {
  if (skip && json_object_is_type(obj, json_type_object))
    canon_object(out, obj, skip);
  else
    canon(out, obj);
}

void hvb__json_canonical_string_append(GString *out, const char *s) {
  canon_string(out, s, strlen(s));
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

/* ---- a fast path for the common case --------------------------------------------------
 *
 * json-c's tokener costs about 19 instructions per byte (a state machine step and a buffer
 * append per character), which was 40 % of a non-streamed chat on 10 KB replies. This parser
 * reads plain RFC 8259 text that is an object or an array (the shape of every reply and
 * event) and builds the same json-c values the tokener would: strings through
 * json_object_new_string_len, integers as int64, other numbers as doubles that keep their
 * text (json_object_new_double_s), objects with json_object_object_add (a later duplicate key
 * replaces the value in place, as the tokener does). Anything else (an error, comments, NaN,
 * trailing commas, leading zeros, control characters in strings, lone surrogates, integers
 * that may not fit in int64, nesting near json-c's depth limit, other whitespace) makes it
 * give up, and the caller runs json-c on the whole text, so results and error messages stay
 * json-c's. */

#define FAST_MAX_DEPTH 30 /* json-c's default limit is 32 */

typedef struct fast_parser {
  const char *p, *end;
  int depth;
  char *buf; /* scratch for decoded strings, keys and number text */
  size_t cap;
} fast_parser;

/* 1 for bytes that end a run of plain string characters: '"', '\\' and controls. */
static const unsigned char str_stop[256] = {
#define S4 1, 1, 1, 1
    S4, S4, S4, S4, S4, S4, S4, S4, /* 0x00 to 0x1f */
#undef S4
    ['"'] = 1, ['\\'] = 1};

static bool fast_ws_is(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void fast_ws(fast_parser *fp) {
  while (fp->p < fp->end && fast_ws_is(*fp->p)) fp->p++;
}

static char *fast_room(fast_parser *fp, size_t need) {
  if (need > fp->cap) {
    fp->cap = MAX(need, fp->cap * 2);
    fp->buf = g_realloc(fp->buf, fp->cap);
  }
  return fp->buf;
}

static int hex4(const char *s) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int c = (unsigned char)s[i], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/* A string at fp->p (after its opening quote). Plain strings are pointed at in place;
 * escaped ones are decoded into fp->buf. out and len: the bytes; false to give up. */
static bool fast_string(fast_parser *fp, const char **out, size_t *len) {
  const char *start = fp->p, *p = start, *end = fp->end;
  /* Eight bytes at a time while none of them is a quote, a backslash or a control
   * character (the classic "has a zero byte" / "has a byte less than n" word tests, which
   * never miss one): long texts are most of a reply. */
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  while (end - p >= 8) {
    uint64_t w, q, b;
    memcpy(&w, p, 8);
    q = w ^ (ones * '"');
    b = w ^ (ones * '\\');
    if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & highs) break;
    p += 8;
  }
  while (p < end && !str_stop[(unsigned char)*p]) p++;
  if (p >= end) return false;
  if (*p == '"') {
    *out = start;
    *len = (size_t)(p - start);
    fp->p = p + 1;
    return true;
  }
  if (*p != '\\') return false; /* a control character: json-c decides */
  /* Escapes: decode; the text never grows (an escape is at least as long as its bytes). */
  size_t n = (size_t)(p - start);
  char *b = fast_room(fp, (size_t)(end - start) + 1);
  memcpy(b, start, n);
  while (p < end) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') {
      *out = b;
      *len = n;
      fp->p = p + 1;
      return true;
    }
    if (c != '\\') {
      if (c < 0x20) return false;
      b[n++] = (char)c;
      p++;
      continue;
    }
    if (end - p < 2) return false;
    switch (p[1]) {
    case '"': b[n++] = '"'; break;
    case '\\': b[n++] = '\\'; break;
    case '/': b[n++] = '/'; break;
    case 'b': b[n++] = '\b'; break;
    case 'f': b[n++] = '\f'; break;
    case 'n': b[n++] = '\n'; break;
    case 'r': b[n++] = '\r'; break;
    case 't': b[n++] = '\t'; break;
    case 'u': {
      if (end - p < 6) return false;
      int cp = hex4(p + 2);
      if (cp < 0) return false;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return false; /* lone low surrogate */
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - p < 12 || p[6] != '\\' || p[7] != 'u') return false;
        int lo = hex4(p + 8);
        if (lo < 0xDC00 || lo > 0xDFFF) return false;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      }
      if (cp < 0x80) {
        b[n++] = (char)cp;
      } else if (cp < 0x800) {
        b[n++] = (char)(0xC0 | (cp >> 6));
        b[n++] = (char)(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        b[n++] = (char)(0xE0 | (cp >> 12));
        b[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[n++] = (char)(0x80 | (cp & 0x3F));
      } else {
        b[n++] = (char)(0xF0 | (cp >> 18));
        b[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[n++] = (char)(0x80 | (cp & 0x3F));
      }
      p += 4;
      break;
    }
    default:
      return false;
    }
    p += 2;
  }
  return false;
}

static bool fast_digits(const char **pp, const char *end) {
  const char *p = *pp;
  while (p < end && *p >= '0' && *p <= '9') p++;
  bool any = p > *pp;
  *pp = p;
  return any;
}

static json_object *fast_number(fast_parser *fp, bool *ok) {
  const char *start = fp->p, *p = start, *end = fp->end;
  if (p < end && *p == '-') p++;
  const char *int_start = p;
  if (!fast_digits(&p, end)) return NULL;
  if (*int_start == '0' && p - int_start > 1) return NULL; /* leading zero: json-c decides */
  bool is_double = false;
  if (p < end && *p == '.') {
    p++;
    if (!fast_digits(&p, end)) return NULL;
    is_double = true;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (!fast_digits(&p, end)) return NULL;
    is_double = true;
  }
  size_t n = (size_t)(p - start);
  if (!is_double) {
    if (p - int_start > 18) return NULL; /* might not fit: json-c's rules */
    int64_t v = 0;
    for (const char *q = int_start; q < p; q++) v = v * 10 + (*q - '0');
    fp->p = p;
    *ok = true;
    return json_object_new_int64(*start == '-' ? -v : v);
  }
  if (n > 64) return NULL;
  char *text = fast_room(fp, n + 1);
  memcpy(text, start, n);
  text[n] = '\0';
  char *stop = NULL;
  double d = strtod(text, &stop); /* as json-c: the C library's strtod */
  if (stop != text + n) return NULL;
  fp->p = p;
  *ok = true;
  return json_object_new_double_s(d, text);
}

static bool fast_literal(fast_parser *fp, const char *word, size_t n) {
  if ((size_t)(fp->end - fp->p) < n || memcmp(fp->p, word, n) != 0) return false;
  fp->p += n;
  return true;
}

static json_object *fast_value(fast_parser *fp, bool *ok);

static json_object *fast_container(fast_parser *fp, bool object, bool *ok) {
  if (++fp->depth > FAST_MAX_DEPTH) return NULL;
  fp->p++; /* '{' or '[' */
  json_object *c = object ? json_object_new_object() : json_object_new_array();
  char close = object ? '}' : ']';
  fast_ws(fp);
  if (fp->p < fp->end && *fp->p == close) {
    fp->p++;
    fp->depth--;
    *ok = true;
    return c;
  }
  char keybuf[128];
  for (;;) {
    char *key = NULL;
    if (object) {
      const char *k;
      size_t klen;
      if (fp->p >= fp->end || *fp->p != '"') goto fail;
      fp->p++;
      if (!fast_string(fp, &k, &klen) || memchr(k, '\0', klen)) goto fail;
      key = klen < sizeof keybuf ? keybuf : g_malloc(klen + 1);
      memcpy(key, k, klen);
      key[klen] = '\0';
      fast_ws(fp);
      if (fp->p >= fp->end || *fp->p != ':') {
        if (key != keybuf) g_free(key);
        goto fail;
      }
      fp->p++;
      fast_ws(fp);
    }
    bool vok = false;
    json_object *v = fast_value(fp, &vok);
    if (!vok) {
      if (key != keybuf) g_free(key);
      goto fail;
    }
    if (object) {
      json_object_object_add(c, key, v);
      if (key != keybuf) g_free(key);
    } else {
      json_object_array_add(c, v);
    }
    fast_ws(fp);
    if (fp->p >= fp->end) goto fail;
    if (*fp->p == ',') {
      fp->p++;
      fast_ws(fp);
      continue;
    }
    if (*fp->p != close) goto fail;
    fp->p++;
    fp->depth--;
    *ok = true;
    return c;
  }
fail:
  json_object_put(c);
  return NULL;
}

/* One value at fp->p; *ok false to give up (the result is then NULL). A JSON null is NULL
 * with *ok true. */
static json_object *fast_value(fast_parser *fp, bool *ok) {
  *ok = false;
  if (fp->p >= fp->end) return NULL;
  switch (*fp->p) {
  case '{': return fast_container(fp, true, ok);
  case '[': return fast_container(fp, false, ok);
  case '"': {
    const char *s;
    size_t n;
    fp->p++;
    if (!fast_string(fp, &s, &n)) return NULL;
    *ok = true;
    return json_object_new_string_len(s, (int)n);
  }
  case 't': *ok = fast_literal(fp, "true", 4); return *ok ? json_object_new_boolean(1) : NULL;
  case 'f': *ok = fast_literal(fp, "false", 5); return *ok ? json_object_new_boolean(0) : NULL;
  case 'n': *ok = fast_literal(fp, "null", 4); return NULL;
  default: return fast_number(fp, ok);
  }
}

/* The object or array `text` is, when the fast path can read all of it; NULL otherwise. */
static json_object *fast_parse(const char *text, size_t n) {
  fast_parser fp = {.p = text, .end = text + n};
  fast_ws(&fp);
  json_object *obj = NULL;
  bool ok = false;
  if (fp.p < fp.end && (*fp.p == '{' || *fp.p == '[')) obj = fast_value(&fp, &ok);
  if (ok) {
    fast_ws(&fp);
    if (fp.p != fp.end) ok = false;
  }
  g_free(fp.buf);
  if (!ok) {
    json_object_put(obj);
    return NULL;
  }
  return obj;
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
  if (!(flags & HVB_JSON_STRICT) && n > 0) {
    json_object *fast = fast_parse(text, n);
    if (fast) return fast;
  }
  json_tokener *tok = json_tokener_new_ex((flags & HVB_JSON_DEEP) ? HVB_JSON_DEEP_DEPTH
                                                                  : JSON_TOKENER_DEFAULT_DEPTH);
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

const char *hvb__json_type_phrase(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: return "null";
  case json_type_boolean: return "a boolean";
  case json_type_int:
  case json_type_double: return "a number";
  case json_type_string: return "a string";
  case json_type_array: return "an array";
  case json_type_object: return "an object";
  }
  return "a value";
}

bool hvb__json_is_number(json_object *v) {
  return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* Length of the valid UTF-8 character at p (a NUL counts: texts may hold U+0000), 0 when the
 * bytes there are not one. GLib's validators refuse NUL, hence this. */
static size_t utf8_char_len(const char *p, const char *end) {
  if (*p == '\0') return 1;
  gunichar c = g_utf8_get_char_validated(p, end - p);
  if (c == (gunichar)-1 || c == (gunichar)-2) return 0;
  return (size_t)g_utf8_skip[*(const guchar *)p];
}

static bool utf8_check_string(json_object *v, bool replace, const char *what, hvb_error *err) {
  const char *s = json_object_get_string(v), *end = s + json_object_get_string_len(v);
  const char *p = s;
  size_t n;
  while (p < end && (n = utf8_char_len(p, end)) > 0) p += n;
  if (p == end) return true;
  if (!replace)
    return hvb__fail(err, HVB_EINVAL,
                     "%s is not valid UTF-8 at byte %td (the option invalid_utf8=\"replace\" "
                     "sends U+FFFD for each bad byte instead)", what, p - s);
  GString *out = g_string_new_len(s, p - s);
  while (p < end) {
    n = utf8_char_len(p, end);
    if (n) {
      g_string_append_len(out, p, (gssize)n);
      p += n;
    } else {
      g_string_append(out, "\xef\xbf\xbd"); /* U+FFFD */
      p++;
    }
  }
  json_object_set_string_len(v, out->str, (int)out->len);
  g_string_free(out, TRUE);
  return true;
}

bool hvb__json_utf8_check(json_object *v, bool replace, const char *what, hvb_error *err) {
  switch (json_object_get_type(v)) {
  case json_type_string: return utf8_check_string(v, replace, what, err);
  case json_type_array:
    for (size_t i = 0, n = json_object_array_length(v); i < n; i++)
      if (!hvb__json_utf8_check(json_object_array_get_idx(v, i), replace, what, err))
        return false;
    return true;
  case json_type_object: {
    json_object_object_foreach(v, key, val) {
      (void)key;
      if (!hvb__json_utf8_check(val, replace, what, err)) return false;
    }
    return true;
  }
  default: return true;
  }
}
