/* tests/unit/test-otel-down.c: with the OTLP collector down, calls go on and memory stays
 * bounded: 10,000 calls (a few dozen under valgrind) against the fake upstream while the
 * collector's port accepts connections and never answers (the worst case: each POST waits
 * for its timeout). Every call succeeds, the span queue never holds more than its bound, the
 * spans beyond it are dropped and counted, and the process's resident memory does not grow
 * with the calls once the queue is full. The fake upstream runs as a process of its own
 * (tests/upstream/hb-upstream), so that its record of the requests is not in the memory
 * measured; the usage ledger is off for the same reason (SQLite's page cache grows with the
 * file up to its own bound). */
#include "testutil.h"
#include "net/otlp.h"

#include <heavenbase/heavenbase.h>
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHAT_PATH "/v1/chat/completions"

static const char reply[] =
    "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":"
    "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":"
    "\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,\"total_tokens\":12}}";

/* A port that takes connections into its backlog and never reads or answers them. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(fd, 16), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Resident memory in kB (VmRSS of /proc/self/status), 0 when unknown. */
static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

/* hb-upstream answering every chat with `reply`; its base URL into url. */
static GPid upstream_process(char *url, size_t size) {
  const char *dir = tu_tmpdir();
  char *script = g_build_filename(dir, "script.json", NULL);
  char *port_file = g_build_filename(dir, "port", NULL);
  char *text = g_strdup_printf("{\"routes\": {\"" CHAT_PATH "\": [{\"repeat\": true, "
                               "\"body\": %s}]}}", "\"REPLY\"");
  json_object *o = tu_parse(text);
  json_object *route = json_object_array_get_idx(
      json_object_object_get(json_object_object_get(o, "routes"), CHAT_PATH), 0);
  json_object_object_add(route, "body", json_object_new_string(reply));
  tu_write_file(script, json_object_to_json_string(o));
  json_object_put(o);
  g_free(text);
  char *bin = g_build_filename(getenv("HB_TEST_BUILDDIR"), "tests", "upstream", "hb-upstream",
                               NULL);
  char opt_script[] = "--script", opt_port[] = "--port-file", opt_log[] = "--log";
  char dev_null[] = "/dev/null";
  char *argv[] = {bin, opt_script, script, opt_port, port_file, opt_log, dev_null, NULL};
  GPid pid = 0;
  GError *e = NULL;
  GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL;
  ck_assert_msg(g_spawn_async(NULL, argv, NULL, flags, NULL, NULL, &pid, &e),
                "cannot start %s: %s", bin, e ? e->message : "");
  char *port = NULL;
  for (int i = 0; i < 200 && !(port && *port); i++) {
    g_free(port);
    port = NULL;
    if (!g_file_get_contents(port_file, &port, NULL, NULL)) g_usleep(25000);
  }
  ck_assert_msg(port && *port, "hb-upstream wrote no port");
  snprintf(url, size, "http://127.0.0.1:%d/v1", atoi(port));
  g_free(port);
  g_free(bin);
  g_free(script);
  g_free(port_file);
  return pid;
}

static hvb_llm *llm_at(const char *base_url) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "provider", json_object_new_string("openai"));
  json_object_object_add(o, "model", json_object_new_string("gpt-4o-mini"));
  json_object_object_add(o, "base_url", json_object_new_string(base_url));
  json_object_object_add(o, "api_key", json_object_new_string("sk-otel-down-0123456789"));
  json_object_object_add(o, "cache", json_object_new_boolean(0));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  json_object_put(o);
  return llm;
}

static void chat_ok(hvb_llm *llm) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "a call failed with the collector down: %s", err.message);
  hvb_result_free(r);
}

START_TEST(calls_go_on_with_bounded_memory_when_the_collector_is_down) {
  const char *wrapper = getenv("HB_TEST_WRAPPER");
  bool slow = wrapper && *wrapper;
  int calls = slow ? 40 : 10000;
  int port = 0, fd = silent_listener(&port);
  char endpoint[64];
  snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, 1);
  char *cfg = g_build_filename(getenv("HB_CONFIG_DIR"), "config.json", NULL);
  tu_write_file(cfg, "{\"heavenbase\": {\"llm\": {\"usage\": {\"ledger\": false}}}}");
  g_free(cfg);
  char url[128];
  GPid up = upstream_process(url, sizeof url);
  hvb_llm *llm = llm_at(url);
  unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");

  /* Fill the queue first: then every further span is dropped at once. */
  int warm = calls / 4;
  for (int i = 0; i < warm; i++) chat_ok(llm);
  long before = rss_kb();
  for (int i = warm; i < calls; i++) chat_ok(llm);
  long after = rss_kb();

  hvb_otlp_stats st;
  hvb__otlp_stats(&st);
  ck_assert_uint_eq(st.submitted, (uint64_t)calls);
  ck_assert_uint_eq(st.exported, 0);
  ck_assert_msg(st.queued_max <= HVB_OTLP_QUEUE_MAX, "the queue held %zu spans (bound %d)",
                st.queued_max, HVB_OTLP_QUEUE_MAX);
  /* Each span is accounted for: waiting, being posted, failed or dropped. */
  ck_assert_uint_eq(st.queued + st.sending + st.failed + st.dropped + st.exported,
                    st.submitted);
  /* The queue filled and dropped the excess. Not an exact count: in a slow build (ASan) the
   * run outlasts several export timeouts, and each failed batch takes spans off the queue. */
  if (calls > HVB_OTLP_QUEUE_MAX + HVB_OTLP_BATCH_MAX)
    ck_assert_msg(st.dropped > 0 && st.dropped + st.failed + st.sending >=
                                        (uint64_t)(calls - HVB_OTLP_QUEUE_MAX),
                  "%llu of %d spans dropped, %llu failed", (unsigned long long)st.dropped,
                  calls, (unsigned long long)st.failed);
#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer holds freed memory in quarantine: resident size says nothing there. */
  (void)before, (void)after;
#else
  if (!slow && before > 0)
    ck_assert_msg(after - before < 4096,
                  "resident memory grew by %ld kB over %d calls with the queue full",
                  after - before, calls - warm);
#endif
  hvb_llm_free(llm);
  close(fd);
  kill(up, SIGTERM);
  waitpid(up, NULL, 0);
  g_spawn_close_pid(up);
}
END_TEST

static void isolate(void) {
  tu_isolate();
}

int main(void) {
  Suite *s = suite_create("otel-down");
  TCase *tc = tcase_create("collector down");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, isolate, NULL);
  tcase_add_test(tc, calls_go_on_with_bounded_memory_when_the_collector_is_down);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
