/* tests/unit/test-transport.c: the libcurl transport against the in-process fake upstream. */
#include "testutil.h"
#include "net/transport.h"
#include "text/sse.h"
#include "base/error.h"
#include "gateway/gateway.h"
#include "net/engine.h"
#include "text/url.h"
#include "upstream/upstream.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATH "/v1/chat/completions"
#define KEY "sk-test-9f8e7d6c5b4a39281706"

static up_server *srv;
static hvb_client *client;
static GMutex urls_lock;
static GPtrArray *urls; /* every URL request() made, freed at teardown */

static void setup(void) {
  srv = up_start();
  client = hvb__client_get("test-client");
  urls = g_ptr_array_new_with_free_func(g_free);
}

static void teardown(void) {
  hvb__client_unref(client);
  client = NULL;
  up_stop(srv);
  srv = NULL;
  g_ptr_array_free(urls, TRUE);
}

/* ---- a sink that gathers the body ----------------------------------------------------- */

typedef struct sink {
  GString *body;
  int calls;
  int resets;
  hvb_sse *sse;          /* set: bytes go through the SSE decoder; no event = keep-alive */
  int events;
  hvb_transfer *commit;  /* set: commit this transfer once data arrived */
  bool abort;            /* refuse the first bytes */
} sink;

static bool count_event(void *ud, const hvb_sse_event *ev, hvb_error *err) {
  (void)ev; (void)err;
  ((sink *)ud)->events++;
  return true;
}

static hvb_sink_rc on_data(void *ud, const char *data, size_t len, hvb_error *err) {
  sink *s = ud;
  s->calls++;
  if (s->abort) {
    hvb__fail(err, HVB_PROVIDER, "the sink refused the body");
    return HVB_SINK_ABORT;
  }
  g_string_append_len(s->body, data, (gssize)len);
  if (s->commit) hvb__transfer_commit(s->commit);
  if (!s->sse) return HVB_SINK_PROGRESS;
  int n = hvb__sse_feed(s->sse, data, len, err);
  if (n < 0) return HVB_SINK_ABORT;
  return n > 0 ? HVB_SINK_PROGRESS : HVB_SINK_CONTINUE;
}

static void on_reset(void *ud) {
  sink *s = ud;
  s->resets++;
  g_string_truncate(s->body, 0);
  if (s->sse) hvb__sse_reset(s->sse);
}

static sink *sink_new(bool sse) {
  sink *s = g_new0(sink, 1);
  s->body = g_string_new(NULL);
  if (sse) s->sse = hvb__sse_new(0, 0, count_event, s);
  return s;
}

static void sink_free(sink *s) {
  g_string_free(s->body, TRUE);
  hvb__sse_free(s->sse);
  g_free(s);
}

/* The error-body reader the gateways give the transport, reduced to the openai translation's
 * (the transport itself reads bodies only neutrally). */
static bool openai_reader(void *data, long status, const char *body, size_t len, char *type,
                          size_t type_size, char *message, size_t message_size) {
  (void)data;
  char *text = g_strndup(body, len);
  json_object *root = json_tokener_parse(text);
  g_free(text);
  hvb_error e = HVB_ERROR_INIT;
  bool ok = root && hvb__openai_parse_error(NULL, (int)status, root, &e);
  json_object_put(root);
  g_strlcpy(type, e.type, type_size);
  g_strlcpy(message, e.message, message_size);
  return ok;
}

/* A request to the fake upstream with short, test-friendly retry delays. */
static hvb_http_request request(const char *path) {
  char *url = g_strdup_printf("%s%s", up_base_url(srv), path);
  g_mutex_lock(&urls_lock);
  g_ptr_array_add(urls, url);
  g_mutex_unlock(&urls_lock);
  static const char *const headers[] = {"Authorization: Bearer " KEY, NULL};
  hvb_http_request r = {
      .url = url,
      .headers = headers,
      .body = "{\"model\":\"gpt-4o-mini\"}",
      .body_len = 22,
      .connect_timeout_ms = 2000,
      .timeout_ms = 10000,
      .max_retries = 2,
      .retry_base_ms = 10,
      .retry_max_ms = 5000,
      .error_body = openai_reader,
  };
  return r;
}

static double seconds_since(gint64 start) { return (g_get_monotonic_time() - start) / 1e6; }

/* Run a transfer to the end with the stepping API, as the pipeline does; bounded by 10 s. */
static hvb_step run(hvb_transfer *t, hvb_error *err, double *longest_step) {
  gint64 start = g_get_monotonic_time();
  hvb_step st;
  do {
    gint64 s0 = g_get_monotonic_time();
    st = hvb__transfer_step(t, 50, err);
    if (longest_step) *longest_step = MAX(*longest_step, seconds_since(s0));
    ck_assert_msg(seconds_since(start) < 10, "transfer did not finish within 10 s");
  } while (st == HVB_STEP_RUNNING);
  return st;
}

static const char *openai_error(const char *message, const char *type, const char *code) {
  static char buf[512];
  snprintf(buf, sizeof buf, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"param\":null,"
           "\"code\":%s%s%s}}", message, type, code ? "\"" : "", code ? code : "null",
           code ? "\"" : "");
  return buf;
}

/* Run `req` (no sink) expecting it to fail after `attempts` attempts; the error it gives. */
static hvb_error fails_after(const hvb_http_request *req, int attempts) {
  hvb_transfer *t = hvb__transfer_new(client, req, NULL, NULL, NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(run(t, &err, NULL), HVB_STEP_FAILED);
  ck_assert_int_eq(hvb__transfer_attempts(t), attempts);
  hvb__transfer_free(t);
  return err;
}

/* ---- successful transfers ------------------------------------------------------------- */

START_TEST(plain_200_body_is_delivered) {
  up_push_body(srv, PATH, 200, NULL, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\"}");
  sink *s = sink_new(false);
  hvb_http_request req = request(PATH);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb__http_perform(client, &req, on_data, on_reset, s, &err), "%s", err.message);
  ck_assert_str_eq(s->body->str, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\"}");
  ck_assert_int_eq(s->resets, 0);
  ck_assert_int_eq(err.status, HVB_OK);
  sink_free(s);
}
END_TEST

START_TEST(streamed_chunks_reach_the_sink_as_they_arrive) {
  up_chunk chunks[] = {{"data: {\"n\":1}\n\n", 0, 0}, {"data: {\"n\":2}\n\n", 0, 300},
                       {"data: [DONE]\n\n", 0, 300}};
  up_response r = {.content_type = "text/event-stream", .chunks = chunks, .nchunks = 3,
                   .chunked = true};
  up_push(srv, PATH, &r);
  sink *s = sink_new(true);
  hvb_http_request req = request(PATH);
  hvb_transfer *t = hvb__transfer_new(client, &req, on_data, on_reset, s);
  hvb_error err = HVB_ERROR_INIT;
  gint64 start = g_get_monotonic_time();
  hvb_step st;
  /* The first event is handed over while the server still holds back the rest. */
  while ((st = hvb__transfer_step(t, 50, &err)) == HVB_STEP_RUNNING && s->events == 0)
    ck_assert(seconds_since(start) < 5);
  ck_assert_int_eq(st, HVB_STEP_RUNNING);
  ck_assert_int_eq(s->events, 1);
  ck_assert_int_eq(hvb__transfer_status(t), 200);
  ck_assert_str_eq(hvb__transfer_content_type(t), "text/event-stream");
  ck_assert_int_eq(run(t, &err, NULL), HVB_STEP_DONE);
  ck_assert_int_eq(s->events, 3);
  ck_assert_int_ge(s->calls, 3);
  ck_assert_str_eq(s->body->str, "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n");
  hvb__transfer_free(t);
  sink_free(s);
}
END_TEST

START_TEST(consecutive_transfers_of_one_client_reuse_the_connection) {
  up_response r = {.chunks = &(up_chunk){"{\"ok\":true}", 0, 0}, .nchunks = 1, .repeat = true};
  up_push(srv, PATH, &r);
  for (int i = 0; i < 5; i++) {
    sink *s = sink_new(false);
    hvb_http_request req = request(PATH);
    hvb_error err = HVB_ERROR_INIT;
    ck_assert_msg(hvb__http_perform(client, &req, on_data, on_reset, s, &err), "%s",
                  err.message);
    ck_assert_str_eq(s->body->str, "{\"ok\":true}");
    sink_free(s);
  }
  ck_assert_int_eq(up_request_count(srv), 5);
  ck_assert_int_eq(up_connection_count(srv), 1);
  /* The same key gives the same pool. */
  hvb_client *again = hvb__client_get("test-client");
  ck_assert_ptr_eq(again, client);
  hvb__client_unref(again);
}
END_TEST

typedef struct worker {
  int ok;
} worker;

static gpointer parallel_worker(gpointer p) {
  worker *w = p;
  for (int i = 0; i < 5; i++) {
    sink *s = sink_new(false);
    hvb_http_request req = request(PATH);
    if (hvb__http_perform(client, &req, on_data, on_reset, s, NULL) &&
        strcmp(s->body->str, "{\"ok\":true}") == 0)
      w->ok++;
    sink_free(s);
  }
  return NULL;
}

START_TEST(transfers_of_one_client_may_run_in_parallel_threads) {
  up_response r = {.chunks = &(up_chunk){"{\"ok\":true}", 0, 0}, .nchunks = 1, .repeat = true};
  up_push(srv, PATH, &r);
  worker w[4] = {{0}};
  GThread *th[4];
  for (int i = 0; i < 4; i++) th[i] = g_thread_new("worker", parallel_worker, &w[i]);
  for (int i = 0; i < 4; i++) g_thread_join(th[i]);
  for (int i = 0; i < 4; i++) ck_assert_int_eq(w[i].ok, 5);
  ck_assert_int_eq(up_request_count(srv), 20);
  ck_assert_int_le(up_connection_count(srv), 4); /* shared cache: never one per request */
}
END_TEST

START_TEST(request_method_headers_and_body_arrive_as_sent) {
  up_push_body(srv, PATH, 200, NULL, "{}");
  up_push_body(srv, "/v1/models", 200, NULL, "{}");
  up_push_body(srv, "/v1/files/f-1", 200, NULL, "{}");
  const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"h\\u00e9\\n\"}]}";
  static const char *const headers[] = {"Authorization: Bearer " KEY, "X-Trace: abc 123",
                                        "Accept: text/event-stream", NULL};
  hvb_http_request req = request(PATH);
  req.headers = headers;
  req.body = body;
  req.body_len = sizeof body - 1;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb__http_perform(client, &req, NULL, NULL, NULL, &err), "%s", err.message);

  hvb_http_request get = request("/v1/models?limit=2");
  get.body = NULL;
  ck_assert_msg(hvb__http_perform(client, &get, NULL, NULL, NULL, &err), "%s", err.message);
  hvb_http_request del = request("/v1/files/f-1");
  del.method = "DELETE";
  del.body = NULL;
  ck_assert_msg(hvb__http_perform(client, &del, NULL, NULL, NULL, &err), "%s", err.message);

  up_request *r = up_request_get(srv, 0);
  ck_assert_str_eq(r->method, "POST");
  ck_assert_str_eq(r->path, PATH);
  ck_assert_uint_eq(r->body_len, sizeof body - 1);
  ck_assert_str_eq(r->body, body);
  char *v;
  ck_assert_str_eq((v = up_request_header(r, "authorization")), "Bearer " KEY);
  free(v);
  ck_assert_str_eq((v = up_request_header(r, "X-Trace")), "abc 123");
  free(v);
  ck_assert_str_eq((v = up_request_header(r, "Accept")), "text/event-stream");
  free(v);
  /* A JSON body gets a JSON content type, and no 100-continue round trip or compression. */
  ck_assert_str_eq((v = up_request_header(r, "Content-Type")), "application/json");
  free(v);
  ck_assert_ptr_null(up_request_header(r, "Expect"));
  ck_assert_ptr_null(up_request_header(r, "Accept-Encoding"));
  up_request_free(r);

  r = up_request_get(srv, 1);
  ck_assert_str_eq(r->method, "GET");
  ck_assert_str_eq(r->path, "/v1/models");
  ck_assert_str_eq(r->query, "limit=2");
  ck_assert_uint_eq(r->body_len, 0);
  up_request_free(r);
  r = up_request_get(srv, 2);
  ck_assert_str_eq(r->method, "DELETE");
  up_request_free(r);
}
END_TEST

START_TEST(a_json_script_drives_the_fake_server) {
  const char *script =
      "{\"routes\": {\"" PATH "\": ["
      "  {\"status\": 429, \"headers\": {\"retry-after-ms\": \"10\"}, \"body\": \"{}\"},"
      "  {\"content_type\": \"text/event-stream\", \"chunked\": true, \"repeat\": true,"
      "   \"chunks\": [{\"data\": \"data: 1\\n\\n\"}, {\"data\": \"data: 2\\n\\n\","
      "                \"delay_ms\": 20}]}]}}";
  ck_assert(up_load_script(srv, script));
  ck_assert(!up_load_script(srv, "{\"routes\": {\"/x\": {}}}"));
  for (int i = 0; i < 2; i++) {
    sink *s = sink_new(true);
    hvb_http_request req = request(PATH);
    hvb_error err = HVB_ERROR_INIT;
    ck_assert_msg(hvb__http_perform(client, &req, on_data, on_reset, s, &err), "%s",
                  err.message);
    ck_assert_str_eq(s->body->str, "data: 1\n\ndata: 2\n\n");
    ck_assert_int_eq(s->events, 2);
    sink_free(s);
  }
  ck_assert_int_eq(up_request_count(srv), 3); /* the 429, then the repeated stream twice */
}
END_TEST

/* ---- retries -------------------------------------------------------------------------- */

START_TEST(rate_limit_with_retry_after_is_retried_after_the_wait) {
  up_response limited = {
      .status = 429, .headers = "Retry-After: 1\r\n",
      .chunks = &(up_chunk){openai_error("Rate limit reached", "requests", "rate_limit_exceeded"),
                            0, 0},
      .nchunks = 1};
  up_push(srv, PATH, &limited);
  up_push_body(srv, PATH, 200, NULL, "{\"ok\":true}");
  sink *s = sink_new(false);
  hvb_http_request req = request(PATH);
  hvb_transfer *t = hvb__transfer_new(client, &req, on_data, on_reset, s);
  hvb_error err = HVB_ERROR_INIT;
  gint64 start = g_get_monotonic_time();
  double longest = 0;
  ck_assert_int_eq(run(t, &err, &longest), HVB_STEP_DONE);
  ck_assert_double_ge(seconds_since(start), 0.9);
  ck_assert_double_lt(longest, 0.5); /* the wait is stepped, not slept in one go */
  ck_assert_int_eq(hvb__transfer_attempts(t), 2);
  ck_assert_int_eq(hvb__transfer_status(t), 200);
  ck_assert_int_eq(up_request_count(srv), 2);
  ck_assert_int_eq(s->resets, 1);
  ck_assert_str_eq(s->body->str, "{\"ok\":true}"); /* nothing of the 429 body */
  hvb__transfer_free(t);
  sink_free(s);
}
END_TEST

START_TEST(server_error_then_success_succeeds) {
  up_push_body(srv, PATH, 500, NULL, openai_error("The server had an error", "server_error", NULL));
  up_push_body(srv, PATH, 200, NULL, "{\"ok\":true}");
  sink *s = sink_new(false);
  hvb_http_request req = request(PATH);
  hvb_transfer *t = hvb__transfer_new(client, &req, on_data, on_reset, s);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(run(t, &err, NULL), HVB_STEP_DONE);
  ck_assert_int_eq(hvb__transfer_attempts(t), 2);
  ck_assert_int_eq(up_request_count(srv), 2);
  ck_assert_str_eq(s->body->str, "{\"ok\":true}");
  hvb__transfer_free(t);
  sink_free(s);
}
END_TEST

/* One `status` answer with the given headers, then 200: the seconds the call took. */
static double retried_after(int status, const char *headers, long retry_max_ms) {
  up_response busy = {.status = status, .headers = headers, .chunks = &(up_chunk){"{}", 0, 0},
                      .nchunks = 1};
  up_push(srv, PATH, &busy);
  up_push_body(srv, PATH, 200, NULL, "{}");
  hvb_http_request req = request(PATH);
  req.retry_max_ms = retry_max_ms;
  hvb_error err = HVB_ERROR_INIT;
  gint64 start = g_get_monotonic_time();
  ck_assert_msg(hvb__http_perform(client, &req, NULL, NULL, NULL, &err), "%s", err.message);
  ck_assert_int_eq(up_request_count(srv), 2);
  return seconds_since(start);
}

START_TEST(retry_after_ms_wins_over_retry_after) {
  double took = retried_after(503, "Retry-After: 20\r\nretry-after-ms: 300\r\n", 30000);
  ck_assert_double_ge(took, 0.25);
  ck_assert_double_lt(took, 5);
}
END_TEST

START_TEST(retry_after_as_http_date_is_honoured) {
  char hdr[128];
  time_t when = time(NULL) + 2;
  strftime(hdr, sizeof hdr, "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", gmtime(&when));
  /* The date has one-second resolution: 1 to 2 s from now. */
  ck_assert_double_ge(retried_after(503, hdr, 5000), 0.9);
}
END_TEST

START_TEST(retry_max_caps_a_long_retry_after) {
  ck_assert_double_lt(retried_after(429, "Retry-After: 60\r\n", 100), 5);
}
END_TEST

/* The error a call gets when `path` answers `status` with `body` (one request, no retry). */
static hvb_error error_for(const char *path, int status, const char *content_type,
                           const char *body) {
  up_push_body(srv, path, status, content_type, body);
  hvb_http_request req = request(path);
  req.max_retries = 0;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb__http_perform(client, &req, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_int_eq(err.http_status, status);
  return err;
}

START_TEST(unauthorized_is_not_retried_and_names_status_url_and_reason) {
  up_push_body(srv, PATH, 401, NULL,
               openai_error("Incorrect API key provided: sk-test-****7061.",
                            "invalid_request_error", "invalid_api_key"));
  hvb_http_request req = request(PATH);
  hvb_error err = fails_after(&req, 1);
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_int_eq(err.http_status, 401);
  ck_assert_str_eq(err.type, "invalid_request_error");
  char want[256];
  snprintf(want, sizeof want, "HTTP 401 from %s" PATH ": Incorrect API key provided: "
           "sk-test-****7061.", up_base_url(srv));
  ck_assert_str_eq(err.message, want);
  ck_assert_ptr_null(strstr(err.message, KEY));
  ck_assert_int_eq(up_request_count(srv), 1);
}
END_TEST

START_TEST(bad_request_and_not_found_are_not_retried) {
  hvb_error err = error_for(PATH, 400, NULL, openai_error("Unrecognized request argument: foo",
                                                          "invalid_request_error", NULL));
  ck_assert_str_eq(err.type, "invalid_request_error");
  ck_assert_ptr_nonnull(strstr(err.message, "Unrecognized request argument: foo"));
  ck_assert_int_eq(up_request_count(srv), 1);

  /* Nothing scripted for this path: the fake server's 404, with its error code as type. */
  hvb_http_request nf = request("/v1/nowhere?key=secret-in-query");
  ck_assert(!hvb__http_perform(client, &nf, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_int_eq(err.http_status, 404);
  ck_assert_ptr_nonnull(strstr(err.message, "no scripted response for /v1/nowhere"));
  ck_assert_ptr_null(strstr(err.message, "secret-in-query")); /* query strings stay out */
  ck_assert_int_eq(up_request_count(srv), 2);
}
END_TEST

START_TEST(anthropic_error_body_is_parsed) {
  hvb_error err = error_for("/v1/messages", 400, NULL,
                            "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                            "\"message\":\"max_tokens: Field required\"}}");
  ck_assert_str_eq(err.type, "invalid_request_error");
  ck_assert_ptr_nonnull(strstr(err.message, "HTTP 400 from "));
  ck_assert_ptr_nonnull(strstr(err.message, "/v1/messages: max_tokens: Field required"));
}
END_TEST

START_TEST(without_a_reader_an_error_body_is_read_neutrally) {
  up_push_body(srv, PATH, 400, NULL, openai_error("Unrecognized request argument: foo",
                                                  "invalid_request_error", NULL));
  up_push_body(srv, PATH, 400, NULL, "{\"error\": \"plain text error\"}");
  hvb_http_request req = request(PATH);
  req.max_retries = 0;
  req.error_body = NULL;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb__http_perform(client, &req, NULL, NULL, NULL, &err));
  ck_assert_str_eq(err.type, ""); /* the transport knows no provider's shape */
  ck_assert(!hvb__http_perform(client, &req, NULL, NULL, NULL, &err));
  ck_assert_ptr_nonnull(strstr(err.message, ": plain text error"));
}
END_TEST

START_TEST(a_non_json_error_page_is_quoted_briefly) {
  hvb_error err = error_for(PATH, 502, "text/html",
                            "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>\n");
  ck_assert_str_eq(err.type, "");
  ck_assert_ptr_nonnull(strstr(err.message, "<h1>502 Bad Gateway</h1>"));
  ck_assert_ptr_null(strchr(err.message, '\n'));
}
END_TEST

START_TEST(exhausted_retries_report_the_last_status_and_the_attempts) {
  up_response busy = {.status = 503,
                      .chunks = &(up_chunk){openai_error("Overloaded", "server_error", NULL), 0,
                                            0},
                      .nchunks = 1, .repeat = true};
  up_push(srv, PATH, &busy);
  hvb_http_request req = request(PATH);
  hvb_error err = fails_after(&req, 3);
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_int_eq(err.http_status, 503);
  ck_assert_str_eq(err.type, "server_error");
  ck_assert_ptr_nonnull(strstr(err.message, "after 3 attempts"));
  ck_assert_ptr_nonnull(strstr(err.message, "HTTP 503"));
  ck_assert_ptr_nonnull(strstr(err.message, "Overloaded"));
  ck_assert_int_eq(up_request_count(srv), 3);
}
END_TEST

/* A port on loopback that nothing listens on. */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

START_TEST(connection_refused_fails_with_transport_after_the_retries) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d" PATH, closed_port());
  hvb_http_request req = request(PATH);
  req.url = url;
  hvb_error err = fails_after(&req, 3);
  ck_assert_int_eq(err.status, HVB_TRANSPORT);
  ck_assert_ptr_nonnull(strstr(err.message, url));
  ck_assert_ptr_nonnull(strstr(err.message, "after 3 attempts"));
}
END_TEST

/* ---- timeouts ------------------------------------------------------------------------- */

START_TEST(connect_timeout_is_named_and_retried) {
  /* A listener that never accepts, with its queue filled: the kernel drops further SYNs, so
   * a connect hangs until the connect timeout, as with an unreachable host. */
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(l, 0), 0);
  socklen_t alen = sizeof a;
  getsockname(l, (struct sockaddr *)&a, &alen);
  int fill[3];
  for (int i = 0; i < 3; i++) {
    fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fill[i], (struct sockaddr *)&a, sizeof a);
  }
  g_usleep(50 * 1000);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d" PATH, ntohs(a.sin_port));
  hvb_http_request req = request(PATH);
  req.url = url;
  req.connect_timeout_ms = 200;
  req.max_retries = 1;
  gint64 start = g_get_monotonic_time();
  hvb_error err = fails_after(&req, 2);
  ck_assert_double_lt(seconds_since(start), 5);
  ck_assert_int_eq(err.status, HVB_TIMEOUT);
  ck_assert_ptr_nonnull(strstr(err.message, "connect timeout"));
  ck_assert_ptr_nonnull(strstr(err.message, "after 2 attempts"));
  ck_assert_ptr_nonnull(strstr(err.message, url));
  for (int i = 0; i < 3; i++) close(fill[i]);
  close(l);
}
END_TEST

/* A stream into `s` with an idle timeout of `idle_ms` fails as idle within `within` s. */
static void idle_fails(sink *s, long idle_ms, double within) {
  hvb_http_request req = request(PATH);
  req.idle_timeout_ms = idle_ms;
  hvb_error err = HVB_ERROR_INIT;
  gint64 start = g_get_monotonic_time();
  ck_assert(!hvb__http_perform(client, &req, on_data, on_reset, s, &err));
  ck_assert_double_lt(seconds_since(start), within);
  ck_assert_int_eq(err.status, HVB_TIMEOUT);
  ck_assert_ptr_nonnull(strstr(err.message, "idle timeout"));
  ck_assert_ptr_nonnull(strstr(err.message, up_base_url(srv)));
}

START_TEST(idle_timeout_cuts_a_stalled_stream) {
  up_response r = {.content_type = "text/event-stream",
                   .chunks = &(up_chunk){"data: {\"n\":1}\n\n", 0, 0}, .nchunks = 1,
                   .chunked = true, .stall_ms = 5000};
  up_push(srv, PATH, &r);
  sink *s = sink_new(true);
  idle_fails(s, 300, 4);
  ck_assert_int_eq(s->events, 1);
  sink_free(s);
}
END_TEST

/* `n` keep-alive comments 100 ms apart, then one event: with `data` each is an event. */
static void push_trickle(int n, bool data) {
  up_chunk *cs = g_new0(up_chunk, n + 1);
  for (int i = 0; i < n; i++)
    cs[i] = (up_chunk){data ? "data: {}\n\n" : ": keep-alive\n\n", 0, 100};
  cs[n] = (up_chunk){"data: [DONE]\n\n", 0, 0};
  up_response r = {.content_type = "text/event-stream", .chunks = cs, .nchunks = n + 1,
                   .chunked = true};
  up_push(srv, PATH, &r);
  g_free(cs);
}

START_TEST(keepalive_comments_do_not_reset_the_idle_timer) {
  push_trickle(30, false); /* 3 s of comments */
  sink *s = sink_new(true);
  idle_fails(s, 400, 2.5);
  ck_assert_int_gt(s->calls, 0); /* the comments did arrive */
  ck_assert_int_eq(s->events, 0);
  sink_free(s);
}
END_TEST

START_TEST(real_data_resets_the_idle_timer) {
  push_trickle(10, true); /* an event every 100 ms for 1 s, longer than the idle timeout */
  sink *s = sink_new(true);
  hvb_http_request req = request(PATH);
  req.idle_timeout_ms = 400;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb__http_perform(client, &req, on_data, on_reset, s, &err), "%s", err.message);
  ck_assert_int_eq(s->events, 11);
  sink_free(s);
}
END_TEST

START_TEST(total_timeout_fails_and_is_not_retried) {
  up_response r = {.chunks = &(up_chunk){"{}", 0, 3000}, .nchunks = 1, .repeat = true};
  up_push(srv, PATH, &r);
  hvb_http_request req = request(PATH);
  req.timeout_ms = 300;
  hvb_error err = HVB_ERROR_INIT;
  gint64 start = g_get_monotonic_time();
  ck_assert(!hvb__http_perform(client, &req, NULL, NULL, NULL, &err));
  ck_assert_double_lt(seconds_since(start), 2.5);
  ck_assert_int_eq(err.status, HVB_TIMEOUT);
  ck_assert_ptr_nonnull(strstr(err.message, "total timeout"));
  ck_assert_ptr_nonnull(strstr(err.message, up_base_url(srv)));
  ck_assert_int_eq(up_request_count(srv), 1);
}
END_TEST

/* ---- dropped connections and commit --------------------------------------------------- */

static void push_dropped_stream(void) {
  up_chunk chunks[] = {{"data: {\"n\":1}\n\n", 0, 0}, {"data: {\"n\":2}\n\n", 0, 50},
                       {"data: [DONE]\n\n", 0, 0}};
  up_response r = {.content_type = "text/event-stream", .chunks = chunks, .nchunks = 3,
                   .chunked = true, .close_after = 1};
  up_push(srv, PATH, &r);
}

START_TEST(connection_closed_mid_stream_after_commit_is_truncated) {
  push_dropped_stream();
  sink *s = sink_new(true);
  hvb_http_request req = request(PATH);
  hvb_transfer *t = hvb__transfer_new(client, &req, on_data, on_reset, s);
  s->commit = t;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(run(t, &err, NULL), HVB_STEP_FAILED);
  ck_assert_int_eq(hvb__transfer_attempts(t), 1);
  hvb__transfer_free(t);
  ck_assert_int_eq(err.status, HVB_TRUNCATED);
  ck_assert_ptr_nonnull(strstr(err.message, up_base_url(srv)));
  ck_assert_int_eq(s->events, 1);
  ck_assert_int_eq(s->resets, 0);
  ck_assert_int_eq(up_request_count(srv), 1);
  sink_free(s);
}
END_TEST

START_TEST(connection_closed_mid_stream_before_commit_is_retried) {
  push_dropped_stream();
  up_push_sse(srv, PATH, "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n", 2);
  sink *s = sink_new(true);
  hvb_http_request req = request(PATH);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb__http_perform(client, &req, on_data, on_reset, s, &err), "%s", err.message);
  ck_assert_int_eq(s->resets, 1);
  ck_assert_str_eq(s->body->str, "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n");
  ck_assert_int_eq(up_request_count(srv), 2);
  sink_free(s);
}
END_TEST

START_TEST(a_committed_transfer_is_never_retried) {
  up_push_body(srv, PATH, 503, NULL, openai_error("Overloaded", "server_error", NULL));
  up_push_body(srv, PATH, 200, NULL, "{}");
  hvb_http_request req = request(PATH);
  hvb_transfer *t = hvb__transfer_new(client, &req, NULL, NULL, NULL);
  hvb__transfer_commit(t);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(run(t, &err, NULL), HVB_STEP_FAILED);
  ck_assert_int_eq(hvb__transfer_attempts(t), 1);
  hvb__transfer_free(t);
  ck_assert_int_eq(err.http_status, 503);
  ck_assert_int_eq(up_request_count(srv), 1);
}
END_TEST

START_TEST(a_sink_abort_ends_the_transfer_with_the_sinks_error) {
  up_push_body(srv, PATH, 200, NULL, "{}");
  sink *s = sink_new(false);
  s->abort = true;
  hvb_http_request req = request(PATH);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb__http_perform(client, &req, on_data, on_reset, s, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.message, "the sink refused the body");
  ck_assert_int_eq(s->resets, 0);
  ck_assert_int_eq(up_request_count(srv), 1);
  sink_free(s);
}
END_TEST

START_TEST(a_transfer_freed_midway_releases_everything) {
  up_response r = {.content_type = "text/event-stream",
                   .chunks = &(up_chunk){"data: {}\n\n", 0, 0}, .nchunks = 1, .chunked = true,
                   .stall_ms = 5000};
  up_push(srv, PATH, &r);
  sink *s = sink_new(true);
  hvb_http_request req = request(PATH);
  hvb_transfer *t = hvb__transfer_new(client, &req, on_data, on_reset, s);
  hvb_error err = HVB_ERROR_INIT;
  gint64 start = g_get_monotonic_time();
  while (s->events == 0) {
    ck_assert_int_eq(hvb__transfer_step(t, 50, &err), HVB_STEP_RUNNING);
    ck_assert(seconds_since(start) < 5);
  }
  hvb__transfer_free(t);
  sink_free(s);
  /* The pool still works afterwards, on a fresh connection. */
  up_push_body(srv, PATH, 200, NULL, "{}");
  ck_assert_msg(hvb__http_perform(client, &req, NULL, NULL, NULL, &err), "%s", err.message);
}
END_TEST

START_TEST(a_request_without_url_fails_cleanly) {
  hvb_http_request req = {0};
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb__http_perform(client, &req, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "URL"));
}
END_TEST

/* ---- logging -------------------------------------------------------------------------- */

static GString *log_text;
static void capture_log(hvb_log_level level, const char *msg, void *ud) {
  (void)level; (void)ud;
  g_string_append_printf(log_text, "%s\n", msg);
}

START_TEST(debug_log_tells_the_story_without_secrets) {
  log_text = g_string_new(NULL);
  hvb_log_set_handler(capture_log, HVB_LOG_DEBUG, NULL);
  up_push_body(srv, PATH, 500, NULL, "{}");
  up_push_body(srv, PATH, 200, NULL, "{\"secret_body\":true}");
  hvb_http_request req = request(PATH);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb__http_perform(client, &req, NULL, NULL, NULL, &err), "%s", err.message);
  hvb_log_set_handler(NULL, HVB_LOG_ERROR, NULL);
  ck_assert_ptr_nonnull(strstr(log_text->str, "POST "));
  ck_assert_ptr_nonnull(strstr(log_text->str, up_base_url(srv)));
  ck_assert_ptr_nonnull(strstr(log_text->str, "HTTP 500"));
  ck_assert_ptr_nonnull(strstr(log_text->str, "retrying in"));
  ck_assert_ptr_nonnull(strstr(log_text->str, "attempt 2"));
  ck_assert_ptr_null(strstr(log_text->str, KEY));
  ck_assert_ptr_null(strstr(log_text->str, "Bearer"));
  ck_assert_ptr_null(strstr(log_text->str, "secret_body"));
  ck_assert_ptr_null(strstr(log_text->str, "gpt-4o-mini")); /* the request body */
  g_string_free(log_text, TRUE);
}
END_TEST

/* ---- the timeout is a deadline for the whole transfer -------------------------------- */

START_TEST(a_wait_that_would_cross_the_deadline_is_not_started) {
  up_response limited = {.status = 429, .headers = "Retry-After: 999999\r\n",
                         .chunks = &(up_chunk){openai_error("Rate limit reached", "requests",
                                                            NULL), 0, 0},
                         .nchunks = 1, .repeat = true};
  up_push(srv, PATH, &limited);
  hvb_http_request req = request(PATH);
  req.timeout_ms = 2000;
  req.retry_max_ms = 30000; /* the server's wait, capped at 30 s: still past the deadline */
  gint64 start = g_get_monotonic_time();
  hvb_error err = fails_after(&req, 1);
  ck_assert_double_lt(seconds_since(start), 1.5);
  ck_assert_int_eq(err.status, HVB_HTTP); /* the server's answer stays the error */
  ck_assert_int_eq(err.http_status, 429);
  ck_assert_ptr_nonnull(strstr(err.message, "would cross the deadline"));
  ck_assert_ptr_nonnull(strstr(err.message, "timeout of 2 s"));
  ck_assert_ptr_nonnull(strstr(err.message, "Retry-After"));
  ck_assert_ptr_nonnull(strstr(err.message, "Rate limit reached"));
  ck_assert_int_eq(up_request_count(srv), 1);
}
END_TEST

START_TEST(every_attempt_shares_one_deadline) {
  /* Each answer takes 400 ms; ten retries of it would take over 4 s. */
  up_response slow = {.status = 503, .chunks = &(up_chunk){"{}", 0, 400}, .nchunks = 1,
                      .repeat = true};
  up_push(srv, PATH, &slow);
  hvb_http_request req = request(PATH);
  req.timeout_ms = 1000;
  req.max_retries = 10;
  hvb_transfer *t = hvb__transfer_new(client, &req, NULL, NULL, NULL);
  hvb_error err = HVB_ERROR_INIT;
  gint64 start = g_get_monotonic_time();
  ck_assert_int_eq(run(t, &err, NULL), HVB_STEP_FAILED);
  ck_assert_double_lt(seconds_since(start), 1.9);
  ck_assert_int_le(hvb__transfer_attempts(t), 3);
  ck_assert_msg(strstr(err.message, "timeout of 1 s"), "%s", err.message);
  hvb__transfer_free(t);
}
END_TEST

/* A unit of work for the async engine that runs one transfer (what core/api/async.c's kinds
 * do), so the engine's path is checked with the engine itself. */
typedef struct one_work {
  hvb_work w; /* first */
  hvb_http_request req;
  hvb_transfer *t;
  hvb_step st;
  hvb_error err;
} one_work;

static hvb_transfer *one_start(hvb_work *w) {
  one_work *o = (one_work *)w;
  o->t = hvb__transfer_new_detached(client, &o->req, NULL, NULL, NULL);
  return o->t;
}
static hvb_transfer *one_transfer(hvb_work *w) { return ((one_work *)w)->t; }
static void one_settle(hvb_work *w, hvb_step st, const hvb_error *failure) {
  one_work *o = (one_work *)w;
  o->st = st;
  if (failure) o->err = *failure;
  g_clear_pointer(&o->t, hvb__transfer_free);
}
static void one_finish(hvb_work *w, bool cancelled) {
  (void)cancelled;
  hvb__work_set_outcome(w, NULL, NULL, &((one_work *)w)->err);
}
static void one_release(hvb_work *w) { g_free(w); }
static const hvb_work_ops one_ops = {.start = one_start, .transfer = one_transfer,
                                     .settle = one_settle, .finish = one_finish,
                                     .release = one_release};

START_TEST(the_async_engine_keeps_the_same_deadline) {
  up_response limited = {.status = 429, .headers = "Retry-After: 999999\r\n",
                         .chunks = &(up_chunk){"{}", 0, 0}, .nchunks = 1, .repeat = true};
  up_push(srv, PATH, &limited);
  one_work *o = g_new0(one_work, 1);
  o->req = request(PATH);
  o->req.timeout_ms = 2000;
  o->req.retry_max_ms = 30000;
  hvb__work_init(&o->w, &one_ops, 2); /* ours and the engine's */
  gint64 start = g_get_monotonic_time();
  hvb__engine_submit(&o->w);
  ck_assert(hvb__work_wait(&o->w, 10000));
  ck_assert_double_lt(seconds_since(start), 1.5);
  ck_assert_int_eq(o->st, HVB_STEP_FAILED);
  ck_assert_int_eq(hvb__work_status(&o->w), HVB_HTTP);
  ck_assert_ptr_nonnull(strstr(hvb__work_error(&o->w)->message, "would cross the deadline"));
  ck_assert_int_eq(up_request_count(srv), 1);

  /* A slow server: the engine's attempts get only the time left. */
  up_stop(srv);
  srv = up_start();
  up_response slow = {.status = 503, .chunks = &(up_chunk){"{}", 0, 400}, .nchunks = 1,
                      .repeat = true};
  up_push(srv, PATH, &slow);
  hvb__work_unref(&o->w);
  o = g_new0(one_work, 1);
  o->req = request(PATH);
  o->req.timeout_ms = 1000;
  o->req.max_retries = 10;
  hvb__work_init(&o->w, &one_ops, 2);
  start = g_get_monotonic_time();
  hvb__engine_submit(&o->w);
  ck_assert(hvb__work_wait(&o->w, 10000));
  ck_assert_double_lt(seconds_since(start), 1.9);
  ck_assert_msg(strstr(hvb__work_error(&o->w)->message, "timeout of 1 s"), "%s",
                hvb__work_error(&o->w)->message);
  hvb__work_unref(&o->w);
}
END_TEST

/* ---- the cap on reply bodies --------------------------------------------------------- */

START_TEST(a_stream_over_the_cap_fails_and_stops_reading) {
  char event[1100];
  snprintf(event, sizeof event, "data: {\"t\":\"%01000d\"}\n\n", 0);
  up_chunk cs[] = {{event, 0, 0}, {"data: [DONE]\n\n", 0, 0}};
  up_response r = {.content_type = "text/event-stream", .chunks = cs, .nchunks = 2,
                   .chunked = true, .first_times = 20000}; /* 20 MB */
  up_push(srv, PATH, &r);
  sink *s = sink_new(true);
  hvb_http_request req = request(PATH);
  req.max_body_bytes = 100000;
  req.max_body_setting = "max_response_bytes";
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb__http_perform(client, &req, on_data, on_reset, s, &err));
  ck_assert_int_eq(err.status, HVB_TOO_LARGE);
  ck_assert_msg(strstr(err.message, "larger than 100000 bytes"), "%s", err.message);
  ck_assert_ptr_nonnull(strstr(err.message, "max_response_bytes"));
  ck_assert_ptr_nonnull(strstr(err.message, up_base_url(srv)));
  ck_assert_uint_le(s->body->len, 100000); /* the sink never saw more than the cap */
  ck_assert_int_eq(up_request_count(srv), 1); /* not retried */
  sink_free(s);
}
END_TEST

START_TEST(a_body_at_the_cap_is_fine_and_one_byte_more_is_not) {
  up_push_body(srv, PATH, 200, NULL, "{\"ok\":true}"); /* 11 bytes */
  up_push_body(srv, PATH, 200, NULL, "{\"ok\":true}");
  hvb_http_request req = request(PATH);
  req.max_body_bytes = 11;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb__http_perform(client, &req, NULL, NULL, NULL, &err), "%s", err.message);
  req.max_body_bytes = 10;
  ck_assert(!hvb__http_perform(client, &req, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_TOO_LARGE);
  ck_assert_ptr_nonnull(strstr(err.message, "larger than 10 bytes, the limit"));
}
END_TEST

/* ---- base URL and path ----------------------------------------------------------------- */

static void joins(const char *base, const char *path, const char *want) {
  char *got = hvb__url_join(base, path);
  ck_assert_str_eq(got, want);
  g_free(got);
}

START_TEST(a_query_in_the_base_url_stays_after_the_path) {
  joins("https://r.openai.azure.com/openai/deployments/d?api-version=2024-10-21",
        "/chat/completions",
        "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21");
  joins("http://h:8080/v1", "/embeddings", "http://h:8080/v1/embeddings");
  joins("http://h/v1/", "/messages", "http://h/v1/messages");
  joins("http://h/v1/?a=1&b=2#frag", "/x", "http://h/v1/x?a=1&b=2#frag");
  joins("http://h?k=v", "/x", "http://h/x?k=v");
  joins("http://u:p@h/v1?k=v", "/x", "http://u:p@h/v1/x?k=v");
}
END_TEST

/* A test case whose tests each get a fresh fake upstream and client. */
static TCase *new_case(Suite *s, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  suite_add_tcase(s, tc);
  return tc;
}

int main(void) {
  Suite *s = suite_create("transport");
  TCase *tc = new_case(s, "success");
  tcase_add_test(tc, plain_200_body_is_delivered);
  tcase_add_test(tc, streamed_chunks_reach_the_sink_as_they_arrive);
  tcase_add_test(tc, consecutive_transfers_of_one_client_reuse_the_connection);
  tcase_add_test(tc, transfers_of_one_client_may_run_in_parallel_threads);
  tcase_add_test(tc, request_method_headers_and_body_arrive_as_sent);
  tcase_add_test(tc, a_json_script_drives_the_fake_server);

  tc = new_case(s, "retries");
  tcase_add_test(tc, rate_limit_with_retry_after_is_retried_after_the_wait);
  tcase_add_test(tc, server_error_then_success_succeeds);
  tcase_add_test(tc, retry_after_ms_wins_over_retry_after);
  tcase_add_test(tc, retry_after_as_http_date_is_honoured);
  tcase_add_test(tc, retry_max_caps_a_long_retry_after);
  tcase_add_test(tc, unauthorized_is_not_retried_and_names_status_url_and_reason);
  tcase_add_test(tc, bad_request_and_not_found_are_not_retried);
  tcase_add_test(tc, anthropic_error_body_is_parsed);
  tcase_add_test(tc, without_a_reader_an_error_body_is_read_neutrally);
  tcase_add_test(tc, a_non_json_error_page_is_quoted_briefly);
  tcase_add_test(tc, exhausted_retries_report_the_last_status_and_the_attempts);
  tcase_add_test(tc, connection_refused_fails_with_transport_after_the_retries);

  tc = new_case(s, "timeouts");
  tcase_add_test(tc, connect_timeout_is_named_and_retried);
  tcase_add_test(tc, idle_timeout_cuts_a_stalled_stream);
  tcase_add_test(tc, keepalive_comments_do_not_reset_the_idle_timer);
  tcase_add_test(tc, real_data_resets_the_idle_timer);
  tcase_add_test(tc, total_timeout_fails_and_is_not_retried);
  tcase_add_test(tc, a_wait_that_would_cross_the_deadline_is_not_started);
  tcase_add_test(tc, every_attempt_shares_one_deadline);
  tcase_add_test(tc, the_async_engine_keeps_the_same_deadline);

  tc = new_case(s, "limits");
  tcase_add_test(tc, a_stream_over_the_cap_fails_and_stops_reading);
  tcase_add_test(tc, a_body_at_the_cap_is_fine_and_one_byte_more_is_not);
  tcase_add_test(tc, a_query_in_the_base_url_stays_after_the_path);

  tc = new_case(s, "commit");
  tcase_add_test(tc, connection_closed_mid_stream_after_commit_is_truncated);
  tcase_add_test(tc, connection_closed_mid_stream_before_commit_is_retried);
  tcase_add_test(tc, a_committed_transfer_is_never_retried);
  tcase_add_test(tc, a_sink_abort_ends_the_transfer_with_the_sinks_error);
  tcase_add_test(tc, a_transfer_freed_midway_releases_everything);
  tcase_add_test(tc, a_request_without_url_fails_cleanly);
  tcase_add_test(tc, debug_log_tells_the_story_without_secrets);
  return tu_run(s);
}
