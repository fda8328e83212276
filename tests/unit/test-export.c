/* tests/unit/test-export.c: client exports, driven by the test's own libcurl calls. */
#include "testutil.h"
#include "text/json.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <heavenbase/export.h>
#include <curl/curl.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-test-export-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"
#define CHAT_BODY                                                                          \
  "{\"id\": \"c1\", \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\","   \
  " \"content\": \"exported hello\"}, \"finish_reason\": \"stop\"}]}"

static size_t gather(char *p, size_t size, size_t n, void *ud) {
  g_string_append_len(ud, p, (gssize)(size * n));
  return size * n;
}

/* Run the export's handle with our own multi loop and body; the reply text. */
static GString *run_export(hvb_export *x, const char *question) {
  json_object *body = hvb__json_copy(hvb_export_args(x));
  json_object *msgs = tu_parse("[{\"role\": \"user\", \"content\": \"\"}]");
  json_object_object_add(json_object_array_get_idx(msgs, 0), "content",
                         json_object_new_string(question));
  json_object_object_add(body, "messages", msgs);
  GString *out = g_string_new(NULL);
  CURL *easy = hvb_export_easy(x);
  curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS,
                   json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, gather);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, out);
  json_object_put(body);
  CURLM *multi = curl_multi_init();
  curl_multi_add_handle(multi, easy);
  int running = 1;
  while (running) {
    ck_assert_int_eq(curl_multi_perform(multi, &running), CURLM_OK);
    if (running) curl_multi_poll(multi, NULL, 0, 1000, NULL);
  }
  int q;
  CURLMsg *m = curl_multi_info_read(multi, &q);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(m->data.result, CURLE_OK);
  curl_multi_remove_handle(multi, easy);
  curl_multi_cleanup(multi);
  return out;
}

static hvb_export *export_ok(hvb_llm *llm, hvb_gateway_op op, hvb_export_kind kind) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_export *x = hvb_llm_export(llm, op, kind, &err);
  ck_assert_msg(x != NULL, "%s", err.message);
  return x;
}

START_TEST(an_export_gets_the_same_reply_as_a_library_call_on_the_same_connection) {
  up_response r = {.status = 200, .repeat = true};
  up_chunk ch = {CHAT_BODY, 0, 0};
  r.chunks = &ch;
  r.nchunks = 1;
  up_push(tu_srv, CHAT_PATH, &r);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, "{\"temperature\": 0.3}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *res = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(res != NULL, "%s", err.message);

  hvb_export *x = export_ok(llm, HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI);
  json_object *args = hvb_export_args(x);
  ck_assert_str_eq(hvb__json_str(args, "model"), "gpt-4o-mini");
  ck_assert(json_object_get_double(json_object_object_get(args, "temperature")) == 0.3);
  ck_assert_ptr_null(json_object_object_get(args, "messages"));
  ck_assert_ptr_null(json_object_object_get(args, "stream"));
  ck_assert(g_str_has_suffix(hvb_export_url(x), CHAT_PATH));

  GString *reply = run_export(x, "hi");
  json_object *parsed = tu_parse(reply->str);
  json_object *completion = hvb__json_path(
      json_object_array_get_idx(json_object_object_get(parsed, "choices"), 0), "message");
  ck_assert_str_eq(hvb__json_str(completion, "content"), hvb_result_text(res));
  json_object_put(parsed);
  g_string_free(reply, TRUE);

  /* What the export sent: the key, the body we built. */
  up_request *req = up_request_get(tu_srv, 1);
  char *auth = up_request_header(req, "Authorization");
  ck_assert_str_eq(auth, "Bearer " KEY);
  free(auth);
  json_object *sent = tu_sent_body(tu_srv, 1);
  ck_assert_str_eq(hvb__json_str(sent, "model"), "gpt-4o-mini");
  json_object_put(sent);
  up_request_free(req);

  /* A second export of the same client joins the same pool: still one connection. */
  hvb_export *y = export_ok(llm, HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI);
  reply = run_export(y, "again");
  g_string_free(reply, TRUE);
  ck_assert_int_eq(up_request_count(tu_srv), 3);
  ck_assert_int_eq(up_connection_count(tu_srv), 1);

  hvb_export_free(y);
  hvb_export_free(x);
  hvb_result_free(res);
  hvb_llm_free(llm);
}
END_TEST

static hvb_llm *llm_with(const char *options) {
  json_object *o = tu_parse(options);
  json_object_object_add(o, "base_url", json_object_new_string(up_base_url(tu_srv)));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  json_object_put(o);
  return llm;
}

START_TEST(gateway_servers_shape_their_exports) {
  hvb_llm *llm = llm_with("{\"gateway\": \"bifrost\", \"provider\": \"openai\","
                          " \"model\": \"gpt-4o-mini\"}");
  hvb_export *x = export_ok(llm, HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI);
  ck_assert_str_eq(hvb__json_str(hvb_export_args(x), "model"), "openai/gpt-4o-mini");
  hvb_export_free(x);
  x = export_ok(llm, HVB_GATEWAY_OP_EMBED, HVB_EXPORT_OPENAI);
  ck_assert(g_str_has_suffix(hvb_export_url(x), "/embeddings"));
  ck_assert_ptr_null(json_object_object_get(hvb_export_args(x), "input"));
  hvb_export_free(x);
  hvb_llm_free(llm);

  llm = llm_with("{\"gateway\": \"portkey\", \"provider\": \"openai\", \"model\": \"gpt-4o-mini\","
                 " \"api_key\": \"pk-test-0123456789\"}");
  x = export_ok(llm, HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI);
  bool provider_header = false;
  for (const struct curl_slist *h = hvb_export_headers(x); h; h = h->next)
    provider_header |= g_ascii_strncasecmp(h->data, "x-portkey-provider: openai", 26) == 0;
  ck_assert(provider_header);
  hvb_export_free(x);
  hvb_llm_free(llm);

  llm = llm_with("{\"provider\": \"anthropic\", \"model\": \"claude-sonnet-4-5\","
                 " \"api_key\": \"sk-ant-test-0123456789\"}");
  x = export_ok(llm, HVB_GATEWAY_OP_CHAT, HVB_EXPORT_NATIVE);
  ck_assert_msg(g_str_has_suffix(hvb_export_url(x), "/messages"), "%s", hvb_export_url(x));
  ck_assert_ptr_nonnull(hvb__json_str(hvb_export_args(x), "model"));
  ck_assert_ptr_null(json_object_object_get(hvb_export_args(x), "messages"));
  hvb_export_free(x);
  hvb_llm_free(llm);
}
END_TEST

static void expect_refused(const char *options, hvb_gateway_op op, hvb_export_kind kind,
                           const char *needle) {
  hvb_llm *llm = llm_with(options);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_export(llm, op, kind, &err));
  ck_assert_msg(err.status == HVB_EINVAL, "%s: %s", hvb_status_name(err.status), err.message);
  ck_assert_msg(strstr(err.message, needle), "'%s' not in '%s'", needle, err.message);
  hvb_llm_free(llm);
}

START_TEST(exports_are_refused_where_they_cannot_work) {
  /* The kinds come from the capabilities each gateway declares, and the message lists them. */
  expect_refused("{\"gateway\": \"litellm\", \"provider\": \"openai\", \"model\": \"m\"}",
                 HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI,
                 "gateway 'litellm' cannot be exported: it declares no export kind");
  expect_refused("{\"gateway\": \"litellm\", \"provider\": \"openai\", \"model\": \"m\"}",
                 HVB_GATEWAY_OP_CHAT, HVB_EXPORT_NATIVE,
                 "gateway 'litellm' cannot be exported: it declares no export kind");
  expect_refused("{\"provider\": \"anthropic\", \"model\": \"claude-sonnet-4-5\","
                 " \"api_key\": \"sk-ant-test-0123456789\"}",
                 HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI,
                 "gateway 'anthropic' cannot be exported as the OpenAI kind (it declares the "
                 "native kind)");
  expect_refused("{\"preset\": \"mock\"}", HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI,
                 "gateway 'mock' answers offline");
  expect_refused("{\"provider\": \"openai\", \"model\": \"m\"}", HVB_GATEWAY_OP_CHAT,
                 HVB_EXPORT_NATIVE,
                 "gateway 'openai' cannot be exported as the native kind (it declares the OpenAI "
                 "kind)");
  expect_refused("{\"provider\": \"openai\", \"model\": \"m\"}", HVB_GATEWAY_OP_CHAT,
                 (hvb_export_kind)7,
                 "unknown export kind 7 (HVB_EXPORT_OPENAI or HVB_EXPORT_NATIVE)");
  ck_assert_int_eq(up_request_count(tu_srv), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("export");
  TCase *tc = tcase_create("export");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, an_export_gets_the_same_reply_as_a_library_call_on_the_same_connection);
  tcase_add_test(tc, gateway_servers_shape_their_exports);
  tcase_add_test(tc, exports_are_refused_where_they_cannot_work);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
