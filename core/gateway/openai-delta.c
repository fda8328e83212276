/* core/gateway/openai-delta.c: a chunk's text delta, fast path and json-c (see openai-delta.h). */
#include "gateway/openai-delta.h"
#include "text/json-pick.h"

#include <json-c/json.h>
#include <string.h>

static const char *const p_error[] = {"error", NULL};
static const char *const p_content[] = {"choices", "[0]", "delta", "content", NULL};
static const char *const p_calls[] = {"choices", "[0]", "delta", "tool_calls", NULL};
static const char *const p_second[] = {"choices", "[1]", NULL};

enum { T_ERROR, T_CONTENT, T_CALLS, T_SECOND, T_COUNT };

hvb_delta_kind hvb__openai_chunk_text_fast(const char *data, size_t len, char *out,
                                           size_t *out_len) {
  hvb_json_pick t[T_COUNT] = {
      [T_ERROR] = {.path = p_error},
      [T_CONTENT] = {.path = p_content},
      [T_CALLS] = {.path = p_calls},
      [T_SECOND] = {.path = p_second},
  };
  *out_len = 0;
  if (!hvb__json_pick(data, len, t, T_COUNT)) return HVB_DELTA_SLOW;
  if (t[T_ERROR].kind != HVB_PICK_ABSENT || t[T_SECOND].kind != HVB_PICK_ABSENT ||
      (t[T_CALLS].kind != HVB_PICK_ABSENT && t[T_CALLS].kind != HVB_PICK_NULL))
    return HVB_DELTA_SLOW;
  const hvb_json_pick *c = &t[T_CONTENT];
  if (c->kind == HVB_PICK_ABSENT || c->kind == HVB_PICK_NULL) return HVB_DELTA_NONE;
  if (c->kind != HVB_PICK_STRING) return HVB_DELTA_SLOW;
  if (!c->escaped) {
    memcpy(out, c->raw, c->raw_len);
    *out_len = c->raw_len;
    return HVB_DELTA_TEXT;
  }
  return hvb__json_pick_decode(c->raw, c->raw_len, out, out_len) ? HVB_DELTA_TEXT
                                                                 : HVB_DELTA_SLOW;
}

/* A member, NULL when absent or the holder is not an object. */
static json_object *get(json_object *obj, const char *key) {
  json_object *v = NULL;
  return json_object_is_type(obj, json_type_object) && json_object_object_get_ex(obj, key, &v)
             ? v
             : NULL;
}

hvb_delta_kind hvb__openai_chunk_text_slow(const char *data, size_t len, char *out,
                                           size_t *out_len) {
  *out_len = 0;
  json_tokener *tok = json_tokener_new();
  if (!tok) return HVB_DELTA_INVALID;
  json_object *chunk = json_tokener_parse_ex(tok, data, (int)len);
  size_t end = json_tokener_get_parse_end(tok);
  while (end < len && data[end] && strchr(" \t\r\n", data[end])) end++;
  bool whole = chunk && json_tokener_get_error(tok) == json_tokener_success && end == len;
  json_tokener_free(tok);
  if (!whole) {
    json_object_put(chunk);
    return HVB_DELTA_INVALID;
  }
  json_object *choices = get(chunk, "choices");
  json_object *first = json_object_is_type(choices, json_type_array)
                           ? json_object_array_get_idx(choices, 0)
                           : NULL;
  json_object *content = get(get(first, "delta"), "content");
  hvb_delta_kind kind = HVB_DELTA_NONE;
  if (json_object_is_type(content, json_type_string)) {
    *out_len = (size_t)json_object_get_string_len(content);
    if (*out_len > len) *out_len = len; /* cannot happen: unescaping never grows */
    memcpy(out, json_object_get_string(content), *out_len);
    kind = HVB_DELTA_TEXT;
  }
  json_object_put(chunk);
  return kind;
}

hvb_delta_kind hvb__openai_chunk_delta(const char *data, size_t len, char *out, size_t *out_len) {
  hvb_delta_kind k = hvb__openai_chunk_text_fast(data, len, out, out_len);
  return k == HVB_DELTA_SLOW ? hvb__openai_chunk_text_slow(data, len, out, out_len) : k;
}
