/* plugins/common/openai-compat.h: what the OpenAI-compatible gateway servers (portkey, bifrost,
 * litellm) share. Compiled into each of their plugins (hidden symbols, like any plugin code but
 * hvb_gateway_query), so that a fix here reaches all three.
 *
 * Such a gateway speaks OpenAI's wire format to us and reaches the provider itself, so the
 * library's openai translation (hvb_openai_prepare/parse/parse_event) does nearly all the work.
 * What differs between them is small and described by a compat_gateway:
 *   - how the gateway names our providers ("lmstudio" is LiteLLM's "lm_studio");
 *   - whether the model id carries the provider as a prefix ("deepseek/deepseek-v4-flash");
 *   - which request options are the gateway's own, and so never go into the request body
 *     (portkey's "custom_host"), since the provider would reject an unknown field;
 *   - which (provider, operation) pairs the gateway is known not to serve.
 */
#ifndef HVB_PLUGINS_OPENAI_COMPAT_H
#define HVB_PLUGINS_OPENAI_COMPAT_H

#include <stdbool.h>
#include <heavenbase/gateway.h>

/* Our provider name -> the gateway's name for it. `needs_host`: the gateway only knows how to
 * reach that provider when told its address (a server on the user's machine, or any
 * OpenAI-compatible endpoint), so a request without one is refused before it goes out. */
typedef struct compat_provider {
  const char *provider;
  const char *slug;
  bool needs_host;
} compat_provider;

/* A (provider slug, operation) the gateway is known not to serve; provider NULL: any. */
typedef struct compat_unsupported {
  const char *slug; /* NULL: every provider */
  hvb_gateway_op op;
} compat_unsupported;

typedef struct compat_gateway {
  const char *name;                    /* "portkey" */
  const compat_provider *providers;    /* ends with {NULL}; unlisted providers keep their name */
  bool prefix_model;                   /* send "<slug>/<model id>" */
  const char *const *options;          /* gateway-only request options; NULL-terminated */
  const compat_unsupported *unsupported; /* ends with {NULL, 0}; may be NULL */
} compat_gateway;

/* The gateway's name for the spec's provider (borrowed from the table or the spec). */
const char *compat_slug(const compat_gateway *gw, const hvb_spec *spec);

/* Whether the spec's provider needs an address the gateway cannot know (see needs_host). */
bool compat_needs_host(const compat_gateway *gw, const hvb_spec *spec);

/* The model id to send (malloc'd): "<slug>/<id>" when the gateway wants the prefix and the id
 * lacks it, else the id as it is. NULL only when out of memory. */
char *compat_model_id(const compat_gateway *gw, const hvb_spec *spec, const char *id);

/* Gateway-only option `name`: from the canonical request, else from the spec's request
 * arguments (where `hb -o name=value` puts it); borrowed, NULL when absent or null. */
json_object *compat_option(const hvb_spec *spec, json_object *canonical, const char *name);

/* `supports` for descriptor tables: refuses the gateway's unsupported pairs with
 * HVB_UNSUPPORTED naming gateway, operation and provider. */
bool compat_supports(const compat_gateway *gw, const hvb_spec *spec, hvb_gateway_op op,
                     hvb_error *err);

/* hvb_openai_prepare on a copy of `canonical` (borrowed, left as it is) with the model id
 * shaped and the gateway-only options removed; refuses what compat_supports refuses. */
bool compat_prepare(const compat_gateway *gw, const hvb_spec *spec, hvb_gateway_op op,
                    json_object *canonical, hvb_wire_request *out, hvb_error *err);

/* Add header `name: value` unless the spec's headers (configuration, options) already set
 * it: theirs are sent by hvb_openai_prepare and win, as for every other header. */
bool compat_add_header(const hvb_spec *spec, hvb_wire_request *out, const char *name,
                       const char *value, hvb_error *err);

#endif
