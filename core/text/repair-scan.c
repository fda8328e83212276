/* core/text/repair-scan.c: the scanner of tool-call argument repair (see repair-scan.h).
 *
 * One forward pass builds json-c values directly, with an explicit stack of open containers:
 * no recursion over the input, linear time, and a truncated document is closed by unwinding
 * the stack. json-c's own tokener is not used: its lenient mode accepts comments, single
 * quotes and trailing commas without saying so (we must report every edit), and it clamps
 * integers beyond 64 bits to the limit (we keep their digits).
 */
#include "text/repair-scan.h"
#include "text/json.h"
#include "base/common.h"

#include <heavenbase/repair.h>

#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
  unsigned members;  /* text mode: values written into this container */
  guint keys_base;   /* text mode: this object's first key span in out->keys */
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
  GString *key;      /* text mode: the key waiting for its value (there is at most one) */
  bool buf_plain;    /* the string in buf is runs of plain bytes and UTF-8: nothing to escape */
  unsigned edits[N_EDITS];
  const char *fail; /* reason code; static */
  char *fail_text;
  hvb__repair_text *out; /* text mode (see repair-scan.h); NULL: json-c values */
  bool got_root;         /* text mode: the top-level object was opened */
} scanner;

/* Text mode met what it leaves to the json-c path: stop the scan. */
static bool bail(scanner *s) {
  s->out->bail = true;
  s->fail = "bail";
  return false;
}

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
  if (s->out) {
    json_object_put(v);
    return;
  }
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

/* Text mode: what goes before the value about to be written (the comma, the key and its
 * colon), and the frame's bookkeeping that attach does for json-c values. A scalar at the top
 * level is left to the json-c path (unwrapping, `null` as no arguments, not_object). */
static bool text_value(scanner *s) {
  frame *f = top(s);
  if (!f) return bail(s);
  if (!f->array) {
    if (!hvb__rt_key(s->out, f->keys_base, f->members, s->key->str, s->key->len))
      return bail(s);
  } else if (f->members) {
    hvb__rt_char(s->out, ',');
  }
  f->members++;
  f->state = ST_AFTER;
  f->comma = false;
  return true;
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
  json_object *node = NULL;
  if (s->out) {
    if (!s->stack->len && (array || s->got_root)) return bail(s);
    if (s->stack->len && !text_value(s)) return false;
    hvb__rt_char(s->out, array ? '[' : '{');
    s->got_root = true;
  } else {
    node = array ? json_object_new_array() : json_object_new_object();
    attach(s, node);
  }
  frame f = {node, NULL, array ? ST_VALUE : ST_KEY, array, false, false, 0,
             s->out ? s->out->n_keys : 0};
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
  if (s->out) hvb__rt_close(s->out, f->array, f->keys_base, s->stack->len == 1);
  g_free(f->key);
  s->stack->len--; /* a GArray without clearing or terminator: only its length changes */
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

/* g_string_append_len without its call when the room is there: strings are mostly runs. */
static inline void append_run(GString *b, const unsigned char *p, size_t n) {
  if (b->len + n < b->allocated_len) {
    memcpy(b->str + b->len, p, n);
    b->len += n;
    b->str[b->len] = '\0';
  } else {
    g_string_append_len(b, (const char *)p, (gssize)n);
  }
}

static void append_unichar(GString *b, gunichar u) {
  char tmp[8];
  g_string_append_len(b, tmp, g_unichar_to_utf8(u, tmp));
}

/* Bytes that end a run of a string's plain bytes: controls, quotes, the backslash, non-ASCII. */
static const unsigned char run_stop[256] = {
#define S4_(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1
#define S16_(c) S4_(c), S4_(c + 4), S4_(c + 8), S4_(c + 12)
    S16_(0x00), S16_(0x10), S16_(0x80), S16_(0x90), S16_(0xA0), S16_(0xB0), S16_(0xC0),
    S16_(0xD0), S16_(0xE0), S16_(0xF0), ['"'] = 1, ['\''] = 1, ['\\'] = 1,
#undef S16_
#undef S4_
};

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
  b->len = 0; /* g_string_truncate without its call */
  b->str[0] = '\0';
  s->buf_plain = true;
  if (q == '\'') s->edits[E_SINGLE_QUOTES]++;
  while (i < end) {
    size_t run = i;
    while (i < end && !run_stop[in[i]]) i++;
    if (i > run) append_run(b, in + run, i - run);
    if (i >= end) break;
    unsigned char c = in[i];
    if (c == q && (is_key || quote_closes(s, i + 1))) {
      s->pos = i + 1;
      return true;
    }
    if (c < 0x80) s->buf_plain = false; /* a byte the writer may have to escape */
    if (c == q) {
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
        int h = hvb__repair_hex4(in + i + 2, end - i - 2, &cu);
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
          int h2 = escape ? hvb__repair_hex4(in + i + 2, rest - 2, &lo) : 0;
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
      int n = hvb__repair_utf8_seq(in + i, end - i);
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
  if (s->out && !memchr(s->buf->str, '\0', s->buf->len)) {
    GString *k = s->key; /* the key is the decoded text: no copy */
    s->key = s->buf;
    s->buf = k;
  } else if (s->out) {
    char *k = take_key(s);
    g_string_assign(s->key, k);
    g_free(k);
  } else {
    f->key = take_key(s);
  }
  f->state = ST_COLON;
  return true;
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

/* Digits without a sign or a leading zero: already in the form json-c prints. */
static bool plain_integer(const unsigned char *t, size_t n) {
  if (n == 0 || (n > 1 && t[0] == '0')) return false;
  for (size_t i = 0; i < n; i++)
    if (!is_digit(t[i])) return false;
  return true;
}

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
  if (s->out && plain_integer(in + start, i - start)) {
    s->pos = i;
    if (!text_value(s)) return false;
    hvb__rt_raw(s->out, (const char *)in + start, i - start);
    return true;
  }
  s->pos = i;
  bool changed, is_int;
  if (!hvb__repair_number(in + start, i - start, s->buf, &changed, &is_int)) {
    if (i >= s->end) {
      drop_value(s);
      return true;
    }
    return scan_fail(s, "not_json", "not JSON: malformed number '%.*s' at byte %zu",
                     (int)MIN(i - start, 32), (const char *)in + start, start);
  }
  if (changed) s->edits[E_FIX_NUMBER]++;
  if (s->out) {
    if (!text_value(s)) return false;
    /* json-c reads "-0" as the integer 0 */
    const char *t = is_int && !strcmp(s->buf->str, "-0") ? "0" : s->buf->str;
    hvb__rt_raw(s->out, t, strlen(t));
    return true;
  }
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
      if (s->out) {
        const char *t = words[k].type == json_type_null ? "null" : words[k].value ? "true" : "false";
        if (!text_value(s)) return false;
        hvb__rt_raw(s->out, t, strlen(t));
        return true;
      }
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

/* Text mode: a value string. One of plain bytes, closed by its quote, is copied from the
 * input as it is: no decoding into buf (long strings are mostly that). */
static bool text_string(scanner *s) {
  const unsigned char *in = s->in;
  size_t i = s->pos + 1;
  while (i < s->end && !run_stop[in[i]]) i++;
  bool plain = in[s->pos] == '"' && i < s->end && in[i] == '"' && quote_closes(s, i + 1);
  if (!plain && !scan_string(s, false)) s->edits[E_CLOSE_STRING]++;
  if (!text_value(s)) return false;
  if (plain) {
    hvb__rt_quoted(s->out, (const char *)in + s->pos + 1, i - s->pos - 1);
    s->pos = i + 1;
  } else if (s->buf_plain) {
    hvb__rt_quoted(s->out, s->buf->str, s->buf->len);
  } else {
    hvb__rt_string(s->out, s->buf->str, s->buf->len);
  }
  return true;
}

static bool scan_scalar_or_open(scanner *s) {
  unsigned char c = s->in[s->pos];
  if (c == '{' || c == '[') return open_container(s, c == '[');
  if (c == '"' || c == '\'') {
    if (s->out) return text_string(s);
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
    if ((s->root || s->got_root) && !s->stack->len) return 1;
    skip_space(s);
    if (s->pos < s->end && s->fenced && has_fence(s->in, s->pos, s->end)) s->end = s->pos;
    if (s->pos >= s->end) {
      if (!s->root && !s->got_root) return 0;
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
                         f->key ? f->key : "", s->pos);
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
                       f->key ? f->key : "", s->pos);
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
  if (s->out) hvb__rt_reset(s->out);
  s->got_root = false;
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
      if (s->out) hvb__rt_char(s->out, '{');
      s->got_root = s->out != NULL;
      s->root = s->out ? NULL : json_object_new_object();
      frame f = {s->root, NULL, ST_KEY, false, true, false, 0, 0};
      g_array_append_val(s->stack, f);
      s->edits[E_MISSING_BRACES]++;
    }
    int r = scan_value(s);
    if (r >= 0 || (s->out && s->out->bail) || !prose || attempt >= MAX_ATTEMPTS || start + 1 >= end) return r;
    const unsigned char *next = memchr(s->in + start + 1, '{', end - start - 1);
    if (!next) return r;
    scanner_reset(s);
    memcpy(s->edits, saved, sizeof saved);
    s->pos = start = (size_t)(next - s->in);
    s->end = end;
  }
}

/* Before the first value: a byte-order mark, an opening fence, prose. True when prose was
 * skipped: the '{' chosen may then belong to it (see scan_first). */
static bool skip_preamble(scanner *s) {
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
  return prose;
}

/* After the first value: more objects (concatenated), stray closers, the closing fence,
 * prose. False with s->fail set. */
static bool scan_rest(scanner *s, GPtrArray *values) {
  const unsigned char *in = s->in;
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
      if (s->out) return bail(s); /* several objects */
      if (scan_value(s) < 0) return false;
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

/* Scan a whole input into its top-level values (in `values`, new references). True when the
 * input was read (`values` may be empty: no value at all), false with s->fail set. */
static bool scan_document(scanner *s, GPtrArray *values) {
  bool prose = skip_preamble(s);
  if (s->pos >= s->end) return true;
  int r = scan_first(s, prose);
  if (r < 0) return false;
  if (r == 0) return true;
  g_ptr_array_add(values, s->root);
  s->root = NULL;
  return scan_rest(s, values);
}

bool hvb__repair_scan(const char *text, size_t len, GPtrArray *values, unsigned *counts,
                      const char **fail, char **fail_text) {
  scanner s = {0};
  s.in = (const unsigned char *)text;
  s.len = s.end = len;
  s.stack = g_array_new(FALSE, FALSE, sizeof(frame));
  s.buf = g_string_new(NULL);
  bool ok = scan_document(&s, values);
  for (int i = 0; i < N_EDITS; i++) counts[i] += s.edits[i];
  if (!ok) {
    *fail = s.fail;
    *fail_text = g_steal_pointer(&s.fail_text);
  }
  scanner_reset(&s);
  g_array_free(s.stack, TRUE);
  g_string_free(s.buf, TRUE);
  g_free(s.fail_text);
  return ok;
}

int hvb__repair_scan_text(const char *text, size_t len, hvb__repair_text *t, unsigned *counts) {
  scanner s = {0};
  s.in = (const unsigned char *)text;
  s.len = s.end = len;
  s.stack = g_array_new(FALSE, FALSE, sizeof(frame));
  s.buf = g_string_new(NULL);
  s.key = g_string_new(NULL);
  s.out = t;
  GPtrArray *none = g_ptr_array_new(); /* text mode makes no values */
  bool ok = scan_document(&s, none) && s.got_root && !t->bail;
  if (ok)
    for (int i = 0; i < N_EDITS; i++) counts[i] += s.edits[i];
  s.out = NULL; /* keep the text */
  scanner_reset(&s);
  g_ptr_array_free(none, TRUE);
  g_array_free(s.stack, TRUE);
  g_string_free(s.buf, TRUE);
  g_string_free(s.key, TRUE);
  g_free(s.fail_text);
  return ok ? 1 : 0;
}
