/* core/call/cache-codec.h: chat results as response-cache values, and back
 * (core/call/cache-codec.c). Thread-safe (pure functions). */
#ifndef HVB_CALL_CACHE_CODEC_H
#define HVB_CALL_CACHE_CODEC_H

#include <glib.h>
#include <json-c/json.h>
#include <heavenbase/llm.h>

/* The cache value of a complete result (see core/call/cache-codec.c for the format). New GBytes. */
GBytes *hvb__chat_cache_encode(const hvb_result *r);

/* The public deltas of a cached value (new array, its elements read-only: each is replayed
 * by hvb__accum_replay, which shares it), and in *raw the stored raw payload (new
 * reference) or NULL. NULL, with a warning in the log, for a value this version cannot read:
 * not the format, another version, or a delta the accumulator could not have made (the
 * caller treats it as a miss). One parse of the value; no chunk is made. */
json_object *hvb__chat_cache_decode_deltas(GBytes *value, json_object **raw);

#endif
