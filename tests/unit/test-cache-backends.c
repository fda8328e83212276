/* tests/unit/test-cache-backends.c: cache backends as plugins (<heavenbase/cache-backend.h>):
 * the loader with real dlopen of the fixtures (tests/caches: a good in-memory backend, and
 * one of each broken kind), permissions, the built-in sqlite backend, fallback, and the tiers
 * (local SQLite first, then the backend) with one warning per outage.
 *
 * Every test starts from an empty registry (hvb__cache_backend_reset_for_tests). */
#include "testutil.h"
#include "cache/backend.h"
#include "cache/settings.h"
#include "cache/store.h"
#include "text/json.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fixtures[4096];

static void find_dirs(void) {
  const char *build = getenv("HB_TEST_BUILDDIR");
  if (!build) {
    fprintf(stderr, "run through make check (HB_TEST_BUILDDIR is unset)\n");
    exit(2);
  }
  char *b = g_canonicalize_filename(build, NULL);
  snprintf(fixtures, sizeof fixtures, "%s/tests/caches/.libs", b);
  g_free(b);
}

static void setup(void) {
  tu_isolate();
  unsetenv("HB_CACHE_BACKEND_PATH");
  hvb__cache_backend_reset_for_tests();
}

static const hvb_cache_backend_record *record_named(const char *name) {
  for (size_t i = 0; i < hvb_cache_backend_count(); i++) {
    const hvb_cache_backend_record *r = hvb_cache_backend_at(i);
    if (!strcmp(hvb_cache_backend_record_name(r), name)) return r;
  }
  ck_abort_msg("no record named %s", name);
  return NULL;
}

START_TEST(sqlite_is_built_in_and_listed_first) {
  ck_assert_uint_ge(hvb_cache_backend_count(), 1);
  const hvb_cache_backend_record *r = hvb_cache_backend_at(0);
  ck_assert_str_eq(hvb_cache_backend_record_name(r), "sqlite");
  ck_assert_int_eq(hvb_cache_backend_record_state(r), HVB_GATEWAY_STATE_BUILTIN);
  ck_assert_ptr_null(hvb_cache_backend_record_path(r));
  ck_assert_ptr_eq(hvb_cache_backend_lookup("sqlite"), r);
  json_object *o = hvb_cache_backend_record_to_json(r);
  ck_assert_str_eq(json_object_to_json_string(json_object_object_get(o, "caps")),
                   "[ \"entries\" ]");
  json_object_put(o);
}
END_TEST

START_TEST(each_fixture_gets_its_state_stage_and_reason) {
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(hvb_cache_backend_path_add(fixtures, &err));
  static const struct {
    const char *name;
    hvb_gateway_state state;
    hvb_gateway_stage stage;
    const char *reason;
  } want[] = {
      {"memory", HVB_GATEWAY_STATE_LOADED, HVB_GATEWAY_STAGE_NONE, ""},
      {"badmagic", HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_MAGIC, "bad magic 0x12345678"},
      {"major", HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI, "ABI major 2"},
      {"minor", HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI, "needs a newer"},
      {"nosym", HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL, "no symbol"},
      {"misnamed", HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME, "'othername'"},
      {"initfail", HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_INIT, "refuses to start"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
    const hvb_cache_backend_record *r = record_named(want[i].name);
    ck_assert_msg(hvb_cache_backend_record_state(r) == want[i].state, "%s: state %s",
                  want[i].name, hvb_gateway_state_name(hvb_cache_backend_record_state(r)));
    ck_assert_msg(hvb_cache_backend_record_stage(r) == want[i].stage, "%s: stage %s",
                  want[i].name, hvb_gateway_stage_name(hvb_cache_backend_record_stage(r)));
    ck_assert_msg(strstr(hvb_cache_backend_record_reason(r), want[i].reason), "%s: reason %s",
                  want[i].name, hvb_cache_backend_record_reason(r));
  }
  ck_assert_ptr_nonnull(hvb_cache_backend_lookup("memory"));
  ck_assert_ptr_null(hvb_cache_backend_lookup("major"));
  ck_assert_ptr_null(hvb_cache_backend_lookup("nothing-by-that-name"));
}
END_TEST

START_TEST(a_lookup_opens_only_its_own_file_through_the_env_path) {
  setenv("HB_CACHE_BACKEND_PATH", fixtures, 1);
  const hvb_cache_backend_record *r = hvb_cache_backend_lookup("memory");
  ck_assert_ptr_nonnull(r);
  ck_assert_str_eq(hvb_cache_backend_record_version(r), "1.0.0");
  char *why = NULL;
  ck_assert_ptr_null(hvb__cache_backend_find("minor", &why));
  ck_assert_msg(strstr(why, "hb-cache-minor.so is incompatible at stage abi"), "%s", why);
  g_free(why);
  ck_assert_ptr_null(hvb__cache_backend_find("absent", &why));
  ck_assert_msg(strstr(why, "no file hb-cache-absent.so in the cache backend path"), "%s", why);
  g_free(why);
}
END_TEST

/* A copy of the good fixture in a directory others may write is refused before it runs. */
START_TEST(a_file_others_can_write_is_refused_at_permissions) {
  char *dir = g_build_filename(tu_tmpdir(), "open-caches", NULL);
  ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
  char *src = g_build_filename(fixtures, "hb-cache-memory.so", NULL);
  char *dst = g_build_filename(dir, "hb-cache-memory.so", NULL);
  gchar *bytes;
  gsize n;
  ck_assert(g_file_get_contents(src, &bytes, &n, NULL));
  ck_assert(g_file_set_contents(dst, bytes, (gssize)n, NULL));
  g_free(bytes);
  ck_assert_int_eq(chmod(dst, 0666), 0);
  hvb_error err = HVB_ERROR_INIT;
  hvb_cache_backend_record *r = hvb_cache_backend_check(dst, &err);
  ck_assert_int_eq(hvb_cache_backend_record_stage(r), HVB_GATEWAY_STAGE_PERMISSIONS);
  ck_assert_int_eq(hvb_cache_backend_record_state(r), HVB_GATEWAY_STATE_BROKEN);
  hvb_cache_backend_record_free(r);
  ck_assert_int_eq(chmod(dst, 0644), 0);
  r = hvb_cache_backend_check(dst, &err);
  ck_assert_int_eq(hvb_cache_backend_record_state(r), HVB_GATEWAY_STATE_LOADED);
  hvb_cache_backend_record_free(r);
  g_free(src), g_free(dst), g_free(dir);
}
END_TEST

/* ---- tiers ---- */

static GPtrArray *warnings;
static GMutex log_lock;

static void on_log(hvb_log_level level, const char *msg, void *ud) {
  (void)ud;
  if (level > HVB_LOG_INFO) return;
  g_mutex_lock(&log_lock);
  g_ptr_array_add(warnings, g_strdup(msg));
  g_mutex_unlock(&log_lock);
}

static void tier_setup(void) {
  setup();
  setenv("HB_CACHE_BACKEND_PATH", fixtures, 1);
  warnings = g_ptr_array_new_with_free_func(g_free);
  hvb_log_set_handler(on_log, HVB_LOG_WARN, NULL);
}

static void tier_teardown(void) {
  hvb_log_set_handler(NULL, HVB_LOG_WARN, NULL);
  g_ptr_array_free(warnings, TRUE);
  warnings = NULL;
}

static size_t warnings_with(const char *text) {
  size_t n = 0;
  for (guint i = 0; i < warnings->len; i++) n += strstr(warnings->pdata[i], text) != NULL;
  return n;
}

static hvb_cache *handle_for(const char *json) {
  json_object *s = tu_parse(json);
  hvb_error err = HVB_ERROR_INIT;
  hvb_cache *c = hvb__cache_new(s, "test settings", &err);
  json_object_put(s);
  ck_assert_msg(c != NULL, "%s", err.message);
  return c;
}

static bool get_is(hvb_cache *c, const char *key, const char *want) {
  GBytes *v = hvb__cache_get(c, HVB_NS_TEXT, key);
  bool ok = want ? v && g_bytes_get_size(v) == strlen(want) &&
                       !memcmp(g_bytes_get_data(v, NULL), want, strlen(want))
                 : v == NULL;
  if (v) g_bytes_unref(v);
  return ok;
}

START_TEST(reads_go_local_first_then_the_backend_and_fill_the_local_tier) {
  char *a = g_build_filename(tu_tmpdir(), "host-a", NULL);
  char *b = g_build_filename(tu_tmpdir(), "host-b", NULL);
  char *ja = g_strdup_printf("{\"path\": \"%s\", \"backend\": \"memory\"}", a);
  char *jb = g_strdup_printf("{\"path\": \"%s\", \"backend\": \"memory\", "
                             "\"tiers\": [\"sqlite\", \"memory\"]}", b);
  hvb_cache *ca = handle_for(ja), *cb = handle_for(jb);
  hvb__cache_put(ca, HVB_NS_TEXT, "k1", "v1", 2);
  /* Host b has its own file: the entry comes from the shared backend, then from its file. */
  ck_assert(hvb__cache_local_get(cb, HVB_NS_TEXT, "k1") == NULL);
  ck_assert(get_is(cb, "k1", "v1"));
  GBytes *local = hvb__cache_local_get(cb, HVB_NS_TEXT, "k1");
  ck_assert_ptr_nonnull(local);
  g_bytes_unref(local);
  ck_assert(get_is(cb, "k2", NULL));
  hvb__cache_unref(ca);
  hvb__cache_unref(cb);
  ck_assert_uint_eq(warnings->len, 0);
  g_free(a), g_free(b), g_free(ja), g_free(jb);
}
END_TEST

START_TEST(a_backend_only_tier_writes_no_local_entry) {
  hvb_cache *c = handle_for("{\"backend\": \"memory\", \"tiers\": [\"memory\"]}");
  hvb__cache_put(c, HVB_NS_TEXT, "only", "remote", 6);
  ck_assert(get_is(c, "only", "remote"));
  ck_assert(hvb__cache_local_get(c, HVB_NS_TEXT, "only") == NULL);
  hvb__cache_unref(c);
}
END_TEST

START_TEST(an_outage_is_one_warning_and_calls_go_on_locally) {
  char *down = g_build_filename(tu_tmpdir(), "memory-down", NULL);
  char *json = g_strdup_printf("{\"backend\": \"memory\", \"backend_options\": "
                               "{\"down_file\": \"%s\"}}", down);
  hvb_cache *c = handle_for(json);
  unsigned before = hvb__remote_outages();
  tu_write_file(down, "");
  for (int i = 0; i < 20; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    hvb__cache_put(c, HVB_NS_TEXT, key, "v", 1);
    ck_assert(get_is(c, key, "v")); /* the local tier serves */
    g_usleep(20 * 1000); /* past the first backoff delays: the backend is tried again */
  }
  ck_assert_uint_eq(warnings_with("cache backend 'memory' is unavailable"), 1);
  ck_assert_uint_eq(hvb__remote_outages() - before, 1);
  g_unlink(down);
  /* Until the backend is back (its info line): the backoff reached depends on how long the
   * loop above took, which a loaded machine or valgrind stretches. At most 5 s apart. */
  hvb_log_set_handler(on_log, HVB_LOG_INFO, NULL);
  for (int i = 0; i < 400 && !warnings_with("cache backend 'memory' is back"); i++) {
    hvb__cache_put(c, HVB_NS_TEXT, "after", "v", 1);
    g_usleep(20 * 1000);
  }
  hvb_log_set_handler(on_log, HVB_LOG_WARN, NULL);
  ck_assert_uint_eq(warnings_with("cache backend 'memory' is back"), 1);
  /* A second outage is a second warning. */
  tu_write_file(down, "");
  hvb__cache_put(c, HVB_NS_TEXT, "again", "v", 1);
  ck_assert_uint_eq(warnings_with("cache backend 'memory' is unavailable"), 2);
  ck_assert_uint_eq(hvb__remote_outages() - before, 2);
  hvb__cache_unref(c);
  g_free(down), g_free(json);
}
END_TEST

START_TEST(an_unloadable_backend_falls_back_to_sqlite_with_one_warning) {
  hvb_cache *c1 = handle_for("{\"backend\": \"minor\"}");
  hvb_cache *c2 = handle_for("{\"backend\": \"minor\"}");
  ck_assert_ptr_null(c1->remote);
  hvb__cache_put(c1, HVB_NS_TEXT, "k", "v", 1);
  ck_assert(get_is(c2, "k", "v"));
  ck_assert_uint_eq(warnings_with("cache backend 'minor' cannot be used"), 1);
  ck_assert_uint_eq(warnings_with("uses sqlite alone"), 1);
  hvb__cache_unref(c1);
  hvb__cache_unref(c2);
}
END_TEST

START_TEST(with_fallback_off_an_unloadable_backend_is_an_error) {
  json_object *s = tu_parse("{\"backend\": \"absent\", \"backend_fallback\": false}");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb__cache_new(s, "heavenbase.llm.cache", &err));
  ck_assert_int_eq(err.status, HVB_CONFIG);
  ck_assert_msg(strstr(err.message, "cache backend 'absent' cannot be used: no file "
                                    "hb-cache-absent.so"), "%s", err.message);
  json_object_put(s);
  s = tu_parse("{\"backend\": \"memory\", \"backend_options\": {\"bad\": true}}");
  ck_assert_ptr_null(hvb__cache_new(s, "heavenbase.llm.cache", &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "'backend_options': cache backend 'memory': 'bad' is set"),
                "%s", err.message);
  json_object_put(s);
  s = tu_parse("{\"backend\": \"memory\", \"tiers\": [\"sqlite\", \"other\"]}");
  ck_assert_ptr_null(hvb__cache_new(s, "heavenbase.llm.cache", &err));
  ck_assert_msg(strstr(err.message, "'tiers' item 1 must be \"sqlite\" or the backend "
                                    "\"memory\""), "%s", err.message);
  json_object_put(s);
}
END_TEST

/* Through an LLM and the fake upstream: two "hosts" (own cache directories) share the entry. */
START_TEST(a_call_on_one_host_is_a_hit_on_another) {
  char *a = g_build_filename(tu_tmpdir(), "llm-a", NULL);
  char *b = g_build_filename(tu_tmpdir(), "llm-b", NULL);
  up_push_body(tu_srv, "/v1/chat/completions", 200, "application/json",
               "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"shared\"},"
               "\"finish_reason\":\"stop\"}]}");
  char *oa = g_strdup_printf("{\"cache\": {\"path\": \"%s\", \"backend\": \"memory\"}}", a);
  char *ob = g_strdup_printf("{\"cache\": {\"path\": \"%s\", \"backend\": \"memory\"}}", b);
  hvb_llm *la = tu_upstream_llm(tu_srv, "m", "sk-test", oa);
  hvb_llm *lb = tu_upstream_llm(tu_srv, "m", "sk-test", ob);
  json_object *opts = tu_parse("{\"temperature\": 0}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *ra = hvb_llm_chat(la, "same question", NULL, opts, &err);
  ck_assert_msg(ra != NULL, "%s", err.message);
  hvb_result *rb = hvb_llm_chat(lb, "same question", NULL, opts, &err);
  ck_assert_msg(rb != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(ra), "shared");
  ck_assert_str_eq(hvb_result_text(rb), "shared");
  ck_assert(hvb_result_cached(rb));
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_result_free(ra), hvb_result_free(rb);
  json_object_put(opts);
  hvb_llm_free(la), hvb_llm_free(lb);
  g_free(a), g_free(b), g_free(oa), g_free(ob);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("cache-backends");
  TCase *t = tcase_create("loader");
  tcase_add_checked_fixture(t, setup, NULL);
  tcase_add_test(t, sqlite_is_built_in_and_listed_first);
  tcase_add_test(t, each_fixture_gets_its_state_stage_and_reason);
  tcase_add_test(t, a_lookup_opens_only_its_own_file_through_the_env_path);
  tcase_add_test(t, a_file_others_can_write_is_refused_at_permissions);
  suite_add_tcase(s, t);
  t = tcase_create("tiers");
  tcase_add_checked_fixture(t, tier_setup, tier_teardown);
  tcase_add_test(t, reads_go_local_first_then_the_backend_and_fill_the_local_tier);
  tcase_add_test(t, a_backend_only_tier_writes_no_local_entry);
  tcase_add_test(t, an_outage_is_one_warning_and_calls_go_on_locally);
  tcase_add_test(t, an_unloadable_backend_falls_back_to_sqlite_with_one_warning);
  tcase_add_test(t, with_fallback_off_an_unloadable_backend_is_an_error);
  suite_add_tcase(s, t);
  t = tcase_create("llm");
  tcase_add_checked_fixture(t, tu_up_setup, tu_up_teardown);
  tcase_add_checked_fixture(t, tier_setup, tier_teardown);
  tcase_add_test(t, a_call_on_one_host_is_a_hit_on_another);
  tcase_set_timeout(t, 30);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  find_dirs();
  return tu_run(suite());
}
