/* plugins/anthropic/json-util.h: the small json-c helpers the request translation
 * (translate.c) and the reply parsing (reply.c) share. Pure functions, any thread. */
#ifndef HB_ANTHROPIC_JSON_UTIL_H
#define HB_ANTHROPIC_JSON_UTIL_H

#include <heavenbase/gateway.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small JSON helpers ---- */

/* Member `key` unless absent or JSON null (borrowed). */
static inline json_object *member(json_object *obj, const char *key) {
  json_object *v = NULL;
  if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v))
    return NULL;
  return json_object_is_type(v, json_type_null) ? NULL : v;
}

/* String member `key`, NULL when absent or not a string (borrowed). */
static inline const char *str_member(json_object *obj, const char *key) {
  json_object *v = member(obj, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Length of an array, 0 for anything else (json-c asserts on a non-array). */
static inline size_t alen(json_object *v) {
  return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

/* Number of members of an object, 0 for anything else. */
static inline size_t olen(json_object *v) {
  return json_object_is_type(v, json_type_object) ? (size_t)json_object_object_length(v) : 0;
}

static inline bool str_eq(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

static inline bool is_number(json_object *v) {
  return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* An integer value: a JSON integer, or a double without fraction (JavaScript clients send
 * 1024.0). */
static inline bool int_value(json_object *v, int64_t *out) {
  if (json_object_is_type(v, json_type_int)) {
    *out = json_object_get_int64(v);
    return true;
  }
  if (json_object_is_type(v, json_type_double)) {
    double d = json_object_get_double(v);
    if (d >= -9e15 && d <= 9e15 && d == (double)(int64_t)d) {
      *out = (int64_t)d;
      return true;
    }
  }
  return false;
}

/* A new object with the members of `obj` (values shared, not copied): something to extend
 * without touching the borrowed canonical request. */
static inline json_object *shallow_copy(json_object *obj) {
  json_object *out = json_object_new_object();
  if (json_object_is_type(obj, json_type_object)) {
    json_object_object_foreach(obj, k, v) json_object_object_add(out, k, json_object_get(v));
  }
  return out;
}

/* Parse `len` bytes as exactly one JSON value (trailing whitespace allowed, anything else is
 * not: json_tokener_parse would ignore it). New reference, NULL when not. */
static inline json_object *parse_whole(const char *text, size_t len) {
  if (len > INT32_MAX) return NULL;
  json_tokener *tok = json_tokener_new();
  if (!tok) return NULL;
  json_object *v = json_tokener_parse_ex(tok, text, (int)len);
  bool ok = json_tokener_get_error(tok) == json_tokener_success;
  size_t used = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  while (used < len && (text[used] == ' ' || text[used] == '\t' || text[used] == '\r' ||
                        text[used] == '\n'))
    used++;
  if (!v || !ok || used != len) {
    json_object_put(v);
    return NULL;
  }
  return v;
}

/* Add `arr` (taken) as obj[key] when it has elements; an empty one is dropped (the API refuses
 * empty block lists and stop lists). */
static inline void add_nonempty(json_object *obj, const char *key, json_object *arr) {
  if (alen(arr))
    json_object_object_add(obj, key, arr);
  else
    json_object_put(arr);
}

static inline void add_str(json_object *obj, const char *key, const char *value) {
  json_object_object_add(obj, key, json_object_new_string(value));
}

static inline const char *compact(json_object *v) {
  return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Fill err for an Anthropic error object ({"type", "message"}) found in `where`: HVB_PROVIDER
 * with the provider's message, and its type in err->type. Returns false. */
static inline bool provider_error(json_object *error, const char *where, hvb_error *err) {
  const char *type = str_member(error, "type");
  const char *msg = str_member(error, "message");
  return hvb_gateway_fail_http(err, HVB_PROVIDER, 0, type,
                               "the provider reported an error in %s: %s (%s)", where,
                               msg ? msg : "no message given", type ? type : "no type given");
}

/* ============================================================================================
 * Request
 * ========================================================================================== */

/* Request arguments this file reads itself (response_format: structured.c). */
static const char *const handled_keys[] = {
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
    "stop", "stop_sequences", "stream", "user", "metadata", "tools", "tool_choice",
    "parallel_tool_calls", "reasoning_effort", "think", "thinking", "system", "service_tier",
    "stream_options", "response_format", NULL};

/* Anthropic's own top-level keys with no OpenAI counterpart: a request configured for this
 * gateway may set them, and they go out as given. */
static const char *const native_keys[] = {"cache_control", "container", "inference_geo",
                                          "output_config", NULL};

static inline bool in_list(const char *const *list, const char *key) {
  for (size_t i = 0; list[i]; i++)
    if (strcmp(list[i], key) == 0) return true;
  return false;
}

static inline void note_dropped(json_object *dropped, const char *what) {
  if (json_object_is_type(dropped, json_type_array))
    json_object_array_add(dropped, json_object_new_string(what));
}

#endif
