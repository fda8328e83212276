/* heavenbase/gateway.h: everything a gateway plugin author needs (ABI 1.0).
 *
 * A gateway translates between the library's canonical form and one wire protocol. It ships as
 * a shared object named hb-gateway-<name>.so, installed in
 *     $(pkg-config --variable=gatewaydir heavenbase)      (e.g. /usr/lib/heavenbase/gateways-1)
 * and exports exactly one symbol, hvb_gateway_query, returning a static descriptor. Define it
 * with HVB_GATEWAY_DEFINE:
 *
 *     #include <heavenbase/gateway.h>
 *     static bool my_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
 *                            hvb_wire_request *out, hvb_error *err) {
 *       return hvb_openai_prepare(spec, op, canonical, out, err) &&
 *              hvb_wire_request_add_header(out, "X-My-Gateway", "1", err);
 *     }
 *     HVB_GATEWAY_DEFINE(my, "1.0.0", "OpenAI-compatible with one header", "MIT",
 *                        HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM,
 *                        .prepare = my_prepare, .parse = hvb_openai_parse,
 *                        .parse_event = hvb_openai_parse_event)
 *
 * The canonical form is OpenAI's wire form (json-c objects):
 *   HVB_GATEWAY_OP_CHAT   request: a chat-completions body ("model" = the provider's model id,
 *                         "messages", request arguments, "stream"); response: a
 *                         chat.completion object, or for a stream a sequence of
 *                         chat.completion.chunk objects (choices[0].delta with content,
 *                         reasoning_content, tool_calls; choices[0].finish_reason; usage).
 *   HVB_GATEWAY_OP_EMBED  request: {"model", "input": [strings], "dimensions"?}; response:
 *                         {"data": [{"index", "embedding": [numbers]}], "usage"?}.
 *   HVB_GATEWAY_OP_IMAGE  request: an images/generations body ("model", "prompt", "n", "size",
 *                         "seed"?, "image"? reference images); response: {"data": [{"b64_json"
 *                         or "url", "revised_prompt"?}], "usage"?}.
 *
 * Linking: the hvb_* functions declared here (and the hvb_spec_* getters) are provided by the
 * libheavenbase already loaded in the host process. Compile with `pkg-config --cflags
 * heavenbase` and do not link libheavenbase; link whatever else the plugin needs (json-c,
 * GLib...). Build with -fvisibility=hidden so that hvb_gateway_query is the only export.
 * docs/gateway-abi.md is the full guide (discovery, states, versioning, a worked example).
 *
 * Rules for plugins: never print, never exit, never abort; report failures through the
 * hvb_error given (hvb_gateway_fail), naming what was wrong and never including a secret. All
 * operations may be called from several threads at once: keep no mutable global state (the
 * stream state is per stream). json_object arguments are borrowed unless stated otherwise.
 *
 * Versioning: a plugin loads when its abi_major equals the library's HVB_GATEWAY_ABI_MAJOR and
 * its abi_minor is not greater than the library's. The library reads a field of the descriptor
 * only when it lies inside the plugin's struct_size, so a plugin built against an older minor
 * keeps working.
 */
#ifndef HEAVENBASE_GATEWAY_H
#define HEAVENBASE_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/spec.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HVB_GATEWAY_MAGIC 0x48564247u /* "HVBG" */
#define HVB_GATEWAY_ABI_MAJOR 1
#define HVB_GATEWAY_ABI_MINOR 0

typedef enum hvb_gateway_op {
  HVB_GATEWAY_OP_CHAT = 1,
  HVB_GATEWAY_OP_EMBED = 2,
  HVB_GATEWAY_OP_IMAGE = 3
} hvb_gateway_op;

/* "chat", "embed", "image". */
const char *hvb_gateway_op_name(hvb_gateway_op op);

/* Capabilities (descriptor.caps). */
#define HVB_GATEWAY_CAP_CHAT (1u << 0)
#define HVB_GATEWAY_CAP_STREAM (1u << 1)
#define HVB_GATEWAY_CAP_EMBED (1u << 2)
#define HVB_GATEWAY_CAP_IMAGE (1u << 3)
#define HVB_GATEWAY_CAP_OFFLINE (1u << 4) /* answers through execute, without HTTP */
/* hvb_llm_export (<heavenbase/export.h>) may hand out this gateway's requests: in OpenAI's
 * wire form (HVB_EXPORT_OPENAI), or in the gateway's own, when it speaks another
 * (HVB_EXPORT_NATIVE). Declare only what a raw request, sent without the library, gets right. */
#define HVB_GATEWAY_CAP_EXPORT_OPENAI (1u << 5)
#define HVB_GATEWAY_CAP_EXPORT_NATIVE (1u << 6)

/* ---- the HTTP request a gateway builds (owned by the library; plugins use the setters) ----
 * The method is always POST. The library sends the headers in the order added, plus
 * "Content-Type: application/json" when a body has no Content-Type, and what HTTP itself
 * needs (Host, Content-Length; "Expect:" suppressed). One wire request belongs to one call:
 * no locking is needed. */

typedef struct hvb_wire_request hvb_wire_request;

/* Each returns false with err set (HVB_EINVAL naming the header) for a value with a line
 * break; strings are copied. Setting the URL or body again replaces it. */
bool hvb_wire_request_set_url(hvb_wire_request *wr, const char *url, hvb_error *err);
bool hvb_wire_request_add_header(hvb_wire_request *wr, const char *name, const char *value,
                                 hvb_error *err);
/* Serialize `body` (borrowed) as the request body, compact, with Content-Type JSON. */
bool hvb_wire_request_set_json(hvb_wire_request *wr, json_object *body, hvb_error *err);
/* Raw body bytes (copied). */
bool hvb_wire_request_set_body(hvb_wire_request *wr, const char *body, size_t len,
                               hvb_error *err);
/* Read back (borrowed): the URL so far ("" when unset). */
const char *hvb_wire_request_url(const hvb_wire_request *wr);

/* ---- server-sent events, as the library decodes them ---- */

typedef struct hvb_sse_event {
  const char *event; /* "" when the event had no event: field */
  const char *data;  /* NUL-terminated, data_len bytes */
  size_t data_len;
  const char *id;    /* last event id, "" when none */
} hvb_sse_event;

/* ---- errors from plugins ---- */

/* Fill err (may be NULL) with status and a formatted message (redacted like the library's
 * own: registered API keys and bearer tokens become "[REDACTED]"; line breaks become spaces;
 * truncated to fit err->message); returns false, so that an operation can
 * `return hvb_gateway_fail(err, HVB_PARSE, "no 'content' in ...")`. Thread-safe. */
bool hvb_gateway_fail(hvb_error *err, hvb_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As hvb_gateway_fail, also setting err->http_status (0: none) and err->type (the provider's
 * error type, e.g. "rate_limit_error"; NULL: none). For error payloads that carry an HTTP
 * status or a type, such as an error event inside a stream. (Added in ABI 1.0 before its
 * first release, so no minor bump.) */
bool hvb_gateway_fail_http(hvb_error *err, hvb_status status, int http_status, const char *type,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- the descriptor ---- */

/* WARNING: this struct is part of the ABI. Fields are only ever APPENDED, at the end, with a
 * minor version bump; never reordered, resized or removed. The library reads a field only when
 * offsetof(field) + sizeof(field) <= struct_size. */
typedef struct hvb_gateway_descriptor {
  uint32_t magic;      /* HVB_GATEWAY_MAGIC */
  uint16_t abi_major;  /* HVB_GATEWAY_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;  /* HVB_GATEWAY_ABI_MINOR the plugin was built against */
  uint32_t struct_size;/* sizeof(hvb_gateway_descriptor) the plugin was built with */
  const char *name;    /* must equal <name> in hb-gateway-<name>.so */
  const char *version;
  const char *description;
  const char *license;
  uint32_t caps;       /* HVB_GATEWAY_CAP_* */

  /* ABI 1.0 operations. All optional except as noted. */

  /* Once, after loading, before any other operation. A plugin whose init fails is recorded
   * as broken and never used. */
  bool (*init)(hvb_error *err);
  /* Never called by the library today (plugins are not unloaded); reserved. */
  void (*fini)(void);

  /* May this gateway do `op` for this spec? Refuse known-unsupported combinations with
   * HVB_UNSUPPORTED naming the operation ("portkey has no embeddings for provider
   * 'openrouter'"). Asked before the caps are checked, so its message is the one users see;
   * an operation outside the caps is refused afterwards even when this returns true.
   * NULL: the caps decide. */
  bool (*supports)(const hvb_spec *spec, hvb_gateway_op op, hvb_error *err);

  /* Canonical request -> HTTP request. Required for HTTP gateways. */
  bool (*prepare)(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                  hvb_wire_request *out, hvb_error *err);

  /* Parsed non-streamed response body -> canonical response (a new reference the library
   * owns). HVB_PROVIDER for an error payload; HVB_PARSE naming a missing field. */
  json_object *(*parse)(const hvb_spec *spec, hvb_gateway_op op, json_object *body,
                        hvb_error *err);

  /* Streaming chat: per-stream state (NULL allowed), freed by stream_end. */
  void *(*stream_begin)(const hvb_spec *spec);
  void (*stream_end)(void *state);
  /* One SSE event -> zero or more canonical chunks appended to `chunks` (a JSON array).
   * Set *done at the protocol's end marker. HVB_PROVIDER for an error event. */
  bool (*parse_event)(void *state, const hvb_sse_event *ev, json_object *chunks, bool *done,
                      hvb_error *err);

  /* Offline gateways (HVB_GATEWAY_CAP_OFFLINE): answer without HTTP. For chat, append the
   * canonical chunks a stream would give to `out` (a JSON array); for embed and image, set
   * the canonical response as the array's single element. */
  bool (*execute)(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                  json_object *out, hvb_error *err);
} hvb_gateway_descriptor;

/* The one symbol a plugin exports. */
typedef const hvb_gateway_descriptor *(*hvb_gateway_query_fn)(void);
#define HVB_GATEWAY_QUERY_SYMBOL "hvb_gateway_query"

#if defined(__GNUC__)
#define HVB_GATEWAY_EXPORT __attribute__((visibility("default")))
#else
#define HVB_GATEWAY_EXPORT
#endif

/* Define the descriptor and hvb_gateway_query. `name_` is a bare identifier (the file must be
 * hb-gateway-<name_>.so); the operations follow as designated initializers. */
#define HVB_GATEWAY_DEFINE(name_, version_, description_, license_, caps_, ...)            \
  static const hvb_gateway_descriptor hvb_gateway_descriptor_ = {                         \
      .magic = HVB_GATEWAY_MAGIC,                                                         \
      .abi_major = HVB_GATEWAY_ABI_MAJOR,                                                 \
      .abi_minor = HVB_GATEWAY_ABI_MINOR,                                                 \
      .struct_size = (uint32_t)sizeof(hvb_gateway_descriptor),                            \
      .name = #name_,                                                                     \
      .version = version_,                                                                \
      .description = description_,                                                        \
      .license = license_,                                                                \
      .caps = caps_,                                                                      \
      __VA_ARGS__};                                                                       \
  HVB_GATEWAY_EXPORT const hvb_gateway_descriptor *hvb_gateway_query(void);               \
  HVB_GATEWAY_EXPORT const hvb_gateway_descriptor *hvb_gateway_query(void) {              \
    return &hvb_gateway_descriptor_;                                                      \
  }

/* ---- the openai translation, for OpenAI-compatible gateways ---- */

/* URL = base URL + "/chat/completions" | "/embeddings" | "/images/generations";
 * "Authorization: Bearer <key>" when the spec has a key; Accept/Content-Type; the spec's extra
 * headers; stream_options.include_usage when streaming. */
bool hvb_openai_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                        hvb_wire_request *out, hvb_error *err);
json_object *hvb_openai_parse(const hvb_spec *spec, hvb_gateway_op op, json_object *body,
                              hvb_error *err);
bool hvb_openai_parse_event(void *state, const hvb_sse_event *ev, json_object *chunks,
                            bool *done, hvb_error *err);

#ifdef __cplusplus
}
#endif

#endif
