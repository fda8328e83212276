/* core/call/cache-codec.h: chat results as response-cache values, and back
 * (core/call/cache-codec.c). Thread-safe (pure functions). */
#ifndef HVB_CALL_CACHE_CODEC_H
#define HVB_CALL_CACHE_CODEC_H

#include <glib.h>
#include <json-c/json.h>
#include <heavenbase/llm.h>

/* The cache value of a complete result (see core/call/cache-codec.c for the format). New GBytes. */
GBytes *hvb__chat_cache_encode(const hvb_result *r);

/* The canonical chunks that replay a cached value through an accumulator (new array), and
 * in *raw the stored raw payload (new reference) or NULL. NULL, with a warning in the log,
 * for a value this version cannot read (the caller treats it as a miss). */
json_object *hvb__chat_cache_decode(GBytes *value, json_object **raw);

#endif
