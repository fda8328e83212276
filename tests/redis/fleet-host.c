/* tests/redis/fleet-host.c: one "host" of a fleet, for tests/redis/test-redis-fleet.sh.
 *
 *   fleet-host URL REDIS_NODES PREFIX DIR THREADS CALLS [MODE]
 *
 * Makes CALLS deterministic chats ("question 0" .. "question CALLS-1", temperature 0) on each
 * of THREADS threads, all through one LLM whose cache is the local tier DIR plus the Redis
 * backend at REDIS_NODES (comma-separated host:port) under key prefix PREFIX; MODE is the
 * Redis mode (standalone, default; cluster; sentinel, with master name "hbm"). Every answer
 * must be "echo: question N" (the fake upstream's echo). Prints "ok N" and exits 0 when every
 * call succeeded; exits 1 naming the first failure. The log goes to stderr at warn level, so
 * a test counts the warnings.
 */
#include <heavenbase/heavenbase.h>

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hvb_llm *llm;
static int calls;
static gint failures, done;

static void on_log(hvb_log_level level, const char *msg, void *ud) {
  (void)ud;
  fprintf(stderr, "[%s] %s\n", hvb_log_level_name(level), msg);
}

static gpointer worker(gpointer p) {
  (void)p;
  json_object *opts = json_tokener_parse("{\"temperature\": 0}");
  for (int i = 0; i < calls; i++) {
    char prompt[64], want[80];
    snprintf(prompt, sizeof prompt, "question %d", i);
    snprintf(want, sizeof want, "echo: %s", prompt);
    hvb_error err = HVB_ERROR_INIT;
    hvb_result *r = hvb_llm_chat(llm, prompt, NULL, opts, &err);
    if (!r || strcmp(hvb_result_text(r), want) != 0) {
      if (g_atomic_int_add(&failures, 1) == 0)
        fprintf(stderr, "fleet-host: call %d failed: %s\n", i,
                r ? hvb_result_text(r) : err.message);
    } else {
      g_atomic_int_inc(&done);
    }
    hvb_result_free(r);
  }
  json_object_put(opts);
  return NULL;
}

static json_object *nodes_json(const char *list) {
  json_object *a = json_object_new_array();
  char **v = g_strsplit(list, ",", -1);
  for (char **p = v; *p; p++) json_object_array_add(a, json_object_new_string(*p));
  g_strfreev(v);
  return a;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: fleet-host URL REDIS_NODES PREFIX DIR THREADS CALLS [MODE]\n");
    return 2;
  }
  hvb_log_set_handler(on_log, HVB_LOG_WARN, NULL);
  int threads = atoi(argv[5]);
  calls = atoi(argv[6]);
  const char *mode = argc > 7 ? argv[7] : "standalone";
  json_object *ro = json_object_new_object();
  json_object_object_add(ro, "mode", json_object_new_string(mode));
  json_object_object_add(ro, "nodes", nodes_json(argv[2]));
  json_object_object_add(ro, "prefix", json_object_new_string(argv[3]));
  /* Generous timeouts: on a loaded CI machine a slow reply must not pass for an outage (the
   * call would then go upstream and the count be off). A killed server still fails at once:
   * its connections are refused or reset, which no timeout waits for. */
  json_object_object_add(ro, "command_timeout_ms", json_object_new_int(5000));
  json_object_object_add(ro, "connect_timeout_ms", json_object_new_int(5000));
  if (!strcmp(mode, "sentinel")) json_object_object_add(ro, "master_name", json_object_new_string("hbm"));
  json_object *cache = json_object_new_object();
  json_object_object_add(cache, "path", json_object_new_string(argv[4]));
  json_object_object_add(cache, "backend", json_object_new_string("redis"));
  json_object_object_add(cache, "backend_fallback", json_object_new_boolean(0));
  json_object_object_add(cache, "backend_options", ro);
  json_object *o = json_object_new_object();
  char base[512];
  snprintf(base, sizeof base, "%s/v1", argv[1]);
  json_object_object_add(o, "provider", json_object_new_string("openai"));
  json_object_object_add(o, "model", json_object_new_string("fleet-model"));
  json_object_object_add(o, "base_url", json_object_new_string(base));
  json_object_object_add(o, "api_key", json_object_new_string("sk-fleet-test"));
  json_object_object_add(o, "timeout", json_object_new_int(30));
  json_object_object_add(o, "max_retries", json_object_new_int(0));
  json_object_object_add(o, "cache", cache);
  hvb_error err = HVB_ERROR_INIT;
  llm = hvb_llm_new(o, &err);
  json_object_put(o);
  if (!llm) {
    fprintf(stderr, "fleet-host: %s\n", err.message);
    return 1;
  }
  GThread **t = g_new(GThread *, threads);
  for (int i = 0; i < threads; i++) t[i] = g_thread_new("fleet", worker, NULL);
  for (int i = 0; i < threads; i++) g_thread_join(t[i]);
  g_free(t);
  hvb_llm_free(llm);
  printf("ok %d\n", g_atomic_int_get(&done));
  return g_atomic_int_get(&failures) ? 1 : 0;
}
