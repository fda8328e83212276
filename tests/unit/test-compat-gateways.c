/* tests/unit/test-compat-gateways.c: the OpenAI-compatible gateway plugins (portkey, bifrost,
 * litellm) as the library loads them from the build tree.
 *
 * Golden cases (tests/data/gateways/<gateway>-<case>.json) give the environment, the spec
 * options and the canonical request, and the exact URL, headers and body the gateway must
 * build. Every body is also checked field by field against the official OpenAI spec's request
 * schemas, extracted into tests/data/gateways/openai-request-keys.json (see
 * extract-openai-keys.py there): every field must be one the spec defines, with a JSON type
 * it allows, and the required ones must be there. Further tests cover what the goldens
 * cannot show: refused combinations, options given only at construction, bad options, and
 * headers from the configuration winning over the gateway's own.
 */
#include "testutil.h"
#include "gateway/gateway.h"
#include "text/json.h"

#include <heavenbase/heavenbase.h>
#include <heavenbase/gateway.h>
#include <heavenbase/registry.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const golden_cases[] = {
    "portkey-chat", "portkey-stream", "portkey-embeddings",
    "bifrost-chat", "bifrost-stream", "bifrost-embeddings",
    "litellm-chat", "litellm-stream", "litellm-embeddings"};

/* ---- helpers ---- */

static json_object *data_json(const char *name) {
  char *path = g_strdup_printf("%s/gateways/%s", getenv("HB_TEST_DATA"), name);
  hvb_error err = HVB_ERROR_INIT;
  char *text = tu_read_file(path, NULL);
  ck_assert_msg(text != NULL, "cannot read %s", path);
  json_object *obj = hvb__json_parse(text, -1, path, &err);
  ck_assert_msg(obj != NULL, "%s", err.message);
  free(text);
  g_free(path);
  return obj;
}

static json_object *json(const char *text) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *obj = hvb__json_parse(text, -1, "test JSON", &err);
  ck_assert_msg(obj != NULL, "%s", err.message);
  return obj;
}

/* The descriptor of the plugin `name`, as the library's registry loaded it from the build
 * tree (make check points HB_GATEWAY_PATH at plugins/<name>/.libs). */
static const hvb_gateway_descriptor *plugin(const char *name) {
  char *why = NULL;
  const hvb_gateway_record *r = hvb__registry_find(name, &why);
  ck_assert_msg(r != NULL, "gateway %s: %s", name, why ? why : "not found");
  ck_assert_str_eq(hvb_gateway_state_name(hvb_gateway_record_state(r)), "loaded");
  return &r->ops;
}

static hvb_spec *spec_for(json_object *options) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_spec *spec = hvb_spec_resolve(NULL, options, &err);
  ck_assert_msg(spec != NULL, "%s", err.message);
  return spec;
}

static hvb_gateway_op op_named(const char *name) {
  if (!strcmp(name, "embed")) return HVB_GATEWAY_OP_EMBED;
  if (!strcmp(name, "image")) return HVB_GATEWAY_OP_IMAGE;
  ck_assert_str_eq(name, "chat");
  return HVB_GATEWAY_OP_CHAT;
}

/* The request's headers as {lower-case name: value}; a name sent twice fails the test (the
 * server would see both values). */
static json_object *headers_of(const hvb_wire_request *wr) {
  json_object *out = json_object_new_object();
  for (const char *const *h = hvb__wire_request_headers(wr); h && *h; h++) {
    const char *colon = strchr(*h, ':');
    ck_assert_msg(colon != NULL, "header line without a colon: %s", *h);
    char *name = g_ascii_strdown(*h, colon - *h);
    const char *value = colon + 1;
    while (*value == ' ') value++;
    ck_assert_msg(!json_object_object_get_ex(out, name, NULL), "header %s sent twice", name);
    json_object_object_add(out, name, json_object_new_string(value));
    g_free(name);
  }
  return out;
}

static json_object *body_of(const hvb_wire_request *wr) {
  size_t len = 0;
  const char *body = hvb__wire_request_body(wr, &len);
  ck_assert_msg(body != NULL, "no body");
  hvb_error err = HVB_ERROR_INIT;
  json_object *obj = hvb__json_parse(body, (long)len, "wire body", &err);
  ck_assert_msg(obj != NULL, "%s", err.message);
  return obj;
}

/* The JSON types `v` satisfies, in the spec's words. */
static bool type_allowed(json_object *v, json_object *allowed) {
  const char *mine[2] = {NULL, NULL};
  switch (json_object_get_type(v)) {
  case json_type_null: mine[0] = "null"; break;
  case json_type_boolean: mine[0] = "boolean"; break;
  case json_type_int: mine[0] = "integer"; mine[1] = "number"; break;
  case json_type_double: mine[0] = "number"; break;
  case json_type_string: mine[0] = "string"; break;
  case json_type_array: mine[0] = "array"; break;
  case json_type_object: mine[0] = "object"; break;
  }
  for (size_t i = 0; i < json_object_array_length(allowed); i++) {
    const char *t = json_object_get_string(json_object_array_get_idx(allowed, i));
    if (!strcmp(t, "any") || (mine[0] && !strcmp(t, mine[0])) || (mine[1] && !strcmp(t, mine[1])))
      return true;
  }
  return false;
}

/* Field by field against one schema of openai-request-keys.json. */
static void check_schema(json_object *body, json_object *schema, const char *what) {
  json_object *fields = json_object_object_get(schema, "fields");
  const char *name = json_object_get_string(json_object_object_get(schema, "schema"));
  json_object_object_foreach(body, key, val) {
    json_object *allowed = NULL;
    ck_assert_msg(json_object_object_get_ex(fields, key, &allowed),
                  "%s: field '%s' is not in OpenAI's %s", what, key, name);
    ck_assert_msg(type_allowed(val, allowed), "%s: field '%s' is %s, which OpenAI's %s does not allow (%s)",
                  what, key, json_type_to_name(json_object_get_type(val)), name,
                  json_object_to_json_string(allowed));
  }
  json_object *required = json_object_object_get(schema, "required");
  for (size_t i = 0; i < json_object_array_length(required); i++) {
    const char *field = json_object_get_string(json_object_array_get_idx(required, i));
    ck_assert_msg(json_object_object_get_ex(body, field, NULL),
                  "%s: required field '%s' missing", what, field);
  }
}

static void check_body_against_openai(json_object *body, hvb_gateway_op op, const char *what) {
  json_object *keys = data_json("openai-request-keys.json");
  const char *section = op == HVB_GATEWAY_OP_CHAT ? "chat"
                        : op == HVB_GATEWAY_OP_EMBED ? "embeddings" : "images";
  check_schema(body, json_object_object_get(keys, section), what);
  json_object *so = json_object_object_get(body, "stream_options");
  if (json_object_is_type(so, json_type_object))
    check_schema(so, json_object_object_get(keys, "stream_options"), what);
  json_object_put(keys);
}

/* Prepare `canonical` with gateway `name` for a spec resolved from `options_text`; on success
 * returns the wire request (free with hvb__wire_request_free), else NULL with *err set. */
static hvb_wire_request *prepare(const char *name, const char *options_text, hvb_gateway_op op,
                                 const char *canonical_text, hvb_error *err) {
  const hvb_gateway_descriptor *gw = plugin(name);
  json_object *options = json(options_text);
  json_object *canonical = json(canonical_text);
  hvb_spec *spec = spec_for(options);
  hvb_wire_request *wr = hvb__wire_request_new();
  bool ok = gw->prepare(spec, op, canonical, wr, err);
  hvb_spec_unref(spec);
  json_object_put(options);
  json_object_put(canonical);
  if (!ok) {
    hvb__wire_request_free(wr);
    return NULL;
  }
  return wr;
}

/* ---- golden requests ---- */

START_TEST(golden_requests_match_and_follow_the_openai_spec) {
  tu_isolate();
  const char *name = golden_cases[_i];
  char *file = g_strdup_printf("%s.json", name);
  json_object *c = data_json(file);
  g_free(file);
  json_object_object_foreach(json_object_object_get(c, "env"), var, value)
    setenv(var, json_object_get_string(value), 1);

  const hvb_gateway_descriptor *gw =
      plugin(json_object_get_string(json_object_object_get(c, "gateway")));
  hvb_gateway_op op = op_named(json_object_get_string(json_object_object_get(c, "op")));
  hvb_spec *spec = spec_for(json_object_object_get(c, "options"));
  json_object *canonical = json_object_object_get(c, "canonical");
  char *canonical_before = hvb__json_canonical(canonical);

  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(!gw->supports || gw->supports(spec, op, &err), "%s: %s", name, err.message);
  hvb_wire_request *wr = hvb__wire_request_new();
  ck_assert_msg(gw->prepare(spec, op, canonical, wr, &err), "%s: %s", name, err.message);

  ck_assert_str_eq(hvb_wire_request_url(wr), json_object_get_string(json_object_object_get(c, "url")));
  json_object *headers = headers_of(wr);
  json_object *want_headers = json_object_object_get(c, "headers");
  ck_assert_msg(json_object_equal(headers, want_headers), "%s: headers\n  got  %s\n  want %s",
                name, json_object_to_json_string(headers), json_object_to_json_string(want_headers));
  json_object *body = body_of(wr);
  json_object *want_body = json_object_object_get(c, "body");
  ck_assert_msg(json_object_equal(body, want_body), "%s: body\n  got  %s\n  want %s", name,
                json_object_to_json_string(body), json_object_to_json_string(want_body));
  check_body_against_openai(body, op, name);

  /* Gateway-only options never reach the body; no key does either. */
  size_t len = 0;
  const char *text = hvb__wire_request_body(wr, &len);
  ck_assert_ptr_null(strstr(text, "custom_host"));
  ck_assert_ptr_null(strstr(text, "portkey_config"));
  json_object_object_foreach(json_object_object_get(c, "env"), var2, key) {
    if (!g_str_has_suffix(var2, "_API_KEY")) continue;
    ck_assert_msg(!strstr(text, json_object_get_string(key)), "%s: %s in the body", name, var2);
  }
  /* The request the caller built is left as it was (the cache keys on it). */
  char *canonical_after = hvb__json_canonical(canonical);
  ck_assert_str_eq(canonical_after, canonical_before);

  g_free(canonical_before);
  g_free(canonical_after);
  json_object_put(body);
  json_object_put(headers);
  hvb__wire_request_free(wr);
  hvb_spec_unref(spec);
  json_object_put(c);
}
END_TEST

/* ---- supports and caps ---- */

static void expect_refused(const char *gateway, const char *provider, hvb_gateway_op op,
                           const char *message) {
  const hvb_gateway_descriptor *gw = plugin(gateway);
  char *options = g_strdup_printf("{\"gateway\": \"%s\", \"provider\": \"%s\"}", gateway, provider);
  json_object *o = json(options);
  hvb_spec *spec = spec_for(o);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_nonnull(gw->supports);
  ck_assert_msg(!gw->supports(spec, op, &err), "%s with %s: %s accepted", gateway, provider,
                hvb_gateway_op_name(op));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_str_eq(err.message, message);
  /* prepare refuses it too, for a caller that skipped supports */
  err = (hvb_error)HVB_ERROR_INIT;
  hvb_wire_request *wr = hvb__wire_request_new();
  json_object *canonical = json("{\"model\": \"m\", \"input\": [\"x\"], \"prompt\": \"x\"}");
  ck_assert(!gw->prepare(spec, op, canonical, wr, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  json_object_put(canonical);
  hvb__wire_request_free(wr);
  hvb_spec_unref(spec);
  json_object_put(o);
  g_free(options);
}

static void expect_supported(const char *gateway, const char *provider, hvb_gateway_op op) {
  const hvb_gateway_descriptor *gw = plugin(gateway);
  char *options = g_strdup_printf("{\"gateway\": \"%s\", \"provider\": \"%s\"}", gateway, provider);
  json_object *o = json(options);
  hvb_spec *spec = spec_for(o);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(!gw->supports || gw->supports(spec, op, &err), "%s with %s: %s", gateway,
                provider, err.message);
  hvb_spec_unref(spec);
  json_object_put(o);
  g_free(options);
}

START_TEST(known_unsupported_combinations_are_refused_naming_them) {
  tu_isolate();
  expect_refused("portkey", "openrouter", HVB_GATEWAY_OP_EMBED,
                 "gateway 'portkey' does not support embeddings for provider 'openrouter'");
  expect_refused("portkey", "anthropic", HVB_GATEWAY_OP_EMBED,
                 "gateway 'portkey' does not support embeddings for provider 'anthropic'");
  expect_refused("portkey", "anthropic", HVB_GATEWAY_OP_IMAGE,
                 "gateway 'portkey' does not support image generation for provider 'anthropic'");
  expect_refused("bifrost", "openai", HVB_GATEWAY_OP_IMAGE,
                 "gateway 'bifrost' does not support image generation");
  expect_supported("portkey", "openai", HVB_GATEWAY_OP_EMBED);
  expect_supported("portkey", "openrouter", HVB_GATEWAY_OP_CHAT);
  expect_supported("portkey", "openai", HVB_GATEWAY_OP_IMAGE);
  expect_supported("bifrost", "openrouter", HVB_GATEWAY_OP_EMBED);
  expect_supported("litellm", "openai", HVB_GATEWAY_OP_IMAGE);
  expect_supported("litellm", "openrouter", HVB_GATEWAY_OP_EMBED);
}
END_TEST

START_TEST(descriptors_name_their_capabilities) {
  tu_isolate();
  const uint32_t all = HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EMBED |
                       HVB_GATEWAY_CAP_IMAGE;
  const hvb_gateway_descriptor *pk = plugin("portkey"), *bf = plugin("bifrost"),
                               *ll = plugin("litellm");
  ck_assert_str_eq(pk->name, "portkey");
  /* reference images: the openai translation they reuse uploads them (bifrost has no images) */
  ck_assert_uint_eq(pk->caps, all | HVB_GATEWAY_CAP_IMAGE_REFS | HVB_GATEWAY_CAP_EXPORT_OPENAI);
  ck_assert_uint_eq(bf->caps, (all & ~HVB_GATEWAY_CAP_IMAGE) | HVB_GATEWAY_CAP_EXPORT_OPENAI);
  /* no export kind: its proxy rewrites requests */
  ck_assert_uint_eq(ll->caps, all | HVB_GATEWAY_CAP_IMAGE_REFS);
  ck_assert_ptr_nonnull(pk->parse);
  ck_assert_ptr_nonnull(bf->parse_event);
  ck_assert_ptr_nonnull(ll->prepare);
}
END_TEST

/* ---- portkey's options ---- */

START_TEST(portkey_options_given_at_construction_become_headers_not_body) {
  tu_isolate();
  setenv("OPENAI_API_KEY", "sk-construct-0001", 1);
  hvb_error err = HVB_ERROR_INIT;
  /* Embeddings: the canonical request carries no request arguments, the spec does. */
  hvb_wire_request *wr = prepare(
      "portkey",
      "{\"gateway\": \"portkey\", \"provider\": \"openai\", \"custom_host\": \"http://h.test/v1\","
      " \"portkey_config\": \"pc-saved-config\"}",
      HVB_GATEWAY_OP_EMBED, "{\"model\": \"text-embedding-3-small\", \"input\": [\"x\"]}", &err);
  ck_assert_msg(wr != NULL, "%s", err.message);
  json_object *h = headers_of(wr);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(h, "x-portkey-custom-host")),
                   "http://h.test/v1");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(h, "x-portkey-config")),
                   "pc-saved-config");
  json_object *body = body_of(wr);
  ck_assert_int_eq(json_object_object_length(body), 2); /* model, input */
  check_body_against_openai(body, HVB_GATEWAY_OP_EMBED, "embed with construction options");
  json_object_put(body);
  json_object_put(h);
  hvb__wire_request_free(wr);
}
END_TEST

START_TEST(portkey_refuses_bad_options_and_unreachable_providers) {
  tu_isolate();
  hvb_error err = HVB_ERROR_INIT;
  const char *chat = "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}";
  ck_assert_ptr_null(prepare("portkey", "{\"gateway\": \"portkey\", \"custom_host\": 42}",
                             HVB_GATEWAY_OP_CHAT, chat, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "'custom_host'"), "%s", err.message);

  err = (hvb_error)HVB_ERROR_INIT;
  ck_assert_ptr_null(prepare("portkey", "{\"gateway\": \"portkey\", \"portkey_config\": [1]}",
                             HVB_GATEWAY_OP_CHAT, chat, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "'portkey_config'"), "%s", err.message);

  /* A line break in a header value would let the option inject headers. */
  err = (hvb_error)HVB_ERROR_INIT;
  ck_assert_ptr_null(prepare("portkey",
                             "{\"gateway\": \"portkey\", \"custom_host\": \"http://h/\\r\\nX: y\"}",
                             HVB_GATEWAY_OP_CHAT, chat, &err));
  ck_assert_int_ne(err.status, HVB_OK);

  /* vllm is no provider Portkey can find: without an address the request (and the key)
   * would go to OpenAI. */
  err = (hvb_error)HVB_ERROR_INIT;
  ck_assert_ptr_null(prepare("portkey", "{\"gateway\": \"portkey\", \"provider\": \"vllm\"}",
                             HVB_GATEWAY_OP_CHAT, chat, &err));
  ck_assert_int_eq(err.status, HVB_CONFIG);
  ck_assert_msg(strstr(err.message, "'vllm'") && strstr(err.message, "custom_host"), "%s",
                err.message);
}
END_TEST

START_TEST(headers_from_the_configuration_win_over_the_gateways_own) {
  tu_isolate();
  hvb_error err = HVB_ERROR_INIT;
  hvb_wire_request *wr = prepare(
      "portkey",
      "{\"gateway\": \"portkey\", \"provider\": \"openai\", \"headers\":"
      " {\"X-Portkey-Provider\": \"azure-openai\"}}",
      HVB_GATEWAY_OP_CHAT,
      "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", &err);
  ck_assert_msg(wr != NULL, "%s", err.message);
  json_object *h = headers_of(wr); /* fails on a header sent twice */
  ck_assert_str_eq(json_object_get_string(json_object_object_get(h, "x-portkey-provider")),
                   "azure-openai");
  json_object_put(h);
  hvb__wire_request_free(wr);
}
END_TEST

/* ---- model ids ---- */

START_TEST(model_ids_get_the_provider_prefix_once) {
  tu_isolate();
  struct {
    const char *gateway, *provider, *id, *want;
  } cases[] = {
      {"bifrost", "deepseek", "deepseek-v4-flash", "deepseek/deepseek-v4-flash"},
      {"bifrost", "deepseek", "deepseek/deepseek-v4-flash", "deepseek/deepseek-v4-flash"},
      {"bifrost", "openrouter", "openai/gpt-5", "openrouter/openai/gpt-5"},
      {"bifrost", "custom", "my-model", "openai/my-model"},
      {"litellm", "lmstudio", "qwen/qwen3-coder-30b", "lm_studio/qwen/qwen3-coder-30b"},
      {"litellm", "openai", "openai/gpt-5", "openai/gpt-5"},
      {"portkey", "openrouter", "deepseek/deepseek-v4-flash", "deepseek/deepseek-v4-flash"},
      {"portkey", "openai", "gpt-5", "gpt-5"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *options = g_strdup_printf(
        "{\"gateway\": \"%s\", \"provider\": \"%s\", \"custom_host\": \"http://h.test/v1\"}",
        cases[i].gateway, cases[i].provider);
    char *canonical = g_strdup_printf(
        "{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
        cases[i].id);
    hvb_error err = HVB_ERROR_INIT;
    hvb_wire_request *wr = prepare(cases[i].gateway, options, HVB_GATEWAY_OP_CHAT, canonical, &err);
    ck_assert_msg(wr != NULL, "%s/%s: %s", cases[i].gateway, cases[i].provider, err.message);
    json_object *body = body_of(wr);
    ck_assert_str_eq(json_object_get_string(json_object_object_get(body, "model")), cases[i].want);
    json_object_put(body);
    hvb__wire_request_free(wr);
    g_free(options);
    g_free(canonical);
  }
}
END_TEST

/* ---- responses ---- */

START_TEST(responses_parse_as_openai_ones) {
  tu_isolate();
  const hvb_gateway_descriptor *gw = plugin("portkey");
  json_object *o = json("{\"gateway\": \"portkey\", \"provider\": \"anthropic\"}");
  hvb_spec *spec = spec_for(o);
  /* What Portkey returns for Anthropic: an OpenAI chat.completion with a "provider" member. */
  json_object *reply = json(
      "{\"id\": \"msg_1\", \"object\": \"chat.completion\", \"provider\": \"anthropic\","
      " \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"Hi\"},"
      " \"finish_reason\": \"stop\"}]}");
  hvb_error err = HVB_ERROR_INIT;
  json_object *parsed = gw->parse(spec, HVB_GATEWAY_OP_CHAT, reply, &err);
  ck_assert_msg(parsed != NULL, "%s", err.message);
  json_object *choice = json_object_array_get_idx(json_object_object_get(parsed, "choices"), 0);
  ck_assert_str_eq(json_object_get_string(hvb__json_path(choice, "message.content")), "Hi");
  json_object_put(parsed);
  /* Portkey's own error shape for a failure upstream. */
  json_object *failure = json("{\"error\": {\"message\": \"anthropic error: overloaded\","
                              " \"type\": \"overloaded_error\"}, \"provider\": \"anthropic\"}");
  err = (hvb_error)HVB_ERROR_INIT;
  ck_assert_ptr_null(gw->parse(spec, HVB_GATEWAY_OP_CHAT, failure, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_msg(strstr(err.message, "overloaded"), "%s", err.message);
  json_object_put(failure);
  json_object_put(reply);
  hvb_spec_unref(spec);
  json_object_put(o);
}
END_TEST

int main(void) {
  Suite *s = suite_create("compat-gateways");
  TCase *tc = tcase_create("golden");
  tcase_add_loop_test(tc, golden_requests_match_and_follow_the_openai_spec, 0,
                      (int)G_N_ELEMENTS(golden_cases));
  suite_add_tcase(s, tc);
  tc = tcase_create("behaviour");
  tcase_add_test(tc, known_unsupported_combinations_are_refused_naming_them);
  tcase_add_test(tc, descriptors_name_their_capabilities);
  tcase_add_test(tc, portkey_options_given_at_construction_become_headers_not_body);
  tcase_add_test(tc, portkey_refuses_bad_options_and_unreachable_providers);
  tcase_add_test(tc, headers_from_the_configuration_win_over_the_gateways_own);
  tcase_add_test(tc, model_ids_get_the_provider_prefix_once);
  tcase_add_test(tc, responses_parse_as_openai_ones);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
