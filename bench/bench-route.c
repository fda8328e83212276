/* bench/bench-route.c: the cost of routing a call in process, as a same-run ratio.
 *
 *   bench-route BASE_URL [CALLS]      e.g. bench-route http://127.0.0.1:18080 20000
 *   bench-route BASE_URL CALLS plain|one|fallback   CALLS calls of one kind only, to count
 *                                                   instructions (valgrind --tool=callgrind)
 *
 * The same non-streamed chat (canned 1 KB reply of tests/nginx, response cache and usage
 * ledger off, so that only routing differs) through three LLMs:
 *   plain     the model, unrouted
 *   one       a route of one target: that same model
 *   fallback  a fallback route of two targets whose first (that same model) answers
 * Rounds alternate the three so that drift of the machine affects all alike; each ratio is
 * the median of the rounds' ratios. Goal: routed/plain at most 1.03. */
#include <heavenbase/heavenbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 40

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The configuration: no ledger, no cache, and the two routes over the canned URL. */
static void write_config(const char *dir, const char *base) {
  char path[700];
  snprintf(path, sizeof path, "%s/config.json", dir);
  FILE *f = fopen(path, "w");
#define TARGET "{\"model\": \"gpt-5-mini\", \"provider\": \"openai\", \"base_url\": \"%s\""
  if (!f || fprintf(f,
                    "{\"heavenbase\": {\"llm\": {\"usage\": {\"ledger\": false},"
                    " \"cache\": {\"enabled\": false}, \"routes\": {"
                    " \"one\": {\"targets\": [" TARGET "}]},"
                    " \"fallback\": {\"targets\": [" TARGET "}, " TARGET ", \"label\": \"second\"}]}}}}}\n",
                    base, base, base) < 0 ||
      fclose(f) != 0) {
    fprintf(stderr, "bench-route: cannot write %s\n", path);
    exit(1);
  }
#undef TARGET
}

static hvb_llm *llm_for(const hvb_config *cfg, const char *preset, const char *base) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *opts = json_object_new_object();
  if (preset) {
    json_object_object_add(opts, "preset", json_object_new_string(preset));
  } else {
    json_object_object_add(opts, "provider", json_object_new_string("openai"));
    json_object_object_add(opts, "model", json_object_new_string("gpt-5-mini"));
    json_object_object_add(opts, "base_url", json_object_new_string(base));
  }
  hvb_llm *llm = hvb_llm_new_with_config(cfg, opts, &err);
  json_object_put(opts);
  if (!llm) {
    fprintf(stderr, "bench-route: %s: %s\n", preset ? preset : "plain", err.message);
    exit(1);
  }
  return llm;
}

static double run(hvb_llm *llm, int n) {
  double t0 = now_us();
  for (int i = 0; i < n; i++) {
    hvb_error err = HVB_ERROR_INIT;
    hvb_result *r = hvb_llm_chat(llm, "benchmark prompt", NULL, NULL, &err);
    if (!r) {
      fprintf(stderr, "bench-route: chat failed: %s\n", err.message);
      exit(1);
    }
    hvb_result_free(r);
  }
  return now_us() - t0;
}

static double median(double *v) {
  qsort(v, ROUNDS, sizeof *v, cmp_double);
  return (v[ROUNDS / 2 - 1] + v[ROUNDS / 2]) / 2;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-route BASE_URL [CALLS [plain|one|fallback]]\n");
    return 2;
  }
  int calls = argc > 2 ? atoi(argv[2]) : 20000;
  int per_round = calls / ROUNDS > 0 ? calls / ROUNDS : 1, n = per_round * ROUNDS;
  char root[] = "/tmp/hb-bench-route-XXXXXX";
  if (!mkdtemp(root)) {
    perror("bench-route: mkdtemp");
    return 1;
  }
  setenv("HB_CACHE_DIR", root, 1);
  setenv("HB_CONFIG_DIR", root, 1);
  char base[512];
  snprintf(base, sizeof base, "%s/bench1k/v1", argv[1]);
  write_config(root, base);
  hvb_error err = HVB_ERROR_INIT;
  hvb_config *cfg = hvb_config_load(&err);
  if (!cfg) {
    fprintf(stderr, "bench-route: %s\n", err.message);
    return 1;
  }
  hvb_llm *plain = llm_for(cfg, NULL, base), *one = llm_for(cfg, "one", base);
  hvb_llm *fallback = llm_for(cfg, "fallback", base);
  hvb_config_free(cfg);
  int rc = 0;
  if (argc > 3) { /* one kind only */
    hvb_llm *only = !strcmp(argv[3], "plain") ? plain : !strcmp(argv[3], "one") ? one : fallback;
    run(only, calls);
    printf("%d calls, %s\n", calls, argv[3]);
  } else {
    run(plain, 100), run(one, 100), run(fallback, 100); /* connections warm */
    double t_plain = 0, t_one = 0, t_fb = 0, r_one[ROUNDS], r_fb[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
      double a = run(plain, per_round), b = run(one, per_round), c = run(fallback, per_round);
      t_plain += a, t_one += b, t_fb += c;
      r_one[r] = b / a;
      r_fb[r] = c / a;
    }
    double m_one = median(r_one), m_fb = median(r_fb);
    printf("%-9s %8s %12s\n", "route", "calls", "us/call");
    printf("%-9s %8d %12.1f\n", "plain", n, t_plain / n);
    printf("%-9s %8d %12.1f\n", "one", n, t_one / n);
    printf("%-9s %8d %12.1f\n", "fallback", n, t_fb / n);
    printf("ratio one/plain = %.3f, median of %d rounds (goal <= 1.03: %s); mean %.3f\n", m_one,
           ROUNDS, m_one <= 1.03 ? "met" : "NOT MET", t_one / t_plain);
    printf("ratio fallback/plain = %.3f, median (goal <= 1.03: %s); mean %.3f\n", m_fb,
           m_fb <= 1.03 ? "met" : "NOT MET", t_fb / t_plain);
  }
  hvb_llm_free(plain), hvb_llm_free(one), hvb_llm_free(fallback);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0) fprintf(stderr, "bench-route: could not remove %s\n", root);
  return rc;
}
