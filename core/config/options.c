/* core/config/options.c: the one table of library options (see core/config/options.h). */
#include "config/options.h"
#include "text/json.h"
#include "base/common.h"
#include "base/error.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define L HVB__SCOPE_LLM
#define C HVB__SCOPE_CALL

/* One row per option; a key not here is a request argument. The meaning is quoted in the
 * error for an option given in the wrong scope, so it stays short. */
static const hvb__option table[] = {
    {"preset", L, HVB__OPT_NAME, "the preset to resolve"},
    {"model", L, HVB__OPT_NAME, "model or alias"},
    {"provider", L, HVB__OPT_NAME, "provider from the catalog"},
    {"gateway", L, HVB__OPT_NAME, "gateway that translates the requests"},
    {"base_url", L, HVB__OPT_STRING, "the provider endpoint"},
    {"api_key", L, HVB__OPT_STRING, "the API key"},
    {"api_key_env", L, HVB__OPT_NAME, "environment variable that holds the API key"},
    {"timeout", L, HVB__OPT_SECONDS, "seconds for a whole request"},
    {"connect_timeout", L, HVB__OPT_SECONDS, "seconds to connect"},
    {"idle_timeout", L, HVB__OPT_SECONDS, "seconds a stream may stay silent"},
    {"max_retries", L, HVB__OPT_RETRIES, "retries of a failed request"},
    {"max_response_bytes", L, HVB__OPT_COUNT, "the largest reply body, streamed or not"},
    {"headers", L, HVB__OPT_STRING_MAP, "extra HTTP headers"},
    {"args", L | C, HVB__OPT_OBJECT, "request arguments, spelled as an object"},
    {"cache", L | C, HVB__OPT_SWITCH, "the response cache: on, off or its settings"},
    {"embedding_batch_size", L | C, HVB__OPT_COUNT, "texts per embeddings request"},
    {"embedding_max_workers", L | C, HVB__OPT_COUNT, "embeddings requests in flight"},
    {"tool_call_repair", L, HVB__OPT_SWITCH, "tool-call repair: on, off or its settings"},
    {"repair_tool_calls", L | C, HVB__OPT_BOOL, "repair the reply's tool calls"},
    {"max_steps", L | C, HVB__OPT_COUNT, "rounds of the tool loop"},
    {"invalid_utf8", C, HVB__OPT_UTF8_MODE,
     "a prompt that is not UTF-8: \"error\" (the default) or \"replace\" with U+FFFD"},
    {"system", C, HVB__OPT_STRING, "a system prompt"},
    {"stream", C, HVB__OPT_BOOL, "stream the reply"},
    {"route_key", C, HVB__OPT_STRING, "the key a hash route keeps on one target"},
    {"images", C, HVB__OPT_ARRAY, "images for the last user message"},
    {"include", C, HVB__OPT_STRING, "the result fields to keep"},
    {"response_format", L | C, HVB__OPT_RESPONSE_FORMAT,
     "structured output: {\"type\": \"json_object\"} or a json_schema"},
    {"structured_retries", C, HVB__OPT_RETRIES,
     "requests again when a structured reply does not match its schema"},
    {"tag", C, HVB__OPT_STRING, "a label for the usage ledger and budgets"},
    {"traceparent", C, HVB__OPT_NAME, "the caller's W3C trace context for this call"},
};

const hvb__option *hvb__option_find(const char *name) {
  for (size_t i = 0; name && i < G_N_ELEMENTS(table); i++)
    if (!strcmp(table[i].name, name)) return &table[i];
  return NULL;
}

/* Rows of the table that are checked here and still sent as request arguments. */
static const char *const checked_arguments[] = {"response_format"};

bool hvb__option_is_library(const char *name) {
  if (!hvb__option_find(name)) return false;
  for (size_t i = 0; i < G_N_ELEMENTS(checked_arguments); i++)
    if (!strcmp(checked_arguments[i], name)) return false;
  return true;
}

static const char *kind_text(hvb__opt_kind kind) {
  switch (kind) {
  case HVB__OPT_NAME: return "a non-empty string";
  case HVB__OPT_STRING: return "a string";
  case HVB__OPT_OBJECT: return "an object";
  case HVB__OPT_STRING_MAP: return "an object of strings";
  case HVB__OPT_COUNT: return "a positive integer";
  case HVB__OPT_SECONDS: return "a number of seconds from 0 to 10000000";
  case HVB__OPT_RETRIES: return "an integer from 0 to 100";
  case HVB__OPT_BOOL: return "a boolean";
  case HVB__OPT_SWITCH: return "true, false or an object";
  case HVB__OPT_ARRAY: return "an array";
  case HVB__OPT_UTF8_MODE: return "\"error\" or \"replace\"";
  case HVB__OPT_RESPONSE_FORMAT:
    return "{\"type\": \"json_object\"}, {\"type\": \"json_schema\", \"json_schema\": "
           "{\"name\": ..., \"schema\": {...}}} or (images) a string";
  }
  return "valid";
}

static bool strings_only(json_object *obj) {
  json_object_object_foreach(obj, key, val) {
    (void)key;
    if (!json_object_is_type(val, json_type_string)) return false;
  }
  return true;
}

/* OpenAI's forms: "text", "json_object", or "json_schema" with a name and an object schema
 * (the schema's own keywords are checked when the call compiles it). A string is the images
 * API's argument of the same name ("url", "b64_json"). */
static bool response_format_fits(json_object *v) {
  if (json_object_is_type(v, json_type_string)) return true;
  const char *type = hvb__json_str(v, "type");
  if (!json_object_is_type(v, json_type_object) || !type) return false;
  if (!strcmp(type, "text") || !strcmp(type, "json_object")) return true;
  if (strcmp(type, "json_schema")) return false;
  json_object *js = json_object_object_get(v, "json_schema");
  json_object *strict = json_object_object_get(js, "strict");
  const char *name = hvb__json_str(js, "name");
  return json_object_is_type(js, json_type_object) && name && *name &&
         json_object_is_type(json_object_object_get(js, "schema"), json_type_object) &&
         (!strict || json_object_is_type(strict, json_type_boolean));
}

static bool fits(json_object *v, hvb__opt_kind kind) {
  json_type t = json_object_get_type(v);
  switch (kind) {
  case HVB__OPT_NAME: return t == json_type_string && json_object_get_string_len(v) > 0;
  case HVB__OPT_STRING: return t == json_type_string;
  case HVB__OPT_OBJECT: return t == json_type_object;
  case HVB__OPT_STRING_MAP: return t == json_type_object && strings_only(v);
  case HVB__OPT_COUNT: return t == json_type_int && json_object_get_int64(v) >= 1;
  case HVB__OPT_SECONDS: {
    double d = json_object_get_double(v);
    return (t == json_type_int || t == json_type_double) && isfinite(d) && d >= 0 && d <= 1e7;
  }
  case HVB__OPT_RETRIES:
    return t == json_type_int && json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= 100;
  case HVB__OPT_BOOL: return t == json_type_boolean;
  case HVB__OPT_SWITCH: return t == json_type_boolean || t == json_type_object;
  case HVB__OPT_ARRAY: return t == json_type_array;
  case HVB__OPT_UTF8_MODE:
    return t == json_type_string && (!strcmp(json_object_get_string(v), "error") ||
                                     !strcmp(json_object_get_string(v), "replace"));
  case HVB__OPT_RESPONSE_FORMAT: return response_format_fits(v);
  }
  return false;
}

/* "call option 'x'" or "option 'x'" (the LLM's). Numbers and booleans are quoted back;
 * strings and containers only by type, since a misplaced string could be a key. */
static bool bad_value(const hvb__option *o, unsigned scope, json_object *v, hvb_error *err) {
  const char *what = scope == HVB__SCOPE_CALL ? "call option" : "option";
  json_type type = json_object_get_type(v);
  if (type == json_type_int || type == json_type_double || type == json_type_boolean) {
    char *text = hvb__json_canonical(v);
    hvb__fail(err, HVB_EINVAL, "%s '%s' must be %s, not %s", what, o->name, kind_text(o->kind),
              text);
    g_free(text);
    return false;
  }
  return hvb__fail(err, HVB_EINVAL, "%s '%s' must be %s, not %s", what, o->name,
                   kind_text(o->kind), hvb__json_type_phrase(v));
}

bool hvb__options_check(json_object *options, unsigned scope, hvb_error *err) {
  if (!json_object_is_type(options, json_type_object)) return true;
  json_object_object_foreach(options, key, val) {
    const hvb__option *o = hvb__option_find(key);
    if (!o || !val) continue;
    /* An option of a call given to the LLM would be lost: refused. One of the LLM given to a
     * call (a "model" naming another model) is ignored, as it always was: the LLM decides. */
    if (scope == HVB__SCOPE_LLM && !(o->scope & HVB__SCOPE_LLM))
      return hvb__fail(err, HVB_EINVAL, "option '%s' (%s) is an option of a call, not of the LLM",
                       key, o->meaning);
    if (!fits(val, o->kind)) return bad_value(o, scope, val, err);
  }
  return true;
}

/* For programs (hb's -o) that must tell a library option from a request argument. */
HVB_PUBLIC unsigned hvb_option_scope(const char *name) {
  const hvb__option *o = hvb__option_find(name);
  return o ? o->scope : 0;
}
