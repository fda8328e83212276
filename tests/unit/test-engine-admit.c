/* tests/unit/test-engine-admit.c: calls beyond the engine's connections per host
 * (HVB_ASYNC_MAX_HOST_CONNECTIONS) wait in the engine's own queue (core/net/engine-admit.c),
 * against the fake upstream: with every connection held by a slow reply, a waiting call's
 * total timeout still ends it on time, a cancelled one ends at once, and neither is ever sent;
 * the next one starts as soon as a connection is free and gets its own reply. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-test-engine-admit-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"
#define LIMIT HVB_ASYNC_MAX_HOST_CONNECTIONS

typedef struct seen {
  gint done;
  hvb_status status;
  char reply[128];
  char message[512];
  gint slow_done_then; /* slow calls over when this one's on_done ran */
} seen;

static gint slow_done;

static void on_slow_done(hvb_call *call, void *ud) {
  (void)ud;
  if (hvb_call_status(call) == HVB_OK) g_atomic_int_inc(&slow_done);
}

static void on_done(hvb_call *call, void *ud) {
  seen *s = ud;
  s->status = hvb_call_status(call);
  const hvb_result *r = hvb_call_result(call);
  if (r) g_strlcpy(s->reply, hvb_result_text(r), sizeof s->reply);
  const hvb_error *e = hvb_call_error(call);
  if (e) g_strlcpy(s->message, e->message, sizeof s->message);
  s->slow_done_then = g_atomic_int_get(&slow_done);
  g_atomic_int_inc(&s->done);
}

static hvb_call *start(hvb_llm *llm, const char *prompt, hvb_call_done_fn fn, void *ud) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *c = hvb_llm_chat_async(llm, prompt, NULL, NULL, fn, NULL, ud, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  return c;
}

START_TEST(calls_beyond_the_connections_per_host_wait_keep_their_deadline_and_cancel) {
  /* Long enough that no slow reply ends while the waiting calls are looked at, even when
   * starting LIMIT calls under valgrind takes seconds. */
  const char *wrapper = getenv("HB_TEST_WRAPPER");
  int slow_ms = wrapper && *wrapper ? 8000 : 4000;
  up_chunk body = {"{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
                   "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                   "\"slow\"},\"finish_reason\":\"stop\"}]}",
                   0, slow_ms};
  up_response slow = {.chunks = &body, .nchunks = 1};
  for (int i = 0; i < LIMIT; i++) up_push(tu_srv, CHAT_PATH, &slow);
  up_response echo = {.echo = true, .repeat = true};
  up_push(tu_srv, CHAT_PATH, &echo);

  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, "{\"max_retries\": 0}");
  hvb_call **held = g_new0(hvb_call *, LIMIT);
  for (int i = 0; i < LIMIT; i++) held[i] = start(llm, "hold", on_slow_done, NULL);
  /* Every connection carries a request now. */
  for (int i = 0; i < 30000 && up_request_count(tu_srv) < LIMIT; i++) g_usleep(1000);
  ck_assert_int_eq(up_request_count(tu_srv), LIMIT);

  seen late = {0}, cancelled = {0}, next = {0};
  /* Another LLM, the same origin: the same queue. */
  hvb_llm *quick = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, "{\"timeout\": 0.3}");
  hvb_call *timed = start(quick, "late", on_done, &late);
  hvb_call *gone = start(llm, "gone", on_done, &cancelled);
  hvb_call *waits = start(llm, "next", on_done, &next);

  /* The queue keeps the call's total timeout: it ends on time, not when a connection frees. */
  ck_assert(hvb_call_wait(timed, 20000));
  ck_assert_int_eq(late.status, HVB_TIMEOUT);
  ck_assert_msg(strstr(late.message, "total timeout") != NULL, "%s", late.message);
  ck_assert_int_eq(late.slow_done_then, 0);

  hvb_call_cancel(gone);
  ck_assert_int_eq(g_atomic_int_get(&cancelled.done), 1);
  ck_assert_int_eq(cancelled.status, HVB_CANCELLED);
  ck_assert_int_eq(g_atomic_int_get(&next.done), 0); /* still waiting for a connection */

  /* The first connection that frees carries the next waiting call, which gets its own reply. */
  ck_assert(hvb_call_wait(waits, 60000));
  ck_assert_int_eq(next.status, HVB_OK);
  ck_assert_str_eq(next.reply, "echo: next");
  ck_assert_int_ge(next.slow_done_then, 1);
  for (int i = 0; i < LIMIT; i++) {
    ck_assert(hvb_call_wait(held[i], 60000));
    ck_assert_int_eq(hvb_call_status(held[i]), HVB_OK);
    hvb_call_free(held[i]);
  }
  ck_assert_int_eq(g_atomic_int_get(&slow_done), LIMIT);
  /* The timed-out and the cancelled call never reached the upstream. */
  ck_assert_int_eq(up_request_count(tu_srv), LIMIT + 1);
  hvb_call_free(timed);
  hvb_call_free(gone);
  hvb_call_free(waits);
  g_free(held);
  hvb_llm_free(quick);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("engine-admit");
  TCase *up = tcase_create("upstream");
  tcase_set_timeout(up, 180);
  tcase_add_checked_fixture(up, tu_up_setup, tu_up_teardown);
  tcase_add_test(up, calls_beyond_the_connections_per_host_wait_keep_their_deadline_and_cancel);
  suite_add_tcase(s, up);
  return tu_run(s);
}
