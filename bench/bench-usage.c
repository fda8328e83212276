/* bench/bench-usage.c: the cost of the usage ledger, as a same-run ratio.
 *
 *   bench-usage BASE_URL [CALLS]      e.g. bench-usage http://127.0.0.1:18080 20000
 *   bench-usage BASE_URL CALLS off|on|budget   CALLS calls of one kind only, to count
 *                                              instructions (valgrind --tool=callgrind)
 *
 * The same non-streamed chat (canned 1 KB reply of tests/nginx, response cache off) through
 * three LLMs that differ only in their configuration:
 *   off      heavenbase.llm.usage.ledger false
 *   on       the default: one row per call, written in batches
 *   budget   on, with a budget: each row written at once and the spend read before each call
 * Rounds alternate the three so that drift of the machine affects all alike; the ratio is
 * the median of the rounds' ratios (one round disturbed by another process moves a mean, not
 * a median). The ledger lives in a fresh directory (HB_CACHE_DIR). Goal: on/off at most
 * 1.05. */
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

static void write_config(const char *dir, const char *json) {
  char path[700];
  snprintf(path, sizeof path, "%s/config.json", dir);
  FILE *f = fopen(path, "w");
  if (!f || fputs(json, f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "bench-usage: cannot write %s\n", path);
    exit(1);
  }
}

/* An LLM on the canned route with the configuration in `json`. */
static hvb_llm *llm_with(const char *root, const char *name, const char *json, const char *base) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/%s", root, name);
  if (mkdir(dir, 0700) != 0) {
    perror("bench-usage: mkdir");
    exit(1);
  }
  write_config(dir, json);
  setenv("HB_CONFIG_DIR", dir, 1);
  hvb_error err = HVB_ERROR_INIT;
  hvb_config *cfg = hvb_config_load(&err);
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "provider", json_object_new_string("openai"));
  json_object_object_add(opts, "model", json_object_new_string("gpt-5-mini"));
  json_object_object_add(opts, "base_url", json_object_new_string(base));
  json_object_object_add(opts, "cache", json_object_new_boolean(0));
  hvb_llm *llm = cfg ? hvb_llm_new_with_config(cfg, opts, &err) : NULL;
  json_object_put(opts);
  hvb_config_free(cfg);
  if (!llm) {
    fprintf(stderr, "bench-usage: %s\n", err.message);
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
      fprintf(stderr, "bench-usage: chat failed: %s\n", err.message);
      exit(1);
    }
    hvb_result_free(r);
  }
  return now_us() - t0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-usage BASE_URL [CALLS]\n");
    return 2;
  }
  int calls = argc > 2 ? atoi(argv[2]) : 20000;
  int per_round = calls / ROUNDS > 0 ? calls / ROUNDS : 1, n = per_round * ROUNDS;
  char root[] = "/tmp/hb-bench-usage-XXXXXX";
  if (!mkdtemp(root)) {
    perror("bench-usage: mkdtemp");
    return 1;
  }
  setenv("HB_CACHE_DIR", root, 1);
  char base[512];
  snprintf(base, sizeof base, "%s/bench1k/v1", argv[1]);
  hvb_llm *off = llm_with(root, "off", "{\"heavenbase\": {\"llm\": {\"usage\": {\"ledger\": false}}}}", base);
  hvb_llm *on = llm_with(root, "on", "{}", base);
  hvb_llm *budget = llm_with(root, "budget",
                             "{\"heavenbase\": {\"llm\": {\"budgets\": {\"b\": "
                             "{\"limit_usd\": 1000000}}}}}", base);
  if (argc > 3) { /* one kind only */
    hvb_llm *one = !strcmp(argv[3], "off") ? off : !strcmp(argv[3], "on") ? on : budget;
    run(one, calls);
    printf("%d calls, ledger %s\n", calls, argv[3]);
    hvb_llm_free(off), hvb_llm_free(on), hvb_llm_free(budget);
    return 0;
  }
  run(off, 100), run(on, 100), run(budget, 100); /* connections and the database warm */
  double t_off = 0, t_on = 0, t_budget = 0, r_on[ROUNDS], r_budget[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double a = run(off, per_round), b = run(on, per_round), c = run(budget, per_round);
    t_off += a, t_on += b, t_budget += c;
    r_on[r] = b / a;
    r_budget[r] = c / a;
  }
  qsort(r_on, ROUNDS, sizeof *r_on, cmp_double);
  qsort(r_budget, ROUNDS, sizeof *r_budget, cmp_double);
  double m_on = (r_on[ROUNDS / 2 - 1] + r_on[ROUNDS / 2]) / 2;
  double m_budget = (r_budget[ROUNDS / 2 - 1] + r_budget[ROUNDS / 2]) / 2;
  printf("%-8s %8s %12s\n", "ledger", "calls", "us/call");
  printf("%-8s %8d %12.1f\n", "off", n, t_off / n);
  printf("%-8s %8d %12.1f\n", "on", n, t_on / n);
  printf("%-8s %8d %12.1f\n", "budget", n, t_budget / n);
  printf("ratio on/off = %.3f, median of %d rounds (goal <= 1.05: %s); mean ratio %.3f\n",
         m_on, ROUNDS, m_on <= 1.05 ? "met" : "NOT MET", t_on / t_off);
  printf("ratio budget/off = %.3f, median (mean %.3f)\n", m_budget, t_budget / t_off);
  hvb_llm_free(off);
  hvb_llm_free(on);
  hvb_llm_free(budget);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0) fprintf(stderr, "bench-usage: could not remove %s\n", root);
  return 0;
}
