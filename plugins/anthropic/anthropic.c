/* plugins/anthropic/anthropic.c: the `anthropic` gateway, Anthropic's native Messages API.
 *
 * POST {base_url}/messages with x-api-key (when a key is set), anthropic-version and the
 * spec's extra headers (a header of the same name from the configuration replaces ours). The
 * translation both ways is in translate.c (rules in translate.h). Chat and streaming only:
 * Anthropic has no embeddings and no image generation, and saying so beats a 404.
 */
#include "translate.h"
#include "structured.h"

#include <heavenbase/gateway.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GATEWAY_NAME "anthropic"

static bool unsupported(hvb_gateway_op op, hvb_error *err) {
  switch (op) {
  case HVB_GATEWAY_OP_CHAT:
    return true;
  case HVB_GATEWAY_OP_EMBED:
    return hvb_gateway_fail(err, HVB_UNSUPPORTED,
                            "gateway '" GATEWAY_NAME "' does not support embeddings (use an "
                            "embedding provider such as openai or voyage)");
  case HVB_GATEWAY_OP_IMAGE:
    return hvb_gateway_fail(err, HVB_UNSUPPORTED,
                            "gateway '" GATEWAY_NAME "' does not support image generation (use "
                            "an image provider such as openai)");
  }
  return hvb_gateway_fail(err, HVB_UNSUPPORTED,
                          "gateway '" GATEWAY_NAME "' does not support operation %d", (int)op);
}

static bool anthropic_supports(const hvb_spec *spec, hvb_gateway_op op, hvb_error *err) {
  (void)spec;
  return unsupported(op, err);
}

static bool has_header(json_object *headers, const char *name) {
  if (!json_object_is_type(headers, json_type_object)) return false;
  json_object_object_foreach(headers, key, val) {
    (void)val;
    if (strcasecmp(key, name) == 0) return true;
  }
  return false;
}

static bool add_headers(const hvb_spec *spec, bool stream, hvb_wire_request *out,
                        hvb_error *err) {
  json_object *extra = hvb_spec_headers(spec);
  const char *key = hvb_spec_api_key(spec);
  if (key && *key && !has_header(extra, "x-api-key") &&
      !hvb_wire_request_add_header(out, "x-api-key", key, err))
    return false;
  if (!has_header(extra, "anthropic-version") &&
      !hvb_wire_request_add_header(out, "anthropic-version", ANTHROPIC_API_VERSION, err))
    return false;
  if (!has_header(extra, "accept") &&
      !hvb_wire_request_add_header(out, "accept",
                                   stream ? "text/event-stream" : "application/json", err))
    return false;
  if (json_object_is_type(extra, json_type_object)) {
    json_object_object_foreach(extra, name, val) {
      const char *value =
          json_object_is_type(val, json_type_null) ? "" : json_object_get_string(val);
      if (!hvb_wire_request_add_header(out, name, value, err)) return false;
    }
  }
  return true;
}

static void drop_body(json_object **body) {
  json_object_put(*body);
  *body = NULL;
}

static bool anthropic_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                              hvb_wire_request *out, hvb_error *err) {
  if (op != HVB_GATEWAY_OP_CHAT) return unsupported(op, err);
  const char *base = hvb_spec_base_url(spec);
  if (!base || !*base)
    return hvb_gateway_fail(err, HVB_CONFIG,
                            "provider '%s' has no base_url for gateway '" GATEWAY_NAME
                            "'; pass base_url (Anthropic's is https://api.anthropic.com/v1)",
                            hvb_spec_provider(spec));
  /* The arguments the Messages API does not take (n, presence_penalty...) are left out: say
   * so in the debug log, or a user wonders why `-o seed=1` changes nothing. */
  json_object *dropped = hvb_gateway_log_enabled(HVB_LOG_DEBUG) ? json_object_new_array() : NULL;
  json_object *body = anthropic_request(canonical, dropped, err);
  if (body && !anthropic_structured_request(spec, canonical, body, err))
    drop_body(&body);
  if (body && dropped && json_object_array_length(dropped) > 0)
    hvb_gateway_log(HVB_LOG_DEBUG,
                    GATEWAY_NAME ": dropped request arguments the Messages API does not take: %s",
                    json_object_to_json_string_ext(dropped, JSON_C_TO_STRING_PLAIN));
  json_object_put(dropped);
  if (!body) return false;
  json_object *sv = json_object_object_get(body, "stream");
  bool stream = json_object_is_type(sv, json_type_boolean) && json_object_get_boolean(sv);

  /* A query string of the base URL stays after the path (ABI 1.2). */
  bool ok = hvb_wire_request_set_url_path(out, base, "/messages", err) &&
            add_headers(spec, stream, out, err) && hvb_wire_request_set_json(out, body, err);
  json_object_put(body);
  return ok;
}

static json_object *anthropic_parse(const hvb_spec *spec, hvb_gateway_op op, json_object *body,
                                    hvb_error *err) {
  (void)spec;
  if (op != HVB_GATEWAY_OP_CHAT) {
    unsupported(op, err);
    return NULL;
  }
  json_object *completion = anthropic_response(body, err);
  if (completion) anthropic_structured_completion(completion);
  return completion;
}

/* Anthropic's error body: {"type": "error", "error": {"type": "overloaded_error", "message":
 * "..."}}. Anything else is left to the library's neutral reading. */
static bool anthropic_parse_error(const hvb_spec *spec, int http_status, json_object *body,
                                  hvb_error *out) {
  (void)spec;
  json_object *e = NULL, *type = NULL, *msg = NULL;
  if (!json_object_object_get_ex(body, "error", &e) || !json_object_is_type(e, json_type_object))
    return false;
  json_object_object_get_ex(e, "type", &type);
  json_object_object_get_ex(e, "message", &msg);
  if (!json_object_is_type(type, json_type_string) && !json_object_is_type(msg, json_type_string))
    return false;
  hvb_gateway_fail_http(out, HVB_HTTP, http_status,
                        json_object_is_type(type, json_type_string) ? json_object_get_string(type)
                                                                    : NULL,
                        "%s", json_object_is_type(msg, json_type_string)
                                  ? json_object_get_string(msg) : "");
  return true;
}

/* A stream's state: the translation's, and the forced structured-output tool's. */
typedef struct gw_stream {
  anthropic_stream *events;
  anthropic_structured_stream answer;
} gw_stream;

static void *anthropic_stream_begin(const hvb_spec *spec) {
  (void)spec;
  gw_stream *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->events = anthropic_stream_new();
  st->answer = (anthropic_structured_stream)ANTHROPIC_STRUCTURED_STREAM_INIT;
  if (!st->events) {
    free(st);
    return NULL;
  }
  return st;
}

static void anthropic_stream_end(void *state) {
  gw_stream *st = state;
  if (!st) return;
  anthropic_stream_free(st->events);
  free(st);
}

static bool anthropic_parse_event(void *state, const hvb_sse_event *ev, json_object *chunks,
                                  bool *done, hvb_error *err) {
  gw_stream *st = state;
  if (!st) return hvb_gateway_fail(err, HVB_ENOMEM, "out of memory starting the stream");
  if (!anthropic_stream_event(st->events, ev->event ? ev->event : "", ev->data, ev->data_len,
                              chunks, done, err))
    return false;
  anthropic_structured_chunks(&st->answer, chunks);
  return true;
}

HVB_GATEWAY_DEFINE(anthropic, "1.0.0",
                   "Anthropic Messages API (native: system, tool_use/tool_result, thinking)",
                   "MIT",
                   HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EXPORT_NATIVE,
                   .supports = anthropic_supports, .prepare = anthropic_prepare,
                   .parse = anthropic_parse, .stream_begin = anthropic_stream_begin,
                   .stream_end = anthropic_stream_end, .parse_event = anthropic_parse_event,
                   .parse_error = anthropic_parse_error)
