/* tests/unit/test-engine-loop.c: the engine on the caller's own loop (hvb_engine_fd,
 * hvb_engine_timeout, hvb_engine_dispatch in include/heavenbase/async.h), against the fake
 * upstream: a plain poll() loop of the test's runs every call, with no library thread; the
 * timeout query is what wakes the loop for a retry's backoff and an idle timeout (the fd
 * stays quiet then); another thread's new call wakes the loop through the fd. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-test-engine-loop-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"

typedef struct seen {
  int done;
  hvb_status status;
  char reply[128];
  GThread *thread; /* where on_done ran */
} seen;

static void on_done(hvb_call *call, void *ud) {
  seen *s = ud;
  s->status = hvb_call_status(call);
  const hvb_result *r = hvb_call_result(call);
  if (r) g_strlcpy(s->reply, hvb_result_text(r), sizeof s->reply);
  s->thread = g_thread_self();
  s->done++;
}

static void on_delta(hvb_call *call, json_object *delta, void *ud) {
  (void)call, (void)delta, (void)ud;
}

/* Threads of this process named like the library's engine thread. */
static int engine_threads(void) {
  static const char *const engine[] = {"hvb-engine", NULL};
  return tu_count_threads(engine, true);
}

/* The caller's loop: poll the engine's fd with the engine's timeout, dispatch, until no call
 * is left. A poll that times out when the engine said it needed no timer would hang a real
 * loop: that fails the test (after 10 s rather than never). Returns the turns. */
static int run_loop(int fd, int *max_engine_threads) {
  int turns = 0, left;
  do {
    int timeout = hvb_engine_timeout();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout < 0 ? 10000 : timeout);
    ck_assert_msg(n > 0 || timeout >= 0, "the loop slept 10 s: the engine asked for no timer");
    if (max_engine_threads) *max_engine_threads = MAX(*max_engine_threads, engine_threads());
    left = hvb_engine_dispatch(fd, p.revents);
    ck_assert_int_ge(left, 0);
    turns++;
  } while (left > 0);
  return turns;
}

static void *other_thread_fd(void *unused) {
  (void)unused;
  return GINT_TO_POINTER(hvb_engine_fd() == -1 && hvb_engine_dispatch(-1, 0) == -1);
}

START_TEST(chats_run_on_the_callers_poll_loop_with_no_library_thread) {
  up_response r = {.echo = true, .repeat = true};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  ck_assert_int_eq(hvb_engine_fd(), -1); /* not the driver yet */
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  int fd = hvb_engine_fd();
  ck_assert_int_ge(fd, 0);
  GThread *t = g_thread_new("other", other_thread_fd, NULL);
  ck_assert(g_thread_join(t)); /* another thread gets no fd and cannot dispatch */
  ck_assert_int_eq(hvb_engine_dispatch(fd + 1000, POLLIN), -1); /* not the engine's fd */

  /* Fewer under valgrind; the same assertions. */
  int n = getenv("HB_TEST_WRAPPER") && *getenv("HB_TEST_WRAPPER") ? 30 : 300;
  seen *s = g_new0(seen, n);
  hvb_call **calls = g_new0(hvb_call *, n);
  for (int i = 0; i < n; i++) {
    char prompt[32];
    snprintf(prompt, sizeof prompt, "loop %d", i);
    calls[i] = hvb_llm_chat_async(llm, prompt, NULL, NULL, on_done, i % 2 ? on_delta : NULL,
                                  &s[i], &err);
    ck_assert_msg(calls[i] != NULL, "%s", err.message);
  }
  int most = 0;
  gint64 t0 = g_get_monotonic_time();
  ck_assert_int_gt(run_loop(fd, &most), 0);
  /* 50 times what it takes, valgrind included: a reply left unwatched until a timer fires
   * (a socket taken out of the epoll set while in use) makes it take tens of seconds. */
  gint64 ms = (g_get_monotonic_time() - t0) / 1000;
  ck_assert_msg(ms < 10000, "%d calls took %lld ms: replies waited for timers", n, (long long)ms);
  ck_assert_int_eq(most, 0); /* no library thread ran the engine */
  for (int i = 0; i < n; i++) {
    char want[48];
    snprintf(want, sizeof want, "echo: loop %d", i);
    ck_assert_int_eq(s[i].done, 1);
    ck_assert_int_eq(s[i].status, HVB_OK);
    ck_assert_str_eq(s[i].reply, want);
    ck_assert_ptr_eq(s[i].thread, g_thread_self());
    hvb_call_free(calls[i]);
  }
  ck_assert_int_eq(hvb_engine_fd(), fd); /* the same fd for the whole drive */
  ck_assert(hvb_engine_drive_end());
  ck_assert_int_eq(hvb_engine_fd(), -1);
  ck_assert_int_eq(hvb_engine_timeout(), -1);
  g_free(calls);
  g_free(s);
  hvb_llm_free(llm);
}
END_TEST

/* Calls one after another, each on the connection the previous one left (keep-alive), or on
 * a new one when the previous reply said "Connection: close". Either way the socket leaves
 * libcurl's interest at the end of a call while the engine defers its removal from the epoll
 * set by a turn (engine-loop.c): a kept connection comes back before that, and a closed one
 * left the set with its close, its fd number most often given to the next call's socket.
 * Every call must still be watched: a reply read only when some timer happens to fire makes
 * the sequence take seconds instead of milliseconds (the bound below is 50 times what it
 * takes, valgrind included). */
static void one_after_another(hvb_llm *llm, int fd, int n, const char *tag) {
  hvb_error err = HVB_ERROR_INIT;
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < n; i++) {
    seen s = {0};
    char prompt[32], want[48];
    snprintf(prompt, sizeof prompt, "%s %d", tag, i);
    hvb_call *c = hvb_llm_chat_async(llm, prompt, NULL, NULL, on_done, NULL, &s, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    run_loop(fd, NULL);
    snprintf(want, sizeof want, "echo: %s %d", tag, i);
    ck_assert_int_eq(s.done, 1);
    ck_assert_int_eq(s.status, HVB_OK);
    ck_assert_str_eq(s.reply, want);
    hvb_call_free(c);
  }
  gint64 ms = (g_get_monotonic_time() - t0) / 1000;
  ck_assert_msg(ms < 10000, "%d %s calls took %lld ms: a reply waited for a timer", n, tag,
                (long long)ms);
}

START_TEST(sockets_leaving_and_coming_back_while_their_removal_waits) {
  int n = getenv("HB_TEST_WRAPPER") && *getenv("HB_TEST_WRAPPER") ? 10 : 50;
  up_response kept = {.echo = true, .repeat = true};
  up_push(tu_srv, "/keep/v1/chat/completions", &kept);
  up_response closed = {.echo = true, .repeat = true, .headers = "Connection: close\r\n"};
  up_push(tu_srv, "/close/v1/chat/completions", &closed);
  char *keep_at = g_strdup_printf("{\"base_url\": \"%s/keep/v1\"}", up_base_url(tu_srv));
  char *close_at = g_strdup_printf("{\"base_url\": \"%s/close/v1\"}", up_base_url(tu_srv));
  hvb_llm *keep = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, keep_at);
  hvb_llm *close = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, close_at);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  int fd = hvb_engine_fd();
  one_after_another(keep, fd, n, "kept");
  ck_assert_int_eq(up_connection_count(tu_srv), 1);
  one_after_another(close, fd, n, "closed");
  ck_assert_int_eq(up_connection_count(tu_srv), 1 + n); /* each had its own connection */
  ck_assert(hvb_engine_drive_end());
  hvb_llm_free(keep);
  hvb_llm_free(close);
  g_free(keep_at);
  g_free(close_at);
}
END_TEST

/* The fd is quiet while a retry waits out its backoff and while a stream stalls: only the
 * timeout query brings the loop back in time. */
START_TEST(the_timeout_query_drives_retries_and_idle_timeouts) {
  up_push_body(tu_srv, CHAT_PATH, 500, NULL, "{\"error\":{\"message\":\"boom\"}}");
  up_response r = {.echo = true};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, "{\"max_retries\": 1}");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  int fd = hvb_engine_fd();
  seen s = {0};
  hvb_call *c = hvb_llm_chat_async(llm, "again", NULL, NULL, on_done, NULL, &s, &err);
  ck_assert_ptr_nonnull(c);
  run_loop(fd, NULL);
  ck_assert_int_eq(s.status, HVB_OK);
  ck_assert_str_eq(s.reply, "echo: again");
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_call_free(c);
  hvb_llm_free(llm);

  const char *chunk = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
  up_chunk cs[] = {{chunk, 0, 0}};
  up_response stall = {.content_type = "text/event-stream", .chunks = cs, .nchunks = 1,
                       .chunked = true, .stall_ms = 5000};
  up_push(tu_srv, CHAT_PATH, &stall);
  llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, "{\"idle_timeout\": 0.3}");
  seen st = {0};
  c = hvb_llm_chat_async(llm, "stall", NULL, NULL, on_done, on_delta, &st, &err);
  ck_assert_ptr_nonnull(c);
  gint64 t0 = g_get_monotonic_time();
  run_loop(fd, NULL);
  ck_assert_int_eq(st.done, 1);
  ck_assert_int_eq(st.status, HVB_TIMEOUT);
  ck_assert_int_lt(g_get_monotonic_time() - t0, 4 * G_USEC_PER_SEC); /* not the stall's end */
  hvb_call_free(c);
  ck_assert(hvb_engine_drive_end());
  hvb_llm_free(llm);
}
END_TEST

typedef struct starter {
  hvb_llm *llm;
  seen s;
  hvb_call *call;
} starter;

static void *start_later(void *p) {
  starter *st = p;
  g_usleep(200 * 1000); /* the driver is in its poll by then */
  st->call = hvb_llm_chat_async(st->llm, "from afar", NULL, NULL, on_done, NULL, &st->s, NULL);
  return NULL;
}

/* A call started on another thread wakes the caller's poll through the engine's fd. */
START_TEST(a_call_from_another_thread_makes_the_fd_readable) {
  up_response r = {.echo = true, .repeat = true};
  up_push(tu_srv, CHAT_PATH, &r);
  starter st = {.llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL)};
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  int fd = hvb_engine_fd();
  ck_assert_int_eq(hvb_engine_timeout(), -1); /* nothing to do: wait for the fd */
  GThread *t = g_thread_new("starter", start_later, &st);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  ck_assert_int_eq(poll(&p, 1, 10000), 1);
  g_thread_join(t);
  ck_assert_ptr_nonnull(st.call);
  while (!st.s.done) {
    int timeout = hvb_engine_timeout();
    p.revents = 0;
    ck_assert(poll(&p, 1, timeout < 0 ? 10000 : timeout) > 0 || timeout >= 0);
    ck_assert_int_ge(hvb_engine_dispatch(fd, p.revents), 0);
  }
  ck_assert_str_eq(st.s.reply, "echo: from afar");
  ck_assert_ptr_eq(st.s.thread, g_thread_self());
  hvb_call_free(st.call);
  ck_assert(hvb_engine_drive_end());
  hvb_llm_free(st.llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("engine-loop");
  TCase *up = tcase_create("upstream");
  tcase_set_timeout(up, 120);
  tcase_add_checked_fixture(up, tu_up_setup, tu_up_teardown);
  tcase_add_test(up, chats_run_on_the_callers_poll_loop_with_no_library_thread);
  tcase_add_test(up, the_timeout_query_drives_retries_and_idle_timeouts);
  tcase_add_test(up, a_call_from_another_thread_makes_the_fd_readable);
  tcase_add_test(up, sockets_leaving_and_coming_back_while_their_removal_waits);
  suite_add_tcase(s, up);
  return tu_run(s);
}
