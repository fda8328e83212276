/* core/text/json.h: JSON helpers over json-c (core/text/json.c). */
#ifndef HVB_TEXT_JSON_H
#define HVB_TEXT_JSON_H

#include <locale.h>
#include <glib.h>
#include <json-c/json.h>
#include "base/common.h"

/* ---- JSON helpers (core/json.c) ---- */

/* Value at dotted `path` inside `root` (borrowed), NULL when a segment is missing or crosses
 * a non-object. NULL/empty path gives root. */
json_object *hvb__json_path(json_object *root, const char *path);

/* Merge `src` into `dst` recursively: objects merge key by key, any other value replaces
 * (deep-copied, so later edits of dst never touch src). Both must be objects. */
void hvb__json_merge(json_object *dst, json_object *src);

/* Deep copy (new reference; NULL for NULL). */
json_object *hvb__json_copy(json_object *obj);

/* Canonical JSON text: object keys sorted bytewise, no whitespace, integers (and integral
 * doubles) as integers, other doubles in the shortest form that round-trips, independent of
 * the C locale, strings with minimal JSON escapes (\u00XX for other control characters).
 * New string (g_free). */
char *hvb__json_canonical(json_object *obj);

/* hvb__json_canonical of `obj` appended to `out`, leaving out the members of a top-level
 * object whose keys are in `skip` (NULL-terminated; NULL: none), as if they were absent.
 * For hashing without building a filtered copy. */
void hvb__json_canonical_append(GString *out, json_object *obj, const char *const *skip);
/* The canonical text of the JSON string `s` (NUL-terminated), appended to `out`. */
void hvb__json_canonical_string_append(GString *out, const char *s);

/* Parse `text` of `len` bytes as JSON (len may be -1 for NUL-terminated); the whole text
 * must be one value (trailing non-space is an error). NULL with HVB_PARSE naming `what` and
 * the tokener's error on failure; the literal `null` is an error too ("got null"). */
json_object *hvb__json_parse(const char *text, long len, const char *what, hvb_error *err);

/* Flags for hvb__json_parse_ex. */
enum {
  HVB_JSON_STRICT = 1u << 0,  /* RFC 8259 only: no single quotes, trailing commas, case-folded
                                 literals, NaN or Infinity (json-c accepts them otherwise) */
  HVB_JSON_POSITION = 1u << 1, /* the error message gives the line and column of the fault,
                                  for text people edit by hand */
  HVB_JSON_DEEP = 1u << 2      /* nesting up to HVB_JSON_DEEP_DEPTH, not json-c's 32: config
                                  files, which an older hb wrote deeper than 32 */
};
#define HVB_JSON_DEEP_DEPTH 1024

/* hvb__json_parse with flags (0: the same as hvb__json_parse). */
json_object *hvb__json_parse_ex(const char *text, long len, const char *what, unsigned flags,
                                hvb_error *err);

/* String member of an object or NULL (borrowed). */
const char *hvb__json_str(json_object *obj, const char *key);

/* "a, b, c": the keys of `obj`, sorted; new string (g_free). */
char *hvb__json_keys_list(json_object *obj);

/* Project `obj` by a comma-separated `include` list of field names (spaces around names
 * ignored, repeats dropped; NULL or "" means `dflt`): `value(obj, field)` gives each field's
 * value (a new reference, NULL for JSON null). One field gives its value, several an object
 * keyed by field. *ok (may be NULL) tells success; on failure NULL with HVB_EINVAL naming the
 * unknown field and listing `valid` (NULL-terminated). */
json_object *hvb__project(const char *include, const char *const *valid, const char *dflt,
                          json_object *(*value)(const void *obj, const char *field),
                          const void *obj, bool *ok, hvb_error *err);

/* ---- the C locale around json-c (core/json.c) ----
 *
 * json-c parses under a per-call "C" locale it makes with duplocale/newlocale/freelocale.
 * glibc takes its process-wide setlocale lock for those, unless the thread's locale already
 * is the static C locale object; a lock that another thread holds at fork() stays held in
 * the child forever, so a child could never parse JSON again. The library therefore parses
 * with the calling thread switched to that object (uselocale: thread-local, no lock) and
 * back: hvb__c_locale_enter returns the previous locale for hvb__c_locale_leave. */
locale_t hvb__c_locale_enter(void);
void hvb__c_locale_leave(locale_t previous);

/* "a string", "an object", "a number", "null"...: the type of `v` for error messages. */
const char *hvb__json_type_phrase(json_object *v);

/* Is `v` an integer or a double? (NULL is not.) */
bool hvb__json_is_number(json_object *v);

/* Check every string inside `v` (borrowed; strings, arrays, objects' values) for UTF-8, NUL
 * bytes allowed. With `replace`, each bad sequence of a string becomes U+FFFD in place; else
 * false with HVB_EINVAL "<what> is not valid UTF-8 at byte N" (N counted in that string). */
bool hvb__json_utf8_check(json_object *v, bool replace, const char *what, hvb_error *err);

#endif
