/* bench/bench-cache.c: latency of a response-cache hit beside a miss through the loopback
 * upstream, in one run.
 *
 *   bench-cache BASE_URL [CALLS]      e.g. bench-cache http://127.0.0.1:18080 5000
 *
 * A deterministic chat (temperature 0) against the canned /json route of tests/nginx:
 *   miss  a new prompt each call: lookup, request, response, store
 *   hit   one of 100 prompts stored before: lookup and replay, no request
 *   off   the same call with the cache turned off (the request alone), for reference
 * Rounds alternate the three so that drift of the machine affects all alike. The database
 * lives in a fresh directory (HB_CACHE_DIR). Goal (issue #20): p99 of a hit under 25 us. */
#include <heavenbase/heavenbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 10
#define HOT 100

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p) {
  int i = (int)(p / 100.0 * (n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

/* One chat; returns its latency in microseconds. `want_cached` checks what happened. */
static double timed_chat(hvb_llm *llm, const char *prompt, json_object *opts, int want_cached) {
  hvb_error err = HVB_ERROR_INIT;
  double t0 = now_us();
  hvb_result *r = hvb_llm_chat(llm, prompt, NULL, opts, &err);
  double dt = now_us() - t0;
  if (!r) {
    fprintf(stderr, "bench-cache: chat failed: %s\n", err.message);
    exit(1);
  }
  if (want_cached >= 0 && hvb_result_cached(r) != (want_cached != 0)) {
    fprintf(stderr, "bench-cache: '%s' was %s the cache\n", prompt,
            hvb_result_cached(r) ? "answered by" : "not answered by");
    exit(1);
  }
  hvb_result_free(r);
  return dt;
}

static void report(const char *name, double *v, int n) {
  double sum = 0;
  for (int i = 0; i < n; i++) sum += v[i];
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  printf("%-6s %8d %10.1f %10.1f %10.1f %10.1f\n", name, n, sum / n, pct(v, n, 50), pct(v, n, 99),
         v[n - 1]);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-cache BASE_URL [CALLS]\n");
    return 2;
  }
  int calls = argc > 2 ? atoi(argv[2]) : 5000;
  if (calls < ROUNDS) calls = ROUNDS;
  int per_round = calls / ROUNDS, n = per_round * ROUNDS;

  char dir[] = "/tmp/hb-bench-cache-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("bench-cache: mkdtemp");
    return 1;
  }
  setenv("HB_CACHE_DIR", dir, 1);

  char base[512];
  snprintf(base, sizeof base, "%s/json/v1", argv[1]);
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "provider", json_object_new_string("openai"));
  json_object_object_add(opts, "model", json_object_new_string("gpt-4o-mini"));
  json_object_object_add(opts, "base_url", json_object_new_string(base));
  json_object_object_add(opts, "temperature", json_object_new_int(0));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(opts, &err);
  json_object_put(opts);
  if (!llm) {
    fprintf(stderr, "bench-cache: %s\n", err.message);
    return 1;
  }
  json_object *off = json_object_new_object();
  json_object_object_add(off, "cache", json_object_new_boolean(0));

  char prompt[64];
  for (int i = 0; i < HOT; i++) { /* the hot set, and warm-up of connection and database */
    snprintf(prompt, sizeof prompt, "hot %d", i);
    timed_chat(llm, prompt, NULL, -1);
  }
  double *miss = malloc(sizeof(double) * (size_t)n), *hit = malloc(sizeof(double) * (size_t)n),
         *plain = malloc(sizeof(double) * (size_t)n);
  int k = 0;
  for (int r = 0; r < ROUNDS; r++) {
    for (int i = 0; i < per_round; i++) {
      snprintf(prompt, sizeof prompt, "miss %d", k + i);
      miss[k + i] = timed_chat(llm, prompt, NULL, 0);
    }
    for (int i = 0; i < per_round; i++) {
      snprintf(prompt, sizeof prompt, "hot %d", (k + i) % HOT);
      hit[k + i] = timed_chat(llm, prompt, NULL, 1);
    }
    for (int i = 0; i < per_round; i++) plain[k + i] = timed_chat(llm, "hot 0", off, 0);
    k += per_round;
  }
  printf("cache database: %s (%d entries at the end)\n", dir, HOT + n);
  printf("%-6s %8s %10s %10s %10s %10s   (microseconds per chat)\n", "case", "calls", "mean",
         "p50", "p99", "max");
  report("hit", hit, n);
  report("miss", miss, n);
  report("off", plain, n);
  qsort(hit, (size_t)n, sizeof *hit, cmp_double);
  double p99 = pct(hit, n, 99);
  printf("goal: hit p99 < 25 us: %s (%.1f us)\n", p99 < 25 ? "met" : "NOT MET", p99);

  json_object_put(off);
  hvb_llm_free(llm);
  free(miss);
  free(hit);
  free(plain);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "bench-cache: could not remove %s\n", dir);
  return 0;
}
