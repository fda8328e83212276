/* bench/bench-async.c: the async engine at C calls in flight against a loopback upstream.
 *
 *     bench-async BASE_URL C SECONDS
 *
 * BASE_URL is the nginx canned upstream (bench/run.sh passes http://127.0.0.1:PORT). Keeps C
 * async chats in flight (each completion starts the next one, from the callback) for SECONDS
 * after a warm-up, and prints one line: calls/s and resident memory per call in flight (the
 * growth of VmRSS from before the calls to the peak while C were in flight, over C). bench/run.sh
 * compares the rate with wrk at C connections on the same URL, in the same run.
 */
#include <heavenbase/heavenbase.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static hvb_llm *llm;
static atomic_long completed, failed;
static atomic_int stop;
static atomic_int in_flight;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kb;
}

static void start_one(void);

/* Engine thread: count, free, and keep the number in flight constant. */
static void on_done(hvb_call *call, void *user_data) {
  (void)user_data;
  if (hvb_call_status(call) == HVB_OK) atomic_fetch_add(&completed, 1);
  else atomic_fetch_add(&failed, 1);
  hvb_call_free(call);
  atomic_fetch_sub(&in_flight, 1);
  if (!atomic_load(&stop)) start_one();
}

static void start_one(void) {
  hvb_error err = HVB_ERROR_INIT;
  atomic_fetch_add(&in_flight, 1);
  if (!hvb_llm_chat_async(llm, "hi", NULL, NULL, on_done, NULL, NULL, &err)) {
    atomic_fetch_sub(&in_flight, 1);
    fprintf(stderr, "bench-async: cannot start a call: %s\n", err.message);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s BASE_URL CONCURRENCY SECONDS\n", argv[0]);
    return 2;
  }
  int c = atoi(argv[2]);
  double seconds = atof(argv[3]);
  char base[512];
  snprintf(base, sizeof base, "%s/bench1k/v1", argv[1]);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "provider", json_object_new_string("openai"));
  json_object_object_add(o, "model", json_object_new_string("bench"));
  json_object_object_add(o, "base_url", json_object_new_string(base));
  json_object_object_add(o, "api_key", json_object_new_string("sk-bench-0123456789"));
  json_object_object_add(o, "cache", json_object_new_boolean(0));
  hvb_error err = HVB_ERROR_INIT;
  llm = hvb_llm_new(o, &err);
  json_object_put(o);
  if (!llm) {
    fprintf(stderr, "bench-async: %s\n", err.message);
    return 1;
  }
  long rss0 = rss_kb(), peak = rss0;
  for (int i = 0; i < c; i++) start_one();
  /* Warm-up: connections open, pools fill. */
  double t = now_s();
  while (now_s() - t < 0.5) usleep(10000);
  long c0 = atomic_load(&completed);
  double t0 = now_s();
  while (now_s() - t0 < seconds) {
    usleep(20000);
    long r = rss_kb();
    if (r > peak) peak = r;
  }
  long calls = atomic_load(&completed) - c0;
  double elapsed = now_s() - t0;
  atomic_store(&stop, 1);
  while (atomic_load(&in_flight) > 0) usleep(1000);
  printf("engine  C=%-4d %10.0f calls/s  %6.1f KiB resident per call in flight  (%ld failed)\n",
         c, (double)calls / elapsed, (double)(peak - rss0) / c, atomic_load(&failed));
  /* For instruction counts per call (valgrind --tool=callgrind): every call, warm-up too. */
  if (getenv("HB_BENCH_VERBOSE"))
    fprintf(stderr, "bench-async: %ld calls completed in all\n", atomic_load(&completed));
  hvb_llm_free(llm);
  return atomic_load(&failed) ? 1 : 0;
}
