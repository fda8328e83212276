/* tests/unit/test-route-hedge.c: hedged requests (a route's "hedge") against the fake
 * upstream: target 1 holds its answer back 2 s; after the hedge delay target 2 is started
 * too, its answer wins, the call returns at about target 2's time, and target 1's transfer
 * is closed early (the upstream counts the response it could not finish). */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#define OK_BODY(text)                                                                          \
  "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"       \
  "{\"role\":\"assistant\",\"content\":\"" text "\"},\"finish_reason\":\"stop\"}]}"

static const char *attempt_field(json_object *route, size_t i, const char *field) {
  json_object *a = json_object_array_get_idx(json_object_object_get(route, "attempts"), i);
  return json_object_get_string(json_object_object_get(a, field));
}

START_TEST(a_slow_first_target_is_hedged_and_cancelled) {
  /* Under valgrind (HB_TEST_WRAPPER) the first call through the stack alone takes seconds:
   * target 1 then holds back 10 s, so that the race is still target 2's to win, and the
   * time bound is only a hang's; the record and the upstream still show the race. */
  const char *w = getenv("HB_TEST_WRAPPER");
  bool slow_run = w && *w;
  up_chunk slow = {.data = OK_BODY("one")};
  up_response held = {.chunks = &slow, .nchunks = 1, .repeat = true};
  up_faults late = {.head_delay_ms = slow_run ? 10000 : 2000};
  up_push_faults(tu_srv, "/s1/v1/chat/completions", &held, &late);
  up_chunk fast = {.data = OK_BODY("two")};
  up_response quick = {.chunks = &fast, .nchunks = 1, .repeat = true};
  up_push(tu_srv, "/s2/v1/chat/completions", &quick);
  tu_write_catalog(
      "{\"routes\": {\"h\": {\"hedge_after_ms\": 200, \"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/s1/v1\"},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/s2/v1\"}]}}}");
  hvb_llm *llm = tu_preset_llm("h", NULL);
  hvb_error err = HVB_ERROR_INIT;
  gint64 start = g_get_monotonic_time();
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  double secs = (double)(g_get_monotonic_time() - start) / 1e6;
  ck_assert_msg(r, "hedged chat: %s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "two");
  /* Target 2 answers at once after the 0.2 s delay; target 1 would take 2 s. */
  double bound = slow_run ? 9 : 1.5;
  ck_assert_msg(secs < bound, "the hedged call took %.2f s (target 1 holds back 2 s)", secs);
  json_object *route = hvb_result_route(r);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(route, "answered")), "two");
  ck_assert_str_eq(attempt_field(route, 0, "target"), "two");
  ck_assert_str_eq(attempt_field(route, 0, "outcome"), "answered");
  ck_assert_str_eq(attempt_field(route, 1, "target"), "one");
  ck_assert_str_eq(attempt_field(route, 1, "outcome"), "cancelled");
  hvb_result_free(r);
  /* Target 1's transfer went away before its answer: the upstream saw the close. */
  for (int i = 0; i < 100 && up_aborted_count(tu_srv) == 0; i++) g_usleep(50 * 1000);
  ck_assert_int_eq(up_aborted_count(tu_srv), 1);
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_first_target_that_answers_in_time_is_not_hedged) {
  up_chunk c = {.data = OK_BODY("one")};
  up_response ok = {.chunks = &c, .nchunks = 1, .repeat = true};
  up_push(tu_srv, "/t1/v1/chat/completions", &ok);
  up_push(tu_srv, "/t2/v1/chat/completions", &ok);
  tu_write_catalog(
      "{\"routes\": {\"h\": {\"hedge\": true, \"hedge_after_ms\": 3000, \"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/t1/v1\"},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/t2/v1\"}]}}}");
  hvb_llm *llm = tu_preset_llm("h", NULL);
  for (int i = 0; i < 10; i++) {
    hvb_error err = HVB_ERROR_INIT;
    hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
    ck_assert_msg(r, "chat: %s", err.message);
    ck_assert_str_eq(hvb_result_text(r), "one");
    hvb_result_free(r);
  }
  ck_assert_int_eq(up_request_count(tu_srv), 10); /* target 2 never asked */
  ck_assert_int_eq(up_aborted_count(tu_srv), 0);
  hvb_llm_free(llm);
}
END_TEST

static void keep_warning(hvb_log_level level, const char *message, void *data) {
  (void)level;
  if (strstr(message, "'hedge'")) g_string_append((GString *)data, message);
}

/* A drop-in with a broken route is skipped, with a warning naming the route and field. */
START_TEST(a_hedge_field_of_the_wrong_type_refuses_the_route) {
  tu_write_catalog("{\"routes\": {\"bad\": {\"hedge\": \"yes\", \"targets\": [\"mock\"]}}}");
  GString *warned = g_string_new(NULL);
  hvb_log_set_handler(keep_warning, HVB_LOG_WARN, warned);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "preset", json_object_new_string("bad"));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  hvb_log_set_handler(NULL, HVB_LOG_WARN, NULL);
  ck_assert_ptr_null(llm);
  ck_assert_msg(strstr(warned->str, "route 'bad'") && strstr(warned->str, "true or false"),
                "warning: %s", warned->str);
  g_string_free(warned, TRUE);
}
END_TEST

int main(void) {
  Suite *s = suite_create("route-hedge");
  TCase *tc = tcase_create("hedge");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, a_slow_first_target_is_hedged_and_cancelled);
  tcase_add_test(tc, a_first_target_that_answers_in_time_is_not_hedged);
  tcase_add_test(tc, a_hedge_field_of_the_wrong_type_refuses_the_route);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
