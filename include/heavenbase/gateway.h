/* heavenbase/gateway.h: everything a gateway plugin author needs (ABI 1.1).
 *
 * A gateway translates between the library's canonical form and one wire protocol. It ships as
 * a shared object named hb-gateway-<name>.so, installed in
 *     $(pkg-config --variable=gatewaydir heavenbase)      (e.g. /usr/lib/heavenbase/gateways-1)
 * (or in a directory of HB_GATEWAY_PATH or ~/.local/share/heavenbase/gateways-1), and exports
 * exactly one symbol, hvb_gateway_query, returning a static descriptor. The loader refuses a
 * file that is owned by another user than the one running the program (root excepted) or
 * writable by group or others, and likewise its directory (stage "permissions" in
 * <heavenbase/registry.h>): install plugins mode 0644 (or 0755) in a 0755 directory. Define
 * HVB_GATEWAY_PLUGIN before including this header, then define the descriptor with
 * HVB_GATEWAY_DEFINE:
 *
 *     #define HVB_GATEWAY_PLUGIN 1
 *     #include <heavenbase/gateway.h>
 *     static bool my_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
 *                            hvb_wire_request *out, hvb_error *err) {
 *       return hvb_openai_prepare(spec, op, canonical, out, err) &&
 *              hvb_wire_request_add_header(out, "X-My-Gateway", "1", err);
 *     }
 *     HVB_GATEWAY_DEFINE(my, "1.0.0", "OpenAI-compatible with one header", "MIT",
 *                        HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM,
 *                        .prepare = my_prepare, .parse = hvb_openai_parse_op,
 *                        .parse_event = hvb_openai_parse_event_op,
 *                        .parse_error = hvb_openai_parse_error_op)
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
 *                         "seed"?, "image"? reference images, "mask"?); response: {"data":
 *                         [{"b64_json" or "url", "revised_prompt"?}], "usage"?}. Reference
 *                         images (only for a gateway with HVB_GATEWAY_CAP_IMAGE_REFS) are
 *                         strings: data URLs when the model's catalog entry says
 *                         "reference_images": "edits" (the openai translation then uploads
 *                         them as files, multipart/form-data, to /images/edits), data URLs or
 *                         http(s) URLs when it says "generations" (sent as they are); "mask",
 *                         when present, is a data URL too.
 *
 * Linking (ABI 1.1): a plugin calls the library only through the host table
 * (hvb_gateway_host) the library hands it when it loads it; it needs no symbol from the host
 * process. With HVB_GATEWAY_PLUGIN defined, the usual names (hvb_gateway_fail,
 * hvb_wire_request_set_url, hvb_spec_provider, hvb_openai_prepare...) are macros that call
 * through the table, the way SQLite's <sqlite3ext.h> maps sqlite3_* onto
 * sqlite3_api_routines; `nm -D --undefined-only` on the plugin shows no hvb_* symbol. Compile
 * with `pkg-config --cflags heavenbase` and do not link libheavenbase; link whatever else the
 * plugin needs (json-c, GLib...). Build with -fvisibility=hidden so that hvb_gateway_query is
 * the only export. docs/gateway-abi.md is the full guide (discovery, states, versioning, a
 * worked example).
 *
 * Rules for plugins: never print, never exit, never abort; report failures through the
 * hvb_error given (hvb_gateway_fail), naming what was wrong and never including a secret. All
 * operations may be called from several threads at once: keep no mutable global state (the
 * stream state is per stream). json_object arguments are borrowed unless stated otherwise.
 *
 * Versioning: a plugin loads when its abi_major equals the library's HVB_GATEWAY_ABI_MAJOR and
 * its abi_minor is not greater than the library's. The library reads a field of the descriptor
 * only when it lies inside the plugin's struct_size, so a plugin built against an older minor
 * keeps working; a plugin reads a field of the host table only when it lies inside the table's
 * `size`, so it can run on a library of its own minor or newer. Plugins built against ABI 1.0
 * (no table: they call the exported hvb_* functions below) keep loading.
 */
#ifndef HEAVENBASE_GATEWAY_H
#define HEAVENBASE_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/log.h>
#include <heavenbase/macros.h>
#include <heavenbase/spec.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HVB_GATEWAY_MAGIC 0x48564247u /* "HVBG" */
#define HVB_GATEWAY_ABI_MAJOR 1
#define HVB_GATEWAY_ABI_MINOR 2

#define HVB_GATEWAY_FORMAT(a, b) HVB_ATTR_PRINTF(a, b)

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
/* The gateway sends the reference images of an image request (the canonical "image" array)
 * where the model takes them (see HVB_GATEWAY_OP_IMAGE). The library refuses a request with
 * reference images, HVB_UNSUPPORTED, on a gateway without it: a gateway that would drop them
 * never gets one. Added in ABI 1.1 without a minor bump: only the library reads it, and a
 * plugin built before it simply does not declare it. */
#define HVB_GATEWAY_CAP_IMAGE_REFS (1u << 7)

/* ---- the HTTP request a gateway builds (owned by the library; plugins use the setters) ----
 * The method is always POST. The library sends the headers in the order added, plus
 * "Content-Type: application/json" when a body has no Content-Type, and what HTTP itself
 * needs (Host, Content-Length; "Expect:" suppressed). One wire request belongs to one call:
 * no locking is needed. */

typedef struct hvb_wire_request hvb_wire_request;

/* Each returns false with err set (HVB_EINVAL naming the header) for a value with a line
 * break; strings are copied. Setting the URL or body again replaces it. */
bool hvb_wire_request_set_url(hvb_wire_request *wr, const char *url, hvb_error *err);
/* (ABI 1.2) The URL `base_url` + `path`, with a query string or fragment of the base URL kept
 * after the path: "https://h/openai?api-version=1" + "/chat/completions" ->
 * "https://h/openai/chat/completions?api-version=1" (Azure OpenAI needs its api-version on
 * every request). A gateway that builds a URL from hvb_spec_base_url uses this, never string
 * concatenation. Errors as hvb_wire_request_set_url. */
bool hvb_wire_request_set_url_path(hvb_wire_request *wr, const char *base_url, const char *path,
                                   hvb_error *err);
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
    HVB_GATEWAY_FORMAT(3, 4);

/* As hvb_gateway_fail, also setting err->http_status (0: none) and err->type (the provider's
 * error type, e.g. "rate_limit_error"; NULL: none). For error payloads that carry an HTTP
 * status or a type, such as an error event inside a stream. */
bool hvb_gateway_fail_http(hvb_error *err, hvb_status status, int http_status, const char *type,
                           const char *fmt, ...) HVB_GATEWAY_FORMAT(5, 6);

/* ---- the openai translation, for OpenAI-compatible gateways ----
 * (Exported for ABI 1.0 plugins and programs; 1.1 plugins reach them through the host table.) */

/* URL = base URL + "/chat/completions" | "/embeddings" | "/images/generations" (a query string
 * of the base URL kept after the path, as hvb_wire_request_set_url_path does);
 * "Authorization: Bearer <key>" when the spec has a key; Accept/Content-Type; the spec's extra
 * headers; stream_options.include_usage when streaming. An image request with reference
 * images for a model whose catalog entry has "reference_images": "edits" goes to
 * "/images/edits" as a multipart/form-data form instead: every other field a plain part
 * (strings as they are, other values as JSON text), each reference image a file part "image"
 * ("image[]" when there are several; image-1.png, image-2.jpeg...), a mask the file part
 * "mask". HVB_EINVAL for a reference that is not a base64 data URL there; HVB_UNSUPPORTED
 * for reference images a model takes none of. */
bool hvb_openai_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                        hvb_wire_request *out, hvb_error *err);
json_object *hvb_openai_parse(const hvb_spec *spec, hvb_gateway_op op, json_object *body,
                              hvb_error *err);
bool hvb_openai_parse_event(void *state, const hvb_sse_event *ev, json_object *chunks,
                            bool *done, hvb_error *err);

/* ---- the host table (ABI 1.1) ----
 *
 * WARNING: this struct is part of the ABI, like the descriptor. Members are only ever
 * APPENDED, at the end, with a minor version bump; never reordered, retyped or removed. A
 * plugin reads a member only when offsetof(member) + sizeof(member) <= size (see
 * HVB_GATEWAY_HOST_HAS); every member of the minor the plugin was built against is always
 * there, because the library refuses plugins of a newer minor. The table is static and
 * immutable: keep the pointer for the life of the plugin. Every function is thread-safe. */
typedef struct hvb_gateway_host {
  uint32_t size;      /* sizeof(hvb_gateway_host) in the library */
  uint16_t abi_major; /* the library's HVB_GATEWAY_ABI_MAJOR, HVB_GATEWAY_ABI_MINOR */
  uint16_t abi_minor;

  /* 1.1: everything a 1.0 plugin took from the global symbol scope, plus a logger. */
  bool (*wire_request_set_url)(hvb_wire_request *wr, const char *url, hvb_error *err);
  bool (*wire_request_add_header)(hvb_wire_request *wr, const char *name, const char *value,
                                  hvb_error *err);
  bool (*wire_request_set_json)(hvb_wire_request *wr, json_object *body, hvb_error *err);
  bool (*wire_request_set_body)(hvb_wire_request *wr, const char *body, size_t len,
                                hvb_error *err);
  const char *(*wire_request_url)(const hvb_wire_request *wr);
  bool (*gateway_fail)(hvb_error *err, hvb_status status, const char *fmt, ...)
      HVB_GATEWAY_FORMAT(3, 4);
  bool (*gateway_fail_http)(hvb_error *err, hvb_status status, int http_status,
                            const char *type, const char *fmt, ...) HVB_GATEWAY_FORMAT(5, 6);
  const char *(*gateway_op_name)(hvb_gateway_op op);
  /* One line to the library's log (hvb_log_set_handler, HB_LOG), redacted like the library's
   * own lines: registered API keys and bearer tokens become "[REDACTED]". Start the line with
   * the gateway's name. gateway_log_enabled tells whether a level would be shown, to skip
   * building an expensive line. */
  void (*gateway_log)(hvb_log_level level, const char *fmt, ...) HVB_GATEWAY_FORMAT(2, 3);
  bool (*gateway_log_enabled)(hvb_log_level level);
  /* The spec getters of <heavenbase/spec.h>. */
  const char *(*spec_preset)(const hvb_spec *spec);
  const char *(*spec_model)(const hvb_spec *spec);
  const char *(*spec_model_id)(const hvb_spec *spec);
  const char *(*spec_provider)(const hvb_spec *spec);
  const char *(*spec_gateway)(const hvb_spec *spec);
  const char *(*spec_base_url)(const hvb_spec *spec);
  bool (*spec_has_api_key)(const hvb_spec *spec);
  const char *(*spec_api_key)(const hvb_spec *spec);
  json_object *(*spec_args)(const hvb_spec *spec);
  json_object *(*spec_headers)(const hvb_spec *spec);
  json_object *(*spec_model_info)(const hvb_spec *spec);
  long (*spec_timeout_ms)(const hvb_spec *spec);
  /* The openai translation (the functions above, and its reading of error bodies: see the
   * descriptor's parse_error). */
  bool (*openai_prepare)(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                         hvb_wire_request *out, hvb_error *err);
  json_object *(*openai_parse)(const hvb_spec *spec, hvb_gateway_op op, json_object *body,
                               hvb_error *err);
  bool (*openai_parse_event)(void *state, const hvb_sse_event *ev, json_object *chunks,
                             bool *done, hvb_error *err);
  bool (*openai_parse_error)(const hvb_spec *spec, int http_status, json_object *body,
                             hvb_error *out);
  /* 1.2: a base URL and a path joined, the base's query string kept last. */
  bool (*wire_request_set_url_path)(hvb_wire_request *wr, const char *base_url,
                                    const char *path, hvb_error *err);
  /* Append new members here, with a minor bump. */
} hvb_gateway_host;

/* Does `host` have `member`? Only needed for members newer than the plugin's own minor. */
#define HVB_GATEWAY_HOST_HAS(host, member)                                                  \
  ((host) && offsetof(hvb_gateway_host, member) +                                           \
                     sizeof(((const hvb_gateway_host *)0)->member) <=                       \
                 (host)->size)

/* ---- the descriptor ---- */

/* WARNING: this struct is part of the ABI. Fields are only ever APPENDED, at the end, with a
 * minor version bump; never reordered, resized or removed. The library reads a field only when
 * offsetof(field) + sizeof(field) <= struct_size. (One exception, made once: `init` took only
 * the error in 1.0; the library calls a plugin's init the way its abi_minor says.) */
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

  /* Once, after loading, before any other operation, with the library's host table
   * (borrowed, valid for the life of the process; `*host_slot` already holds it). A plugin
   * whose init fails is recorded as broken and never used. Must not call the registry
   * functions of <heavenbase/registry.h>. (ABI 1.0: bool (*init)(hvb_error *err).) */
  bool (*init)(const hvb_gateway_host *host, hvb_error *err);
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

  /* ABI 1.1. */

  /* The body of an HTTP error response (status >= 400), parsed as JSON (borrowed; the
   * library calls this only for a body that parses) -> the provider's error type and message:
   * set them with hvb_gateway_fail_http(out, HVB_HTTP, http_status, type, "%s", message) and
   * return true. Return false, leaving `out` alone, for a body not in the provider's shape:
   * the library then reads it neutrally ({"error": "text"}, {"message": "text"}, or a short
   * excerpt of the raw text). The library puts the status and URL in front of the message.
   * NULL: the neutral reading. The openai translation's is hvb_openai_parse_error_op. */
  bool (*parse_error)(const hvb_spec *spec, int http_status, json_object *body,
                      hvb_error *out);
  /* Where the library stores the host table before calling init (HVB_GATEWAY_DEFINE points
   * it at the plugin's hvb_gateway_host_, which the macros call through). NULL: init's
   * argument is the only way in. */
  const hvb_gateway_host **host_slot;
} hvb_gateway_descriptor;

/* The one symbol a plugin exports. */
typedef const hvb_gateway_descriptor *(*hvb_gateway_query_fn)(void);
#define HVB_GATEWAY_QUERY_SYMBOL "hvb_gateway_query"

#define HVB_GATEWAY_EXPORT HVB_ATTR_VISIBLE
#define HVB_GATEWAY_HIDDEN HVB_ATTR_HIDDEN

#ifdef HVB_GATEWAY_PLUGIN
/* ---- plugin code: the library's functions, through the host table ----
 * hvb_gateway_host_ is defined by HVB_GATEWAY_DEFINE (in one file of the plugin) and filled
 * by the library before init; every file of the plugin shares it. */
extern HVB_GATEWAY_HIDDEN const hvb_gateway_host *hvb_gateway_host_;

#define hvb_wire_request_set_url (hvb_gateway_host_->wire_request_set_url)
#define hvb_wire_request_add_header (hvb_gateway_host_->wire_request_add_header)
#define hvb_wire_request_set_json (hvb_gateway_host_->wire_request_set_json)
#define hvb_wire_request_set_body (hvb_gateway_host_->wire_request_set_body)
#define hvb_wire_request_url (hvb_gateway_host_->wire_request_url)
#define hvb_gateway_fail (hvb_gateway_host_->gateway_fail)
#define hvb_gateway_fail_http (hvb_gateway_host_->gateway_fail_http)
#define hvb_gateway_op_name (hvb_gateway_host_->gateway_op_name)
#define hvb_gateway_log (hvb_gateway_host_->gateway_log)
#define hvb_gateway_log_enabled (hvb_gateway_host_->gateway_log_enabled)
#define hvb_spec_preset (hvb_gateway_host_->spec_preset)
#define hvb_spec_model (hvb_gateway_host_->spec_model)
#define hvb_spec_model_id (hvb_gateway_host_->spec_model_id)
#define hvb_spec_provider (hvb_gateway_host_->spec_provider)
#define hvb_spec_gateway (hvb_gateway_host_->spec_gateway)
#define hvb_spec_base_url (hvb_gateway_host_->spec_base_url)
#define hvb_spec_has_api_key (hvb_gateway_host_->spec_has_api_key)
#define hvb_spec_api_key (hvb_gateway_host_->spec_api_key)
#define hvb_spec_args (hvb_gateway_host_->spec_args)
#define hvb_spec_headers (hvb_gateway_host_->spec_headers)
#define hvb_spec_model_info (hvb_gateway_host_->spec_model_info)
#define hvb_spec_timeout_ms (hvb_gateway_host_->spec_timeout_ms)
#define hvb_openai_prepare (hvb_gateway_host_->openai_prepare)
#define hvb_openai_parse (hvb_gateway_host_->openai_parse)
#define hvb_openai_parse_event (hvb_gateway_host_->openai_parse_event)
#define hvb_openai_parse_error (hvb_gateway_host_->openai_parse_error)
#define hvb_wire_request_set_url_path (hvb_gateway_host_->wire_request_set_url_path)

/* The openai translation as descriptor operations: a static initializer cannot name a
 * member of the table, so these small functions stand in for it
 * (.parse = hvb_openai_parse_op). */
static inline bool hvb_openai_prepare_op(const hvb_spec *spec, hvb_gateway_op op,
                                         json_object *canonical, hvb_wire_request *out,
                                         hvb_error *err) {
  return hvb_openai_prepare(spec, op, canonical, out, err);
}
static inline json_object *hvb_openai_parse_op(const hvb_spec *spec, hvb_gateway_op op,
                                               json_object *body, hvb_error *err) {
  return hvb_openai_parse(spec, op, body, err);
}
static inline bool hvb_openai_parse_event_op(void *state, const hvb_sse_event *ev,
                                             json_object *chunks, bool *done, hvb_error *err) {
  return hvb_openai_parse_event(state, ev, chunks, done, err);
}
static inline bool hvb_openai_parse_error_op(const hvb_spec *spec, int http_status,
                                             json_object *body, hvb_error *out) {
  return hvb_openai_parse_error(spec, http_status, body, out);
}

#define HVB_GATEWAY_HOST_DEFINE_ HVB_GATEWAY_HIDDEN const hvb_gateway_host *hvb_gateway_host_;
#define HVB_GATEWAY_HOST_SLOT_ .host_slot = &hvb_gateway_host_,
#else
#define HVB_GATEWAY_HOST_DEFINE_
#define HVB_GATEWAY_HOST_SLOT_
#endif

/* Define the descriptor and hvb_gateway_query (and, for a plugin, hvb_gateway_host_).
 * `name_` is a bare identifier (the file must be hb-gateway-<name_>.so); the operations follow
 * as designated initializers. */
#define HVB_GATEWAY_DEFINE(name_, version_, description_, license_, caps_, ...)            \
  HVB_GATEWAY_HOST_DEFINE_                                                                \
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
      HVB_GATEWAY_HOST_SLOT_                                                              \
      __VA_ARGS__};                                                                       \
  HVB_GATEWAY_EXPORT const hvb_gateway_descriptor *hvb_gateway_query(void);               \
  HVB_GATEWAY_EXPORT const hvb_gateway_descriptor *hvb_gateway_query(void) {              \
    return &hvb_gateway_descriptor_;                                                      \
  }

#ifdef __cplusplus
}
#endif

#endif
