/* tests/unit/test-mcp-http-async.c: an async tool loop's MCP call over Streamable HTTP runs
 * on the engine (its POST an engine transfer, no thread), its SSE reply is read as it arrives,
 * a session the server dropped (404) is renewed and the call sent again, and closing the
 * handle DELETEs the session.
 *
 * The MCP server is tests/mcp/http-server.py (a separate process, python3): its tool "slow"
 * answers only when the test creates a gate file, so "no thread was made while the call
 * waits" needs no timing; its replies come as SSE events split over several writes, with the
 * stream kept open after them (30 s), so a client that waited for the end of the stream
 * would not finish within the test's bounds. It logs what it gets to DIR/log (one server
 * for the three tests, each with its own sessions). The model is the fake upstream. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY "sk-test-mcp-http-async-0123456789ab"
#define CHAT_PATH "/v1/chat/completions"

static char dir[2048], started[4096], gate[4096], logpath[4096];
static GPid server_pid;
static char *server_url;

static bool wait_file(const char *path) {
  for (int i = 0; i < 600; i++) { /* 60 s at most: a slow machine, valgrind */
    if (access(path, F_OK) == 0) return true;
    g_usleep(100000);
  }
  return false;
}

static void server_start(void) {
  const char *src = getenv("HB_TEST_SRCDIR");
  snprintf(dir, sizeof dir, "%s/mcp-http-XXXXXX", tu_tmpdir());
  ck_assert(g_mkdtemp(dir) != NULL);
  snprintf(started, sizeof started, "%s/started", dir);
  snprintf(gate, sizeof gate, "%s/gate", dir);
  snprintf(logpath, sizeof logpath, "%s/log", dir);
  char *script = g_strdup_printf("%s/tests/mcp/http-server.py", src ? src : ".");
  char *argv[] = {(char *)"python3", script, dir, NULL};
  GError *ge = NULL;
  ck_assert_msg(g_spawn_async(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                              NULL, NULL, &server_pid, &ge), "%s", ge ? ge->message : "");
  g_free(script);
  char *port_file = g_strdup_printf("%s/port", dir), *port = NULL;
  ck_assert_msg(wait_file(port_file), "the MCP test server did not start");
  ck_assert(g_file_get_contents(port_file, &port, NULL, NULL));
  server_url = g_strdup_printf("http://127.0.0.1:%s/mcp", port);
  g_free(port);
  g_free(port_file);
}

static void server_stop(void) {
  kill(server_pid, SIGTERM);
  waitpid(server_pid, NULL, 0);
  g_spawn_close_pid(server_pid);
  g_clear_pointer(&server_url, g_free);
}

static void setup(void) {
  tu_up_setup();
  unlink(started);
  unlink(gate);
}

static char *server_log(void) {
  char *text = NULL;
  if (!g_file_get_contents(logpath, &text, NULL, NULL)) text = g_strdup("");
  return text;
}

/* Whether the server's log holds `line` (within 20 s: it logs as it reads). */
static bool server_logged(const char *line) {
  for (int i = 0; i < 200; i++) {
    char *text = server_log();
    bool found = strstr(text, line) != NULL;
    g_free(text);
    if (found) return true;
    g_usleep(100000);
  }
  return false;
}

/* Threads of this process other than the engine's and the fake upstream's. */
static int other_threads(void) {
  static const char *const ours[] = {"hvb-engine", "up-conn", "up-accept", NULL};
  return tu_count_threads(ours, false);
}

static void push_text(const char *text) {
  char *body = g_strdup_printf("{\"choices\": [{\"index\": 0, \"message\": {\"role\": "
                               "\"assistant\", \"content\": \"%s\"}, \"finish_reason\": "
                               "\"stop\"}]}", text);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, body);
  g_free(body);
}

/* The model asks for tool `name` with the two file names. */
static void push_tool_call(const char *name) {
  char *args = g_strdup_printf("{\\\"started\\\": \\\"%s\\\", \\\"gate\\\": \\\"%s\\\"}",
                               started, gate);
  char *body = g_strdup_printf(
      "{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": null, "
      "\"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": "
      "\"%s\", \"arguments\": \"%s\"}}]}, \"finish_reason\": \"tool_calls\"}]}", name, args);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, body);
  g_free(body);
  g_free(args);
}

/* The tool message of the model's request `i`. */
static char *tool_content(int i) {
  json_object *b = tu_sent_body(tu_srv, i);
  json_object *msgs = json_object_object_get(b, "messages");
  json_object *tool = json_object_array_get_idx(msgs, json_object_array_length(msgs) - 1);
  char *content = g_strdup(json_object_get_string(json_object_object_get(tool, "content")));
  json_object_put(b);
  return content;
}

/* The session id the server's log names last for `method`. */
static char *last_session(const char *method) {
  char *text = server_log(), *sid = NULL;
  char **lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix(*l, method) && (*l)[strlen(method)] == ' ') {
      g_free(sid);
      sid = g_strdup(*l + strlen(method) + 1);
    }
  g_strfreev(lines);
  g_free(text);
  return sid;
}

static hvb_mcp *connect_server(hvb_tools *tools) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_mcp *mcp = hvb_mcp_new(server_url, NULL, &err);
  ck_assert_msg(mcp != NULL, "%s", err.message);
  ck_assert_msg(hvb_tools_add_mcp(tools, mcp, &err), "%s", err.message);
  return mcp;
}

START_TEST(an_http_mcp_call_runs_on_the_engine_and_reads_its_sse_reply) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = hvb_tools_new();
  hvb_mcp *mcp = connect_server(tools);
  hvb_error err = HVB_ERROR_INIT;
  int threads_before = other_threads();
  push_tool_call("slow");
  push_text("B done"); /* a chat while the tool waits */
  push_text("A done");
  hvb_call *a = hvb_llm_chat_tools_async(llm, "A", NULL, tools, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(a != NULL, "%s", err.message);
  ck_assert_msg(wait_file(started), "the MCP tool was never called");
  /* The POST waits on the engine, as a transfer: no thread was made for it. */
  ck_assert_int_eq(other_threads(), threads_before);
  hvb_call *b = hvb_llm_chat_async(llm, "B", NULL, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(b != NULL, "%s", err.message);
  ck_assert_msg(hvb_call_wait(b, 20000), "a chat did not complete while the tool waits");
  ck_assert_str_eq(hvb_result_text(hvb_call_result(b)), "B done");
  ck_assert_msg(!hvb_call_wait(a, 0), "the loop ended before its tool answered");
  tu_write_file(gate, "");
  /* The reply is the second event, in three writes; the stream then stays open 30 s: the
   * call ends at the reply, well within this bound. */
  ck_assert_msg(hvb_call_wait(a, 20000), "the call waited for the end of the SSE stream");
  ck_assert_msg(hvb_call_status(a) == HVB_OK, "%s", hvb_call_error(a)->message);
  ck_assert_str_eq(hvb_result_text(hvb_call_result(a)), "A done");
  char *content = tool_content(2);
  ck_assert_msg(strstr(content, "slow done") != NULL, "%s", content);
  g_free(content);
  ck_assert_msg(server_logged("gone slow"), "the request's POST was not ended after its reply");
  hvb_call_free(a);
  hvb_call_free(b);
  hvb_tools_free(tools);
  hvb_mcp_free(mcp);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_dropped_session_is_renewed_and_the_call_sent_again) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = hvb_tools_new();
  hvb_mcp *mcp = connect_server(tools);
  hvb_error err = HVB_ERROR_INIT;
  char *first = last_session("tools/list");
  ck_assert(first != NULL);
  char *expire = g_strdup_printf("%s/expire", dir);
  tu_write_file(expire, ""); /* the server forgets every session at the next request */
  push_tool_call("fast");
  push_text("A done");
  hvb_call *a = hvb_llm_chat_tools_async(llm, "A", NULL, tools, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(a != NULL, "%s", err.message);
  ck_assert_msg(hvb_call_wait(a, 20000), "the call did not end");
  ck_assert_msg(hvb_call_status(a) == HVB_OK, "%s", hvb_call_error(a)->message);
  char *content = tool_content(1);
  ck_assert_msg(strstr(content, "fast done") != NULL, "%s", content);
  g_free(content);
  char *log = server_log();
  char *want = g_strdup_printf("404 %s\ninitialize None\nnotifications/initialized ", first);
  ck_assert_msg(strstr(log, want) != NULL, "%s", log);
  char *second = last_session("tools/call");
  ck_assert_msg(second && strcmp(second, first) && strstr(log, "tools/call") &&
                    !strstr(log, "tools/call None"), "%s", log);
  hvb_call_free(a);
  hvb_tools_free(tools);
  hvb_mcp_free(mcp);
  /* Closing ends the new session. */
  char *del = g_strdup_printf("DELETE %s", second);
  ck_assert_msg(server_logged(del), "no DELETE of the session at close");
  g_free(del);
  g_free(want);
  g_free(log);
  g_free(second);
  g_free(first);
  g_free(expire);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(the_tool_timeout_cancels_the_http_request) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  json_object *opts = tu_parse("{\"timeout\": 1}");
  hvb_mcp *mcp = hvb_mcp_new(server_url, opts, &err);
  json_object_put(opts);
  ck_assert_msg(mcp != NULL, "%s", err.message);
  ck_assert_msg(hvb_tools_add_mcp(tools, mcp, &err), "%s", err.message);
  push_tool_call("slow"); /* the gate never opens: the 1 s timeout ends the call */
  push_text("A done");
  hvb_call *a = hvb_llm_chat_tools_async(llm, "A", NULL, tools, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(a != NULL, "%s", err.message);
  ck_assert_msg(hvb_call_wait(a, 30000), "the MCP tool's timeout did not end its call");
  ck_assert_msg(hvb_call_status(a) == HVB_OK, "%s", hvb_call_error(a)->message);
  char *content = tool_content(1);
  ck_assert_msg(strstr(content, "no reply within") != NULL, "%s", content);
  g_free(content);
  ck_assert_msg(server_logged("notifications/cancelled"),
                "the timed out request was not cancelled");
  tu_write_file(gate, "");
  hvb_call_free(a);
  hvb_tools_free(tools);
  hvb_mcp_free(mcp);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_cancelled_loop_cancels_its_http_request) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = hvb_tools_new();
  hvb_mcp *mcp = connect_server(tools);
  hvb_error err = HVB_ERROR_INIT;
  push_tool_call("slow");
  hvb_call *a = hvb_llm_chat_tools_async(llm, "A", NULL, tools, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(a != NULL, "%s", err.message);
  ck_assert_msg(wait_file(started), "the MCP tool was never called");
  hvb_call_cancel(a);
  ck_assert(hvb_call_wait(a, 20000));
  ck_assert_int_eq(hvb_call_status(a), HVB_CANCELLED);
  char *sid = last_session("tools/call");
  char *line = g_strdup_printf("notifications/cancelled %s", sid);
  ck_assert_msg(server_logged(line), "the cancelled loop did not cancel its MCP request");
  /* The server is free for the next request, in the same session. */
  json_object *r = hvb_mcp_call(mcp, "fast", NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(strstr(json_object_to_json_string(r), "fast done") != NULL);
  json_object_put(r);
  tu_write_file(gate, "");
  g_free(line);
  g_free(sid);
  hvb_call_free(a);
  hvb_tools_free(tools);
  hvb_mcp_free(mcp);
  ck_assert_int_eq(up_request_count(tu_srv), 1); /* no step after the cancel */
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  tu_require_program("python3", "python3"); /* runs the test's MCP server */
  Suite *s = suite_create("mcp-http-async");
  TCase *tc = tcase_create("http");
  tcase_set_timeout(tc, 120);
  tcase_add_unchecked_fixture(tc, server_start, server_stop); /* one server: python starts slowly */
  tcase_add_checked_fixture(tc, setup, tu_up_teardown);
  tcase_add_test(tc, an_http_mcp_call_runs_on_the_engine_and_reads_its_sse_reply);
  tcase_add_test(tc, a_dropped_session_is_renewed_and_the_call_sent_again);
  tcase_add_test(tc, the_tool_timeout_cancels_the_http_request);
  tcase_add_test(tc, a_cancelled_loop_cancels_its_http_request);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
