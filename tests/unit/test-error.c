/* tests/unit/test-error.c: status names, messages, error filling and redaction. */
#include "testutil.h"
#include "base/log.h"
#include "base/error.h"

#include <heavenbase/heavenbase.h>
#include <heavenbase/gateway.h>
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

static char last_log[8192];
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

/* A key of `n` characters: "sk-live-" then letters and digits from a fixed seed (no 'y', the
 * padding of the boundary test). Freed by the caller. */
static char *make_key(size_t n, guint32 seed) {
  static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXZabcdefghijkmnopqrstuvwxz0123456789";
  GRand *r = g_rand_new_with_seed(seed);
  char *k = g_malloc(n + 1);
  memcpy(k, "sk-live-", 8);
  for (size_t i = 8; i < n; i++)
    k[i] = alphabet[g_rand_int_range(r, 0, (gint32)(sizeof alphabet - 1))];
  k[n] = '\0';
  g_rand_free(r);
  return k;
}

/* Fails the test when any HVB_SECRET_MIN characters in a row of `key` show in `text`. */
static void assert_no_piece_of(const char *text, const char *key, const char *where) {
  size_t n = strlen(key);
  for (size_t i = 0; i + HVB_SECRET_MIN <= n; i++) {
    char *piece = g_strndup(key + i, HVB_SECRET_MIN);
    ck_assert_msg(strstr(text, piece) == NULL, "%s (key of %zu): '%s' (at %zu) leaks in: %s",
                  where, n, piece, i, text);
    g_free(piece);
  }
}

START_TEST(keys_of_any_length_are_redacted_before_the_message_is_cut) {
  static const size_t lengths[] = {20, 164, 450, 1000, 5000};
  hvb_log_set_handler(capture, HVB_LOG_DEBUG, NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(lengths); i++) {
    char *key = make_key(lengths[i], (guint32)i + 1);
    hvb__secret_register(key);
    hvb_error err = HVB_ERROR_INIT;
    hvb__fail(&err, HVB_HTTP, "HTTP 401 from https://api.test/v1: Incorrect API key provided: "
              "%s. You can find your API key at https://platform.test/account/api-keys.", key);
    assert_no_piece_of(err.message, key, "hvb__fail");
    ck_assert_ptr_nonnull(strstr(err.message, "provided: [REDACTED]"));
    hvb__fail_http(&err, HVB_HTTP, 401, key, "rejected %s", key);
    assert_no_piece_of(err.type, key, "hvb__fail_http's type");
    assert_no_piece_of(err.message, key, "hvb__fail_http");
    hvb__fail(&err, HVB_HTTP, "short");
    hvb__error_prefix(&err, "calling with %s as the key", key);
    assert_no_piece_of(err.message, key, "hvb__error_prefix");
    hvb_gateway_fail(&err, HVB_HTTP, "the provider says: key %s is wrong", key);
    assert_no_piece_of(err.message, key, "hvb_gateway_fail");
    hvb_gateway_fail_http(&err, HVB_HTTP, 403, "denied", "%s", key);
    assert_no_piece_of(err.message, key, "hvb_gateway_fail_http");
    log_calls = 0;
    hvb__log(HVB_LOG_WARN, "sending %s now", key);
    ck_assert_int_eq(log_calls, 1);
    assert_no_piece_of(last_log, key, "hvb__log");
    g_free(key);
  }
  hvb_log_set_handler(NULL, HVB_LOG_ERROR, NULL);
}
END_TEST

/* The key at every place the end of the message buffer can cut it: not one character of it
 * shows (the padding is 'y', which no key here has). */
START_TEST(a_key_cut_by_the_buffer_boundary_never_shows) {
  char *key = make_key(164, 42);
  hvb__secret_register(key);
  hvb_error err = HVB_ERROR_INIT;
  size_t room = sizeof err.message - 1;
  for (size_t kept = 1; kept < strlen(key); kept++) {
    char *pad = g_strnfill(room - kept, 'y');
    hvb__fail(&err, HVB_HTTP, "%s%s", pad, key);
    ck_assert_msg(strstr(err.message, "sk-") == NULL, "%zu characters of the key kept: %s", kept,
                  err.message + (room - kept));
    g_free(pad);
  }
  g_free(key);
}
END_TEST

/* A start of a key that reaches the library already cut (a provider's excerpt, another
 * buffer) is redacted too, from HVB_SECRET_MIN characters on. */
START_TEST(a_cut_off_start_of_a_key_is_redacted) {
  hvb__secret_register("sk-part-0123456789abcdefghij");
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"provided: sk-part-0123456789ab", "provided: [REDACTED]"},
      {"provided: sk-part-0123456789ab...", "provided: [REDACTED]..."},
      {"key 'sk-part-01' is wrong", "key '[REDACTED]' is wrong"},
      {"ends with sk-part-", "ends with ********"},
      /* Shorter than HVB_SECRET_MIN, or another word sharing a start: kept. */
      {"ends with sk-part", "ends with sk-part"},
      {"see sk-part-0123-docs", "see sk-part-0123-docs"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *t = g_strdup(cases[i].in);
    hvb__redact(t);
    ck_assert_str_eq(t, cases[i].out);
    g_free(t);
  }
}
END_TEST

/* Credentials inside URLs: the user info, and query parameters named like secrets (one list
 * with the header names). */
START_TEST(credentials_in_urls_are_redacted) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"GET https://alice:s3cr3t-passw0rd@api.test/v1 failed",
       "GET https://[REDACTED]@api.test/v1 failed"},
      {"https://tok@api.test/v1", "https://***@api.test/v1"},
      {"https://api.test/v1?key=AIzaSyA0123456789&alt=sse",
       "https://api.test/v1?key=[REDACTED]&alt=sse"},
      {"https://az.test/openai?api-version=2024-02-01&api-key=0123456789abcdef",
       "https://az.test/openai?api-version=2024-02-01&api-key=[REDACTED]"},
      {"u?api_key=abc&access_token=ya29.a0Af-longtoken#frag",
       "u?api_key=***&access_token=[REDACTED]#frag"},
      {"s3?X-Amz-Signature=deadbeefdeadbeef&X-Amz-Date=20260101",
       "s3?X-Amz-Signature=[REDACTED]&X-Amz-Date=20260101"},
      {"x?sig=abcdefghijkl&password=hunter2hunter2&client_secret=zzzzzzzzzzzz&token=t",
       "x?sig=[REDACTED]&password=[REDACTED]&client_secret=[REDACTED]&token=*"},
      /* Nothing secret: kept as it is. */
      {"https://example.test:8443/v1", "https://example.test:8443/v1"},
      {"https://api.test/v1?api-version=2024-02-01", "https://api.test/v1?api-version=2024-02-01"},
      {"?max_tokens=5&model=x", "?max_tokens=5&model=x"},
      {"did you mean 'gpt'? or a & b=c", "did you mean 'gpt'? or a & b=c"},
      {"mail alice@example.test", "mail alice@example.test"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *t = g_strdup(cases[i].in);
    hvb__redact(t);
    ck_assert_str_eq(t, cases[i].out);
    g_free(t);
    char *u = hvb__redact_url(cases[i].in);
    ck_assert_str_eq(u, cases[i].out);
    g_free(u);
  }
  ck_assert_ptr_null(hvb__redact_url(NULL));
  hvb_error err = HVB_ERROR_INIT;
  hvb__fail(&err, HVB_TRANSPORT, "cannot reach %s", "https://u:pw-0123456789@h.test/v1?key=k1");
  ck_assert_str_eq(err.message, "cannot reach https://[REDACTED]@h.test/v1?key=**");
}
END_TEST

/* A message cut in the middle of a UTF-8 character would not be valid text. */
START_TEST(a_cut_message_ends_on_a_character_boundary) {
  hvb_error err = HVB_ERROR_INIT;
  char *pad = g_strnfill(sizeof err.message - 2, 'a');
  hvb__fail(&err, HVB_PARSE, "%s\xc3\xa9tag", pad); /* "é" would straddle the end */
  ck_assert_uint_eq(strlen(err.message), sizeof err.message - 2);
  ck_assert(g_utf8_validate(err.message, -1, NULL));
  g_free(pad);
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
  tcase_add_test(tc, keys_of_any_length_are_redacted_before_the_message_is_cut);
  tcase_add_test(tc, a_key_cut_by_the_buffer_boundary_never_shows);
  tcase_add_test(tc, a_cut_off_start_of_a_key_is_redacted);
  tcase_add_test(tc, credentials_in_urls_are_redacted);
  tcase_add_test(tc, a_cut_message_ends_on_a_character_boundary);
  tcase_add_test(tc, version_matches_the_header);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
