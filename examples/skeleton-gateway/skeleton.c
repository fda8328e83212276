/* skeleton.c: a complete HeavenBase gateway, to copy and rename.
 *
 * It speaks OpenAI-compatible HTTP through the library's own translation (hvb_openai_*) and
 * adds one header, as gateways in front of OpenAI-compatible servers usually do (a routing
 * key, a team id). Rename it by changing the first argument of HVB_GATEWAY_DEFINE and the file
 * name (hb-gateway-<name>.so) together.
 *
 * Rules a gateway follows (docs/gateway-abi.md has the whole contract):
 * - no global mutable state: operations run on several threads at once;
 * - never print, exit or abort: report through hvb_gateway_fail, naming what was wrong,
 *   never including a key;
 * - json_object arguments are borrowed; what parse returns is a new reference.
 *
 * ABI 1.1: with HVB_GATEWAY_PLUGIN defined before the include, every hvb_* call below goes
 * through the host table the library hands the plugin when it loads it, so the plugin needs no
 * symbol from the process (`nm -D --undefined-only hb-gateway-skeleton.so | grep hvb_` shows
 * nothing) and loads even in a host that opened libheavenbase RTLD_LOCAL.
 */
#define HVB_GATEWAY_PLUGIN 1
#include <heavenbase/gateway.h>

#include <string.h>

/* Once, after loading: check what the gateway needs (a licence file, an environment
 * variable...). Failing here marks the plugin "broken" with this message in
 * `hb gateways list --all`, and calls fall back to the built-in openai gateway. `host` is the
 * library's table (HVB_GATEWAY_DEFINE has stored it already: the hvb_* macros work here). */
static bool skeleton_init(const hvb_gateway_host *host, hvb_error *err) {
  (void)err;
  hvb_gateway_log(HVB_LOG_DEBUG, "skeleton: loaded by a library of gateway ABI %u.%u",
                  (unsigned)host->abi_major, (unsigned)host->abi_minor);
  return true;
}

/* Refuse combinations the capabilities cannot express. */
static bool skeleton_supports(const hvb_spec *spec, hvb_gateway_op op, hvb_error *err) {
  const char *provider = hvb_spec_provider(spec);
  if (op == HVB_GATEWAY_OP_EMBED && provider && strcmp(provider, "anthropic") == 0)
    return hvb_gateway_fail(err, HVB_UNSUPPORTED,
                            "skeleton has no embeddings for provider 'anthropic'");
  return true;
}

/* The canonical request is OpenAI's own form: let the library build the URL, headers and
 * body, then add ours. */
static bool skeleton_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                             hvb_wire_request *out, hvb_error *err) {
  return hvb_openai_prepare(spec, op, canonical, out, err) &&
         hvb_wire_request_add_header(out, "X-Skeleton-Gateway", "1", err);
}

HVB_GATEWAY_DEFINE(skeleton, "1.0.0", "OpenAI-compatible HTTP with an X-Skeleton-Gateway header",
                   "MIT", HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EMBED,
                   .init = skeleton_init, .supports = skeleton_supports,
                   .prepare = skeleton_prepare, .parse = hvb_openai_parse_op,
                   .parse_event = hvb_openai_parse_event_op,
                   .parse_error = hvb_openai_parse_error_op)
