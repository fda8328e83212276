/* core/gateway/openai-shape.c: the JSON type checks of OpenAI replies (see openai-shape.h).
 *
 * A walk keeps the path of the member being looked at ("choices[0].delta.tool_calls[1]"), so
 * that the first wrong member is named as a user would find it in the reply. Absent and null
 * are the same to the readers (json-c gives NULL for both), so a member that may be null may
 * also be absent; a member that may not be null is "missing" when absent.
 */
#include "gateway/openai-shape.h"
#include "base/common.h"
#include "base/error.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>

enum {
  T_NULL = 1u << 0,
  T_BOOL = 1u << 1,
  T_INT = 1u << 2,
  T_DOUBLE = 1u << 3,
  T_OBJECT = 1u << 4,
  T_ARRAY = 1u << 5,
  T_STRING = 1u << 6,
};
#define T_NUMBER (T_INT | T_DOUBLE)

typedef struct walk {
  hvb_error *err;
  char path[192];
  size_t len;
} walk;

static unsigned type_bit(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: return T_NULL;
  case json_type_boolean: return T_BOOL;
  case json_type_int: return T_INT;
  case json_type_double: return T_DOUBLE;
  case json_type_object: return T_OBJECT;
  case json_type_array: return T_ARRAY;
  case json_type_string: return T_STRING;
  }
  return 0;
}

static const char *type_phrase(json_object *v) {
  switch (type_bit(v)) {
  case T_BOOL: return "a boolean";
  case T_INT: return "an integer";
  case T_DOUBLE: return "a number";
  case T_OBJECT: return "an object";
  case T_ARRAY: return "an array";
  case T_STRING: return "a string";
  default: return "null";
  }
}

/* "a string or null", "an array", "a number"... into buf. */
static const char *want_phrase(unsigned want, char *buf, size_t size) {
  const char *names[6];
  size_t n = 0;
  if (want & T_STRING) names[n++] = "a string";
  if ((want & T_NUMBER) == T_NUMBER) names[n++] = "a number";
  else if (want & T_INT) names[n++] = "an integer";
  if (want & T_BOOL) names[n++] = "a boolean";
  if (want & T_OBJECT) names[n++] = "an object";
  if (want & T_ARRAY) names[n++] = "an array";
  if (want & T_NULL) names[n++] = "null";
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    g_strlcat(buf, i == 0 ? "" : i + 1 == n ? " or " : ", ", size);
    g_strlcat(buf, names[i], size);
  }
  return buf;
}

static size_t enter(walk *w, const char *fmt, ...) HVB_PRINTF(2, 3);
static size_t enter(walk *w, const char *fmt, ...) {
  size_t at = w->len;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(w->path + w->len, sizeof w->path - w->len, fmt, ap);
  va_end(ap);
  if (n > 0) w->len = MIN(w->len + (size_t)n, sizeof w->path - 1);
  return at;
}

static size_t enter_key(walk *w, const char *key) {
  return enter(w, w->len ? ".%s" : "%s", key);
}

static void leave(walk *w, size_t at) {
  w->len = at;
  w->path[at] = '\0';
}

static bool wrong(walk *w, json_object *v, unsigned want) {
  char buf[64];
  hvb__fail(w->err, HVB_PARSE, "%s: expected %s, got %s", w->path, want_phrase(want, buf, sizeof buf),
            type_phrase(v));
  return false;
}

/* The value at the walk's path checked against `want`. */
static bool value_ok(walk *w, json_object *v, unsigned want) {
  return (type_bit(v) & want) ? true : wrong(w, v, want);
}

/* obj's member `key` checked against `want`; its value (NULL: absent or null) in *out. */
static bool member(walk *w, json_object *obj, const char *key, unsigned want, json_object **out) {
  json_object *v = NULL;
  bool present = json_object_object_get_ex(obj, key, &v);
  if (out) *out = v;
  if (!present && (want & T_NULL)) return true;
  size_t at = enter_key(w, key);
  if (!present) {
    char buf[64];
    hvb__fail(w->err, HVB_PARSE, "%s: missing (expected %s)", w->path,
              want_phrase(want, buf, sizeof buf));
    return false;
  }
  if (!value_ok(w, v, want)) return false;
  leave(w, at);
  return true;
}

/* Members that must each be a string or null. */
static bool strings_or_null(walk *w, json_object *obj, const char *const *keys) {
  for (; *keys; keys++)
    if (!member(w, obj, *keys, T_STRING | T_NULL, NULL)) return false;
  return true;
}

static bool usage_ok(walk *w, json_object *holder) {
  json_object *u = NULL;
  if (!member(w, holder, "usage", T_OBJECT | T_NULL, &u)) return false;
  if (!u) return true;
  size_t at = enter_key(w, "usage");
  static const char *const counts[] = {"prompt_tokens", "completion_tokens", "total_tokens"};
  for (size_t i = 0; i < G_N_ELEMENTS(counts); i++)
    if (!member(w, u, counts[i], T_NUMBER | T_NULL, NULL)) return false;
  static const char *const details[] = {"prompt_tokens_details", "completion_tokens_details"};
  for (size_t i = 0; i < G_N_ELEMENTS(details); i++)
    if (!member(w, u, details[i], T_OBJECT | T_NULL, NULL)) return false;
  leave(w, at);
  return true;
}

/* holder.tool_calls: whole calls in a message, fragments in a delta (which may leave the
 * function or its name out: a later fragment brings them). */
static bool tool_calls_ok(walk *w, json_object *holder, bool fragments) {
  json_object *calls = NULL;
  if (!member(w, holder, "tool_calls", T_ARRAY | T_NULL, &calls)) return false;
  size_t at = enter_key(w, "tool_calls");
  for (size_t i = 0; calls && i < json_object_array_length(calls); i++) {
    json_object *call = json_object_array_get_idx(calls, i), *fn = NULL;
    size_t at_call = enter(w, "[%zu]", i);
    static const char *const labels[] = {"id", "type", NULL};
    if (!value_ok(w, call, T_OBJECT) || !member(w, call, "index", T_INT | T_NULL, NULL) ||
        !strings_or_null(w, call, labels) ||
        !member(w, call, "function", fragments ? T_OBJECT | T_NULL : T_OBJECT, &fn))
      return false;
    if (fn) {
      size_t at_fn = enter_key(w, "function");
      if (!member(w, fn, "name", fragments ? T_STRING | T_NULL : T_STRING, NULL) ||
          !member(w, fn, "arguments", T_STRING | T_NULL, NULL))
        return false;
      leave(w, at_fn);
    }
    leave(w, at_call);
  }
  leave(w, at);
  return true;
}

/* A message's content: a string, null (a turn of tool calls only), or text parts. */
static bool content_ok(walk *w, json_object *message) {
  json_object *content = NULL;
  if (!member(w, message, "content", T_STRING | T_ARRAY | T_NULL, &content)) return false;
  if (!json_object_is_type(content, json_type_array)) return true;
  size_t at = enter_key(w, "content");
  for (size_t i = 0; i < json_object_array_length(content); i++) {
    json_object *part = json_object_array_get_idx(content, i);
    size_t at_part = enter(w, "[%zu]", i);
    if (!value_ok(w, part, T_OBJECT) || !member(w, part, "text", T_STRING | T_NULL, NULL))
      return false;
    leave(w, at_part);
  }
  leave(w, at);
  return true;
}

static const char *const message_strings[] = {"role", "reasoning_content", "reasoning", NULL};

/* One choice: its message (whole, `delta` false) or its delta. */
static bool choice_ok(walk *w, json_object *choice, bool delta) {
  json_object *m = NULL;
  const char *part = delta ? "delta" : "message";
  if (!value_ok(w, choice, T_OBJECT) || !member(w, choice, "index", T_INT | T_NULL, NULL) ||
      !member(w, choice, "finish_reason", T_STRING | T_NULL, NULL) ||
      !member(w, choice, part, delta ? T_OBJECT | T_NULL : T_OBJECT, &m))
    return false;
  if (!m) return true;
  size_t at = enter_key(w, part);
  if (!strings_or_null(w, m, message_strings)) return false;
  if (delta ? !member(w, m, "content", T_STRING | T_NULL, NULL) : !content_ok(w, m)) return false;
  if (!tool_calls_ok(w, m, delta)) return false;
  leave(w, at);
  return true;
}

static bool choices_ok(walk *w, json_object *body, bool delta) {
  json_object *choices = NULL;
  if (!member(w, body, "choices", delta ? T_ARRAY | T_NULL : T_ARRAY, &choices)) return false;
  if (!delta && json_object_array_length(choices) == 0)
    return hvb__fail(w->err, HVB_PARSE, "choices: an empty array (a choice is needed)");
  size_t at = enter_key(w, "choices");
  for (size_t i = 0; choices && i < json_object_array_length(choices); i++) {
    size_t at_choice = enter(w, "[%zu]", i);
    if (!choice_ok(w, json_object_array_get_idx(choices, i), delta)) return false;
    leave(w, at_choice);
  }
  leave(w, at);
  return true;
}

bool hvb__openai_shape_completion(json_object *body, hvb_error *err) {
  walk w = {.err = err};
  if (!value_ok(&w, body, T_OBJECT)) return false;
  return choices_ok(&w, body, false) && usage_ok(&w, body);
}

bool hvb__openai_shape_chunk(json_object *chunk, hvb_error *err) {
  walk w = {.err = err};
  if (!value_ok(&w, chunk, T_OBJECT)) return false;
  return choices_ok(&w, chunk, true) && usage_ok(&w, chunk);
}

bool hvb__openai_shape_embeddings(json_object *body, hvb_error *err) {
  walk w = {.err = err};
  json_object *data = NULL;
  if (!value_ok(&w, body, T_OBJECT) || !member(&w, body, "data", T_ARRAY, &data)) return false;
  size_t at = enter_key(&w, "data");
  for (size_t i = 0; i < json_object_array_length(data); i++) {
    json_object *item = json_object_array_get_idx(data, i), *vec = NULL;
    size_t at_item = enter(&w, "[%zu]", i);
    if (!value_ok(&w, item, T_OBJECT) || !member(&w, item, "index", T_INT | T_NULL, NULL) ||
        !member(&w, item, "embedding", T_ARRAY, &vec))
      return false;
    for (size_t j = 0; j < json_object_array_length(vec); j++) {
      size_t at_x = enter(&w, ".embedding[%zu]", j);
      if (!value_ok(&w, json_object_array_get_idx(vec, j), T_NUMBER)) return false;
      leave(&w, at_x);
    }
    leave(&w, at_item);
  }
  leave(&w, at);
  return usage_ok(&w, body);
}

bool hvb__openai_shape_images(json_object *body, hvb_error *err) {
  walk w = {.err = err};
  json_object *data = NULL;
  if (!value_ok(&w, body, T_OBJECT) || !member(&w, body, "data", T_ARRAY, &data)) return false;
  if (json_object_array_length(data) == 0)
    return hvb__fail(err, HVB_PARSE, "data: an empty array (an image is needed)");
  size_t at = enter_key(&w, "data");
  for (size_t i = 0; i < json_object_array_length(data); i++) {
    json_object *img = json_object_array_get_idx(data, i), *b64 = NULL, *url = NULL;
    size_t at_img = enter(&w, "[%zu]", i);
    if (!value_ok(&w, img, T_OBJECT) || !member(&w, img, "b64_json", T_STRING | T_NULL, &b64) ||
        !member(&w, img, "url", T_STRING | T_NULL, &url) ||
        !member(&w, img, "revised_prompt", T_STRING | T_NULL, NULL))
      return false;
    if (!b64 && !url)
      return hvb__fail(err, HVB_PARSE, "%s: has neither 'b64_json' nor 'url'", w.path);
    leave(&w, at_img);
  }
  leave(&w, at);
  return true;
}
