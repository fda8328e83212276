/* core/api/session-json.c: a session's options, and its state saved as JSON and loaded back.
 *
 * The saved text holds everything a request is built from but the LLM and the tools (code):
 * loading it and sending gives the very request the saved session would have sent.
 */
#include "api/session.h"
#include "text/json.h"
#include "base/common.h"
#include "base/error.h"

#include <string.h>

#define SESSION_FORMAT 1

static bool read_option(hvb_session *s, const char *key, json_object *v, hvb_error *err) {
  if (!strcmp(key, "system")) {
    if (v && !json_object_is_type(v, json_type_string))
      return hvb__fail(err, HVB_EINVAL, "session option 'system' must be a string");
    g_free(s->system);
    s->system = v && json_object_get_string_len(v) ? g_strdup(json_object_get_string(v)) : NULL;
  } else if (!strcmp(key, "context_window")) {
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
      return hvb__fail(err, HVB_EINVAL,
                       "session option 'context_window' must be an integer >= 0 (tokens)");
    s->context_window = (long)json_object_get_int64(v);
  } else if (!strcmp(key, "context_strategy")) {
    const char *v_s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (strcmp(v_s, "drop") && strcmp(v_s, "summarize"))
      return hvb__fail(err, HVB_EINVAL,
                       "session option 'context_strategy' must be \"drop\" or \"summarize\"");
    s->summarize = !strcmp(v_s, "summarize");
  } else if (!strcmp(key, "call_options")) {
    if (!json_object_is_type(v, json_type_object))
      return hvb__fail(err, HVB_EINVAL, "session option 'call_options' must be an object");
    if (json_object_object_get_ex(v, "system", NULL))
      return hvb__fail(err, HVB_EINVAL,
                       "session option 'call_options' must not hold 'system' (use 'system')");
    json_object_put(s->call_options);
    s->call_options = hvb__json_copy(v);
  } else {
    return hvb__fail(err, HVB_EINVAL,
                     "unknown session option '%s' (one of call_options, context_strategy, "
                     "context_window, system)",
                     key);
  }
  return true;
}

bool hvb__session_options(hvb_session *s, json_object *options, hvb_error *err) {
  if (!options) return true;
  if (!json_object_is_type(options, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "session options must be a JSON object");
  json_object_object_foreach(options, key, v) {
    if (!read_option(s, key, v, err)) return false;
  }
  return true;
}

json_object *hvb__session_options_json(const hvb_session *s) {
  json_object *o = json_object_new_object();
  if (s->context_window >= 0)
    json_object_object_add(o, "context_window", json_object_new_int64(s->context_window));
  json_object_object_add(o, "context_strategy",
                         json_object_new_string(s->summarize ? "summarize" : "drop"));
  json_object_object_add(o, "call_options", hvb__json_copy(s->call_options));
  return o;
}

HVB_PUBLIC char *hvb_session_save(const hvb_session *s, hvb_error *err) {
  if (!s) {
    hvb__fail(err, HVB_EINVAL, "session is NULL");
    return NULL;
  }
  if (hvb_session_busy(s)) {
    hvb__fail(err, HVB_EINVAL, "session: save: a turn is in progress");
    return NULL;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "heavenbase_session", json_object_new_int(SESSION_FORMAT));
  json_object_object_add(o, "system", s->system ? json_object_new_string(s->system) : NULL);
  json_object_object_add(o, "messages", hvb__json_copy(s->messages));
  json_object_object_add(o, "options", hvb__session_options_json(s));
  char *text = strdup(json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  if (!text) hvb__fail(err, HVB_ENOMEM, "session: save: out of memory");
  return text;
}

/* The saved messages: an array of objects with a string "role". */
static bool check_messages(json_object *msgs, hvb_error *err) {
  if (!json_object_is_type(msgs, json_type_array))
    return hvb__fail(err, HVB_EINVAL, "session JSON: 'messages' must be an array");
  for (size_t i = 0; i < json_object_array_length(msgs); i++) {
    json_object *m = json_object_array_get_idx(msgs, i);
    if (!json_object_is_type(m, json_type_object) || !hvb__json_str(m, "role"))
      return hvb__fail(err, HVB_EINVAL,
                       "session JSON: messages[%zu] must be an object with a string 'role'", i);
  }
  return true;
}

HVB_PUBLIC hvb_session *hvb_session_load(hvb_llm *llm, const char *json_text, hvb_error *err) {
  if (!json_text) {
    hvb__fail(err, HVB_EINVAL, "session JSON is NULL");
    return NULL;
  }
  json_object *o = hvb__json_parse(json_text, -1, "session JSON", err);
  if (!o) return NULL;
  hvb_session *s = NULL;
  json_object *fmt = json_object_object_get(o, "heavenbase_session");
  json_object *system = json_object_object_get(o, "system");
  json_object *msgs = json_object_object_get(o, "messages");
  if (!json_object_is_type(o, json_type_object) || !json_object_is_type(fmt, json_type_int) ||
      json_object_get_int(fmt) != SESSION_FORMAT)
    hvb__fail(err, HVB_EINVAL,
              "session JSON: 'heavenbase_session' must be %d (not a saved session, or a newer "
              "format)",
              SESSION_FORMAT);
  else if (system && !json_object_is_type(system, json_type_string))
    hvb__fail(err, HVB_EINVAL, "session JSON: 'system' must be a string or null");
  else if (check_messages(msgs, err) &&
           (s = hvb_session_new(llm, json_object_object_get(o, "options"), err))) {
    if (system) {
      g_free(s->system); /* the saved prompt wins over an "options" one */
      s->system = g_strdup(json_object_get_string(system));
    }
    json_object_put(s->messages);
    s->messages = json_object_get(msgs);
  }
  json_object_put(o);
  return s;
}
