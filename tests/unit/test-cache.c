/* tests/unit/test-cache.c: the response cache.
 *
 * Cases: "store" (settings, policy, keys, entries, TTL, eviction, recovery: no network),
 * "chat" (the chat pipeline against the fake upstream, which counts requests) and
 * "concurrency" (two processes of four threads each; HB_TEST_CACHE_SECONDS sets how long they
 * run, 3 by default, 10 for the full variant). */
#include "testutil.h"
#include "text/json.h"
#include "cache/store.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY "sk-test-cache-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"

/* ---- a clock the tests move by hand ---- */

static int64_t fake_now = 1700000000000;
static int64_t fake_clock(void) { return fake_now; }

/* ---- warnings the library logs ---- */

static GMutex log_lock;
static GString *warnings;

static void on_log(hvb_log_level level, const char *msg, void *ud) {
  (void)ud;
  if (level > HVB_LOG_WARN) return;
  g_mutex_lock(&log_lock);
  g_string_append_printf(warnings, "%s\n", msg);
  g_mutex_unlock(&log_lock);
}

static void setup(void) {
  tu_isolate();
  warnings = g_string_new(NULL);
  hvb_log_set_handler(on_log, HVB_LOG_WARN, NULL);
  hvb__cache_set_clock(NULL);
}

static void teardown(void) {
  hvb_log_set_handler(NULL, HVB_LOG_WARN, NULL);
  hvb__cache_set_clock(NULL);
  g_string_free(warnings, TRUE);
  warnings = NULL;
}

/* The llm-cache directory of the isolated environment. */
static char *cache_dir(void) {
  return g_build_filename(getenv("HB_CACHE_DIR"), "llm-cache", NULL);
}

static char *db_path(void) {
  char *dir = cache_dir();
  char *p = g_build_filename(dir, "cache.sqlite", NULL);
  g_free(dir);
  return p;
}

/* A handle from settings JSON text (NULL: defaults). */
static hvb_cache *handle(const char *settings) {
  json_object *s = settings ? tu_parse(settings) : json_object_new_object();
  hvb_error err = HVB_ERROR_INIT;
  hvb_cache *c = hvb__cache_new(s, "test", &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  json_object_put(s);
  return c;
}

static void put_str(hvb_cache *c, hvb_cache_ns ns, const char *key, const char *value) {
  hvb__cache_put(c, ns, key, value, strlen(value));
}

/* The stored value as a string ("" for a miss). */
static char *get_str(hvb_cache *c, hvb_cache_ns ns, const char *key) {
  GBytes *b = hvb__cache_get(c, ns, key);
  if (!b) return g_strdup("");
  char *s = g_strndup(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
  g_bytes_unref(b);
  return s;
}

#define assert_get(c, ns, key, want)                                                    \
  do {                                                                                   \
    char *got_ = get_str(c, ns, key);                                                    \
    ck_assert_str_eq(got_, want);                                                        \
    g_free(got_);                                                                        \
  } while (0)

static int64_t stat_of(hvb_cache *c, const char *ns, const char *field) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *st = hvb_cache_stats(c, &err);
  ck_assert_msg(st != NULL, "%s", err.message);
  char *path = g_strdup_printf("namespaces.%s.%s", ns, field);
  int64_t v = json_object_get_int64(hvb__json_path(st, path));
  g_free(path);
  json_object_put(st);
  return v;
}

/* ============================================================================================
 * store
 * ========================================================================================== */

START_TEST(policy_caches_only_deterministic_text_and_seeded_images) {
  static const struct {
    const char *req;
    bool text, image;
  } cases[] = {
      {"{\"temperature\": 0}", true, false},
      {"{\"temperature\": 0.0, \"top_p\": 1}", true, false},
      {"{\"seed\": 7}", true, true},
      {"{\"temperature\": null, \"seed\": 7}", true, true},
      {"{\"temperature\": 0.7}", false, false},
      {"{\"temperature\": 0.7, \"seed\": 7}", false, true},
      {"{}", false, false},
      {"{\"temperature\": 0, \"top_p\": 0.9}", false, false},
      {"{\"temperature\": 0, \"top_k\": 40}", false, false},
      {"{\"temperature\": \"0\"}", false, false},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    json_object *r = tu_parse(cases[i].req);
    ck_assert_msg(hvb__cache_policy_allows(HVB_NS_TEXT, r, false) == cases[i].text, "text %s",
                  cases[i].req);
    ck_assert_msg(hvb__cache_policy_allows(HVB_NS_IMAGE, r, false) == cases[i].image,
                  "image %s", cases[i].req);
    ck_assert(hvb__cache_policy_allows(HVB_NS_EMBEDDING, r, false));
    json_object_put(r);
  }
  json_object *r = tu_parse("{\"temperature\": 0}");
  ck_assert_msg(!hvb__cache_policy_allows(HVB_NS_TEXT, r, true), "a tool-running chat bypasses");
  json_object_put(r);
}
END_TEST

START_TEST(key_ignores_transport_fields_but_not_the_request) {
  json_object *a = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                         "\"temperature\":0,\"stream\":false}");
  json_object *b = tu_parse("{\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                         "\"timeout\":5,\"temperature\":0,\"model\":\"m\","
                         "\"messages\":[{\"content\":\"x\",\"role\":\"user\"}]}");
  json_object *c = tu_parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                         "\"temperature\":0,\"n\":2}");
  char *ka = hvb__cache_key(HVB_NS_TEXT, "h1", a), *kb = hvb__cache_key(HVB_NS_TEXT, "h1", b);
  char *kc = hvb__cache_key(HVB_NS_TEXT, "h1", c), *kd = hvb__cache_key(HVB_NS_TEXT, "h2", a);
  char *ke = hvb__cache_key(HVB_NS_IMAGE, "h1", a);
  ck_assert_uint_eq(strlen(ka), 64);
  ck_assert_str_eq(ka, kb);
  ck_assert_str_ne(ka, kc);
  ck_assert_str_ne(ka, kd);
  ck_assert_str_ne(ka, ke);
  ck_assert(json_object_object_get_ex(b, "stream", NULL)); /* the request is left as it was */
  g_free(ka), g_free(kb), g_free(kc), g_free(kd), g_free(ke);
  json_object_put(a), json_object_put(b), json_object_put(c);
}
END_TEST

START_TEST(entries_round_trip_per_namespace_with_private_files) {
  hvb_cache *c = handle(NULL);
  assert_get(c, HVB_NS_TEXT, "k1", "");
  put_str(c, HVB_NS_TEXT, "k1", "v1");
  put_str(c, HVB_NS_EMBEDDING, "k1", "e1");
  assert_get(c, HVB_NS_TEXT, "k1", "v1");
  assert_get(c, HVB_NS_EMBEDDING, "k1", "e1");
  assert_get(c, HVB_NS_IMAGE, "k1", "");
  put_str(c, HVB_NS_TEXT, "k1", "v2"); /* replaces */
  assert_get(c, HVB_NS_TEXT, "k1", "v2");
  ck_assert_int_eq(stat_of(c, "text", "entries"), 1);
  ck_assert_int_eq(stat_of(c, "text", "bytes"), 4);   /* key and value */
  ck_assert_int_eq(stat_of(c, "text", "hits"), 2);
  ck_assert_int_eq(stat_of(c, "embedding", "hits"), 1);

  char *dir = cache_dir(), *path = db_path();
  struct stat sb;
  ck_assert_int_eq(stat(dir, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0700);
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0600);
  char *wal = g_strconcat(path, "-wal", NULL);
  ck_assert_msg(stat(wal, &sb) == 0, "WAL mode: %s exists", wal);
  ck_assert_int_eq(sb.st_mode & 0777, 0600);
  g_free(wal), g_free(dir), g_free(path);
  ck_assert_str_eq(warnings->str, "");
  hvb__cache_unref(c);
}
END_TEST

START_TEST(entries_expire_after_ttl_and_prune_removes_them) {
  hvb__cache_set_clock(fake_clock);
  hvb_cache *c = handle("{\"namespaces\": {\"text\": {\"ttl_seconds\": 1}}}");
  put_str(c, HVB_NS_TEXT, "k", "v");
  put_str(c, HVB_NS_EMBEDDING, "k", "e"); /* no TTL there */
  fake_now += 999;
  assert_get(c, HVB_NS_TEXT, "k", "v");
  fake_now += 1;
  assert_get(c, HVB_NS_TEXT, "k", "");
  ck_assert_int_eq(stat_of(c, "text", "expired"), 1);
  fake_now += 1000000;
  assert_get(c, HVB_NS_EMBEDDING, "k", "e");
  int64_t removed = -1;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_cache_prune(c, &removed, &err), "%s", err.message);
  ck_assert_int_eq(removed, 1);
  ck_assert_int_eq(stat_of(c, "text", "entries"), 0);
  ck_assert_int_eq(stat_of(c, "embedding", "entries"), 1);
  hvb__cache_unref(c);
}
END_TEST

START_TEST(least_recently_used_entries_go_beyond_max_bytes) {
  hvb__cache_set_clock(fake_clock);
  /* Each entry is 2 (key) + 8 (value) = 10 bytes: room for three. */
  hvb_cache *c = handle("{\"max_bytes\": 30}");
  put_str(c, HVB_NS_TEXT, "k1", "12345678");
  fake_now++;
  put_str(c, HVB_NS_TEXT, "k2", "12345678");
  fake_now++;
  put_str(c, HVB_NS_EMBEDDING, "k3", "12345678");
  fake_now++;
  assert_get(c, HVB_NS_TEXT, "k1", "12345678"); /* k1 is now more recent than k2 */
  fake_now++;
  put_str(c, HVB_NS_TEXT, "k4", "12345678");
  assert_get(c, HVB_NS_TEXT, "k2", "");
  assert_get(c, HVB_NS_TEXT, "k1", "12345678");
  assert_get(c, HVB_NS_EMBEDDING, "k3", "12345678");
  assert_get(c, HVB_NS_TEXT, "k4", "12345678");
  ck_assert_int_eq(stat_of(c, "text", "bytes") + stat_of(c, "embedding", "bytes"), 30);
  hvb__cache_unref(c);
}
END_TEST

START_TEST(clear_removes_one_namespace_or_all) {
  hvb_cache *c = handle(NULL);
  put_str(c, HVB_NS_TEXT, "a", "1");
  put_str(c, HVB_NS_TEXT, "b", "1");
  put_str(c, HVB_NS_IMAGE, "a", "1");
  assert_get(c, HVB_NS_TEXT, "a", "1");
  hvb_error err = HVB_ERROR_INIT;
  int64_t n = 0;
  ck_assert(!hvb_cache_clear(c, "texts", &n, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "'texts'"));
  ck_assert(hvb_cache_clear(c, "text", &n, &err));
  ck_assert_int_eq(n, 2);
  ck_assert_int_eq(stat_of(c, "text", "hits"), 0);
  assert_get(c, HVB_NS_IMAGE, "a", "1");
  ck_assert(hvb_cache_clear(c, NULL, &n, &err));
  ck_assert_int_eq(n, 1);
  hvb__cache_unref(c);
}
END_TEST

START_TEST(disabled_cache_or_namespace_neither_reads_nor_writes) {
  hvb_cache *off = handle("{\"enabled\": false}");
  hvb_cache *no_text = handle("{\"namespaces\": {\"text\": {\"enabled\": false}}}");
  hvb_cache *on = handle(NULL);
  put_str(off, HVB_NS_TEXT, "k", "v");
  put_str(no_text, HVB_NS_TEXT, "k", "v");
  assert_get(on, HVB_NS_TEXT, "k", "");
  put_str(on, HVB_NS_TEXT, "k", "v");
  assert_get(no_text, HVB_NS_TEXT, "k", "");
  assert_get(off, HVB_NS_EMBEDDING, "k", "");
  hvb__cache_unref(off), hvb__cache_unref(no_text), hvb__cache_unref(on);
}
END_TEST

START_TEST(bad_settings_are_named) {
  static const struct {
    const char *settings, *want;
  } cases[] = {
      {"{\"enabled\": 1}", "'enabled' must be a boolean"},
      {"{\"policy\": \"always\"}", "unknown policy 'always'"},
      {"{\"max_bytes\": -1}", "'max_bytes' must be an integer >= 0"},
      {"{\"namespaces\": {\"txt\": {}}}", "unknown namespace 'txt'"},
      {"{\"namespaces\": {\"text\": {\"ttl_seconds\": \"1\"}}}",
       "'namespaces.text.ttl_seconds' must be a number of seconds"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    json_object *s = tu_parse(cases[i].settings);
    hvb_error err = HVB_ERROR_INIT;
    ck_assert_ptr_null(hvb__cache_new(s, "option 'cache'", &err));
    ck_assert_int_eq(err.status, HVB_EINVAL);
    ck_assert_msg(strstr(err.message, cases[i].want) && strstr(err.message, "option 'cache'"),
                  "%s: %s", cases[i].settings, err.message);
    json_object_put(s);
  }
  hvb_error err = HVB_ERROR_INIT;
  json_object *n = json_object_new_int(3);
  ck_assert_ptr_null(hvb__cache_settings_merge(NULL, n, "option 'cache'", &err));
  ck_assert_ptr_nonnull(strstr(err.message, "true, false or a cache settings object"));
  json_object_put(n);
}
END_TEST

/* Names in the cache directory that start with cache.sqlite.corrupt- */
static int corrupt_files(void) {
  char *dir = cache_dir();
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    if (g_str_has_prefix(e->d_name, "cache.sqlite.corrupt-") && !strstr(e->d_name, "-wal") &&
        !strstr(e->d_name, "-shm"))
      n++;
  if (d) closedir(d);
  g_free(dir);
  return n;
}

START_TEST(corrupt_database_is_moved_aside_with_a_warning) {
  char *path = db_path();
  tu_write_file(path, "this is not an SQLite database, but it is long enough to look like "
                      "one might be here............................................");
  hvb_cache *c = handle(NULL);
  assert_get(c, HVB_NS_TEXT, "k", ""); /* no failure: a miss */
  ck_assert_msg(strstr(warnings->str, "moved it to") && strstr(warnings->str, ".corrupt-"),
                "warnings: %s", warnings->str);
  ck_assert_int_eq(corrupt_files(), 1);
  put_str(c, HVB_NS_TEXT, "k", "v");
  assert_get(c, HVB_NS_TEXT, "k", "v");
  hvb__cache_unref(c);
  g_free(path);
}
END_TEST

START_TEST(a_directory_in_place_of_the_database_is_moved_aside) {
  char *path = db_path();
  ck_assert_int_eq(g_mkdir_with_parents(path, 0700), 0);
  hvb_cache *c = handle(NULL);
  put_str(c, HVB_NS_TEXT, "k", "v");
  assert_get(c, HVB_NS_TEXT, "k", "v");
  ck_assert_int_eq(corrupt_files(), 1);
  ck_assert_ptr_nonnull(strstr(warnings->str, "unusable"));
  hvb__cache_unref(c);
  g_free(path);
}
END_TEST

START_TEST(public_api_opens_reports_and_names_the_file) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_cache *c = hvb_cache_open(NULL, NULL, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  char *path = db_path();
  ck_assert_str_eq(hvb_cache_path(c), path);
  json_object *st = hvb_cache_stats(c, &err);
  ck_assert_ptr_nonnull(st);
  ck_assert_str_eq(hvb__json_str(st, "path"), path);
  ck_assert_int_eq(json_object_get_int(hvb__json_path(st, "namespaces.image.entries")), 0);
  json_object_put(st);
  hvb_cache_close(c);

  json_object *s = tu_parse("{\"path\": \"~/elsewhere\"}");
  setenv("HOME", tu_tmpdir(), 1);
  c = hvb_cache_open(NULL, s, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  char *want = g_build_filename(getenv("HOME"), "elsewhere", "cache.sqlite", NULL);
  ck_assert_str_eq(hvb_cache_path(c), want);
  hvb_cache_close(c);
  json_object_put(s);
  g_free(want);
  g_free(path);
}
END_TEST

/* ============================================================================================
 * chat: the pipeline against the fake upstream
 * ========================================================================================== */

static up_server *srv;

static void up_setup(void) {
  setup();
  srv = up_start();
}

static void up_teardown(void) {
  up_stop(srv);
  srv = NULL;
  teardown();
}

static const char *const canned_chat =
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Hello from upstream\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3,\"total_tokens\":6}}";

static void push_chat_forever(int delay_ms) {
  up_chunk ch = {canned_chat, 0, delay_ms};
  up_response r = {.status = 200, .chunks = &ch, .nchunks = 1, .repeat = true};
  up_push(srv, CHAT_PATH, &r);
}

static hvb_llm *up_llm(const char *extra) {
  return tu_upstream_llm(srv, "gpt-4o-mini", KEY, extra);
}

/* Chat `prompt` with call options `opts` (JSON text or NULL); the result must be there. */
static hvb_result *chat_ok(hvb_llm *llm, const char *prompt, const char *opts) {
  json_object *o = opts ? tu_parse(opts) : NULL;
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, prompt, NULL, o, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  json_object_put(o);
  return r;
}

START_TEST(repeated_deterministic_chat_makes_one_request) {
  push_chat_forever(0);
  hvb_llm *llm = up_llm("{\"temperature\": 0}");
  hvb_result *a = chat_ok(llm, "hi", NULL);
  hvb_result *b = chat_ok(llm, "hi", NULL);
  ck_assert_int_eq(up_request_count(srv), 1);
  ck_assert(!hvb_result_cached(a));
  ck_assert(hvb_result_cached(b));
  ck_assert_str_eq(hvb_result_text(b), "Hello from upstream");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(hvb_result_usage(b), "total_tokens")),
                   6);
  ck_assert_str_eq(hvb__json_str(hvb_result_raw(b), "id"), "c1");
  ck_assert_str_eq(hvb_result_finish_reason(b), "stop");
  /* Another prompt is another entry; "cache": false bypasses reads and writes. */
  hvb_result_free(chat_ok(llm, "other", NULL));
  hvb_result *c = chat_ok(llm, "hi", "{\"cache\": false}");
  ck_assert(!hvb_result_cached(c));
  ck_assert_int_eq(up_request_count(srv), 3);
  up_request *rq = up_request_get(srv, 2);
  ck_assert_ptr_null(strstr(rq->body, "cache")); /* an option, never a request argument */
  up_request_free(rq);
  hvb_result_free(a), hvb_result_free(b), hvb_result_free(c);
  hvb_llm_free(llm);
  ck_assert_str_eq(warnings->str, "");
}
END_TEST

START_TEST(sampling_chat_makes_every_request) {
  push_chat_forever(0);
  hvb_llm *llm = up_llm("{\"temperature\": 0.7}");
  hvb_result_free(chat_ok(llm, "hi", NULL));
  hvb_result_free(chat_ok(llm, "hi", NULL));
  ck_assert_int_eq(up_request_count(srv), 2);
  /* A seed without temperature is deterministic too. */
  hvb_llm *seeded = up_llm("{\"seed\": 42}");
  hvb_result_free(chat_ok(seeded, "hi", NULL));
  hvb_result_free(chat_ok(seeded, "hi", NULL));
  ck_assert_int_eq(up_request_count(srv), 3);
  hvb_llm_free(llm), hvb_llm_free(seeded);
}
END_TEST

START_TEST(entry_expires_after_its_ttl) {
  hvb__cache_set_clock(fake_clock);
  push_chat_forever(0);
  hvb_llm *llm = up_llm("{\"temperature\": 0, \"cache\": {\"namespaces\": {\"text\": "
                        "{\"ttl_seconds\": 1}}}}");
  hvb_result_free(chat_ok(llm, "hi", NULL));
  fake_now += 500;
  hvb_result_free(chat_ok(llm, "hi", NULL));
  ck_assert_int_eq(up_request_count(srv), 1);
  fake_now += 600;
  hvb_result *r = chat_ok(llm, "hi", NULL);
  ck_assert(!hvb_result_cached(r));
  ck_assert_int_eq(up_request_count(srv), 2);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

static void push_fixture_sse(const char *name) {
  char *path = g_build_filename(getenv("HB_TEST_DATA"), "llm", name, NULL);
  char *sse = tu_read_file(path, NULL);
  ck_assert_msg(sse != NULL, "cannot read %s", path);
  up_push_sse(srv, CHAT_PATH, sse, 3);
  free(sse);
  g_free(path);
}

/* All deltas of a stream, as one JSON array text (new string). */
static char *stream_deltas(hvb_llm *llm, bool *cached) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_stream *st = hvb_llm_stream(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(st != NULL, "%s", err.message);
  json_object *all = json_object_new_array();
  json_object *d = NULL;
  while (hvb_stream_next(st, &d, &err) && d) json_object_array_add(all, json_object_get(d));
  ck_assert_msg(err.status == HVB_OK, "%s", err.message);
  hvb_result *r = hvb_stream_result(st, &err);
  ck_assert_ptr_nonnull(r);
  *cached = hvb_result_cached(r);
  hvb_result_free(r);
  hvb_stream_free(st);
  char *s = hvb__json_canonical(all);
  json_object_put(all);
  return s;
}

START_TEST(cached_stream_replays_the_same_deltas_and_chat_shares_the_entry) {
  push_fixture_sse("stream-content.sse");
  hvb_llm *llm = up_llm("{\"temperature\": 0}");
  bool cached = true;
  char *live = stream_deltas(llm, &cached);
  ck_assert(!cached);
  char *replayed = stream_deltas(llm, &cached);
  ck_assert(cached);
  ck_assert_str_eq(replayed, live);
  ck_assert_ptr_nonnull(strstr(live, "\" world\""));
  hvb_result *r = chat_ok(llm, "hi", NULL); /* plain chat, same entry */
  ck_assert(hvb_result_cached(r));
  ck_assert_str_eq(hvb_result_text(r), "Hello world");
  char *deltas = hvb__json_canonical(hvb_result_deltas(r));
  ck_assert_str_eq(deltas, live);
  ck_assert_int_eq(up_request_count(srv), 1);
  g_free(deltas), g_free(live), g_free(replayed);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(errors_truncated_and_aborted_streams_are_never_stored) {
  hvb_llm *llm = up_llm("{\"temperature\": 0}");
  hvb_error err = HVB_ERROR_INIT;
  /* An HTTP error. */
  up_push_body(srv, CHAT_PATH, 500, NULL, "{\"error\":{\"message\":\"boom\"}}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, NULL, &err));
  /* A truncated stream (no [DONE], no finish reason). */
  up_push_sse(srv, CHAT_PATH, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"part\"}}]}\n\n",
              1);
  json_object *stream = tu_parse("{\"stream\": true}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, stream, &err));
  ck_assert_int_eq(err.status, HVB_TRUNCATED);
  json_object_put(stream);
  /* A stream the caller abandons after the first delta, while the rest is still coming. */
  up_response slow = {.status = 200, .content_type = "text/event-stream", .chunked = true,
                      .nchunks = 2,
                      .chunks = (up_chunk[]){
                          {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n", 0, 0},
                          {"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
                           "\n\ndata: [DONE]\n\n", 0, 2000}}};
  up_push(srv, CHAT_PATH, &slow);
  hvb_stream *st = hvb_llm_stream(llm, "hi", NULL, NULL, &err);
  json_object *d = NULL;
  ck_assert(hvb_stream_next(st, &d, &err) && d);
  hvb_stream_free(st);
  /* So this one is a miss again. */
  push_chat_forever(0);
  hvb_result *r = chat_ok(llm, "hi", NULL);
  ck_assert(!hvb_result_cached(r));
  ck_assert_int_eq(up_request_count(srv), 4);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

/* Does `needle` occur in the bytes of any file of the cache directory? */
static bool found_in_cache_files(const char *needle) {
  char *dir = cache_dir();
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  bool found = false;
  int files = 0;
  for (struct dirent *e; (e = readdir(d)) && !found;) {
    if (e->d_name[0] == '.') continue;
    char *p = g_build_filename(dir, e->d_name, NULL);
    size_t len = 0;
    char *bytes = tu_read_file(p, &len);
    if (bytes) {
      files++;
      found = memmem(bytes, len, needle, strlen(needle)) != NULL;
    }
    free(bytes);
    g_free(p);
  }
  closedir(d);
  g_free(dir);
  ck_assert_int_ge(files, 2); /* the database and its WAL at least */
  return found;
}

START_TEST(api_key_is_absent_from_the_database_files) {
  push_chat_forever(0);
  hvb_llm *llm = up_llm("{\"temperature\": 0}");
  hvb_result_free(chat_ok(llm, "a prompt the cache must keep", NULL));
  hvb_result_free(chat_ok(llm, "a prompt the cache must keep", NULL));
  ck_assert_int_eq(up_request_count(srv), 1);
  ck_assert(found_in_cache_files("Hello from upstream")); /* the search works */
  ck_assert(!found_in_cache_files(KEY));
  ck_assert(!found_in_cache_files("sk-test-cache"));
  hvb_llm_free(llm);
}
END_TEST

START_TEST(corrupt_database_warns_and_the_call_is_still_answered) {
  char *path = db_path();
  tu_write_file(path, "garbage garbage garbage garbage garbage garbage garbage garbage garbage "
                      "garbage garbage garbage garbage garbage garbage garbage garbage garbage");
  push_chat_forever(0);
  hvb_llm *llm = up_llm("{\"temperature\": 0}");
  hvb_result *r = chat_ok(llm, "hi", NULL);
  ck_assert_str_eq(hvb_result_text(r), "Hello from upstream");
  ck_assert_ptr_nonnull(strstr(warnings->str, ".corrupt-"));
  ck_assert_int_eq(corrupt_files(), 1);
  hvb_result_free(r);
  r = chat_ok(llm, "hi", NULL); /* and the new database works */
  ck_assert(hvb_result_cached(r));
  ck_assert_int_eq(up_request_count(srv), 1);
  hvb_result_free(r);
  hvb_llm_free(llm);
  g_free(path);
}
END_TEST

/* Defect 5 of issue #13: a reply of the wrong shape failed as an empty success, and at
 * temperature 0 the empty answer was stored and served again. Now it fails (HVB_PARSE) and
 * nothing is stored; neither is a well-formed but empty reply. */
START_TEST(wrongly_typed_and_empty_replies_are_never_stored) {
  hvb_llm *llm = up_llm("{\"temperature\": 0}");
  hvb_error err = HVB_ERROR_INIT;
  up_push_body(srv, CHAT_PATH, 200, NULL,
               "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":42},"
               "\"finish_reason\":\"stop\"}]}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err.message, "choices[0].message.content"));
  up_push_sse(srv, CHAT_PATH, "data: {\"choices\":\"hello\"}\n\ndata: [DONE]\n\n", 1);
  json_object *stream = tu_parse("{\"stream\": true}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, stream, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err.message, "choices: expected an array or null, got a string"));
  json_object_put(stream);
  up_push_body(srv, CHAT_PATH, 200, NULL,
               "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
               "\"finish_reason\":\"stop\"}]}");
  hvb_result *r = chat_ok(llm, "hi", NULL);
  ck_assert_str_eq(hvb_result_text(r), "");
  hvb_result_free(r);
  /* So the next identical call reaches the upstream, and its good answer is stored. */
  push_chat_forever(0);
  r = chat_ok(llm, "hi", NULL);
  ck_assert(!hvb_result_cached(r));
  ck_assert_str_eq(hvb_result_text(r), "Hello from upstream");
  ck_assert_int_eq(up_request_count(srv), 4);
  hvb_result_free(r);
  r = chat_ok(llm, "hi", NULL);
  ck_assert(hvb_result_cached(r));
  ck_assert_int_eq(up_request_count(srv), 4);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

/* The checks of a_file_size_limit_turns_the_cache_off_with_one_warning, run in the child
 * under the limit: 0 when all hold, else the number of the first that failed. */
static int limited_chats(void) {
  hvb_llm *llm = up_llm("{\"temperature\": 0}");
  char *big = g_strnfill(200000, 'a');
  struct sigaction before, after;
  sigaction(SIGXFSZ, NULL, &before);
  int failed = 0;
  for (int i = 0; i < 3 && !failed; i++) {
    big[0] = (char)('a' + i); /* three different prompts: three writes tried */
    hvb_error err = HVB_ERROR_INIT;
    hvb_result *r = hvb_llm_chat(llm, big, NULL, NULL, &err);
    if (!r || strlen(hvb_result_text(r)) != 200000 + 6 || hvb_result_cached(r)) failed = 1;
    hvb_result_free(r);
  }
  hvb_llm_free(llm);
  g_free(big);
  sigset_t mask, pending;
  pthread_sigmask(SIG_BLOCK, NULL, &mask);
  sigpending(&pending);
  sigaction(SIGXFSZ, NULL, &after);
  if (failed) return 1;
  if (!strstr(warnings->str, "the cache is off for this process") ||
      !strstr(warnings->str, "file-size limit"))
    return 2;
  if ((size_t)(strchr(warnings->str, '\n') - warnings->str) + 1 != warnings->len) return 3;
  if (sigismember(&mask, SIGXFSZ) || sigismember(&pending, SIGXFSZ)) return 4;
  if (after.sa_handler != before.sa_handler) return 5;
  return 0;
}

/* Defect 7 of issue #13: a cache write past the file-size limit (ulimit -f) raised SIGXFSZ,
 * which killed the process. Now the cache turns itself off with one warning, the calls are
 * answered, and the thread's signal mask and the disposition are as they were. In a child,
 * whose output goes to /dev/null: the test's own log is a file the limit would cover. */
START_TEST(a_file_size_limit_turns_the_cache_off_with_one_warning) {
  up_response echo = {.status = 200, .repeat = true, .echo = true};
  up_push(srv, CHAT_PATH, &echo);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    struct rlimit was;
    getrlimit(RLIMIT_FSIZE, &was);
    struct rlimit small = {64 << 10, was.rlim_max};
    setrlimit(RLIMIT_FSIZE, &small);
    int rc = limited_chats();
    setrlimit(RLIMIT_FSIZE, &was); /* for valgrind's report at exit */
    _exit(rc);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(!WIFSIGNALED(status), "the child was killed by signal %d",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "check %d failed in the child",
                WEXITSTATUS(status));
  ck_assert_int_eq(up_request_count(srv), 3);
}
END_TEST

typedef struct flight_arg {
  hvb_llm *llm;
  hvb_result *r;
} flight_arg;

static gpointer flight_main(gpointer p) {
  flight_arg *a = p;
  hvb_error err = HVB_ERROR_INIT;
  a->r = hvb_llm_chat(a->llm, "same", NULL, NULL, &err);
  return NULL;
}

START_TEST(concurrent_identical_calls_make_one_request) {
  push_chat_forever(300); /* slow enough that all threads ask while the first waits */
  hvb_llm *llm = up_llm("{\"temperature\": 0}");
  flight_arg args[4];
  GThread *th[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (flight_arg){llm, NULL};
    th[i] = g_thread_new("flight", flight_main, &args[i]);
  }
  int cached = 0;
  for (int i = 0; i < 4; i++) {
    g_thread_join(th[i]);
    ck_assert_ptr_nonnull(args[i].r);
    ck_assert_str_eq(hvb_result_text(args[i].r), "Hello from upstream");
    cached += hvb_result_cached(args[i].r);
    hvb_result_free(args[i].r);
  }
  ck_assert_int_eq(up_request_count(srv), 1);
  ck_assert_int_eq(cached, 3);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(mock_chats_are_cached_too_and_stats_count_the_hit) {
  json_object *o = tu_parse("{\"preset\": \"mock\", \"temperature\": 0}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  json_object_put(o);
  hvb_result_free(chat_ok(llm, "x", NULL));
  hvb_result *r = chat_ok(llm, "x", NULL);
  ck_assert(hvb_result_cached(r));
  ck_assert_str_eq(hvb_result_text(r), "Mock reply to: x");
  hvb_result_free(r);
  hvb_cache *c = hvb_cache_open(NULL, NULL, &err);
  ck_assert_int_eq(stat_of(c, "text", "entries"), 1);
  ck_assert_int_eq(stat_of(c, "text", "hits"), 1);
  hvb_cache_close(c);
  /* A bad per-call setting is the caller's error. */
  json_object *bad = tu_parse("{\"cache\": 1}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "x", NULL, bad, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "call option 'cache'"));
  json_object_put(bad);
  hvb_llm_free(llm);
}
END_TEST

/* ============================================================================================
 * concurrency: two processes with four threads each
 * ========================================================================================== */

typedef struct worker {
  int proc, id;
  double seconds;
  int puts, misses, wrong;
} worker;

static gpointer worker_main(gpointer p) {
  worker *w = p;
  hvb_cache *c = handle(NULL);
  gint64 end = g_get_monotonic_time() + (gint64)(w->seconds * 1e6);
  for (int i = 0; g_get_monotonic_time() < end; i++) {
    char key[64], value[128];
    snprintf(key, sizeof key, "p%d-t%d-%d", w->proc, w->id, i);
    snprintf(value, sizeof value, "value of %s", key);
    put_str(c, HVB_NS_TEXT, key, value);
    w->puts++;
    /* Read back our own entry and one the other process may be writing at the same time. */
    char *got = get_str(c, HVB_NS_TEXT, key);
    if (!*got) w->misses++;
    else if (strcmp(got, value) != 0) w->wrong++;
    g_free(got);
    snprintf(key, sizeof key, "p%d-t%d-%d", 1 - w->proc, w->id, i);
    g_free(get_str(c, HVB_NS_TEXT, key));
  }
  hvb__cache_unref(c);
  return NULL;
}

/* One process's part: four threads; writes "puts misses wrong" to `report`. */
static void run_process(int proc, double seconds, const char *report) {
  worker w[4];
  GThread *th[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){proc, i, seconds, 0, 0, 0};
    th[i] = g_thread_new("cache-worker", worker_main, &w[i]);
  }
  int puts = 0, misses = 0, wrong = 0;
  for (int i = 0; i < 4; i++) {
    g_thread_join(th[i]);
    puts += w[i].puts, misses += w[i].misses, wrong += w[i].wrong;
  }
  char *text = g_strdup_printf("%d %d %d\n%s", puts, misses, wrong, warnings->str);
  tu_write_file(report, text);
  g_free(text);
}

START_TEST(two_processes_of_four_threads_lose_nothing) {
  const char *env = getenv("HB_TEST_CACHE_SECONDS");
  double seconds = env ? atof(env) : 3.0;
  const char *tmp = tu_tmpdir();
  char *reports[2];
  pid_t pids[2];
  for (int p = 0; p < 2; p++) {
    reports[p] = g_strdup_printf("%s/report-%d", tmp, p);
    pids[p] = fork();
    ck_assert_int_ge(pids[p], 0);
    if (pids[p] == 0) {
      run_process(p, seconds, reports[p]);
      _exit(0);
    }
  }
  int total = 0;
  for (int p = 0; p < 2; p++) {
    int status = 0;
    ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d failed", p);
    char *text = tu_read_file(reports[p], NULL);
    ck_assert_ptr_nonnull(text);
    int puts = 0, misses = -1, wrong = -1;
    ck_assert_int_eq(sscanf(text, "%d %d %d", &puts, &misses, &wrong), 3);
    ck_assert_msg(misses == 0 && wrong == 0 && !strchr(strchr(text, '\n') + 1, '\n'),
                  "process %d: %d puts, %d lost, %d wrong; warnings:\n%s", p, puts, misses, wrong,
                  strchr(text, '\n') + 1);
    ck_assert_int_gt(puts, 0);
    total += puts;
    free(text);
    g_free(reports[p]);
  }
  /* Every entry both processes wrote is there. */
  hvb_cache *c = handle(NULL);
  ck_assert_int_eq(stat_of(c, "text", "entries"), total);
  hvb__cache_unref(c);
}
END_TEST

START_TEST(a_forked_child_opens_its_own_connection) {
  hvb_cache *c = handle(NULL);
  put_str(c, HVB_NS_TEXT, "parent", "1");
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    put_str(c, HVB_NS_TEXT, "child", "2");
    char *got = get_str(c, HVB_NS_TEXT, "parent");
    int rc = strcmp(got, "1") == 0 && warnings->len == 0 ? 0 : 1;
    g_free(got);
    hvb__cache_unref(c);
    _exit(rc);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed");
  assert_get(c, HVB_NS_TEXT, "child", "2");
  put_str(c, HVB_NS_TEXT, "after", "3");
  assert_get(c, HVB_NS_TEXT, "after", "3");
  ck_assert_str_eq(warnings->str, "");
  hvb__cache_unref(c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cache");

  TCase *store = tcase_create("store");
  tcase_set_timeout(store, 30);
  tcase_add_checked_fixture(store, setup, teardown);
  tcase_add_test(store, policy_caches_only_deterministic_text_and_seeded_images);
  tcase_add_test(store, key_ignores_transport_fields_but_not_the_request);
  tcase_add_test(store, entries_round_trip_per_namespace_with_private_files);
  tcase_add_test(store, entries_expire_after_ttl_and_prune_removes_them);
  tcase_add_test(store, least_recently_used_entries_go_beyond_max_bytes);
  tcase_add_test(store, clear_removes_one_namespace_or_all);
  tcase_add_test(store, disabled_cache_or_namespace_neither_reads_nor_writes);
  tcase_add_test(store, bad_settings_are_named);
  tcase_add_test(store, corrupt_database_is_moved_aside_with_a_warning);
  tcase_add_test(store, a_directory_in_place_of_the_database_is_moved_aside);
  tcase_add_test(store, public_api_opens_reports_and_names_the_file);
  suite_add_tcase(s, store);

  TCase *chat = tcase_create("chat");
  tcase_set_timeout(chat, 60);
  tcase_add_checked_fixture(chat, up_setup, up_teardown);
  tcase_add_test(chat, repeated_deterministic_chat_makes_one_request);
  tcase_add_test(chat, sampling_chat_makes_every_request);
  tcase_add_test(chat, entry_expires_after_its_ttl);
  tcase_add_test(chat, cached_stream_replays_the_same_deltas_and_chat_shares_the_entry);
  tcase_add_test(chat, errors_truncated_and_aborted_streams_are_never_stored);
  tcase_add_test(chat, api_key_is_absent_from_the_database_files);
  tcase_add_test(chat, corrupt_database_warns_and_the_call_is_still_answered);
  tcase_add_test(chat, concurrent_identical_calls_make_one_request);
  tcase_add_test(chat, mock_chats_are_cached_too_and_stats_count_the_hit);
  tcase_add_test(chat, wrongly_typed_and_empty_replies_are_never_stored);
  tcase_add_test(chat, a_file_size_limit_turns_the_cache_off_with_one_warning);
  suite_add_tcase(s, chat);

  TCase *conc = tcase_create("concurrency");
  tcase_set_timeout(conc, 300);
  tcase_add_checked_fixture(conc, setup, teardown);
  tcase_add_test(conc, two_processes_of_four_threads_lose_nothing);
  tcase_add_test(conc, a_forked_child_opens_its_own_connection);
  suite_add_tcase(s, conc);
  return tu_run(s);
}
