/* core/gateway/host.c: the host table handed to ABI 1.1 plugins (<heavenbase/gateway.h>), and
 * the gateways' reading of HTTP error bodies for the transport.
 *
 * The table is the one way a 1.1 plugin reaches the library, so plugins need no symbol from
 * the process that loads them (SQLite's sqlite3_api_routines is the model). It is static and
 * never changes; new members are appended with a minor bump (see the warning on the struct).
 */
#include "gateway/gateway.h"
#include "base/common.h"
#include "base/error.h"
#include "base/log.h"
#include "text/json.h"

#include <glib.h>
#include <string.h>

static void host_log(hvb_log_level level, const char *fmt, ...) HVB_PRINTF(2, 3);
static void host_log(hvb_log_level level, const char *fmt, ...) {
  if (!fmt || !hvb__log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  /* hvb__log redacts (registered keys, bearer tokens): a plugin's line gets what ours get. */
  hvb__log(level, "%s", msg);
  g_free(msg);
}

static const hvb_gateway_host host = {
    .size = (uint32_t)sizeof(hvb_gateway_host),
    .abi_major = HVB_GATEWAY_ABI_MAJOR,
    .abi_minor = HVB_GATEWAY_ABI_MINOR,
    .wire_request_set_url = hvb_wire_request_set_url,
    .wire_request_add_header = hvb_wire_request_add_header,
    .wire_request_set_json = hvb_wire_request_set_json,
    .wire_request_set_body = hvb_wire_request_set_body,
    .wire_request_url = hvb_wire_request_url,
    .gateway_fail = hvb_gateway_fail,
    .gateway_fail_http = hvb_gateway_fail_http,
    .gateway_op_name = hvb_gateway_op_name,
    .gateway_log = host_log,
    .gateway_log_enabled = hvb__log_enabled,
    .spec_preset = hvb_spec_preset,
    .spec_model = hvb_spec_model,
    .spec_model_id = hvb_spec_model_id,
    .spec_provider = hvb_spec_provider,
    .spec_gateway = hvb_spec_gateway,
    .spec_base_url = hvb_spec_base_url,
    .spec_has_api_key = hvb_spec_has_api_key,
    .spec_api_key = hvb_spec_api_key,
    .spec_args = hvb_spec_args,
    .spec_headers = hvb_spec_headers,
    .spec_model_info = hvb_spec_model_info,
    .spec_timeout_ms = hvb_spec_timeout_ms,
    .openai_prepare = hvb_openai_prepare,
    .openai_parse = hvb_openai_parse,
    .openai_parse_event = hvb_openai_parse_event,
    .openai_parse_error = hvb__openai_parse_error,
    .wire_request_set_url_path = hvb_wire_request_set_url_path,
};

const hvb_gateway_host *hvb__gateway_host(void) {
  return &host;
}

bool hvb__gateway_error_body(void *spec, long status, const char *body, size_t len, char *type,
                             size_t type_size, char *message, size_t message_size) {
  if (!spec || !body || !len) return false;
  const hvb_gateway_record *gw = hvb__registry_find(hvb_spec_gateway(spec), NULL);
  if (!gw || !gw->ops.parse_error) return false;
  json_object *root = hvb__json_parse(body, (long)len, "error body", NULL);
  if (!root) return false;
  hvb_error e = HVB_ERROR_INIT;
  bool ok = gw->ops.parse_error(spec, (int)status, root, &e);
  json_object_put(root);
  if (!ok) return false;
  g_strlcpy(type, e.type, type_size);
  g_strlcpy(message, e.message, message_size);
  return true;
}
