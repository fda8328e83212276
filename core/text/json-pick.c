/* core/text/json-pick.c: the tree-less member picker (see json-pick.h).
 *
 * One recursive descent over the document. Each level carries a bit mask of the targets
 * whose path matches so far, so members off every path are skipped (still validated) with
 * no comparisons at all, and the common event costs one look at each byte.
 */
#include "text/json-pick.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *key; /* NULL: an array index */
  size_t len;
  size_t index;
} segment;

typedef struct {
  const char *p, *end;
  hvb_json_pick *t;
  size_t n;
  segment seg[HVB_JSON_PICK_MAX_TARGETS][HVB_JSON_PICK_MAX_SEGMENTS];
  unsigned char depth_of[HVB_JSON_PICK_MAX_TARGETS];
} scan;

/* Bytes that end the plain run of a string: the quote, the backslash, control characters. */
static const unsigned char stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, [(unsigned char)'"'] = 1, [(unsigned char)'\\'] = 1,
};

static bool value(scan *s, unsigned depth, uint32_t live);

static void skip_ws(scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

static int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* At the opening quote: the raw span and whether it holds escapes; s->p past the closing
 * quote. */
static bool string(scan *s, const char **raw, size_t *raw_len, bool *escaped) {
  const char *p = ++s->p, *end = s->end;
  *escaped = false;
  for (;;) {
    while (p < end && !stop[(unsigned char)*p]) p++;
    if (p >= end || (unsigned char)*p < 0x20) return false;
    if (*p == '"') break;
    *escaped = true; /* a backslash */
    if (++p >= end) return false;
    if (*p == 'u') {
      if (end - p < 5) return false;
      for (int i = 1; i <= 4; i++)
        if (hex(p[i]) < 0) return false;
      p += 5;
    } else if (strchr("\"\\/bfnrt", *p) && *p) {
      p++;
    } else {
      return false;
    }
  }
  *raw = s->p;
  *raw_len = (size_t)(p - s->p);
  s->p = p + 1;
  return true;
}

static bool digits(scan *s) {
  const char *start = s->p;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
  return s->p > start;
}

static bool number(scan *s) {
  if (*s->p == '-') s->p++;
  if (s->p < s->end && *s->p == '0') s->p++;
  else if (!digits(s)) return false;
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (!digits(s)) return false;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
    if (!digits(s)) return false;
  }
  return true;
}

static bool literal(scan *s, const char *word, size_t len) {
  if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len) != 0) return false;
  s->p += len;
  return true;
}

/* The targets of `live` that end at this depth get the value's kind (and span). */
static uint32_t record(scan *s, unsigned depth, uint32_t live, hvb_pick_kind kind,
                       const char *raw, size_t raw_len, bool escaped) {
  for (size_t i = 0; i < s->n; i++) {
    if (!(live & (1u << i)) || s->depth_of[i] != depth) continue;
    s->t[i].kind = kind;
    s->t[i].raw = raw;
    s->t[i].raw_len = raw_len;
    s->t[i].escaped = escaped;
    live &= ~(1u << i);
  }
  return live;
}

/* Targets of `live` whose segment at `depth` is the member `key` (or the element `index`). */
static uint32_t narrow(scan *s, unsigned depth, uint32_t live, const char *key, size_t len,
                       size_t index) {
  uint32_t out = 0;
  for (size_t i = 0; live && i < s->n; i++) {
    if (!(live & (1u << i))) continue;
    const segment *g = &s->seg[i][depth];
    if (key ? g->key && g->len == len && memcmp(g->key, key, len) == 0
            : !g->key && g->index == index)
      out |= 1u << i;
  }
  return out;
}

static bool object(scan *s, unsigned depth, uint32_t live) {
  s->p++;
  skip_ws(s);
  if (s->p < s->end && *s->p == '}') {
    s->p++;
    return true;
  }
  for (;;) {
    const char *key;
    size_t key_len;
    bool escaped;
    if (s->p >= s->end || *s->p != '"' || !string(s, &key, &key_len, &escaped)) return false;
    /* An escaped key might spell a target's name once unescaped: json-c's call. */
    if (escaped && live) return false;
    skip_ws(s);
    if (s->p >= s->end || *s->p != ':') return false;
    s->p++;
    uint32_t child = live ? narrow(s, depth, live, key, key_len, 0) : 0;
    if (!value(s, depth + 1, child)) return false;
    skip_ws(s);
    if (s->p >= s->end) return false;
    if (*s->p == '}') break;
    if (*s->p != ',') return false;
    s->p++;
    skip_ws(s);
  }
  s->p++;
  return true;
}

static bool array(scan *s, unsigned depth, uint32_t live) {
  s->p++;
  skip_ws(s);
  if (s->p < s->end && *s->p == ']') {
    s->p++;
    return true;
  }
  for (size_t i = 0;; i++) {
    uint32_t child = live ? narrow(s, depth, live, NULL, 0, i) : 0;
    if (!value(s, depth + 1, child)) return false;
    skip_ws(s);
    if (s->p >= s->end) return false;
    if (*s->p == ']') break;
    if (*s->p != ',') return false;
    s->p++;
  }
  s->p++;
  return true;
}

static bool value(scan *s, unsigned depth, uint32_t live) {
  if (depth > HVB_JSON_PICK_MAX_DEPTH) return false;
  skip_ws(s);
  if (s->p >= s->end) return false;
  const char *raw = NULL;
  size_t raw_len = 0;
  bool escaped = false;
  switch (*s->p) {
  case '"':
    if (!string(s, &raw, &raw_len, &escaped)) return false;
    record(s, depth, live, HVB_PICK_STRING, raw, raw_len, escaped);
    return true;
  case 'n':
    record(s, depth, live, HVB_PICK_NULL, NULL, 0, false);
    return literal(s, "null", 4);
  case '{':
    return object(s, depth, record(s, depth, live, HVB_PICK_OTHER, NULL, 0, false));
  case '[':
    return array(s, depth, record(s, depth, live, HVB_PICK_OTHER, NULL, 0, false));
  case 't':
  case 'f':
    record(s, depth, live, HVB_PICK_OTHER, NULL, 0, false);
    return *s->p == 't' ? literal(s, "true", 4) : literal(s, "false", 5);
  default:
    record(s, depth, live, HVB_PICK_OTHER, NULL, 0, false);
    return number(s);
  }
}

/* "[N]" -> N; false for anything else. */
static bool parse_index(const char *seg, size_t *index) {
  size_t len = strlen(seg);
  if (len < 3 || seg[0] != '[' || seg[len - 1] != ']') return false;
  char *stop_at;
  unsigned long v = strtoul(seg + 1, &stop_at, 10);
  if (stop_at != seg + len - 1) return false;
  *index = v;
  return true;
}

static bool compile_targets(scan *s) {
  for (size_t i = 0; i < s->n; i++) {
    s->t[i].kind = HVB_PICK_ABSENT;
    s->t[i].raw = NULL;
    s->t[i].raw_len = 0;
    s->t[i].escaped = false;
    size_t d = 0;
    for (const char *const *g = s->t[i].path; g && *g; g++, d++) {
      if (d >= HVB_JSON_PICK_MAX_SEGMENTS) return false;
      segment *x = &s->seg[i][d];
      x->key = parse_index(*g, &x->index) ? NULL : *g;
      x->len = x->key ? strlen(x->key) : 0;
    }
    s->depth_of[i] = (unsigned char)d;
  }
  return true;
}

bool hvb__json_pick(const char *doc, size_t len, hvb_json_pick *targets, size_t n_targets) {
  if (!doc || n_targets > HVB_JSON_PICK_MAX_TARGETS || (n_targets && !targets)) return false;
  scan s = {.p = doc, .end = doc + len, .t = targets, .n = n_targets};
  if (!compile_targets(&s)) return false;
  uint32_t live = n_targets ? (uint32_t)((1ull << n_targets) - 1) : 0;
  if (!value(&s, 0, live)) return false;
  skip_ws(&s);
  return s.p == s.end;
}

/* Four hex digits at p (checked by the scan, but decode also takes raw input). */
static long hex4(const char *p) {
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hex(p[i]);
    if (h < 0) return -1;
    v = v << 4 | h;
  }
  return v;
}

static size_t utf8(uint32_t c, char *out) {
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xC0 | c >> 6);
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xE0 | c >> 12);
    out[1] = (char)(0x80 | (c >> 6 & 0x3F));
    out[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | c >> 18);
  out[1] = (char)(0x80 | (c >> 12 & 0x3F));
  out[2] = (char)(0x80 | (c >> 6 & 0x3F));
  out[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

/* At the 'u' of an escape: the code point; *used: bytes read from the 'u'. -1 for any
 * surrogate, paired or not: json-c 0.16 decodes some valid pairs to U+FFFD (\ud836\ude00,
 * U+1DA00, for one) and replaces lone ones its own way, so json-c reads them all. */
static long code_point(const char *p, const char *end, size_t *used) {
  if (end - p < 5) return -1;
  long c = hex4(p + 1);
  *used = 5;
  return c >= 0xD800 && c <= 0xDFFF ? -1 : c;
}

bool hvb__json_pick_decode(const char *raw, size_t raw_len, char *out, size_t *out_len) {
  const char *p = raw, *end = raw + raw_len;
  char *o = out;
  while (p < end) {
    const char *bs = memchr(p, '\\', (size_t)(end - p));
    size_t plain = (size_t)((bs ? bs : end) - p);
    memmove(o, p, plain);
    o += plain;
    if (!bs) break;
    p = bs + 1;
    if (p >= end) return false;
    char c = *p;
    size_t used = 1;
    switch (c) {
    case '"': case '\\': case '/': *o++ = c; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      long cp = code_point(p, end, &used);
      if (cp < 0) return false;
      o += utf8((uint32_t)cp, o);
      break;
    }
    default: return false;
    }
    p += used;
  }
  *out_len = (size_t)(o - out);
  return true;
}
