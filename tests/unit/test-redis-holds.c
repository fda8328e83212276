/* tests/unit/test-redis-holds.c: the Redis backend's budget holds (ABI 1.1 hold and release,
 * <heavenbase/cache-backend.h>) against a real redis-server, through the built plugin
 * (dlopen, as the library loads it): a hold counts until released or expired; no hold crosses
 * the limit; a release adds what was spent once, even when repeated, and even after its hold
 * expired; an unknown token changes nothing. */
#include "config.h"
#include <heavenbase/cache-backend.h>
#include "redis-test.h"

#include <check.h>
#include <dlfcn.h>
#include <stdarg.h>

static const hvb_cache_backend_descriptor *d;
static void *inst;
static int port;

static bool host_fail(hvb_error *err, hvb_status status, const char *fmt, ...) {
  if (!err) return false;
  err->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return false;
}
static void host_log(hvb_log_level level, const char *fmt, ...) {
  (void)level, (void)fmt;
}
static bool host_log_enabled(hvb_log_level level) {
  (void)level;
  return false;
}
static const char *host_getenv(const char *name) {
  return getenv(name);
}
static const hvb_cache_backend_host host = {
    .size = sizeof host, .abi_major = HVB_CACHE_BACKEND_ABI_MAJOR,
    .abi_minor = HVB_CACHE_BACKEND_ABI_MINOR, .fail = host_fail, .log = host_log,
    .log_enabled = host_log_enabled, .getenv = host_getenv};

static void setup(void) {
  char path[1024], opts[256];
  snprintf(path, sizeof path, "%s/plugins/cache-redis/.libs/hb-cache-redis.so",
           getenv("HB_TEST_BUILDDIR") ? getenv("HB_TEST_BUILDDIR") : ".");
  void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL); /* never closed, as the library does */
  ck_assert_msg(so != NULL, "%s", dlerror());
  hvb_cache_backend_query_fn q = (hvb_cache_backend_query_fn)dlsym(so, HVB_CACHE_BACKEND_QUERY_SYMBOL);
  ck_assert_ptr_nonnull(q);
  d = q();
  ck_assert(d->caps & HVB_CACHE_BACKEND_CAP_HOLDS);
  ck_assert(d->hold && d->release);
  *d->host_slot = &host;
  ck_assert(d->init(&host, NULL));
  snprintf(opts, sizeof opts, "{\"nodes\": [\"127.0.0.1:%d\"], \"prefix\": \"ht:\"}", port);
  json_object *o = json_tokener_parse(opts);
  hvb_error e = HVB_ERROR_INIT;
  inst = d->open(o, &e);
  json_object_put(o);
  ck_assert_msg(inst != NULL, "%s", e.message);
}

static void teardown(void) {
  d->close(inst);
}

/* hold() with a fresh error; returns its result, *committed the committed spend. */
static int hold(const char *name, const char *token, int64_t amount, int64_t limit,
                int64_t hold_ms, int64_t *committed) {
  hvb_error e = HVB_ERROR_INIT;
  int rc = d->hold(inst, name, token, amount, limit, hold_ms, 60000, committed, &e);
  ck_assert_msg(rc >= 0, "hold: %s", e.message);
  return rc;
}

static void release(const char *name, const char *token, int64_t spent) {
  hvb_error e = HVB_ERROR_INIT;
  ck_assert_msg(d->release(inst, name, token, spent, 60000, &e), "release: %s", e.message);
}

static int64_t counter(const char *name) {
  int64_t v = -1;
  hvb_error e = HVB_ERROR_INIT;
  ck_assert_msg(d->counter_add(inst, name, 0, 60000, &v, &e), "counter: %s", e.message);
  return v;
}

START_TEST(holds_count_until_released_and_never_cross_the_limit) {
  int64_t c = -1;
  ck_assert_int_eq(hold("b1", "t1", 300, 1000, 60000, &c), 1);
  ck_assert_int_eq(c, 0);
  ck_assert_int_eq(hold("b1", "t2", 700, 1000, 60000, &c), 1);
  ck_assert_int_eq(c, 300);
  ck_assert_int_eq(hold("b1", "t3", 1, 1000, 60000, &c), 0); /* 1001 > 1000 */
  ck_assert_int_eq(c, 1000);
  ck_assert_int_eq(counter("b1"), 0); /* holds stay out of the counter */
  release("b1", "t1", 250);           /* held 300, cost 250 */
  ck_assert_int_eq(counter("b1"), 250);
  ck_assert_int_eq(hold("b1", "t4", 51, 1000, 60000, &c), 0); /* 250 + 700 + 51 */
  ck_assert_int_eq(c, 950);
  ck_assert_int_eq(hold("b1", "t5", 50, 1000, 60000, &c), 1);
  ck_assert_int_eq(hold("b1", "t6", 0, 1000, 60000, &c), 0); /* at the limit: nothing fits */
  ck_assert_int_eq(c, 1000);
}
END_TEST

START_TEST(a_release_counts_once) {
  int64_t c = -1;
  ck_assert_int_eq(hold("b2", "t1", 100, -1, 60000, &c), 1);
  release("b2", "t1", 80);
  release("b2", "t1", 80); /* a retry, or a second settle: nothing more */
  ck_assert_int_eq(counter("b2"), 80);
  release("b2", "never-held", 500);
  ck_assert_int_eq(counter("b2"), 80);
  ck_assert_int_eq(hold("b2", "t2", 0, -1, 60000, &c), 1);
  ck_assert_int_eq(c, 80); /* and no hold is left counting */
}
END_TEST

START_TEST(an_expired_hold_stops_counting_and_its_late_release_counts_once) {
  /* The lifetime only needs to outlast one command (far longer under valgrind). */
  int64_t c = -1, life_ms = rt_slow() ? 5000 : 1000;
  ck_assert_int_eq(hold("b3", "dead", 600, 1000, 60000, &c), 1);
  ck_assert_int_eq(hold("b3", "slow", 300, 1000, life_ms, &c), 1);
  ck_assert_int_eq(hold("b3", "t1", 200, 1000, 60000, &c), 0); /* 900 + 200 */
  usleep((useconds_t)(life_ms + 200) * 1000);                   /* past its lifetime */
  ck_assert_int_eq(hold("b3", "t2", 100, 1000, 60000, &c), 1);  /* 600 + 100 */
  ck_assert_int_eq(c, 600);
  release("b3", "slow", 250); /* its call did finish, late: what it cost still counts */
  release("b3", "slow", 250);
  ck_assert_int_eq(counter("b3"), 250);
  ck_assert_int_eq(hold("b3", "t3", 60, 1000, 60000, &c), 0); /* 250 + 600 + 100 + 60 */
  ck_assert_int_eq(c, 950);
}
END_TEST

int main(void) {
  if (rt_init()) return 1;
  port = atoi(rt_sh("start standalone @/a"));
  Suite *s = suite_create("redis-holds");
  TCase *tc = tcase_create("holds");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, holds_count_until_released_and_never_cross_the_limit);
  tcase_add_test(tc, a_release_counts_once);
  tcase_add_test(tc, an_expired_hold_stops_counting_and_its_late_release_counts_once);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
