/* tests/unit/test-route-headers.c: a route learns a target's rate limit from the headers its
 * provider states it in (the catalog's "rate_limit_headers": OpenAI's x-ratelimit-*, with
 * durations, Anthropic's anthropic-ratelimit-*, with RFC 3339 times, or a drop-in
 * provider's own names), against the fake upstream in one process: after a reply that says
 * nothing is left until a reset, the next calls move on (or wait, as the route says) and
 * never reach that target to be refused with a 429. */
#include "testutil.h"
#include "upstream/upstream.h"
#include "call/ratelimit-headers.h"

#include <heavenbase/heavenbase.h>
#include <heavenbase/observe.h>

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK_BODY(text)                                                                          \
  "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"       \
  "{\"role\":\"assistant\",\"content\":\"" text "\"},\"finish_reason\":\"stop\"}],"           \
  "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}"
#define LIMITED_BODY "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}"
#define ANTHROPIC_BODY(text)                                                                   \
  "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\"," \
  "\"content\":[{\"type\":\"text\",\"text\":\"" text "\"}],\"stop_reason\":\"end_turn\","        \
  "\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}"

/* One routed chat: who answered (g_free) and the first attempt's outcome and reason. */
static char *answered_by(hvb_llm *llm, char **first_outcome, char **first_reason) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(r, "routed chat: %s", err.message);
  json_object *route = hvb_result_route(r);
  char *who = g_strdup(json_object_get_string(json_object_object_get(route, "answered")));
  json_object *a0 = json_object_array_get_idx(json_object_object_get(route, "attempts"), 0);
  if (first_outcome)
    *first_outcome = g_strdup(json_object_get_string(json_object_object_get(a0, "outcome")));
  if (first_reason)
    *first_reason = g_strdup(json_object_get_string(json_object_object_get(a0, "reason")));
  hvb_result_free(r);
  return who;
}

/* Target 1 answers once, saying what is left (the header lines `said`), then answers 429 to
 * anything more: a request that reaches it again is one the route should have kept away. */
static void script_target_1(const char *path, const char *said, const char *body) {
  up_chunk ok = {.data = body};
  up_response first = {.headers = said, .chunks = &ok, .nchunks = 1};
  up_push(tu_srv, path, &first);
  up_chunk no = {.data = LIMITED_BODY};
  up_response limited = {.status = 429, .chunks = &no, .nchunks = 1, .repeat = true};
  up_push(tu_srv, path, &limited);
}

static void push_ok(const char *path, const char *body) {
  up_chunk c = {.data = body};
  up_response resp = {.chunks = &c, .nchunks = 1, .repeat = true};
  up_push(tu_srv, path, &resp);
}

START_TEST(openai_headers_saying_no_requests_left_move_the_next_calls_on) {
  const char *p1 = "/o1/v1/chat/completions", *p2 = "/o2/v1/chat/completions";
  script_target_1(p1,
                  "x-ratelimit-limit-requests: 500\r\nx-ratelimit-remaining-requests: 0\r\n"
                  "x-ratelimit-reset-requests: 6m0s\r\nx-ratelimit-remaining-tokens: 149984\r\n"
                  "x-ratelimit-reset-tokens: 6ms\r\n",
                  OK_BODY("one"));
  push_ok(p2, OK_BODY("two"));
  tu_write_catalog(
      "{\"routes\": {\"o\": {\"breaker\": false, \"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/o1/v1\"},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/o2/v1\"}]}}}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = tu_preset_llm("o", &err);
  ck_assert_msg(llm, "%s", err.message);
  char *who = answered_by(llm, NULL, NULL);
  ck_assert_str_eq(who, "one");
  g_free(who);
  for (int i = 0; i < 5; i++) {
    char *outcome = NULL, *reason = NULL;
    who = answered_by(llm, &outcome, &reason);
    ck_assert_str_eq(who, "two");
    ck_assert_str_eq(outcome, "skipped");
    ck_assert_msg(strstr(reason, "rate-limit headers"), "reason: %s", reason);
    g_free(who), g_free(outcome), g_free(reason);
  }
  ck_assert_int_eq(tu_requests_to(p1), 1); /* no 429: the 6 minutes it said are not over */
  ck_assert_int_eq(tu_requests_to(p2), 5);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_route_that_waits_holds_the_call_until_the_stated_reset) {
  const char *p1 = "/w1/v1/chat/completions";
  /* Remaining 0 until 700 ms from now; then the target answers again (no 429 if it waited:
   * a call sent too early gets the 429 and, with one target, fails). */
  up_chunk ok = {.data = OK_BODY("one")};
  up_response first = {.headers = "x-ratelimit-remaining-requests: 0\r\n"
                                  "x-ratelimit-reset-requests: 700ms\r\n",
                       .chunks = &ok, .nchunks = 1};
  up_push(tu_srv, p1, &first);
  push_ok(p1, OK_BODY("one again"));
  tu_write_catalog(
      "{\"routes\": {\"w\": {\"on_limit\": \"wait\", \"deadline\": 30, \"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/w1/v1\"}]}}}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = tu_preset_llm("w", &err);
  ck_assert_msg(llm, "%s", err.message);
  g_free(answered_by(llm, NULL, NULL));
  gint64 start = g_get_monotonic_time();
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  double secs = (double)(g_get_monotonic_time() - start) / 1e6;
  ck_assert_msg(r, "the waiting call: %s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "one again");
  ck_assert_msg(secs >= 0.6, "the call went after %.2f s, before the stated reset (0.7 s)", secs);
  hvb_result_free(r);
  ck_assert_int_eq(tu_requests_to(p1), 2);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(anthropic_headers_with_an_rfc3339_reset_move_the_next_calls_on) {
  const char *p1 = "/a1/v1/messages", *p2 = "/a2/v1/chat/completions";
  GDateTime *now = g_date_time_new_now_utc();
  GDateTime *later = g_date_time_add_seconds(now, 60);
  char *reset = g_date_time_format(later, "%Y-%m-%dT%H:%M:%SZ");
  char *said = g_strdup_printf("anthropic-ratelimit-requests-limit: 50\r\n"
                               "anthropic-ratelimit-requests-remaining: 0\r\n"
                               "anthropic-ratelimit-requests-reset: %s\r\n", reset);
  script_target_1(p1, said, ANTHROPIC_BODY("claude"));
  push_ok(p2, OK_BODY("two"));
  tu_write_catalog(
      "{\"routes\": {\"a\": {\"breaker\": false, \"targets\": ["
      "{\"label\": \"claude\", \"model\": \"claude-sonnet-4.5\","
      " \"provider\": \"anthropic\", \"api_key\": \"k\", \"base_url\": \"URL/a1/v1\"},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/a2/v1\"}]}}}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = tu_preset_llm("a", &err);
  ck_assert_msg(llm, "%s", err.message);
  char *who = answered_by(llm, NULL, NULL);
  ck_assert_str_eq(who, "claude");
  g_free(who);
  for (int i = 0; i < 3; i++) {
    char *outcome = NULL;
    who = answered_by(llm, &outcome, NULL);
    ck_assert_str_eq(who, "two");
    ck_assert_str_eq(outcome, "skipped");
    g_free(who), g_free(outcome);
  }
  ck_assert_int_eq(tu_requests_to(p1), 1);
  hvb_llm_free(llm);
  g_free(said), g_free(reset);
  g_date_time_unref(later), g_date_time_unref(now);
}
END_TEST

START_TEST(a_drop_in_provider_names_its_own_headers) {
  const char *p1 = "/d1/v1/chat/completions", *p2 = "/d2/v1/chat/completions";
  script_target_1(p1, "X-Left: 0\r\nX-Left-Reset: 30s\r\n", OK_BODY("one"));
  push_ok(p2, OK_BODY("two"));
  tu_write_catalog(
      "{\"providers\": {\"acme\": {\"base_url\": \"URL/d1/v1\", \"gateway\": \"openai\","
      " \"description\": \"a drop-in provider\", \"rate_limit_headers\":"
      " {\"requests_remaining\": \"x-left\", \"requests_reset\": \"x-left-reset\"}}},"
      " \"routes\": {\"d\": {\"breaker\": false, \"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"acme\"},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/d2/v1\"}]}}}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = tu_preset_llm("d", &err);
  ck_assert_msg(llm, "%s", err.message);
  for (int i = 0; i < 3; i++) g_free(answered_by(llm, NULL, NULL));
  ck_assert_int_eq(tu_requests_to(p1), 1);
  ck_assert_int_eq(tu_requests_to(p2), 2);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(an_unknown_meaning_in_rate_limit_headers_refuses_the_route) {
  tu_write_catalog(
      "{\"providers\": {\"acme\": {\"base_url\": \"URL/d1/v1\", \"gateway\": \"openai\","
      " \"rate_limit_headers\": {\"requests_left\": \"x-left\"}}},"
      " \"routes\": {\"bad\": {\"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"acme\"}]}}}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = tu_preset_llm("bad", &err);
  ck_assert_ptr_null(llm);
  ck_assert_int_eq(err.status, HVB_CONFIG);
  ck_assert_msg(strstr(err.message, "provider 'acme'") && strstr(err.message, "'requests_left'"),
                "message: %s", err.message);
}
END_TEST

static void count_ok_records(const hvb_call_record *rec, void *data) {
  if (rec->status == HVB_OK) (*(int *)data)++;
}

/* The route record is made when first read, from the route's definition, which the result
 * holds: it stays readable after the LLM is gone (valgrind checks the memory). And the call
 * is observed: a fallback keeps the LLM's telemetry (and usage) settings across targets. */
START_TEST(a_fallen_back_call_is_observed_and_its_record_outlives_the_llm) {
  const char *p1 = "/f1/v1/chat/completions", *p2 = "/f2/v1/chat/completions";
  up_push_body(tu_srv, p1, 503, NULL, LIMITED_BODY);
  push_ok(p2, OK_BODY("two"));
  tu_write_catalog(
      "{\"routes\": {\"f\": {\"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/f1/v1\"},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"api_key\": \"k\", \"base_url\": \"URL/f2/v1\"}]}}}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = tu_preset_llm("f", &err);
  ck_assert_msg(llm, "%s", err.message);
  int observed = 0;
  hvb_llm_set_observer(llm, count_ok_records, &observed);
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(r, "routed chat: %s", err.message);
  ck_assert_int_eq(observed, 1);
  hvb_llm_free(llm);
  json_object *route = hvb_result_route(r);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(route, "name")), "f");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(route, "answered")), "two");
  json_object *a0 = json_object_array_get_idx(json_object_object_get(route, "attempts"), 0);
  ck_assert_int_eq(json_object_get_int(json_object_object_get(a0, "http_status")), 503);
  ck_assert_ptr_eq(hvb_result_route(r), route); /* made once */
  hvb_result_free(r);
}
END_TEST

START_TEST(reset_values_read_as_durations_or_rfc3339_times) {
  int64_t us = -1;
  ck_assert(hvb__ratelimit_reset_in("1s", &us));
  ck_assert_int_eq(us, 1000000);
  ck_assert(hvb__ratelimit_reset_in("6m0s", &us));
  ck_assert_int_eq(us, 360000000);
  ck_assert(hvb__ratelimit_reset_in("20ms", &us));
  ck_assert_int_eq(us, 20000);
  ck_assert(hvb__ratelimit_reset_in("1h2m3.5s", &us));
  ck_assert_int_eq(us, 3723500000LL);
  ck_assert(hvb__ratelimit_reset_in("2.5", &us)); /* a bare number: seconds */
  ck_assert_int_eq(us, 2500000);
  ck_assert(hvb__ratelimit_reset_in("2001-01-01T00:00:00Z", &us)); /* past: now */
  ck_assert_int_eq(us, 0);
  GDateTime *now = g_date_time_new_now_utc();
  GDateTime *later = g_date_time_add_seconds(now, 90);
  g_date_time_unref(now);
  char *text = g_date_time_format(later, "%Y-%m-%dT%H:%M:%S+00:00");
  ck_assert(hvb__ratelimit_reset_in(text, &us));
  ck_assert_msg(us > 80 * G_USEC_PER_SEC && us <= 90 * G_USEC_PER_SEC, "%lld us", (long long)us);
  g_free(text);
  g_date_time_unref(later);
  ck_assert(!hvb__ratelimit_reset_in("soon", &us));
  ck_assert(!hvb__ratelimit_reset_in("", &us));
  ck_assert(!hvb__ratelimit_reset_in("5x", &us));
  ck_assert(!hvb__ratelimit_reset_in("-1s", &us));
}
END_TEST

int main(void) {
  Suite *s = suite_create("route-headers");
  TCase *tc = tcase_create("learned");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, openai_headers_saying_no_requests_left_move_the_next_calls_on);
  tcase_add_test(tc, a_route_that_waits_holds_the_call_until_the_stated_reset);
  tcase_add_test(tc, anthropic_headers_with_an_rfc3339_reset_move_the_next_calls_on);
  tcase_add_test(tc, a_drop_in_provider_names_its_own_headers);
  tcase_add_test(tc, an_unknown_meaning_in_rate_limit_headers_refuses_the_route);
  tcase_add_test(tc, a_fallen_back_call_is_observed_and_its_record_outlives_the_llm);
  suite_add_tcase(s, tc);
  TCase *pc = tcase_create("parse");
  tcase_add_test(pc, reset_values_read_as_durations_or_rfc3339_times);
  suite_add_tcase(s, pc);
  return tu_run(s);
}
