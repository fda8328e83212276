/* core/call/cache-codec.c: chat results as cache values, and back.
 *
 * A value is compact JSON:
 *   {"v": 1, "text", "think", "finish_reason", "tool_calls"?, "usage"?, "deltas": [...],
 *    "raw"?}
 * The normalized fields make an entry readable on its own; "deltas" are the public deltas as
 * the live call delivered them, so a replay hands a stream the same deltas (and a chat the
 * same result) by folding them back into the accumulator as they are (hvb__accum_replay). "raw"
 * is kept only when it is small: a cached result has no raw payload otherwise.
 */
#include "text/json.h"
#include "call/cache-codec.h"
#include "base/log.h"

#include <string.h>

#define CACHE_VALUE_VERSION 1
#define MAX_RAW_BYTES (64u << 10)

static void add_copy(json_object *obj, const char *key, json_object *val) {
  if (val) json_object_object_add(obj, key, hvb__json_copy(val));
}

GBytes *hvb__chat_cache_encode(const hvb_result *r) {
  json_object *v = json_object_new_object();
  json_object_object_add(v, "v", json_object_new_int(CACHE_VALUE_VERSION));
  json_object_object_add(v, "text", json_object_new_string(hvb_result_text(r)));
  json_object_object_add(v, "think", json_object_new_string(hvb_result_think(r)));
  json_object_object_add(v, "finish_reason", json_object_new_string(hvb_result_finish_reason(r)));
  add_copy(v, "tool_calls", hvb_result_tool_calls(r));
  add_copy(v, "usage", hvb_result_usage(r));
  add_copy(v, "deltas", hvb_result_deltas(r));
  json_object *raw = hvb_result_raw(r);
  if (raw) {
    size_t len = 0;
    json_object_to_json_string_length(raw, JSON_C_TO_STRING_PLAIN, &len);
    if (len <= MAX_RAW_BYTES) json_object_object_add(v, "raw", json_object_get(raw));
  }
  size_t len = 0;
  const char *text = json_object_to_json_string_length(
      v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  GBytes *out = g_bytes_new(text, len);
  json_object_put(v);
  return out;
}

/* Is `v` a member value a live public delta can hold (see hvb__accum_feed)? */
static bool delta_member_ok(const char *key, json_object *v) {
  if (!strcmp(key, "text") || !strcmp(key, "think") || !strcmp(key, "finish_reason"))
    return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0;
  if (!strcmp(key, "tool_calls"))
    return json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0;
  if (!strcmp(key, "usage")) return json_object_is_type(v, json_type_object);
  return false;
}

/* Every delta is one the accumulator could have made: a non-empty object of known members of
 * the right types. Anything else is a damaged or foreign entry. */
static bool deltas_ok(json_object *deltas) {
  for (size_t i = 0; i < json_object_array_length(deltas); i++) {
    json_object *d = json_object_array_get_idx(deltas, i);
    if (!json_object_is_type(d, json_type_object) || json_object_object_length(d) == 0)
      return false;
    json_object_object_foreach(d, key, val) {
      if (!delta_member_ok(key, val)) return false;
    }
  }
  return true;
}

json_object *hvb__chat_cache_decode_deltas(GBytes *value, json_object **raw) {
  *raw = NULL;
  gsize len = 0;
  const char *data = value ? g_bytes_get_data(value, &len) : NULL;
  json_object *v = data ? hvb__json_parse(data, (long)len, "cache entry", NULL) : NULL;
  json_object *deltas = json_object_object_get(v, "deltas");
  json_object *ver = json_object_object_get(v, "v");
  if (!json_object_is_type(deltas, json_type_array) || !json_object_is_type(ver, json_type_int) ||
      json_object_get_int(ver) != CACHE_VALUE_VERSION || !deltas_ok(deltas)) {
    hvb__log(HVB_LOG_WARN, "cache: a text entry is not in a format this version reads; ignored");
    json_object_put(v);
    return NULL;
  }
  /* The entry's other members (text, tool_calls, usage...) are what the deltas add up to:
   * they make an entry readable on its own, and a replay need not read them. */
  json_object_get(deltas);
  json_object *r = json_object_object_get(v, "raw");
  if (r) *raw = json_object_get(r);
  json_object_put(v);
  return deltas;
}
