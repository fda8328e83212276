/* core/text/repair-scan.h: the scanner of tool-call argument repair, private to
 * core/text/repair*.c.
 *
 * The scanner reads JSON as a model writes it (fences, prose, comments, single quotes,
 * missing commas, truncation...) and counts each kind of edit it made; repair.c turns the
 * counts into the edits a result reports, in the order of EDIT_MAP.
 *
 * Thread safety: no state outside the call.
 */
#ifndef HVB_TEXT_REPAIR_SCAN_H
#define HVB_TEXT_REPAIR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "text/json-write.h"

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

/* Lexical helpers (repair-lex.c). The UTF-8 sequence at p: its length when valid, 0 when
 * invalid, -1 when the input ends inside a sequence that was valid so far. */
int hvb__repair_utf8_seq(const unsigned char *p, size_t avail);
/* Four hex digits at p: 1 with *out set, 0 when not hex, -1 when the input ends first. */
int hvb__repair_hex4(const unsigned char *p, size_t avail, unsigned *out);
/* Rewrite number text `t` in JSON form into `out`: drop a leading '+' and leading zeros,
 * give '.5' its 0 and '5.' its fraction, drop an exponent without digits. False when it is
 * not a number at all. */
bool hvb__repair_number(const unsigned char *t, size_t n, GString *out, bool *changed,
                        bool *is_int);

/* A flag of hvb_repair_arguments/hvb_repair_tool_call for tests: the json-c path only, the
 * oracle the text mode is compared with (tests/unit/test-repair-text.c). */
#define HVB__REPAIR_JSONC_ONLY (1u << 31)

/* Text mode: the scanner writes the repaired document's text itself (our writer, byte for
 * byte what json-c prints for the values it would have built), no json-c objects. It covers
 * the common case, one top-level object, and bails out (`bail`) on what it leaves to the
 * json-c path: several top-level values, a top-level scalar or array (unwrapping, `null`,
 * not_object), a repeated key, an object of more than HVB__RT_MAX_KEYS keys (duplicates are
 * found by comparing with the object's earlier keys; past that count, the json-c path's hash
 * tables keep the time linear). */
#define HVB__RT_MAX_KEYS 64

typedef struct hvb__rt_span {
  size_t off, len; /* the quoted, escaped key in w */
} hvb__rt_span;

typedef struct hvb__repair_text {
  hvb_json_writer w;
  struct hvb__rt_span *keys; /* the open objects' keys in w; the top object's stay */
  guint n_keys, keys_cap;
  bool bail;
} hvb__repair_text;


void hvb__rt_init(hvb__repair_text *t, size_t hint);
void hvb__rt_clear(hvb__repair_text *t);
/* Forget everything written (a new attempt at the first value). */
void hvb__rt_reset(hvb__repair_text *t);
void hvb__rt_raw(hvb__repair_text *t, const char *s, size_t n);
void hvb__rt_string(hvb__repair_text *t, const char *s, size_t n);
/* A string known to need no escape (no control character, quote or backslash): quoted. */
void hvb__rt_quoted(hvb__repair_text *t, const char *s, size_t n);
/* One byte, without a call when there is room (brackets and commas are most of the calls). */
static inline void hvb__rt_char(hvb__repair_text *t, char c) {
  hvb_json_writer *w = &t->w;
  if (w->len + 2 <= w->cap) {
    w->buf[w->len++] = c;
    w->buf[w->len] = '\0';
  } else {
    hvb__jw_raw(w, &c, 1);
  }
}
/* `,"key":` (no comma for the first member) in the object whose keys start at `base`. False,
 * writing nothing, when the key is already there or the object has too many keys. */
bool hvb__rt_key(hvb__repair_text *t, guint base, unsigned members, const char *key, size_t n);
/* Is `key` (a C string) among the keys from `base` on? */
bool hvb__rt_has_key(hvb__repair_text *t, guint base, const char *key);
/* Remember the key just written at w[off, off + len) (no checks). */
void hvb__rt_add_span(hvb__repair_text *t, size_t off, size_t len);
/* The closing bracket; an object's keys are forgotten, except the top object's (`top`). */
void hvb__rt_close(hvb__repair_text *t, bool array, guint base, bool top);

/* Scan `len` bytes of `text` as hvb__repair_scan does, writing the text of its one top-level
 * object into `t` (initialized by the caller). 1: done, edits added to `counts`; 0: text mode
 * does not apply, or the input is unfixable: use hvb__repair_scan (counts untouched). */
int hvb__repair_scan_text(const char *text, size_t len, hvb__repair_text *t, unsigned *counts);

/* Scan `len` bytes of `text` into its top-level values, appended to `values` (new
 * references; it may stay empty: no value at all) and add the edits made to `counts`
 * (N_EDITS counters). False when the text cannot be read: *fail is then a static reason
 * code ("not_json"...) and *fail_text its message (g_free). */
bool hvb__repair_scan(const char *text, size_t len, GPtrArray *values, unsigned *counts,
                      const char **fail, char **fail_text);

#endif
