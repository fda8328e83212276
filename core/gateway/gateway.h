/* core/gateway/gateway.h: gateways as the core sees them.
 *
 * A gateway is an hvb_gateway_descriptor (<heavenbase/gateway.h>): the built-in `openai`
 * one lives in core/gateway/openai.c, the others come from hb-gateway-<name>.so files that
 * core/gateway/registry.c loads. The pipeline never reads a descriptor directly: it reads the
 * registry record's `ops`, a full-size copy of the descriptor in which every field the
 * plugin's struct_size does not cover is NULL/0. That is how an older plugin (smaller
 * struct_size) keeps working: slots it does not have read as absent.
 *
 * The wire request is opaque to plugins (setters in gateway.h); the pipeline reads it
 * through the accessors below.
 */
#ifndef HVB_GATEWAY_INTERNAL_H
#define HVB_GATEWAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/gateway.h>
#include <heavenbase/registry.h>
#include <heavenbase/spec.h>
#include "base/fork.h"
#include "base/plugin.h"
#include "net/transport.h" /* hvb_http_part */

/* ---- wire requests (core/gateway/wire.c) ---- */

/* A new, empty wire request (URL "", no header, no body). Never NULL. */
hvb_wire_request *hvb__wire_request_new(void);
void hvb__wire_request_free(hvb_wire_request *wr); /* NULL is a no-op */

/* The header lines ("Name: value"), NULL-terminated, borrowed until the next change. */
const char *const *hvb__wire_request_headers(const hvb_wire_request *wr);
/* The body (NULL when none was set) and its length. Borrowed. */
const char *hvb__wire_request_body(const hvb_wire_request *wr, size_t *len);

/* A multipart/form-data body in place of the JSON one (the openai gateway's image edits):
 * append a part (everything copied; `filename` NULL for a plain field, `content_type` NULL
 * for none). A request with parts is sent as the form, its body (if any) is not. HVB_EINVAL
 * for a missing name or a line break in a name, file name or type. */
bool hvb__wire_request_add_part(hvb_wire_request *wr, const char *name, const char *filename,
                                const char *content_type, const void *data, size_t len,
                                hvb_error *err);
/* The parts (borrowed, NULL when none) and their number in *n. */
const hvb_http_part *hvb__wire_request_parts(const hvb_wire_request *wr, size_t *n);

/* ---- registry records (core/gateway/registry.c) ---- */

/* One candidate file, or the built-in gateway. Immutable once published in the registry
 * (records are never freed while the process runs: the plugin code they point into is never
 * unloaded either), so they may be read without the registry's lock. */
struct hvb_gateway_record {
  HVB_PLUGIN_RECORD_HEAD; /* name, path (NULL: built in), state, stage, reason, abi, usable */
  /* The descriptor's fields the library may read: a zeroed full-size struct into which the
   * fields inside the plugin's struct_size were copied. Strings point into the plugin. */
  hvb_gateway_descriptor ops;
  /* An ABI 1.0 plugin's init, which takes only the error (ops.init is then NULL). */
  bool (*init_1_0)(hvb_error *err);
};

/* The usable gateway called `name` (the built-in one or a loaded plugin), scanning the
 * gateway directories on first need. NULL when there is none, with *why (may be NULL) set to
 * a new string (g_free) saying why: no such file in the search path (listing the directories),
 * or the refused file's state, stage and reason. Thread-safe. */
const hvb_gateway_record *hvb__registry_find(const char *name, char **why);

/* The decision behind "environment variables are ignored in setuid/setgid processes": true
 * when the real and effective ids differ. Pure, so that tests can exercise it. */
bool hvb__registry_setid(unsigned long ruid, unsigned long euid, unsigned long rgid,
                         unsigned long egid);

/* The directories searched, in order, as new strings in a NULL-terminated vector (g_strfreev):
 * `api_dirs` (may be NULL), then, unless `secure`, $HB_GATEWAY_PATH (colon-separated; empty
 * items skipped) and ${XDG_DATA_HOME:-$HOME/.local/share}/heavenbase/gateways-1, then the
 * system directory ($HB_GATEWAY_SYSTEM_DIR when set and not `secure`, for test isolation;
 * else HVB_LIBDIR/heavenbase/gateways-1). Duplicates are kept: a file is recorded once by
 * path anyway. */
char **hvb__registry_dirs(const char *const *api_dirs, bool secure);

/* Forget every record and API path (unit tests only: never while an LLM uses a record, and
 * plugins stay mapped, so this leaks their handles by design). */
void hvb__registry_reset_for_tests(void);

/* ---- the built-in gateways ----
 * `openai` (core/gateway/openai.c) is the core's own and can never be replaced. The others
 * are plugins compiled into the library as well (plugins/builtin.c, outside core/ so that the
 * core names no plugin): a NULL-terminated list of their query functions. A file of the same
 * name in the search path wins over one of these; the built-in serves when there is none. */

extern const hvb_gateway_descriptor hvb__gateway_openai;
extern const hvb_gateway_query_fn hvb__builtin_gateways[];

/* OpenAI's error body {"error": {"message", "type", "code"}} -> out (HVB_HTTP, the type and
 * the message); false for a body of another shape. The openai gateway's parse_error, given to
 * plugins through the host table, and used for ABI 1.0 plugins, which predate parse_error. */
bool hvb__openai_parse_error(const hvb_spec *spec, int http_status, json_object *body,
                             hvb_error *out);

/* ---- the host table and error bodies (core/gateway/host.c) ---- */

/* The table handed to ABI 1.1 plugins: static, never NULL. */
const hvb_gateway_host *hvb__gateway_host(void);

/* An hvb_error_body_fn for the transport (core/net/transport.h), with the spec (hvb_spec *)
 * as its data: parses the body as JSON and asks the gateway the spec uses (its parse_error)
 * for the provider's error type and message. False when the body is not JSON or not in the
 * gateway's shape: the transport then reads it neutrally. */
bool hvb__gateway_error_body(void *spec, long status, const char *body, size_t len, char *type,
                             size_t type_size, char *message, size_t message_size);

/* "chat", "embeddings", "image generation": the operation as messages name it. */
const char *hvb__gateway_op_phrase(hvb_gateway_op op);

/* The HVB_GATEWAY_CAP_* bit an operation needs (0 for an unknown op). */
uint32_t hvb__gateway_op_cap(hvb_gateway_op op);

/* fork() handler, called by core/api/atfork.c. */
void hvb__registry_atfork(hvb_fork_phase phase);

#endif
