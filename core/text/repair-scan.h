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

/* Scan `len` bytes of `text` into its top-level values, appended to `values` (new
 * references; it may stay empty: no value at all) and add the edits made to `counts`
 * (N_EDITS counters). False when the text cannot be read: *fail is then a static reason
 * code ("not_json"...) and *fail_text its message (g_free). */
bool hvb__repair_scan(const char *text, size_t len, GPtrArray *values, unsigned *counts,
                      const char **fail, char **fail_text);

#endif
