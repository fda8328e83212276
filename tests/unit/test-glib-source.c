/* tests/unit/test-glib-source.c: <heavenbase/glib.h> as a GSource over the engine's fd
 * (core/api/glib-async.c): chats complete inside a GMainLoop with no library engine thread
 * (the process's threads are looked at while they run), started from the loop's thread or
 * from another; once they are done the engine is handed back (a plain async call runs on the
 * library's thread again); when the engine thread is busy with other calls, a GLib call
 * still completes in its context. Against the fake upstream. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <heavenbase/glib.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-test-glib-source-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"

typedef struct loop_state {
  GMainLoop *loop;
  GMainContext *ctx;
  GThread *loop_thread;
  int expected, done, ok, wrong_thread, wrong_reply, engine_threads;
} loop_state;

/* Threads of this process named like the library's engine thread. */
static int engine_threads(void) {
  static const char *const engine[] = {"hvb-engine", NULL};
  return tu_count_threads(engine, true);
}

static void done(hvb_call *call, void *ud) {
  loop_state *st = ud;
  if (g_thread_self() != st->loop_thread || !g_main_context_is_owner(st->ctx))
    st->wrong_thread++;
  if (hvb_call_status(call) == HVB_OK) {
    st->ok++;
    if (!g_str_has_prefix(hvb_result_text(hvb_call_result(call)), "echo: g "))
      st->wrong_reply++;
  }
  if (st->done % 50 == 0) st->engine_threads = MAX(st->engine_threads, engine_threads());
  if (++st->done == st->expected) g_main_loop_quit(st->loop);
}

static void loop_begin(loop_state *st, int expected) {
  memset(st, 0, sizeof *st);
  st->ctx = g_main_context_new();
  st->loop = g_main_loop_new(st->ctx, FALSE);
  st->loop_thread = g_thread_self();
  st->expected = expected;
}

static void loop_end(loop_state *st) {
  g_main_loop_unref(st->loop);
  g_main_context_unref(st->ctx);
}

static int count(void) {
  return getenv("HB_TEST_WRAPPER") && *getenv("HB_TEST_WRAPPER") ? 30 : 1000;
}

static void start(hvb_llm *llm, loop_state *st, int i) {
  char prompt[32];
  snprintf(prompt, sizeof prompt, "g %d", i);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_glib_chat_async(llm, prompt, NULL, NULL, st->ctx, NULL, done, st, &err),
                "%s", err.message);
}

/* After the source handed the engine back, a plain async call runs on the library thread. */
static void engine_is_back(hvb_llm *llm) {
  ck_assert_int_eq(hvb_engine_fd(), -1);
  hvb_call *c = hvb_llm_chat_async(llm, "plain", NULL, NULL, NULL, NULL, NULL, NULL);
  ck_assert(hvb_call_wait(c, 10000));
  ck_assert_int_eq(hvb_call_status(c), HVB_OK);
  hvb_call_free(c);
}

START_TEST(chats_complete_inside_a_main_loop_with_no_library_thread) {
  up_response r = {.echo = true, .repeat = true};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  int n = count();
  loop_state st;
  loop_begin(&st, n);
  g_main_context_push_thread_default(st.ctx);
  for (int i = 0; i < n; i++) start(llm, &st, i);
  ck_assert_int_eq(engine_threads(), 0); /* nothing runs until the loop does */
  g_main_loop_run(st.loop);
  g_main_context_pop_thread_default(st.ctx);
  ck_assert_int_eq(st.done, n);
  ck_assert_int_eq(st.ok, n);
  ck_assert_int_eq(st.wrong_reply, 0);
  ck_assert_int_eq(st.wrong_thread, 0);
  ck_assert_int_eq(st.engine_threads, 0);
  loop_end(&st);
  engine_is_back(llm);
  hvb_llm_free(llm);
}
END_TEST

typedef struct starter {
  hvb_llm *llm;
  loop_state *st;
} starter;

static void *start_from_afar(void *p) {
  starter *s = p;
  for (int i = 0; i < 20; i++) start(s->llm, s->st, i);
  return NULL;
}

/* Calls started on another thread run when the loop's thread iterates the context. */
START_TEST(calls_from_another_thread_run_in_the_loop) {
  up_response r = {.echo = true, .repeat = true};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  loop_state st;
  loop_begin(&st, 20);
  starter s = {llm, &st};
  g_thread_join(g_thread_new("starter", start_from_afar, &s));
  g_main_loop_run(st.loop);
  ck_assert_int_eq(st.ok, 20);
  ck_assert_int_eq(st.wrong_reply, 0);
  ck_assert_int_eq(st.wrong_thread, 0);
  ck_assert_int_eq(st.engine_threads, 0);
  loop_end(&st);
  /* The last completion came inside the source's turn: the engine goes back once the
   * context is iterated again. */
  for (int i = 0; i < 10 && hvb_engine_fd() != -1; i++) g_main_context_iteration(st.ctx, FALSE);
  engine_is_back(llm);
  hvb_llm_free(llm);
}
END_TEST

static void ignore_delta(hvb_call *call, json_object *delta, void *ud) {
  (void)call, (void)delta, (void)ud;
}

/* The engine thread runs another call: the GLib call runs there, and still completes in its
 * context's thread. */
START_TEST(a_busy_engine_thread_still_completes_in_the_context) {
  const char *chunk = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n";
  up_chunk cs[] = {{chunk, 0, 0},
                   {"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
                    "\n\ndata: [DONE]\n\n", 0, 800}};
  up_response slow = {.content_type = "text/event-stream", .chunks = cs, .nchunks = 2,
                      .chunked = true};
  up_push(tu_srv, CHAT_PATH, &slow);
  up_response r = {.echo = true, .repeat = true};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_call *busy = hvb_llm_chat_async(llm, "busy", NULL, NULL, NULL, ignore_delta, NULL, NULL);
  ck_assert(up_wait_requests(tu_srv, 1, 10000)); /* in flight on the engine thread */
  loop_state st;
  loop_begin(&st, 1);
  start(llm, &st, 0);
  g_main_loop_run(st.loop);
  ck_assert_int_eq(st.ok, 1);
  ck_assert_int_eq(st.wrong_reply, 0);
  ck_assert_int_eq(st.wrong_thread, 0);
  ck_assert(hvb_call_wait(busy, 10000));
  ck_assert_int_eq(hvb_call_status(busy), HVB_OK);
  hvb_call_free(busy);
  loop_end(&st);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("glib-source");
  TCase *up = tcase_create("upstream");
  tcase_set_timeout(up, 120);
  tcase_add_checked_fixture(up, tu_up_setup, tu_up_teardown);
  tcase_add_test(up, chats_complete_inside_a_main_loop_with_no_library_thread);
  tcase_add_test(up, calls_from_another_thread_run_in_the_loop);
  tcase_add_test(up, a_busy_engine_thread_still_completes_in_the_context);
  suite_add_tcase(s, up);
  return tu_run(s);
}
