/* core/text/json-partial.h: the longest valid prefix of a JSON object that is still being
 * written (a streamed structured reply), closed (core/text/json-partial.c).
 *
 * Pure functions: thread-safe. */
#ifndef HVB_TEXT_JSON_PARTIAL_H
#define HVB_TEXT_JSON_PARTIAL_H

#include <stddef.h>
#include <json-c/json.h>

/* How many bytes of `text` (`len` bytes) end at a point where a closed prefix is a prefix of
 * the final value: not inside a number or a bare literal (a cut "12" could become 123, "tr"
 * is no literal yet), not inside an escape sequence or a UTF-8 character of a string. */
size_t hvb__json_partial_cut(const char *text, size_t len);

/* The value `text` so far holds, closed: open strings, arrays and objects are closed and a
 * member cut before its value is dropped (the repair scanner of core/text/repair.c does it).
 * New reference, or NULL when no object can be made yet (nothing but prose, a fence, or a
 * value that is not an object). */
json_object *hvb__json_partial(const char *text, size_t len);

#endif
