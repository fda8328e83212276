/* rclient against a real 3-master Redis Cluster on loopback (tests/redis/redis.sh): our CRC16
 * slots agree with the server's CLUSTER KEYSLOT, keys spread over all three masters from one
 * seed node, and MOVED and ASK are followed through a slot migration done by hand
 * (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE). */
#include "rclient.h"
#include "redis-test.h"

#include <check.h>

static char ports[3][16];
static char seed[64];

static rclient *cluster_client(void) {
  const char *nodes[] = {seed, NULL}; /* one seed: the others are discovered */
  rclient_config cfg = {.mode = "cluster", .nodes = nodes};
  char *err = NULL;
  rclient *c = rclient_new(&cfg, &err);
  ck_assert_msg(c != NULL, "rclient_new: %s", err ? err : "?");
  return c;
}

static redisReply *must(redisReply *r, char *err, const char *what) {
  ck_assert_msg(r != NULL, "%s failed: %s", what, err ? err : "?");
  ck_assert_msg(r->type != REDIS_REPLY_ERROR, "%s: %s", what, r->str);
  return r;
}

static redisReply *key_cmd(rclient *c, int argc, const char **argv) {
  char *err = NULL;
  return must(rclient_command(c, argv[1], argc, argv, NULL, &err), err, argv[0]);
}

static redisReply *at(rclient *c, const char *addr, int argc, const char **argv) {
  char *err = NULL;
  return must(rclient_command_at(c, addr, argc, argv, NULL, &err), err, argv[0]);
}

START_TEST(slots_agree_with_the_server) {
  rclient *c = cluster_client();
  const char *keys[] = {"foo", "bar", "hb:0123456789abcdef", "{user1000}.following",
                        "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}",
                        "", "{", "}{x}"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    char *err = NULL;
    redisReply *r = must(rclient_command(c, NULL, 3, (const char *[]){"CLUSTER", "KEYSLOT", keys[i]},
                                         NULL, &err), err, "CLUSTER KEYSLOT");
    ck_assert_msg(r->integer == (long long)rclient_key_slot(keys[i], strlen(keys[i])),
                  "slot of '%s': server %lld, ours %u", keys[i], r->integer,
                  rclient_key_slot(keys[i], strlen(keys[i])));
    freeReplyObject(r);
  }
  ck_assert_uint_eq(rclient_key_slot("{abc}:lock", 10), rclient_key_slot("{abc}:v", 7));
  rclient_free(c);
}
END_TEST

START_TEST(keys_spread_over_all_masters) {
  rclient *c = cluster_client();
  enum { N = 300 };
  for (int i = 0; i < N; i++) {
    char k[32], v[32];
    snprintf(k, sizeof k, "spread:%d", i);
    snprintf(v, sizeof v, "value-%d", i);
    freeReplyObject(key_cmd(c, 3, (const char *[]){"SET", k, v}));
  }
  ck_assert(rclient_up(c));
  for (int i = 0; i < N; i++) {
    char k[32], v[32];
    snprintf(k, sizeof k, "spread:%d", i);
    snprintf(v, sizeof v, "value-%d", i);
    redisReply *r = key_cmd(c, 2, (const char *[]){"GET", k});
    ck_assert_str_eq(r->str, v);
    freeReplyObject(r);
  }
  char *err = NULL;
  char **masters = rclient_masters(c, &err);
  ck_assert_msg(masters != NULL, "%s", err ? err : "?");
  long long total = 0;
  int n = 0;
  for (; masters[n]; n++) {
    redisReply *r = at(c, masters[n], 1, (const char *[]){"DBSIZE"});
    ck_assert_msg(r->integer > N / 10, "master %s holds %lld of %d keys", masters[n], r->integer, N);
    total += r->integer;
    freeReplyObject(r);
  }
  ck_assert_int_eq(n, 3);
  ck_assert_int_ge(total, N);
  rclient_strv_free(masters);
  rclient_free(c);
}
END_TEST

/* The address of the master that owns key's slot, and of another one. */
static void owner_and_other(rclient *c, const char *key, char *owner, char *other, size_t len) {
  char *err = NULL;
  char **masters = rclient_masters(c, &err);
  ck_assert_ptr_nonnull(masters);
  owner[0] = other[0] = 0;
  for (int i = 0; masters[i]; i++) {
    redisReply *r = rclient_command_at(c, masters[i], 2, (const char *[]){"EXISTS", key}, NULL, &err);
    ck_assert_ptr_nonnull(r);
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) snprintf(owner, len, "%s", masters[i]);
    else if (!other[0]) snprintf(other, len, "%s", masters[i]);
    freeReplyObject(r);
  }
  rclient_strv_free(masters);
  ck_assert_msg(owner[0] && other[0], "no owner of %s found", key);
}

static char *node_id(rclient *c, const char *addr) {
  redisReply *r = at(c, addr, 2, (const char *[]){"CLUSTER", "MYID"});
  char *id = strdup(r->str);
  freeReplyObject(r);
  return id;
}

static void setslot(rclient *c, const char *addr, const char *slot, const char *how, const char *id) {
  freeReplyObject(at(c, addr, 5, (const char *[]){"CLUSTER", "SETSLOT", slot, how, id}));
}

START_TEST(moved_and_ask_through_a_migration) {
  rclient *c = cluster_client();
  freeReplyObject(key_cmd(c, 3, (const char *[]){"SET", "mig", "old"}));
  char src[64], dst[64], slot[16];
  owner_and_other(c, "mig", src, dst, sizeof src);
  snprintf(slot, sizeof slot, "%u", rclient_key_slot("mig", 3));
  char *src_id = node_id(c, src), *dst_id = node_id(c, dst);
  setslot(c, dst, slot, "IMPORTING", src_id);
  setslot(c, src, slot, "MIGRATING", dst_id);
  /* Migrating: a key the source still holds is served there; a new key of the slot is not
     there, so the source answers ASK and the command goes to the target with ASKING. */
  freeReplyObject(key_cmd(c, 3, (const char *[]){"SET", "{mig}new", "asked"}));
  redisReply *r = key_cmd(c, 2, (const char *[]){"GET", "{mig}new"});
  ck_assert_str_eq(r->str, "asked");
  freeReplyObject(r);
  r = key_cmd(c, 2, (const char *[]){"GET", "mig"});
  ck_assert_str_eq(r->str, "old");
  freeReplyObject(r);
  /* Move the old key, then give the slot to the target: the client's map is now wrong, and
     the source answers MOVED. */
  const char *host_end = strrchr(dst, ':');
  char host[64];
  snprintf(host, sizeof host, "%.*s", (int)(host_end - dst), dst);
  freeReplyObject(at(c, src, 8, (const char *[]){"MIGRATE", host, host_end + 1, "", "0", "5000",
                                                  "KEYS", "mig"}));
  for (int i = 0; i < 3; i++) {
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%s", ports[i]);
    setslot(c, addr, slot, "NODE", dst_id);
  }
  r = key_cmd(c, 2, (const char *[]){"GET", "mig"});
  ck_assert_str_eq(r->str, "old");
  freeReplyObject(r);
  r = key_cmd(c, 2, (const char *[]){"GET", "{mig}new"});
  ck_assert_str_eq(r->str, "asked");
  freeReplyObject(r);
  /* The source holds nothing of the slot any more: both keys were read from the target. */
  r = at(c, src, 3, (const char *[]){"CLUSTER", "COUNTKEYSINSLOT", slot});
  ck_assert_int_eq(r->integer, 0);
  freeReplyObject(r);
  r = at(c, dst, 3, (const char *[]){"CLUSTER", "COUNTKEYSINSLOT", slot});
  ck_assert_int_eq(r->integer, 2);
  freeReplyObject(r);
  free(src_id);
  free(dst_id);
  rclient_free(c);
}
END_TEST

START_TEST(a_bad_seed_and_a_good_one) {
  /* The first seed is dead: the map comes from the second. */
  char dead[64];
  const char *p = rt_sh("start standalone @/b");
  snprintf(dead, sizeof dead, "127.0.0.1:%s", p);
  rt_sh("kill @/b %s", p);
  const char *nodes[] = {dead, seed, NULL};
  rclient_config cfg = {.mode = "cluster", .nodes = nodes};
  char *err = NULL;
  rclient *c = rclient_new(&cfg, &err);
  ck_assert_ptr_nonnull(c);
  redisReply *r = must(rclient_command(c, "x", 3, (const char *[]){"SET", "x", "1"}, NULL, &err),
                       err, "SET");
  freeReplyObject(r);
  rclient_free(c);
}
END_TEST

int main(void) {
  int skip = rt_init();
  if (skip) return skip;
  const char *out = rt_sh("start cluster @/a");
  if (sscanf(out, "%15s %15s %15s", ports[0], ports[1], ports[2]) != 3) {
    fprintf(stderr, "cluster ports: '%s'\n", out);
    return 1;
  }
  snprintf(seed, sizeof seed, "127.0.0.1:%s", ports[0]);
  Suite *s = suite_create("rclient-cluster");
  TCase *tc = tcase_create("cluster");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, slots_agree_with_the_server);
  tcase_add_test(tc, keys_spread_over_all_masters);
  tcase_add_test(tc, moved_and_ask_through_a_migration);
  tcase_add_test(tc, a_bad_seed_and_a_good_one);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
