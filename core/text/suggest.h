/* core/text/suggest.h: "did you mean" (core/text/suggest.c). */
#ifndef HVB_TEXT_SUGGEST_H
#define HVB_TEXT_SUGGEST_H

#include <json-c/json.h>
#include "base/common.h"

/* ---- suggestions (core/suggest.c) ---- */

/* The key of `candidates` (a JSON object) closest to `name` by edit distance (ASCII case
 * ignored), or NULL when none is close enough (distance > max(2, len/3)). Borrowed. */
const char *hvb__suggest(const char *name, json_object *candidates);

#endif
