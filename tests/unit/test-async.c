/* tests/unit/test-async.c: the async engine (core/net/engine.c, core/api/async.c,
 * include/heavenbase/async.h).
 *
 * "mock": async calls over the offline gateway (no network, still through the engine thread).
 * "upstream": against the fake provider: 1,000 concurrent chats each with its own (echoed)
 * reply, streams, cancellation before, during and after a slow stream, a callback that
 * starts another call, wait with a timeout, retries. */
#include "testutil.h"
#include "upstream/upstream.h"
#include "net/engine.h"

#include <heavenbase/heavenbase.h>
#include <heavenbase/glib.h>
#include <glib.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-test-async-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"

/* What the callbacks saw of one call. */
typedef struct seen {
  gint done;     /* on_done calls */
  gint deltas;   /* on_delta calls */
  gint deltas_after_done;
  hvb_status status;
  GString *text; /* the deltas' text, joined */
  char reply[256];
  bool on_engine; /* on_done ran outside the thread that started the call */
  GThread *starter;
} seen;

static void seen_init(seen *s) {
  memset(s, 0, sizeof *s);
  s->text = g_string_new(NULL);
  s->starter = g_thread_self();
}

static void seen_clear(seen *s) {
  g_string_free(s->text, TRUE);
}

static void on_done(hvb_call *call, void *ud) {
  seen *s = ud;
  s->status = hvb_call_status(call);
  const hvb_result *r = hvb_call_result(call);
  if (r) g_strlcpy(s->reply, hvb_result_text(r), sizeof s->reply);
  s->on_engine = g_thread_self() != s->starter;
  g_atomic_int_inc(&s->done);
}

static void on_delta(hvb_call *call, json_object *delta, void *ud) {
  (void)call;
  seen *s = ud;
  if (g_atomic_int_get(&s->done)) g_atomic_int_inc(&s->deltas_after_done);
  const char *t = json_object_get_string(json_object_object_get(delta, "text"));
  if (t) g_string_append(s->text, t);
  g_atomic_int_inc(&s->deltas);
}

static hvb_llm *mock_llm(void) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new_preset("mock", &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  return llm;
}

static void push_echo(void) {
  up_response r = {.echo = true, .repeat = true};
  up_push(tu_srv, CHAT_PATH, &r);
}

/* A stream of `n` SSE events, each after `delay_ms`: words "w0 ", "w1 "..., then stop. */
static void push_slow_stream(int n, int delay_ms) {
  up_chunk *cs = g_new0(up_chunk, n + 1);
  char **texts = g_new0(char *, n + 2);
  for (int i = 0; i < n; i++) {
    texts[i] = g_strdup_printf("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w%d "
                               "\"},\"finish_reason\":null}]}\n\n", i);
    cs[i] = (up_chunk){texts[i], 0, delay_ms};
  }
  texts[n] = g_strdup("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
                      "\n\ndata: [DONE]\n\n");
  cs[n] = (up_chunk){texts[n], 0, 0};
  up_response r = {.content_type = "text/event-stream", .chunks = cs, .nchunks = n + 1,
                   .chunked = true};
  up_push(tu_srv, CHAT_PATH, &r);
  g_strfreev(texts);
  g_free(cs);
}

static void wait_for(gint *counter, int n, int timeout_ms) {
  for (int i = 0; i < timeout_ms && g_atomic_int_get(counter) < n; i++) g_usleep(1000);
  ck_assert_int_ge(g_atomic_int_get(counter), n);
}

/* ---- mock ---- */

START_TEST(mock_chat_completes_on_the_engine_thread) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  seen s;
  seen_init(&s);
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *c = hvb_llm_chat_async(llm, "hello there", NULL, NULL, on_done, NULL, &s, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  hvb_llm_free(llm); /* a call outlives its LLM */
  ck_assert(hvb_call_wait(c, -1));
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert(s.on_engine);
  ck_assert_int_eq(s.status, HVB_OK);
  ck_assert_str_eq(s.reply, "Mock reply to: hello there");
  ck_assert(hvb_call_is_over(c));
  ck_assert_ptr_null(hvb_call_error(c));
  hvb_result *r = hvb_call_take_result(c);
  ck_assert_str_eq(hvb_result_text(r), "Mock reply to: hello there");
  ck_assert_ptr_null(hvb_call_result(c));
  hvb_result_free(r);
  hvb_call_free(c);
  seen_clear(&s);
}
END_TEST

START_TEST(mock_stream_delivers_every_delta_before_done) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_async(llm, "one two three", NULL, NULL, on_done, on_delta, &s, NULL);
  ck_assert_ptr_nonnull(c);
  ck_assert(hvb_call_wait(c, -1));
  ck_assert_int_gt(s.deltas, 1);
  ck_assert_int_eq(s.deltas_after_done, 0);
  ck_assert_str_eq(s.text->str, "Mock reply to: one two three");
  ck_assert_str_eq(s.reply, "Mock reply to: one two three");
  hvb_call_free(c);
  hvb_llm_free(llm);
  seen_clear(&s);
}
END_TEST

START_TEST(bad_arguments_fail_at_once) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat_async(NULL, "x", NULL, NULL, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  hvb_error_clear(&err);
  ck_assert_ptr_null(hvb_llm_chat_async(llm, NULL, NULL, NULL, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  json_object *bad = tu_parse("{\"system\": 3}");
  hvb_error_clear(&err);
  ck_assert_ptr_null(hvb_llm_chat_async(llm, "x", NULL, bad, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "system"));
  json_object_put(bad);
  hvb_llm_free(llm);
}
END_TEST

static void free_in_done(hvb_call *call, void *ud) {
  g_atomic_int_inc((gint *)ud);
  hvb_call_free(call); /* fire and forget */
}

START_TEST(calls_freed_in_their_callback_and_cancelled_ones_count_once) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  gint done = 0;
  for (int i = 0; i < 50; i++)
    ck_assert_ptr_nonnull(
        hvb_llm_chat_async(llm, "fire", NULL, NULL, free_in_done, NULL, &done, NULL));
  wait_for(&done, 50, 10000);
  /* Cancelled right away: the offline answer may have won the race (the engine completes it
   * at once), but on_done reports exactly once, and cancel has waited for it. */
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_async(llm, "late", NULL, NULL, on_done, on_delta, &s, NULL);
  hvb_call_cancel(c);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert(s.status == HVB_CANCELLED || s.status == HVB_OK);
  ck_assert_int_eq(hvb_call_status(c), s.status);
  if (s.status == HVB_CANCELLED) ck_assert_int_eq(hvb_call_error(c)->status, HVB_CANCELLED);
  hvb_call_cancel(c); /* again: nothing */
  hvb_call_free(c);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  seen_clear(&s);
  hvb_llm_free(llm);
}
END_TEST

/* ---- upstream ---- */

#define MANY 1000

typedef struct many {
  seen s[MANY];
} many;

START_TEST(a_thousand_concurrent_chats_each_get_their_own_reply) {
  push_echo();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  many *m = g_new0(many, 1);
  hvb_call **calls = g_new0(hvb_call *, MANY);
  /* Under valgrind (make check sets HB_TEST_WRAPPER) a hundred, the same checks: a thousand
   * at once took more than the calls' 20 s on a loaded machine, every one of them waiting
   * for the whole burst. */
  const char *wrapper = getenv("HB_TEST_WRAPPER");
  int n = wrapper && *wrapper ? 100 : MANY;
  for (int i = 0; i < n; i++) {
    seen_init(&m->s[i]);
    char prompt[32];
    snprintf(prompt, sizeof prompt, "prompt %d", i);
    hvb_error err = HVB_ERROR_INIT;
    /* Every fourth one streams: both paths share the engine. */
    calls[i] = hvb_llm_chat_async(llm, prompt, NULL, NULL, on_done, i % 4 ? NULL : on_delta,
                                  &m->s[i], &err);
    ck_assert_msg(calls[i] != NULL, "%s", err.message);
  }
  for (int i = 0; i < n; i++) {
    ck_assert(hvb_call_wait(calls[i], 60000));
    char want[64];
    snprintf(want, sizeof want, "echo: prompt %d", i);
    ck_assert_int_eq(m->s[i].done, 1);
    ck_assert_msg(m->s[i].status == HVB_OK, "call %d: %s", i,
                  hvb_call_error(calls[i]) ? hvb_call_error(calls[i])->message : "?");
    ck_assert_str_eq(m->s[i].reply, want);
    if (i % 4 == 0) ck_assert_str_eq(m->s[i].text->str, want);
    hvb_call_free(calls[i]);
    seen_clear(&m->s[i]);
  }
  ck_assert_int_eq(up_request_count(tu_srv), n);
  /* Keep-alive: connections were reused, far fewer than calls. Not bounded by the per-host
   * cap: that caps connections open at once, and under load (valgrind on a busy machine)
   * libcurl may close an idle one and open another, so the total over the test can pass it. */
  ck_assert_int_le(up_connection_count(tu_srv), n > HVB_ASYNC_MAX_HOST_CONNECTIONS ? n / 4 : n);
  g_free(calls);
  g_free(m);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(cancel_during_a_slow_stream_stops_deltas_and_reports_once) {
  push_slow_stream(10, 150);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_async(llm, "slow", NULL, NULL, on_done, on_delta, &s, NULL);
  ck_assert_ptr_nonnull(c);
  wait_for(&s.deltas, 1, 10000);
  hvb_call_cancel(c);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert_int_eq(s.status, HVB_CANCELLED);
  int deltas = g_atomic_int_get(&s.deltas);
  ck_assert_int_lt(deltas, 10);
  g_usleep(400 * 1000);
  ck_assert_int_eq(g_atomic_int_get(&s.deltas), deltas); /* none after cancel returned */
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  /* The transfer really stopped: the server's next chunk found the connection closed. */
  for (int i = 0; i < 100 && up_aborted_count(tu_srv) == 0; i++) g_usleep(50 * 1000);
  ck_assert_int_eq(up_aborted_count(tu_srv), 1);
  hvb_call_free(c);
  seen_clear(&s);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(cancel_before_and_after_a_stream) {
  push_slow_stream(3, 100);
  push_slow_stream(3, 0);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  seen a, b;
  seen_init(&a);
  seen_init(&b);
  hvb_call *c = hvb_llm_chat_async(llm, "before", NULL, NULL, on_done, on_delta, &a, NULL);
  hvb_call_cancel(c);
  ck_assert_int_eq(a.done, 1);
  ck_assert_int_eq(a.status, HVB_CANCELLED);
  ck_assert_int_eq(a.deltas, 0);
  hvb_call_free(c);
  c = hvb_llm_chat_async(llm, "after", NULL, NULL, on_done, on_delta, &b, NULL);
  ck_assert(hvb_call_wait(c, 20000));
  hvb_call_cancel(c); /* over: no effect */
  ck_assert_int_eq(b.done, 1);
  ck_assert_int_eq(b.status, HVB_OK);
  ck_assert_int_eq(hvb_call_status(c), HVB_OK);
  ck_assert_str_eq(b.text->str, "w0 w1 w2 ");
  hvb_call_free(c);
  seen_clear(&a);
  seen_clear(&b);
  hvb_llm_free(llm);
}
END_TEST

static void cancel_in_delta(hvb_call *call, json_object *delta, void *ud) {
  on_delta(call, delta, ud);
  hvb_call_cancel(call); /* on the engine thread: deferred; no further deltas */
  hvb_call_cancel(call);
}

START_TEST(cancel_from_its_own_delta_callback) {
  push_slow_stream(5, 100);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_async(llm, "x", NULL, NULL, on_done, cancel_in_delta, &s, NULL);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(s.deltas, 1);
  ck_assert_int_eq(s.done, 1);
  ck_assert_int_eq(s.status, HVB_CANCELLED);
  hvb_call_free(c);
  seen_clear(&s);
  hvb_llm_free(llm);
}
END_TEST

typedef struct chain {
  hvb_llm *llm;
  seen first, second;
  hvb_call *next;
  gint started;
} chain;

static void start_next(hvb_call *call, void *ud) {
  chain *ch = (chain *)((char *)ud - offsetof(chain, first));
  on_done(call, ud);
  ck_assert(hvb_call_wait(call, 60000)); /* over already; on the engine thread never blocks */
  ch->next = hvb_llm_chat_async(ch->llm, "second", NULL, NULL, on_done, NULL, &ch->second, NULL);
  g_atomic_int_inc(&ch->started);
}

START_TEST(a_callback_starts_another_call) {
  push_echo();
  chain *ch = g_new0(chain, 1);
  ch->llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  seen_init(&ch->first);
  seen_init(&ch->second);
  hvb_call *c = hvb_llm_chat_async(ch->llm, "first", NULL, NULL, start_next, NULL, &ch->first,
                                   NULL);
  ck_assert(hvb_call_wait(c, 20000));
  wait_for(&ch->started, 1, 5000);
  ck_assert_ptr_nonnull(ch->next);
  ck_assert(hvb_call_wait(ch->next, 20000));
  ck_assert_str_eq(ch->first.reply, "echo: first");
  ck_assert_str_eq(ch->second.reply, "echo: second");
  ck_assert_int_eq(ch->second.done, 1);
  hvb_call_free(c);
  hvb_call_free(ch->next);
  seen_clear(&ch->first);
  seen_clear(&ch->second);
  hvb_llm_free(ch->llm);
  g_free(ch);
}
END_TEST

/* A synchronous chat on another thread, for the test below. */
static gpointer sync_chat_thread(gpointer llm) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "temperature", json_object_new_double(0));
  hvb_result *r = hvb_llm_chat(llm, "same question", NULL, o, NULL);
  json_object_put(o);
  return r;
}

/* A cacheable chat whose key another call is computing: the sync call would wait for it;
 * the async call must not block (its caller, or the engine thread from a callback), so it
 * returns at once, and waits for the leader's entry from the engine's timers: it is answered
 * from the cache, and the upstream sees one request. */
START_TEST(an_async_chat_never_blocks_on_a_call_with_the_same_key) {
  enum { DELAY_MS = 3000 };
  up_chunk slow = {"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                   "\"slow\"},\"finish_reason\":\"stop\"}]}", 0, DELAY_MS};
  up_response r = {.chunks = &slow, .nchunks = 1};
  up_push(tu_srv, CHAT_PATH, &r);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL,
               "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
               "\"fast\"},\"finish_reason\":\"stop\"}]}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  GThread *t = g_thread_new("sync-leader", sync_chat_thread, llm);
  ck_assert(up_wait_requests(tu_srv, 1, 10000)); /* the leader's request is in flight */
  seen s;
  seen_init(&s);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "temperature", json_object_new_double(0));
  gint64 t0 = g_get_monotonic_time();
  hvb_call *c = hvb_llm_chat_async(llm, "same question", NULL, o, on_done, NULL, &s, NULL);
  gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
  json_object_put(o);
  ck_assert_ptr_nonnull(c);
  ck_assert_msg(took_ms < DELAY_MS / 2, "starting the call took %lld ms", (long long)took_ms);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_str_eq(s.reply, "slow");
  ck_assert(hvb_result_cached(hvb_call_result(c)));
  hvb_call_free(c);
  hvb_result *sync = g_thread_join(t);
  ck_assert_ptr_nonnull(sync);
  ck_assert_str_eq(hvb_result_text(sync), "slow");
  hvb_result_free(sync);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  seen_clear(&s);
  hvb_llm_free(llm);
}
END_TEST

/* An async call waiting for another's entry is cancelled: at once (before its first look),
 * or while it looks from the engine's timers. It ends cancelled, sends nothing, and the
 * leader is not disturbed. */
START_TEST(an_async_chat_cancelled_while_it_waits_for_the_same_key) {
  enum { DELAY_MS = 1500 };
  up_chunk slow = {"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                   "\"slow\"},\"finish_reason\":\"stop\"}]}", 0, DELAY_MS};
  up_response r = {.chunks = &slow, .nchunks = 1};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  GThread *t = g_thread_new("sync-leader", sync_chat_thread, llm);
  ck_assert(up_wait_requests(tu_srv, 1, 10000));
  json_object *o = json_object_new_object();
  json_object_object_add(o, "temperature", json_object_new_double(0));
  for (int i = 0; i < 2; i++) {
    seen s;
    seen_init(&s);
    hvb_call *c = hvb_llm_chat_async(llm, "same question", NULL, o, on_done, NULL, &s, NULL);
    ck_assert_ptr_nonnull(c);
    if (i == 1) g_usleep(200 * 1000); /* it has looked from its timer a few times */
    hvb_call_cancel(c);
    ck_assert(hvb_call_is_over(c));
    ck_assert_int_eq(hvb_call_status(c), HVB_CANCELLED);
    hvb_call_free(c);
    seen_clear(&s);
  }
  json_object_put(o);
  hvb_result *sync = g_thread_join(t);
  ck_assert_ptr_nonnull(sync);
  ck_assert_str_eq(hvb_result_text(sync), "slow");
  hvb_result_free(sync);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(wait_with_a_timeout) {
  up_chunk slow = {"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                   "\"late\"},\"finish_reason\":\"stop\"}]}", 0, 600};
  up_response r = {.chunks = &slow, .nchunks = 1};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_async(llm, "x", NULL, NULL, on_done, NULL, &s, NULL);
  hvb_llm_free(llm); /* a running call keeps what it needs (spec, connection pool, cache) */
  llm = NULL;
  gint64 t0 = g_get_monotonic_time();
  ck_assert(!hvb_call_wait(c, 50));
  ck_assert(!hvb_call_is_over(c));
  ck_assert_int_lt(g_get_monotonic_time() - t0, 500 * 1000);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_str_eq(s.reply, "late");
  hvb_call_free(c);
  seen_clear(&s);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(retries_and_http_errors_are_those_of_sync_calls) {
  up_push_body(tu_srv, CHAT_PATH, 500, NULL, "{\"error\":{\"message\":\"boom\"}}");
  push_echo();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, "{\"max_retries\": 1}");
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_async(llm, "again", NULL, NULL, on_done, NULL, &s, NULL);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(s.status, HVB_OK);
  ck_assert_str_eq(s.reply, "echo: again");
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_call_free(c);
  hvb_llm_free(llm);
  seen_clear(&s);
}
END_TEST

/* The idle timer is the transport's, ticked by the engine: a stalled stream fails on time. */
START_TEST(idle_timeout_holds_for_async_streams) {
  up_chunk ch = {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n", 0, 0};
  up_response r = {.content_type = "text/event-stream", .chunks = &ch, .nchunks = 1,
                   .chunked = true, .stall_ms = 3000};
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, "{\"idle_timeout\": 0.3}");
  seen s;
  seen_init(&s);
  gint64 t0 = g_get_monotonic_time();
  hvb_call *c = hvb_llm_chat_async(llm, "x", NULL, NULL, on_done, on_delta, &s, NULL);
  ck_assert(hvb_call_wait(c, 20000));
  gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
  ck_assert_int_eq(s.status, HVB_TIMEOUT);
  ck_assert_ptr_nonnull(strstr(hvb_call_error(c)->message, "idle"));
  ck_assert_int_eq(s.deltas, 1);
  ck_assert_int_lt(took_ms, 2500);
  hvb_call_free(c);
  hvb_llm_free(llm);
  seen_clear(&s);
}
END_TEST

START_TEST(an_http_error_is_the_outcome) {
  up_push_body(tu_srv, CHAT_PATH, 401, NULL, "{\"error\":{\"message\":\"bad key\"}}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_async(llm, "x", NULL, NULL, on_done, NULL, &s, NULL);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(s.status, HVB_HTTP);
  ck_assert_int_eq(hvb_call_error(c)->http_status, 401);
  ck_assert_ptr_nonnull(strstr(hvb_call_error(c)->message, "bad key"));
  ck_assert_ptr_null(hvb_call_result(c));
  hvb_call_free(c);
  hvb_llm_free(llm);
  seen_clear(&s);
}
END_TEST

START_TEST(free_of_a_running_call_cancels_it) {
  push_slow_stream(10, 200);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_async(llm, "x", NULL, NULL, on_done, on_delta, &s, NULL);
  wait_for(&s.deltas, 1, 10000);
  hvb_call_free(c);
  ck_assert_int_eq(s.done, 1);
  ck_assert_int_eq(s.status, HVB_CANCELLED);
  hvb_llm_free(llm);
  seen_clear(&s);
}
END_TEST

/* Serve embeddings that spell their text (up_response.embed_dim) after `delay_ms`; an LLM
 * with the given batch size, workers and cache setting. */
static hvb_llm *embed_llm(int delay_ms, int batch, int workers, bool cache) {
  up_chunk ch = {"", 0, delay_ms};
  up_response r = {.chunks = &ch, .nchunks = 1, .repeat = true, .embed_dim = 8};
  up_push(tu_srv, "/v1/embeddings", &r);
  char extra[160];
  snprintf(extra, sizeof extra,
           "{\"embedding_batch_size\": %d, \"embedding_max_workers\": %d, \"cache\": %s}",
           batch, workers, cache ? "true" : "false");
  return tu_upstream_llm(tu_srv, "embed-test", KEY, extra);
}

/* Sync embeddings run their batches as concurrent transfers on the engine: 6 batches of a
 * 300 ms reply with 3 workers take about 2 rounds, not 6; the vectors keep their order. */
START_TEST(embedding_batches_run_concurrently_on_the_engine) {
  hvb_llm *llm = embed_llm(300, 2, 3, false);
  const char *texts[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
  hvb_error err = HVB_ERROR_INIT;
  gint64 t0 = g_get_monotonic_time();
  hvb_embeddings *e = hvb_llm_embed(llm, texts, 12, NULL, &err);
  gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
  ck_assert_msg(e != NULL, "%s", err.message);
  ck_assert_uint_eq(hvb_embeddings_requests(e), 6);
  for (size_t i = 0; i < 12; i++) ck_assert_float_eq(hvb_embeddings_at(e, i)[0], texts[i][0]);
  ck_assert_msg(took_ms < 1500, "6 batches with 3 workers took %lld ms", (long long)took_ms);
  ck_assert_int_eq(up_request_count(tu_srv), 6);
  hvb_embeddings_free(e);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_failing_embedding_batch_fails_the_call) {
  up_push_body(tu_srv, "/v1/embeddings", 400, NULL, "{\"error\":{\"message\":\"too long\"}}");
  hvb_llm *llm = embed_llm(100, 1, 4, false);
  const char *texts[] = {"a", "b", "c", "d", "e", "f"};
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_embed(llm, texts, 6, NULL, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_ptr_nonnull(strstr(err.message, "too long"));
  hvb_llm_free(llm);
}
END_TEST

static void embed_done(hvb_call *call, void *ud) {
  seen *s = ud;
  s->status = hvb_call_status(call);
  s->on_engine = g_thread_self() != s->starter;
  g_atomic_int_inc(&s->done);
}

START_TEST(async_embeddings_run_their_batches_on_the_engine) {
  hvb_llm *llm = embed_llm(200, 2, 3, true);
  char *texts[9];
  for (int i = 0; i < 9; i++) texts[i] = g_strdup_printf("t%d", i % 7); /* 2 repeats */
  seen s;
  seen_init(&s);
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *c = hvb_llm_embed_async(llm, (const char *const *)texts, 9, NULL, embed_done, &s,
                                    &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  for (int i = 0; i < 9; i++) g_free(texts[i]); /* copied */
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(s.done, 1);
  ck_assert(s.on_engine);
  ck_assert_int_eq(s.status, HVB_OK);
  const hvb_embeddings *e = hvb_call_embeddings(c);
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_null(hvb_call_result(c));
  ck_assert_uint_eq(hvb_embeddings_count(e), 9);
  ck_assert_uint_eq(hvb_embeddings_requests(e), 4); /* 7 distinct texts in batches of 2 */
  for (int i = 0; i < 9; i++) {
    ck_assert_float_eq(hvb_embeddings_at(e, (size_t)i)[0], 't');
    ck_assert_float_eq(hvb_embeddings_at(e, (size_t)i)[1], '0' + i % 7);
  }
  hvb_call_free(c);

  /* Again: all cached, no request, still completed through the engine. */
  const char *again[] = {"t1", "t2"};
  seen s2;
  seen_init(&s2);
  c = hvb_llm_embed_async(llm, again, 2, NULL, embed_done, &s2, &err);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(s2.status, HVB_OK);
  hvb_embeddings *taken = hvb_call_take_embeddings(c);
  ck_assert_uint_eq(hvb_embeddings_cached(taken), 2);
  ck_assert_uint_eq(hvb_embeddings_requests(taken), 0);
  hvb_embeddings_free(taken);
  hvb_call_free(c);
  ck_assert_int_eq(up_request_count(tu_srv), 4);
  hvb_llm_free(llm);
  seen_clear(&s);
  seen_clear(&s2);
}
END_TEST

/* An async embedding whose texts are all cached, started from a callback: its on_done runs
 * at a later turn of the engine, never inside hvb_llm_embed_async itself. */
typedef struct nested_embed {
  hvb_llm *llm;
  seen inner;
  hvb_call *call;
  bool done_inside_start;
} nested_embed;

static void start_embed_from_callback(hvb_call *call, void *ud) {
  (void)call;
  nested_embed *n = ud;
  const char *texts[] = {"a", "b"};
  n->inner.starter = g_thread_self();
  n->call = hvb_llm_embed_async(n->llm, texts, 2, NULL, embed_done, &n->inner, NULL);
  n->done_inside_start = g_atomic_int_get(&n->inner.done) > 0;
}

START_TEST(async_embeddings_all_cached_complete_after_their_start_returns) {
  nested_embed n = {0};
  n.llm = embed_llm(0, 2, 1, true);
  seen_init(&n.inner);
  const char *texts[] = {"a", "b"};
  hvb_error err = HVB_ERROR_INIT;
  hvb_embeddings *e = hvb_llm_embed(n.llm, texts, 2, NULL, &err); /* now both are cached */
  ck_assert_msg(e != NULL, "%s", err.message);
  hvb_embeddings_free(e);
  hvb_llm *mock = hvb_llm_new_preset("mock", &err);
  ck_assert_msg(mock != NULL, "%s", err.message);
  hvb_call *outer = hvb_llm_chat_async(mock, "go", NULL, NULL, start_embed_from_callback, NULL,
                                       &n, &err);
  ck_assert_ptr_nonnull(outer);
  ck_assert(hvb_call_wait(outer, 20000));
  ck_assert_ptr_nonnull(n.call);
  ck_assert(hvb_call_wait(n.call, 20000));
  ck_assert(!n.done_inside_start);
  ck_assert_int_eq(g_atomic_int_get(&n.inner.done), 1);
  ck_assert_int_eq(n.inner.status, HVB_OK);
  ck_assert_uint_eq(hvb_embeddings_cached(hvb_call_embeddings(n.call)), 2);
  ck_assert_int_eq(up_request_count(tu_srv), 1); /* only the first, sync call */
  hvb_call_free(n.call);
  hvb_call_free(outer);
  seen_clear(&n.inner);
  hvb_llm_free(mock);
  hvb_llm_free(n.llm);
}
END_TEST

START_TEST(async_embeddings_cancel_and_failure) {
  hvb_llm *llm = embed_llm(300, 1, 2, false);
  const char *texts[] = {"a", "b", "c", "d", "e", "f"};
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_embed_async(llm, texts, 6, NULL, embed_done, &s, NULL);
  ck_assert_ptr_nonnull(c);
  ck_assert(up_wait_requests(tu_srv, 2, 10000)); /* both workers' batches are in flight */
  hvb_call_cancel(c);
  ck_assert_int_eq(s.done, 1);
  ck_assert_int_eq(s.status, HVB_CANCELLED);
  ck_assert_ptr_null(hvb_call_embeddings(c));
  hvb_call_free(c);
  /* The batches in flight were aborted, not left to finish: nothing runs on the engine, so a
   * thread may take it over at once (refused while transfers run). */
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  ck_assert(hvb_engine_drive_end());
  g_usleep(400 * 1000); /* no new batch starts */
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  ck_assert_int_eq(s.done, 1);
  seen_clear(&s);

  ck_assert_ptr_null(hvb_llm_embed_async(llm, texts, 0, NULL, embed_done, &s, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  hvb_llm_free(llm);
}
END_TEST

/* ---- a caller-driven engine ---- */

START_TEST(a_caller_driven_engine_runs_callbacks_in_the_driving_thread) {
  push_echo();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  ck_assert(hvb_engine_drive_begin(&err)); /* again from the driver: fine */
  enum { N = 50 };
  seen s[N];
  hvb_call *calls[N];
  for (int i = 0; i < N; i++) {
    seen_init(&s[i]);
    char prompt[32];
    snprintf(prompt, sizeof prompt, "driven %d", i);
    calls[i] = hvb_llm_chat_async(llm, prompt, NULL, NULL, on_done, i % 2 ? on_delta : NULL,
                                  &s[i], NULL);
    ck_assert_ptr_nonnull(calls[i]);
  }
  g_usleep(100 * 1000);
  ck_assert_int_eq(s[0].done, 0); /* nothing runs until the driver steps */
  int turns = 0;
  while (hvb_engine_step(100) > 0) turns++;
  ck_assert_int_gt(turns, 0);
  for (int i = 0; i < N; i++) {
    char want[64];
    snprintf(want, sizeof want, "echo: driven %d", i);
    ck_assert_int_eq(s[i].done, 1);
    ck_assert(!s[i].on_engine); /* ran in this thread, inside hvb_engine_step */
    ck_assert_str_eq(s[i].reply, want);
    hvb_call_free(calls[i]);
    seen_clear(&s[i]);
  }
  /* wait and cancel on the driving thread drive the engine themselves */
  seen w;
  seen_init(&w);
  hvb_call *c = hvb_llm_chat_async(llm, "waited", NULL, NULL, on_done, NULL, &w, NULL);
  ck_assert(hvb_call_wait(c, 10000));
  ck_assert_str_eq(w.reply, "echo: waited");
  hvb_call_free(c);
  c = hvb_llm_chat_async(llm, "cancelled", NULL, NULL, on_done, NULL, &w, NULL);
  hvb_call_cancel(c);
  ck_assert_int_eq(w.done, 2);
  ck_assert_int_eq(w.status, HVB_CANCELLED);
  hvb_call_free(c);
  seen_clear(&w);
  ck_assert_int_eq(hvb_engine_step(0), 0);
  ck_assert(hvb_engine_drive_end());
  ck_assert(!hvb_engine_drive_end());
  ck_assert_int_eq(hvb_engine_step(0), -1);
  /* Back to the library's thread. */
  seen t;
  seen_init(&t);
  c = hvb_llm_chat_async(llm, "threaded", NULL, NULL, on_done, NULL, &t, NULL);
  ck_assert(hvb_call_wait(c, 10000));
  ck_assert(t.on_engine);
  ck_assert_str_eq(t.reply, "echo: threaded");
  hvb_call_free(c);
  seen_clear(&t);
  hvb_llm_free(llm);
}
END_TEST

/* ---- GLib main loop integration ---- */

typedef struct loop_state {
  GMainLoop *loop;
  GMainContext *ctx;
  int done, ok, cancelled, wrong_thread;
  int expected;
  GThread *loop_thread;
  const char *prefix; /* every reply starts with it */
} loop_state;

static void glib_done(hvb_call *call, void *ud) {
  loop_state *st = ud;
  if (g_thread_self() != st->loop_thread || !g_main_context_is_owner(st->ctx)) st->wrong_thread++;
  hvb_status s = hvb_call_status(call);
  if (s == HVB_OK) {
    ck_assert(g_str_has_prefix(hvb_result_text(hvb_call_result(call)), st->prefix));
    st->ok++;
  } else if (s == HVB_CANCELLED) {
    st->cancelled++;
  }
  if (++st->done == st->expected) g_main_loop_quit(st->loop);
}

/* A loop on a new context (NULL: the global default one) expecting `expected` completions
 * whose replies start with `prefix`; loop_end releases it. */
static void loop_begin(loop_state *st, bool own_context, int expected, const char *prefix) {
  memset(st, 0, sizeof *st);
  st->ctx = own_context ? g_main_context_new() : g_main_context_ref(g_main_context_default());
  st->loop = g_main_loop_new(st->ctx, FALSE);
  st->loop_thread = g_thread_self();
  st->expected = expected;
  st->prefix = prefix;
}

static void loop_end(loop_state *st) {
  g_main_loop_unref(st->loop);
  g_main_context_unref(st->ctx);
}

START_TEST(glib_completions_run_in_the_main_context_and_cancel_through_gcancellable) {
  push_echo();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  loop_state st;
  loop_begin(&st, true, 21, "echo: loop ");
  g_main_context_push_thread_default(st.ctx);
  for (int i = 0; i < 20; i++) {
    char prompt[32];
    snprintf(prompt, sizeof prompt, "loop %d", i);
    hvb_error err = HVB_ERROR_INIT;
    ck_assert_msg(hvb_glib_chat_async(llm, prompt, NULL, NULL, st.ctx, NULL, glib_done, &st, &err),
                  "%s", err.message);
  }
  GCancellable *cancel = g_cancellable_new();
  g_cancellable_cancel(cancel); /* already cancelled: the call reports HVB_CANCELLED */
  ck_assert(hvb_glib_chat_async(llm, "never", NULL, NULL, st.ctx, cancel, glib_done, &st, NULL));
  g_object_unref(cancel);
  g_main_loop_run(st.loop);
  ck_assert_int_eq(st.done, 21);
  ck_assert_int_eq(st.wrong_thread, 0);
  /* The pre-cancelled call is cancelled right after it started: it may have won the race
   * (glib_cancel_during_a_slow_stream pins cancellation down); each reports once. */
  ck_assert_int_ge(st.ok, 20);
  ck_assert_int_eq(st.ok + st.cancelled, 21);
  g_main_context_pop_thread_default(st.ctx);
  loop_end(&st);
  hvb_llm_free(llm);
}
END_TEST

static gboolean cancel_later(gpointer cancellable) {
  g_cancellable_cancel(cancellable);
  return G_SOURCE_REMOVE;
}

START_TEST(glib_cancel_during_a_slow_stream) {
  push_slow_stream(10, 150);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  loop_state st;
  loop_begin(&st, true, 1, "");
  GCancellable *cancel = g_cancellable_new();
  ck_assert(hvb_glib_chat_async(llm, "slow", NULL, NULL, st.ctx, cancel, glib_done, &st, NULL));
  GSource *t = g_timeout_source_new(100);
  g_source_set_callback(t, cancel_later, cancel, NULL);
  g_source_attach(t, st.ctx);
  g_source_unref(t);
  g_main_loop_run(st.loop);
  ck_assert_int_eq(st.done, 1);
  ck_assert_int_eq(st.cancelled, 1);
  ck_assert_int_eq(st.wrong_thread, 0);
  g_object_unref(cancel);
  loop_end(&st);
  hvb_llm_free(llm);
}
END_TEST

/* NULL: the global default context. The engine thread could acquire it while the main
 * thread does not iterate it; the completion must still wait for the main thread. */
START_TEST(glib_default_context_completion_waits_for_its_thread) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  loop_state st;
  loop_begin(&st, false, 1, "Mock reply to: x");
  ck_assert(hvb_glib_chat_async(llm, "x", NULL, NULL, NULL, NULL, glib_done, &st, NULL));
  g_usleep(300 * 1000); /* the engine is long done; nothing may have run yet */
  ck_assert_int_eq(st.done, 0);
  g_main_loop_run(st.loop);
  ck_assert_int_eq(st.done, 1);
  ck_assert_int_eq(st.wrong_thread, 0);
  loop_end(&st);
  hvb_llm_free(llm);
}
END_TEST

/* ---- the engine drives any unit of work (core/net/engine.h), not only LLM calls ---- */

typedef struct toy_work {
  hvb_work work;
  GThread *finished_on; /* the thread finish ran on */
  bool in_turn;         /* finish ran inside an engine turn */
  int finishes;
  bool cancelled;
  int *released; /* counts release calls */
} toy_work;

static hvb_transfer *toy_start(hvb_work *w) {
  (void)w;
  return NULL; /* nothing to transfer: the engine finishes it at once */
}

static void toy_finish(hvb_work *w, bool cancelled) {
  toy_work *t = (toy_work *)w;
  t->finished_on = g_thread_self();
  t->in_turn = hvb__engine_in_turn();
  t->finishes++;
  t->cancelled = cancelled;
  hvb_error e = HVB_ERROR_INIT;
  if (cancelled) e.status = HVB_CANCELLED;
  hvb__work_set_outcome(w, cancelled ? NULL : g_strdup("toy outcome"), g_free, &e);
}

static void toy_release(hvb_work *w) {
  toy_work *t = (toy_work *)w;
  (*t->released)++;
  g_free(t);
}

static const hvb_work_ops toy_ops = {
    .start = toy_start, .finish = toy_finish, .release = toy_release};

static void nothing(void *data) {
  (void)data;
}

START_TEST(the_engine_runs_a_kind_of_work_it_does_not_know) {
  int released = 0;
  toy_work *t = g_new0(toy_work, 1);
  t->released = &released;
  hvb__work_init(&t->work, &toy_ops, 2); /* ours and the engine's */
  hvb__engine_submit(&t->work);
  ck_assert(hvb__work_wait(&t->work, 10000));
  ck_assert_int_eq(t->finishes, 1);
  ck_assert(!t->cancelled);
  ck_assert(t->in_turn);
  ck_assert_ptr_ne(t->finished_on, g_thread_self()); /* on the engine's thread */
  ck_assert(hvb__work_is_over(&t->work));
  ck_assert_int_eq(hvb__work_status(&t->work), HVB_OK);
  ck_assert_str_eq(hvb__work_outcome(&t->work, false), "toy outcome");
  /* The engine drops its reference just after `done`: the count is valgrind's to check. */
  hvb__work_unref(&t->work);

  /* A held work (its producer runs elsewhere) is cancelled: finish is told so, once. */
  t = g_new0(toy_work, 1);
  t->released = &released;
  hvb__work_init(&t->work, &toy_ops, 2);
  hvb__engine_hold(&t->work);
  hvb__engine_post(nothing, NULL); /* starts the engine, which the held work keeps up */
  hvb__work_cancel(&t->work);      /* returns once finish ran */
  ck_assert_int_eq(t->finishes, 1);
  ck_assert(t->cancelled);
  ck_assert_int_eq(hvb__work_status(&t->work), HVB_CANCELLED);
  ck_assert_ptr_null(hvb__work_outcome(&t->work, false));
  hvb__work_unref(&t->work);
}
END_TEST

int main(void) {
  Suite *s = suite_create("async");
  TCase *mock = tcase_create("mock");
  tcase_set_timeout(mock, 60);
  tcase_add_test(mock, mock_chat_completes_on_the_engine_thread);
  tcase_add_test(mock, the_engine_runs_a_kind_of_work_it_does_not_know);
  tcase_add_test(mock, mock_stream_delivers_every_delta_before_done);
  tcase_add_test(mock, bad_arguments_fail_at_once);
  tcase_add_test(mock, calls_freed_in_their_callback_and_cancelled_ones_count_once);
  tcase_add_test(mock, glib_default_context_completion_waits_for_its_thread);
  suite_add_tcase(s, mock);

  TCase *up = tcase_create("upstream");
  tcase_set_timeout(up, 300);
  tcase_add_checked_fixture(up, tu_up_setup, tu_up_teardown);
  tcase_add_test(up, a_thousand_concurrent_chats_each_get_their_own_reply);
  tcase_add_test(up, cancel_during_a_slow_stream_stops_deltas_and_reports_once);
  tcase_add_test(up, cancel_before_and_after_a_stream);
  tcase_add_test(up, cancel_from_its_own_delta_callback);
  tcase_add_test(up, a_callback_starts_another_call);
  tcase_add_test(up, an_async_chat_never_blocks_on_a_call_with_the_same_key);
  tcase_add_test(up, an_async_chat_cancelled_while_it_waits_for_the_same_key);
  tcase_add_test(up, wait_with_a_timeout);
  tcase_add_test(up, retries_and_http_errors_are_those_of_sync_calls);
  tcase_add_test(up, an_http_error_is_the_outcome);
  tcase_add_test(up, idle_timeout_holds_for_async_streams);
  tcase_add_test(up, a_caller_driven_engine_runs_callbacks_in_the_driving_thread);
  tcase_add_test(up, free_of_a_running_call_cancels_it);
  tcase_add_test(up, embedding_batches_run_concurrently_on_the_engine);
  tcase_add_test(up, a_failing_embedding_batch_fails_the_call);
  tcase_add_test(up, async_embeddings_run_their_batches_on_the_engine);
  tcase_add_test(up, async_embeddings_cancel_and_failure);
  tcase_add_test(up, async_embeddings_all_cached_complete_after_their_start_returns);
  tcase_add_test(up, glib_completions_run_in_the_main_context_and_cancel_through_gcancellable);
  tcase_add_test(up, glib_cancel_during_a_slow_stream);
  suite_add_tcase(s, up);
  return tu_run(s);
}
