/* tests/unit/test-mcp-async.c: an async tool loop's MCP tool call does not hold the engine.
 *
 * The MCP server is tests/mcp/slow-server.py over stdio: its one tool, "slow", answers only
 * when the test creates a gate file, so "another async call completed while the MCP call
 * waited" is shown without timing: were the call on the engine thread, the other call could
 * not even start before the gate opened (the wait below gives up after 20 s; the server
 * waits up to 60 s). The call runs on the engine's watch of the server's socket: no thread
 * is made for it (counted in /proc/self/task), a cancel of the loop and the tool timeout (an
 * engine timer) send notifications/cancelled, which the server logs. The model is the fake
 * upstream. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KEY "sk-test-mcp-async-0123456789abcd"
#define CHAT_PATH "/v1/chat/completions"

static char started[4096], gate[4096], methods[4096];

/* The server, logging the methods it reads to `methods`; `options` as hvb_mcp_new's. */
static hvb_mcp *slow_server_with(const char *options) {
  const char *src = getenv("HB_TEST_SRCDIR");
  snprintf(started, sizeof started, "%s/started", tu_tmpdir());
  snprintf(gate, sizeof gate, "%s/gate", tu_tmpdir());
  snprintf(methods, sizeof methods, "%s/methods", tu_tmpdir());
  unlink(started);
  unlink(gate);
  unlink(methods);
  char *cmd = g_strdup_printf("python3 %s/tests/mcp/slow-server.py %s", src ? src : ".",
                              methods);
  hvb_error err = HVB_ERROR_INIT;
  json_object *opts = options ? tu_parse(options) : NULL;
  hvb_mcp *mcp = hvb_mcp_new(cmd, opts, &err);
  ck_assert_msg(mcp != NULL, "%s", err.message);
  json_object_put(opts);
  g_free(cmd);
  return mcp;
}

static hvb_mcp *slow_server(void) { return slow_server_with(NULL); }

/* The threads of this process that are neither the engine's nor the fake upstream's (whose
 * connection threads come and go with the model's requests). */
static int other_threads(void) {
  static const char *const ours[] = {"hvb-engine", "up-conn", "up-accept", NULL};
  return tu_count_threads(ours, false);
}

/* Whether the server read `method` (within 60 s). */
static bool server_read(const char *method) {
  for (int i = 0; i < 600; i++) {
    char *text = NULL;
    bool found = g_file_get_contents(methods, &text, NULL, NULL) && strstr(text, method);
    g_free(text);
    if (found) return true;
    g_usleep(100000);
  }
  return false;
}

static void push_text(const char *text) {
  char *body = g_strdup_printf("{\"choices\": [{\"index\": 0, \"message\": {\"role\": "
                               "\"assistant\", \"content\": \"%s\"}, \"finish_reason\": "
                               "\"stop\"}]}", text);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, body);
  g_free(body);
}

/* The model asks for "slow" with the two file names. */
static void push_slow_call(void) {
  json_object *args = json_object_new_object();
  json_object_object_add(args, "started", json_object_new_string(started));
  json_object_object_add(args, "gate", json_object_new_string(gate));
  json_object *fn = json_object_new_object();
  json_object_object_add(fn, "name", json_object_new_string("slow"));
  json_object_object_add(fn, "arguments", json_object_new_string(json_object_to_json_string(args)));
  json_object *call = json_object_new_object();
  json_object_object_add(call, "id", json_object_new_string("call_slow"));
  json_object_object_add(call, "type", json_object_new_string("function"));
  json_object_object_add(call, "function", fn);
  json_object *body = tu_parse("{\"choices\": [{\"index\": 0, \"message\": {\"role\": "
                               "\"assistant\", \"content\": null, \"tool_calls\": []}, "
                               "\"finish_reason\": \"tool_calls\"}]}");
  json_object *msg = json_object_object_get(json_object_array_get_idx(
      json_object_object_get(body, "choices"), 0), "message");
  json_object_array_add(json_object_object_get(msg, "tool_calls"), call);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, json_object_to_json_string(body));
  json_object_put(body);
  json_object_put(args);
}

static bool wait_file(const char *path) {
  for (int i = 0; i < 600; i++) { /* 60 s at most: a slow machine, valgrind */
    if (access(path, F_OK) == 0) return true;
    g_usleep(100000);
  }
  return false;
}

static void open_gate(void) { tu_write_file(gate, ""); }

START_TEST(another_async_call_completes_while_an_mcp_tool_call_waits) {
  hvb_mcp *mcp = slow_server();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_tools_add_mcp(tools, mcp, &err), "%s", err.message);
  int threads_before = other_threads();
  push_slow_call();    /* loop A, step 1 */
  push_text("B done"); /* call B, while A's tool waits */
  push_text("A done"); /* loop A, step 2 */
  hvb_call *a = hvb_llm_chat_tools_async(llm, "A", NULL, tools, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(a != NULL, "%s", err.message);
  ck_assert_msg(wait_file(started), "the MCP tool was never called");
  /* The call waits on the engine's watch of the server's socket: no thread was made for it. */
  ck_assert_int_eq(other_threads(), threads_before);
  hvb_call *b = hvb_llm_chat_async(llm, "B", NULL, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(b != NULL, "%s", err.message);
  ck_assert_msg(hvb_call_wait(b, 20000),
                "a chat started while the MCP tool waits did not complete: the engine is held");
  ck_assert_int_eq(hvb_call_status(b), HVB_OK);
  ck_assert_str_eq(hvb_result_text(hvb_call_result(b)), "B done");
  ck_assert_msg(!hvb_call_wait(a, 0), "the loop ended before its tool answered");
  open_gate();
  ck_assert(hvb_call_wait(a, 30000));
  ck_assert_msg(hvb_call_status(a) == HVB_OK, "%s", hvb_call_error(a)->message);
  ck_assert_str_eq(hvb_result_text(hvb_call_result(a)), "A done");
  /* The tool's answer reached the model's next request (A1, B, A2: index 2). */
  json_object *b3 = tu_sent_body(tu_srv, 2);
  json_object *msgs = json_object_object_get(b3, "messages");
  json_object *tool = json_object_array_get_idx(msgs, json_object_array_length(msgs) - 1);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(tool, "tool_call_id")),
                   "call_slow");
  ck_assert(strstr(json_object_get_string(json_object_object_get(tool, "content")),
                   "slow done") != NULL);
  json_object_put(b3);
  hvb_call_free(a);
  hvb_call_free(b);
  hvb_tools_free(tools);
  hvb_mcp_free(mcp);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_cancelled_loop_cancels_its_mcp_request) {
  hvb_mcp *mcp = slow_server();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_tools_add_mcp(tools, mcp, &err), "%s", err.message);
  push_slow_call();
  hvb_call *a = hvb_llm_chat_tools_async(llm, "A", NULL, tools, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(a != NULL, "%s", err.message);
  ck_assert_msg(wait_file(started), "the MCP tool was never called");
  hvb_call_cancel(a);
  ck_assert(hvb_call_wait(a, 20000));
  ck_assert_int_eq(hvb_call_status(a), HVB_CANCELLED);
  hvb_call_free(a);
  hvb_tools_free(tools);
  open_gate(); /* the server reads again once its call is over */
  ck_assert_msg(server_read("notifications/cancelled"),
                "the cancelled loop did not cancel its MCP request");
  /* The server is free for the next request; its late reply to the cancelled one is
   * dropped, not taken for this one's. */
  unlink(started);
  json_object *args = json_object_new_object();
  json_object_object_add(args, "started", json_object_new_string(started));
  json_object_object_add(args, "gate", json_object_new_string(gate));
  json_object *r = hvb_mcp_call(mcp, "slow", args, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  json_object_put(r);
  json_object_put(args);
  hvb_mcp_free(mcp);
  ck_assert_int_eq(up_request_count(tu_srv), 1); /* no step after the cancel */
  hvb_llm_free(llm);
}
END_TEST

static gpointer sync_call(gpointer mcp) {
  json_object *args = json_object_new_object();
  json_object_object_add(args, "started", json_object_new_string(started));
  json_object_object_add(args, "gate", json_object_new_string(gate));
  hvb_error err = HVB_ERROR_INIT;
  json_object *r = hvb_mcp_call(mcp, "slow", args, &err);
  json_object_put(args);
  return r;
}

START_TEST(a_sync_call_during_an_async_one_gets_its_own_reply) {
  hvb_mcp *mcp = slow_server();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_tools_add_mcp(tools, mcp, &err), "%s", err.message);
  push_slow_call();
  push_text("A done");
  hvb_call *a = hvb_llm_chat_tools_async(llm, "A", NULL, tools, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(a != NULL, "%s", err.message);
  ck_assert_msg(wait_file(started), "the MCP tool was never called");
  /* A synchronous call of the same server while the async one waits: it waits its turn
   * (were both on the socket at once, one would read the other's reply and drop it). */
  GThread *th = g_thread_new("sync-call", sync_call, mcp);
  g_usleep(300000); /* lets it reach the server first; without it the test only shows less */
  open_gate();
  json_object *r = g_thread_join(th);
  ck_assert_msg(r != NULL, "the synchronous call failed");
  ck_assert(strstr(json_object_to_json_string(r), "slow done") != NULL);
  json_object_put(r);
  ck_assert(hvb_call_wait(a, 30000));
  ck_assert_msg(hvb_call_status(a) == HVB_OK, "%s", hvb_call_error(a)->message);
  json_object *b2 = tu_sent_body(tu_srv, 1);
  ck_assert(strstr(json_object_to_json_string(b2), "slow done") != NULL);
  json_object_put(b2);
  char *text = NULL;
  ck_assert(g_file_get_contents(methods, &text, NULL, NULL));
  ck_assert_msg(strstr(text, "tools/call\ntools/call\n") != NULL, "%s", text);
  ck_assert_msg(strstr(text, "cancelled") == NULL, "%s", text); /* neither timed out */
  g_free(text);
  hvb_call_free(a);
  hvb_tools_free(tools);
  hvb_mcp_free(mcp);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(the_tool_timeout_is_an_engine_deadline) {
  hvb_mcp *mcp = slow_server_with("{\"timeout\": 1}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_tools *tools = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_tools_add_mcp(tools, mcp, &err), "%s", err.message);
  push_slow_call(); /* the gate never opens: the call runs into its 1 s timeout */
  push_text("A done");
  hvb_call *a = hvb_llm_chat_tools_async(llm, "A", NULL, tools, NULL, NULL, NULL, NULL, &err);
  ck_assert_msg(a != NULL, "%s", err.message);
  ck_assert_msg(hvb_call_wait(a, 30000), "the MCP tool's timeout did not end its call");
  ck_assert_msg(hvb_call_status(a) == HVB_OK, "%s", hvb_call_error(a)->message);
  json_object *b2 = tu_sent_body(tu_srv, 1);
  json_object *msgs = json_object_object_get(b2, "messages");
  json_object *tool = json_object_array_get_idx(msgs, json_object_array_length(msgs) - 1);
  const char *content = json_object_get_string(json_object_object_get(tool, "content"));
  ck_assert_msg(strstr(content, "no reply within") != NULL, "%s", content);
  json_object_put(b2);
  open_gate();
  ck_assert_msg(server_read("notifications/cancelled"), "the timed out request was not cancelled");
  hvb_call_free(a);
  hvb_tools_free(tools);
  hvb_mcp_free(mcp);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  tu_require_program("python3", "python3"); /* runs the test's MCP server */
  Suite *s = suite_create("mcp-async");
  TCase *tc = tcase_create("stdio");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, another_async_call_completes_while_an_mcp_tool_call_waits);
  tcase_add_test(tc, a_cancelled_loop_cancels_its_mcp_request);
  tcase_add_test(tc, the_tool_timeout_is_an_engine_deadline);
  tcase_add_test(tc, a_sync_call_during_an_async_one_gets_its_own_reply);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
