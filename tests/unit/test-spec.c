/* tests/unit/test-spec.c: resolving presets, models, providers, arguments and keys
 * (core/config/spec.c). Every test runs in tu_isolate(): nothing reads the real home. */
#include "testutil.h"
#include "gateway/gateway.h"
#include "text/json.h"
#include "base/error.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *user_config(void) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/config.json", getenv("HB_CONFIG_DIR"));
  return path;
}

/* Set `key` to the JSON `value` in the user config file. */
static void user_set(const char *key, const char *value) {
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_config_file_set(user_config(), key, hvb_config_parse_value(value, false),
                                    &err),
                "set %s: %s", key, err.message);
}

static void user_unset(const char *key) {
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_config_file_unset(user_config(), key, &err), "unset %s: %s", key,
                err.message);
}

static json_object *json(const char *text) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *obj = hvb__json_parse(text, -1, "test options", &err);
  ck_assert_msg(obj != NULL, "%s", err.message);
  return obj;
}

/* Resolve `options_text` (JSON, or NULL) against a freshly loaded config. */
static hvb_spec *resolve(const char *options_text, hvb_error *err) {
  hvb_config *cfg = hvb_config_load(err);
  ck_assert_msg(cfg != NULL, "config: %s", err->message);
  json_object *options = options_text ? json(options_text) : NULL;
  hvb_spec *spec = hvb_spec_resolve(cfg, options, err);
  json_object_put(options);
  hvb_config_free(cfg);
  return spec;
}

static hvb_spec *resolve_ok(const char *options_text) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_spec *spec = resolve(options_text, &err);
  ck_assert_msg(spec != NULL, "resolve %s: %s", options_text ? options_text : "NULL",
                err.message);
  return spec;
}

/* The status and message of a failed resolution. */
static hvb_error resolve_fails(const char *options_text) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_spec *spec = resolve(options_text, &err);
  ck_assert_msg(spec == NULL, "resolve %s succeeded", options_text);
  ck_assert_int_ne(err.status, HVB_OK);
  return err;
}

static char *args_of(const hvb_spec *spec) { return hvb__json_canonical(hvb_spec_args(spec)); }

/* ---- bundled presets ---- */

START_TEST(chat_preset_is_deepseek_flash_on_openrouter_through_the_openai_gateway) {
  tu_isolate();
  hvb_spec *spec = resolve_ok("{\"preset\": \"chat\"}");
  ck_assert_str_eq(hvb_spec_preset(spec), "chat");
  ck_assert_str_eq(hvb_spec_model(spec), "deepseek-v4-flash");
  ck_assert_str_eq(hvb_spec_provider(spec), "openrouter");
  ck_assert_str_eq(hvb_spec_model_id(spec), "deepseek/deepseek-v4-flash");
  ck_assert_str_eq(hvb_spec_gateway(spec), "openai");
  ck_assert_str_eq(hvb_spec_base_url(spec), "https://openrouter.ai/api/v1");
  ck_assert_str_eq(hvb_spec_api_key_env(spec), "OPENROUTER_API_KEY");
  ck_assert(!hvb_spec_has_api_key(spec));
  ck_assert_ptr_null(hvb_spec_api_key(spec));
  ck_assert_int_eq(hvb_spec_timeout_ms(spec), 600000);
  ck_assert_int_eq(hvb_spec_connect_timeout_ms(spec), 10000);
  ck_assert_int_eq(hvb_spec_idle_timeout_ms(spec), 120000);
  ck_assert_int_eq(hvb_spec_max_retries(spec), 2);
  ck_assert_uint_eq(strlen(hvb_spec_hash_key(spec)), 64);
  ck_assert_uint_eq(strlen(hvb_spec_client_key(spec)), 64);
  ck_assert_str_eq(json_object_get_string(hvb__json_path(hvb_spec_model_info(spec), "kind")),
                   "chat");
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(no_options_means_the_configured_default_preset) {
  tu_isolate();
  hvb_spec *spec = resolve_ok(NULL);
  ck_assert_str_eq(hvb_spec_preset(spec), "chat");
  hvb_spec_unref(spec);
  user_set("heavenbase.llm.default_preset", "\"coder\"");
  spec = resolve_ok("{}");
  ck_assert_str_eq(hvb_spec_preset(spec), "coder");
  ck_assert_str_eq(hvb_spec_model(spec), "qwen3-coder");
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(mock_preset_uses_the_mock_gateway_offline) {
  tu_isolate();
  hvb_spec *spec = resolve_ok("{\"preset\": \"mock\"}");
  ck_assert_str_eq(hvb_spec_model(spec), "mock-1");
  ck_assert_str_eq(hvb_spec_provider(spec), "mock");
  ck_assert_str_eq(hvb_spec_gateway(spec), "mock");
  ck_assert_str_eq(hvb_spec_base_url(spec), "");
  ck_assert_ptr_null(hvb_spec_api_key_env(spec));
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(embedding_presets_carry_their_dimension) {
  tu_isolate();
  hvb_spec *spec = resolve_ok("{\"preset\": \"embed\"}");
  ck_assert_str_eq(hvb_spec_model(spec), "text-embedding-3-small");
  ck_assert_str_eq(hvb_spec_provider(spec), "openai");
  ck_assert_str_eq(hvb_spec_base_url(spec), "https://api.openai.com/v1");
  ck_assert_int_eq(json_object_get_int(hvb__json_path(hvb_spec_model_info(spec), "dimension")),
                   1536);
  hvb_spec_unref(spec);
  spec = resolve_ok("{\"preset\": \"embed-local\"}");
  ck_assert_str_eq(hvb_spec_provider(spec), "lmstudio");
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://localhost:1234/v1");
  ck_assert_int_eq(json_object_get_int(hvb__json_path(hvb_spec_model_info(spec), "dimension")),
                   768);
  hvb_spec_unref(spec);
  /* The same model through Ollama. */
  spec = resolve_ok("{\"preset\": \"embed-local\", \"provider\": \"ollama\"}");
  ck_assert_str_eq(hvb_spec_model_id(spec), "embeddinggemma");
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://localhost:11434/v1");
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(every_bundled_preset_resolves) {
  tu_isolate();
  static const char *const presets[] = {"chat", "system", "reason", "coder", "embed",
                                        "embed-local", "imagen", "mock", NULL};
  for (int i = 0; presets[i]; i++) {
    char *options = g_strdup_printf("{\"preset\": \"%s\"}", presets[i]);
    hvb_spec *spec = resolve_ok(options);
    ck_assert_msg(hvb_spec_model_info(spec) != NULL, "preset %s: model %s not in the catalog",
                  presets[i], hvb_spec_model(spec));
    hvb_spec_unref(spec);
    g_free(options);
  }
}
END_TEST

START_TEST(custom_preset_takes_model_and_base_url_from_options) {
  tu_isolate();
  hvb_error err = resolve_fails("{\"preset\": \"custom\"}");
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_str_eq(err.message, "preset 'custom' (any OpenAI-compatible server) needs 'base_url' "
                                "and 'model': give the 'base_url' option (e.g. "
                                "http://127.0.0.1:8000/v1) and the 'model' option");
  err = resolve_fails("{\"preset\": \"custom\", \"base_url\": \"http://gpu-box:9000/v1\"}");
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "needs 'model'"));
  err = resolve_fails("{\"preset\": \"custom\", \"model\": \"llama-3-8b\"}");
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "provider 'custom' (any OpenAI-compatible server) "
                                            "needs 'base_url'"));
  hvb_spec *spec = resolve_ok("{\"preset\": \"custom\", \"model\": \"llama-3-8b\","
                              " \"base_url\": \"http://gpu-box:9000/v1/\"}");
  ck_assert_str_eq(hvb_spec_provider(spec), "custom");
  ck_assert_str_eq(hvb_spec_model_id(spec), "llama-3-8b");
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://gpu-box:9000/v1"); /* slash stripped */
  ck_assert_str_eq(hvb_spec_gateway(spec), "openai");
  hvb_spec_unref(spec);
}
END_TEST

/* ---- models ---- */

START_TEST(an_alias_resolves_to_its_model_and_the_provider_picks_the_id) {
  tu_isolate();
  hvb_spec *spec = resolve_ok("{\"model\": \"ds-flash\"}");
  ck_assert_str_eq(hvb_spec_model(spec), "deepseek-v4-flash");
  ck_assert_str_eq(hvb_spec_model_id(spec), "deepseek/deepseek-v4-flash");
  hvb_spec_unref(spec);
  spec = resolve_ok("{\"model\": \"ds-flash\", \"provider\": \"deepseek\"}");
  ck_assert_str_eq(hvb_spec_model_id(spec), "deepseek-v4-flash");
  ck_assert_str_eq(hvb_spec_base_url(spec), "https://api.deepseek.com/v1");
  ck_assert_str_eq(hvb_spec_api_key_env(spec), "DEEPSEEK_API_KEY");
  hvb_spec_unref(spec);
  spec = resolve_ok("{\"preset\": \"imagen\", \"model\": \"gpt-image-2\"}");
  ck_assert_str_eq(hvb_spec_model(spec), "gpt-5.4-image-2");
  hvb_spec_unref(spec);
  spec = resolve_ok("{\"preset\": \"embed\", \"model\": \"text-embedding-small\"}");
  ck_assert_str_eq(hvb_spec_model(spec), "text-embedding-3-small");
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(a_preset_defined_in_config_resolves_through_the_catalog) {
  tu_isolate();
  user_set("heavenbase.llm.presets.x.model", "ds-flash");
  hvb_spec *spec = resolve_ok("{\"preset\": \"x\"}");
  ck_assert_str_eq(hvb_spec_preset(spec), "x");
  ck_assert_str_eq(hvb_spec_model(spec), "deepseek-v4-flash");
  ck_assert_str_eq(hvb_spec_provider(spec), "openrouter"); /* the model's default provider */
  ck_assert_str_eq(hvb_spec_model_id(spec), "deepseek/deepseek-v4-flash");
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(an_unknown_model_passes_through_as_the_id) {
  tu_isolate();
  hvb_spec *spec = resolve_ok("{\"model\": \"my-org/finetune-7b\", \"provider\": \"vllm\"}");
  ck_assert_str_eq(hvb_spec_model(spec), "my-org/finetune-7b");
  ck_assert_str_eq(hvb_spec_model_id(spec), "my-org/finetune-7b");
  ck_assert_ptr_null(hvb_spec_model_info(spec));
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://localhost:8000/v1");
  hvb_spec_unref(spec);
}
END_TEST

/* ---- unknown names ---- */

START_TEST(an_unknown_preset_suggests_the_nearest_and_lists_all) {
  tu_isolate();
  hvb_error err = resolve_fails("{\"preset\": \"chta\"}");
  ck_assert_int_eq(err.status, HVB_NOT_FOUND);
  ck_assert_str_eq(err.message,
                   "unknown preset 'chta' (did you mean 'chat'?); known presets: chat, coder, "
                   "custom, embed, embed-local, imagen, mock, reason, system");
  err = resolve_fails("{\"preset\": \"zzzzzz\"}");
  ck_assert_int_eq(err.status, HVB_NOT_FOUND);
  ck_assert_msg(g_str_has_prefix(err.message, "unknown preset 'zzzzzz'; known presets: chat, "),
                "%s", err.message);
  /* A bad default in the config says where it came from. */
  user_set("heavenbase.llm.default_preset", "\"codr\"");
  err = resolve_fails(NULL);
  ck_assert_msg(g_str_has_prefix(err.message, "config key 'heavenbase.llm.default_preset': "
                                              "unknown preset 'codr' (did you mean 'coder'?)"),
                "%s", err.message);
}
END_TEST

START_TEST(an_unknown_provider_suggests_the_nearest_and_names_its_origin) {
  tu_isolate();
  hvb_error err = resolve_fails("{\"provider\": \"opnai\"}");
  ck_assert_int_eq(err.status, HVB_NOT_FOUND);
  ck_assert_msg(g_str_has_prefix(err.message, "unknown provider 'opnai' (did you mean 'openai'?);"
                                              " known providers: anthropic, cohere, custom, "),
                "%s", err.message);
  user_set("heavenbase.llm.presets.mine", "{\"model\": \"x\", \"provider\": \"olama\"}");
  err = resolve_fails("{\"preset\": \"mine\"}");
  ck_assert_int_eq(err.status, HVB_NOT_FOUND);
  ck_assert_msg(g_str_has_prefix(err.message, "preset 'mine': unknown provider 'olama' "
                                              "(did you mean 'ollama'?)"),
                "%s", err.message);
}
END_TEST

/* ---- request arguments ---- */

START_TEST(args_precedence_runs_from_config_to_constructor_options) {
  tu_isolate();
  /* One provider, model and preset of our own, each setting "t" at its level, and "keep" set
   * only at the lowest level to show that levels merge rather than replace. */
  user_set("heavenbase.llm.default_args", "{\"t\": \"config\", \"keep\": 1}");
  user_set("heavenbase.llm.models.m1", "{\"ids\": {\"p1\": \"m1-id\"},"
                                       " \"default_args\": {\"t\": \"model\"}}");
  user_set("heavenbase.llm.providers.p1", "{\"base_url\": \"http://p1\","
                                          " \"default_args\": {\"t\": \"provider\"},"
                                          " \"model_args\": {\"m1-id\": {\"t\": \"model_args\"}}}");
  user_set("heavenbase.llm.presets.x", "{\"model\": \"m1\", \"provider\": \"p1\","
                                       " \"default_args\": {\"t\": \"preset\"}}");
  /* Each step first removes the level that won the step before. */
  static const struct {
    const char *peel, *options, *expected;
  } chain[] = {
    {NULL, "{\"preset\": \"x\", \"args\": {\"t\": \"args\"}, \"t\": \"top\"}", "top"},
    {NULL, "{\"preset\": \"x\", \"args\": {\"t\": \"args\"}}", "args"},
    {NULL, "{\"preset\": \"x\"}", "preset"},
    {"heavenbase.llm.presets.x.default_args", "{\"preset\": \"x\"}", "model_args"},
    {"heavenbase.llm.providers.p1.model_args", "{\"preset\": \"x\"}", "provider"},
    {"heavenbase.llm.providers.p1.default_args", "{\"preset\": \"x\"}", "model"},
    {"heavenbase.llm.models.m1.default_args", "{\"preset\": \"x\"}", "config"},
    {"heavenbase.llm.default_args.t", "{\"preset\": \"x\"}", NULL},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(chain); i++) {
    if (chain[i].peel) user_unset(chain[i].peel);
    hvb_spec *spec = resolve_ok(chain[i].options);
    json_object *t = hvb__json_path(hvb_spec_args(spec), "t");
    if (chain[i].expected)
      ck_assert_msg(t && !strcmp(json_object_get_string(t), chain[i].expected),
                    "step %zu: t = %s, expected %s", i, t ? json_object_get_string(t) : "(none)",
                    chain[i].expected);
    else
      ck_assert_msg(t == NULL, "step %zu: t = %s, expected none", i, json_object_get_string(t));
    ck_assert_int_eq(json_object_get_int(hvb__json_path(hvb_spec_args(spec), "keep")), 1);
    ck_assert_str_eq(hvb_spec_model_id(spec), "m1-id");
    hvb_spec_unref(spec);
  }
}
END_TEST

START_TEST(a_null_argument_removes_an_inherited_one) {
  tu_isolate();
  user_set("heavenbase.llm.default_args", "{\"temperature\": 0.3, \"max_tokens\": 100,"
                                          " \"extra\": {\"a\": 1, \"b\": 2}}");
  hvb_spec *spec = resolve_ok("{\"temperature\": null, \"args\": {\"extra\": {\"a\": null}}}");
  char *args = args_of(spec);
  ck_assert_str_eq(args, "{\"extra\":{\"b\":2},\"max_tokens\":100}");
  g_free(args);
  hvb_spec_unref(spec);
}
END_TEST

/* ---- keys ---- */

START_TEST(the_api_key_comes_from_the_environment_or_an_option_and_is_never_shown) {
  tu_isolate();
  const char *env_key = "sk-or-env-0123456789abcdef";
  const char *opt_key = "sk-option-9876543210fedcba";
  setenv("OPENROUTER_API_KEY", env_key, 1);
  hvb_spec *spec = resolve_ok("{\"preset\": \"chat\"}");
  ck_assert(hvb_spec_has_api_key(spec));
  ck_assert_str_eq(hvb_spec_api_key(spec), env_key);
  json_object *shown = hvb_spec_to_json(spec, false);
  const char *text = json_object_to_json_string(shown);
  ck_assert_ptr_null(strstr(text, env_key));
  ck_assert_str_eq(json_object_get_string(hvb__json_path(shown, "api_key")), "<set>");
  ck_assert_str_eq(json_object_get_string(hvb__json_path(shown, "api_key_env")),
                   "OPENROUTER_API_KEY");
  json_object_put(shown);
  shown = hvb_spec_to_json(spec, true);
  ck_assert_str_eq(json_object_get_string(hvb__json_path(shown, "api_key")), env_key);
  json_object_put(shown);
  char *env_client = g_strdup(hvb_spec_client_key(spec));
  char *env_hash = g_strdup(hvb_spec_hash_key(spec));
  hvb_spec_unref(spec);

  char *options = g_strdup_printf("{\"preset\": \"chat\", \"api_key\": \"%s\"}", opt_key);
  spec = resolve_ok(options);
  ck_assert_str_eq(hvb_spec_api_key(spec), opt_key); /* the option wins over the variable */
  ck_assert_str_ne(hvb_spec_client_key(spec), env_client);
  ck_assert_str_eq(hvb_spec_hash_key(spec), env_hash);
  shown = hvb_spec_to_json(spec, false);
  ck_assert_ptr_null(strstr(json_object_to_json_string(shown), opt_key));
  json_object_put(shown);
  /* Error messages never carry it either, once a spec has seen it. */
  hvb_error err = HVB_ERROR_INIT;
  hvb__fail(&err, HVB_HTTP, "rejected %s", opt_key);
  ck_assert_ptr_null(strstr(err.message, opt_key));
  hvb_spec_unref(spec);
  g_free(options);

  /* No key anywhere: no "api_key" member at all. */
  unsetenv("OPENROUTER_API_KEY");
  spec = resolve_ok("{\"preset\": \"chat\"}");
  shown = hvb_spec_to_json(spec, false);
  ck_assert(!json_object_object_get_ex(shown, "api_key", NULL));
  json_object_put(shown);
  hvb_spec_unref(spec);
  g_free(env_client);
  g_free(env_hash);
}
END_TEST

START_TEST(api_key_env_option_names_another_variable) {
  tu_isolate();
  setenv("HVB_TEST_OTHER_KEY", "sk-other-key-000111222", 1);
  hvb_spec *spec = resolve_ok("{\"preset\": \"chat\", \"api_key_env\": \"HVB_TEST_OTHER_KEY\"}");
  ck_assert_str_eq(hvb_spec_api_key_env(spec), "HVB_TEST_OTHER_KEY");
  ck_assert_str_eq(hvb_spec_api_key(spec), "sk-other-key-000111222");
  hvb_spec_unref(spec);
  unsetenv("HVB_TEST_OTHER_KEY");
}
END_TEST

START_TEST(hash_key_follows_the_model_and_client_key_follows_the_connection) {
  tu_isolate();
  hvb_spec *base = resolve_ok("{\"preset\": \"chat\"}");
  static const struct {
    const char *options;
    bool hash_changes, client_changes;
  } cases[] = {
    {"{\"preset\": \"chat\"}", false, false},
    {"{\"preset\": \"chat\", \"temperature\": 0.2}", true, false},
    {"{\"preset\": \"chat\", \"args\": {\"temperature\": 0.2}}", true, false},
    {"{\"preset\": \"chat\", \"model\": \"gpt-5-mini\"}", true, false},
    {"{\"preset\": \"chat\", \"timeout\": 5}", false, true},
    {"{\"preset\": \"chat\", \"max_retries\": 0}", false, true},
    {"{\"preset\": \"chat\", \"headers\": {\"X-Team\": \"a\"}}", false, true},
    {"{\"preset\": \"chat\", \"api_key\": \"sk-another-0123456789\"}", false, true},
    {"{\"preset\": \"chat\", \"base_url\": \"https://proxy.test/v1\"}", true, true},
    {"{\"preset\": \"chat\", \"base_url\": \"https://openrouter.ai/api/v1/\"}", false, false},
    {"{\"preset\": \"chat\", \"gateway\": \"mock\"}", true, true},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    hvb_spec *spec = resolve_ok(cases[i].options);
    bool hash_changed = strcmp(hvb_spec_hash_key(spec), hvb_spec_hash_key(base)) != 0;
    bool client_changed = strcmp(hvb_spec_client_key(spec), hvb_spec_client_key(base)) != 0;
    ck_assert_msg(hash_changed == cases[i].hash_changes, "%s: hash_key %s", cases[i].options,
                  hash_changed ? "changed" : "did not change");
    ck_assert_msg(client_changed == cases[i].client_changes, "%s: client_key %s",
                  cases[i].options, client_changed ? "changed" : "did not change");
    hvb_spec_unref(spec);
  }
  hvb_spec_unref(base);
}
END_TEST

START_TEST(keys_are_the_same_under_a_decimal_comma_locale) {
  tu_isolate();
  const char *options = "{\"preset\": \"chat\", \"temperature\": 0.7, \"top_p\": 1e-5,"
                        " \"timeout\": 2.5, \"args\": {\"penalty\": [0.25, 1.5e300]}}";
  user_set("heavenbase.llm.default_args", "{\"frequency_penalty\": 0.1}");
  hvb_spec *c = resolve_ok(options);
  tu_use_comma_locale();
  hvb_spec *de = resolve_ok(options);
  json_object *built = json_object_new_object(); /* doubles made under de_DE, not parsed */
  json_object_object_add(built, "preset", json_object_new_string("chat"));
  json_object_object_add(built, "temperature", json_object_new_double(0.7));
  json_object_object_add(built, "top_p", json_object_new_double(1e-5));
  json_object_object_add(built, "timeout", json_object_new_double(2.5));
  json_object *penalty = json_object_new_array();
  json_object_array_add(penalty, json_object_new_double(0.25));
  json_object_array_add(penalty, json_object_new_double(1.5e300));
  json_object *args = json_object_new_object();
  json_object_object_add(args, "penalty", penalty);
  json_object_object_add(built, "args", args);
  hvb_config *cfg = hvb_config_load(NULL);
  hvb_spec *de_built = hvb_spec_resolve(cfg, built, NULL);
  setlocale(LC_ALL, "C");
  ck_assert_ptr_nonnull(de_built);
  ck_assert_str_eq(hvb_spec_hash_key(de), hvb_spec_hash_key(c));
  ck_assert_str_eq(hvb_spec_client_key(de), hvb_spec_client_key(c));
  ck_assert_str_eq(hvb_spec_hash_key(de_built), hvb_spec_hash_key(c));
  ck_assert_str_eq(hvb_spec_client_key(de_built), hvb_spec_client_key(c));
  ck_assert_int_eq(hvb_spec_timeout_ms(de), 2500);
  char *text = args_of(de_built);
  ck_assert_str_eq(text, "{\"frequency_penalty\":0.1,\"penalty\":[0.25,1.5e+300],"
                         "\"temperature\":0.7,\"top_p\":1e-05}");
  g_free(text);
  hvb_spec_unref(c);
  hvb_spec_unref(de);
  hvb_spec_unref(de_built);
  hvb_config_free(cfg);
  json_object_put(built);
}
END_TEST

/* ---- options ---- */

START_TEST(options_of_the_wrong_type_are_named) {
  tu_isolate();
  static const struct {
    const char *options, *message;
  } cases[] = {
    {"{\"timeout\": \"10\"}",
     "option 'timeout' must be a number of seconds from 0 to 10000000, not a string"},
    {"{\"connect_timeout\": -1}",
     "option 'connect_timeout' must be a number of seconds from 0 to 10000000, not -1"},
    {"{\"max_retries\": 1.5}", "option 'max_retries' must be an integer from 0 to 100, not 1.5"},
    {"{\"headers\": {\"X-A\": 1}}", "option 'headers' must be an object of strings, not an object"},
    {"{\"args\": [1]}", "option 'args' must be an object, not an array"},
    {"{\"model\": \"\"}", "option 'model' must be a non-empty string, not a string"},
    {"{\"preset\": 7}", "option 'preset' must be a non-empty string, not 7"},
    {"{\"api_key\": true}", "option 'api_key' must be a string, not true"},
    {"[1, 2]", "options must be a JSON object, not an array"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    hvb_error err = resolve_fails(cases[i].options);
    ck_assert_int_eq(err.status, HVB_EINVAL);
    ck_assert_str_eq(err.message, cases[i].message);
  }
}
END_TEST

START_TEST(a_mistyped_catalog_entry_in_config_is_a_config_error_naming_it) {
  tu_isolate();
  user_set("heavenbase.llm.providers.openrouter.base_url", "5");
  hvb_error err = resolve_fails("{\"preset\": \"chat\"}");
  ck_assert_int_eq(err.status, HVB_CONFIG);
  ck_assert_str_eq(err.message, "catalog provider 'openrouter': 'base_url' must be a string, not 5");
  user_unset("heavenbase.llm.providers.openrouter.base_url");
}
END_TEST

/* Before: a timeout of the wrong type failed every resolution, and a null one (or a
 * heavenbase.llm that is not an object) silently meant "no limit, no retries". */
START_TEST(mistyped_timeouts_in_a_file_leave_the_defaults_in_force) {
  tu_isolate();
  const char *files[] = {
    "{\"heavenbase\": {\"llm\": {\"timeout\": \"long\", \"max_retries\": null}}}",
    "{\"heavenbase\": {\"llm\": {\"timeout\": null, \"connect_timeout\": null, "
    "\"idle_timeout\": null, \"max_retries\": \"x\"}}}",
    "{\"heavenbase\": {\"llm\": \"x\"}}",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    tu_write_file(user_config(), files[i]);
    hvb_spec *spec = resolve_ok("{\"preset\": \"mock\"}");
    ck_assert_int_eq(hvb_spec_timeout_ms(spec), 600000);
    ck_assert_int_eq(hvb_spec_connect_timeout_ms(spec), 10000);
    ck_assert_int_eq(hvb_spec_idle_timeout_ms(spec), 120000);
    ck_assert_int_eq(hvb_spec_max_retries(spec), 2);
    hvb_spec_unref(spec);
  }
}
END_TEST

START_TEST(timeouts_come_from_options_in_seconds_else_from_config) {
  tu_isolate();
  user_set("heavenbase.llm.connect_timeout", "3");
  user_set("heavenbase.llm.max_retries", "5");
  hvb_spec *spec = resolve_ok("{\"timeout\": 1.5, \"idle_timeout\": 0}");
  ck_assert_int_eq(hvb_spec_timeout_ms(spec), 1500);
  ck_assert_int_eq(hvb_spec_connect_timeout_ms(spec), 3000);
  ck_assert_int_eq(hvb_spec_idle_timeout_ms(spec), 0);
  ck_assert_int_eq(hvb_spec_max_retries(spec), 5);
  json_object *shown = hvb_spec_to_json(spec, false);
  ck_assert_str_eq(json_object_to_json_string(json_object_object_get(shown, "timeout")), "1.5");
  ck_assert_str_eq(json_object_to_json_string(json_object_object_get(shown, "connect_timeout")),
                   "3");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(shown, "max_retries")), 5);
  json_object_put(shown);
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(headers_merge_case_insensitively_and_secret_ones_are_redacted) {
  tu_isolate();
  user_set("heavenbase.llm.providers.openrouter.headers.Authorization", "\"Bearer from-catalog\"");
  hvb_spec *spec = resolve_ok("{\"headers\": {\"authorization\": \"Bearer mine-1234567\","
                              " \"X-Api-Key\": \"k-123\", \"X-Team\": \"blue\"}}");
  char *headers = hvb__json_canonical(hvb_spec_headers(spec));
  ck_assert_str_eq(headers, "{\"X-Api-Key\":\"k-123\",\"X-Team\":\"blue\",\"X-Title\":"
                            "\"HeavenBase\",\"authorization\":\"Bearer mine-1234567\"}");
  g_free(headers);
  json_object *shown = hvb_spec_to_json(spec, false);
  headers = hvb__json_canonical(json_object_object_get(shown, "headers"));
  ck_assert_str_eq(headers, "{\"X-Api-Key\":\"<redacted>\",\"X-Team\":\"blue\",\"X-Title\":"
                            "\"HeavenBase\",\"authorization\":\"<redacted>\"}");
  g_free(headers);
  json_object_put(shown);
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(to_json_shows_the_resolved_spec) {
  tu_isolate();
  hvb_spec *spec = resolve_ok("{\"preset\": \"mock\", \"temperature\": 0}");
  json_object *shown = hvb_spec_to_json(spec, false);
  json_object_object_del(shown, "hash_key");
  json_object_object_del(shown, "client_key");
  char *text = hvb__json_canonical(shown);
  ck_assert_str_eq(text, "{\"api_key_env\":null,\"api_key_required\":false,\"api_key_set\":false,"
                         "\"args\":{\"temperature\":0},\"base_url\":\"\","
                         "\"connect_timeout\":10,\"gateway\":\"mock\",\"headers\":{},"
                         "\"idle_timeout\":120,\"max_response_bytes\":67108864,"
                         "\"max_retries\":2,\"model\":\"mock-1\","
                         "\"model_id\":\"mock-1\",\"preset\":\"mock\",\"provider\":\"mock\","
                         "\"timeout\":600}");
  g_free(text);
  json_object_put(shown);
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(a_dropin_provider_and_preset_work_without_a_rebuild) {
  tu_isolate();
  char *path = g_build_filename(getenv("HB_CONFIG_DIR"), "catalog.d", "acme.json", NULL);
  tu_write_file(path, "{\"providers\": {\"acme\": {\"base_url\": \"https://llm.acme.test/v1\","
                      " \"api_key_env\": \"ACME_API_KEY\", \"description\": \"Acme\"}},"
                      " \"models\": {\"acme-large\": {\"aliases\": [\"acme\"],"
                      " \"ids\": {\"acme\": \"large-2025\"}, \"default_provider\": \"acme\"}},"
                      " \"presets\": {\"acme\": {\"model\": \"acme\","
                      " \"description\": \"Acme's model\"}}}");
  hvb_spec *spec = resolve_ok("{\"preset\": \"acme\"}");
  ck_assert_str_eq(hvb_spec_model(spec), "acme-large");
  ck_assert_str_eq(hvb_spec_provider(spec), "acme");
  ck_assert_str_eq(hvb_spec_model_id(spec), "large-2025");
  ck_assert_str_eq(hvb_spec_base_url(spec), "https://llm.acme.test/v1");
  ck_assert_str_eq(hvb_spec_api_key_env(spec), "ACME_API_KEY");
  hvb_spec_unref(spec);
  g_free(path);
}
END_TEST

/* ---- gateway servers (the catalog's "gateways") ---- */

START_TEST(a_gateway_server_has_its_own_base_url_from_option_env_or_catalog) {
  tu_isolate();
  hvb_spec *spec = resolve_ok("{\"gateway\": \"portkey\", \"provider\": \"openai\"}");
  ck_assert_str_eq(hvb_spec_gateway(spec), "portkey");
  ck_assert_str_eq(hvb_spec_provider(spec), "openai");
  ck_assert_str_eq(hvb_spec_base_url(spec), "https://api.portkey.ai/v1"); /* not OpenAI's */
  char *catalog_hash = g_strdup(hvb_spec_hash_key(spec));
  hvb_spec_unref(spec);

  setenv("PORTKEY_BASE_URL", "http://127.0.0.1:8787/v1/", 1);
  spec = resolve_ok("{\"gateway\": \"portkey\", \"provider\": \"openai\"}");
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://127.0.0.1:8787/v1");
  ck_assert_str_ne(hvb_spec_hash_key(spec), catalog_hash); /* another server */
  hvb_spec_unref(spec);
  spec = resolve_ok("{\"gateway\": \"portkey\", \"base_url\": \"http://pk.test/v1\"}");
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://pk.test/v1"); /* the option wins */
  hvb_spec_unref(spec);
  setenv("PORTKEY_BASE_URL", "", 1); /* empty reads as unset */
  spec = resolve_ok("{\"gateway\": \"portkey\"}");
  ck_assert_str_eq(hvb_spec_base_url(spec), "https://api.portkey.ai/v1");
  hvb_spec_unref(spec);

  setenv("BIFROST_BASE_URL", "http://127.0.0.1:9/v1", 1);
  spec = resolve_ok("{\"gateway\": \"bifrost\", \"preset\": \"chat\"}");
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://127.0.0.1:9/v1");
  ck_assert_str_eq(hvb_spec_model_id(spec), "deepseek/deepseek-v4-flash"); /* plugin's job */
  hvb_spec_unref(spec);
  spec = resolve_ok("{\"gateway\": \"litellm\"}");
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://localhost:4000/v1");
  hvb_spec_unref(spec);
  /* Gateways that are no servers of their own keep the provider's URL. */
  spec = resolve_ok("{\"gateway\": \"anthropic\", \"provider\": \"anthropic\"}");
  ck_assert_str_eq(hvb_spec_base_url(spec), "https://api.anthropic.com/v1");
  hvb_spec_unref(spec);
  g_free(catalog_hash);
}
END_TEST

START_TEST(gateway_server_keys_go_where_each_gateway_wants_them) {
  tu_isolate();
  const char *provider_key = "sk-openai-0123456789abcdef";
  const char *portkey_key = "pk-portkey-0123456789abcdef";
  const char *litellm_key = "sk-litellm-0123456789abcdef";
  setenv("OPENAI_API_KEY", provider_key, 1);

  /* portkey: the provider's key is the bearer token, Portkey's own one a header */
  hvb_spec *spec = resolve_ok("{\"gateway\": \"portkey\", \"provider\": \"openai\"}");
  ck_assert_str_eq(hvb_spec_api_key(spec), provider_key);
  ck_assert_ptr_null(json_object_object_get(hvb_spec_headers(spec), "x-portkey-api-key"));
  hvb_spec_unref(spec);
  setenv("PORTKEY_API_KEY", portkey_key, 1);
  spec = resolve_ok("{\"gateway\": \"portkey\", \"provider\": \"openai\"}");
  ck_assert_str_eq(hvb_spec_api_key(spec), provider_key);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(hvb_spec_headers(spec),
                                                                 "x-portkey-api-key")),
                   portkey_key);
  json_object *shown = hvb_spec_to_json(spec, false);
  ck_assert_ptr_null(strstr(json_object_to_json_string(shown), portkey_key));
  json_object_put(shown);
  hvb_spec_unref(spec);
  /* a header given in options wins (compared case-insensitively) */
  spec = resolve_ok("{\"gateway\": \"portkey\", \"provider\": \"openai\","
                    " \"headers\": {\"X-Portkey-Api-Key\": \"pk-o\"}}");
  json_object *headers = hvb_spec_headers(spec);
  ck_assert_int_eq(json_object_object_length(headers), 1);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(headers, "X-Portkey-Api-Key")),
                   "pk-o");
  hvb_spec_unref(spec);

  /* litellm: its own key replaces the provider's, which never leaves for the proxy */
  spec = resolve_ok("{\"gateway\": \"litellm\", \"provider\": \"openai\"}");
  ck_assert(!hvb_spec_has_api_key(spec));
  ck_assert_str_eq(hvb_spec_api_key_env(spec), "LITELLM_API_KEY");
  hvb_spec_unref(spec);
  setenv("LITELLM_API_KEY", litellm_key, 1);
  spec = resolve_ok("{\"gateway\": \"litellm\", \"provider\": \"openai\"}");
  ck_assert_str_eq(hvb_spec_api_key(spec), litellm_key);
  hvb_spec_unref(spec);

  /* bifrost holds the provider keys itself: none is sent unless asked for */
  spec = resolve_ok("{\"gateway\": \"bifrost\", \"provider\": \"openai\"}");
  ck_assert(!hvb_spec_has_api_key(spec));
  hvb_spec_unref(spec);
  spec = resolve_ok("{\"gateway\": \"bifrost\", \"api_key_env\": \"OPENAI_API_KEY\"}");
  ck_assert_str_eq(hvb_spec_api_key(spec), provider_key);
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(gateway_entries_are_checked_and_drop_ins_change_them) {
  tu_isolate();
  user_set("heavenbase.llm.gateways.portkey.base_url_env", "42");
  hvb_error err = resolve_fails("{\"gateway\": \"portkey\"}");
  ck_assert_int_eq(err.status, HVB_CONFIG);
  ck_assert_msg(strstr(err.message, "catalog gateway 'portkey': 'base_url_env'"), "%s",
                err.message);
  user_unset("heavenbase.llm.gateways.portkey.base_url_env");
  /* A drop-in can change a gateway server's entry (or add one for a third-party plugin). */
  char *path = g_build_filename(getenv("HB_CONFIG_DIR"), "catalog.d", "gw.json", NULL);
  tu_write_file(path, "{\"gateways\": {\"portkey\": {\"base_url\": \"http://gw.test/v1\"}}}");
  hvb_spec *spec = resolve_ok("{\"gateway\": \"portkey\", \"provider\": \"openai\"}");
  ck_assert_str_eq(hvb_spec_gateway(spec), "portkey");
  ck_assert_str_eq(hvb_spec_base_url(spec), "http://gw.test/v1");
  hvb_spec_unref(spec);
  g_free(path);
}
END_TEST

START_TEST(after_a_fallback_to_openai_the_providers_url_and_key_are_used) {
  tu_isolate();
  /* No plugin can be found: the gateway used is the built-in openai one, which talks to the
   * provider itself, so the gateway server's entry no longer applies. */
  char *saved = g_strdup(getenv("HB_GATEWAY_PATH"));
  setenv("HB_GATEWAY_PATH", tu_tmpdir(), 1);
  hvb__registry_reset_for_tests();
  setenv("OPENAI_API_KEY", "sk-fallback-0123456789", 1);
  setenv("LITELLM_API_KEY", "sk-litellm-0123456789", 1);
  hvb_spec *spec = resolve_ok("{\"gateway\": \"litellm\", \"provider\": \"openai\"}");
  ck_assert_str_eq(hvb_spec_gateway(spec), "openai");
  ck_assert_str_eq(hvb_spec_base_url(spec), "https://api.openai.com/v1");
  ck_assert_str_eq(hvb_spec_api_key(spec), "sk-fallback-0123456789");
  hvb_spec_unref(spec);
  if (saved) setenv("HB_GATEWAY_PATH", saved, 1);
  else unsetenv("HB_GATEWAY_PATH");
  hvb__registry_reset_for_tests();
  g_free(saved);
}
END_TEST

/* Before: any name that could not be loaded fell back to openai, so a typo quietly sent the
 * call to the provider directly. */
START_TEST(a_misspelt_gateway_is_an_error_with_a_suggestion_not_a_fallback) {
  tu_isolate();
  char *saved = g_strdup(getenv("HB_GATEWAY_PATH"));
  setenv("HB_GATEWAY_PATH", tu_tmpdir(), 1); /* no plugin at all */
  hvb__registry_reset_for_tests();
  hvb_error err = resolve_fails("{\"preset\": \"mock\", \"gateway\": \"portky\"}");
  ck_assert_int_eq(err.status, HVB_NOT_FOUND);
  ck_assert_msg(strstr(err.message, "unknown gateway 'portky' (did you mean 'portkey'?); known "
                                    "gateways: "),
                "%s", err.message);
  /* Known: named by the catalog (a gateway server, or a provider's gateway), or added by a
   * drop-in; those fall back when their plugin is missing. */
  const char *known[] = {"portkey", "anthropic", "mine"};
  char *path = g_build_filename(getenv("HB_CONFIG_DIR"), "catalog.d", "gw.json", NULL);
  tu_write_file(path, "{\"gateways\": {\"mine\": {\"description\": \"a third party's\"}}}");
  for (size_t i = 0; i < G_N_ELEMENTS(known); i++) {
    char *options = g_strdup_printf("{\"preset\": \"mock\", \"gateway\": \"%s\"}", known[i]);
    hvb_spec *spec = resolve_ok(options);
    ck_assert_str_eq(hvb_spec_gateway(spec), "openai");
    ck_assert(hvb_spec_gateway_fallback(spec));
    hvb_spec_unref(spec);
    g_free(options);
  }
  g_free(path);
  if (saved) setenv("HB_GATEWAY_PATH", saved, 1);
  else unsetenv("HB_GATEWAY_PATH");
  hvb__registry_reset_for_tests();
  g_free(saved);
}
END_TEST

START_TEST(specs_are_reference_counted_and_resolve_loads_config_itself) {
  tu_isolate();
  user_set("heavenbase.llm.default_preset", "\"mock\"");
  hvb_error err = HVB_ERROR_INIT;
  hvb_spec *spec = hvb_spec_resolve(NULL, NULL, &err);
  ck_assert_msg(spec != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_spec_preset(spec), "mock");
  ck_assert_ptr_eq(hvb_spec_ref(spec), spec);
  hvb_spec_unref(spec);
  ck_assert_str_eq(hvb_spec_model(spec), "mock-1"); /* still alive: one reference left */
  hvb_spec_unref(spec);
  hvb_spec_unref(NULL);
}
END_TEST

START_TEST(a_provider_named_by_the_caller_brings_its_own_gateway) {
  tu_isolate();
  /* The default preset uses the openai gateway for openrouter; anthropic speaks its own. */
  hvb_spec *spec = resolve_ok("{\"provider\": \"anthropic\", \"model\": \"claude-sonnet-4.5\"}");
  ck_assert_str_eq(hvb_spec_requested_gateway(spec), "anthropic");
  hvb_spec_unref(spec);
  /* An explicit gateway still wins, and a preset's own provider keeps the preset's gateway. */
  spec = resolve_ok("{\"provider\": \"anthropic\", \"gateway\": \"openai\"}");
  ck_assert_str_eq(hvb_spec_requested_gateway(spec), "openai");
  hvb_spec_unref(spec);
  spec = resolve_ok("{\"preset\": \"chat\"}");
  ck_assert_str_eq(hvb_spec_requested_gateway(spec), "openai");
  hvb_spec_unref(spec);
}
END_TEST

/* Whether calls need a key (issue #19): the catalog's requires_key, unless the caller gave the
 * endpoint; a gateway server decides for itself. */
static bool key_required(const char *options_text) {
  hvb_spec *spec = resolve_ok(options_text);
  bool required = hvb_spec_api_key_required(spec);
  hvb_spec_unref(spec);
  return required;
}

START_TEST(a_public_provider_requires_a_key_unless_the_endpoint_is_given) {
  tu_isolate();
  ck_assert(key_required("{\"preset\": \"chat\"}"));
  ck_assert(key_required("{\"preset\": \"embed\"}"));
  ck_assert(!key_required("{\"preset\": \"chat\", \"base_url\": \"http://127.0.0.1:1/v1\"}"));
  ck_assert(!key_required("{\"preset\": \"mock\"}"));
  ck_assert(!key_required("{\"preset\": \"embed-local\"}"));
  hvb_spec *spec = resolve_ok("{\"preset\": \"chat\", \"api_key\": \"sk-x\"}");
  ck_assert(hvb_spec_api_key_required(spec) && hvb_spec_has_api_key(spec));
  json_object *shown = hvb_spec_to_json(spec, false);
  ck_assert(json_object_get_boolean(json_object_object_get(shown, "api_key_set")));
  json_object_put(shown);
  hvb_spec_unref(spec);
}
END_TEST

int main(void) {
  Suite *s = suite_create("spec");
  TCase *tc = tcase_create("presets");
  tcase_add_test(tc, chat_preset_is_deepseek_flash_on_openrouter_through_the_openai_gateway);
  tcase_add_test(tc, no_options_means_the_configured_default_preset);
  tcase_add_test(tc, mock_preset_uses_the_mock_gateway_offline);
  tcase_add_test(tc, embedding_presets_carry_their_dimension);
  tcase_add_test(tc, every_bundled_preset_resolves);
  tcase_add_test(tc, a_public_provider_requires_a_key_unless_the_endpoint_is_given);
  tcase_add_test(tc, custom_preset_takes_model_and_base_url_from_options);
  tcase_add_test(tc, an_alias_resolves_to_its_model_and_the_provider_picks_the_id);
  tcase_add_test(tc, a_preset_defined_in_config_resolves_through_the_catalog);
  tcase_add_test(tc, an_unknown_model_passes_through_as_the_id);
  tcase_add_test(tc, an_unknown_preset_suggests_the_nearest_and_lists_all);
  tcase_add_test(tc, an_unknown_provider_suggests_the_nearest_and_names_its_origin);
  tcase_add_test(tc, a_dropin_provider_and_preset_work_without_a_rebuild);
  suite_add_tcase(s, tc);

  tc = tcase_create("args");
  tcase_add_test(tc, args_precedence_runs_from_config_to_constructor_options);
  tcase_add_test(tc, a_null_argument_removes_an_inherited_one);
  tcase_add_test(tc, options_of_the_wrong_type_are_named);
  tcase_add_test(tc, a_mistyped_catalog_entry_in_config_is_a_config_error_naming_it);
  tcase_add_test(tc, mistyped_timeouts_in_a_file_leave_the_defaults_in_force);
  tcase_add_test(tc, timeouts_come_from_options_in_seconds_else_from_config);
  tcase_add_test(tc, headers_merge_case_insensitively_and_secret_ones_are_redacted);
  suite_add_tcase(s, tc);

  tc = tcase_create("keys");
  tcase_add_test(tc, the_api_key_comes_from_the_environment_or_an_option_and_is_never_shown);
  tcase_add_test(tc, api_key_env_option_names_another_variable);
  tcase_add_test(tc, hash_key_follows_the_model_and_client_key_follows_the_connection);
  tcase_add_test(tc, keys_are_the_same_under_a_decimal_comma_locale);
  tcase_add_test(tc, to_json_shows_the_resolved_spec);
  tcase_add_test(tc, specs_are_reference_counted_and_resolve_loads_config_itself);
  tcase_add_test(tc, a_gateway_server_has_its_own_base_url_from_option_env_or_catalog);
  tcase_add_test(tc, gateway_server_keys_go_where_each_gateway_wants_them);
  tcase_add_test(tc, gateway_entries_are_checked_and_drop_ins_change_them);
  tcase_add_test(tc, after_a_fallback_to_openai_the_providers_url_and_key_are_used);
  tcase_add_test(tc, a_misspelt_gateway_is_an_error_with_a_suggestion_not_a_fallback);
  tcase_add_test(tc, a_provider_named_by_the_caller_brings_its_own_gateway);
  tcase_set_timeout(tc, 30); /* localedef may run */
  suite_add_tcase(s, tc);
  return tu_run(s);
}
