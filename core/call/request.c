/* core/call/request.c: the canonical request of a chat call: messages validation, the
 * system prompt, the merge of the spec's arguments with the call's. */
#include "call/request.h"
#include "call/image.h"
#include "config/options.h"
#include "text/json.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

bool hvb__messages_validate(json_object *messages, hvb_error *err) {
  if (!json_object_is_type(messages, json_type_array))
    return hvb__fail(err, HVB_EINVAL, "messages must be a JSON array of message objects");
  size_t n = json_object_array_length(messages);
  if (n == 0) return hvb__fail(err, HVB_EINVAL, "messages is empty (give at least one message)");
  for (size_t i = 0; i < n; i++) {
    json_object *m = json_object_array_get_idx(messages, i);
    if (!json_object_is_type(m, json_type_object))
      return hvb__fail(err, HVB_EINVAL, "messages[%zu] must be an object with a 'role'", i);
    json_object *role = NULL;
    if (!json_object_object_get_ex(m, "role", &role))
      return hvb__fail(err, HVB_EINVAL, "messages[%zu].role is missing", i);
    if (!json_object_is_type(role, json_type_string))
      return hvb__fail(err, HVB_EINVAL, "messages[%zu].role must be a string", i);
  }
  return true;
}

static json_object *message_new(const char *role, const char *content) {
  json_object *m = json_object_new_object();
  json_object_object_add(m, "role", json_object_new_string(role));
  json_object_object_add(m, "content", json_object_new_string(content));
  return m;
}

/* The messages of the request (new array): the system prompt, then `messages` (validated,
 * copied) or `prompt` as one user message, with the "images" option's parts attached. */
static json_object *request_messages(const char *prompt, json_object *messages,
                                     const char *system, json_object *images, hvb_error *err) {
  if (messages && !hvb__messages_validate(messages, err)) return NULL;
  json_object *msgs = json_object_new_array();
  if (system) json_object_array_add(msgs, message_new("system", system));
  if (messages) {
    for (size_t i = 0; i < json_object_array_length(messages); i++)
      json_object_array_add(msgs, hvb__json_copy(json_object_array_get_idx(messages, i)));
  } else {
    json_object_array_add(msgs, message_new("user", prompt ? prompt : ""));
  }
  if (!hvb__images_attach(msgs, images, err)) {
    json_object_put(msgs);
    return NULL;
  }
  return msgs;
}

/* The texts of the request must be UTF-8 (a provider answers raw bytes with an error, or
 * worse, guesses): refused naming the message and the byte, or, with the call option
 * invalid_utf8 "replace", repaired with U+FFFD. */
static bool texts_check(json_object *msgs, json_object *call_options, bool from_messages,
                        bool has_system, hvb_error *err) {
  const char *mode = hvb__json_str(call_options, "invalid_utf8");
  bool replace = mode && !strcmp(mode, "replace");
  for (size_t i = 0, n = json_object_array_length(msgs); i < n; i++) {
    char *what = from_messages ? g_strdup_printf("messages[%zu]", i - (has_system ? 1 : 0))
                               : g_strdup("the prompt");
    if (has_system && i == 0) {
      g_free(what);
      what = g_strdup("the system prompt");
    }
    bool ok = hvb__json_utf8_check(json_object_array_get_idx(msgs, i), replace, what, err);
    g_free(what);
    if (!ok) return false;
  }
  return true;
}

json_object *hvb__request_build(const hvb_spec *spec, const char *prompt, json_object *messages,
                                json_object *call_options, bool force_stream, hvb_error *err) {
  if (call_options && !json_object_is_type(call_options, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "call options must be a JSON object");
    return NULL;
  }
  if (!hvb__options_check(call_options, HVB__SCOPE_CALL, err)) return NULL;
  const char *system = NULL;
  json_object *images = NULL; /* borrowed: the "images" call option (core/call/image.c) */
  bool stream = force_stream;
  /* Only made when there are call options (most calls have none). */
  json_object *args = call_options ? json_object_new_object() : NULL;
  json_object *top = call_options ? json_object_new_object() : NULL; /* unknown keys: they win
                                                                        over "args" */
  if (call_options) {
    json_object_object_foreach(call_options, key, val) {
      if (strcmp(key, "system") == 0) {
        if (json_object_is_type(val, json_type_null)) continue;
        if (!json_object_is_type(val, json_type_string)) goto bad_type;
        system = json_object_get_string(val);
      } else if (strcmp(key, "stream") == 0) {
        if (json_object_is_type(val, json_type_null)) continue;
        if (!json_object_is_type(val, json_type_boolean)) goto bad_type;
        stream = stream || json_object_get_boolean(val);
      } else if (strcmp(key, "images") == 0) {
        images = val; /* image_url parts for the last user message, not an argument */
      } else if (strcmp(key, "args") == 0) {
        if (json_object_is_type(val, json_type_null)) continue;
        if (!json_object_is_type(val, json_type_object)) goto bad_type;
        hvb__json_merge(args, val);
      } else if (!hvb__option_is_library(key)) {
        /* Library options (core/config/options.c) steer the pipeline, never the provider. */
        json_object_object_add(top, key, hvb__json_copy(val));
      }
      continue;
    bad_type:
      hvb__fail(err, HVB_EINVAL, "call option '%s' must be %s", key,
                strcmp(key, "system") == 0   ? "a string"
                : strcmp(key, "stream") == 0 ? "a boolean"
                                             : "a JSON object");
      json_object_put(args);
      json_object_put(top);
      return NULL;
    }
  }
  if (top) hvb__json_merge(args, top);
  json_object_put(top);

  json_object *msgs = request_messages(prompt, messages, system, images, err);
  if (msgs && !texts_check(msgs, call_options, messages != NULL, system != NULL, err))
    g_clear_pointer(&msgs, json_object_put);
  if (!msgs) {
    json_object_put(args);
    return NULL;
  }

  /* model and messages first for readable logs and bodies; the spec's arguments, then the
   * call's; then the keys the pipeline owns, which no argument may override. */
  json_object *req = json_object_new_object();
  json_object_object_add(req, "model", json_object_new_string(hvb_spec_model_id(spec)));
  json_object_object_add(req, "messages", NULL);
  hvb__json_merge(req, hvb_spec_args(spec));
  if (args) hvb__json_merge(req, args);
  json_object_put(args);
  json_object_object_add(req, "model", json_object_new_string(hvb_spec_model_id(spec)));
  json_object_object_add(req, "messages", msgs);
  json_object_object_add(req, "stream", json_object_new_boolean(stream));
  return req;
}
