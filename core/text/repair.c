/* core/text/repair.c: tool-call argument repair (heavenbase/repair.h).
 *
 * One forward pass builds json-c values directly, with an explicit stack of open containers:
 * no recursion over the input, linear time, and a truncated document is closed by unwinding
 * the stack. json-c's own tokener is not used: its lenient mode accepts comments, single
 * quotes and trailing commas without saying so (we must report every edit), and it clamps
 * integers beyond 64 bits to the limit (we keep their digits).
 */
#include "text/json.h"
#include "text/suggest.h"
#include "base/common.h"
#include "base/error.h"

#include <heavenbase/repair.h>

#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- edits ---- */

/* X(ID, code, text). The order is the order edits are reported in. */
#define EDIT_MAP(X)                                                                         \
  X(STRIP_BOM, "strip_bom", "removed a byte-order mark")                                    \
  X(STRIP_FENCE, "strip_fence", "removed a markdown code fence")                            \
  X(STRIP_PROSE, "strip_prose", "removed text around the JSON")                             \
  X(STRIP_COMMENT, "strip_comment", "removed a comment")                                    \
  X(EXTRA_BRACKETS, "extra_brackets", "removed an unmatched closing bracket")               \
  X(CLOSE_STRING, "close_string", "closed an unterminated string")                          \
  X(CLOSE_BRACKETS, "close_brackets", "closed an unclosed object or array")                 \
  X(DROP_INCOMPLETE, "drop_incomplete", "dropped a member cut off before its value")        \
  X(TRAILING_COMMA, "trailing_comma", "removed a trailing comma")                           \
  X(EXTRA_COMMA, "extra_comma", "removed a repeated comma")                                 \
  X(MISSING_COMMA, "missing_comma", "inserted a missing comma")                             \
  X(MISSING_COLON, "missing_colon", "inserted a missing colon")                             \
  X(MISSING_BRACES, "missing_braces", "added the braces around an object body")             \
  X(SINGLE_QUOTES, "single_quotes", "replaced single quotes with double quotes")            \
  X(UNQUOTED_KEY, "unquoted_key", "quoted a bare key")                                      \
  X(PYTHON_LITERAL, "python_literal", "replaced True/False/None with true/false/null")      \
  X(NON_JSON_LITERAL, "non_json_literal", "replaced NaN/Infinity/undefined with null")      \
  X(FIX_NUMBER, "fix_number", "rewrote a number in JSON form")                              \
  X(ESCAPE_CONTROL, "escape_control", "escaped a raw control character inside a string")    \
  X(ESCAPE_QUOTE, "escape_quote", "escaped a quote inside a string")                        \
  X(INVALID_ESCAPE, "invalid_escape", "kept the backslash of an invalid escape as text")    \
  X(INVALID_UTF8, "invalid_utf8", "replaced invalid UTF-8 or a lone surrogate with U+FFFD") \
  X(NUL_IN_KEY, "nul_in_key", "replaced a NUL character in a key with U+FFFD")              \
  X(DUPLICATE_KEY, "duplicate_key", "kept the last value of a repeated key")                \
  X(UNWRAP_STRING, "unwrap_string", "decoded arguments given as a JSON string")             \
  X(EMPTY_TO_OBJECT, "empty_to_object", "empty arguments became {}")                        \
  X(SPLIT_CONCATENATED, "split_concatenated", "split concatenated objects into separate calls")

enum {
#define EDIT_ENUM_(id, code, text) E_##id,
  EDIT_MAP(EDIT_ENUM_)
#undef EDIT_ENUM_
  N_EDITS
};

static const struct {
  const char *code, *text;
} edit_info[N_EDITS] = {
#define EDIT_INFO_(id, code, text) {code, text},
    EDIT_MAP(EDIT_INFO_)
#undef EDIT_INFO_
};

typedef struct repair_edit {
  char *code, *text;
} repair_edit;

static void edit_free(gpointer p) {
  repair_edit *e = p;
  g_free(e->code);
  g_free(e->text);
  g_free(e);
}

static void put_json(gpointer p) { json_object_put(p); }

/* ---- the scanner ---- */

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */
#define MAX_ATTEMPTS 8             /* JSON starts tried when prose precedes the object */

enum { ST_VALUE, ST_KEY, ST_COLON, ST_AFTER };

typedef struct frame {
  json_object *node; /* borrowed: owned by the parent container or by the scanner's root */
  char *key;         /* object: the key waiting for its value (owned) */
  unsigned char state;
  bool array;
  bool synthetic; /* the object whose braces were missing: closing it is no edit */
  bool comma;     /* a comma was read and no member followed yet */
} frame;

typedef struct scanner {
  const unsigned char *in;
  size_t len;  /* the whole input */
  size_t end;  /* end of the JSON region: len, or where a ``` fence closes it */
  size_t pos;
  bool fenced; /* a ``` fence was opened and is not closed yet */
  GArray *stack;
  json_object *root; /* the top-level value being built (owned) */
  GString *buf;      /* decoded string, number or key */
  unsigned edits[N_EDITS];
  const char *fail; /* reason code; static */
  char *fail_text;
} scanner;

static bool scan_fail(scanner *s, const char *code, const char *fmt, ...) HVB_PRINTF(3, 4);
static bool scan_fail(scanner *s, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  g_free(s->fail_text);
  s->fail = code;
  s->fail_text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  return false;
}

static bool unexpected(scanner *s) {
  unsigned char c = s->in[s->pos];
  if (c >= 0x20 && c < 0x7f)
    return scan_fail(s, "not_json", "not JSON: unexpected '%c' at byte %zu", c, s->pos);
  return scan_fail(s, "not_json", "not JSON: unexpected byte 0x%02x at byte %zu", c, s->pos);
}

static inline frame *top(scanner *s) {
  return s->stack->len ? &g_array_index(s->stack, frame, s->stack->len - 1) : NULL;
}

static inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline bool is_word_char(unsigned char c) {
  return g_ascii_isalnum(c) || c == '_' || c == '$';
}
static inline bool is_key_char(unsigned char c) { return is_word_char(c) || c == '-'; }
static inline bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
static inline bool starts_value(unsigned char c) {
  return c == '{' || c == '[' || c == '"' || c == '\'' || c == '-' || c == '+' || c == '.' ||
         is_word_char(c);
}
static inline bool starts_key(unsigned char c) {
  return c == '"' || c == '\'' || is_key_char(c);
}

/* Characters that start the arguments directly; anything else is prose before them. */
static inline bool starts_json(unsigned char c) {
  return c == '{' || c == '[' || c == '"' || c == '\'';
}

static bool has_fence(const unsigned char *in, size_t at, size_t end) {
  return at + 3 <= end && in[at] == '`' && in[at + 1] == '`' && in[at + 2] == '`';
}

/* Skip white space and comments (`//`, `#` and block comments, which are never JSON). */
static void skip_space(scanner *s) {
  const unsigned char *in = s->in;
  size_t i = s->pos, end = s->end;
  while (i < end) {
    unsigned char c = in[i];
    if (is_space(c)) {
      i++;
    } else if (c == '#' || (c == '/' && (i + 1 >= end || in[i + 1] == '/'))) {
      /* (a lone '/' at the end is a comment cut off after its first character) */
      const unsigned char *nl = memchr(in + i, '\n', end - i);
      i = nl ? (size_t)(nl - in) : end;
      s->edits[E_STRIP_COMMENT]++;
    } else if (c == '/' && i + 1 < end && in[i + 1] == '*') {
      const unsigned char *close = i + 2 < end ? memmem(in + i + 2, end - i - 2, "*/", 2) : NULL;
      i = close ? (size_t)(close - in) + 2 : end;
      s->edits[E_STRIP_COMMENT]++;
    } else {
      break;
    }
  }
  s->pos = i;
}

static void add_member(scanner *s, json_object *obj, const char *key, json_object *v) {
  unsigned opts = 0;
  if (json_object_object_get_ex(obj, key, NULL))
    s->edits[E_DUPLICATE_KEY]++;
  else
    opts = JSON_C_OBJECT_ADD_KEY_IS_NEW;
  json_object_object_add_ex(obj, key, v, opts);
}

/* Give a finished value to the open container (or make it the root). A container is attached
 * when it opens, so that closing it later needs no bookkeeping. */
static void attach(scanner *s, json_object *v) {
  frame *f = top(s);
  if (!f) {
    s->root = v;
    return;
  }
  if (f->array) {
    json_object_array_add(f->node, v);
  } else {
    add_member(s, f->node, f->key, v);
    g_free(f->key);
    f->key = NULL;
  }
  f->state = ST_AFTER;
  f->comma = false;
}

/* The value being read was cut off by the end of the input: forget it and its key. */
static void drop_value(scanner *s) {
  frame *f = top(s);
  s->edits[E_DROP_INCOMPLETE]++;
  if (!f) return;
  if (!f->array) {
    g_free(f->key);
    f->key = NULL;
    f->state = ST_KEY;
  }
  f->comma = false;
}

static bool open_container(scanner *s, bool array) {
  if (s->stack->len >= HVB_REPAIR_MAX_DEPTH)
    return scan_fail(s, "too_deep", "nesting deeper than %d levels at byte %zu",
                     HVB_REPAIR_MAX_DEPTH, s->pos);
  json_object *node = array ? json_object_new_array() : json_object_new_object();
  attach(s, node);
  frame f = {node, NULL, array ? ST_VALUE : ST_KEY, array, false, false};
  g_array_append_val(s->stack, f);
  s->pos++;
  return true;
}

/* Close the innermost container. `implicit`: the input lacked its closing bracket. A member
 * whose value is missing is dropped when the input ended there (`at_end`: truncation, its
 * key is not in the object yet); before a closing bracket it is an error, since dropping it
 * would hide what the model meant. */
static bool close_top(scanner *s, bool implicit, bool at_end) {
  frame *f = &g_array_index(s->stack, frame, s->stack->len - 1);
  if (f->state == ST_COLON || (f->state == ST_VALUE && !f->array)) {
    if (!at_end)
      return scan_fail(s, "not_json", "not JSON: the member '%s' has no value (byte %zu)",
                       f->key ? f->key : "", s->pos);
    s->edits[E_DROP_INCOMPLETE]++;
  } else if (f->comma && f->state != ST_AFTER) {
    s->edits[E_TRAILING_COMMA]++;
  }
  if (implicit && !f->synthetic) s->edits[E_CLOSE_BRACKETS]++;
  g_free(f->key);
  g_array_set_size(s->stack, s->stack->len - 1);
  return true;
}

/* A closing bracket closes the nearest open container of its kind, and every container
 * opened inside that one; a bracket that matches nothing is dropped. */
static bool close_bracket(scanner *s, unsigned char c) {
  bool array = c == ']';
  guint i = s->stack->len;
  while (i > 0 && g_array_index(s->stack, frame, i - 1).array != array) i--;
  if (i == 0) {
    s->edits[E_EXTRA_BRACKETS]++;
    s->pos++;
    return true;
  }
  while (s->stack->len > i)
    if (!close_top(s, true, false)) return false;
  s->pos++;
  return close_top(s, false, false);
}

/* UTF-8 sequence at p: its length when valid, 0 when invalid, -1 when the input ends inside
 * a sequence that was valid so far. */
static int utf8_seq(const unsigned char *p, size_t avail) {
  unsigned char c = p[0];
  int n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0xC2) return 0;
  if (c < 0xE0) {
    n = 2;
  } else if (c < 0xF0) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c < 0xF5) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < n; k++) {
    if ((size_t)k >= avail) return -1;
    if (p[k] < lo || p[k] > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
  }
  return n;
}

static int hex_value(unsigned char c) {
  if (is_digit(c)) return c - '0';
  c = (unsigned char)g_ascii_tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Four hex digits at p: 1 with *out set, 0 when not hex, -1 when the input ends first. */
static int hex4(const unsigned char *p, size_t avail, unsigned *out) {
  unsigned v = 0;
  for (size_t k = 0; k < 4; k++) {
    if (k >= avail) return -1;
    int h = hex_value(p[k]);
    if (h < 0) return 0;
    v = v << 4 | (unsigned)h;
  }
  *out = v;
  return 1;
}

static void append_unichar(GString *b, gunichar u) {
  char tmp[8];
  g_string_append_len(b, tmp, g_unichar_to_utf8(u, tmp));
}

/* A quote inside a value string ends it only when what follows could follow a string in
 * JSON; otherwise the model forgot to escape it (`"say "hi" now"`). Valid JSON is never
 * affected, since there a closing quote is always followed by one of these. */
static bool quote_closes(scanner *s, size_t j) {
  const unsigned char *in = s->in;
  bool newline = false;
  while (j < s->end && is_space(in[j])) newline |= in[j++] == '\n';
  if (j >= s->end) return true;
  unsigned char c = in[j];
  if (c == ',' || c == '}' || c == ']' || c == ':') return true;
  if (c == '/' && j + 1 < s->end && (in[j + 1] == '/' || in[j + 1] == '*')) return true;
  if (has_fence(in, j, s->end)) return true;
  /* A quote on the next line starts the next member of a list missing its comma. */
  return newline && (c == '"' || c == '\'');
}

/* Read the string whose opening quote is at s->pos into s->buf (decoded). True when it was
 * closed, false when the region ended first (a partial escape or UTF-8 sequence at the end
 * is dropped, never guessed). */
static bool scan_string(scanner *s, bool is_key) {
  const unsigned char *in = s->in;
  const size_t end = s->end;
  GString *b = s->buf;
  unsigned char q = in[s->pos];
  size_t i = s->pos + 1;
  g_string_truncate(b, 0);
  if (q == '\'') s->edits[E_SINGLE_QUOTES]++;
  while (i < end) {
    size_t run = i;
    while (i < end && in[i] >= 0x20 && in[i] < 0x80 && in[i] != '"' && in[i] != '\'' &&
           in[i] != '\\')
      i++;
    if (i > run) g_string_append_len(b, (const char *)in + run, (gssize)(i - run));
    if (i >= end) break;
    unsigned char c = in[i];
    if (c == q) {
      if (is_key || quote_closes(s, i + 1)) {
        s->pos = i + 1;
        return true;
      }
      if (q == '"') s->edits[E_ESCAPE_QUOTE]++;
      g_string_append_c(b, (char)c);
      i++;
    } else if (c == '"' || c == '\'') {
      g_string_append_c(b, (char)c);
      i++;
    } else if (c == '\\') {
      if (i + 1 >= end) {
        i = end;
        break;
      }
      unsigned char e = in[i + 1];
      const char *simple = strchr("\"\\/bfnrt", e);
      if (e && simple) {
        static const char decoded[] = "\"\\/\b\f\n\r\t";
        g_string_append_c(b, decoded[simple - "\"\\/bfnrt"]);
        i += 2;
      } else if (e == '\'') {
        if (q == '"') s->edits[E_INVALID_ESCAPE]++;
        g_string_append_c(b, '\'');
        i += 2;
      } else if (e == 'u') {
        unsigned cu, lo;
        int h = hex4(in + i + 2, end - i - 2, &cu);
        if (h < 0) {
          i = end;
          break;
        }
        if (h == 0) {
          s->edits[E_INVALID_ESCAPE]++;
          g_string_append_c(b, '\\');
          i++;
          continue;
        }
        i += 6;
        if (cu >= 0xD800 && cu < 0xDC00) {
          size_t rest = end - i;
          bool escape = rest >= 2 && in[i] == '\\' && in[i + 1] == 'u';
          int h2 = escape ? hex4(in + i + 2, rest - 2, &lo) : 0;
          if (rest == 0 || (rest == 1 && in[i] == '\\') || h2 < 0) {
            i = end; /* a surrogate pair cut in the middle */
            break;
          }
          if (h2 == 1 && lo >= 0xDC00 && lo < 0xE000) {
            append_unichar(b, 0x10000 + ((cu - 0xD800) << 10) + (lo - 0xDC00));
            i += 6;
            continue;
          }
        }
        if (cu >= 0xD800 && cu < 0xE000) {
          s->edits[E_INVALID_UTF8]++;
          g_string_append(b, REPLACEMENT);
        } else {
          append_unichar(b, cu);
        }
      } else {
        /* `\d` in a regular expression whose backslash was not doubled: keep it as text. */
        s->edits[E_INVALID_ESCAPE]++;
        g_string_append_c(b, '\\');
        i++;
      }
    } else if (c < 0x20) {
      s->edits[E_ESCAPE_CONTROL]++;
      g_string_append_c(b, (char)c);
      i++;
    } else {
      int n = utf8_seq(in + i, end - i);
      if (n < 0) {
        i = end;
        break;
      }
      if (n == 0) {
        s->edits[E_INVALID_UTF8]++;
        g_string_append(b, REPLACEMENT);
        i++;
      } else {
        g_string_append_len(b, (const char *)in + i, n);
        i += (size_t)n;
      }
    }
  }
  s->pos = end;
  return false;
}

/* The key just read, as a C string: json-c keys end at the first NUL. */
static char *take_key(scanner *s) {
  GString *b = s->buf;
  if (!memchr(b->str, '\0', b->len)) return g_strndup(b->str, b->len);
  GString *k = g_string_sized_new(b->len + 8);
  for (size_t i = 0; i < b->len; i++) {
    if (b->str[i])
      g_string_append_c(k, b->str[i]);
    else
      g_string_append(k, REPLACEMENT);
  }
  s->edits[E_NUL_IN_KEY]++;
  return g_string_free(k, FALSE);
}

static bool scan_key(scanner *s, frame *f) {
  unsigned char c = s->in[s->pos];
  f->comma = false;
  if (c == '"' || c == '\'') {
    if (!scan_string(s, true)) {
      s->edits[E_DROP_INCOMPLETE]++;
      return true;
    }
  } else if (is_key_char(c)) {
    size_t start = s->pos;
    while (s->pos < s->end && is_key_char(s->in[s->pos])) s->pos++;
    if (s->pos >= s->end) {
      s->edits[E_DROP_INCOMPLETE]++;
      return true;
    }
    s->edits[E_UNQUOTED_KEY]++;
    g_string_truncate(s->buf, 0);
    g_string_append_len(s->buf, (const char *)s->in + start, (gssize)(s->pos - start));
  } else {
    return unexpected(s);
  }
  f->key = take_key(s);
  f->state = ST_COLON;
  return true;
}

/* Rewrite number text `t` in JSON form into `out`: drop a leading '+' and leading zeros,
 * give '.5' its 0 and '5.' its fraction, drop an exponent without digits. False when it is
 * not a number at all. */
static bool normalize_number(const unsigned char *t, size_t n, GString *out, bool *changed,
                             bool *is_int) {
  size_t i = 0, digits = 0;
  *changed = false;
  *is_int = true;
  g_string_truncate(out, 0);
  if (i < n && t[i] == '+') {
    i++;
    *changed = true;
  } else if (i < n && t[i] == '-') {
    g_string_append_c(out, '-');
    i++;
  }
  size_t d = i;
  while (i < n && is_digit(t[i])) i++;
  digits += i - d;
  if (i == d) {
    g_string_append_c(out, '0');
    *changed = true;
  } else {
    size_t z = d;
    while (z + 1 < i && t[z] == '0') z++;
    if (z > d) *changed = true;
    g_string_append_len(out, (const char *)t + z, (gssize)(i - z));
  }
  if (i < n && t[i] == '.') {
    size_t f = ++i;
    while (i < n && is_digit(t[i])) i++;
    digits += i - f;
    *is_int = false;
    g_string_append_c(out, '.');
    if (i == f) {
      g_string_append_c(out, '0');
      *changed = true;
    } else {
      g_string_append_len(out, (const char *)t + f, (gssize)(i - f));
    }
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    size_t e = i++;
    if (i < n && (t[i] == '+' || t[i] == '-')) i++;
    size_t f = i;
    while (i < n && is_digit(t[i])) i++;
    if (i == f) {
      *changed = true;
    } else {
      *is_int = false;
      g_string_append_len(out, (const char *)t + e, (gssize)(i - e));
    }
  }
  return i == n && digits > 0;
}

/* A json-c number that prints as `text`: integers as int64/uint64 when they fit, anything
 * else as a double that keeps its text (so 30-digit integers keep their digits). */
static json_object *make_number(const char *text, bool is_int) {
  if (is_int) {
    char *endp;
    errno = 0;
    gint64 v = g_ascii_strtoll(text, &endp, 10);
    if (!errno && !*endp) return json_object_new_int64(v);
    if (text[0] != '-') {
      errno = 0;
      guint64 u = g_ascii_strtoull(text, &endp, 10);
      if (!errno && !*endp) return json_object_new_uint64(u);
    }
  }
  return json_object_new_double_s(g_ascii_strtod(text, NULL), text);
}

static bool scan_word_value(scanner *s, size_t start);

static bool scan_number(scanner *s) {
  const unsigned char *in = s->in;
  size_t start = s->pos, i = start;
  if (in[i] == '-' && i + 1 < s->end && in[i + 1] == 'I') {
    s->pos++;
    return scan_word_value(s, start);
  }
  while (i < s->end && (is_digit(in[i]) || in[i] == '+' || in[i] == '-' || in[i] == '.' ||
                        in[i] == 'e' || in[i] == 'E'))
    i++;
  if (i < s->end && is_word_char(in[i])) {
    s->pos = i;
    return scan_fail(s, "not_json", "not JSON: malformed number at byte %zu", start);
  }
  s->pos = i;
  bool changed, is_int;
  if (!normalize_number(in + start, i - start, s->buf, &changed, &is_int)) {
    if (i >= s->end) {
      drop_value(s);
      return true;
    }
    return scan_fail(s, "not_json", "not JSON: malformed number '%.*s' at byte %zu",
                     (int)MIN(i - start, 32), (const char *)in + start, start);
  }
  if (changed) s->edits[E_FIX_NUMBER]++;
  attach(s, make_number(s->buf->str, is_int));
  return true;
}

/* A bare word in value position, read from s->pos; `start` includes a leading '-'. */
static bool scan_word_value(scanner *s, size_t start) {
  static const struct {
    const char *word;
    json_type type;
    bool value;
    int edit; /* -1: none */
  } words[] = {
      {"true", json_type_boolean, true, -1},
      {"false", json_type_boolean, false, -1},
      {"null", json_type_null, false, -1},
      {"True", json_type_boolean, true, E_PYTHON_LITERAL},
      {"False", json_type_boolean, false, E_PYTHON_LITERAL},
      {"None", json_type_null, false, E_PYTHON_LITERAL},
      {"NaN", json_type_null, false, E_NON_JSON_LITERAL},
      {"Infinity", json_type_null, false, E_NON_JSON_LITERAL},
      {"-Infinity", json_type_null, false, E_NON_JSON_LITERAL},
      {"undefined", json_type_null, false, E_NON_JSON_LITERAL},
  };
  const unsigned char *in = s->in;
  size_t i = s->pos;
  while (i < s->end && is_word_char(in[i])) i++;
  s->pos = i;
  const char *w = (const char *)in + start;
  size_t n = i - start;
  bool prefix = false;
  for (size_t k = 0; k < G_N_ELEMENTS(words); k++) {
    size_t wl = strlen(words[k].word);
    if (n == wl && !memcmp(w, words[k].word, n)) {
      if (words[k].edit >= 0) s->edits[words[k].edit]++;
      attach(s, words[k].type == json_type_boolean ? json_object_new_boolean(words[k].value)
                                                   : NULL);
      return true;
    }
    prefix |= n < wl && !memcmp(w, words[k].word, n);
  }
  if (prefix && i >= s->end) {
    drop_value(s);
    return true;
  }
  return scan_fail(s, "not_json", "not JSON: unexpected word '%.*s' at byte %zu",
                   (int)MIN(n, 32), w, start);
}

static bool scan_scalar_or_open(scanner *s) {
  unsigned char c = s->in[s->pos];
  if (c == '{' || c == '[') return open_container(s, c == '[');
  if (c == '"' || c == '\'') {
    if (!scan_string(s, false)) s->edits[E_CLOSE_STRING]++;
    attach(s, json_object_new_string_len(s->buf->str, (int)s->buf->len));
    return true;
  }
  if (is_digit(c) || c == '-' || c == '+' || c == '.') return scan_number(s);
  if (is_word_char(c)) return scan_word_value(s, s->pos);
  return unexpected(s);
}

/* Read one top-level value from s->pos. 1: done, s->root holds it; 0: the region holds no
 * value; -1: failure (s->fail). The end of the region closes whatever is open. */
static int scan_value(scanner *s) {
  for (;;) {
    if (s->root && !s->stack->len) return 1;
    skip_space(s);
    if (s->pos < s->end && s->fenced && has_fence(s->in, s->pos, s->end)) s->end = s->pos;
    if (s->pos >= s->end) {
      if (!s->root) return 0;
      while (s->stack->len) close_top(s, true, true);
      return 1;
    }
    unsigned char c = s->in[s->pos];
    frame *f = top(s);
    bool ok = true;
    switch (f ? f->state : ST_VALUE) {
    case ST_VALUE:
      if (f && (c == '}' || c == ']')) {
        ok = close_bracket(s, c);
      } else if (f && c == ',') {
        if (f->array) {
          s->pos++;
          s->edits[E_EXTRA_COMMA]++;
        } else {
          ok = scan_fail(s, "not_json", "not JSON: the member '%s' has no value (byte %zu)",
                         f->key, s->pos);
        }
      } else {
        ok = scan_scalar_or_open(s);
      }
      break;
    case ST_KEY:
      if (c == '}' || c == ']') {
        ok = close_bracket(s, c);
      } else if (c == ',') {
        s->pos++;
        s->edits[E_EXTRA_COMMA]++;
      } else {
        ok = scan_key(s, f);
      }
      break;
    case ST_COLON:
      if (c == ':') {
        s->pos++;
        f->state = ST_VALUE;
      } else if (c == '}' || c == ']' || c == ',') {
        ok = scan_fail(s, "not_json", "not JSON: the member '%s' has no value (byte %zu)",
                       f->key, s->pos);
      } else if (starts_value(c)) {
        s->edits[E_MISSING_COLON]++;
        f->state = ST_VALUE;
      } else {
        ok = unexpected(s);
      }
      break;
    default: /* ST_AFTER */
      if (c == ',') {
        s->pos++;
        f->comma = true;
        f->state = f->array ? ST_VALUE : ST_KEY;
      } else if (c == '}' || c == ']') {
        ok = close_bracket(s, c);
      } else if (f->array ? starts_value(c) : starts_key(c)) {
        s->edits[E_MISSING_COMMA]++;
        f->state = f->array ? ST_VALUE : ST_KEY;
      } else {
        ok = unexpected(s);
      }
      break;
    }
    if (!ok) return -1;
  }
}

static void scanner_reset(scanner *s) {
  for (guint i = 0; i < s->stack->len; i++) g_free(g_array_index(s->stack, frame, i).key);
  g_array_set_size(s->stack, 0);
  json_object_put(s->root);
  s->root = NULL;
}

/* The last ``` alone at the start of a line after `from`: where a fenced block ends (len when
 * there is none, as in a truncated reply). Searching from the end of the block, not for the
 * first fence, keeps fences inside string values (code arguments) in their strings. */
static size_t closing_fence(const unsigned char *in, size_t from, size_t len) {
  size_t best = len;
  for (size_t i = from; i + 3 <= len;) {
    const unsigned char *f = memmem(in + i, len - i, "```", 3);
    if (!f) break;
    size_t at = (size_t)(f - in), b = at, e = at + 3;
    while (b > from && (in[b - 1] == ' ' || in[b - 1] == '\t')) b--;
    while (e < len && (in[e] == ' ' || in[e] == '\t' || in[e] == '\r')) e++;
    if ((b == from || in[b - 1] == '\n') && (e >= len || in[e] == '\n')) best = at;
    i = at + 3;
  }
  return best;
}

static void open_fence(scanner *s) {
  s->edits[E_STRIP_FENCE]++;
  s->pos += 3;
  while (s->pos < s->len && (g_ascii_isalnum(s->in[s->pos]) || s->in[s->pos] == '_' ||
                             s->in[s->pos] == '+' || s->in[s->pos] == '-' || s->in[s->pos] == '.'))
    s->pos++;
  s->fenced = true;
  s->end = closing_fence(s->in, s->pos, s->len);
}

/* Does the string at s->pos end with a colon after it: an object body without braces? */
static bool key_follows(scanner *s) {
  size_t pos = s->pos;
  unsigned saved[N_EDITS];
  memcpy(saved, s->edits, sizeof saved);
  bool closed = scan_string(s, true);
  skip_space(s);
  bool colon = closed && s->pos < s->end && s->in[s->pos] == ':';
  memcpy(s->edits, saved, sizeof saved);
  s->pos = pos;
  return colon;
}

/* Scan the first value, from s->pos. When prose came before it, a failure may mean that the
 * '{' we chose belongs to the prose ("use {city} as ..."): try the next '{', a few times. */
static int scan_first(scanner *s, bool prose) {
  unsigned saved[N_EDITS];
  memcpy(saved, s->edits, sizeof saved);
  size_t start = s->pos, end = s->end;
  for (int attempt = 1;; attempt++) {
    unsigned char c = s->in[s->pos];
    if ((c == '"' || c == '\'') && key_follows(s)) {
      s->root = json_object_new_object();
      frame f = {s->root, NULL, ST_KEY, false, true, false};
      g_array_append_val(s->stack, f);
      s->edits[E_MISSING_BRACES]++;
    }
    int r = scan_value(s);
    if (r >= 0 || !prose || attempt >= MAX_ATTEMPTS || start + 1 >= end) return r;
    const unsigned char *next = memchr(s->in + start + 1, '{', end - start - 1);
    if (!next) return r;
    scanner_reset(s);
    memcpy(s->edits, saved, sizeof saved);
    s->pos = start = (size_t)(next - s->in);
    s->end = end;
  }
}

/* Scan a whole input into its top-level values (in `values`, new references). True when the
 * input was read (`values` may be empty: no value at all), false with s->fail set. */
static bool scan_document(scanner *s, GPtrArray *values) {
  const unsigned char *in = s->in;
  if (s->len >= 3 && !memcmp(in, "\xEF\xBB\xBF", 3)) {
    s->pos = 3;
    s->edits[E_STRIP_BOM]++;
  }
  skip_space(s);
  bool prose = false;
  if (s->pos < s->end && has_fence(in, s->pos, s->end)) {
    open_fence(s);
    skip_space(s);
  }
  if (s->pos < s->end && !starts_json(in[s->pos])) {
    const unsigned char *brace = memchr(in + s->pos, '{', s->end - s->pos);
    size_t limit = brace ? (size_t)(brace - in) : s->end;
    const unsigned char *fence =
        s->fenced ? NULL : memmem(in + s->pos, limit - s->pos, "```", 3);
    if (fence) {
      s->pos = (size_t)(fence - in);
      open_fence(s);
      skip_space(s);
      brace = s->pos < s->end && !starts_json(in[s->pos])
                  ? memchr(in + s->pos, '{', s->end - s->pos)
                  : NULL;
    }
    if (brace) s->pos = (size_t)(brace - in);
    prose = brace || fence;
    if (prose) s->edits[E_STRIP_PROSE]++;
  }
  if (s->pos >= s->end) return true;

  int r = scan_first(s, prose);
  if (r < 0) return false;
  if (r == 0) return true;
  g_ptr_array_add(values, s->root);
  s->root = NULL;

  /* After the value: more objects (concatenated), stray closers, the closing fence, prose. */
  bool after_fence = false;
  for (;;) {
    skip_space(s);
    if (s->pos >= s->end && s->end < s->len) {
      s->pos = s->end + 3; /* the closing fence */
      s->end = s->len;
      s->fenced = false;
      after_fence = true;
      continue;
    }
    if (s->pos >= s->end) break;
    unsigned char c = in[s->pos];
    if (s->fenced && has_fence(in, s->pos, s->end)) {
      s->end = s->pos;
      continue;
    }
    if (!after_fence && (c == ',' || c == ';')) {
      size_t p = s->pos++;
      skip_space(s);
      if (s->pos < s->end && in[s->pos] == '{') continue;
      s->pos = p;
    } else if (!after_fence && c == '{') {
      r = scan_value(s);
      if (r < 0) return false;
      g_ptr_array_add(values, s->root);
      s->root = NULL;
      continue;
    } else if (!after_fence && (c == '}' || c == ']')) {
      s->edits[E_EXTRA_BRACKETS]++;
      s->pos++;
      continue;
    }
    if (!after_fence && has_fence(in, s->pos, s->end)) {
      size_t p = s->pos + 3;
      while (p < s->len && is_space(in[p])) p++;
      if (p >= s->len) {
        s->edits[E_STRIP_FENCE]++;
        break;
      }
    }
    s->edits[E_STRIP_PROSE]++;
    break;
  }
  return true;
}

/* ---- results ---- */

struct hvb_repair_result {
  hvb_repair_outcome outcome;
  char *arguments;
  size_t arguments_len;
  json_object *value;
  GPtrArray *edits; /* repair_edit */
  char *reason, *reason_text;
  char *tool;
  GPtrArray *calls; /* char *, compact JSON */
};

static repair_edit *find_edit(const hvb_repair_result *r, const char *code) {
  for (guint i = 0; i < r->edits->len; i++) {
    repair_edit *e = g_ptr_array_index(r->edits, i);
    if (!strcmp(e->code, code)) return e;
  }
  return NULL;
}

static void add_edit(hvb_repair_result *r, char *code, char *text) {
  if (find_edit(r, code)) {
    g_free(code);
    g_free(text);
    return;
  }
  repair_edit *e = g_new(repair_edit, 1);
  e->code = code;
  e->text = text;
  g_ptr_array_add(r->edits, e);
}

static void add_counted_edits(hvb_repair_result *r, const unsigned *counts) {
  for (int i = 0; i < N_EDITS; i++) {
    if (!counts[i]) continue;
    char *text = counts[i] > 1 ? g_strdup_printf("%s (%u times)", edit_info[i].text, counts[i])
                               : g_strdup(edit_info[i].text);
    add_edit(r, g_strdup(edit_info[i].code), text);
  }
}

static void unfixable(hvb_repair_result *r, const char *code, char *text) {
  r->outcome = HVB_REPAIR_UNFIXABLE;
  r->reason = g_strdup(code);
  r->reason_text = text;
}

static const char *type_article(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_array: return "an array";
  case json_type_string: return "a string";
  case json_type_boolean: return "a boolean";
  case json_type_null: return "null";
  case json_type_object: return "an object";
  default: return "a number";
  }
}

/* Read `len` bytes of arguments into objects. `unwrap`: a top-level JSON string may hold the
 * arguments (double-encoded); only one level is decoded. True with `objects` filled; false
 * with the reason recorded in r. Edits are counted in `counts`. */
static bool read_objects(hvb_repair_result *r, const char *text, size_t len, bool unwrap,
                         unsigned *counts, GPtrArray *objects) {
  scanner s = {0};
  s.in = (const unsigned char *)text;
  s.len = s.end = len;
  s.stack = g_array_new(FALSE, FALSE, sizeof(frame));
  s.buf = g_string_new(NULL);
  bool ok = scan_document(&s, objects);
  for (int i = 0; i < N_EDITS; i++) counts[i] += s.edits[i];
  if (!ok) unfixable(r, s.fail, g_steal_pointer(&s.fail_text));
  scanner_reset(&s);
  g_array_free(s.stack, TRUE);
  g_string_free(s.buf, TRUE);
  g_free(s.fail_text);
  if (!ok) return false;

  json_object *first = objects->len ? g_ptr_array_index(objects, 0) : NULL;
  if (objects->len <= 1 && (!first || json_object_is_type(first, json_type_null))) {
    g_ptr_array_set_size(objects, 0);
    g_ptr_array_add(objects, json_object_new_object());
    counts[E_EMPTY_TO_OBJECT]++;
    return true;
  }
  if (objects->len == 1 && unwrap && json_object_is_type(first, json_type_string)) {
    GPtrArray *inner = g_ptr_array_new_with_free_func(put_json);
    unsigned inner_counts[N_EDITS] = {0};
    bool inner_ok = read_objects(r, json_object_get_string(first),
                                 (size_t)json_object_get_string_len(first), false, inner_counts,
                                 inner);
    if (inner_ok && !inner_counts[E_EMPTY_TO_OBJECT]) {
      g_ptr_array_set_size(objects, 0);
      for (guint i = 0; i < inner->len; i++)
        g_ptr_array_add(objects, json_object_get(g_ptr_array_index(inner, i)));
      for (int i = 0; i < N_EDITS; i++) counts[i] += inner_counts[i];
      counts[E_UNWRAP_STRING]++;
      g_ptr_array_free(inner, TRUE);
      return true;
    }
    g_ptr_array_free(inner, TRUE);
    g_clear_pointer(&r->reason, g_free);
    g_clear_pointer(&r->reason_text, g_free);
    r->outcome = HVB_REPAIR_VALID;
  }
  if (!json_object_is_type(first, json_type_object)) {
    unfixable(r, "not_object",
              g_strdup_printf("the arguments are %s, not a JSON object", type_article(first)));
    return false;
  }
  return true;
}

/* Fill missing required fields from their schema defaults. False (reason recorded) when a
 * required field has no default. */
static bool apply_schema(hvb_repair_result *r, json_object *obj, json_object *schema) {
  json_object *required = NULL, *props = NULL;
  if (!json_object_object_get_ex(schema, "required", &required) ||
      !json_object_is_type(required, json_type_array))
    return true;
  json_object_object_get_ex(schema, "properties", &props);
  size_t n = json_object_array_length(required);
  for (size_t i = 0; i < n; i++) {
    json_object *name = json_object_array_get_idx(required, i);
    const char *field = json_object_get_string(name);
    if (!json_object_is_type(name, json_type_string) || json_object_object_get_ex(obj, field, NULL))
      continue;
    json_object *prop = NULL, *def = NULL;
    if (json_object_is_type(props, json_type_object) &&
        json_object_object_get_ex(props, field, &prop) &&
        json_object_is_type(prop, json_type_object) &&
        json_object_object_get_ex(prop, "default", &def)) {
      json_object_object_add(obj, field, hvb__json_copy(def));
      add_edit(r, g_strdup_printf("fill_default:%s", field),
               g_strdup_printf("filled the missing required field '%s' with its schema default",
                               field));
      continue;
    }
    unfixable(r, NULL, NULL);
    r->reason = g_strdup_printf("missing_required:%s", field);
    r->reason_text = g_strdup_printf(
        "the required field '%s' is missing and the schema gives no default", field);
    return false;
  }
  return true;
}

/* The known tool that `tool` stands for, or NULL. `index` maps known names to their
 * parameters schema (or null). */
static const char *resolve_tool(const char *tool, json_object *index) {
  if (json_object_object_get_ex(index, tool, NULL)) return tool;
  /* "functions.get_weather", "default_api:get_weather": a namespace leaked into the name. */
  size_t cut;
  for (cut = strlen(tool); cut > 0 && tool[cut - 1] != '.' && tool[cut - 1] != ':'; cut--) {}
  if (cut > 0 && json_object_object_get_ex(index, tool + cut, NULL)) return tool + cut;
  return hvb__suggest(tool, index);
}

static const char *const outcome_names[] = {"valid", "repaired", "unfixable"};

static hvb_repair_result *repair_run(const char *text, size_t len, json_object *schema,
                                     json_object *index, const char *tool, unsigned flags,
                                     hvb_error *err) {
  if (!text && len) {
    hvb__fail(err, HVB_EINVAL, "repair: arguments are NULL but their length is %zu", len);
    return NULL;
  }
  if (!text) text = "";
  hvb_repair_result *r = g_new0(hvb_repair_result, 1);
  r->edits = g_ptr_array_new_with_free_func(edit_free);
  r->calls = g_ptr_array_new_with_free_func(g_free);
  r->arguments = g_malloc(len + 1);
  if (len) memcpy(r->arguments, text, len);
  r->arguments[len] = '\0';
  r->arguments_len = len;
  r->tool = g_strdup(tool);

  GPtrArray *objects = g_ptr_array_new_with_free_func(put_json);
  unsigned counts[N_EDITS] = {0};
  bool ok = true;
  if (tool && index) {
    const char *known = resolve_tool(tool, index);
    if (!known) {
      char *names = hvb__json_keys_list(index);
      unfixable(r, NULL, g_strdup_printf("unknown tool '%s' and no known tool is close "
                                         "(known: %s)", tool, *names ? names : "none"));
      r->reason = g_strdup_printf("unknown_tool:%s", tool);
      g_free(names);
      ok = false;
    } else if (strcmp(known, tool)) {
      add_edit(r, g_strdup_printf("tool_name:%s->%s", tool, known),
               g_strdup_printf("renamed the unknown tool '%s' to '%s'", tool, known));
      g_free(r->tool);
      r->tool = g_strdup(known);
    }
    json_object *params = NULL;
    if (ok && !schema && json_object_object_get_ex(index, r->tool, &params) &&
        json_object_is_type(params, json_type_object))
      schema = params;
  }
  if (ok && len > HVB_REPAIR_MAX_BYTES) {
    unfixable(r, "too_large", g_strdup_printf("%zu bytes exceed the limit of %zu bytes", len,
                                              (size_t)HVB_REPAIR_MAX_BYTES));
    ok = false;
  }
  if (ok) ok = read_objects(r, text, len, true, counts, objects);
  if (ok && objects->len > 1) {
    if (flags & HVB_REPAIR_SPLIT) {
      counts[E_SPLIT_CONCATENATED]++;
    } else {
      unfixable(r, "concatenated_objects",
                g_strdup_printf("%u JSON objects one after the other (splitting is off)",
                                objects->len));
      ok = false;
    }
  }
  add_counted_edits(r, counts);
  for (guint i = 0; ok && i < objects->len; i++)
    ok = !schema || apply_schema(r, g_ptr_array_index(objects, i), schema);

  if (ok) {
    bool only_empty = r->edits->len == 1 && counts[E_EMPTY_TO_OBJECT];
    r->outcome = r->edits->len == 0 || only_empty ? HVB_REPAIR_VALID : HVB_REPAIR_REPAIRED;
    for (guint i = 0; i < objects->len; i++)
      g_ptr_array_add(r->calls, g_strdup(json_object_to_json_string_ext(
                                    g_ptr_array_index(objects, i),
                                    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
    r->value = json_object_get(g_ptr_array_index(objects, 0));
    g_free(r->arguments);
    r->arguments = g_strdup(g_ptr_array_index(r->calls, 0));
    r->arguments_len = strlen(r->arguments);
  }
  g_ptr_array_free(objects, TRUE);

  if (r->outcome == HVB_REPAIR_UNFIXABLE && (flags & HVB_REPAIR_STRICT)) {
    if (tool)
      hvb__fail(err, HVB_PARSE, "arguments of tool '%s' are unfixable: %s (%s)", tool,
                r->reason, r->reason_text);
    else
      hvb__fail(err, HVB_PARSE, "tool call arguments are unfixable: %s (%s)", r->reason,
                r->reason_text);
    hvb_repair_result_free(r);
    return NULL;
  }
  return r;
}

/* ---- public API ---- */

HVB_PUBLIC unsigned hvb_repair_config_flags(const hvb_repair_config *cfg) {
  if (!cfg) return 0;
  return (cfg->split ? HVB_REPAIR_SPLIT : 0u) | (cfg->strict ? HVB_REPAIR_STRICT : 0u);
}

HVB_PUBLIC hvb_repair_result *hvb_repair_arguments(const char *arguments, size_t len,
                                                   json_object *schema, const char *tool,
                                                   const char *const *tool_names,
                                                   unsigned flags, hvb_error *err) {
  if (schema && !json_object_is_type(schema, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "repair: the schema must be a JSON object (a function's "
                               "\"parameters\"), got %s", type_article(schema));
    return NULL;
  }
  json_object *index = NULL;
  if (tool_names) {
    index = json_object_new_object();
    for (size_t i = 0; tool_names[i]; i++) json_object_object_add(index, tool_names[i], NULL);
  }
  hvb_repair_result *r = repair_run(arguments, len, schema, index, tool, flags, err);
  json_object_put(index);
  return r;
}

HVB_PUBLIC hvb_repair_result *hvb_repair_tool_call(const char *tool, const char *arguments,
                                                   size_t len, json_object *tools,
                                                   unsigned flags, hvb_error *err) {
  if (tools && !json_object_is_type(tools, json_type_array)) {
    hvb__fail(err, HVB_EINVAL, "repair: tools must be a JSON array (the request's \"tools\"), "
                               "got %s", type_article(tools));
    return NULL;
  }
  json_object *index = NULL;
  if (tools) {
    index = json_object_new_object();
    size_t n = json_object_array_length(tools);
    for (size_t i = 0; i < n; i++) {
      json_object *t = json_object_array_get_idx(tools, i), *fn = NULL, *params = NULL;
      if (!json_object_object_get_ex(t, "function", &fn)) fn = t;
      const char *name = hvb__json_str(fn, "name");
      if (!name) continue;
      json_object_object_get_ex(fn, "parameters", &params);
      json_object_object_add(index, name, json_object_get(params));
    }
  }
  hvb_repair_result *r = repair_run(arguments, len, NULL, index, tool, flags, err);
  json_object_put(index);
  return r;
}

HVB_PUBLIC void hvb_repair_result_free(hvb_repair_result *r) {
  if (!r) return;
  g_free(r->arguments);
  json_object_put(r->value);
  g_ptr_array_free(r->edits, TRUE);
  g_free(r->reason);
  g_free(r->reason_text);
  g_free(r->tool);
  g_ptr_array_free(r->calls, TRUE);
  g_free(r);
}

HVB_PUBLIC hvb_repair_outcome hvb_repair_result_outcome(const hvb_repair_result *r) {
  return r->outcome;
}

HVB_PUBLIC const char *hvb_repair_outcome_name(hvb_repair_outcome outcome) {
  if ((unsigned)outcome >= G_N_ELEMENTS(outcome_names)) return "unknown";
  return outcome_names[outcome];
}

HVB_PUBLIC const char *hvb_repair_result_arguments(const hvb_repair_result *r, size_t *len) {
  if (len) *len = r->arguments_len;
  return r->arguments;
}

HVB_PUBLIC json_object *hvb_repair_result_value(const hvb_repair_result *r) { return r->value; }

HVB_PUBLIC size_t hvb_repair_result_edit_count(const hvb_repair_result *r) {
  return r->edits->len;
}

HVB_PUBLIC const char *hvb_repair_result_edit_code(const hvb_repair_result *r, size_t i) {
  return i < r->edits->len ? ((repair_edit *)g_ptr_array_index(r->edits, i))->code : NULL;
}

HVB_PUBLIC const char *hvb_repair_result_edit_text(const hvb_repair_result *r, size_t i) {
  return i < r->edits->len ? ((repair_edit *)g_ptr_array_index(r->edits, i))->text : NULL;
}

HVB_PUBLIC bool hvb_repair_result_has_edit(const hvb_repair_result *r, const char *code) {
  return code && find_edit(r, code) != NULL;
}

HVB_PUBLIC const char *hvb_repair_result_reason(const hvb_repair_result *r) { return r->reason; }

HVB_PUBLIC const char *hvb_repair_result_reason_text(const hvb_repair_result *r) {
  return r->reason_text;
}

HVB_PUBLIC const char *hvb_repair_result_tool(const hvb_repair_result *r) { return r->tool; }

HVB_PUBLIC size_t hvb_repair_result_call_count(const hvb_repair_result *r) {
  return r->calls->len;
}

HVB_PUBLIC const char *hvb_repair_result_call(const hvb_repair_result *r, size_t i) {
  return i < r->calls->len ? g_ptr_array_index(r->calls, i) : NULL;
}

static json_object *string_or_null(const char *s) {
  return s ? json_object_new_string(s) : NULL;
}

HVB_PUBLIC json_object *hvb_repair_result_to_json(const hvb_repair_result *r) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "outcome", json_object_new_string(hvb_repair_outcome_name(r->outcome)));
  if (r->outcome == HVB_REPAIR_UNFIXABLE) {
    char *valid = g_utf8_make_valid(r->arguments, (gssize)r->arguments_len);
    json_object_object_add(o, "arguments", json_object_new_string(valid));
    g_free(valid);
  } else {
    json_object_object_add(o, "arguments",
                           json_object_new_string_len(r->arguments, (int)r->arguments_len));
  }
  json_object *edits = json_object_new_array();
  for (guint i = 0; i < r->edits->len; i++) {
    repair_edit *e = g_ptr_array_index(r->edits, i);
    json_object *je = json_object_new_object();
    json_object_object_add(je, "code", json_object_new_string(e->code));
    json_object_object_add(je, "text", json_object_new_string(e->text));
    json_object_array_add(edits, je);
  }
  json_object_object_add(o, "edits", edits);
  json_object_object_add(o, "reason", string_or_null(r->reason));
  json_object_object_add(o, "reason_text", string_or_null(r->reason_text));
  json_object_object_add(o, "tool", string_or_null(r->tool));
  json_object *calls = json_object_new_array();
  for (guint i = 0; i < r->calls->len; i++)
    json_object_array_add(calls, json_object_new_string(g_ptr_array_index(r->calls, i)));
  json_object_object_add(o, "calls", calls);
  return o;
}
