/* rclient against a real master, replica and 3 Sentinels on loopback (tests/redis/redis.sh):
 * the master is discovered (past a dead sentinel), a SENTINEL FAILOVER is followed (the old
 * master turns read-only), and so is the master killed: commands succeed on the promoted replica
 * with the data written before. */
#include "rclient.h"
#include "redis-test.h"

#include <check.h>

static char ports[5][16]; /* master, replica, 3 sentinels */
static char dead[64], s_addr[3][64];

static rclient *sentinel_client(void) {
  const char *nodes[] = {dead, s_addr[0], s_addr[1], s_addr[2], NULL};
  rclient_config cfg = {.mode = "sentinel", .nodes = nodes, .master_name = "hbm",
                        .command_timeout_ms = 1000};
  char *err = NULL;
  rclient *c = rclient_new(&cfg, &err);
  ck_assert_msg(c != NULL, "rclient_new: %s", err ? err : "?");
  return c;
}

static char *master_of(rclient *c) {
  char *err = NULL;
  char **m = rclient_masters(c, &err);
  ck_assert_msg(m && m[0] && !m[1], "%s", err ? err : "?");
  char *a = strdup(m[0]);
  rclient_strv_free(m);
  return a;
}

/* Writes until one succeeds (at most 20 s): the failures while the failover runs are the
   ones a caller's local tier absorbs. Returns how many failed. */
static int write_until_ok(rclient *c, const char *key, const char *value) {
  int failed = 0;
  int64_t until = rt_now_ms() + 20000;
  while (rt_now_ms() < until) {
    char *err = NULL;
    redisReply *r = rclient_command(c, key, 3, (const char *[]){"SET", key, value}, NULL, &err);
    if (r && r->type == REDIS_REPLY_STATUS) {
      freeReplyObject(r);
      return failed;
    }
    failed++;
    if (r) freeReplyObject(r);
    free(err);
    usleep(50000);
  }
  ck_abort_msg("no write succeeded within 20 s");
  return failed;
}

static void assert_get(rclient *c, const char *key, const char *want) {
  char *err = NULL;
  redisReply *r = rclient_command(c, key, 2, (const char *[]){"GET", key}, NULL, &err);
  ck_assert_msg(r != NULL, "GET %s: %s", key, err ? err : "?");
  ck_assert_msg(r->type == REDIS_REPLY_STRING && strcmp(r->str, want) == 0, "GET %s: %s", key,
                r->str ? r->str : "(no string)");
  freeReplyObject(r);
}

/* Waits until the replica has what the master has (WAIT 1), at most 15 s: a demoted master
   first has to be told to replicate, then to sync. */
static void replicate(rclient *c) {
  long long acked = 0;
  for (int i = 0; i < 30 && acked != 1; i++) {
    char *err = NULL;
    redisReply *r = rclient_command(c, NULL, 3, (const char *[]){"WAIT", "1", "500"}, NULL, &err);
    acked = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r) freeReplyObject(r);
    free(err);
  }
  ck_assert_msg(acked == 1, "WAIT: no replica acknowledged within 15 s");
}

START_TEST(discovery_past_a_dead_sentinel) {
  rclient *c = sentinel_client();
  ck_assert_int_eq(write_until_ok(c, "k1", "v1"), 0);
  char *m = master_of(c), want[64];
  snprintf(want, sizeof want, "127.0.0.1:%s", ports[0]);
  ck_assert_str_eq(m, want);
  free(m);
  assert_get(c, "k1", "v1");
  rclient_free(c);
}
END_TEST

START_TEST(failover_followed_then_master_killed) {
  rclient *c = sentinel_client();
  write_until_ok(c, "before", "1");
  replicate(c);
  char *old = master_of(c);
  /* A graceful failover: the old master becomes a replica; the client's pooled connections to
     it get READONLY or are closed, and the next command finds the new master. */
  const char *promoted = rt_sh("failover @/a");
  char want[64];
  snprintf(want, sizeof want, "127.0.0.1:%s", promoted);
  ck_assert_str_ne(want, old);
  /* Followed within the client's revalidation period (1 s) even with no error to see. */
  int failed = 0;
  char *now = NULL;
  for (int i = 0; i < 50 && (!now || strcmp(now, want) != 0); i++) {
    free(now);
    failed += write_until_ok(c, "after-failover", "2");
    now = master_of(c);
    if (strcmp(now, want) != 0) usleep(100000);
  }
  ck_assert_str_eq(now, want);
  ck_assert_int_le(failed, 10);
  ck_assert_int_eq(write_until_ok(c, "after-failover", "2"), 0); /* surely on the new master */
  assert_get(c, "before", "1");
  replicate(c);
  /* The master killed: commands fail (fast) until the sentinels promote the replica. */
  char killed[16];
  snprintf(killed, sizeof killed, "%s", promoted);
  rt_sh("kill @/a %s", killed);
  write_until_ok(c, "after-kill", "3");
  char *last = master_of(c);
  ck_assert_str_ne(last, now);
  ck_assert_str_eq(last, old); /* the only other server */
  assert_get(c, "before", "1");
  assert_get(c, "after-failover", "2");
  assert_get(c, "after-kill", "3");
  free(old);
  free(now);
  free(last);
  rclient_free(c);
}
END_TEST

START_TEST(unknown_master_name) {
  const char *nodes[] = {s_addr[0], NULL};
  rclient_config cfg = {.mode = "sentinel", .nodes = nodes, .master_name = "nosuch"};
  char *err = NULL;
  rclient *c = rclient_new(&cfg, &err);
  ck_assert_ptr_nonnull(c);
  ck_assert_ptr_null(rclient_command(c, NULL, 1, (const char *[]){"PING"}, NULL, &err));
  ck_assert_msg(err && strstr(err, "does not monitor 'nosuch'"), "%s", err ? err : "?");
  ck_assert(!rclient_up(c));
  free(err);
  rclient_free(c);
}
END_TEST

int main(void) {
  int skip = rt_init();
  if (skip) return skip;
  const char *out = rt_sh("start sentinel @/a");
  if (sscanf(out, "%15s %15s %15s %15s %15s", ports[0], ports[1], ports[2], ports[3], ports[4]) != 5) {
    fprintf(stderr, "sentinel ports: '%s'\n", out);
    return 1;
  }
  for (int i = 0; i < 3; i++) snprintf(s_addr[i], sizeof s_addr[i], "127.0.0.1:%s", ports[2 + i]);
  const char *p = rt_sh("start standalone @/b");
  snprintf(dead, sizeof dead, "127.0.0.1:%s", p);
  rt_sh("kill @/b %s", p);
  Suite *s = suite_create("rclient-sentinel");
  TCase *tc = tcase_create("sentinel");
  tcase_set_timeout(tc, 90);
  tcase_add_test(tc, discovery_past_a_dead_sentinel);
  tcase_add_test(tc, unknown_master_name);
  tcase_add_test(tc, failover_followed_then_master_killed);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
