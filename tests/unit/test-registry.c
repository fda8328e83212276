/* tests/unit/test-registry.c: the gateway plugin loader, fallback, the operation check, and the
 * mock plugin's scripted replies, embeddings and PNG images.
 *
 * The fixtures (tests/gateways) are built by make check: one good plugin and one of each
 * broken kind in tests/gateways/.libs, a second hb-gateway-good.so in tests/gateways/dup/.libs,
 * and a file that is not ELF in tests/gateways/notelf. Every test starts from an empty registry
 * (hvb__registry_reset_for_tests), so that the search order can change between tests even
 * when Check does not fork (valgrind runs). */
#include "testutil.h"
#include "gateway/gateway.h"
#include "text/json.h"
#include "api/json-call.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fixtures[4096], dups[4096], notelf[4096], marker_so[4096];

static void find_dirs(void) {
  const char *build = getenv("HB_TEST_BUILDDIR");
  const char *src = getenv("HB_TEST_SRCDIR");
  if (!build || !src) {
    fprintf(stderr, "run through make check (HB_TEST_BUILDDIR, HB_TEST_SRCDIR are unset)\n");
    exit(2);
  }
  /* The registry makes its directories canonical (make distcheck's srcdir has "../.."). */
  char *b = g_canonicalize_filename(build, NULL), *sdir = g_canonicalize_filename(src, NULL);
  snprintf(fixtures, sizeof fixtures, "%s/tests/gateways/.libs", b);
  snprintf(dups, sizeof dups, "%s/tests/gateways/dup/.libs", b);
  snprintf(notelf, sizeof notelf, "%s/tests/gateways/notelf", sdir);
  snprintf(marker_so, sizeof marker_so, "%s/tests/gateways/marker/.libs/hb-gateway-marker.so", b);
  g_free(b);
  g_free(sdir);
}

/* The environment make check gave us, restored before every test (some tests change it, and
 * under valgrind Check runs every test in one process). */
static char *orig_gateway_path, *orig_home;

static void restore(const char *name, const char *value) {
  if (value)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

static void setup(void) {
  restore("HB_GATEWAY_PATH", orig_gateway_path);
  restore("HOME", orig_home);
  tu_isolate();
  hvb__registry_reset_for_tests();
}

static void add_path(const char *dir) {
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_gateway_path_add(dir, &err), "%s", err.message);
}

static void add_fixture_paths(void) {
  add_path(fixtures);
  add_path(notelf);
  add_path(dups);
}

/* The record of the file `dir`/hb-gateway-`name`.so, failing the test when there is none. */
static const hvb_gateway_record *record_of(const char *dir, const char *name) {
  char *path = g_strdup_printf("%s/hb-gateway-%s.so", dir, name);
  const hvb_gateway_record *found = NULL;
  for (size_t i = 0; i < hvb_gateway_count() && !found; i++) {
    const hvb_gateway_record *r = hvb_gateway_at(i);
    const char *p = hvb_gateway_record_path(r);
    if (p && strcmp(p, path) == 0) found = r;
  }
  ck_assert_msg(found != NULL, "no record for %s", path);
  g_free(path);
  return found;
}

static void assert_record(const hvb_gateway_record *r, const char *state, const char *stage,
                          const char *reason) {
  ck_assert_str_eq(hvb_gateway_state_name(hvb_gateway_record_state(r)), state);
  ck_assert_str_eq(hvb_gateway_stage_name(hvb_gateway_record_stage(r)), stage);
  ck_assert_msg(strstr(hvb_gateway_record_reason(r), reason) != NULL,
                "%s: reason '%s' lacks '%s'", hvb_gateway_record_path(r),
                hvb_gateway_record_reason(r), reason);
}

static json_object *parse(const char *text) {
  json_object *obj = json_tokener_parse(text);
  ck_assert_msg(obj != NULL, "test JSON does not parse: %s", text);
  return obj;
}

static const char *js(json_object *obj) {
  return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
}

static hvb_llm *llm_ok(const char *options) {
  json_object *o = parse(options);
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  ck_assert_msg(llm != NULL, "%s: %s", options, err.message);
  return llm;
}

/* ============================================================================================
 * Loading: every state, stage and reason
 * ========================================================================================== */

START_TEST(builtin_openai_comes_first_and_needs_no_scan) {
  const hvb_gateway_record *r = hvb_gateway_lookup("openai");
  ck_assert_ptr_nonnull(r);
  assert_record(r, "builtin", "", "");
  ck_assert_ptr_null(hvb_gateway_record_path(r));
  ck_assert_uint_eq(hvb_gateway_record_caps(r), HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM |
                                                    HVB_GATEWAY_CAP_EMBED | HVB_GATEWAY_CAP_IMAGE |
                                                    HVB_GATEWAY_CAP_IMAGE_REFS |
                                                    HVB_GATEWAY_CAP_EXPORT_OPENAI);
  ck_assert_ptr_eq(hvb_gateway_at(0), r);
  json_object *j = hvb_gateway_record_to_json(r);
  ck_assert_str_eq(js(json_object_object_get(j, "caps")), "[\"chat\",\"stream\",\"embed\",\"image\"]");
  ck_assert(json_object_is_type(json_object_object_get(j, "path"), json_type_null));
  ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "state")), "builtin");
  json_object_put(j);
}
END_TEST

START_TEST(each_fixture_gets_its_state_stage_and_reason) {
  add_fixture_paths();
  const hvb_gateway_record *good = record_of(fixtures, "good");
  assert_record(good, "loaded", "", "");
  ck_assert_str_eq(hvb_gateway_record_version(good), "1.2.3");
  ck_assert_uint_eq(hvb_gateway_record_abi_major(good), HVB_GATEWAY_ABI_MAJOR);
  ck_assert_uint_eq(hvb_gateway_record_abi_minor(good), HVB_GATEWAY_ABI_MINOR);
  ck_assert_ptr_eq(hvb_gateway_lookup("good"), good);

  assert_record(record_of(fixtures, "nosym"), "broken", "symbol",
                "no symbol hvb_gateway_query (not a HeavenBase gateway)");
  assert_record(record_of(fixtures, "badmagic"), "broken", "magic",
                "bad magic 0xdeadbeef (want 0x48564247): not a HeavenBase gateway descriptor");
  assert_record(record_of(fixtures, "major"), "incompatible", "abi",
                "ABI major 2, library supports 1");
  /* A 1.3 plugin that also calls a host function this library lacks: refused by its
   * descriptor, before anything is bound. */
  assert_record(record_of(fixtures, "minor"), "incompatible", "abi",
                "built for ABI 1.3, which needs a newer HeavenBase library (this one has ABI "
                "1.2)");
  assert_record(record_of(fixtures, "tiny"), "broken", "struct",
                "struct_size 8 is smaller than the descriptor's fixed fields");
  assert_record(record_of(fixtures, "mismatch"), "broken", "name",
                "descriptor name 'other' does not match file name 'mismatch'");
  assert_record(record_of(fixtures, "initfail"), "broken", "init",
                "initfail: no licence file (fixture)");
  assert_record(record_of(fixtures, "undef"), "broken", "open",
                "undefined symbol: hvb_no_such_function");
  assert_record(record_of(notelf, "notelf"), "broken", "open", "hb-gateway-notelf.so");
  char *first = g_strdup_printf("'good' is already provided by %s/hb-gateway-good.so (loaded)",
                                fixtures);
  assert_record(record_of(dups, "good"), "duplicate", "", first);
  g_free(first);

  /* Refused files are listed but never usable; the lookup says nothing more. */
  static const char *const refused[] = {"nosym", "badmagic", "major", "minor", "tiny",
                                        "mismatch", "initfail", "undef", "notelf", "other"};
  for (size_t i = 0; i < G_N_ELEMENTS(refused); i++)
    ck_assert_msg(hvb_gateway_lookup(refused[i]) == NULL, "%s is usable", refused[i]);
}
END_TEST

START_TEST(the_mock_is_built_in_and_a_file_of_its_name_wins) {
  /* No plugin file anywhere: the built-in mock answers. */
  unsetenv("HB_GATEWAY_PATH");
  const hvb_gateway_record *mock = hvb_gateway_lookup("mock");
  ck_assert_ptr_nonnull(mock);
  assert_record(mock, "builtin", "", "");
  ck_assert_ptr_null(hvb_gateway_record_path(mock));
  ck_assert_uint_eq(hvb_gateway_record_abi_minor(mock), HVB_GATEWAY_ABI_MINOR);
  hvb_llm *llm = llm_ok("{\"preset\": \"mock\"}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "Mock reply to: hi");
  hvb_result_free(r);
  hvb_llm_free(llm);

  /* The plugin file in the path: looked up first, it wins; the listing shows the built-in
   * copy as a duplicate of it. */
  hvb__registry_reset_for_tests();
  restore("HB_GATEWAY_PATH", orig_gateway_path);
  mock = hvb_gateway_lookup("mock");
  ck_assert_ptr_nonnull(mock);
  assert_record(mock, "loaded", "", "");
  ck_assert_ptr_nonnull(strstr(hvb_gateway_record_path(mock), "hb-gateway-mock.so"));
  const hvb_gateway_record *shadowed = NULL;
  for (size_t i = 0; i < hvb_gateway_count(); i++) {
    const hvb_gateway_record *x = hvb_gateway_at(i);
    if (!hvb_gateway_record_path(x) && !strcmp(hvb_gateway_record_name(x), "mock")) shadowed = x;
  }
  ck_assert_ptr_nonnull(shadowed);
  assert_record(shadowed, "duplicate", "", "provides 'mock'; the built-in copy is not used");
  ck_assert_ptr_eq(hvb_gateway_lookup("mock"), mock);
}
END_TEST

START_TEST(the_host_table_starts_with_its_size_and_version) {
  const hvb_gateway_host *host = hvb__gateway_host();
  ck_assert_uint_eq(host->size, sizeof(hvb_gateway_host));
  ck_assert_uint_eq(host->abi_major, HVB_GATEWAY_ABI_MAJOR);
  ck_assert_uint_eq(host->abi_minor, HVB_GATEWAY_ABI_MINOR);
  ck_assert(HVB_GATEWAY_HOST_HAS(host, openai_parse_error));
  /* A plugin built against a newer table asks before reading a member this one lacks. */
  hvb_gateway_host copy = *host;
  copy.size = (uint32_t)offsetof(hvb_gateway_host, openai_parse_error);
  const hvb_gateway_host *older = &copy;
  ck_assert(!HVB_GATEWAY_HOST_HAS(older, openai_parse_error));
  ck_assert(HVB_GATEWAY_HOST_HAS(older, openai_parse_event));
  /* The openai reading of error bodies: OpenAI's shape, the type falling back to "code". */
  json_object *body = parse("{\"error\": {\"message\": \"Rate limit reached\", "
                            "\"type\": null, \"code\": \"rate_limit_exceeded\"}}");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(host->openai_parse_error(NULL, 429, body, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_int_eq(err.http_status, 429);
  ck_assert_str_eq(err.type, "rate_limit_exceeded");
  ck_assert_str_eq(err.message, "Rate limit reached");
  json_object_put(body);
  body = parse("{\"detail\": \"not found\"}");
  hvb_error err2 = HVB_ERROR_INIT;
  ck_assert(!host->openai_parse_error(NULL, 404, body, &err2));
  ck_assert_int_eq(err2.status, HVB_OK);
  json_object_put(body);
}
END_TEST

START_TEST(an_older_plugin_loads_and_slots_past_its_struct_size_read_as_null) {
  add_path(fixtures);
  const hvb_gateway_record *older = hvb_gateway_lookup("older");
  ck_assert_ptr_nonnull(older);
  assert_record(older, "loaded", "", "");
  ck_assert_ptr_nonnull(older->ops.parse_event);
  ck_assert_ptr_null(older->ops.execute); /* present in the file, past its struct_size */
  ck_assert_uint_eq(older->struct_size, offsetof(hvb_gateway_descriptor, execute));
  /* Without execute it is not offline: a call needs prepare, and says so. */
  hvb_llm *llm = llm_ok("{\"preset\": \"mock\", \"gateway\": \"older\"}");
  ck_assert_str_eq(hvb_spec_gateway(hvb_llm_spec(llm)), "older");
  hvb_error err = HVB_ERROR_INIT;
  json_object *req = parse("{\"prompt\": \"x\"}");
  ck_assert_ptr_null(hvb__llm_call_json(llm, HVB_GATEWAY_OP_IMAGE, req, &err));
  ck_assert_int_eq(err.status, HVB_GATEWAY);
  ck_assert_ptr_nonnull(strstr(err.message, "gateway 'older' lacks the prepare"));
  json_object_put(req);
  hvb_llm_free(llm);
}
END_TEST

/* A log handler that lists the gateways itself: the registry must not hold its lock while it
 * logs. */
static int log_calls;
static void listing_logger(hvb_log_level level, const char *message, void *user_data) {
  (void)level, (void)message, (void)user_data;
  log_calls++;
  ck_assert_uint_gt(hvb_gateway_count(), 0);
}

START_TEST(refusals_are_logged_and_the_log_handler_may_use_the_registry) {
  log_calls = 0;
  hvb_log_set_handler(listing_logger, HVB_LOG_WARN, NULL);
  add_path(fixtures);
  /* A lookup by name opens that name's file only: nothing to refuse, nothing logged. */
  ck_assert_ptr_nonnull(hvb_gateway_lookup("good"));
  ck_assert_int_eq(log_calls, 0);
  /* A listing opens every file: nosym, badmagic, major, minor, tiny, mismatch, initfail,
   * undef: eight warnings. */
  ck_assert_uint_gt(hvb_gateway_count(), 0);
  hvb_log_set_handler(NULL, HVB_LOG_WARN, NULL);
  ck_assert_int_eq(log_calls, 8);
}
END_TEST

START_TEST(check_loads_one_file_outside_the_search_path) {
  hvb_error err = HVB_ERROR_INIT;
  char *path = g_strdup_printf("%s/hb-gateway-good.so", fixtures);
  hvb_gateway_record *r = hvb_gateway_check(path, &err);
  ck_assert_ptr_nonnull(r);
  assert_record(r, "loaded", "", "");
  ck_assert_str_eq(hvb_gateway_record_name(r), "good");
  hvb_gateway_record_free(r);
  /* The search path does not know it: check is not registration. */
  ck_assert_ptr_null(hvb_gateway_lookup("good"));
  g_free(path);

  path = g_strdup_printf("%s/hb-gateway-notelf.so", notelf);
  r = hvb_gateway_check(path, &err);
  assert_record(r, "broken", "open", "hb-gateway-notelf.so");
  hvb_gateway_record_free(r);
  g_free(path);

  path = g_strdup_printf("%s/libgood.so", fixtures);
  r = hvb_gateway_check(path, &err);
  assert_record(r, "broken", "name", "file name 'libgood.so' is not hb-gateway-<name>.so");
  hvb_gateway_record_free(r);
  g_free(path);

  ck_assert_ptr_null(hvb_gateway_check("", &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  /* Records owned by the registry are never freed by the caller's mistake. */
  hvb_gateway_record_free((hvb_gateway_record *)hvb_gateway_lookup("openai"));
  ck_assert_ptr_nonnull(hvb_gateway_lookup("openai"));
}
END_TEST

static gpointer lookup_good(gpointer data) {
  (void)data;
  return (gpointer)hvb_gateway_lookup("good");
}

START_TEST(concurrent_first_lookups_scan_once) {
  add_path(fixtures);
  GThread *threads[4];
  for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
    threads[i] = g_thread_new("lookup", lookup_good, NULL);
  gpointer got[G_N_ELEMENTS(threads)];
  for (size_t i = 0; i < G_N_ELEMENTS(threads); i++) got[i] = g_thread_join(threads[i]);
  ck_assert_ptr_nonnull(got[0]);
  for (size_t i = 1; i < G_N_ELEMENTS(threads); i++) ck_assert_ptr_eq(got[i], got[0]);
  /* One record per file, and no file loaded twice (the built-in mock may be a duplicate of
   * the mock file in the path: built-ins have no path). */
  size_t n = hvb_gateway_count();
  for (size_t i = 0; i < n; i++) {
    const hvb_gateway_record *a = hvb_gateway_at(i);
    if (!hvb_gateway_record_path(a)) continue;
    ck_assert_int_ne(hvb_gateway_record_state(a), HVB_GATEWAY_STATE_DUPLICATE);
    for (size_t k = i + 1; k < n; k++) {
      const hvb_gateway_record *b = hvb_gateway_at(k);
      ck_assert(g_strcmp0(hvb_gateway_record_path(a), hvb_gateway_record_path(b)) != 0);
    }
  }
}
END_TEST

/* ============================================================================================
 * Search order and the setuid rule
 * ========================================================================================== */

START_TEST(first_directory_of_the_path_wins_and_api_paths_come_first) {
  /* HB_GATEWAY_PATH: dup first, so dup's good (9.9.9) wins. */
  char *env = g_strdup_printf("%s:%s", dups, fixtures);
  setenv("HB_GATEWAY_PATH", env, 1);
  const hvb_gateway_record *good = hvb_gateway_lookup("good");
  ck_assert_ptr_nonnull(good);
  ck_assert_str_eq(hvb_gateway_record_version(good), "9.9.9");
  assert_record(record_of(fixtures, "good"), "duplicate", "", "already provided by");

  /* A directory given through the API comes before the environment. */
  hvb__registry_reset_for_tests();
  add_path(fixtures);
  good = hvb_gateway_lookup("good");
  ck_assert_str_eq(hvb_gateway_record_version(good), "1.2.3");
  assert_record(record_of(dups, "good"), "duplicate", "", "already provided by");
  g_free(env);
}
END_TEST

START_TEST(a_path_added_after_the_scan_adds_what_is_new) {
  ck_assert_ptr_null(hvb_gateway_lookup("good")); /* scans: no fixtures in the path */
  size_t before = hvb_gateway_count();
  add_path(fixtures);
  ck_assert_ptr_nonnull(hvb_gateway_lookup("good"));
  ck_assert_uint_gt(hvb_gateway_count(), before);
  size_t after = hvb_gateway_count();
  add_path(fixtures); /* known: nothing happens */
  ck_assert_uint_eq(hvb_gateway_count(), after);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb_gateway_path_add("", &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
}
END_TEST

START_TEST(a_file_cannot_replace_the_builtin_gateway) {
  const char *dir = tu_tmpdir();
  char *src = g_strdup_printf("%s/hb-gateway-good.so", fixtures);
  char *dst = g_strdup_printf("%s/hb-gateway-openai.so", dir);
  gchar *bytes = NULL;
  gsize len = 0;
  ck_assert(g_file_get_contents(src, &bytes, &len, NULL));
  ck_assert(g_file_set_contents(dst, bytes, (gssize)len, NULL));
  add_path(dir);
  assert_record(record_of(dir, "openai"), "duplicate", "", "'openai' is the built-in gateway");
  ck_assert_int_eq(hvb_gateway_record_state(hvb_gateway_lookup("openai")),
                   HVB_GATEWAY_STATE_BUILTIN);
  g_free(bytes);
  g_free(src);
  g_free(dst);
}
END_TEST

START_TEST(environment_is_ignored_when_setuid_or_setgid) {
  ck_assert(!hvb__registry_setid(1000, 1000, 1000, 1000));
  ck_assert(hvb__registry_setid(1000, 0, 1000, 1000));
  ck_assert(hvb__registry_setid(1000, 1000, 1000, 0));

  setenv("HB_GATEWAY_PATH", "/env/a::/env/b", 1);
  setenv("XDG_DATA_HOME", "/xdg", 1);
  setenv("HB_GATEWAY_SYSTEM_DIR", "/sys-for-tests", 1);
  const char *api[] = {"/api/1", "/api/2", NULL};
  char **dirs = hvb__registry_dirs(api, false);
  char *joined = g_strjoinv(":", dirs);
  ck_assert_str_eq(joined, "/api/1:/api/2:/env/a:/env/b:/xdg/heavenbase/gateways-1:"
                           "/sys-for-tests");
  g_free(joined);
  g_strfreev(dirs);

  /* XDG_DATA_HOME unset (or relative): $HOME/.local/share. */
  setenv("XDG_DATA_HOME", "relative/dir", 1);
  setenv("HOME", "/home/u", 1);
  dirs = hvb__registry_dirs(NULL, false);
  ck_assert_str_eq(dirs[2], "/home/u/.local/share/heavenbase/gateways-1");
  g_strfreev(dirs);

  /* setuid: API paths and the compiled-in directory only. */
  dirs = hvb__registry_dirs(api, true);
  joined = g_strjoinv(":", dirs);
  ck_assert_str_eq(joined, "/api/1:/api/2:" HVB_LIBDIR "/heavenbase/gateways-1");
  g_free(joined);
  g_strfreev(dirs);
}
END_TEST

/* ============================================================================================
 * Fallback and the operation check
 * ========================================================================================== */

START_TEST(an_unloadable_gateway_falls_back_to_openai_and_the_spec_says_why) {
  add_path(fixtures);
  json_object *o = parse("{\"preset\": \"mock\", \"gateway\": \"major\"}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_spec *spec = hvb_spec_resolve(NULL, o, &err);
  json_object_put(o);
  ck_assert_msg(spec != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_spec_gateway(spec), "openai");
  ck_assert_str_eq(hvb_spec_requested_gateway(spec), "major");
  ck_assert(hvb_spec_gateway_fallback(spec));
  ck_assert_ptr_nonnull(strstr(hvb_spec_gateway_fallback_reason(spec),
                               "hb-gateway-major.so is incompatible at stage abi: ABI major 2"));
  json_object *j = hvb_spec_to_json(spec, false);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "gateway")), "openai");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "requested_gateway")),
                   "major");
  ck_assert_ptr_nonnull(strstr(
      json_object_get_string(json_object_object_get(j, "gateway_fallback_reason")), "ABI major"));
  json_object_put(j);
  hvb_spec_unref(spec);

  /* A gateway that loads: no fallback, and the JSON form has no fallback fields. */
  o = parse("{\"preset\": \"mock\", \"gateway\": \"good\"}");
  spec = hvb_spec_resolve(NULL, o, &err);
  json_object_put(o);
  ck_assert_str_eq(hvb_spec_gateway(spec), "good");
  ck_assert_str_eq(hvb_spec_requested_gateway(spec), "good");
  ck_assert(!hvb_spec_gateway_fallback(spec));
  ck_assert_ptr_null(hvb_spec_gateway_fallback_reason(spec));
  j = hvb_spec_to_json(spec, false);
  ck_assert(!json_object_object_get_ex(j, "requested_gateway", NULL));
  json_object_put(j);
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(with_fallback_disabled_an_unloadable_gateway_is_an_error) {
  char *path = g_strdup_printf("%s/config.json", getenv("HB_CONFIG_DIR"));
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"gateway_fallback\": false, \"gateways\": "
                      "{\"nosuchgw\": {\"description\": \"known, not installed\"}}}}}");
  json_object *o = parse("{\"preset\": \"mock\", \"gateway\": \"nosuchgw\"}");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_spec_resolve(NULL, o, &err));
  ck_assert_int_eq(err.status, HVB_GATEWAY);
  ck_assert_ptr_nonnull(strstr(err.message, "gateway 'nosuchgw' cannot be used "
                                            "(heavenbase.llm.gateway_fallback is false): no file "
                                            "hb-gateway-nosuchgw.so in the gateway path"));
  ck_assert_ptr_null(hvb_llm_new(o, &err));
  ck_assert_int_eq(err.status, HVB_GATEWAY);
  /* A gateway that loads is unaffected. */
  json_object_put(o);
  o = parse("{\"preset\": \"mock\"}");
  hvb_spec *spec = hvb_spec_resolve(NULL, o, &err);
  ck_assert_msg(spec != NULL, "%s", err.message);
  hvb_spec_unref(spec);
  json_object_put(o);

  /* A mistyped setting is ignored when the file is read (with a warning): the default,
   * fallback on, stays in force. */
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"gateway_fallback\": \"no\", \"gateways\": "
                      "{\"nosuchgw\": {\"description\": \"known, not installed\"}}}}}");
  o = parse("{\"preset\": \"mock\", \"gateway\": \"nosuchgw\"}");
  spec = hvb_spec_resolve(NULL, o, &err);
  ck_assert_msg(spec != NULL, "%s", err.message);
  ck_assert(hvb_spec_gateway_fallback(spec));
  hvb_spec_unref(spec);
  json_object_put(o);
  g_free(path);
}
END_TEST

START_TEST(operations_are_checked_by_caps_then_by_supports) {
  add_path(fixtures);
  hvb_llm *llm = llm_ok("{\"preset\": \"mock\", \"gateway\": \"good\"}");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(hvb_llm_supports(llm, HVB_GATEWAY_OP_CHAT, &err));
  ck_assert(hvb_llm_supports(llm, HVB_GATEWAY_OP_EMBED, &err));
  ck_assert(!hvb_llm_supports(llm, HVB_GATEWAY_OP_IMAGE, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_str_eq(err.message, "gateway 'good' does not support image generation");
  ck_assert(!hvb_llm_supports(llm, (hvb_gateway_op)42, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "good reply");
  hvb_result_free(r);
  hvb_llm_free(llm);

  /* supports refuses a provider the caps cannot know about. */
  llm = llm_ok("{\"preset\": \"chat\", \"gateway\": \"good\"}");
  ck_assert_str_eq(hvb_spec_provider(hvb_llm_spec(llm)), "openrouter");
  ck_assert(!hvb_llm_supports(llm, HVB_GATEWAY_OP_EMBED, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_str_eq(err.message, "good has no embeddings for provider 'openrouter'");
  json_object *req = parse("{\"input\": [\"x\"]}");
  ck_assert_ptr_null(hvb__llm_call_json(llm, HVB_GATEWAY_OP_EMBED, req, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  json_object_put(req);
  hvb_llm_free(llm);

  /* The check comes before anything else: even before the messages are looked at. */
  llm = llm_ok("{\"preset\": \"mock\", \"gateway\": \"older\"}");
  json_object *bad = parse("[]");
  ck_assert_ptr_null(hvb_llm_chat(llm, NULL, bad, NULL, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_str_eq(err.message, "gateway 'older' does not support chat");
  ck_assert_ptr_null(hvb_llm_stream(llm, "hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  json_object_put(bad);
  hvb_llm_free(llm);
}
END_TEST

/* ============================================================================================
 * The mock plugin: scripted replies, embeddings, images
 * ========================================================================================== */

START_TEST(mock_replies_script_a_tool_loop_by_assistant_turns) {
  hvb_llm *llm = llm_ok(
      "{\"preset\": \"mock\", \"mock_replies\": ["
      " {\"content\": null, \"tool_calls\": [{\"function\": {\"name\": \"get_weather\","
      "   \"arguments\": {\"city\": \"Paris\"}}}]},"
      " \"It is sunny in Paris.\","
      " {\"error\": {\"status\": 429, \"message\": \"slow down\", \"type\": \"rate_limit\"}}]}");
  hvb_error err = HVB_ERROR_INIT;
  json_object *msgs = parse("[{\"role\": \"user\", \"content\": \"Weather in Paris?\"}]");
  hvb_result *r = hvb_llm_chat(llm, NULL, msgs, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_finish_reason(r), "tool_calls");
  ck_assert_str_eq(js(hvb_result_tool_calls(r)),
                   "[{\"id\":\"call_mock_0_0\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]");

  /* Round two: the conversation holds one assistant message, so reply 1 answers. */
  json_object *conv = json_object_get(hvb_result_messages(r));
  hvb_result_free(r);
  json_object_array_add(conv, parse("{\"role\": \"tool\", \"tool_call_id\": \"call_mock_0_0\","
                                    " \"content\": \"sunny\"}"));
  hvb_stream *st = hvb_llm_stream(llm, NULL, conv, NULL, &err);
  ck_assert_msg(st != NULL, "%s", err.message);
  json_object *d = NULL;
  GString *text = g_string_new(NULL);
  int n = 0;
  while (hvb_stream_next(st, &d, &err) && d) {
    const char *t = hvb__json_str(d, "text");
    if (t) g_string_append(text, t), n++;
  }
  ck_assert_int_eq(err.status, HVB_OK);
  ck_assert_str_eq(text->str, "It is sunny in Paris.");
  ck_assert_int_eq(n, 5); /* word by word */
  r = hvb_stream_result(st, &err);
  ck_assert_str_eq(hvb_result_finish_reason(r), "stop");
  json_object_put(conv);
  conv = json_object_get(hvb_result_messages(r));
  hvb_result_free(r);
  hvb_stream_free(st);
  g_string_free(text, TRUE);

  /* Round three: the scripted error, with its HTTP status and type. */
  json_object_array_add(conv, parse("{\"role\": \"user\", \"content\": \"And tomorrow?\"}"));
  ck_assert_ptr_null(hvb_llm_chat(llm, NULL, conv, NULL, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_int_eq(err.http_status, 429);
  ck_assert_str_eq(err.type, "rate_limit");
  ck_assert_ptr_nonnull(strstr(err.message, "slow down"));

  /* Round four: past the end of the script. */
  json_object_array_add(conv, parse("{\"role\": \"assistant\", \"content\": \"?\"}"));
  ck_assert_ptr_null(hvb_llm_chat(llm, NULL, conv, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "mock_replies has 3 replies, but the request "
                                            "already holds 3 assistant messages"));
  json_object_put(conv);
  json_object_put(msgs);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(mock_reply_objects_carry_reasoning_usage_and_finish) {
  hvb_llm *llm = llm_ok("{\"preset\": \"mock\"}");
  hvb_error err = HVB_ERROR_INIT;
  json_object *call = parse("{\"mock_replies\": [{\"content\": \"Four.\", \"reasoning_content\":"
                            " \"2+2\", \"finish_reason\": \"length\", \"usage\":"
                            " {\"prompt_tokens\": 1, \"completion_tokens\": 2,"
                            " \"total_tokens\": 3}}]}");
  hvb_result *r = hvb_llm_chat(llm, "2+2?", NULL, call, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "Four.");
  ck_assert_str_eq(hvb_result_think(r), "2+2");
  ck_assert_str_eq(hvb_result_finish_reason(r), "length");
  ck_assert_str_eq(js(hvb_result_usage(r)),
                   "{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}");
  hvb_result_free(r);
  json_object_put(call);

  call = parse("{\"mock_replies\": [42]}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "x", NULL, call, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "mock_replies[0] is neither a string nor"));
  json_object_put(call);
  call = parse("{\"mock_replies\": [{\"error\": {\"message\": \"boom\"}}]}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "x", NULL, call, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_int_eq(err.http_status, 0);
  json_object_put(call);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(mock_embeddings_default_to_8_dimensions_and_honour_embed_dim) {
  hvb_llm *llm = llm_ok("{\"preset\": \"mock\"}");
  hvb_error err = HVB_ERROR_INIT;
  json_object *req = parse("{\"model\": \"mock-1\", \"input\": [\"a\", \"b c\"]}");
  json_object *res = hvb__llm_call_json(llm, HVB_GATEWAY_OP_EMBED, req, &err);
  ck_assert_msg(res != NULL, "%s", err.message);
  json_object *data = json_object_object_get(res, "data");
  ck_assert_int_eq((int)json_object_array_length(data), 2);
  for (size_t i = 0; i < 2; i++) {
    json_object *v = json_object_object_get(json_object_array_get_idx(data, i), "embedding");
    ck_assert_int_eq((int)json_object_array_length(v), 8);
    double norm = 0;
    for (size_t k = 0; k < 8; k++) {
      double x = json_object_get_double(json_object_array_get_idx(v, k));
      norm += x * x;
    }
    ck_assert(fabs(norm - 1.0) < 1e-9);
  }
  ck_assert_str_eq(js(json_object_object_get(res, "usage")),
                   "{\"prompt_tokens\":3,\"total_tokens\":3}");
  json_object_put(res);
  json_object_put(req);

  req = parse("{\"input\": \"a\", \"embed_dim\": 3}");
  res = hvb__llm_call_json(llm, HVB_GATEWAY_OP_EMBED, req, &err);
  ck_assert_msg(res != NULL, "%s", err.message);
  ck_assert_int_eq((int)json_object_array_length(hvb__json_path(
                       json_object_array_get_idx(json_object_object_get(res, "data"), 0),
                       "embedding")),
                   3);
  json_object_put(res);
  json_object_put(req);

  req = parse("{\"input\": [1]}");
  ck_assert_ptr_null(hvb__llm_call_json(llm, HVB_GATEWAY_OP_EMBED, req, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "input[0] is not a string"));
  json_object_put(req);
  hvb_llm_free(llm);
}
END_TEST

static uint32_t be32(const guint8 *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Decode the mock's PNG: signature, chunk CRCs (through zlib's polynomial, computed here
 * bit by bit), IHDR, the stored deflate blocks, Adler-32 and the pixels. Returns the RGB of
 * pixel (0, 0) packed as 0xRRGGBB. */
static uint32_t check_png(const guint8 *png, size_t len) {
  static const guint8 sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  ck_assert_uint_ge(len, 8 + 25 + 12);
  ck_assert_int_eq(memcmp(png, sig, 8), 0);
  size_t off = 8;
  GByteArray *z = g_byte_array_new();
  bool ihdr = false, iend = false;
  while (off + 12 <= len && !iend) {
    uint32_t n = be32(png + off);
    const guint8 *type = png + off + 4, *data = png + off + 8;
    ck_assert_uint_le(off + 12 + n, len);
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n + 4; i++) {
      crc ^= type[i];
      for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    ck_assert_uint_eq(~crc, be32(data + n)); /* the chunk's CRC */
    if (!memcmp(type, "IHDR", 4)) {
      ck_assert_uint_eq(n, 13);
      ck_assert_uint_eq(be32(data), 8);     /* width */
      ck_assert_uint_eq(be32(data + 4), 8); /* height */
      ck_assert_uint_eq(data[8], 8);        /* bit depth */
      ck_assert_uint_eq(data[9], 2);        /* truecolour */
      ihdr = true;
    } else if (!memcmp(type, "IDAT", 4)) {
      g_byte_array_append(z, data, n);
    } else if (!memcmp(type, "IEND", 4)) {
      iend = true;
    }
    off += 12 + n;
  }
  ck_assert(ihdr && iend);
  ck_assert_uint_eq(off, len);
  /* zlib: header, stored blocks, Adler-32. */
  ck_assert_uint_eq(((unsigned)z->data[0] << 8 | z->data[1]) % 31, 0);
  GByteArray *raw = g_byte_array_new();
  size_t p = 2;
  bool last = false;
  while (!last) {
    last = z->data[p] & 1;
    ck_assert_uint_eq((z->data[p] >> 1) & 3, 0); /* stored */
    unsigned bl = z->data[p + 1] | z->data[p + 2] << 8, nl = z->data[p + 3] | z->data[p + 4] << 8;
    ck_assert_uint_eq(bl ^ 0xffffu, nl);
    g_byte_array_append(raw, z->data + p + 5, bl);
    p += 5 + bl;
  }
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < raw->len; i++) a = (a + raw->data[i]) % 65521, b = (b + a) % 65521;
  ck_assert_uint_eq((b << 16) | a, be32(z->data + p));
  ck_assert_uint_eq(raw->len, 8 * (1 + 3 * 8));
  for (size_t y = 0; y < 8; y++) {
    ck_assert_uint_eq(raw->data[y * 25], 0); /* filter none */
    ck_assert_int_eq(memcmp(raw->data + y * 25 + 1, raw->data + 1, 3), 0);
  }
  uint32_t rgb = (uint32_t)raw->data[1] << 16 | (uint32_t)raw->data[2] << 8 | raw->data[3];
  g_byte_array_free(raw, TRUE);
  g_byte_array_free(z, TRUE);
  return rgb;
}

START_TEST(mock_images_are_valid_deterministic_pngs) {
  hvb_llm *llm = llm_ok("{\"preset\": \"mock\"}");
  hvb_error err = HVB_ERROR_INIT;
  json_object *req = parse("{\"prompt\": \"a red fox\", \"n\": 2}");
  json_object *res = hvb__llm_call_json(llm, HVB_GATEWAY_OP_IMAGE, req, &err);
  ck_assert_msg(res != NULL, "%s", err.message);
  json_object *data = json_object_object_get(res, "data");
  ck_assert_int_eq((int)json_object_array_length(data), 2);
  uint32_t colour[2];
  for (size_t i = 0; i < 2; i++) {
    json_object *img = json_object_array_get_idx(data, i);
    ck_assert_str_eq(hvb__json_str(img, "revised_prompt"), "a red fox");
    gsize len = 0;
    guchar *png = g_base64_decode(hvb__json_str(img, "b64_json"), &len);
    colour[i] = check_png(png, len);
    g_free(png);
  }
  /* The colour is the first bytes of SHA-256(prompt || i). */
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sum, (const guchar *)"a red fox\0\0\0\1", 13);
  guint8 digest[32];
  gsize dlen = sizeof digest;
  g_checksum_get_digest(sum, digest, &dlen);
  g_checksum_free(sum);
  ck_assert_uint_eq(colour[1], (uint32_t)digest[0] << 16 | (uint32_t)digest[1] << 8 | digest[2]);
  ck_assert_uint_ne(colour[0], colour[1]);
  /* Deterministic: the same request gives the same bytes. */
  json_object *again = hvb__llm_call_json(llm, HVB_GATEWAY_OP_IMAGE, req, &err);
  ck_assert_str_eq(js(again), js(res));
  json_object_put(again);
  json_object_put(res);
  json_object_put(req);

  req = parse("{\"n\": 1}");
  ck_assert_ptr_null(hvb__llm_call_json(llm, HVB_GATEWAY_OP_IMAGE, req, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "'prompt'"));
  json_object_put(req);
  hvb_llm_free(llm);
}
END_TEST

/* ============================================================================================
 * Permissions: a file someone else could have written is refused before any of it runs
 * ========================================================================================== */

/* A copy of the marker fixture (its constructor and init append to $HB_TEST_MARKER) as
 * `dir`/hb-gateway-marker.so, mode `mode`, in a fresh directory of mode `dir_mode`. */
static char *marker_copy(const char *dir, mode_t mode, mode_t dir_mode) {
  gchar *bytes = NULL;
  gsize len = 0;
  ck_assert(g_file_get_contents(marker_so, &bytes, &len, NULL));
  ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
  char *dst = g_strdup_printf("%s/hb-gateway-marker.so", dir);
  ck_assert(g_file_set_contents(dst, bytes, (gssize)len, NULL));
  ck_assert_int_eq(chmod(dst, mode), 0);
  ck_assert_int_eq(chmod(dir, dir_mode), 0);
  g_free(bytes);
  return dst;
}

/* The record of `dir`'s marker after a fresh scan of `dir` alone. */
static const hvb_gateway_record *scan_marker(const char *dir) {
  hvb__registry_reset_for_tests();
  add_path(dir);
  return record_of(dir, "marker");
}

static bool marked(const char *marker) {
  return g_file_test(marker, G_FILE_TEST_EXISTS);
}

START_TEST(plugins_others_can_write_are_refused_before_any_code_runs) {
  const char *tmp = tu_tmpdir();
  char *marker = g_strdup_printf("%s/marker.txt", tmp);
  setenv("HB_TEST_MARKER", marker, 1);
  unsetenv("HB_GATEWAY_PATH");

  char *dir = g_strdup_printf("%s/world-file", tmp);
  char *file = marker_copy(dir, 0666, 0755);
  assert_record(scan_marker(dir), "broken", "permissions", file);
  assert_record(scan_marker(dir), "broken", "permissions", "is writable by group and others");
  ck_assert_ptr_null(hvb_gateway_lookup("marker"));
  ck_assert_msg(!marked(marker), "the refused plugin's code ran");
  hvb_error err = HVB_ERROR_INIT;
  hvb_gateway_record *checked = hvb_gateway_check(file, &err);
  assert_record(checked, "broken", "permissions", "(mode 0666)");
  hvb_gateway_record_free(checked);
  g_free(file);
  g_free(dir);

  dir = g_strdup_printf("%s/group-file", tmp);
  file = marker_copy(dir, 0664, 0755);
  assert_record(scan_marker(dir), "broken", "permissions", "is writable by group (mode 0664)");
  g_free(file);
  g_free(dir);

  /* The directory: anyone who can write it can replace the file. */
  dir = g_strdup_printf("%s/world-dir", tmp);
  file = marker_copy(dir, 0644, 0777);
  char *why = g_strdup_printf("the directory %s is writable by group and others (mode 0777); "
                              "not loading %s", dir, file);
  assert_record(scan_marker(dir), "broken", "permissions", why);
  g_free(why);
  /* A link from a safe directory to that file: its target's directory counts. */
  char *safe = g_strdup_printf("%s/safe", tmp);
  ck_assert_int_eq(g_mkdir_with_parents(safe, 0755), 0);
  char *link = g_strdup_printf("%s/hb-gateway-marker.so", safe);
  ck_assert_int_eq(symlink(file, link), 0);
  assert_record(scan_marker(safe), "broken", "permissions", "the directory");
  ck_assert_msg(!marked(marker), "the refused plugin's code ran");
  g_free(link);
  g_free(safe);
  g_free(file);
  g_free(dir);

  /* Another user's file (only root can make one to test with). */
  if (geteuid() == 0) {
    dir = g_strdup_printf("%s/other-owner", tmp);
    file = marker_copy(dir, 0644, 0755);
    ck_assert_int_eq(chown(file, 65534, 65534), 0);
    assert_record(scan_marker(dir), "broken", "permissions", "is owned by uid 65534");
    g_free(file);
    g_free(dir);
  }
  ck_assert_msg(!marked(marker), "a refused plugin's code ran");

  /* The same file, writable by its owner only, loads and runs (the marker works). */
  dir = g_strdup_printf("%s/safe-file", tmp);
  file = marker_copy(dir, 0644, 0755);
  assert_record(scan_marker(dir), "loaded", "", "");
  ck_assert_ptr_nonnull(hvb_gateway_lookup("marker"));
  ck_assert_msg(marked(marker), "the marker fixture left no mark when it loaded");
  g_free(file);
  g_free(dir);
  unsetenv("HB_TEST_MARKER");
  g_free(marker);
}
END_TEST

START_TEST(getters_of_no_record_say_nothing_and_never_read_as_usable) {
  const hvb_gateway_record *none = hvb_gateway_lookup(NULL);
  ck_assert_ptr_null(none);
  ck_assert_ptr_null(hvb_gateway_lookup(""));
  ck_assert_ptr_null(hvb_gateway_record_name(none));
  ck_assert_ptr_null(hvb_gateway_record_path(none));
  ck_assert_ptr_null(hvb_gateway_record_reason(none));
  ck_assert_ptr_null(hvb_gateway_record_version(none));
  ck_assert_uint_eq(hvb_gateway_record_caps(none), 0);
  ck_assert_uint_eq(hvb_gateway_record_abi_major(none), 0);
  ck_assert_int_eq(hvb_gateway_record_stage(none), HVB_GATEWAY_STAGE_NONE);
  ck_assert_int_eq(hvb_gateway_record_state(none), HVB_GATEWAY_STATE_BROKEN);
  ck_assert_ptr_null(hvb_gateway_record_to_json(none));
  hvb_gateway_record_free(NULL);
}
END_TEST

int main(void) {
  find_dirs();
  orig_gateway_path = g_strdup(getenv("HB_GATEWAY_PATH"));
  orig_home = g_strdup(getenv("HOME"));
  Suite *s = suite_create("registry");

  TCase *load = tcase_create("load");
  tcase_add_checked_fixture(load, setup, NULL);
  tcase_set_timeout(load, 30);
  tcase_add_test(load, builtin_openai_comes_first_and_needs_no_scan);
  tcase_add_test(load, getters_of_no_record_say_nothing_and_never_read_as_usable);
  tcase_add_test(load, each_fixture_gets_its_state_stage_and_reason);
  tcase_add_test(load, an_older_plugin_loads_and_slots_past_its_struct_size_read_as_null);
  tcase_add_test(load, the_mock_is_built_in_and_a_file_of_its_name_wins);
  tcase_add_test(load, the_host_table_starts_with_its_size_and_version);
  tcase_add_test(load, check_loads_one_file_outside_the_search_path);
  tcase_add_test(load, refusals_are_logged_and_the_log_handler_may_use_the_registry);
  tcase_add_test(load, concurrent_first_lookups_scan_once);
  tcase_add_test(load, plugins_others_can_write_are_refused_before_any_code_runs);
  suite_add_tcase(s, load);

  TCase *order = tcase_create("order");
  tcase_add_checked_fixture(order, setup, NULL);
  tcase_add_test(order, first_directory_of_the_path_wins_and_api_paths_come_first);
  tcase_add_test(order, a_path_added_after_the_scan_adds_what_is_new);
  tcase_add_test(order, a_file_cannot_replace_the_builtin_gateway);
  tcase_add_test(order, environment_is_ignored_when_setuid_or_setgid);
  suite_add_tcase(s, order);

  TCase *fb = tcase_create("fallback");
  tcase_add_checked_fixture(fb, setup, NULL);
  tcase_add_test(fb, an_unloadable_gateway_falls_back_to_openai_and_the_spec_says_why);
  tcase_add_test(fb, with_fallback_disabled_an_unloadable_gateway_is_an_error);
  tcase_add_test(fb, operations_are_checked_by_caps_then_by_supports);
  suite_add_tcase(s, fb);

  TCase *mock = tcase_create("mock");
  tcase_add_checked_fixture(mock, setup, NULL);
  tcase_add_test(mock, mock_replies_script_a_tool_loop_by_assistant_turns);
  tcase_add_test(mock, mock_reply_objects_carry_reasoning_usage_and_finish);
  tcase_add_test(mock, mock_embeddings_default_to_8_dimensions_and_honour_embed_dim);
  tcase_add_test(mock, mock_images_are_valid_deterministic_pngs);
  suite_add_tcase(s, mock);
  int rc = tu_run(s);
  g_free(orig_gateway_path);
  g_free(orig_home);
  return rc;
}
