/* tests/unit/test-tools-async.c: async tool loops (hvb_llm_chat_tools_async) and async tools
 * (hvb_tools_add_async, hvb_tool_call_complete).
 *
 * "mock": loops driven offline by the mock gateway's scripted replies (still through the
 * engine thread), with tools answering at once, later from another thread, or with an error.
 * "upstream": against the fake provider: a streamed loop equal to the synchronous one, and
 * cancellation while a step's reply is delayed. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#define KEY "sk-test-tools-async-0123456789ab"
#define CHAT_PATH "/v1/chat/completions"

static const char *js(json_object *obj) {
  return json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

#define CALL(id, name, args)                                                                   \
  "{\"id\": \"" id "\", \"function\": {\"name\": \"" name "\", \"arguments\": " args "}}"

/* ---- what the callbacks saw ---- */

typedef struct seen {
  gint done;
  hvb_status status;
  char error[512];
  GThread *starter;
  bool on_other_thread;
  GString *deltas; /* each delta as compact JSON, one per line */
} seen;

static void seen_init(seen *s) {
  memset(s, 0, sizeof *s);
  s->starter = g_thread_self();
  s->deltas = g_string_new(NULL);
}

static void on_done(hvb_call *call, void *ud) {
  seen *s = ud;
  s->status = hvb_call_status(call);
  const hvb_error *e = hvb_call_error(call);
  if (e) g_strlcpy(s->error, e->message, sizeof s->error);
  s->on_other_thread = g_thread_self() != s->starter;
  g_atomic_int_inc(&s->done);
}

static void on_delta(hvb_call *call, json_object *delta, void *ud) {
  (void)call;
  seen *s = ud;
  g_string_append_printf(s->deltas, "%s\n", js(delta));
}

/* ---- tools ---- */

/* The weather, answered by a thread of ours 20 ms later (an async tool doing I/O). */
typedef struct pending_answer {
  hvb_tool_call *call;
  char *city;
} pending_answer;

static gpointer answer_later(gpointer p) {
  pending_answer *pa = p;
  g_usleep(20 * 1000);
  json_object *out = json_object_new_object();
  json_object_object_add(out, "city", json_object_new_string(pa->city));
  json_object_object_add(out, "temp_c", json_object_new_int(21));
  hvb_tool_call_complete(pa->call, out, NULL);
  g_free(pa->city);
  g_free(pa);
  return NULL;
}

static GPtrArray *threads; /* the answering threads, joined by the test */

/* The same answer from a synchronous tool, for the reference loop. */
static json_object *weather_sync(json_object *args, void *ud, hvb_error *err) {
  (void)ud;
  (void)err;
  json_object *out = json_object_new_object();
  json_object_object_add(out, "city", json_object_get(json_object_object_get(args, "city")));
  json_object_object_add(out, "temp_c", json_object_new_int(21));
  return out;
}

static void weather_async(json_object *args, hvb_tool_call *call, void *ud) {
  (void)ud;
  ck_assert_str_eq(hvb_tool_call_name(call), "get_weather");
  pending_answer *pa = g_new0(pending_answer, 1);
  pa->call = call;
  pa->city = g_strdup(json_object_get_string(json_object_object_get(args, "city")));
  g_ptr_array_add(threads, g_thread_new("tool", answer_later, pa));
}

/* Answers at once, inside the callback: an error for Atlantis, else the city's name. */
static void station_now(json_object *args, hvb_tool_call *call, void *ud) {
  (void)ud;
  const char *city = json_object_get_string(json_object_object_get(args, "city"));
  if (city && !strcmp(city, "Atlantis")) {
    hvb_error e = HVB_ERROR_INIT;
    hvb_gateway_fail(&e, HVB_EINVAL, "no weather station in '%s'", city);
    hvb_tool_call_complete(call, NULL, &e);
    return;
  }
  hvb_tool_call_complete(call, json_object_new_string(city ? city : "?"), NULL);
}

static json_object *clock_sync(json_object *args, void *ud, hvb_error *err) {
  (void)args;
  (void)ud;
  (void)err;
  return json_object_new_string("12:00");
}

/* Keeps the handle: the test answers (or not) when it wants. */
static hvb_tool_call *held;
static void hold(json_object *args, hvb_tool_call *call, void *ud) {
  (void)args;
  (void)ud;
  g_atomic_pointer_set(&held, call);
}

static hvb_tools *tool_set(hvb_tool_async_fn weather) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_tools *t = hvb_tools_new();
  json_object *schema = tu_parse("{\"type\": \"object\", \"properties\": {\"city\": {\"type\": "
                                 "\"string\"}}, \"required\": [\"city\"]}");
  ck_assert_msg(hvb_tools_add_async(t, "get_weather", "Weather of a city", schema, weather, NULL,
                                    &err),
                "%s", err.message);
  ck_assert(hvb_tools_add(t, "get_time", "The time", NULL, clock_sync, NULL, &err));
  json_object_put(schema);
  return t;
}

static hvb_llm *mock_llm(void) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new_preset("mock", &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  return llm;
}

/* Start a mock loop with `script` (the mock_replies array as JSON text). */
static hvb_call *mock_start(hvb_llm *llm, hvb_tools *tools, const char *script, seen *s,
                            hvb_error *err) {
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "mock_replies", tu_parse(script));
  hvb_call *c = hvb_llm_chat_tools_async(llm, "Weather?", NULL, tools, opts, on_done, NULL, s,
                                         err);
  json_object_put(opts);
  return c;
}

static json_object *msg(const hvb_result *r, size_t i) {
  return json_object_array_get_idx(hvb_result_messages(r), i);
}

static const char *field(json_object *o, const char *key) {
  return json_object_get_string(json_object_object_get(o, key));
}

static void join_threads(void) {
  for (guint i = 0; i < threads->len; i++) g_thread_join(threads->pdata[i]);
  g_ptr_array_set_size(threads, 0);
}

/* ---- mock ---- */

START_TEST(async_tool_answering_later_from_another_thread_completes_the_loop) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_tools *tools = tool_set(weather_async);
  seen s;
  seen_init(&s);
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *c = mock_start(llm, tools,
                           "[{\"tool_calls\": [" CALL("call_1", "get_weather",
                                                      "{\"city\": \"Paris\"}") ", " CALL(
                               "call_2", "get_time", "{}") "]}, \"21 C in Paris at noon.\"]",
                           &s, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  /* The caller's set is copied: freeing it now must not matter. */
  hvb_tools_free(tools);
  ck_assert(hvb_call_wait(c, 20000));
  join_threads();
  ck_assert_msg(hvb_call_status(c) == HVB_OK, "%s", s.error);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert(s.on_other_thread);
  const hvb_result *r = hvb_call_result(c);
  ck_assert_str_eq(hvb_result_text(r), "21 C in Paris at noon.");
  ck_assert_uint_eq(hvb_result_steps(r), 2);
  /* user, assistant (2 calls), tool call_1 (the late async answer), tool call_2 (the sync
   * one, answered first), assistant: the tool messages follow the calls' order. */
  ck_assert_int_eq((int)json_object_array_length(hvb_result_messages(r)), 5);
  ck_assert_str_eq(field(msg(r, 2), "role"), "tool");
  ck_assert_str_eq(field(msg(r, 2), "tool_call_id"), "call_1");
  ck_assert_str_eq(field(msg(r, 2), "content"), "{\"city\":\"Paris\",\"temp_c\":21}");
  ck_assert_str_eq(field(msg(r, 3), "tool_call_id"), "call_2");
  ck_assert_str_eq(field(msg(r, 3), "content"), "\"12:00\"");
  ck_assert_str_eq(field(msg(r, 4), "role"), "assistant");
  /* The result's deltas carry the tool results as the synchronous loop's do. */
  ck_assert_ptr_nonnull(strstr(js(hvb_result_deltas(r)), "\"tool_result\":{\"id\":\"call_1\""));
  hvb_call_free(c);
  hvb_llm_free(llm);
  g_string_free(s.deltas, TRUE);
}
END_TEST

START_TEST(async_tool_answering_at_once_and_with_an_error_is_fed_to_the_model) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_tools *tools = tool_set(station_now);
  seen s;
  seen_init(&s);
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *c = mock_start(
      llm, tools,
      "[{\"tool_calls\": [" CALL("a", "get_weather", "{\"city\": \"Atlantis\"}") ", " CALL(
          "b", "get_weather", "{\"city\": \"Rome\"}") "]}, \"Rome yes, Atlantis no.\"]",
      &s, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_msg(hvb_call_status(c) == HVB_OK, "%s", s.error);
  hvb_result *r = hvb_call_take_result(c);
  ck_assert_ptr_null(hvb_call_result(c)); /* taken */
  ck_assert_str_eq(hvb_result_text(r), "Rome yes, Atlantis no.");
  json_object *e = tu_parse(field(msg(r, 2), "content"));
  ck_assert(!json_object_get_boolean(json_object_object_get(e, "ok")));
  ck_assert_str_eq(js(json_object_object_get(e, "error")),
                   "{\"type\":\"EINVAL\",\"message\":\"no weather station in 'Atlantis'\"}");
  json_object_put(e);
  ck_assert_str_eq(field(msg(r, 3), "content"), "\"Rome\"");
  hvb_result_free(r);
  hvb_call_free(c);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
  g_string_free(s.deltas, TRUE);
}
END_TEST

START_TEST(sync_chat_given_an_async_tool_fails_saying_to_use_the_async_chat) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_tools *tools = tool_set(station_now);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat_tools(llm, "Weather?", NULL, tools, NULL, &err);
  ck_assert_ptr_null(r);
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "'get_weather'") &&
                    strstr(err.message, "hvb_llm_chat_tools_async"),
                "%s", err.message);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(bad_arguments_fail_before_anything_starts) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_tools *tools = tool_set(station_now);
  seen s;
  seen_init(&s);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(
      hvb_llm_chat_tools_async(NULL, "x", NULL, tools, NULL, on_done, NULL, &s, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_str_eq(err.message, "llm is NULL");
  json_object *m = tu_parse("[{\"role\": \"user\", \"content\": \"x\"}]");
  ck_assert_ptr_null(hvb_llm_chat_tools_async(llm, "x", m, tools, NULL, on_done, NULL, &s, &err));
  ck_assert_str_eq(err.message, "give exactly one of prompt and messages");
  json_object *bad = tu_parse("[{\"content\": \"no role\"}]");
  ck_assert_ptr_null(
      hvb_llm_chat_tools_async(llm, NULL, bad, tools, NULL, on_done, NULL, &s, &err));
  ck_assert_msg(strstr(err.message, "step 1") && strstr(err.message, "messages[0].role"), "%s",
                err.message);
  json_object *opts = tu_parse("{\"max_steps\": 0}");
  ck_assert_ptr_null(
      hvb_llm_chat_tools_async(llm, "x", NULL, tools, opts, on_done, NULL, &s, &err));
  ck_assert_msg(strstr(err.message, "max_steps"), "%s", err.message);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 0); /* no callback for a call never started */
  json_object_put(opts);
  json_object_put(bad);
  json_object_put(m);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
  g_string_free(s.deltas, TRUE);
}
END_TEST

/* A loop whose one tool call goes to `hold` (the model would then answer "never"). */
static hvb_call *start_held(hvb_llm *llm, hvb_tools *tools, seen *s) {
  hvb_error err = HVB_ERROR_INIT;
  g_atomic_pointer_set(&held, NULL);
  hvb_call *c = mock_start(
      llm, tools,
      "[{\"tool_calls\": [" CALL("h", "get_weather", "{\"city\": \"Oslo\"}") "]}, \"never\"]", s,
      &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  return c;
}

/* The handle `hold` got, once the loop's first step has run. */
static hvb_tool_call *wait_held(void) {
  for (int i = 0; i < 2000 && !g_atomic_pointer_get(&held); i++) g_usleep(1000);
  hvb_tool_call *tc = g_atomic_pointer_get(&held);
  ck_assert_ptr_nonnull(tc);
  return tc;
}

START_TEST(cancel_while_an_async_tool_runs_reports_cancelled_once_and_drops_the_answer) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_tools *tools = tool_set(hold);
  seen s;
  seen_init(&s);
  hvb_call *c = start_held(llm, tools, &s);
  /* The LLM and the set may go while the call runs. */
  hvb_llm_free(llm);
  hvb_tools_free(tools);
  hvb_tool_call *tc = wait_held();
  ck_assert(!hvb_tool_call_cancelled(tc));
  ck_assert(!hvb_call_wait(c, 50)); /* waiting for the tool */
  hvb_call_cancel(c);
  /* Outside the engine thread, on_done has run when cancel returns. */
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert_int_eq(s.status, HVB_CANCELLED);
  ck_assert(hvb_tool_call_cancelled(tc));
  ck_assert_str_eq(hvb_tool_call_id(tc), "h");
  hvb_tool_call_complete(tc, json_object_new_string("late"), NULL); /* dropped */
  hvb_call_cancel(c); /* again: nothing */
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert_ptr_null(hvb_call_result(c));
  hvb_call_free(c);
  g_string_free(s.deltas, TRUE);
}
END_TEST

START_TEST(a_tool_that_never_answers_is_freed_by_cancel_then_complete) {
  /* Freeing the call while its tool holds the handle: cancel, then the late answer frees the
   * loop (valgrind checks that nothing is left). */
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_tools *tools = tool_set(hold);
  seen s;
  seen_init(&s);
  hvb_call *c = start_held(llm, tools, &s);
  hvb_tool_call *tc = wait_held();
  hvb_call_free(c); /* cancels first */
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  hvb_error e = HVB_ERROR_INIT;
  hvb_gateway_fail(&e, HVB_TIMEOUT, "gave up");
  hvb_tool_call_complete(tc, NULL, &e);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
  g_string_free(s.deltas, TRUE);
}
END_TEST

START_TEST(a_caller_driven_engine_runs_the_loop_and_its_callbacks_on_the_driver) {
  /* The tool answers from its own thread; the answer must still be used inside the driver's
   * hvb_engine_step (where on_done runs), not in the tool's thread. */
  tu_isolate();
  hvb_error err = HVB_ERROR_INIT;
  /* Without CK_FORK (valgrind runs) an earlier test's late tool answer may still be on its
   * way through the engine thread; driving is refused until the engine is idle. */
  bool driving = false;
  for (int i = 0; i < 500 && !(driving = hvb_engine_drive_begin(&err)); i++) g_usleep(10000);
  ck_assert_msg(driving, "%s", err.message);
  hvb_llm *llm = mock_llm();
  hvb_tools *tools = tool_set(weather_async);
  seen s;
  seen_init(&s);
  hvb_call *c = mock_start(
      llm, tools,
      "[{\"tool_calls\": [" CALL("d", "get_weather", "{\"city\": \"Lima\"}") "]}, \"Warm.\"]", &s,
      &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 0); /* nothing runs until the driver steps */
  ck_assert(hvb_call_wait(c, 20000)); /* drives the engine on this thread */
  join_threads();
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert(!s.on_other_thread);
  ck_assert_str_eq(hvb_result_text(hvb_call_result(c)), "Warm.");
  hvb_call_free(c);
  ck_assert(hvb_engine_drive_end());
  hvb_tools_free(tools);
  hvb_llm_free(llm);
  g_string_free(s.deltas, TRUE);
}
END_TEST

/* ---- upstream ---- */

static const char step1_sse[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,"
    "\"id\":\"call_w\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
    "\"{\\\"city\\\": \\\"Paris\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: [DONE]\n\n";
static const char step2_sse[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"21 C in \"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Paris.\"},\"finish_reason\":"
    "\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

START_TEST(streamed_async_loop_passes_deltas_and_tool_results_and_equals_the_sync_loop) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  /* The synchronous loop, with a synchronous weather tool giving the same answer, streamed
   * too: the reference conversation. */
  hvb_tools *sync_tools = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(hvb_tools_add(sync_tools, "get_weather", "Weather of a city", NULL, weather_sync,
                          NULL, &err));
  json_object *stream = tu_parse("{\"stream\": true}");
  up_push_sse(tu_srv, CHAT_PATH, step1_sse, 3);
  up_push_sse(tu_srv, CHAT_PATH, step2_sse, 3);
  hvb_result *ref = hvb_llm_chat_tools(llm, "Weather in Paris?", NULL, sync_tools, stream, &err);
  ck_assert_msg(ref != NULL, "%s", err.message);

  hvb_tools *tools = hvb_tools_new();
  ck_assert(hvb_tools_add_async(tools, "get_weather", "Weather of a city", NULL, weather_async,
                                NULL, &err));
  up_push_sse(tu_srv, CHAT_PATH, step1_sse, 3);
  up_push_sse(tu_srv, CHAT_PATH, step2_sse, 3);
  seen s;
  seen_init(&s);
  hvb_call *c = hvb_llm_chat_tools_async(llm, "Weather in Paris?", NULL, tools, NULL, on_done,
                                         on_delta, &s, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  ck_assert(hvb_call_wait(c, 20000));
  join_threads();
  ck_assert_msg(hvb_call_status(c) == HVB_OK, "%s", s.error);
  const hvb_result *r = hvb_call_result(c);
  ck_assert_str_eq(hvb_result_text(r), "21 C in Paris.");
  ck_assert_str_eq(js(hvb_result_messages(r)), js(hvb_result_messages(ref)));
  ck_assert_str_eq(js(hvb_result_deltas(r)), js(hvb_result_deltas(ref)));
  ck_assert_uint_eq(hvb_result_steps(r), 2);
  /* What on_delta saw, in order: the tool call, the tool result, then the text. */
  const char *d = s.deltas->str;
  const char *call = strstr(d, "\"tool_calls\"");
  const char *result =
      strstr(d, "{\"tool_result\":{\"id\":\"call_w\",\"name\":\"get_weather\",\"content\":"
                "\"{\\\"city\\\":\\\"Paris\\\",\\\"temp_c\\\":21}\",\"ok\":true}}");
  const char *text = strstr(d, "{\"text\":\"21 C in \"}");
  ck_assert_msg(call && result && text && call < result && result < text, "%s", d);
  /* The async loop's requests were streams too; its second one carries the tool message. */
  json_object *b3 = tu_sent_body(tu_srv, 3);
  ck_assert(json_object_get_boolean(json_object_object_get(b3, "stream")));
  json_object *m = json_object_object_get(b3, "messages");
  ck_assert_str_eq(field(json_object_array_get_idx(m, 2), "role"), "tool");
  json_object_put(b3);
  hvb_call_free(c);
  hvb_result_free(ref);
  g_string_free(s.deltas, TRUE);
  hvb_tools_free(tools);
  hvb_tools_free(sync_tools);
  json_object_put(stream);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(cancel_during_a_delayed_step_aborts_it_and_reports_cancelled_once) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = tool_set(station_now);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL,
               "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
               "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":"
               "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}}]},"
               "\"finish_reason\":\"tool_calls\"}]}");
  /* Step 2's reply comes after 10 s: the cancel must not wait for it. */
  up_chunk slow[1] = {{"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                       "\"content\":\"late\"},\"finish_reason\":\"stop\"}]}",
                       0, 10000}};
  up_response resp = {.chunks = slow, .nchunks = 1};
  up_push(tu_srv, CHAT_PATH, &resp);
  seen s;
  seen_init(&s);
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *c =
      hvb_llm_chat_tools_async(llm, "Weather?", NULL, tools, NULL, on_done, NULL, &s, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  ck_assert(up_wait_requests(tu_srv, 2, 10000)); /* step 2 was sent */
  gint64 t0 = g_get_monotonic_time();
  hvb_call_cancel(c);
  ck_assert_int_lt(g_get_monotonic_time() - t0, 5 * G_USEC_PER_SEC);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert_int_eq(s.status, HVB_CANCELLED);
  ck_assert(hvb_call_wait(c, 0));
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  hvb_call_free(c);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
  g_string_free(s.deltas, TRUE);
}
END_TEST

START_TEST(a_failing_step_fails_the_call_naming_the_step) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = tool_set(station_now);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL,
               "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
               "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":"
               "\"get_weather\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}");
  up_push_body(tu_srv, CHAT_PATH, 400, NULL,
               "{\"error\": {\"message\": \"bad tool message\", \"type\": "
               "\"invalid_request_error\"}}");
  seen s;
  seen_init(&s);
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *c =
      hvb_llm_chat_tools_async(llm, "Weather?", NULL, tools, NULL, on_done, NULL, &s, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(hvb_call_status(c), HVB_HTTP);
  ck_assert_msg(g_str_has_prefix(s.error, "step 2: ") && strstr(s.error, "bad tool message"),
                "%s", s.error);
  ck_assert_ptr_null(hvb_call_result(c));
  hvb_call_free(c);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
  g_string_free(s.deltas, TRUE);
}
END_TEST

int main(void) {
  threads = g_ptr_array_new();
  Suite *s = suite_create("tools-async");
  TCase *mock = tcase_create("mock");
  tcase_set_timeout(mock, 60);
  tcase_add_test(mock, async_tool_answering_later_from_another_thread_completes_the_loop);
  tcase_add_test(mock, async_tool_answering_at_once_and_with_an_error_is_fed_to_the_model);
  tcase_add_test(mock, sync_chat_given_an_async_tool_fails_saying_to_use_the_async_chat);
  tcase_add_test(mock, bad_arguments_fail_before_anything_starts);
  tcase_add_test(mock, cancel_while_an_async_tool_runs_reports_cancelled_once_and_drops_the_answer);
  tcase_add_test(mock, a_tool_that_never_answers_is_freed_by_cancel_then_complete);
  tcase_add_test(mock, a_caller_driven_engine_runs_the_loop_and_its_callbacks_on_the_driver);
  suite_add_tcase(s, mock);
  TCase *up = tcase_create("upstream");
  tcase_set_timeout(up, 60);
  tcase_add_checked_fixture(up, tu_up_setup, tu_up_teardown);
  tcase_add_test(up, streamed_async_loop_passes_deltas_and_tool_results_and_equals_the_sync_loop);
  tcase_add_test(up, cancel_during_a_delayed_step_aborts_it_and_reports_cancelled_once);
  tcase_add_test(up, a_failing_step_fails_the_call_naming_the_step);
  suite_add_tcase(s, up);
  int rc = tu_run(s);
  g_ptr_array_free(threads, TRUE);
  return rc;
}
