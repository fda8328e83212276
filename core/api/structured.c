/* core/api/structured.c: the public helpers of include/heavenbase/structured.h, and asking
 * again when a structured reply failed its schema (the checking itself is the pipeline's
 * stage, core/call/stage-structured.c). */
#include "api/chat.h"
#include "call/result.h"
#include "text/json.h"
#include "base/common.h"
#include "base/error.h"
#include "base/log.h"

#include <heavenbase/structured.h>

#include <glib.h>
#include <string.h>

#define DEFAULT_RETRIES 1

/* OpenAI's rule for the name: 1 to 64 of a-z, A-Z, 0-9, '_' and '-'. */
static bool name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n < 1 || n > 64) return false;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum(name[i]) && name[i] != '_' && name[i] != '-') return false;
  return true;
}

HVB_PUBLIC json_object *hvb_response_format_new(const char *name, json_object *schema,
                                                bool strict, hvb_error *err) {
  json_object *rf = json_object_new_object();
  if (!schema) {
    json_object_object_add(rf, "type", json_object_new_string("json_object"));
    return rf;
  }
  if (!json_object_is_type(schema, json_type_object) || !name_ok(name)) {
    json_object_put(rf);
    if (!name_ok(name))
      hvb__fail(err, HVB_EINVAL, "schema name '%s' must be 1 to 64 letters, digits, '_' or '-'",
                name ? name : "(null)");
    else
      hvb__fail(err, HVB_EINVAL, "schema '%s' must be a JSON object, not %s", name,
                hvb__json_type_phrase(schema));
    return NULL;
  }
  json_object *js = json_object_new_object();
  json_object_object_add(js, "name", json_object_new_string(name));
  json_object_object_add(js, "schema", hvb__json_copy(schema));
  json_object_object_add(js, "strict", json_object_new_boolean(strict));
  json_object_object_add(rf, "type", json_object_new_string("json_schema"));
  json_object_object_add(rf, "json_schema", js);
  return rf;
}

HVB_PUBLIC json_object *hvb_response_format_new_text(const char *name, const char *schema_json,
                                                     bool strict, hvb_error *err) {
  if (!schema_json) {
    hvb__fail(err, HVB_EINVAL, "schema text is NULL");
    return NULL;
  }
  hvb_error e = HVB_ERROR_INIT;
  json_object *schema = hvb__json_parse(schema_json, -1, "schema", &e);
  if (!schema) {
    hvb__fail(err, HVB_EINVAL, "schema '%s': %s", name ? name : "(null)", e.message);
    return NULL;
  }
  json_object *rf = hvb_response_format_new(name, schema, strict, err);
  json_object_put(schema);
  return rf;
}

static bool set_format(json_object *call_options, json_object *rf, hvb_error *err) {
  if (!rf) return false;
  if (!json_object_is_type(call_options, json_type_object)) {
    json_object_put(rf);
    return hvb__fail(err, HVB_EINVAL, "call options must be a JSON object");
  }
  json_object_object_add(call_options, "response_format", rf);
  return true;
}

HVB_PUBLIC bool hvb_call_options_set_schema(json_object *call_options, const char *name,
                                            json_object *schema, bool strict, hvb_error *err) {
  return set_format(call_options, hvb_response_format_new(name, schema, strict, err), err);
}

HVB_PUBLIC bool hvb_call_options_set_schema_text(json_object *call_options, const char *name,
                                                 const char *schema_json, bool strict,
                                                 hvb_error *err) {
  return set_format(call_options, hvb_response_format_new_text(name, schema_json, strict, err),
                    err);
}

/* ---- asking again ---- */

/* The options of a request asked again: the conversation already holds the system prompt. */
static json_object *retry_options(json_object *call_options) {
  json_object *o = json_object_is_type(call_options, json_type_object)
                       ? hvb__json_copy(call_options)
                       : json_object_new_object();
  json_object_object_del(o, "system");
  return o;
}

hvb_result *hvb__structured_retry(hvb_llm *llm, json_object *conv, json_object *call_options,
                                  bool runs_tools, const hvb_error *first, hvb_error *err) {
  json_object *n = json_object_object_get(call_options, "structured_retries");
  int retries = json_object_is_type(n, json_type_int) ? json_object_get_int(n) : DEFAULT_RETRIES;
  json_object *errors = json_object_new_array();
  hvb_error last = *first;
  json_object *opts = retry_options(call_options);
  hvb_result *r = NULL;
  for (int i = 1; i <= retries && conv; i++) {
    const char *why = strstr(last.message, "': ");
    json_object_array_add(errors, json_object_new_string(why ? why + 3 : last.message));
    hvb__log(HVB_LOG_DEBUG, "structured reply asked again (%d of %d): %s", i, retries,
             last.message);
    json_object *again = NULL;
    hvb_error e = HVB_ERROR_INIT;
    r = hvb__chat_once(llm, NULL, conv, opts, runs_tools, &again, &e);
    json_object_put(conv);
    conv = again;
    if (r) {
      hvb__result_structured_retried(r, i, json_object_get(errors));
      break;
    }
    last = e;
    if (!again) break; /* another failure: not the schema's */
  }
  json_object_put(conv);
  json_object_put(opts);
  json_object_put(errors);
  if (!r && err) *err = last;
  return r;
}
