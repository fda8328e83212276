/* tests/unit/test-usage.c: cost and timing of results against the fake upstream: the cost is
 * the catalog's price by hand, a cached repeat costs nothing and records the saving, a model
 * without a price has an unknown cost, and the timing parts add up to the wall time of the
 * calls (1,000 of them; a few dozen under valgrind). */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-usage-unit-0123456789"
#define CHAT_PATH "/v1/chat/completions"

/* 1,000 tokens in, 200 of them cached, 500 out. */
static const char reply[] =
    "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":"
    "{\"prompt_tokens\":1000,\"completion_tokens\":500,\"total_tokens\":1500,"
    "\"prompt_tokens_details\":{\"cached_tokens\":200}}}";

/* priced-model: $3 in, $12 out, $0.75 cached in per million tokens (a drop-in file). */
static void setup(void) {
  tu_up_setup();
  char *path = g_build_filename(getenv("HB_CONFIG_DIR"), "catalog.d", "prices.json", NULL);
  tu_write_file(path,
                "{\"models\": {\"priced-model\": {\"ids\": {\"openai\": \"priced-model\"}, "
                "\"default_provider\": \"openai\", \"kind\": \"chat\", \"prices\": {\"openai\": "
                "{\"input\": 3, \"output\": 12, \"cached_input\": 0.75}}},"
                "\"gpt-5\": {\"prices\": {\"openai\": {\"input\": 1, \"output\": 1}}}}}");
  g_free(path);
}

static void push_reply(int n) {
  up_response r = {.chunks = (up_chunk[]){{reply, 0, 0}}, .nchunks = 1, .repeat = n < 0};
  for (int i = 0; i < (n < 0 ? 1 : n); i++) up_push(tu_srv, CHAT_PATH, &r);
}

static json_object *deterministic(void) {
  return tu_parse("{\"temperature\": 0}");
}

START_TEST(cost_is_the_catalog_price_by_hand) {
  push_reply(1);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "priced-model", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  json_object *opts = deterministic();
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, opts, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_cost c;
  ck_assert(hvb_result_cost(r, &c));
  /* (800 * 3 + 200 * 0.75 + 500 * 12) / 1e6 */
  ck_assert_double_eq_tol(c.usd, (800 * 3.0 + 200 * 0.75 + 500 * 12.0) / 1e6, 1e-12);
  ck_assert_int_eq(c.input_tokens, 1000);
  ck_assert_int_eq(c.output_tokens, 500);
  ck_assert_int_eq(c.cached_tokens, 200);
  ck_assert(!c.cached);
  ck_assert_double_eq(c.saved_usd, 0);
  hvb_result_free(r);

  /* The same deterministic call again: the cache answers, it costs nothing and saves as much. */
  r = hvb_llm_chat(llm, "hi", NULL, opts, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(hvb_result_cached(r));
  ck_assert(hvb_result_cost(r, &c));
  ck_assert(c.cached);
  ck_assert_double_eq(c.usd, 0);
  ck_assert_double_eq_tol(c.saved_usd, 0.00855, 1e-12);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  json_object *v = hvb_result_project(r, "cost", NULL, &err);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "saved_usd")), "0.00855");
  json_object_put(v);
  hvb_result_free(r);
  json_object_put(opts);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_drop_in_price_overrides_the_bundled_one) {
  push_reply(1);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-5", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_cost c;
  ck_assert(hvb_result_cost(r, &c));
  /* $1 in and out; the drop-in merges over the bundled entry, so the bundled cached input
   * price ($0.125) stays: 800 * 1 + 200 * 0.125 + 500 * 1. */
  ck_assert_double_eq_tol(c.usd, (800 + 200 * 0.125 + 500) / 1e6, 1e-12);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_model_without_a_price_has_an_unknown_cost) {
  push_reply(1);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "no-such-price", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_cost c;
  ck_assert(!hvb_result_cost(r, &c));
  ck_assert(!c.known);
  ck_assert_int_eq(c.input_tokens, 1000);
  json_object *v = hvb_result_project(r, "cost", NULL, &err);
  ck_assert(json_object_object_get_ex(v, "usd", NULL));
  ck_assert_ptr_null(json_object_object_get(v, "usd")); /* null, not 0 */
  json_object_put(v);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

static double part(json_object *t, const char *k) {
  json_object *v = json_object_object_get(t, k);
  ck_assert_msg(v != NULL, "timing has no %s", k);
  return json_object_get_double(v);
}

START_TEST(timing_parts_add_up_to_the_wall_time) {
  const char *wrapper = getenv("HB_TEST_WRAPPER");
  int n = wrapper && *wrapper ? 30 : 1000;
  push_reply(-1);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "priced-model", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  double wall = 0, parts = 0, ttfb = 0;
  /* One call first: opening the ledger and the connection are once per LLM, not per call,
   * and under valgrind they would outweigh 30 calls. */
  hvb_result_free(hvb_llm_chat(llm, "warm up", NULL, NULL, &err));
  for (int i = 0; i < n; i++) {
    gint64 t0 = g_get_monotonic_time();
    hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
    wall += (double)(g_get_monotonic_time() - t0) / 1000.0;
    ck_assert_msg(r != NULL, "%s", err.message);
    json_object *t = hvb_result_timing(r);
    ck_assert(t != NULL);
    parts += part(t, "total_ms") - part(t, "other_ms");
    ttfb += part(t, "ttfb_ms");
    ck_assert(part(t, "ttfb_ms") <= part(t, "total_ms"));
    ck_assert_int_eq(json_object_get_int(json_object_object_get(t, "attempts")), 1);
    hvb_result_free(r);
  }
  /* 5 %: the bound, over 1,000 calls. Under valgrind the library's own code between
   * the timed parts runs some 50 times slower and 30 calls are too few to dilute it: the run
   * there is for memory, and a looser bound still catches a part that is not counted. */
  double bound = wrapper && *wrapper ? 0.15 : 0.05;
#if defined(__SANITIZE_ADDRESS__)
  /* The same under ASan, by less: that code runs several times slower (5.4 % seen in CI). */
  bound = MAX(bound, 0.10);
#endif
  ck_assert_msg(fabs(wall - parts) <= bound * wall,
                "%d calls: the parts add up to %.3f ms, the wall time is %.3f ms", n, parts, wall);
  ck_assert(ttfb > 0);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(an_async_call_is_accounted_too) {
  push_reply(-1);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "priced-model", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *call = hvb_llm_chat_async(llm, "hi", NULL, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(call != NULL, "%s", err.message);
  ck_assert(hvb_call_wait(call, -1));
  const hvb_result *r = hvb_call_result(call);
  ck_assert_msg(r != NULL, "%s", hvb_call_error(call)->message);
  hvb_cost c;
  ck_assert(hvb_result_cost(r, &c));
  ck_assert_double_eq_tol(c.usd, 0.00855, 1e-12);
  ck_assert(json_object_object_get(json_object_object_get(hvb_result_timing(r), "queued_ms"),
                                   "engine_ms") != NULL);
  hvb_call_free(call);
  hvb_llm_free(llm);
}
END_TEST

static json_object *slow_tool(json_object *args, void *ud, hvb_error *err) {
  (void)args, (void)ud, (void)err;
  g_usleep(20000);
  return json_object_new_string("done");
}

START_TEST(a_tool_loop_costs_the_sum_of_its_steps) {
  /* Step 1 calls the tool, step 2 answers; each reports 1,000 in (200 cached) and 500 out. */
  const char *call =
      "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
      "\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":"
      "\"slow\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":"
      "{\"prompt_tokens\":1000,\"completion_tokens\":500,\"prompt_tokens_details\":"
      "{\"cached_tokens\":200}}}";
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, call);
  push_reply(1);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "priced-model", KEY, NULL);
  hvb_tools *ts = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  json_object *params = tu_parse("{\"type\": \"object\", \"properties\": {}}");
  ck_assert(hvb_tools_add(ts, "slow", "waits 20 ms", params, slow_tool, NULL, &err));
  hvb_result *r = hvb_llm_chat_tools(llm, "go", NULL, ts, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq((int)hvb_result_steps(r), 2);
  hvb_cost c;
  ck_assert(hvb_result_cost(r, &c));
  ck_assert_double_eq_tol(c.usd, 2 * 0.00855, 1e-12);
  ck_assert_int_eq(c.input_tokens, 2000);
  json_object *t = hvb_result_timing(r);
  json_object *steps = json_object_object_get(t, "steps");
  ck_assert_int_eq((int)json_object_array_length(steps), 2);
  double tools_ms = json_object_get_double(
      json_object_object_get(json_object_array_get_idx(steps, 0), "tools_ms"));
  ck_assert_msg(tools_ms >= 20.0, "step 1's tools took %.3f ms", tools_ms);
  ck_assert(json_object_get_double(json_object_object_get(t, "tools_ms")) >= 20.0);
  json_object_put(params);
  hvb_result_free(r);
  hvb_tools_free(ts);
  hvb_llm_free(llm);
}
END_TEST

/* An async tool that answers from another thread 30 ms later. */
static gpointer answer_later(gpointer call) {
  g_usleep(30000);
  hvb_tool_call_complete(call, json_object_new_string("done"), NULL);
  return NULL;
}

static void later_tool(json_object *args, hvb_tool_call *call, void *ud) {
  (void)args, (void)ud;
  g_thread_unref(g_thread_new("tool", answer_later, call));
}

START_TEST(an_async_tool_loop_times_its_tools_per_step) {
  /* Step 1 calls the tool, step 2 answers. */
  const char *call =
      "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
      "\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":"
      "\"later\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":"
      "{\"prompt_tokens\":1000,\"completion_tokens\":500,\"prompt_tokens_details\":"
      "{\"cached_tokens\":200}}}";
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, call);
  push_reply(1);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "priced-model", KEY, NULL);
  hvb_tools *ts = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  json_object *params = tu_parse("{\"type\": \"object\", \"properties\": {}}");
  ck_assert(hvb_tools_add_async(ts, "later", "answers in 30 ms", params, later_tool, NULL, &err));
  hvb_call *c = hvb_llm_chat_tools_async(llm, "go", NULL, ts, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  ck_assert(hvb_call_wait(c, -1));
  const hvb_result *r = hvb_call_result(c);
  ck_assert_msg(r != NULL, "%s", hvb_call_error(c)->message);
  ck_assert_int_eq((int)hvb_result_steps(r), 2);
  hvb_cost cost;
  ck_assert(hvb_result_cost(r, &cost));
  ck_assert_double_eq_tol(cost.usd, 2 * 0.00855, 1e-12);
  json_object *t = hvb_result_timing(r);
  json_object *steps = json_object_object_get(t, "steps");
  ck_assert_int_eq((int)json_object_array_length(steps), 2);
  double step1 = json_object_get_double(
      json_object_object_get(json_object_array_get_idx(steps, 0), "tools_ms"));
  double step2 = json_object_get_double(
      json_object_object_get(json_object_array_get_idx(steps, 1), "tools_ms"));
  ck_assert_msg(step1 >= 30.0, "step 1's tools took %.3f ms, the tool 30 ms", step1);
  ck_assert_msg(step2 == 0.0, "step 2 ran no tool, yet %.3f ms", step2);
  ck_assert(json_object_get_double(json_object_object_get(t, "tools_ms")) >= 30.0);
  json_object_put(params);
  hvb_call_free(c);
  hvb_tools_free(ts);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("usage");
  TCase *tc = tcase_create("cost and timing");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, tu_up_teardown);
  tcase_add_test(tc, cost_is_the_catalog_price_by_hand);
  tcase_add_test(tc, a_drop_in_price_overrides_the_bundled_one);
  tcase_add_test(tc, a_model_without_a_price_has_an_unknown_cost);
  tcase_add_test(tc, timing_parts_add_up_to_the_wall_time);
  tcase_add_test(tc, an_async_call_is_accounted_too);
  tcase_add_test(tc, a_tool_loop_costs_the_sum_of_its_steps);
  tcase_add_test(tc, an_async_tool_loop_times_its_tools_per_step);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
