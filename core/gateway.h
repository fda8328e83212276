/* core/gateway.h: the gateway operations as the core sees them.
 *
 * A gateway translates between the canonical form and one wire protocol:
 * - canonical request: an OpenAI chat-completions request body (json-c object) with "model"
 *   already set to the provider's model id, "messages", the resolved request arguments and
 *   "stream";
 * - canonical response: an OpenAI chat.completion object (non-streamed) or a sequence of
 *   OpenAI chat.completion.chunk objects (streamed). Chunks may carry "usage" and, in
 *   choices[0].delta, "content", "reasoning_content" or "reasoning", "tool_calls", and
 *   choices[0].finish_reason.
 * The built-in gateways are `openai` (the default and the fallback) and `mock` (offline).
 * The gateway-plugin work turns this table into the public, versioned <heavenbase/gateway.h>
 * ABI; until then it is internal and may change.
 */
#ifndef HVB_GATEWAY_INTERNAL_H
#define HVB_GATEWAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/spec.h>
#include "sse.h"

/* An HTTP request built by a gateway. All members are owned (g_free / g_strfreev). */
typedef struct hvb_wire_request {
  char *url;
  char **headers; /* NULL-terminated "Name: value" lines */
  char *body;
  size_t body_len;
} hvb_wire_request;

/* Free the members and zero the struct. */
void hvb__wire_request_clear(hvb_wire_request *wr);

enum {
  HVB_GW_CAP_CHAT = 1u << 0,
  HVB_GW_CAP_STREAM = 1u << 1,
  HVB_GW_CAP_EMBED = 1u << 2,
  HVB_GW_CAP_IMAGE = 1u << 3,
  HVB_GW_CAP_OFFLINE = 1u << 4
};

typedef struct hvb_gateway {
  const char *name;
  const char *version;
  const char *description;
  unsigned caps;

  /* Canonical request (borrowed) -> wire request (filled; cleared by the caller). */
  bool (*prepare_chat)(const hvb_spec *spec, json_object *canonical, hvb_wire_request *out,
                       hvb_error *err);

  /* Parsed wire response body (borrowed) -> canonical chat.completion (new reference).
   * HVB_PROVIDER when the body is an error object; HVB_PARSE when it lacks what a reply
   * needs (named). */
  json_object *(*parse_chat)(const hvb_spec *spec, json_object *body, hvb_error *err);

  /* Streaming: per-stream state (may be NULL when the gateway needs none). */
  void *(*stream_begin)(const hvb_spec *spec);
  void (*stream_end)(void *state);

  /* One SSE event -> zero or more canonical chunks appended to `chunks` (a JSON array).
   * Sets *done at the protocol's end marker ([DONE] for OpenAI). HVB_PROVIDER for an error
   * event, HVB_PARSE for data that is not JSON. */
  bool (*parse_event)(void *state, const hvb_sse_event *ev, json_object *chunks, bool *done,
                      hvb_error *err);

  /* Offline gateways only (NULL otherwise): answer without HTTP by appending canonical
   * chunks to `chunks` (the same sequence a stream would give). */
  bool (*execute_chat)(const hvb_spec *spec, json_object *canonical, json_object *chunks,
                       hvb_error *err);
} hvb_gateway;

/* A built-in gateway by name, NULL when unknown. */
const hvb_gateway *hvb__gateway_lookup(const char *name);

/* All built-in gateways, NULL-terminated. */
const hvb_gateway *const *hvb__gateway_all(void);

extern const hvb_gateway hvb__gateway_openai;
extern const hvb_gateway hvb__gateway_mock;

/* The openai translation, for gateways that speak OpenAI-compatible HTTP with their own
 * headers: url = base_url + "/chat/completions", "Authorization: Bearer <key>" when a key is
 * set, Content-Type/Accept, the spec's extra headers, and stream_options.include_usage when
 * streaming. */
bool hvb__openai_prepare_chat(const hvb_spec *spec, json_object *canonical,
                              hvb_wire_request *out, hvb_error *err);
json_object *hvb__openai_parse_chat(const hvb_spec *spec, json_object *body, hvb_error *err);
bool hvb__openai_parse_event(void *state, const hvb_sse_event *ev, json_object *chunks,
                             bool *done, hvb_error *err);

#endif
