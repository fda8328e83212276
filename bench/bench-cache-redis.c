/* bench/bench-cache-redis.c: a cache hit through the Redis tier (local tier off) beside a plain
 * GET of a value of the same size with hiredis (what `redis-cli GET` does, without the
 * process start), in one run; and a hit through the local SQLite tier, as bench-cache.
 *
 *   bench-cache-redis REDIS_PORT [CALLS]
 *
 * Needs hb-cache-redis.so in $HB_CACHE_BACKEND_PATH (bench/run.sh sets it). The chat is the
 * built-in mock gateway's (no HTTP), deterministic (temperature 0), stored once, then read
 * CALLS times; rounds alternate the three measures so that drift affects all alike.
 * Goal: median(hit through Redis) / median(plain GET) <= 1.3. */
#include <heavenbase/heavenbase.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 10

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

static hvb_llm *llm_for(int port, const char *tiers, const char *dir) {
  char json[1024];
  snprintf(json, sizeof json,
           "{\"gateway\": \"mock\", \"model\": \"bench-model\", \"cache\": {\"path\": \"%s\", "
           "\"backend\": \"redis\", \"tiers\": %s, \"backend_fallback\": false, "
           "\"backend_options\": {\"nodes\": [\"127.0.0.1:%d\"], \"prefix\": \"bench:\"}}}",
           dir, tiers, port);
  json_object *o = json_tokener_parse(json);
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  if (!llm) {
    fprintf(stderr, "bench-cache-redis: %s\n", err.message);
    exit(1);
  }
  return llm;
}

static double hit(hvb_llm *llm, json_object *opts) {
  hvb_error err = HVB_ERROR_INIT;
  double t0 = now_us();
  hvb_result *r = hvb_llm_chat(llm, "the same question", NULL, opts, &err);
  double dt = now_us() - t0;
  if (!r || !hvb_result_cached(r)) {
    fprintf(stderr, "bench-cache-redis: not a hit: %s\n", r ? "answered by the gateway" : err.message);
    exit(1);
  }
  hvb_result_free(r);
  return dt;
}

static double plain_get(redisContext *rc) {
  double t0 = now_us();
  redisReply *r = redisCommand(rc, "GET bench:plain");
  double dt = now_us() - t0;
  if (!r || r->type != REDIS_REPLY_STRING) {
    fprintf(stderr, "bench-cache-redis: plain GET failed\n");
    exit(1);
  }
  freeReplyObject(r);
  return dt;
}

/* Size of the stored entry (the one key under bench:e:text:), and a plain key of that size. */
static long plain_key_like_entry(redisContext *rc) {
  redisReply *keys = redisCommand(rc, "KEYS bench:e:text:*");
  if (!keys || keys->type != REDIS_REPLY_ARRAY || keys->elements != 1) {
    fprintf(stderr, "bench-cache-redis: want one stored entry\n");
    exit(1);
  }
  redisReply *len = redisCommand(rc, "STRLEN %s", keys->element[0]->str);
  long n = len->integer;
  char *v = malloc((size_t)n);
  memset(v, 'x', (size_t)n);
  freeReplyObject(redisCommand(rc, "SET bench:plain %b", v, (size_t)n));
  free(v);
  freeReplyObject(len);
  freeReplyObject(keys);
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-cache-redis REDIS_PORT [CALLS]\n");
    return 2;
  }
  int port = atoi(argv[1]), calls = argc > 2 ? atoi(argv[2]) : 5000;
  int per = calls / ROUNDS > 0 ? calls / ROUNDS : 1;
  char dir[] = "/tmp/bench-cache-redis-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  redisContext *rc = redisConnect("127.0.0.1", port);
  if (!rc || rc->err) return fprintf(stderr, "bench-cache-redis: cannot connect\n"), 1;
  freeReplyObject(redisCommand(rc, "FLUSHDB"));
  hvb_llm *remote = llm_for(port, "[\"redis\"]", dir), *local = llm_for(port, "[\"sqlite\"]", dir);
  json_object *opts = json_tokener_parse("{\"temperature\": 0}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_result_free(hvb_llm_chat(remote, "the same question", NULL, opts, &err));
  hvb_result_free(hvb_llm_chat(local, "the same question", NULL, opts, &err));
  long size = plain_key_like_entry(rc);
  double *h = malloc(sizeof(double) * (size_t)(per * ROUNDS));
  double *g = malloc(sizeof(double) * (size_t)(per * ROUNDS));
  double *l = malloc(sizeof(double) * (size_t)(per * ROUNDS));
  for (int r = 0, k = 0; r < ROUNDS; r++, k += per)
    for (int i = 0; i < per; i++) {
      h[k + i] = hit(remote, opts);
      g[k + i] = plain_get(rc);
      l[k + i] = hit(local, opts);
    }
  int n = per * ROUNDS;
  double mh = median(h, n), mg = median(g, n), ml = median(l, n);
  printf("value size          %ld bytes, %d calls each\n", size, n);
  printf("hit through Redis   median %8.1f us\n", mh);
  printf("plain GET (hiredis) median %8.1f us\n", mg);
  printf("hit through SQLite  median %8.1f us (local tier)\n", ml);
  printf("ratio Redis hit / plain GET: %.2f (goal <= 1.3)\n", mh / mg);
  json_object_put(opts);
  hvb_llm_free(remote);
  hvb_llm_free(local);
  redisFree(rc);
  free(h), free(g), free(l);
  return 0;
}
