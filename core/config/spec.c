/* core/config/spec.c: resolving options against the configuration and the catalog into an hvb_spec.
 *
 * The catalog schema
 * ------------------
 * The catalog is one JSON object, {"presets": {...}, "models": {...}, "providers": {...},
 * "gateways": {...}}, made from the bundled data/catalog.json, the catalog.d drop-in files and the config's
 * heavenbase.llm.presets/models/providers/gateways (core/config/config.c merges them). Each section maps a
 * name to an entry object; every field is optional unless marked, and fields this version
 * does not know are ignored (so that a drop-in written for a newer library still loads).
 *
 *   preset    "model"         model name or alias (a preset without one needs the "model"
 *                             option, e.g. "custom")
 *             "offline"       true: answers without network or key (named as the way out
 *                             when a key is missing)
 *             "provider"      provider name
 *             "gateway"       gateway name
 *             "base_url"      overrides the provider's base URL
 *             "default_args"  object: request arguments
 *             "description"   one line for people (expected)
 *
 *   model     "aliases"       array of other names that resolve to this model
 *             "ids"           object: provider name -> that provider's id for the model
 *                             (absent: the model name itself)
 *             "default_provider"  provider used when neither options nor preset name one
 *             "kind"          "chat", "embedding" or "image"
 *             "dimension"     positive integer: vector size of an embedding model
 *             "rejects_args"  array of names: request arguments the model refuses, never
 *                             sent in its embeddings and image requests whoever set them
 *                             (["response_format"] for image models that always answer
 *                             with b64_json, which the library otherwise asks for)
 *             "reference_images"  where an image model takes reference images (the
 *                             "images" option of image generation): "edits" (uploaded as
 *                             files, multipart/form-data, to the images edits route: the
 *                             GPT image models) or "generations" (inline in the JSON
 *                             generations request's "image" array). Absent: the model takes
 *                             none, and a request with some is refused (HVB_UNSUPPORTED)
 *             "default_args"  object: request arguments
 *             "description"   one line for people
 *
 *   provider  "base_url"      endpoint root, e.g. "https://api.openai.com/v1" ("" for
 *                             offline providers and for "custom", where it comes from options)
 *             "api_key_env"   environment variable holding the key
 *             "requires_key"  true: a call fails (HVB_AUTH) before any request when the key
 *                             is missing, unless the caller gave the endpoint (base_url)
 *             "gateway"       default gateway for this provider
 *             "headers"       object of strings: extra HTTP headers
 *             "default_args"  object: request arguments
 *             "model_args"    object: provider's model id -> request arguments for it
 *             "embedding_batch_size"  positive integer: inputs per embeddings request
 *             "embedding"     object: how the provider's embeddings route differs from the
 *                             canonical request (core/config/shape.c applies it, in this order):
 *               "fields"      object of strings: request field -> the name the provider
 *                             takes it under ("dimensions": "output_dimension"; a field
 *                             mapped to itself is taken as is). A canonical field that
 *                             OpenAI's API lacks ("input_type") is sent only to a provider
 *                             that names it here; the other fields go as they are
 *               "rejects"     array of names: fields never sent ("encoding_format")
 *               "set"         object: fields sent with every request, replacing the
 *                             caller's ("encoding_format": "float")
 *             "rate_limit_headers"  object of strings: the reply headers the provider
 *                             states its rate limits in, by meaning: "requests_remaining",
 *                             "requests_reset", "tokens_remaining", "tokens_reset" (a reset
 *                             is a duration, "6m0s", or an RFC 3339 time). A routed call
 *                             learns from them (core/call/ratelimit-headers.c); a gateway's
 *                             entry may give its own, which then win
 *             "description"   one line for people (expected)
 *
 *   gateway   (only gateways that are servers of their own, such as the shipped proxy
 *             plugins; see data/catalog.json)
 *             "base_url"      the gateway server's endpoint root, used instead of the
 *                             provider's: the gateway reaches the provider itself
 *             "base_url_env"  environment variable that overrides "base_url"
 *             "api_key_env"   environment variable holding the gateway's own key
 *             "requires_key"  as for providers; the provider's is not consulted
 *             "api_key_header"  header that carries the gateway's key, next to the
 *                             provider's key as the bearer token (for a server that
 *                             forwards the provider's key); absent: the gateway's key IS
 *                             the bearer token and the provider's key is never sent (a
 *                             server that holds the provider keys itself has no use for
 *                             it, and a key must not reach a server that does not need it)
 *             "description"   one line for people
 *
 * A drop-in file holds any subset of the four sections; its entries merge into the entries
 * already there (objects key by key, anything else replaces). A drop-in with an entry that
 * breaks this schema is skipped whole, with a warning.
 *
 * Resolution (first that is set wins; "config" means heavenbase.llm.<key>)
 * ----------
 *   preset    options.preset, config default_preset, "chat"
 *   model     options.model, preset.model; a name or alias of a catalog model gives that
 *             model, any other name passes through unchanged
 *   provider  options.provider, preset.provider, model.default_provider, config
 *             default_provider, "openai"
 *   model_id  model.ids[provider], the model name
 *   gateway   options.gateway, provider.gateway when options name the provider,
 *             preset.gateway, provider.gateway, config default_gateway,
 *             "openai"; a gateway that cannot be loaded becomes "openai" (the fallback,
 *             logged as a warning and recorded: requested_gateway, gateway_fallback_reason)
 *             unless config gateway_fallback is false, which makes it an HVB_GATEWAY error
 *   base_url  options.base_url, preset.base_url, provider.base_url, "" (trailing '/' cut);
 *             for a gateway of the "gateways" section (the gateway used, so after a
 *             fallback the provider's): options.base_url, $gateway.base_url_env,
 *             gateway.base_url (the provider's and the preset's are the provider's
 *             endpoint, which the gateway server knows itself)
 *   api key   options.api_key, $options.api_key_env, $provider.api_key_env; for a gateway
 *             of the "gateways" section without "api_key_header", $gateway.api_key_env
 *             replaces $provider.api_key_env
 *   args      merged, lowest first: config default_args, model.default_args,
 *             provider.default_args, provider.model_args[model_id], preset.default_args,
 *             options.args, unknown top-level options
 *   timeouts  options, config timeout/connect_timeout/idle_timeout/max_retries, and the
 *             cap on reply bodies, max_response_bytes (default 64 MiB)
 *   headers   provider.headers, then options.headers, then (when the gateway has
 *             "api_key_header" and its key is set, unless the header is there already)
 *             api_key_header: $gateway.api_key_env
 * Two choices made here:
 * - hash_key covers the base URL: the same model name on another endpoint (a local server, a
 *   custom deployment) is another model server, whose answers must not share cache entries.
 * - A request argument set to null removes the argument inherited from a lower level
 *   ("temperature": null for a model that rejects temperature).
 */
#include "config/spec.h"
#include "config/options.h"
#include "text/hash.h"
#include "text/json.h"
#include "text/suggest.h"
#include "config/config.h"
#include "config/route.h"
#include "base/common.h"
#include "base/log.h"
#include "base/env.h"
#include "base/error.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <heavenbase/spec.h>

#include "config/spec-impl.h"

/* ---- value checks, shared by options, config keys and catalog entries ---- */

typedef enum field_kind {
  F_NAME,       /* non-empty string */
  F_STRING,
  F_OBJECT,
  F_NAMES,      /* array of non-empty strings */
  F_STRING_MAP, /* object of strings */
  F_OBJECT_MAP, /* object of objects */
  F_COUNT,      /* integer >= 1 */
  F_SECONDS,    /* number of seconds, 0 .. MAX_SECONDS */
  F_RETRIES,    /* integer 0 .. MAX_RETRIES */
  F_KIND,       /* "chat", "embedding" or "image" */
  F_BOOL,       /* true or false */
  F_SWITCH      /* true, false or an object of settings (the response cache) */
} field_kind;

/* Bounds that keep the millisecond arithmetic far from overflow and catch typos (a timeout
 * given in milliseconds, a retry count of 1000). */
#define MAX_SECONDS 1e7
#define MAX_RETRIES 100
/* The cap on a reply's body when no layer sets one: large enough for any chat or batch of
 * embeddings, small enough that a broken server cannot exhaust memory. */
#define DEFAULT_MAX_RESPONSE_BYTES (64LL << 20)

typedef struct field_rule {
  const char *name;
  field_kind kind;
} field_rule;

static const char *kind_text(field_kind kind) {
  switch (kind) {
  case F_NAME: return "a non-empty string";
  case F_STRING: return "a string";
  case F_OBJECT: return "an object";
  case F_NAMES: return "an array of non-empty strings";
  case F_STRING_MAP: return "an object of strings";
  case F_OBJECT_MAP: return "an object of objects";
  case F_COUNT: return "a positive integer";
  case F_SECONDS: return "a number of seconds from 0 to 10000000";
  case F_RETRIES: return "an integer from 0 to 100";
  case F_SWITCH: return "true, false or an object";
  case F_KIND: return "\"chat\", \"embedding\" or \"image\"";
  case F_BOOL: return "true or false";
  }
  return "valid";
}

static bool all_members_are(json_object *obj, json_type type, bool non_empty) {
  json_object_object_foreach(obj, key, val) {
    (void)key;
    if (!json_object_is_type(val, type)) return false;
    if (non_empty && json_object_get_string_len(val) == 0) return false;
  }
  return true;
}

static bool value_fits(json_object *v, field_kind kind) {
  switch (kind) {
  case F_NAME:
    return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0;
  case F_STRING:
    return json_object_is_type(v, json_type_string);
  case F_OBJECT:
    return json_object_is_type(v, json_type_object);
  case F_NAMES:
    if (!json_object_is_type(v, json_type_array)) return false;
    for (size_t i = 0, n = json_object_array_length(v); i < n; i++) {
      json_object *item = json_object_array_get_idx(v, i);
      if (!json_object_is_type(item, json_type_string) || json_object_get_string_len(item) == 0)
        return false;
    }
    return true;
  case F_STRING_MAP:
    return json_object_is_type(v, json_type_object) && all_members_are(v, json_type_string, false);
  case F_OBJECT_MAP:
    return json_object_is_type(v, json_type_object) && all_members_are(v, json_type_object, false);
  case F_COUNT:
    return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 1;
  case F_SECONDS: {
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
      return false;
    double d = json_object_get_double(v);
    return isfinite(d) && d >= 0 && d <= MAX_SECONDS;
  }
  case F_RETRIES:
    return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
           json_object_get_int64(v) <= MAX_RETRIES;
  case F_KIND: {
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    return !strcmp(s, "chat") || !strcmp(s, "embedding") || !strcmp(s, "image");
  }
  case F_BOOL:
    return json_object_is_type(v, json_type_boolean);
  case F_SWITCH:
    return json_object_is_type(v, json_type_boolean) || json_object_is_type(v, json_type_object);
  }
  return false;
}

/* `subject` names what is checked ("option 'timeout'"). Numbers and booleans are quoted back
 * in the message; strings and containers only by type, since a misplaced string could be a
 * key. */
static bool check_value(json_object *v, field_kind kind, hvb_status status,
                        const char *subject, hvb_error *err) {
  if (value_fits(v, kind)) return true;
  json_type type = json_object_get_type(v);
  char got[64];
  if (type == json_type_int || type == json_type_double || type == json_type_boolean) {
    char *text = hvb__json_canonical(v);
    snprintf(got, sizeof got, "%s", text);
    g_free(text);
  } else {
    snprintf(got, sizeof got, "%s", hvb__json_type_phrase(v));
  }
  return hvb__fail(err, status, "%s must be %s, not %s", subject, kind_text(kind), got);
}

/* ---- the catalog schema ---- */

static const field_rule preset_rules[] = {
  {"model", F_NAME}, {"provider", F_NAME}, {"gateway", F_NAME}, {"base_url", F_STRING},
  {"default_args", F_OBJECT}, {"description", F_STRING}, {"offline", F_BOOL}, {NULL, 0}};
static const field_rule model_rules[] = {
  {"aliases", F_NAMES}, {"ids", F_STRING_MAP}, {"default_provider", F_NAME}, {"kind", F_KIND},
  {"dimension", F_COUNT}, {"rejects_args", F_NAMES}, {"default_args", F_OBJECT},
  {"description", F_STRING}, {"reference_images", F_NAME}, {NULL, 0}};
static const field_rule provider_rules[] = {
  {"base_url", F_STRING}, {"api_key_env", F_NAME}, {"gateway", F_NAME},
  {"headers", F_STRING_MAP}, {"default_args", F_OBJECT}, {"model_args", F_OBJECT_MAP},
  {"embedding_batch_size", F_COUNT}, {"embedding", F_OBJECT}, {"description", F_STRING},
  {"requires_key", F_BOOL}, {"rate_limit_headers", F_STRING_MAP}, {NULL, 0}};
static const field_rule gateway_rules[] = {
  {"base_url", F_STRING}, {"base_url_env", F_NAME}, {"api_key_env", F_NAME},
  {"api_key_header", F_NAME}, {"description", F_STRING}, {"requires_key", F_BOOL},
  {"rate_limit_headers", F_STRING_MAP}, {NULL, 0}};

static const field_rule route_rules[] = {{NULL, 0}}; /* checked by core/config/route.c */

static const struct {
  const char *section, *singular;
  const field_rule *rules;
} sections[] = {
  {"presets", "preset", preset_rules},
  {"models", "model", model_rules},
  {"providers", "provider", provider_rules},
  {"gateways", "gateway", gateway_rules},
  {"routes", "route", route_rules}};

bool hvb__catalog_entry_check(const char *section, const char *name, json_object *entry,
                              hvb_error *err) {
  for (size_t s = 0; s < G_N_ELEMENTS(sections); s++) {
    if (strcmp(section, sections[s].section) != 0) continue;
    if (sections[s].rules == route_rules) return hvb__route_entry_check(name, entry, err);
    if (!json_object_is_type(entry, json_type_object))
      return hvb__fail(err, HVB_CONFIG, "catalog %s '%s' must be an object",
                       sections[s].singular, name);
    for (const field_rule *r = sections[s].rules; r->name; r++) {
      json_object *v = NULL;
      /* null reads as absent: it is how a config layer clears a field it inherited. */
      if (!json_object_object_get_ex(entry, r->name, &v) || !v) continue;
      char *subject = g_strdup_printf("catalog %s '%s': '%s'", sections[s].singular, name,
                                      r->name);
      bool ok = check_value(v, r->kind, HVB_CONFIG, subject, err);
      g_free(subject);
      if (!ok) return false;
    }
    return true;
  }
  return hvb__fail(err, HVB_CONFIG, "unknown catalog section '%s'", section);
}

bool hvb__catalog_check(json_object *fragment, const char *what, hvb_error *err) {
  if (!json_object_is_type(fragment, json_type_object))
    return hvb__fail(err, HVB_CONFIG, "%s: a catalog must be a JSON object", what);
  json_object_object_foreach(fragment, key, section) {
    bool known = false;
    for (size_t s = 0; s < G_N_ELEMENTS(sections) && !known; s++)
      known = strcmp(key, sections[s].section) == 0;
    if (!known) {
      hvb__log(HVB_LOG_INFO, "%s: unknown catalog section '%s' ignored", what, key);
      continue;
    }
    if (!json_object_is_type(section, json_type_object))
      return hvb__fail(err, HVB_CONFIG, "%s: '%s' must be an object", what, key);
    json_object_object_foreach(section, name, entry) {
      if (!hvb__catalog_entry_check(key, name, entry, err)) {
        hvb__error_prefix(err, "%s", what);
        return false;
      }
    }
  }
  return true;
}

/* ---- options ---- */

/* The options and their kinds are the one table of core/config/options.c: a library option
 * (of either scope) is never a request argument, and one of a call only is refused here. */
static bool is_known_option(const char *key) { return hvb__option_is_library(key); }

static bool check_options(json_object *options, hvb_error *err) {
  if (!options) return true;
  if (!json_object_is_type(options, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "options must be a JSON object, not %s",
                     hvb__json_type_phrase(options));
  return hvb__options_check(options, HVB__SCOPE_LLM, err);
}

/* Member `name` of `obj` (options or a catalog entry), NULL when absent or null. */
static json_object *member(json_object *obj, const char *name) {
  json_object *v = NULL;
  if (!obj) return NULL;
  json_object_object_get_ex(obj, name, &v);
  return v;
}

/* String member; the schema checks have made sure it is one when present. */
static const char *member_str(json_object *obj, const char *name) {
  return hvb__json_str(obj, name);
}

/* A config value under heavenbase.llm, checked; *out NULL when absent. */
static bool config_value(const hvb_config *cfg, const char *name, field_kind kind,
                         json_object **out, hvb_error *err) {
  char *key = g_strconcat("heavenbase.llm.", name, NULL);
  json_object *v = hvb_config_get(cfg, key);
  bool ok = true;
  if (v) {
    char *subject = g_strdup_printf("config key '%s'", key);
    ok = check_value(v, kind, HVB_CONFIG, subject, err);
    g_free(subject);
  }
  g_free(key);
  *out = ok ? v : NULL;
  return ok;
}

/* ---- resolution ---- */

/* `origin` says where a name came from when it was not an option ("preset 'chat'"). */
static bool fail_unknown(hvb_error *err, const char *origin, const char *what,
                         const char *plural, const char *name, json_object *known) {
  const char *near = hvb__suggest(name, known);
  char *list = hvb__json_keys_list(known);
  hvb__fail(err, HVB_NOT_FOUND, "%s%sunknown %s '%s'%s%s%s; known %s: %s", origin ? origin : "",
            origin ? ": " : "", what, name, near ? " (did you mean '" : "", near ? near : "",
            near ? "'?)" : "", plural, *list ? list : "(none)");
  g_free(list);
  return false;
}

/* The catalog entry `name` of `section`, schema-checked (config layers add entries that no
 * drop-in check has seen). */
static bool catalog_entry(json_object *catalog, const char *section, const char *name,
                          json_object **entry, hvb_error *err) {
  *entry = member(json_object_object_get(catalog, section), name);
  return !*entry || hvb__catalog_entry_check(section, name, *entry, err);
}

/* The model named `name` directly or by alias: its canonical name (`name` itself or a key
 * borrowed from the catalog), or NULL for a model the catalog does not know. */
static const char *find_model(json_object *models, const char *name) {
  if (json_object_object_get_ex(models, name, NULL)) return name;
  json_object_object_foreach(models, key, entry) {
    json_object *aliases = member(entry, "aliases");
    if (!json_object_is_type(aliases, json_type_array)) continue;
    for (size_t i = 0, n = json_object_array_length(aliases); i < n; i++) {
      const char *alias = json_object_get_string(json_object_array_get_idx(aliases, i));
      if (alias && !strcmp(alias, name)) return key;
    }
  }
  return NULL;
}

/* Remove members set to null, at every depth: null is how a higher level drops an argument
 * a lower one set. */
static void drop_nulls(json_object *obj) {
  GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
  json_object_object_foreach(obj, key, val) {
    if (!val)
      g_ptr_array_add(gone, g_strdup(key));
    else if (json_object_is_type(val, json_type_object))
      drop_nulls(val);
  }
  for (guint i = 0; i < gone->len; i++) json_object_object_del(obj, gone->pdata[i]);
  g_ptr_array_free(gone, TRUE);
}

static bool resolve_args(hvb_spec *spec, const hvb_config *cfg, json_object *preset,
                         json_object *provider, json_object *options, hvb_error *err) {
  json_object *base = NULL;
  if (!config_value(cfg, "default_args", F_OBJECT, &base, err)) return false;
  spec->args = json_object_new_object();
  json_object *levels[] = {
    base,
    member(spec->model_info, "default_args"),
    member(provider, "default_args"),
    member(member(provider, "model_args"), spec->model_id),
    member(preset, "default_args"),
    member(options, "args"),
  };
  for (size_t i = 0; i < G_N_ELEMENTS(levels); i++)
    if (levels[i]) hvb__json_merge(spec->args, levels[i]);
  /* Unknown top-level options are arguments too, and win over "args" as the more specific
   * spelling. */
  if (options) {
    json_object_object_foreach(options, key, val) {
      if (!is_known_option(key)) json_object_object_add(spec->args, key, hvb__json_copy(val));
    }
  }
  drop_nulls(spec->args);
  return true;
}

static bool resolve_seconds(const hvb_config *cfg, json_object *options, const char *name,
                            long *ms, hvb_error *err) {
  json_object *v = member(options, name);
  if (!v && !config_value(cfg, name, F_SECONDS, &v, err)) return false;
  /* Absent everywhere (the bundled config sets all of them): 0, which the transport reads
   * as "no limit". */
  *ms = v ? (long)llround(json_object_get_double(v) * 1000.0) : 0;
  return true;
}

static bool resolve_transport(hvb_spec *spec, const hvb_config *cfg, json_object *options,
                              hvb_error *err) {
  if (!resolve_seconds(cfg, options, "timeout", &spec->timeout_ms, err) ||
      !resolve_seconds(cfg, options, "connect_timeout", &spec->connect_timeout_ms, err) ||
      !resolve_seconds(cfg, options, "idle_timeout", &spec->idle_timeout_ms, err))
    return false;
  json_object *retries = member(options, "max_retries");
  if (!retries && !config_value(cfg, "max_retries", F_RETRIES, &retries, err)) return false;
  spec->max_retries = retries ? json_object_get_int(retries) : 0;
  json_object *cap = member(options, "max_response_bytes");
  if (!cap && !config_value(cfg, "max_response_bytes", F_COUNT, &cap, err)) return false;
  spec->max_response_bytes = cap ? json_object_get_int64(cap) : DEFAULT_MAX_RESPONSE_BYTES;
  return true;
}

/* Provider headers, then option headers. HTTP header names are case-insensitive, so an
 * option "authorization" replaces a provider "Authorization" instead of sending both. */
static void resolve_headers(hvb_spec *spec, json_object *provider, json_object *options) {
  json_object *from_provider = member(provider, "headers");
  spec->headers = from_provider ? hvb__json_copy(from_provider) : json_object_new_object();
  json_object *extra = member(options, "headers");
  if (!extra) return;
  json_object_object_foreach(extra, name, value) {
    GPtrArray *same = g_ptr_array_new_with_free_func(g_free);
    json_object_object_foreach(spec->headers, have, v) {
      (void)v;
      if (!g_ascii_strcasecmp(have, name)) g_ptr_array_add(same, g_strdup(have));
    }
    for (guint i = 0; i < same->len; i++) json_object_object_del(spec->headers, same->pdata[i]);
    g_ptr_array_free(same, TRUE);
    json_object_object_add(spec->headers, name, json_object_get(value));
  }
}

/* A gateway server's own key travels in a header of its own (the gateway's api_key_header),
 * beside the provider's key. A header given in options wins. */
static void add_gateway_key_header(hvb_spec *spec, json_object *gateway) {
  const char *header = member_str(gateway, "api_key_header");
  const char *env = member_str(gateway, "api_key_env");
  if (!header || !env) return;
  json_object_object_foreach(spec->headers, have, v) {
    (void)v;
    if (!g_ascii_strcasecmp(have, header)) return;
  }
  const char *key = hvb__getenv(env);
  if (!key || !*key) return;
  hvb__secret_register(key);
  json_object_object_add(spec->headers, header, json_object_new_string(key));
}

static void add_str(json_object *obj, const char *key, const char *value) {
  json_object_object_add(obj, key, value ? json_object_new_string(value) : NULL);
}

static void compute_keys(hvb_spec *spec) {
  json_object *h = json_object_new_object();
  add_str(h, "model", spec->model);
  add_str(h, "model_id", spec->model_id);
  add_str(h, "provider", spec->provider);
  add_str(h, "gateway", spec->gateway);
  add_str(h, "base_url", spec->base_url);
  json_object_object_add(h, "args", json_object_get(spec->args));
  spec->hash_key = hvb__hash_json(h);
  json_object_put(h);

  json_object *c = json_object_new_object();
  add_str(c, "gateway", spec->gateway);
  char *key_digest = spec->api_key
                         ? g_compute_checksum_for_string(G_CHECKSUM_SHA256, spec->api_key, -1)
                         : NULL;
  add_str(c, "api_key", key_digest);
  g_free(key_digest);
  add_str(c, "base_url", spec->base_url);
  json_object_object_add(c, "headers", json_object_get(spec->headers));
  json_object_object_add(c, "timeout", json_object_new_int64(spec->timeout_ms));
  json_object_object_add(c, "connect_timeout", json_object_new_int64(spec->connect_timeout_ms));
  json_object_object_add(c, "idle_timeout", json_object_new_int64(spec->idle_timeout_ms));
  json_object_object_add(c, "max_retries", json_object_new_int(spec->max_retries));
  spec->client_key = hvb__hash_json(c);
  json_object_put(c);
}

/* The gateway `name` when it can be used, else the built-in fallback (never silently: a
 * warning, and the spec keeps the requested name and the reason), or an HVB_GATEWAY error
 * when heavenbase.llm.gateway_fallback is false; HVB_NOT_FOUND for a name nobody knows. */
static bool resolve_gateway(hvb_spec *spec, const hvb_config *cfg, const char *name,
                            const hvb_spec_gateways *gateways, json_object *catalog,
                            hvb_error *err) {
  spec->requested_gateway = g_strdup(name);
  char *why = NULL;
  if (gateways->usable(name, &why)) {
    spec->gateway = g_strdup(name);
    return true;
  }
  if (!hvb__gateway_known(name, catalog, gateways, err)) {
    g_free(why);
    return false;
  }
  json_object *v = NULL;
  if (!config_value(cfg, "gateway_fallback", F_BOOL, &v, err)) {
    g_free(why);
    return false;
  }
  if (v && !json_object_get_boolean(v)) {
    /* The reason last: it may list a long search path and be cut to fit the message. */
    hvb__fail(err, HVB_GATEWAY,
              "gateway '%s' cannot be used (heavenbase.llm.gateway_fallback is false): %s",
              name, why);
    g_free(why);
    return false;
  }
  const char *fallback = gateways->fallback;
  hvb__log(HVB_LOG_WARN, "gateway '%s' cannot be used (%s); falling back to '%s'", name, why,
           fallback);
  spec->gateway = g_strdup(fallback);
  spec->gateway_fallback_reason = why;
  return true;
}

/* The catalog entries a resolution chose, borrowed from the catalog. */
typedef struct chosen {
  json_object *catalog;
  json_object *preset, *model, *provider;
  json_object *gateway; /* a gateway of the catalog's "gateways" section (a server of its
                           own), NULL for the others */
} chosen;

static bool choose_preset(hvb_spec *spec, const hvb_config *cfg, json_object *options,
                          chosen *c, hvb_error *err) {
  json_object *v = NULL;
  const char *origin = NULL;
  const char *name = member_str(options, "preset");
  if (!name) {
    if (!config_value(cfg, "default_preset", F_NAME, &v, err)) return false;
    name = v ? json_object_get_string(v) : "chat";
    origin = v ? "config key 'heavenbase.llm.default_preset'" : NULL;
  }
  if (!catalog_entry(c->catalog, "presets", name, &c->preset, err)) return false;
  if (!c->preset)
    return fail_unknown(err, origin, "preset", "presets", name,
                        json_object_object_get(c->catalog, "presets"));
  spec->preset = g_strdup(name);
  return true;
}

/* An alias resolves to its model; an unknown name is the provider's id as is. */
static bool choose_model(hvb_spec *spec, json_object *options, chosen *c, hvb_error *err) {
  const char *name = member_str(options, "model");
  if (!name) name = member_str(c->preset, "model");
  if (!name && strcmp(spec->preset, "custom") == 0) {
    /* Name everything the caller still owes, not only the first thing missing. */
    const char *url = member_str(options, "base_url");
    bool no_url = !url || !*url;
    return hvb__fail(err, HVB_EINVAL,
                     "preset 'custom' (any OpenAI-compatible server) needs %s: give the %s",
                     no_url ? "'base_url' and 'model'" : "'model'",
                     no_url ? "'base_url' option (e.g. http://127.0.0.1:8000/v1) and the "
                              "'model' option"
                            : "'model' option (the model id the server knows)");
  }
  if (!name)
    return hvb__fail(err, HVB_EINVAL, "preset '%s' names no model: give the 'model' option",
                     spec->preset);
  const char *canonical = find_model(json_object_object_get(c->catalog, "models"), name);
  spec->model = g_strdup(canonical ? canonical : name);
  if (!catalog_entry(c->catalog, "models", spec->model, &c->model, err)) return false;
  spec->model_info = hvb__json_copy(c->model);
  return true;
}

/* The provider, and the model's id there. */
static bool choose_provider(hvb_spec *spec, const hvb_config *cfg, json_object *options,
                            chosen *c, hvb_error *err) {
  json_object *v = NULL;
  char *origin_buf = NULL;
  const char *origin = NULL;
  const char *name = member_str(options, "provider");
  if (!name && (name = member_str(c->preset, "provider")))
    origin = origin_buf = g_strdup_printf("preset '%s'", spec->preset);
  if (!name && (name = member_str(c->model, "default_provider")))
    origin = origin_buf = g_strdup_printf("model '%s'", spec->model);
  if (!name) {
    if (!config_value(cfg, "default_provider", F_NAME, &v, err)) return false;
    name = v ? json_object_get_string(v) : "openai";
    origin = v ? "config key 'heavenbase.llm.default_provider'" : NULL;
  }
  bool ok = catalog_entry(c->catalog, "providers", name, &c->provider, err);
  if (ok && !c->provider)
    ok = fail_unknown(err, origin, "provider", "providers", name,
                      json_object_object_get(c->catalog, "providers"));
  g_free(origin_buf);
  if (!ok) return false;
  spec->provider = g_strdup(name);
  const char *id = member_str(member(c->model, "ids"), spec->provider);
  spec->model_id = g_strdup(id ? id : spec->model);
  return true;
}

static bool choose_gateway(hvb_spec *spec, const hvb_config *cfg, json_object *options,
                           const hvb_spec_gateways *gateways, chosen *c, hvb_error *err) {
  json_object *v = NULL;
  const char *name = member_str(options, "gateway");
  /* A provider chosen by the caller brings its own protocol: the preset's gateway was chosen
   * for the preset's provider (a provider with a protocol of its own, named by the caller
   * under the default preset, must get its own gateway, not OpenAI requests). */
  if (!name && member_str(options, "provider")) name = member_str(c->provider, "gateway");
  if (!name) name = member_str(c->preset, "gateway");
  if (!name) name = member_str(c->provider, "gateway");
  if (!name) {
    if (!config_value(cfg, "default_gateway", F_NAME, &v, err)) return false;
    name = v ? json_object_get_string(v) : "openai";
  }
  if (!resolve_gateway(spec, cfg, name, gateways, c->catalog, err)) return false;
  return catalog_entry(c->catalog, "gateways", spec->gateway, &c->gateway, err);
}

/* The base URL, without trailing slashes so that gateways can append "/chat/completions". */
static bool resolve_base_url(hvb_spec *spec, json_object *options, const chosen *c,
                             hvb_error *err) {
  const char *name = member_str(options, "base_url");
  if (c->gateway) {
    const char *env = member_str(c->gateway, "base_url_env");
    const char *from_env = env && !name ? hvb__getenv(env) : NULL;
    if (from_env && *from_env) name = from_env;
    if (!name) name = member_str(c->gateway, "base_url");
  } else {
    if (!name) name = member_str(c->preset, "base_url");
    if (!name) name = member_str(c->provider, "base_url");
  }
  spec->base_url = g_strdup(name ? name : "");
  for (size_t n = strlen(spec->base_url); n > 0 && spec->base_url[n - 1] == '/'; n--)
    spec->base_url[n - 1] = '\0';
  /* The custom provider has no endpoint of its own: without one every call would fail later
   * with a less helpful message. */
  if (!c->gateway && !*spec->base_url && strcmp(spec->provider, "custom") == 0)
    return hvb__fail(err, HVB_EINVAL,
                     "provider 'custom' (any OpenAI-compatible server) needs 'base_url': give the "
                     "'base_url' option (e.g. http://127.0.0.1:8000/v1)");
  return true;
}

/* The API key: given, else from the environment (never in a setuid process). */
static void resolve_api_key(hvb_spec *spec, json_object *options, const chosen *c) {
  const char *name = member_str(options, "api_key_env");
  bool gateway_key_is_bearer = c->gateway && !member_str(c->gateway, "api_key_header");
  if (!name) name = member_str(gateway_key_is_bearer ? c->gateway : c->provider, "api_key_env");
  spec->api_key_env = g_strdup(name);
  const char *key = member_str(options, "api_key");
  if (!key && spec->api_key_env) key = hvb__getenv(spec->api_key_env);
  if (key && *key) {
    spec->api_key = g_strdup(key);
    hvb__secret_register(key);
  }
  /* An endpoint the caller chose (a local server, a test double) may need no key; a gateway
   * server may hold the provider's keys itself: only its own entry says. */
  json_object *says = member(c->gateway ? c->gateway : c->provider, "requires_key");
  bool own_url = member_str(options, "base_url") || member_str(c->preset, "base_url");
  spec->api_key_required = json_object_get_boolean(says) && (c->gateway || !own_url);
  json_object *presets = member(c->catalog, "presets");
  if (!json_object_is_type(presets, json_type_object)) return;
  json_object_object_foreach(presets, preset_name, p) {
    if (!spec->offline_preset && json_object_get_boolean(member(p, "offline")))
      spec->offline_preset = g_strdup(preset_name);
  }
}

static bool resolve(hvb_spec *spec, const hvb_config *cfg, json_object *options,
                    const hvb_spec_gateways *gateways, hvb_error *err) {
  if (!check_options(options, err)) return false;
  chosen c = {.catalog = hvb__config_catalog(cfg)};
  if (!choose_preset(spec, cfg, options, &c, err) || !choose_model(spec, options, &c, err) ||
      !choose_provider(spec, cfg, options, &c, err) ||
      !choose_gateway(spec, cfg, options, gateways, &c, err) ||
      !resolve_base_url(spec, options, &c, err))
    return false;
  resolve_api_key(spec, options, &c);
  if (!resolve_args(spec, cfg, c.preset, c.provider, options, err)) return false;
  if (!resolve_transport(spec, cfg, options, err)) return false;
  resolve_headers(spec, c.provider, options);
  add_gateway_key_header(spec, c.gateway);
  compute_keys(spec);
  hvb__log(HVB_LOG_DEBUG, "spec: preset %s: model %s (id %s) on %s via %s gateway, %s",
           spec->preset, spec->model, spec->model_id, spec->provider, spec->gateway,
           spec->api_key ? "key set" : "no key");
  return true;
}

hvb_spec *hvb__spec_resolve(const hvb_config *cfg, json_object *options,
                            const hvb_spec_gateways *gateways, hvb_error *err) {
  hvb_config *own = NULL;
  if (!cfg) {
    own = hvb_config_load(err);
    if (!own) return NULL;
    cfg = own;
  }
  hvb_spec *spec = g_new0(hvb_spec, 1);
  spec->refcount = 1;
  /* A routed preset resolves to its first target, with the route attached for people. */
  json_object *target = NULL;
  bool ok = hvb__route_for_spec(cfg, options, &target, &spec->route, err) &&
            resolve(spec, cfg, target ? target : options, gateways, err);
  json_object_put(target);
  hvb_config_free(own);
  if (!ok) {
    hvb_spec_unref(spec);
    return NULL;
  }
  return spec;
}

HVB_PUBLIC hvb_spec *hvb_spec_ref(hvb_spec *spec) {
  if (spec) g_atomic_int_inc(&spec->refcount);
  return spec;
}

HVB_PUBLIC void hvb_spec_unref(hvb_spec *spec) {
  if (!spec || !g_atomic_int_dec_and_test(&spec->refcount)) return;
  g_free(spec->preset);
  g_free(spec->model);
  g_free(spec->model_id);
  g_free(spec->provider);
  g_free(spec->gateway);
  g_free(spec->requested_gateway);
  g_free(spec->gateway_fallback_reason);
  g_free(spec->base_url);
  if (spec->api_key) {
    /* Do not leave the key in freed heap memory for a later dump to find. */
    memset(spec->api_key, 0, strlen(spec->api_key));
    g_free(spec->api_key);
  }
  g_free(spec->api_key_env);
  g_free(spec->offline_preset);
  g_free(spec->hash_key);
  g_free(spec->client_key);
  json_object_put(spec->args);
  json_object_put(spec->headers);
  json_object_put(spec->model_info);
  json_object_put(spec->route);
  g_free(spec);
}

/* ---- getters ---- */

/* NULL-safe, so that a caller may chain hvb_spec_x(hvb_llm_spec(llm)) without a check. */
#define SPEC_GETTER(type, name, value, none)                                                   \
  HVB_PUBLIC type hvb_spec_##name(const hvb_spec *spec) { return spec ? (value) : (none); }

SPEC_GETTER(const char *, preset, spec->preset, NULL)
SPEC_GETTER(const char *, model, spec->model, NULL)
SPEC_GETTER(const char *, model_id, spec->model_id, NULL)
SPEC_GETTER(const char *, provider, spec->provider, NULL)
SPEC_GETTER(const char *, gateway, spec->gateway, NULL)
SPEC_GETTER(const char *, requested_gateway, spec->requested_gateway, NULL)
SPEC_GETTER(bool, gateway_fallback, spec->gateway_fallback_reason != NULL, false)
SPEC_GETTER(const char *, gateway_fallback_reason, spec->gateway_fallback_reason, NULL)
SPEC_GETTER(const char *, base_url, spec->base_url, NULL)
SPEC_GETTER(bool, has_api_key, spec->api_key != NULL, false)
SPEC_GETTER(const char *, api_key_env, spec->api_key_env, NULL)
SPEC_GETTER(bool, api_key_required, spec->api_key_required, false)
const char *hvb__spec_offline_preset(const hvb_spec *spec) { return spec->offline_preset; }
SPEC_GETTER(const char *, api_key, spec->api_key, NULL)
SPEC_GETTER(const char *, hash_key, spec->hash_key, NULL)
SPEC_GETTER(const char *, client_key, spec->client_key, NULL)
SPEC_GETTER(json_object *, args, spec->args, NULL)
SPEC_GETTER(json_object *, headers, spec->headers, NULL)
SPEC_GETTER(json_object *, model_info, spec->model_info, NULL)
SPEC_GETTER(long, timeout_ms, spec->timeout_ms, 0)
SPEC_GETTER(long, connect_timeout_ms, spec->connect_timeout_ms, 0)
SPEC_GETTER(long, idle_timeout_ms, spec->idle_timeout_ms, 0)
SPEC_GETTER(int, max_retries, spec->max_retries, 0)
SPEC_GETTER(long long, max_response_bytes, spec->max_response_bytes, 0)
SPEC_GETTER(json_object *, route, spec->route, NULL)
