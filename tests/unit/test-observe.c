/* tests/unit/test-observe.c: hvb_llm_set_observer sees every finished call (sync, async,
 * stream, tool loop, failed, retried, cached, cancelled) with what the fake upstream was
 * told and answered; the trace context reaches the upstream as a traceparent header; with a
 * collector that is down, many calls cost a bounded span queue (core/net/otlp.c). */
#include "testutil.h"
#include "upstream/upstream.h"
#include "net/otlp.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#define KEY "sk-observe-secret-123"

/* What the observer copied of one record. */
typedef struct seen {
  char *operation, *request_model, *response_model, *provider, *gateway, *server;
  char *finish, *error_type, *error_message, *trace_id, *span_id;
  int port, http_status, steps, step, retries;
  int64_t in, out, duration_ns, start_ns;
  hvb_status status;
  bool stream, async, cached, repaired, on_test_thread;
} seen;

static GMutex seen_lock;
static GPtrArray *records;
static GThread *test_thread;

static void seen_free(gpointer p) {
  seen *s = p;
  g_free(s->operation), g_free(s->request_model), g_free(s->response_model);
  g_free(s->provider), g_free(s->gateway), g_free(s->server), g_free(s->finish);
  g_free(s->error_type), g_free(s->error_message), g_free(s->trace_id), g_free(s->span_id);
  g_free(s);
}

static void observe(const hvb_call_record *rec, void *user_data) {
  ck_assert_ptr_eq(user_data, &records);
  ck_assert_uint_ge(rec->struct_size, sizeof(hvb_call_record));
  seen *s = g_new0(seen, 1);
  s->operation = g_strdup(rec->operation);
  s->request_model = g_strdup(rec->request_model);
  s->response_model = g_strdup(rec->response_model);
  s->provider = g_strdup(rec->provider);
  s->gateway = g_strdup(rec->gateway);
  s->server = g_strdup(rec->server_address);
  s->finish = rec->n_finish_reasons ? g_strdup(rec->finish_reasons[0]) : NULL;
  s->error_type = g_strdup(rec->error_type);
  s->error_message = g_strdup(rec->error_message);
  s->trace_id = g_strdup(rec->trace_id);
  s->span_id = g_strdup(rec->span_id);
  s->port = rec->server_port;
  s->http_status = rec->http_status;
  s->steps = rec->steps;
  s->step = rec->step;
  s->retries = rec->retries;
  s->in = rec->input_tokens;
  s->out = rec->output_tokens;
  s->duration_ns = rec->duration_ns;
  s->start_ns = rec->start_unix_ns;
  s->status = rec->status;
  s->stream = rec->stream;
  s->async = rec->async;
  s->cached = rec->cached;
  s->repaired = rec->repaired;
  s->on_test_thread = g_thread_self() == test_thread;
  g_mutex_lock(&seen_lock);
  g_ptr_array_add(records, s);
  g_mutex_unlock(&seen_lock);
}

static int nseen(void) {
  g_mutex_lock(&seen_lock);
  int n = (int)records->len;
  g_mutex_unlock(&seen_lock);
  return n;
}

static seen *rec(int i) {
  g_mutex_lock(&seen_lock);
  seen *s = (guint)i < records->len ? records->pdata[i] : NULL;
  g_mutex_unlock(&seen_lock);
  ck_assert_msg(s != NULL, "no record %d (%d seen)", i, nseen());
  return s;
}

static void setup(void) {
  tu_up_setup();
  records = g_ptr_array_new_with_free_func(seen_free);
  test_thread = g_thread_self();
}

static void teardown(void) {
  g_ptr_array_free(records, TRUE);
  records = NULL;
  tu_up_teardown();
}

static hvb_llm *observed_llm(const char *extra) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, extra);
  hvb_llm_set_observer(llm, observe, &records);
  return llm;
}

static const char body_ok[] =
    "{\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":\"Hi there.\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}";

static const char sse_ok[] =
    "data: {\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
    "\"assistant\",\"content\":\"Hi \"}}]}\n\n"
    "data: {\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"there.\"},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,"
    "\"completion_tokens\":2,\"total_tokens\":9}}\n\n"
    "data: [DONE]\n\n";

START_TEST(a_sync_chat_is_reported_with_what_the_upstream_answered) {
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, body_ok);
  hvb_llm *llm = observed_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "Hello", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(nseen(), 1); /* before hvb_llm_chat returned */
  seen *s = rec(0);
  ck_assert_str_eq(s->operation, "chat");
  ck_assert_str_eq(s->request_model, "gpt-4o-mini");
  ck_assert_str_eq(s->response_model, "gpt-4o-mini-2024-07-18");
  ck_assert_str_eq(s->provider, "openai");
  ck_assert_str_eq(s->gateway, "openai");
  ck_assert_str_eq(s->server, "127.0.0.1");
  ck_assert_int_eq(s->port, up_port(tu_srv));
  ck_assert_int_eq(s->in, 12);
  ck_assert_int_eq(s->out, 3);
  ck_assert_str_eq(s->finish, "stop");
  ck_assert_int_eq(s->status, HVB_OK);
  ck_assert_ptr_null(s->error_type);
  ck_assert(!s->stream && !s->async && !s->cached && !s->repaired);
  ck_assert_int_eq(s->steps, 1);
  ck_assert_int_eq(s->step, 0);
  ck_assert_int_eq(s->retries, 0);
  ck_assert(s->duration_ns > 0);
  ck_assert(s->start_ns > (int64_t)1700000000 * 1000000000);
  ck_assert(s->on_test_thread);
  ck_assert_ptr_null(s->trace_id); /* no export, no caller context */
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_failed_and_a_retried_call_are_reported_with_their_status) {
  up_push_body(tu_srv, "/v1/chat/completions", 400, NULL,
               "{\"error\":{\"message\":\"bad model\",\"type\":\"invalid_request_error\"}}");
  hvb_llm *llm = observed_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "Hello", NULL, NULL, &err));
  ck_assert_int_eq(nseen(), 1);
  ck_assert_int_eq(rec(0)->status, HVB_HTTP);
  ck_assert_int_eq(rec(0)->http_status, 400);
  ck_assert_str_eq(rec(0)->error_type, "invalid_request_error");
  ck_assert_ptr_nonnull(strstr(rec(0)->error_message, "bad model"));
  hvb_llm_free(llm);

  /* A 503 the transport retries, then the answer: one record, one retry. */
  up_response busy = {.status = 503, .headers = "Retry-After: 0\r\n",
                      .chunks = (up_chunk[]){{"{\"error\":\"busy\"}", 0, 0}}, .nchunks = 1};
  up_push(tu_srv, "/v1/chat/completions", &busy);
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, body_ok);
  llm = observed_llm("{\"max_retries\": 2}");
  hvb_result *r = hvb_llm_chat(llm, "Hello", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(nseen(), 2);
  ck_assert_int_eq(rec(1)->status, HVB_OK);
  ck_assert_int_eq(rec(1)->retries, 1);
  hvb_result_free(r);

  /* Refused on the way in (a bad option): reported as failed, with the option named. */
  json_object *bad = tu_parse("{\"traceparent\": \"not-a-trace\"}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "Hello", NULL, bad, &err));
  json_object_put(bad);
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "traceparent"));
  ck_assert_int_eq(nseen(), 3);
  ck_assert_int_eq(rec(2)->status, HVB_EINVAL);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_cached_repeat_is_reported_as_cached) {
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, body_ok);
  hvb_llm *llm = observed_llm(NULL);
  json_object *opts = tu_parse("{\"temperature\": 0}");
  hvb_error err = HVB_ERROR_INIT;
  for (int i = 0; i < 2; i++) {
    hvb_result *r = hvb_llm_chat(llm, "Same question", NULL, opts, &err);
    ck_assert_msg(r != NULL, "%s", err.message);
    hvb_result_free(r);
  }
  json_object_put(opts);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  ck_assert_int_eq(nseen(), 2);
  ck_assert(!rec(0)->cached);
  ck_assert(rec(1)->cached);
  ck_assert_int_eq(rec(1)->in, 12); /* the stored usage */
  ck_assert_int_eq(rec(1)->status, HVB_OK);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(streams_are_reported_whether_or_not_their_result_is_asked_for) {
  hvb_llm *llm = observed_llm(NULL);
  for (int ask = 0; ask < 2; ask++) {
    up_push_sse(tu_srv, "/v1/chat/completions", sse_ok, 3);
    hvb_error err = HVB_ERROR_INIT;
    hvb_stream *st = hvb_llm_stream(llm, "Hello", NULL, NULL, &err);
    ck_assert_msg(st != NULL, "%s", err.message);
    json_object *d = NULL;
    while (hvb_stream_next(st, &d, &err) && d) {
    }
    ck_assert_int_eq(err.status, HVB_OK);
    if (ask) {
      hvb_result *r = hvb_stream_result(st, &err);
      ck_assert_ptr_nonnull(r);
      hvb_result_free(r);
    }
    hvb_stream_free(st);
    ck_assert_int_eq(nseen(), ask + 1);
    seen *s = rec(ask);
    ck_assert(s->stream);
    ck_assert_int_eq(s->status, HVB_OK);
    ck_assert_int_eq(s->in, 7);
    ck_assert_int_eq(s->out, 2);
    ck_assert_str_eq(s->finish, "stop");
    ck_assert_str_eq(s->response_model, "gpt-4o-mini-2024-07-18");
  }
  /* Freed before its end: cancelled. */
  up_response slow = {.content_type = "text/event-stream", .chunked = true,
                      .chunks = (up_chunk[]){{"data: {\"choices\":[{\"index\":0,\"delta\":"
                                              "{\"content\":\"Hi\"}}]}\n\n", 0, 0},
                                             {"data: [DONE]\n\n", 0, 2500}},
                      .nchunks = 2};
  up_push(tu_srv, "/v1/chat/completions", &slow);
  hvb_error err = HVB_ERROR_INIT;
  hvb_stream *st = hvb_llm_stream(llm, "Hello", NULL, NULL, &err);
  json_object *d = NULL;
  ck_assert(hvb_stream_next(st, &d, &err) && d);
  hvb_stream_free(st);
  ck_assert_int_eq(nseen(), 3);
  ck_assert_int_eq(rec(2)->status, HVB_CANCELLED);
  hvb_llm_free(llm);
}
END_TEST

static void async_done(hvb_call *call, void *user_data) {
  (void)call;
  *(int *)user_data = nseen(); /* the record came before on_done */
}

START_TEST(an_async_call_is_reported_on_the_engine_thread_before_on_done) {
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, body_ok);
  hvb_llm *llm = observed_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  int at_done = -1;
  hvb_call *c = hvb_llm_chat_async(llm, "Hello", NULL, NULL, async_done, NULL, &at_done, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(hvb_call_status(c), HVB_OK);
  ck_assert_int_eq(at_done, 1);
  seen *s = rec(0);
  ck_assert(s->async);
  ck_assert(!s->on_test_thread);
  ck_assert_int_eq(s->in, 12);
  hvb_call_free(c);
  hvb_llm_free(llm);
}
END_TEST

static const char step1_body[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
    "\"tool_calls\":[{\"id\":\"call_w\",\"type\":\"function\",\"function\":{\"name\":"
    "\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\",}\"}}]},\"finish_reason\":"
    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":5}}";
static const char step2_body[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"21 C in Paris.\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":6}}";

static json_object *weather(json_object *args, void *user_data, hvb_error *err) {
  (void)args, (void)user_data, (void)err;
  return json_object_new_string("21 C");
}

static hvb_tools *weather_tools(void) {
  hvb_tools *ts = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  json_object *params =
      tu_parse("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}");
  ck_assert(hvb_tools_add(ts, "get_weather", "Weather of a city", params, weather, NULL, &err));
  json_object_put(params);
  return ts;
}

/* Steps 1 and 2, then the loop with their tokens summed; the same trace when exported. */
static void check_loop_records(bool async) {
  ck_assert_int_eq(nseen(), 3);
  ck_assert_int_eq(rec(0)->step, 1);
  ck_assert_str_eq(rec(0)->finish, "tool_calls");
  ck_assert(rec(0)->repaired); /* the trailing comma */
  ck_assert_int_eq(rec(1)->step, 2);
  seen *loop = rec(2);
  ck_assert_int_eq(loop->step, 0);
  ck_assert_int_eq(loop->steps, 2);
  ck_assert_int_eq(loop->in, 60);
  ck_assert_int_eq(loop->out, 11);
  ck_assert_int_eq(loop->status, HVB_OK);
  ck_assert(loop->repaired);
  ck_assert(loop->async == async);
  ck_assert(loop->duration_ns >= rec(0)->duration_ns + rec(1)->duration_ns);
}

START_TEST(a_tool_loop_reports_each_step_and_then_the_loop) {
  hvb_tools *ts = weather_tools();
  hvb_llm *llm = observed_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, step1_body);
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, step2_body);
  hvb_result *r = hvb_llm_chat_tools(llm, "Weather in Paris?", NULL, ts, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_result_free(r);
  check_loop_records(false);

  g_ptr_array_set_size(records, 0);
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, step1_body);
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, step2_body);
  hvb_call *c = hvb_llm_chat_tools_async(llm, "Weather in Paris?", NULL, ts, NULL, NULL, NULL,
                                         NULL, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(hvb_call_status(c), HVB_OK);
  hvb_call_free(c);
  check_loop_records(true);
  hvb_llm_free(llm);
  hvb_tools_free(ts);
}
END_TEST

START_TEST(the_callers_trace_context_reaches_the_upstream) {
  static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, body_ok);
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, body_ok);
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, body_ok);
  hvb_llm *llm = observed_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  /* Export off: the caller's context is passed on as it came. */
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "traceparent", json_object_new_string(tp));
  hvb_result *r = hvb_llm_chat(llm, "Hello", NULL, opts, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_result_free(r);
  up_request *rq = up_request_get(tu_srv, 0);
  char *h = up_request_header(rq, "traceparent");
  ck_assert_str_eq(h, tp);
  free(h);
  up_request_free(rq);
  ck_assert_str_eq(rec(0)->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  /* No context, no export: no header. */
  r = hvb_llm_chat(llm, "Hello", NULL, NULL, &err);
  hvb_result_free(r);
  rq = up_request_get(tu_srv, 1);
  ck_assert_ptr_null(up_request_header(rq, "traceparent"));
  up_request_free(rq);
  hvb_llm_free(llm);

  /* Export on (a collector nobody listens to): the header names the call's own span, in the
   * caller's trace; TRACEPARENT is the context when no option gives one. */
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9", 1);
  setenv("TRACEPARENT", tp, 1);
  llm = observed_llm(NULL);
  unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  unsetenv("TRACEPARENT");
  r = hvb_llm_chat(llm, "Hello", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_result_free(r);
  rq = up_request_get(tu_srv, 2);
  h = up_request_header(rq, "traceparent");
  char *want = g_strdup_printf("00-4bf92f3577b34da6a3ce929d0e0e4736-%s-01", rec(2)->span_id);
  ck_assert_str_eq(h, want);
  ck_assert_str_ne(rec(2)->span_id, "00f067aa0ba902b7");
  g_free(want);
  free(h);
  up_request_free(rq);
  json_object_put(opts);
  hvb_llm_free(llm);
}
END_TEST

/* A collector that hangs: it listens, so connections are made (the kernel's backlog), but it
 * never reads or answers; each POST waits for the exporter's timeout. */
static int hanging_collector(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(fd, 16), 0);
  socklen_t len = sizeof a;
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

START_TEST(a_collector_that_is_down_costs_a_bounded_queue) {
  /* The mock gateway answers offline: thousands of calls in a second, while the collector
   * takes none. Under valgrind, fewer, with the same assertions. */
  int n = getenv("HB_TEST_WRAPPER") && *getenv("HB_TEST_WRAPPER") ? 300 : 10000;
  int port = 0;
  int fd = hanging_collector(&port);
  char *url = g_strdup_printf("http://127.0.0.1:%d", port);
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
  g_free(url);
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new_preset("mock", &err);
  unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  ck_assert_msg(llm != NULL, "%s", err.message);
  hvb_otlp_stats before;
  hvb__otlp_stats(&before);
  for (int i = 0; i < n; i++) {
    hvb_result *r = hvb_llm_chat(llm, "Hello there", NULL, NULL, &err);
    ck_assert_msg(r != NULL, "call %d: %s", i, err.message);
    hvb_result_free(r);
  }
  hvb_otlp_stats st;
  hvb__otlp_stats(&st);
  ck_assert_uint_eq(st.submitted - before.submitted, (uint64_t)n);
  ck_assert_uint_le(st.queued_max, HVB_OTLP_QUEUE_MAX);
  ck_assert_uint_le(st.queued, HVB_OTLP_QUEUE_MAX);
  ck_assert_uint_eq(st.exported, before.exported);
  ck_assert_uint_eq(st.submitted, st.exported + st.dropped + st.failed + st.queued + st.sending);
  if (n > HVB_OTLP_QUEUE_MAX * 2) ck_assert_uint_gt(st.dropped, 0);
  /* The collector goes away (the connection waiting in its backlog is closed): the queue
   * drains, every batch failing at once. */
  fcntl(fd, F_SETFL, O_NONBLOCK);
  for (int c; (c = accept(fd, NULL, NULL)) >= 0;) close(c);
  close(fd);
  ck_assert(hvb__otlp_flush(20000));
  hvb__otlp_stats(&st);
  ck_assert_uint_eq(st.queued, 0);
  ck_assert_uint_eq(st.submitted, st.exported + st.dropped + st.failed);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("observe");
  TCase *tc = tcase_create("observer");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, a_sync_chat_is_reported_with_what_the_upstream_answered);
  tcase_add_test(tc, a_failed_and_a_retried_call_are_reported_with_their_status);
  tcase_add_test(tc, a_cached_repeat_is_reported_as_cached);
  tcase_add_test(tc, streams_are_reported_whether_or_not_their_result_is_asked_for);
  tcase_add_test(tc, an_async_call_is_reported_on_the_engine_thread_before_on_done);
  tcase_add_test(tc, a_tool_loop_reports_each_step_and_then_the_loop);
  tcase_add_test(tc, the_callers_trace_context_reaches_the_upstream);
  tcase_add_test(tc, a_collector_that_is_down_costs_a_bounded_queue);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
