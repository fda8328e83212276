/* tests/unit/test-fork.c: what a program sees across fork() ("fork()" in async.h).
 *
 * Each test forks a child that uses the library and reports through its exit status (0: all
 * good; otherwise the number of the check that failed, with a line on stderr): Check's
 * assertions belong to the process Check started, not to a grandchild. The child ends with
 * _exit so that it does not run the parent's atexit handlers (tu_tmpdir removes the
 * directories the parent still uses); under valgrind the child is traced too and its exit
 * status carries valgrind's verdict (definitely lost memory, errors).
 *
 * The fake upstream runs as threads of the test process: the child has none of them, but its
 * requests reach the parent's server over TCP, so the child must not call up_* functions
 * (their locks may have been copied held), only the library. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY "sk-test-fork-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"
#define FORK_ERROR "the call was started before fork(): it does not run in the child process"

/* How long a call may take before the test calls it a hang: a valgrind run (HB_TEST_WRAPPER)
 * on a loaded machine needs more than the 20 s a plain one never comes near. */
static long wait_ms(void) {
  const char *w = getenv("HB_TEST_WRAPPER");
  return w && *w ? 120000 : 20000;
}

/* Every request answered with "echo: <prompt>", after `delay_ms`. */
static void push_echo(int delay_ms) {
  up_chunk delay = {"", 0, delay_ms};
  up_response r = {.echo = true, .repeat = true, .chunks = &delay, .nchunks = 1};
  up_push(tu_srv, CHAT_PATH, &r);
}

/* ---- the child's side ---- */

#define CHILD_CHECK(n, cond, ...)                                                            \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "child check %d failed: %s: ", n, #cond);                              \
      fprintf(stderr, __VA_ARGS__);                                                          \
      fputc('\n', stderr);                                                                   \
      _exit(n);                                                                              \
    }                                                                                        \
  } while (0)

/* In the child: a sync chat gets its own reply. */
static void child_sync_chat(int n, hvb_llm *llm, const char *prompt) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, prompt, NULL, NULL, &err);
  CHILD_CHECK(n, r != NULL, "%s", err.message);
  char *want = g_strconcat("echo: ", prompt, NULL);
  CHILD_CHECK(n + 1, strcmp(hvb_result_text(r), want) == 0, "got '%s'", hvb_result_text(r));
  g_free(want);
  hvb_result_free(r);
}

/* In the child: `n` async chats started together each get their own reply. */
static void child_async_chats(int check, hvb_llm *llm, int n) {
  hvb_call *calls[8];
  char prompt[32];
  for (int i = 0; i < n; i++) {
    snprintf(prompt, sizeof prompt, "child %d", i);
    hvb_error err = HVB_ERROR_INIT;
    calls[i] = hvb_llm_chat_async(llm, prompt, NULL, NULL, NULL, NULL, NULL, &err);
    CHILD_CHECK(check, calls[i] != NULL, "%s", err.message);
  }
  for (int i = 0; i < n; i++) {
    CHILD_CHECK(check + 1, hvb_call_wait(calls[i], wait_ms()), "call %d did not end", i);
    const hvb_error *e = hvb_call_error(calls[i]);
    CHILD_CHECK(check + 2, hvb_call_status(calls[i]) == HVB_OK, "%s", e ? e->message : "?");
    snprintf(prompt, sizeof prompt, "echo: child %d", i);
    const char *got = hvb_result_text(hvb_call_result(calls[i]));
    CHILD_CHECK(check + 3, strcmp(got, prompt) == 0, "got '%s'", got);
    hvb_call_free(calls[i]);
  }
}

/* In the child: a handle inherited from the parent is over, with the documented error. */
static void child_inherited_is_over(int check, hvb_call *c) {
  CHILD_CHECK(check, hvb_call_is_over(c), "an inherited call is not over");
  CHILD_CHECK(check + 1, hvb_call_wait(c, 0), "waiting for an inherited call does not end");
  CHILD_CHECK(check + 2, hvb_call_status(c) == HVB_TRANSPORT, "status %d", hvb_call_status(c));
  const hvb_error *e = hvb_call_error(c);
  CHILD_CHECK(check + 3, e && strstr(e->message, FORK_ERROR), "message '%s'",
              e ? e->message : "(none)");
  CHILD_CHECK(check + 4, hvb_call_result(c) == NULL, "an inherited call has a result");
}

/* ---- the parent's side ---- */

/* fork, flushing first so buffered output is not written twice. */
static pid_t fork_flushed(void) {
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) alarm(60); /* a regression that hangs the child kills it */
  return pid;
}

static void on_alarm(int sig) {
  (void)sig;
}

/* Wait for the child with a time limit (a hang fails the test instead of the suite's
 * timeout); its exit status. */
static int wait_child(pid_t pid) {
  struct sigaction sa = {0}, old;
  sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR when the alarm fires */
  sigaction(SIGALRM, &sa, &old);
  alarm(90);
  int status = 0;
  pid_t got = waitpid(pid, &status, 0);
  alarm(0);
  sigaction(SIGALRM, &old, NULL);
  if (got != pid) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ck_abort_msg("the child did not end in time");
  }
  ck_assert_msg(WIFEXITED(status), "the child was killed by signal %d",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return WEXITSTATUS(status);
}

/* The child must have exited with status 0. */
static void child_succeeded(pid_t pid) {
  int st = wait_child(pid);
  ck_assert_msg(st == 0, "the child failed check %d (see stderr)", st);
}

/* As child_succeeded, but under valgrind (make check's HB_TEST_WRAPPER) the child's exit
 * status 1 is valgrind reporting memory that the parent's other threads were using at the
 * moment of fork() (a sync call's transfer on its stack, a libcurl buffer mid-read): the
 * child does not have those threads, so that memory is unreachable there. Not the
 * library's leak, and not avoidable by it: only checks of the child itself count then. */
static void child_succeeded_or_leaked(pid_t pid) {
  const char *wrapper = getenv("HB_TEST_WRAPPER");
  if (!wrapper || !*wrapper) {
    child_succeeded(pid);
    return;
  }
  int st = wait_child(pid);
  ck_assert_msg(st <= 1, "the child failed check %d (see stderr)", st);
}

static void parent_sync_chat(hvb_llm *llm, const char *prompt) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, prompt, NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  char *want = g_strconcat("echo: ", prompt, NULL);
  ck_assert_str_eq(hvb_result_text(r), want);
  g_free(want);
  hvb_result_free(r);
}

/* ---- tests ---- */

/* First in the suite: with CK_FORK=no (valgrind) the tests share one process, and this one
 * must run before any engine did. */
START_TEST(fork_before_any_engine_ran) {
  push_echo(0);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  pid_t pid = fork_flushed();
  if (pid == 0) {
    child_async_chats(10, llm, 2);
    child_sync_chat(20, llm, "child sync");
    hvb_llm_free(llm);
    _exit(0);
  }
  child_succeeded(pid);
  hvb_call *c = hvb_llm_chat_async(llm, "parent", NULL, NULL, NULL, NULL, NULL, NULL);
  ck_assert_ptr_nonnull(c);
  ck_assert(hvb_call_wait(c, wait_ms()));
  ck_assert_int_eq(hvb_call_status(c), HVB_OK);
  ck_assert_str_eq(hvb_result_text(hvb_call_result(c)), "echo: parent");
  hvb_call_free(c);
  hvb_llm_free(llm);
}
END_TEST

#define INFLIGHT 3

START_TEST(async_calls_in_flight_are_over_in_the_child_and_run_on_in_the_parent) {
  push_echo(800); /* the parent's calls are still waiting for their replies at the fork */
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_call *calls[INFLIGHT];
  char prompt[32];
  for (int i = 0; i < INFLIGHT; i++) {
    snprintf(prompt, sizeof prompt, "parent %d", i);
    calls[i] = hvb_llm_chat_async(llm, prompt, NULL, NULL, NULL, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(calls[i]);
  }
  ck_assert(up_wait_requests(tu_srv, INFLIGHT, 10000)); /* sent: truly in flight */
  /* Let the engine thread settle into its wait for the replies: memory another thread is
   * using at the moment of fork() (a libcurl buffer mid-read) is only on its stack, which
   * the child does not have, and valgrind would count it as lost. */
  g_usleep(200 * 1000);
  pid_t pid = fork_flushed();
  if (pid == 0) {
    for (int i = 0; i < INFLIGHT; i++) {
      child_inherited_is_over(10, calls[i]);
      hvb_call_free(calls[i]); /* must not hang */
    }
    child_async_chats(20, llm, 3);
    child_sync_chat(30, llm, "child sync");
    child_async_chats(40, llm, 1); /* the child's own engine starts again after stopping */
    hvb_llm_free(llm);
    _exit(0);
  }
  for (int i = 0; i < INFLIGHT; i++) {
    ck_assert(hvb_call_wait(calls[i], wait_ms()));
    const hvb_error *e = hvb_call_error(calls[i]);
    ck_assert_msg(hvb_call_status(calls[i]) == HVB_OK, "%s", e ? e->message : "?");
    snprintf(prompt, sizeof prompt, "echo: parent %d", i);
    ck_assert_str_eq(hvb_result_text(hvb_call_result(calls[i])), prompt);
    hvb_call_free(calls[i]);
  }
  child_succeeded(pid);
  parent_sync_chat(llm, "parent after");
  hvb_llm_free(llm);
}
END_TEST

START_TEST(the_child_never_reuses_a_pooled_connection_of_the_parent) {
  push_echo(0);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  parent_sync_chat(llm, "first");
  ck_assert_int_eq(up_connection_count(tu_srv), 1); /* kept alive in the pool */
  pid_t pid = fork_flushed();
  if (pid == 0) {
    child_sync_chat(10, llm, "child one");
    child_sync_chat(20, llm, "child two");
    hvb_llm_free(llm);
    _exit(0);
  }
  child_succeeded(pid);
  /* The child opened its own connection (one, reused for its second call). */
  ck_assert_int_eq(up_request_count(tu_srv), 3);
  ck_assert_int_eq(up_connection_count(tu_srv), 2);
  /* The parent's pooled connection is intact and still reused. */
  parent_sync_chat(llm, "second");
  ck_assert_int_eq(up_connection_count(tu_srv), 2);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_sync_stream_read_across_fork_ends_in_the_child) {
  /* A slow stream: the first event now, the rest later. */
  static const up_chunk cs[] = {
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"one \"},"
       "\"finish_reason\":null}]}\n\n", 0, 0},
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"two\"},"
       "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", 0, 800},
  };
  up_response r = {.content_type = "text/event-stream", .chunks = cs, .nchunks = 2,
                   .chunked = true};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_stream *s = hvb_llm_stream(llm, "count", NULL, NULL, &err);
  ck_assert_msg(s != NULL, "%s", err.message);
  json_object *d = NULL;
  ck_assert_msg(hvb_stream_next(s, &d, &err), "%s", err.message);
  ck_assert_ptr_nonnull(d);
  pid_t pid = fork_flushed();
  if (pid == 0) {
    /* The stream's connection is the parent's: reading it here would steal its bytes. */
    bool ok = true;
    while ((ok = hvb_stream_next(s, &d, &err)) && d) {}
    CHILD_CHECK(10, !ok, "the child read the parent's stream to its end");
    CHILD_CHECK(11, err.status == HVB_TRANSPORT && strstr(err.message, "before fork()"),
                "%s", err.message);
    hvb_error_clear(&err);
    hvb_stream_free(s); /* must not touch the parent's connection */
    hvb_llm_free(llm);
    _exit(0);
  }
  GString *text = g_string_new(NULL);
  bool ok;
  while ((ok = hvb_stream_next(s, &d, &err)) && d) {
    const char *t = json_object_get_string(json_object_object_get(d, "text"));
    if (t) g_string_append(text, t);
  }
  ck_assert_msg(ok, "%s", err.message);
  ck_assert_str_eq(text->str, "two"); /* all the parent's, nothing taken by the child */
  g_string_free(text, TRUE);
  hvb_stream_free(s);
  child_succeeded(pid);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(the_driving_thread_still_drives_in_the_child) {
  push_echo(500);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  hvb_call *c = hvb_llm_chat_async(llm, "driven", NULL, NULL, NULL, NULL, NULL, NULL);
  ck_assert_ptr_nonnull(c);
  while (up_request_count(tu_srv) < 1) ck_assert_int_ge(hvb_engine_step(50), 0);
  pid_t pid = fork_flushed();
  if (pid == 0) {
    child_inherited_is_over(10, c);
    hvb_call_free(c);
    CHILD_CHECK(20, hvb_engine_step(0) == 0, "the child is not the driver, or has calls");
    child_async_chats(30, llm, 2); /* hvb_call_wait drives: no engine thread */
    CHILD_CHECK(40, hvb_engine_drive_end(), "drive_end failed in the child");
    hvb_llm_free(llm);
    _exit(0);
  }
  ck_assert(hvb_call_wait(c, wait_ms()));
  ck_assert_int_eq(hvb_call_status(c), HVB_OK);
  ck_assert_str_eq(hvb_result_text(hvb_call_result(c)), "echo: driven");
  hvb_call_free(c);
  ck_assert(hvb_engine_drive_end());
  child_succeeded(pid);
  hvb_llm_free(llm);
}
END_TEST

/* ---- fork at any moment ---- */

/* GCC 12's AddressSanitizer does not hold its allocator's locks across fork(): a child
 * forked while another thread is inside malloc deadlocks in its own first malloc (seen:
 * the child's engine thread stuck in the sanitizer's allocator). The next test forks at
 * exactly such moments, so sanitizer builds leave it out; the other tests fork while the
 * other threads sleep. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

#define ROUNDS 12
#define BUSY 40

static void load_done(hvb_call *call, void *ud) {
  (void)call;
  g_atomic_int_inc((gint *)ud);
}

typedef struct sync_worker {
  hvb_llm *llm;
  gint stop;
  gint ok, failed;
} sync_worker;

static gpointer sync_loop(gpointer ud) {
  sync_worker *w = ud;
  while (!g_atomic_int_get(&w->stop)) {
    hvb_result *r = hvb_llm_chat(w->llm, "sync worker", NULL, NULL, NULL);
    if (r && strcmp(hvb_result_text(r), "echo: sync worker") == 0) g_atomic_int_inc(&w->ok);
    else g_atomic_int_inc(&w->failed);
    hvb_result_free(r);
  }
  return NULL;
}

/* Forks while the engine thread is busy (calls starting, replies arriving, callbacks
 * running) and another thread runs sync calls: no fork may deadlock, every child must be
 * able to use the library, and the parent's calls all complete. This is the test that
 * finds a lock the handlers do not take. */
START_TEST(fork_at_any_moment_under_load) {
  push_echo(5);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  sync_worker w = {.llm = llm};
  GThread *th = g_thread_new("sync-worker", sync_loop, &w);
  gint done = 0;
  int started = 0;
  for (int round = 0; round < ROUNDS; round++) {
    hvb_call *calls[BUSY];
    for (int i = 0; i < BUSY; i++, started++) {
      calls[i] = hvb_llm_chat_async(llm, "load", NULL, NULL, load_done, NULL, &done, NULL);
      ck_assert_ptr_nonnull(calls[i]);
    }
    g_usleep((gulong)(g_random_int_range(0, 20) * 1000));
    pid_t pid = fork_flushed();
    if (pid == 0) {
      for (int i = 0; i < BUSY; i++) {
        CHILD_CHECK(10, hvb_call_wait(calls[i], 0), "an inherited call is not over");
        hvb_call_free(calls[i]);
      }
      child_async_chats(20, llm, 2);
      child_sync_chat(30, llm, "child sync");
      hvb_llm_free(llm);
      _exit(0);
    }
    for (int i = 0; i < BUSY; i++) {
      ck_assert(hvb_call_wait(calls[i], wait_ms()));
      ck_assert_int_eq(hvb_call_status(calls[i]), HVB_OK);
      hvb_call_free(calls[i]);
    }
    child_succeeded_or_leaked(pid);
  }
  ck_assert_int_eq(g_atomic_int_get(&done), started);
  g_atomic_int_set(&w.stop, 1);
  g_thread_join(th);
  ck_assert_int_gt(g_atomic_int_get(&w.ok), 0);
  ck_assert_int_eq(g_atomic_int_get(&w.failed), 0);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fork");
  TCase *tc = tcase_create("fork");
  tcase_set_timeout(tc, 300);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, fork_before_any_engine_ran);
  tcase_add_test(tc, async_calls_in_flight_are_over_in_the_child_and_run_on_in_the_parent);
  tcase_add_test(tc, the_child_never_reuses_a_pooled_connection_of_the_parent);
  tcase_add_test(tc, a_sync_stream_read_across_fork_ends_in_the_child);
  tcase_add_test(tc, the_driving_thread_still_drives_in_the_child);
  if (!TEST_ASAN) tcase_add_test(tc, fork_at_any_moment_under_load);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
