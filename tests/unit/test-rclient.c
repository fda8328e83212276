/* rclient against a real standalone redis-server on loopback (tests/redis/redis.sh): commands,
 * AUTH (password and ACL user), SELECT, the pool under threads, pub/sub, the command timeout
 * against a slow server (DEBUG SLEEP), Redis down at start, and killed then restarted. */
#include "rclient.h"
#include "redis-test.h"

#include <check.h>
#include <pthread.h>
#include <sys/wait.h>

static char port[16];
static char addr[64];
static const char *nodes[2] = {addr, NULL};

static rclient *client_with(const char *user, const char *password, int db, int timeout_ms) {
  rclient_config cfg = {.nodes = nodes, .username = user, .password = password, .db = db,
                        .command_timeout_ms = timeout_ms};
  char *err = NULL;
  rclient *c = rclient_new(&cfg, &err);
  ck_assert_msg(c != NULL, "rclient_new: %s", err ? err : "?");
  return c;
}

static rclient *client(void) { return client_with(NULL, "s3cret", 0, 0); }

static redisReply *cmd(rclient *c, char **err, int argc, const char **argv) {
  return rclient_command(c, argv[1 < argc ? 1 : 0], argc, argv, NULL, err);
}

/* A command that must succeed; the reply is returned (free it). */
static redisReply *must(rclient *c, int argc, const char **argv) {
  char *err = NULL;
  redisReply *r = cmd(c, &err, argc, argv);
  ck_assert_msg(r != NULL, "%s failed: %s", argv[0], err ? err : "?");
  return r;
}

START_TEST(bad_configs) {
  const char *two[] = {"127.0.0.1:1", "127.0.0.1:2", NULL};
  const char *bad[] = {"localhost", NULL};
  const char *none[] = {NULL};
  struct { rclient_config cfg; const char *want; } cases[] = {
    {{.mode = "ring", .nodes = nodes}, "unknown mode 'ring'"},
    {{.nodes = none}, "no nodes"},
    {{.nodes = bad}, "bad node address 'localhost'"},
    {{.nodes = two}, "standalone mode takes one node"},
    {{.mode = "sentinel", .nodes = two}, "needs master_name"},
    {{.mode = "cluster", .nodes = two, .db = 2}, "database 0 only"},
    {{.nodes = nodes, .username = "u"}, "username needs a password"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *err = NULL;
    rclient *c = rclient_new(&cases[i].cfg, &err);
    ck_assert_ptr_null(c);
    ck_assert_msg(err && strstr(err, cases[i].want), "case %zu: %s", i, err ? err : "(no error)");
    free(err);
  }
}
END_TEST

START_TEST(set_get_binary_and_errors) {
  rclient *c = client();
  ck_assert(!rclient_up(c)); /* lazy: nothing tried yet */
  const char *set[] = {"SET", "bin", "a\0b\r\nc"};
  size_t setlen[] = {3, 3, 7};
  char *err = NULL;
  redisReply *r = rclient_command(c, "bin", 3, set, setlen, &err);
  ck_assert_msg(r && r->type == REDIS_REPLY_STATUS, "%s", err ? err : "?");
  freeReplyObject(r);
  ck_assert(rclient_up(c));
  r = must(c, 2, (const char *[]){"GET", "bin"});
  ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
  ck_assert_uint_eq(r->len, 7);
  ck_assert_mem_eq(r->str, "a\0b\r\nc", 7);
  freeReplyObject(r);
  /* A Redis error is a reply, not a failure: the server is up. */
  r = must(c, 2, (const char *[]){"INCR", "bin"});
  ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
  ck_assert_str_eq(r->str, "ERR value is not an integer or out of range");
  freeReplyObject(r);
  ck_assert(rclient_up(c));
  rclient_free(c);
}
END_TEST

START_TEST(auth_password_user_and_refusals) {
  char *err = NULL;
  rclient *wrong = client_with(NULL, "not-the-password", 0, 0);
  ck_assert_ptr_null(cmd(wrong, &err, 1, (const char *[]){"PING"}));
  ck_assert_msg(err && strstr(err, "AUTH refused"), "%s", err ? err : "?");
  ck_assert_msg(!strstr(err, "not-the-password"), "the password leaked: %s", err);
  ck_assert(!rclient_up(wrong));
  free(err);
  rclient_free(wrong);

  rclient *alice = client_with("alice", "alice-pw", 0, 0);
  redisReply *r = must(alice, 2, (const char *[]){"ACL", "WHOAMI"});
  ck_assert_str_eq(r->str, "alice");
  freeReplyObject(r);
  rclient_free(alice);

  /* No password at all: the connection works, the server refuses the command. */
  rclient *anon = client_with(NULL, NULL, 0, 0);
  r = must(anon, 1, (const char *[]){"PING"});
  ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
  ck_assert_msg(strncmp(r->str, "NOAUTH", 6) == 0, "%s", r->str);
  freeReplyObject(r);
  rclient_free(anon);
}
END_TEST

START_TEST(select_db) {
  rclient *db3 = client_with(NULL, "s3cret", 3, 0), *db0 = client();
  freeReplyObject(must(db3, 3, (const char *[]){"SET", "only-in-3", "x"}));
  redisReply *r = must(db0, 2, (const char *[]){"GET", "only-in-3"});
  ck_assert_int_eq(r->type, REDIS_REPLY_NIL);
  freeReplyObject(r);
  r = must(db3, 2, (const char *[]){"GET", "only-in-3"});
  ck_assert_str_eq(r->str, "x");
  freeReplyObject(r);
  rclient_free(db3);
  rclient_free(db0);
}
END_TEST

typedef struct {
  rclient *c;
  int n, failures;
} incr_job;

static void *incr_thread(void *arg) {
  incr_job *j = arg;
  for (int i = 0; i < j->n; i++) {
    char *err = NULL;
    redisReply *r = rclient_command(j->c, "counter", 2, (const char *[]){"INCR", "counter"},
                                    NULL, &err);
    if (!r || r->type != REDIS_REPLY_INTEGER) j->failures++;
    if (r) freeReplyObject(r);
    free(err);
  }
  return NULL;
}

static long long connected_clients(rclient *c) {
  redisReply *r = must(c, 2, (const char *[]){"INFO", "clients"});
  const char *p = strstr(r->str, "connected_clients:");
  long long n = p ? atoll(p + strlen("connected_clients:")) : -1;
  freeReplyObject(r);
  return n;
}

START_TEST(pool_under_threads) {
  rclient *c = client();
  freeReplyObject(must(c, 2, (const char *[]){"DEL", "counter"}));
  enum { THREADS = 8 };
  int per = rt_slow() ? 20 : 250;
  pthread_t t[THREADS];
  incr_job jobs[THREADS];
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (incr_job){c, per, 0};
    pthread_create(&t[i], NULL, incr_thread, &jobs[i]);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    ck_assert_int_eq(jobs[i].failures, 0);
  }
  redisReply *r = must(c, 2, (const char *[]){"GET", "counter"});
  ck_assert_int_eq(atoi(r->str), THREADS * per);
  freeReplyObject(r);
  /* Only pool_size (4) connections are kept; the extra ones the burst opened are closed (the
     server may take a moment to see them go). */
  long long n = 0;
  for (int i = 0; i < 100 && (n = connected_clients(c)) > 4; i++) usleep(20000);
  ck_assert_int_le(n, 4);
  rclient_free(c);
}
END_TEST

START_TEST(pubsub) {
  rclient *c = client();
  char *err = NULL;
  rclient_sub *s = rclient_subscribe(c, "hb:done", &err);
  ck_assert_msg(s != NULL, "%s", err ? err : "?");
  ck_assert_int_eq(rclient_sub_wait(s, 100, &err), 0); /* nothing published yet */
  redisReply *r = must(c, 3, (const char *[]){"PUBLISH", "hb:done", "1"});
  ck_assert_int_eq(r->integer, 1); /* one subscriber: ours */
  freeReplyObject(r);
  ck_assert_int_eq(rclient_sub_wait(s, 5000, &err), 1);
  ck_assert_int_eq(rclient_sub_wait(s, 50, &err), 0);
  rclient_sub_free(s);
  rclient_free(c);
}
END_TEST

static void *debug_sleep(void *arg) {
  rclient *slow = client_with(NULL, "s3cret", 0, 10000);
  char *err = NULL;
  redisReply *r = rclient_command(slow, NULL, 3, (const char *[]){"DEBUG", "SLEEP", arg}, NULL, &err);
  if (r) freeReplyObject(r);
  free(err);
  rclient_free(slow);
  return NULL;
}

START_TEST(slow_server_bounded_by_the_command_timeout) {
  rclient *c = client_with(NULL, "s3cret", 0, 300);
  freeReplyObject(must(c, 1, (const char *[]){"PING"})); /* a pooled connection */
  pthread_t t;
  static char secs[2];
  secs[0] = rt_slow() ? '6' : '2';
  pthread_create(&t, NULL, debug_sleep, secs);
  usleep(rt_slow() ? 1500000 : 300000); /* the DEBUG SLEEP is running */
  char *err = NULL;
  int64_t t0 = rt_now_ms();
  redisReply *r = cmd(c, &err, 2, (const char *[]){"GET", "k"});
  int64_t took = rt_now_ms() - t0;
  ck_assert_ptr_null(r);
  ck_assert_msg(err && strstr(err, "timed out"), "%s", err ? err : "?");
  ck_assert_msg(took < 1500, "the 300 ms timeout took %lld ms", (long long)took);
  ck_assert(!rclient_up(c));
  free(err);
  pthread_join(t, NULL);
  r = must(c, 2, (const char *[]){"GET", "k"}); /* the timed-out connection was not reused */
  ck_assert_int_eq(r->type, REDIS_REPLY_NIL);
  freeReplyObject(r);
  ck_assert(rclient_up(c));
  rclient_free(c);
}
END_TEST

static long long client_id(rclient *c) {
  redisReply *r = must(c, 2, (const char *[]){"CLIENT", "ID"});
  long long id = r->integer;
  freeReplyObject(r);
  return id;
}

START_TEST(fork_child_connects_anew) {
  rclient *c = client_with(NULL, "s3cret", 0, 0);
  long long parent_id = client_id(c); /* the one pooled connection */
  int pipefd[2];
  ck_assert_int_eq(pipe(pipefd), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) { /* no Check assertions here: the child reports through the pipe */
    char *err = NULL;
    redisReply *r = rclient_command(c, NULL, 2, (const char *[]){"CLIENT", "ID"}, NULL, &err);
    long long id = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    free(err);
    rclient_free(c); /* a leak checker watches the child too */
    _exit(write(pipefd[1], &id, sizeof id) == (ssize_t)sizeof id ? 0 : 2);
  }
  long long child_id = -2;
  ck_assert_int_eq(read(pipefd[0], &child_id, sizeof child_id), (ssize_t)sizeof child_id);
  int status = -1;
  waitpid(pid, &status, 0);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (%d)", status);
  close(pipefd[0]);
  close(pipefd[1]);
  ck_assert_msg(child_id > 0, "the child's command failed");
  ck_assert_msg(child_id != parent_id, "the child used its parent's connection %lld", parent_id);
  ck_assert_int_eq(client_id(c), parent_id); /* the parent's is intact and still pooled */
  rclient_free(c);
}
END_TEST

START_TEST(down_at_start) {
  /* A port nobody listens on: a stopped server's. */
  const char *p = rt_sh("start standalone @/b");
  char gone[64];
  snprintf(gone, sizeof gone, "127.0.0.1:%s", p);
  rt_sh("kill @/b %s", p);
  const char *n[] = {gone, NULL};
  rclient_config cfg = {.nodes = n};
  char *err = NULL;
  rclient *c = rclient_new(&cfg, &err);
  ck_assert_ptr_nonnull(c); /* lazy: not an error here */
  int64_t t0 = rt_now_ms();
  for (int i = 0; i < 50; i++) {
    ck_assert_ptr_null(cmd(c, &err, 1, (const char *[]){"PING"}));
    ck_assert_msg(err && strstr(err, gone), "%s", err ? err : "?");
    free(err);
    err = NULL;
  }
  ck_assert_msg(rt_now_ms() - t0 < 5000, "50 failing commands took %lld ms",
                (long long)(rt_now_ms() - t0));
  ck_assert(!rclient_up(c));
  rclient_free(c);
}
END_TEST

START_TEST(killed_then_restarted) {
  rclient *c = client();
  freeReplyObject(must(c, 3, (const char *[]){"SET", "k", "v"}));
  rt_sh("kill @/a %s", port);
  char *err = NULL;
  int64_t t0 = rt_now_ms();
  for (int i = 0; i < 20; i++) { /* fail fast, with the reason */
    ck_assert_ptr_null(cmd(c, &err, 2, (const char *[]){"GET", "k"}));
    ck_assert_msg(err && strstr(err, addr), "%s", err ? err : "?");
    free(err);
    err = NULL;
  }
  ck_assert_msg(rt_now_ms() - t0 < 5000, "20 commands on a dead server took %lld ms",
                (long long)(rt_now_ms() - t0));
  ck_assert(!rclient_up(c));
  rt_sh("restart @/a %s", port);
  redisReply *r = NULL;
  for (int i = 0; i < 200 && !r; i++) { /* the backoff is at most 2 s */
    r = cmd(c, &err, 1, (const char *[]){"PING"});
    free(err);
    err = NULL;
    if (!r) usleep(50000);
  }
  ck_assert_msg(r != NULL, "no success within 10 s of the restart");
  ck_assert_str_eq(r->str, "PONG");
  freeReplyObject(r);
  ck_assert(rclient_up(c));
  rclient_free(c);
}
END_TEST

/* ---- TLS (mutual: the server asks for a client certificate) ---- */
static char tls_addr[64], certs[512], other_certs[512];
static const char *tls_nodes[2] = {tls_addr, NULL};

static rclient *tls_client(const char *dir, const char *server_name, char **err) {
  char ca[600], cert[600], key[600];
  snprintf(ca, sizeof ca, "%s/ca.crt", dir);
  snprintf(cert, sizeof cert, "%s/client.crt", certs);
  snprintf(key, sizeof key, "%s/client.key", certs);
  rclient_config cfg = {.nodes = tls_nodes, .password = "s3cret", .tls = true, .tls_ca_file = ca,
                        .tls_cert_file = cert, .tls_key_file = key, .tls_server_name = server_name};
  return rclient_new(&cfg, err);
}

static long long info_field(rclient *c, const char *section, const char *field) {
  redisReply *r = must(c, 2, (const char *[]){"INFO", section});
  const char *p = strstr(r->str, field);
  long long n = p ? atoll(p + strlen(field) + 1) : -1;
  freeReplyObject(r);
  return n;
}

START_TEST(tls_commands_pool_and_pubsub) {
  char *err = NULL;
  rclient *c = tls_client(certs, NULL, &err);
  ck_assert_msg(c != NULL, "%s", err ? err : "?");
  long long before = info_field(c, "stats", "total_connections_received");
  for (int i = 0; i < 50; i++) {
    char v[16];
    snprintf(v, sizeof v, "%d", i);
    freeReplyObject(must(c, 3, (const char *[]){"SET", "tls-k", v}));
    redisReply *r = must(c, 2, (const char *[]){"GET", "tls-k"});
    ck_assert_str_eq(r->str, v);
    freeReplyObject(r);
  }
  /* 100 sequential commands, one pooled TLS connection: no new connection was made. */
  ck_assert_int_eq(info_field(c, "stats", "total_connections_received"), before);
  rclient_sub *s = rclient_subscribe(c, "tls-chan", &err);
  ck_assert_msg(s != NULL, "%s", err ? err : "?");
  freeReplyObject(must(c, 3, (const char *[]){"PUBLISH", "tls-chan", "x"}));
  ck_assert_int_eq(rclient_sub_wait(s, 5000, &err), 1);
  rclient_sub_free(s);
  rclient_free(c);
}
END_TEST

START_TEST(tls_refusals) {
  char *err = NULL;
  rclient *c = tls_client(other_certs, NULL, &err); /* a CA that did not sign the server's */
  ck_assert_ptr_nonnull(c);
  ck_assert_ptr_null(cmd(c, &err, 1, (const char *[]){"PING"}));
  ck_assert_msg(err && strstr(err, "certificate verification failed"), "%s", err ? err : "?");
  ck_assert(!rclient_up(c));
  free(err);
  err = NULL;
  rclient_free(c);
  c = tls_client(certs, "wrong.example", &err); /* the right CA, the wrong name */
  ck_assert_ptr_null(cmd(c, &err, 1, (const char *[]){"PING"}));
  ck_assert_msg(err && strstr(err, "certificate verification failed"), "%s", err ? err : "?");
  free(err);
  err = NULL;
  rclient_free(c);
  c = tls_client(certs, "localhost", &err); /* a name the certificate has */
  freeReplyObject(must(c, 1, (const char *[]){"PING"}));
  rclient_free(c);
  c = tls_client("/nonexistent", NULL, &err);
  ck_assert_ptr_null(c);
  ck_assert_msg(err && strstr(err, "/nonexistent/ca.crt"), "%s", err ? err : "?");
  free(err);
}
END_TEST

/* Certificates and a TLS-only server; 0 when openssl (a test dependency) is missing. */
static int start_tls(void) {
  if (system("command -v openssl >/dev/null 2>&1") != 0) {
    fprintf(stderr, "openssl is not installed (Debian: apt-get install openssl)\n");
    return 0;
  }
  snprintf(certs, sizeof certs, "%s", rt_sh("tls-certs @/c/certs"));
  snprintf(other_certs, sizeof other_certs, "%s", rt_sh("tls-certs @/c/other"));
  const char *p = rt_sh("start standalone @/c --port 0 --tls-port @PORT@ --requirepass s3cret "
                        "--tls-cert-file %s/server.crt --tls-key-file %s/server.key "
                        "--tls-ca-cert-file %s/ca.crt", certs, certs, certs);
  snprintf(tls_addr, sizeof tls_addr, "127.0.0.1:%s", p);
  return 1;
}

static bool tls_built(void) {
  const char *n[] = {"127.0.0.1:1", NULL};
  rclient_config cfg = {.nodes = n, .tls = true};
  char *err = NULL;
  rclient *c = rclient_new(&cfg, &err);
  bool built = c || !err || !strstr(err, "this build has none");
  rclient_free(c);
  free(err);
  return built;
}

int main(void) {
  int skip = rt_init();
  if (skip) return skip;
  snprintf(port, sizeof port, "%s",
           rt_sh("start standalone @/a --requirepass s3cret --enable-debug-command yes "
                 "--user alice on '>alice-pw' '~*' '&*' '+@all'"));
  snprintf(addr, sizeof addr, "127.0.0.1:%s", port);
  Suite *s = suite_create("rclient");
  TCase *tc = tcase_create("standalone");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, bad_configs);
  tcase_add_test(tc, set_get_binary_and_errors);
  tcase_add_test(tc, auth_password_user_and_refusals);
  tcase_add_test(tc, select_db);
  tcase_add_test(tc, pool_under_threads);
  tcase_add_test(tc, pubsub);
  tcase_add_test(tc, slow_server_bounded_by_the_command_timeout);
  tcase_add_test(tc, fork_child_connects_anew);
  tcase_add_test(tc, down_at_start);
  tcase_add_test(tc, killed_then_restarted);
  suite_add_tcase(s, tc);
  if (tls_built()) {
    if (!start_tls()) return 1;
    TCase *tls = tcase_create("tls");
    tcase_set_timeout(tls, 60);
    tcase_add_test(tls, tls_commands_pool_and_pubsub);
    tcase_add_test(tls, tls_refusals);
    suite_add_tcase(s, tls);
  } else {
    fprintf(stderr, "TLS not tested: this build has none (configure found no OpenSSL)\n");
  }
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
