/* tests/unit/test-error.c: status names, messages, error filling and redaction. */
#include "testutil.h"
#include "base/log.h"
#include "base/error.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(every_status_has_a_distinct_name_and_message) {
  int n = 0;
#define CHECK_ONE_(name, code, msg)                                  \
  ck_assert_str_eq(hvb_status_name(HVB_##name), #name);              \
  ck_assert_str_eq(hvb_strerror(HVB_##name), msg);                   \
  ck_assert_int_eq(HVB_##name, code);                                \
  n++;
  HVB_STATUS_MAP(CHECK_ONE_)
#undef CHECK_ONE_
  ck_assert_int_ge(n, 16);
  ck_assert_str_eq(hvb_status_name((hvb_status)9999), "UNKNOWN");
}
END_TEST

START_TEST(fail_fills_and_returns_false) {
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb__fail(&err, HVB_EINVAL, "bad '%s'", "temperature"));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_str_eq(err.message, "bad 'temperature'");
  ck_assert(!hvb__fail(NULL, HVB_EINVAL, "ignored"));
  ck_assert(!hvb__fail_http(&err, HVB_HTTP, 429, "rate_limit_exceeded", "HTTP %d\nmore", 429));
  ck_assert_int_eq(err.http_status, 429);
  ck_assert_str_eq(err.type, "rate_limit_exceeded");
  ck_assert_str_eq(err.message, "HTTP 429 more"); /* one line */
  hvb__error_prefix(&err, "chat with %s", "mock");
  ck_assert_str_eq(err.message, "chat with mock: HTTP 429 more");
  hvb_error_clear(&err);
  ck_assert_int_eq(err.status, HVB_OK);
  ck_assert_str_eq(err.message, "");
}
END_TEST

START_TEST(long_messages_are_truncated_not_overflowed) {
  hvb_error err = HVB_ERROR_INIT;
  char big[4000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  hvb__fail(&err, HVB_PARSE, "%s", big);
  ck_assert_uint_eq(strlen(err.message), sizeof err.message - 1);
}
END_TEST

START_TEST(registered_secrets_never_reach_messages) {
  hvb__secret_register("sk-test-0123456789abcdef");
  hvb_error err = HVB_ERROR_INIT;
  hvb__fail(&err, HVB_HTTP, "key sk-test-0123456789abcdef rejected, twice: sk-test-0123456789abcdef");
  ck_assert_ptr_null(strstr(err.message, "sk-test"));
  ck_assert_str_eq(err.message, "key [REDACTED] rejected, twice: [REDACTED]");
  char line[] = "Authorization: Bearer abc.def next";
  hvb__redact(line);
  ck_assert_str_eq(line, "Authorization: Bearer ******* next");
  char hdr[] = "x-api-key: anthropic-secret-value";
  hvb__redact(hdr);
  ck_assert_str_eq(hdr, "x-api-key: [REDACTED]");
}
END_TEST

START_TEST(credential_headers_are_redacted_by_the_shape_of_their_name) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"x-portkey-api-key: pk-live-0123456789", "x-portkey-api-key: [REDACTED]"},
      {"sent X-Acme-Token: t0ps3cr3t-token, then", "sent X-Acme-Token: [REDACTED], then"},
      {"X-Goog-Api-Key:AIzaSyA0123456789", "X-Goog-Api-Key:[REDACTED]"},
      {"api_key: short", "api_key: *****"},
      {"Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==",
       "Proxy-Authorization: Basic [REDACTED]"},
      {"x-client-secret: abcdefghijkl\r\nAccept: */*",
       "x-client-secret: [REDACTED]\r\nAccept: */*"},
      /* Prose and ordinary headers stay. */
      {"image item has none of 'url' (its keys: 'a', 'b')",
       "image item has none of 'url' (its keys: 'a', 'b')"},
      {"unknown key: model", "unknown key: model"},
      {"Content-Type: application/json", "Content-Type: application/json"},
      {"https://example.test:8443/v1", "https://example.test:8443/v1"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *t = g_strdup(cases[i].in);
    hvb__redact(t);
    ck_assert_str_eq(t, cases[i].out);
    g_free(t);
  }
}
END_TEST

static char last_log[512];
static int log_calls;
static void capture(hvb_log_level level, const char *msg, void *ud) {
  (void)level; (void)ud;
  snprintf(last_log, sizeof last_log, "%s", msg);
  log_calls++;
}

START_TEST(log_goes_to_the_handler_redacted_and_filtered_by_level) {
  hvb__secret_register("another-secret-key-42");
  hvb_log_set_handler(capture, HVB_LOG_INFO, NULL);
  hvb__log(HVB_LOG_DEBUG, "hidden %d", 1);
  ck_assert_int_eq(log_calls, 0);
  hvb__log(HVB_LOG_WARN, "using another-secret-key-42 now");
  ck_assert_int_eq(log_calls, 1);
  ck_assert_str_eq(last_log, "using [REDACTED] now");
  hvb_log_set_handler(NULL, HVB_LOG_ERROR, NULL);
  ck_assert(!hvb__log_enabled(HVB_LOG_ERROR) || getenv("HB_LOG") != NULL);
}
END_TEST

START_TEST(version_matches_the_header) {
  ck_assert_str_eq(hvb_version(), HVB_VERSION_STRING);
  ck_assert_int_eq(HVB_VERSION_HEX >> 16, HVB_VERSION_MAJOR);
}
END_TEST

int main(void) {
  Suite *s = suite_create("error");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, every_status_has_a_distinct_name_and_message);
  tcase_add_test(tc, fail_fills_and_returns_false);
  tcase_add_test(tc, long_messages_are_truncated_not_overflowed);
  tcase_add_test(tc, registered_secrets_never_reach_messages);
  tcase_add_test(tc, credential_headers_are_redacted_by_the_shape_of_their_name);
  tcase_add_test(tc, log_goes_to_the_handler_redacted_and_filtered_by_level);
  tcase_add_test(tc, version_matches_the_header);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
