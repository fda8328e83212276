/* bench/bench-telemetry.c: the cost of telemetry per call, on against off, in one run.
 *
 *   bench-telemetry BASE_URL [CALLS]      e.g. bench-telemetry http://127.0.0.1:18080 20000
 *
 * Three LLMs on the same upstream route (/bench1k of tests/nginx): telemetry off (the
 * default), an observer only (a callback that counts), and OTLP export on (spans posted to
 * BASE_URL/otlp/v1/traces, which tests/nginx answers 200, plus the observer). They run in
 * alternating rounds, so that drift of the machine affects all alike; each ratio is over the
 * "off" time of the same run. Goal: at most 1.05.
 *
 * Three clocks, because a shared machine makes wall time noisy: wall time; the CPU time of
 * the calling thread (what the caller pays); the CPU time of the whole process, which also
 * counts the exporter thread's encoding of batches and POSTs (rounds alternate every few
 * thousand calls and the exporter sends within 200 ms, so its work lands in the OTLP rounds). */
#include <heavenbase/heavenbase.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 10

typedef struct times {
  double wall, thread, process;
} times;

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static times now(void) {
  return (times){clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_THREAD_CPUTIME_ID),
                 clock_s(CLOCK_PROCESS_CPUTIME_ID)};
}

static void add_since(times *acc, times t0) {
  times t1 = now();
  acc->wall += t1.wall - t0.wall;
  acc->thread += t1.thread - t0.thread;
  acc->process += t1.process - t0.process;
}

static long observed;

static void count(const hvb_call_record *rec, void *user_data) {
  (void)user_data;
  observed += rec->input_tokens > 0;
}

static hvb_llm *make_llm(const char *base, const char *otlp, bool observe) {
  if (otlp) setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp, 1);
  else unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "provider", json_object_new_string("openai"));
  json_object_object_add(opts, "model", json_object_new_string("gpt-4o-mini"));
  json_object_object_add(opts, "base_url", json_object_new_string(base));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(opts, &err);
  json_object_put(opts);
  unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (!llm) {
    fprintf(stderr, "bench: %s\n", err.message);
    exit(1);
  }
  if (observe) hvb_llm_set_observer(llm, count, NULL);
  return llm;
}

static void loop(hvb_llm *llm, int calls, times *acc) {
  times t0 = now();
  for (int i = 0; i < calls; i++) {
    hvb_error err = HVB_ERROR_INIT;
    hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
    if (!r) {
      fprintf(stderr, "bench: call failed: %s\n", err.message);
      exit(1);
    }
    hvb_result_free(r);
  }
  if (acc) add_since(acc, t0);
}

static void row(const char *name, int n, const times *t, const times *off) {
  printf("%-10s %8d %9.1f %7.3f %9.1f %7.3f %9.1f %7.3f\n", name, n, t->wall / n * 1e6,
         t->wall / off->wall, t->thread / n * 1e6, t->thread / off->thread,
         t->process / n * 1e6, t->process / off->process);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-telemetry BASE_URL [CALLS [off|observer|otlp]]\n");
    return 2;
  }
  int calls = argc > 2 ? atoi(argv[2]) : 20000;
  if (calls < ROUNDS) calls = ROUNDS;
  int per_round = calls / ROUNDS;
  unsetenv("TRACEPARENT");
  char base[512], otlp[512];
  snprintf(base, sizeof base, "%s/bench1k/v1", argv[1]);
  snprintf(otlp, sizeof otlp, "%s/otlp", argv[1]);
  hvb_llm *off = make_llm(base, NULL, false);
  hvb_llm *obs = make_llm(base, NULL, true);
  hvb_llm *on = make_llm(base, otlp, true);
  if (argc > 3) { /* one kind only (for callgrind): off, observer or otlp */
    hvb_llm *one = !strcmp(argv[3], "off") ? off : !strcmp(argv[3], "observer") ? obs : on;
    loop(one, calls, NULL);
    printf("%d calls, telemetry %s\n", calls, argv[3]);
    hvb_llm_free(off), hvb_llm_free(obs), hvb_llm_free(on);
    return 0;
  }
  loop(off, per_round / 4 + 1, NULL); /* warm up: connections, caches, allocator */
  loop(obs, per_round / 4 + 1, NULL);
  loop(on, per_round / 4 + 1, NULL);
  times t_off = {0}, t_obs = {0}, t_on = {0};
  for (int r = 0; r < ROUNDS; r++) {
    loop(off, per_round, &t_off);
    loop(obs, per_round, &t_obs);
    loop(on, per_round, &t_on);
  }
  int n = per_round * ROUNDS;
  printf("%-10s %8s %9s %7s %9s %7s %9s %7s\n", "telemetry", "calls", "wall us", "ratio",
         "thread us", "ratio", "proc us", "ratio");
  row("off", n, &t_off, &t_off);
  row("observer", n, &t_obs, &t_off);
  row("otlp", n, &t_on, &t_off);
  if (observed < 2L * n) {
    fprintf(stderr, "bench: the observers saw %ld calls of %d\n", observed, 2 * n);
    return 1;
  }
  hvb_llm_free(off);
  hvb_llm_free(obs);
  hvb_llm_free(on);
  return 0;
}
