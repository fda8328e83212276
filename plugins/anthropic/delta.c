/* plugins/anthropic/delta.c: an event's text delta, fast path and json-c (see delta.h). */
#include "delta.h"
#include "text/json-pick.h"

#include <json-c/json.h>
#include <string.h>

static const char *const p_type[] = {"type", NULL};
static const char *const p_delta_type[] = {"delta", "type", NULL};
static const char *const p_text[] = {"delta", "text", NULL};

enum { T_TYPE, T_DELTA_TYPE, T_TEXT, T_COUNT };

/* Event types that never carry text. */
static const char *const quiet[] = {"message_start", "content_block_start", "content_block_stop",
                                    "message_delta", "message_stop",        "ping"};

static bool pick_is(const hvb_json_pick *t, const char *s) {
  return t->kind == HVB_PICK_STRING && !t->escaped && t->raw_len == strlen(s) &&
         memcmp(t->raw, s, t->raw_len) == 0;
}

anthropic_delta_kind anthropic_event_text_fast(const char *data, size_t len, char *out,
                                               size_t *out_len) {
  hvb_json_pick t[T_COUNT] = {
      [T_TYPE] = {.path = p_type},
      [T_DELTA_TYPE] = {.path = p_delta_type},
      [T_TEXT] = {.path = p_text},
  };
  *out_len = 0;
  if (!hvb__json_pick(data, len, t, T_COUNT)) return ANTHROPIC_DELTA_SLOW;
  if (!pick_is(&t[T_TYPE], "content_block_delta")) {
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
      if (pick_is(&t[T_TYPE], quiet[i])) return ANTHROPIC_DELTA_NONE;
    return ANTHROPIC_DELTA_SLOW;
  }
  const hvb_json_pick *x = &t[T_TEXT];
  if (!pick_is(&t[T_DELTA_TYPE], "text_delta") || x->kind != HVB_PICK_STRING)
    return ANTHROPIC_DELTA_SLOW;
  if (!x->escaped) {
    memcpy(out, x->raw, x->raw_len);
    *out_len = x->raw_len;
    return ANTHROPIC_DELTA_TEXT;
  }
  return hvb__json_pick_decode(x->raw, x->raw_len, out, out_len) ? ANTHROPIC_DELTA_TEXT
                                                                 : ANTHROPIC_DELTA_SLOW;
}

static const char *str_of(json_object *obj, const char *key) {
  json_object *v = NULL;
  if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

anthropic_delta_kind anthropic_event_text_slow(const char *data, size_t len, char *out,
                                               size_t *out_len) {
  *out_len = 0;
  json_tokener *tok = json_tokener_new();
  if (!tok) return ANTHROPIC_DELTA_INVALID;
  json_object *ev = json_tokener_parse_ex(tok, data, (int)len);
  size_t end = json_tokener_get_parse_end(tok);
  while (end < len && data[end] && strchr(" \t\r\n", data[end])) end++;
  bool whole = ev && json_tokener_get_error(tok) == json_tokener_success && end == len;
  json_tokener_free(tok);
  if (!whole) {
    json_object_put(ev);
    return ANTHROPIC_DELTA_INVALID;
  }
  anthropic_delta_kind kind = ANTHROPIC_DELTA_NONE;
  json_object *delta = NULL;
  const char *type = str_of(ev, "type");
  if (type && strcmp(type, "content_block_delta") == 0 &&
      json_object_object_get_ex(ev, "delta", &delta)) {
    const char *dt = str_of(delta, "type");
    json_object *text = NULL;
    if (dt && strcmp(dt, "text_delta") == 0 && json_object_object_get_ex(delta, "text", &text) &&
        json_object_is_type(text, json_type_string)) {
      *out_len = (size_t)json_object_get_string_len(text);
      if (*out_len > len) *out_len = len; /* cannot happen: unescaping never grows */
      memcpy(out, json_object_get_string(text), *out_len);
      kind = ANTHROPIC_DELTA_TEXT;
    }
  }
  json_object_put(ev);
  return kind;
}

anthropic_delta_kind anthropic_event_delta(const char *data, size_t len, char *out,
                                           size_t *out_len) {
  anthropic_delta_kind k = anthropic_event_text_fast(data, len, out, out_len);
  return k == ANTHROPIC_DELTA_SLOW ? anthropic_event_text_slow(data, len, out, out_len) : k;
}
