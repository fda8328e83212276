/* tests/unit/test-route.c: routes against the fake upstream, in one process (the circuit
 * breakers' state is the process's): a breaker opens after 5 failures, the next calls do not
 * reach its target (counted at the upstream), after the cool-down one trial does and its
 * success closes it; an async routed call falls through like a sync one; a route whose every
 * target is skipped fails saying why. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK_BODY(text)                                                                          \
  "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"       \
  "{\"role\":\"assistant\",\"content\":\"" text "\"},\"finish_reason\":\"stop\"}]}"
#define ERR_BODY "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}"

/* Under valgrind (make check sets HB_TEST_WRAPPER then): fewer calls, same assertions. */
static bool slow(void) {
  const char *w = getenv("HB_TEST_WRAPPER");
  return w && *w;
}

static int scaled(int n) {
  return slow() ? n / 5 : n;
}

/* One chat; its text (g_free), and the result's route record's first attempt outcome. */
static char *chat_text(hvb_llm *llm, char **first_outcome) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(r, "routed chat: %s", err.message);
  char *text = g_strdup(hvb_result_text(r));
  if (first_outcome) {
    json_object *attempts = json_object_object_get(hvb_result_route(r), "attempts");
    json_object *a0 = json_object_array_get_idx(attempts, 0);
    *first_outcome = g_strdup(json_object_get_string(json_object_object_get(a0, "outcome")));
  }
  hvb_result_free(r);
  return text;
}

static char *breaker_state(const char *route, int target) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *st = hvb_route_status(NULL, route, &err);
  ck_assert_msg(st, "route status: %s", err.message);
  json_object *t = json_object_array_get_idx(json_object_object_get(st, "targets"), target);
  json_object *b = json_object_object_get(t, "breaker");
  char *s = g_strdup(json_object_get_string(json_object_object_get(b, "state")));
  json_object_put(st);
  return s;
}

static void push_failures(const char *path, int n, int status) {
  for (int i = 0; i < n; i++) up_push_body(tu_srv, path, status, NULL, ERR_BODY);
}

static void push_ok(const char *path, const char *body) {
  up_chunk c = {.data = body};
  up_response resp = {.chunks = &c, .nchunks = 1, .repeat = true};
  up_push(tu_srv, path, &resp);
}

START_TEST(breaker_opens_after_5_failures_then_one_trial_closes_it) {
  const char *p1 = "/b1/v1/chat/completions", *p2 = "/b2/v1/chat/completions";
  /* Target 1 fails 5 times, then would answer: only the breaker keeps calls away from it. */
  push_failures(p1, 5, 503);
  push_ok(p1, OK_BODY("one"));
  push_ok(p2, OK_BODY("two"));
  /* The cool-down outlasts the 100 calls on a quiet machine (valgrind included), then is
   * waited out. */
  int cooldown = slow() ? 8 : 2;
  char *routes = g_strdup_printf(
      "{\"routes\": {\"br\": {\"breaker\": {\"failures\": 5, \"cooldown\": %d},", cooldown);
  GString *text_routes = g_string_new(routes);
  g_free(routes);
  g_string_append(text_routes,
               " \"targets\": ["
               "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
               " \"base_url\": \"URL/b1/v1\", \"max_retries\": 0},"
               "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
               " \"base_url\": \"URL/b2/v1\"}]}}}");
  tu_write_catalog(text_routes->str);
  g_string_free(text_routes, TRUE);
  hvb_llm *llm = tu_preset_llm("br", NULL);
  char *s = breaker_state("br", 0);
  ck_assert_str_eq(s, "closed");
  g_free(s);
  for (int i = 0; i < 5; i++) {
    char *text = chat_text(llm, NULL);
    ck_assert_str_eq(text, "two");
    g_free(text);
  }
  ck_assert_int_eq(tu_requests_to(p1), 5);
  gint64 opened = g_get_monotonic_time();
  s = breaker_state("br", 0);
  ck_assert_str_eq(s, "open");
  g_free(s);
  /* Calls while it is surely open: a loaded machine may not fit all 100 in the cool-down. */
  int n = 0;
  for (int i = 0; i < scaled(100) && g_get_monotonic_time() - opened < cooldown * 750000;
       i++, n++) {
    char *outcome = NULL;
    char *text = chat_text(llm, &outcome);
    ck_assert_str_eq(text, "two");
    ck_assert_str_eq(outcome, "skipped"); /* the record says why target 1 was not tried */
    g_free(text);
    g_free(outcome);
  }
  ck_assert_int_eq(tu_requests_to(p1), 5); /* not one of the calls reached it */
  ck_assert_int_eq(tu_requests_to(p2), 5 + n);
  ck_assert_int_gt(n, 0);
  gint64 cooled = opened + cooldown * G_USEC_PER_SEC + 200000; /* the cool-down passes */
  if (g_get_monotonic_time() < cooled) g_usleep((gulong)(cooled - g_get_monotonic_time()));
  char *text = chat_text(llm, NULL);
  ck_assert_str_eq(text, "one"); /* the trial call reached target 1, which answered */
  g_free(text);
  ck_assert_int_eq(tu_requests_to(p1), 6);
  s = breaker_state("br", 0);
  ck_assert_str_eq(s, "closed");
  g_free(s);
  text = chat_text(llm, NULL);
  ck_assert_str_eq(text, "one");
  g_free(text);
  ck_assert_int_eq(tu_requests_to(p1), 7);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_failed_trial_opens_the_breaker_again) {
  const char *p1 = "/f1/v1/chat/completions", *p2 = "/f2/v1/chat/completions";
  push_failures(p1, 3, 500);
  push_ok(p1, OK_BODY("one"));
  push_ok(p2, OK_BODY("two"));
  bool long_wait = slow();
  char *routes = g_strdup_printf(
      "{\"routes\": {\"fr\": {\"breaker\": {\"failures\": 2, \"cooldown\": %s},"
               " \"targets\": ["
               "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
               " \"base_url\": \"URL/f1/v1\"},"
               "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
               " \"base_url\": \"URL/f2/v1\"}]}}}", long_wait ? "3" : "0.5");
  tu_write_catalog(routes);
  g_free(routes);
  hvb_llm *llm = tu_preset_llm("fr", NULL);
  for (int i = 0; i < 3; i++) g_free(chat_text(llm, NULL));
  ck_assert_int_eq(tu_requests_to(p1), 2);
  g_usleep(long_wait ? 3200 * 1000 : 700 * 1000);
  g_free(chat_text(llm, NULL)); /* the trial: a 500 */
  ck_assert_int_eq(tu_requests_to(p1), 3);
  char *s = breaker_state("fr", 0);
  ck_assert_str_eq(s, "open");
  g_free(s);
  g_free(chat_text(llm, NULL));
  ck_assert_int_eq(tu_requests_to(p1), 3);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_route_whose_targets_are_all_skipped_fails_saying_why) {
  const char *p1 = "/s1/v1/chat/completions";
  push_failures(p1, 50, 503);
  tu_write_catalog(
      "{\"routes\": {\"sr\": {\"breaker\": {\"failures\": 2, \"cooldown\": 60},"
      " \"targets\": [{\"label\": \"only\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/s1/v1\", \"max_retries\": 0}]}}}");
  hvb_llm *llm = tu_preset_llm("sr", NULL);
  hvb_error err = HVB_ERROR_INIT;
  for (int i = 0; i < 2; i++) {
    ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, NULL, &err));
    ck_assert_int_eq(err.http_status, 503);
  }
  hvb_error_clear(&err);
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_TRANSPORT);
  ck_assert_msg(strstr(err.message, "no target could be tried"), "%s", err.message);
  ck_assert_msg(strstr(err.message, "circuit open"), "%s", err.message);
  ck_assert_int_eq(tu_requests_to(p1), 2);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(an_async_routed_call_falls_through_like_a_sync_one) {
  const char *p1 = "/a1/v1/chat/completions", *p2 = "/a2/v1/chat/completions";
  up_chunk c = {.data = ERR_BODY};
  up_response limited = {.status = 429, .headers = "Retry-After: 30\r\n", .chunks = &c,
                         .nchunks = 1, .repeat = true};
  up_push(tu_srv, p1, &limited);
  push_ok(p2, OK_BODY("two"));
  tu_write_catalog(
      "{\"routes\": {\"ar\": {\"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/a1/v1\"},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/a2/v1\"}]}}}");
  hvb_llm *llm = tu_preset_llm("ar", NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *call = hvb_llm_chat_async(llm, "hi", NULL, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(call, "%s", err.message);
  ck_assert(hvb_call_wait(call, 10000)); /* fails within 10 s, not after Retry-After: 30 */
  hvb_result *r = hvb_call_take_result(call);
  ck_assert_msg(r, "async routed chat failed: %s",
                hvb_call_error(call) ? hvb_call_error(call)->message : "?");
  ck_assert_str_eq(hvb_result_text(r), "two");
  json_object *attempts = json_object_object_get(hvb_result_route(r), "attempts");
  ck_assert_int_eq(json_object_array_length(attempts), 2);
  ck_assert_int_eq(tu_requests_to(p1), 1);
  hvb_result_free(r);
  hvb_call_free(call);
  hvb_llm_free(llm);
}
END_TEST

/* The label of the target that answered one call on `llm` (g_free). */
static char *answered_by(hvb_llm *llm, const char *route_key) {
  json_object *opts = NULL;
  if (route_key) {
    opts = json_object_new_object();
    json_object_object_add(opts, "route_key", json_object_new_string(route_key));
  }
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, opts, &err);
  json_object_put(opts);
  ck_assert_msg(r, "routed chat: %s", err.message);
  char *who = g_strdup(json_object_get_string(json_object_object_get(hvb_result_route(r), "answered")));
  hvb_result_free(r);
  return who;
}

START_TEST(a_weighted_route_of_3_to_1_splits_4000_calls_within_3_percent) {
  tu_write_catalog(
      "{\"routes\": {\"w\": {\"strategy\": \"weighted\", \"targets\": ["
      "{\"label\": \"three\", \"preset\": \"mock\", \"weight\": 3},"
      "{\"label\": \"one\", \"preset\": \"mock\", \"weight\": 1}]}}}");
  hvb_llm *llm = tu_preset_llm("w", NULL);
  int n = scaled(4000), three = 0, one = 0;
  for (int i = 0; i < n; i++) {
    char *who = answered_by(llm, NULL);
    if (!strcmp(who, "three")) three++;
    else if (!strcmp(who, "one")) one++;
    g_free(who);
  }
  ck_assert_int_eq(three + one, n);
  double share = (double)three / n; /* 3:1 is a share of 0.75 */
  ck_assert_msg(share >= 0.75 * 0.97 && share <= 0.75 * 1.03, "3:1 split as %d:%d", three, one);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_hash_route_keeps_a_key_on_one_target_and_spreads_keys) {
  tu_write_catalog(
      "{\"routes\": {\"h\": {\"strategy\": \"hash\", \"targets\": ["
      "{\"label\": \"a\", \"preset\": \"mock\"},"
      "{\"label\": \"b\", \"preset\": \"mock\"},"
      "{\"label\": \"c\", \"preset\": \"mock\"}]}}}");
  hvb_llm *llm = tu_preset_llm("h", NULL);
  char *first = answered_by(llm, "user-42");
  for (int i = 0; i < 20; i++) {
    char *who = answered_by(llm, "user-42");
    ck_assert_str_eq(who, first);
    g_free(who);
  }
  g_free(first);
  int seen[3] = {0};
  for (int k = 0; k < 60; k++) {
    char key[32];
    g_snprintf(key, sizeof key, "user-%d", k);
    char *who = answered_by(llm, key);
    seen[who[0] - 'a']++;
    g_free(who);
  }
  ck_assert_msg(seen[0] && seen[1] && seen[2], "60 keys over 3 targets: %d %d %d", seen[0],
                seen[1], seen[2]);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_least_latency_route_moves_to_the_faster_target) {
  const char *p1 = "/slow/v1/chat/completions", *p2 = "/fast/v1/chat/completions";
  up_chunk slow_chunk = {.data = OK_BODY("slow"), .delay_ms = 300};
  up_response slow = {.chunks = &slow_chunk, .nchunks = 1, .repeat = true};
  up_push(tu_srv, p1, &slow);
  push_ok(p2, OK_BODY("fast"));
  tu_write_catalog(
      "{\"routes\": {\"ll\": {\"strategy\": \"least-latency\", \"targets\": ["
      "{\"label\": \"slow\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/slow/v1\"},"
      "{\"label\": \"fast\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/fast/v1\"}]}}}");
  hvb_llm *llm = tu_preset_llm("ll", NULL);
  for (int i = 0; i < 10; i++) g_free(answered_by(llm, NULL));
  /* Each unmeasured target is tried once; then the faster one takes every call. */
  ck_assert_int_eq(tu_requests_to(p1), 1);
  ck_assert_int_eq(tu_requests_to(p2), 9);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_burst_over_a_targets_rpm_moves_to_the_next_target_without_a_429) {
  const char *p1 = "/r1/v1/chat/completions", *p2 = "/r2/v1/chat/completions";
  int rpm = slow() ? 10 : 60, n = slow() ? 20 : 100;
  /* Target 1 answers 429 to any request beyond its rpm: none may reach it. */
  for (int i = 0; i < rpm; i++) up_push_body(tu_srv, p1, 200, NULL, OK_BODY("one"));
  up_chunk c = {.data = "{\"error\":{\"message\":\"Rate limit reached\"}}"};
  up_response limited = {.status = 429, .chunks = &c, .nchunks = 1, .repeat = true};
  up_push(tu_srv, p1, &limited);
  push_ok(p2, OK_BODY("two"));
  char *routes = g_strdup_printf(
      "{\"routes\": {\"rl\": {\"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/r1/v1\", \"rpm\": %d},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/r2/v1\"}]}}}", rpm);
  tu_write_catalog(routes);
  g_free(routes);
  hvb_llm *llm = tu_preset_llm("rl", NULL);
  gint64 start = g_get_monotonic_time();
  int ones = 0;
  for (int i = 0; i < n; i++) {
    char *who = answered_by(llm, NULL);
    ones += !strcmp(who, "one");
    g_free(who);
  }
  double secs = (double)(g_get_monotonic_time() - start) / 1e6;
  /* The bucket refills at rpm/60 a second while the burst runs. */
  int allowed = rpm + (int)(secs * rpm / 60.0) + 1;
  ck_assert_msg(ones >= rpm && ones <= allowed, "%d calls answered by target 1 (rpm %d)", ones,
                rpm);
  ck_assert_int_eq(tu_requests_to(p1), ones); /* every request to it was answered: no 429 */
  ck_assert_int_eq(tu_requests_to(p2), n - ones);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_route_that_waits_holds_a_sync_call_for_the_next_slot) {
  const char *p1 = "/wt/v1/chat/completions";
  push_ok(p1, OK_BODY("one"));
  tu_write_catalog(
      "{\"routes\": {\"wt\": {\"on_limit\": \"wait\", \"deadline\": 30,"
      " \"targets\": [{\"label\": \"one\", \"model\": \"m\","
      " \"provider\": \"openai\", \"base_url\": \"URL/wt/v1\","
      " \"rpm\": 600, \"burst\": 5}]}}}");
  hvb_llm *llm = tu_preset_llm("wt", NULL);
  gint64 start = g_get_monotonic_time();
  for (int i = 0; i < 10; i++) g_free(answered_by(llm, NULL));
  double secs = (double)(g_get_monotonic_time() - start) / 1e6;
  /* 5 at once, then one every 0.1 s: the last 5 waited about 0.5 s in all. */
  ck_assert_msg(secs >= 0.45, "10 calls at 600 rpm with a burst of 5 took %.2f s", secs);
  ck_assert_int_eq(tu_requests_to(p1), 10);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_target_that_said_retry_after_is_left_alone_that_long) {
  const char *p1 = "/q1/v1/chat/completions", *p2 = "/q2/v1/chat/completions";
  up_chunk c = {.data = ERR_BODY};
  up_response limited = {.status = 429, .headers = "Retry-After: 30\r\n", .chunks = &c,
                         .nchunks = 1, .repeat = true};
  up_push(tu_srv, p1, &limited);
  push_ok(p2, OK_BODY("two"));
  tu_write_catalog(
      "{\"routes\": {\"q\": {\"breaker\": false, \"targets\": ["
      "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/q1/v1\"},"
      "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\","
      " \"base_url\": \"URL/q2/v1\"}]}}}");
  hvb_llm *llm = tu_preset_llm("q", NULL);
  g_free(chat_text(llm, NULL));
  for (int i = 0; i < 5; i++) {
    char *outcome = NULL;
    char *text = chat_text(llm, &outcome);
    ck_assert_str_eq(text, "two");
    ck_assert_str_eq(outcome, "skipped");
    g_free(text);
    g_free(outcome);
  }
  ck_assert_int_eq(tu_requests_to(p1), 1); /* the 30 s it asked for are not over */
  ck_assert_int_eq(tu_requests_to(p2), 6);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("route");
  TCase *tc = tcase_create("breakers");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, breaker_opens_after_5_failures_then_one_trial_closes_it);
  tcase_add_test(tc, a_failed_trial_opens_the_breaker_again);
  tcase_add_test(tc, a_route_whose_targets_are_all_skipped_fails_saying_why);
  tcase_add_test(tc, an_async_routed_call_falls_through_like_a_sync_one);
  suite_add_tcase(s, tc);
  TCase *st = tcase_create("strategies");
  tcase_set_timeout(st, 120);
  tcase_add_checked_fixture(st, tu_up_setup, tu_up_teardown);
  tcase_add_test(st, a_weighted_route_of_3_to_1_splits_4000_calls_within_3_percent);
  tcase_add_test(st, a_hash_route_keeps_a_key_on_one_target_and_spreads_keys);
  tcase_add_test(st, a_least_latency_route_moves_to_the_faster_target);
  tcase_add_test(st, a_burst_over_a_targets_rpm_moves_to_the_next_target_without_a_429);
  tcase_add_test(st, a_route_that_waits_holds_a_sync_call_for_the_next_slot);
  tcase_add_test(st, a_target_that_said_retry_after_is_left_alone_that_long);
  suite_add_tcase(s, st);
  return tu_run(s);
}
