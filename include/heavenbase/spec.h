/* heavenbase/spec.h: the resolved, immutable description of one configured LLM.
 *
 * Resolution runs once, when an LLM is created:
 *   preset -> model (aliases) -> provider -> gateway -> runtime (base URL, key, timeouts)
 * Request arguments merge with this precedence (highest first):
 *   call options > constructor options > preset.default_args > provider.model_args[model id]
 *   > provider.default_args > model.default_args > heavenbase.llm.default_args
 *
 * Options (a JSON object; every key optional):
 *   "preset"        preset name (default: heavenbase.llm.default_preset, bundled "chat")
 *   "model"         model name or alias; an unknown name passes through as the identifier
 *   "provider"      provider name (must exist in the catalog)
 *   "gateway"       gateway name ("openai", "mock", ...); see "Gateway fallback" below
 *   "base_url"      overrides the provider's base URL (the gateway server's, for a gateway
 *                   server: see below)
 *   "api_key"       the key itself (never stored in clear, never printed)
 *   "api_key_env"   name of the environment variable holding the key
 *   "timeout", "connect_timeout", "idle_timeout" (seconds, numbers), "max_retries" (integer);
 *                   else heavenbase.llm.<same name> from the config; 0 means no limit
 *   "headers"       object of extra HTTP headers; they replace provider headers of the same
 *                   name (compared case-insensitively)
 *   "args"          object of request arguments (temperature, max_tokens, ...)
 *   "cache"         the response cache for this LLM: true, false or a settings object
 *                   (cache.h)
 *   "embedding_batch_size", "embedding_max_workers"  positive integers (embed.h)
 *   any other key   a request argument too ("temperature": 0 == "args": {"temperature": 0});
 *                   it wins over the same key inside "args"
 * A JSON null option is the same as an absent one. A request argument set to null at any
 * level removes the value a lower level gave it ("temperature": null).
 *
 * Gateway servers: when the gateway is one of the catalog's "gateways" (bundled: portkey,
 * bifrost, litellm), the gateway is a server of its own that reaches the provider itself, so
 * the base URL is the GATEWAY's: the "base_url" option, else the gateway's environment
 * variable (PORTKEY_BASE_URL, BIFROST_BASE_URL, LITELLM_BASE_URL), else its catalog default.
 * The key follows the gateway too: portkey forwards the provider's key and gets its own
 * ($PORTKEY_API_KEY) as the header "x-portkey-api-key" in hvb_spec_headers; litellm sends
 * $LITELLM_API_KEY instead of the provider's key; bifrost sends none. The "api_key" and
 * "api_key_env" options always win.
 *
 * The catalog schema (presets, models, providers, gateways) is documented at the top of
 * core/config/spec.c.
 *
 * Gateway fallback: the gateway is looked up in the registry (<heavenbase/registry.h>) while
 * resolving. When the requested gateway cannot be used (no such plugin file, or the file is
 * broken, incompatible or a duplicate), the spec uses the built-in "openai" gateway instead,
 * logs a warning, and records the requested name and the reason (hvb_spec_requested_gateway,
 * hvb_spec_gateway_fallback_reason, and "requested_gateway"/"gateway_fallback_reason" in
 * hvb_spec_to_json). With the config key heavenbase.llm.gateway_fallback set to false,
 * resolution fails instead with HVB_GATEWAY naming the gateway and the reason. What a loaded
 * gateway does not support (an operation, a provider) is never a fallback: calls fail with
 * HVB_UNSUPPORTED (see hvb_llm_supports).
 *
 * hash_key:   SHA-256 (hex) over the canonical JSON of model, model id, provider, gateway,
 *             base URL (another endpoint is another model server) and the resolved request
 *             arguments. Never covers secrets. Same bytes under any locale.
 * client_key: SHA-256 (hex) over gateway, a SHA-256 of the API key, base URL, headers,
 *             timeouts and retries: calls with equal client keys share HTTP connections. The
 *             key is never kept in clear in it.
 *
 * Ownership: specs are reference counted (hvb_spec_ref/hvb_spec_unref); getters return
 * strings borrowed from the spec. Thread safety: a spec is immutable and may be shared freely
 * between threads; ref/unref are atomic.
 */
#ifndef HEAVENBASE_SPEC_H
#define HEAVENBASE_SPEC_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/config.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvb_spec hvb_spec;

/* Resolve `options` (borrowed, may be NULL) against `cfg` (borrowed; NULL loads the
 * configuration afresh with hvb_config_load). Errors: HVB_NOT_FOUND for an unknown preset or
 * provider, with a message naming it, suggesting the closest name ("did you mean 'chat'?")
 * and listing the known ones; HVB_EINVAL for an option of the wrong type (named);
 * HVB_CONFIG for an inconsistent catalog entry (named). */
hvb_spec *hvb_spec_resolve(const hvb_config *cfg, json_object *options, hvb_error *err);

hvb_spec *hvb_spec_ref(hvb_spec *spec);
void hvb_spec_unref(hvb_spec *spec); /* NULL is a no-op */

const char *hvb_spec_preset(const hvb_spec *spec);   /* "chat" */
const char *hvb_spec_model(const hvb_spec *spec);    /* canonical model name, alias resolved */
const char *hvb_spec_model_id(const hvb_spec *spec); /* what the provider calls it */
const char *hvb_spec_provider(const hvb_spec *spec);
const char *hvb_spec_gateway(const hvb_spec *spec);   /* the gateway in use */
/* The gateway resolution asked for: equal to hvb_spec_gateway unless it fell back. */
const char *hvb_spec_requested_gateway(const hvb_spec *spec);
/* True when the requested gateway could not be used and "openai" stands in for it. */
bool hvb_spec_gateway_fallback(const hvb_spec *spec);
/* Why it fell back ("no file hb-gateway-x.so in the gateway path (...)", or the refused
 * file's state and reason); NULL when it did not. */
const char *hvb_spec_gateway_fallback_reason(const hvb_spec *spec);
const char *hvb_spec_base_url(const hvb_spec *spec); /* no trailing slash; "" when none */
bool hvb_spec_has_api_key(const hvb_spec *spec);
const char *hvb_spec_api_key_env(const hvb_spec *spec); /* variable consulted, or NULL */
/* True when calls need the key: the provider's catalog entry (or, for a gateway server, the
 * gateway's) says "requires_key" and the caller did not give the endpoint itself (a
 * "base_url" option or preset field). A call then fails with HVB_AUTH, before any request,
 * while hvb_spec_has_api_key is false; resolution itself succeeds, so that the spec can
 * still be shown. */
bool hvb_spec_api_key_required(const hvb_spec *spec);
const char *hvb_spec_hash_key(const hvb_spec *spec);    /* 64 hex digits */
const char *hvb_spec_client_key(const hvb_spec *spec);  /* 64 hex digits */

/* Resolved request arguments (temperature, max_tokens, ...), borrowed, never NULL. */
json_object *hvb_spec_args(const hvb_spec *spec);

/* Extra HTTP headers from the provider and options, borrowed JSON object, never NULL. */
json_object *hvb_spec_headers(const hvb_spec *spec);

/* Model facts from the catalog (the model's catalog object), borrowed; NULL for a model that
 * is not in the catalog. */
json_object *hvb_spec_model_info(const hvb_spec *spec);

/* Transport settings in milliseconds / counts. */
long hvb_spec_timeout_ms(const hvb_spec *spec);
long hvb_spec_connect_timeout_ms(const hvb_spec *spec);
long hvb_spec_idle_timeout_ms(const hvb_spec *spec);
int hvb_spec_max_retries(const hvb_spec *spec);
/* The cap on a reply's body in bytes, streamed or not (option and config key
 * max_response_bytes; default 64 MiB): a larger reply fails with HVB_TOO_LARGE. */
long long hvb_spec_max_response_bytes(const hvb_spec *spec);

/* When the options named a route (heavenbase.llm.routes.NAME, docs/routing.md), its view
 * {"name", "strategy", "targets": [{"label", "preset"|"model", "provider", "gateway"}...],
 * "fall_through", "max_targets", "deadline"}, borrowed from the spec, which then describes
 * the route's first target; NULL otherwise. hvb_spec_to_json shows it as "route". */
json_object *hvb_spec_route(const hvb_spec *spec);

/* The spec as a new JSON object (caller owns the reference): preset, model, model_id,
 * provider, gateway (after a fallback also requested_gateway and gateway_fallback_reason),
 * base_url, api_key_env (null when none), api_key, api_key_set and api_key_required
 * (booleans), args, headers,
 * timeout, connect_timeout, idle_timeout (seconds), max_retries, max_response_bytes,
 * hash_key, client_key.
 * The API key appears only when `include_secrets` is true; otherwise "api_key" is "<set>" or
 * absent, the values of headers whose name contains "auth", "key" or "token" (any case)
 * read "<redacted>", and "base_url" is shown as error messages show URLs: its user info and
 * the values of query parameters named like credentials ("key", "api_key", "token", "sig"...)
 * read "[REDACTED]". */
json_object *hvb_spec_to_json(const hvb_spec *spec, bool include_secrets);

/* The API key in clear, for gateways building a request; borrowed, NULL when none. Never
 * log or print it. */
const char *hvb_spec_api_key(const hvb_spec *spec);

#ifdef __cplusplus
}
#endif

#endif
