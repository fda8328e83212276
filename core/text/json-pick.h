/* core/text/json-pick.h: pull a few members out of a JSON document without building a tree.
 *
 * A stream's events are small JSON objects, and a caller usually wants one string of each
 * (the text of a delta). Building a json-c tree per event costs several times the bytes'
 * own scanning. hvb__json_pick validates the whole document strictly (RFC 8259) in one pass
 * and records, for each target path, what is there: absent, null, a string (its raw span,
 * still escaped), or another kind of value.
 *
 * It is a fast path, not a parser of record: anything it is not sure of makes it return
 * false, and the caller falls back to json-c. That covers input json-c reads leniently and
 * RFC 8259 does not (raw control characters in strings, single quotes, trailing commas,
 * NaN...), nesting deeper than HVB_JSON_PICK_MAX_DEPTH, keys with escapes along a target
 * path (json-c would unescape them first), and text after the value.
 * hvb__json_pick_decode likewise refuses surrogates, lone or paired (json-c's reading of
 * them is version-dependent: 0.16 turns some valid pairs into U+FFFD). Valid UTF-8 and invalid bytes alike pass through as they are, as
 * json-c passes them.
 *
 * Pure functions of their arguments: thread-safe. Depends on libc only, so that a gateway
 * plugin can compile it in (plugins do not link the core).
 */
#ifndef HVB_TEXT_JSON_PICK_H
#define HVB_TEXT_JSON_PICK_H

#include <stdbool.h>
#include <stddef.h>

#define HVB_JSON_PICK_MAX_DEPTH 32
#define HVB_JSON_PICK_MAX_SEGMENTS 8
#define HVB_JSON_PICK_MAX_TARGETS 16

typedef enum {
  HVB_PICK_ABSENT = 0,
  HVB_PICK_NULL,
  HVB_PICK_STRING,
  HVB_PICK_OTHER, /* an object, array, number or boolean */
} hvb_pick_kind;

/* One target. `path` is a NULL-terminated list of segments: a member name, or "[N]" for the
 * Nth element of an array ("choices", "[0]", "delta", "content"). The result fields are set
 * by hvb__json_pick; a member given twice reads as its last value (as json-c keeps it). */
typedef struct {
  const char *const *path;
  hvb_pick_kind kind;
  const char *raw; /* HVB_PICK_STRING: the bytes between the quotes, escapes as they are */
  size_t raw_len;
  bool escaped;    /* raw holds a backslash: decode it before use */
} hvb_json_pick;

/* Scan `len` bytes; fill each target's result. False: not sure (see above), the targets'
 * results are meaningless and the caller should parse with json-c instead. */
bool hvb__json_pick(const char *doc, size_t len, hvb_json_pick *targets, size_t n_targets);

/* Unescape a string target's raw bytes into `out` (room for raw_len bytes is always enough:
 * unescaping never grows). Sets *out_len. False on a surrogate or a malformed escape. */
bool hvb__json_pick_decode(const char *raw, size_t raw_len, char *out, size_t *out_len);

#endif
