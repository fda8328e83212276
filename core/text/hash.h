/* core/text/hash.h: hashing (core/text/hash.c). */
#ifndef HVB_TEXT_HASH_H
#define HVB_TEXT_HASH_H

#include <json-c/json.h>
#include "base/common.h"

/* ---- hashing (core/hash.c) ---- */

/* SHA-256 of hvb__json_canonical(obj), 64 lowercase hex digits, new string (g_free). */
char *hvb__hash_json(json_object *obj);

/* SHA-256 of `len` bytes of `text`, 64 lowercase hex digits, new string (g_free). */
char *hvb__hash_text(const char *text, size_t len);

#endif
