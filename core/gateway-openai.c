/* core/gateway-openai.c: the built-in `openai` gateway (OpenAI chat completions over HTTP).
 *
 * The canonical form is the OpenAI wire form, so the translation is thin: the request body is
 * the canonical request (plus stream_options when streaming), a response body is already a
 * chat.completion and a stream event is already a chat.completion.chunk. What this file adds
 * is the URL, the headers, and turning error payloads into errors. The functions are shared
 * with OpenAI-compatible gateways (portkey, bifrost, litellm) through gateway.h.
 */
#include "internal.h"
#include "gateway.h"

#include <glib.h>
#include <string.h>

/* Header values come from configuration and the environment: a line break would let them
 * inject headers of their own, so it is refused. */
static bool header_safe(const char *s) {
  return strpbrk(s, "\r\n") == NULL;
}

static bool has_header(json_object *headers, const char *name) {
  if (!headers) return false;
  json_object_object_foreach(headers, key, val) {
    (void)val;
    if (g_ascii_strcasecmp(key, name) == 0) return true;
  }
  return false;
}

/* The body to send: the canonical request, with stream_options.include_usage when streaming
 * (so the last chunk reports usage) and without stream_options otherwise (OpenAI rejects
 * them on a non-streamed request). A shallow copy: the canonical request is borrowed and
 * must stay as the caller built it (the cache keys on it). New reference. */
static json_object *wire_body(json_object *canonical, bool stream) {
  json_object *body = json_object_new_object();
  json_object_object_foreach(canonical, key, val) {
    if (strcmp(key, "stream_options") == 0) continue;
    json_object_object_add(body, key, json_object_get(val));
  }
  if (stream) {
    json_object *given = json_object_object_get(canonical, "stream_options");
    json_object *opts = json_object_is_type(given, json_type_object) ? hvb__json_copy(given)
                                                                     : json_object_new_object();
    if (!json_object_object_get_ex(opts, "include_usage", NULL))
      json_object_object_add(opts, "include_usage", json_object_new_boolean(1));
    json_object_object_add(body, "stream_options", opts);
  }
  return body;
}

bool hvb__openai_prepare_chat(const hvb_spec *spec, json_object *canonical, hvb_wire_request *out,
                              hvb_error *err) {
  const char *base = hvb_spec_base_url(spec);
  if (!base || !*base)
    return hvb__fail(err, HVB_CONFIG, "provider '%s' has no base_url; pass base_url",
                     hvb_spec_provider(spec));
  if (!json_object_is_type(canonical, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "the canonical request is not a JSON object");

  json_object *extra = hvb_spec_headers(spec);
  if (!json_object_is_type(extra, json_type_object)) extra = NULL;
  const char *key = hvb_spec_api_key(spec);
  if (key && *key && !header_safe(key))
    return hvb__fail(err, HVB_CONFIG, "the API key of provider '%s' contains a line break",
                     hvb_spec_provider(spec));

  json_object *sv = json_object_object_get(canonical, "stream");
  bool stream = json_object_is_type(sv, json_type_boolean) && json_object_get_boolean(sv);

  GPtrArray *headers = g_ptr_array_new_with_free_func(g_free);
  /* Defaults first; a header of the same name from the configuration replaces ours (Azure
   * uses "api-key", some proxies their own Accept), since curl would send both. */
  if (!has_header(extra, "Content-Type"))
    g_ptr_array_add(headers, g_strdup("Content-Type: application/json"));
  if (!has_header(extra, "Accept"))
    g_ptr_array_add(headers,
                    g_strdup(stream ? "Accept: text/event-stream" : "Accept: application/json"));
  if (key && *key && !has_header(extra, "Authorization"))
    g_ptr_array_add(headers, g_strdup_printf("Authorization: Bearer %s", key));
  if (extra) {
    json_object_object_foreach(extra, name, val) {
      const char *value =
          json_object_is_type(val, json_type_null) ? "" : json_object_get_string(val);
      if (!header_safe(name) || !header_safe(value) || strchr(name, ':') || !*name) {
        g_ptr_array_free(headers, TRUE);
        return hvb__fail(err, HVB_CONFIG, "header '%s' of provider '%s' is not a valid header",
                         name, hvb_spec_provider(spec));
      }
      g_ptr_array_add(headers, g_strdup_printf("%s: %s", name, value));
    }
  }
  g_ptr_array_add(headers, NULL);

  json_object *body = wire_body(canonical, stream);
  size_t len = 0;
  const char *text = json_object_to_json_string_length(
      body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

  out->url = g_strconcat(base, "/chat/completions", NULL);
  out->headers = (char **)g_ptr_array_free(headers, FALSE);
  out->body = g_strndup(text, len);
  out->body_len = len;
  json_object_put(body);
  return true;
}

/* Fill err from an OpenAI error value ({"message", "type", "code"} or a bare string):
 * HVB_PROVIDER with the provider's message and type. Always returns false. */
static bool provider_error(json_object *error, const char *where, hvb_error *err) {
  const char *msg = NULL, *type = NULL;
  if (json_object_is_type(error, json_type_object)) {
    msg = hvb__json_str(error, "message");
    type = hvb__json_str(error, "type");
    if (!type) type = hvb__json_str(error, "code");
  } else if (json_object_is_type(error, json_type_string)) {
    msg = json_object_get_string(error);
  }
  if (!msg) msg = error ? json_object_to_json_string_ext(error, JSON_C_TO_STRING_PLAIN) : "";
  return hvb__fail_http(err, HVB_PROVIDER, 0, type,
                        "the provider reported an error in %s: %s%s%s%s", where, msg,
                        type ? " (" : "", type ? type : "", type ? ")" : "");
}

/* The error member of a payload when it carries one (a JSON null does not count). */
static json_object *error_member(json_object *obj) {
  json_object *e = NULL;
  if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, "error", &e))
    return NULL;
  return json_object_is_type(e, json_type_null) ? NULL : e;
}

json_object *hvb__openai_parse_chat(const hvb_spec *spec, json_object *body, hvb_error *err) {
  (void)spec;
  json_object *e = error_member(body);
  if (e) {
    provider_error(e, "the response", err);
    return NULL;
  }
  if (!json_object_is_type(body, json_type_object)) {
    hvb__fail(err, HVB_PARSE, "the response is not a JSON object");
    return NULL;
  }
  json_object *choices = json_object_object_get(body, "choices");
  if (!json_object_is_type(choices, json_type_array) || json_object_array_length(choices) == 0) {
    hvb__fail(err, HVB_PARSE, "the response has no 'choices' (a non-empty array is needed)");
    return NULL;
  }
  json_object *msg = hvb__json_path(json_object_array_get_idx(choices, 0), "message");
  if (!json_object_is_type(msg, json_type_object)) {
    hvb__fail(err, HVB_PARSE, "the response has no 'choices[0].message' object");
    return NULL;
  }
  return json_object_get(body);
}

bool hvb__openai_parse_event(void *state, const hvb_sse_event *ev, json_object *chunks, bool *done,
                             hvb_error *err) {
  (void)state;
  const char *data = ev->data;
  size_t len = ev->data_len;
  while (len && g_ascii_isspace(data[len - 1])) len--;
  while (len && g_ascii_isspace(*data)) data++, len--;
  if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
    *done = true;
    return true;
  }
  json_object *chunk = hvb__json_parse(data, (long)len, "stream event", err);
  if (!chunk) return false;
  json_object *e = error_member(chunk);
  /* Some servers name the event instead: "event: error" with the error object as data. */
  if (!e && strcmp(ev->event, "error") == 0) e = chunk;
  if (e) {
    provider_error(e, "the stream", err);
    json_object_put(chunk);
    return false;
  }
  if (!json_object_is_type(chunk, json_type_object)) {
    json_object_put(chunk);
    return hvb__fail(err, HVB_PARSE, "stream event is not a JSON object");
  }
  json_object_array_add(chunks, chunk);
  return true;
}

const hvb_gateway hvb__gateway_openai = {
    .name = "openai",
    .version = "1",
    .description = "OpenAI chat completions over HTTP (and OpenAI-compatible providers)",
    .caps = HVB_GW_CAP_CHAT | HVB_GW_CAP_STREAM,
    .prepare_chat = hvb__openai_prepare_chat,
    .parse_chat = hvb__openai_parse_chat,
    .stream_begin = NULL,
    .stream_end = NULL,
    .parse_event = hvb__openai_parse_event,
    .execute_chat = NULL,
};
