/* tests/unit/test-tools.c: tool sets, the tool loop, tool-call repair in the pipeline, and
 * streamed tool calls gathered as the non-streamed ones.
 *
 * Cases: "mock" (loops driven offline by the mock gateway's scripted replies), "upstream"
 * (the same loops against the fake provider, streamed and split at every byte boundary). */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-test-tools-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"

static char data_dir[4096];

static const char *js(json_object *obj) {
  return json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* ---- a weather tool that records what it received ---- */

typedef struct calls_seen {
  int n;
  char args[8][256]; /* compact JSON of each call's arguments */
} calls_seen;

static json_object *weather(json_object *args, void *user_data, hvb_error *err) {
  calls_seen *seen = user_data;
  if (seen->n < 8) snprintf(seen->args[seen->n], sizeof seen->args[0], "%s", js(args));
  seen->n++;
  const char *city = json_object_get_string(json_object_object_get(args, "city"));
  if (!city || !strcmp(city, "Atlantis")) {
    hvb_gateway_fail(err, HVB_EINVAL, "no weather station in '%s'", city ? city : "(none)");
    return NULL;
  }
  json_object *out = json_object_new_object();
  json_object_object_add(out, "city", json_object_new_string(city));
  json_object_object_add(out, "temp_c", json_object_new_int(!strcmp(city, "Paris") ? 21 : 25));
  return out;
}

static json_object *clock_tool(json_object *args, void *user_data, hvb_error *err) {
  (void)err;
  calls_seen *seen = user_data;
  if (seen->n < 8) snprintf(seen->args[seen->n], sizeof seen->args[0], "%s", js(args));
  seen->n++;
  return json_object_new_string("12:00");
}

static hvb_tools *weather_tools(calls_seen *seen) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_tools *t = hvb_tools_new();
  json_object *schema = tu_parse("{\"type\": \"object\", \"properties\": {\"city\": {\"type\": "
                                 "\"string\"}}, \"required\": [\"city\"]}");
  ck_assert_msg(hvb_tools_add(t, "get_weather", "Weather of a city", schema, weather, seen, &err),
                "%s", err.message);
  ck_assert(hvb_tools_add(t, "get_time", "The time", NULL, clock_tool, seen, &err));
  json_object_put(schema);
  return t;
}

static hvb_llm *mock_llm(const char *extra) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = tu_parse(extra ? extra : "{}");
  json_object_object_add(o, "preset", json_object_new_string("mock"));
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  ck_assert_msg(llm != NULL, "%s", err.message);
  return llm;
}

/* Run a loop with `script` (the mock_replies array as JSON text) and extra call options. */
static hvb_result *mock_loop(hvb_llm *llm, hvb_tools *tools, const char *script,
                             const char *opts, hvb_error *err) {
  json_object *call = tu_parse(opts ? opts : "{}");
  json_object_object_add(call, "mock_replies", tu_parse(script));
  hvb_result *r = hvb_llm_chat_tools(llm, "Weather?", NULL, tools, call, err);
  json_object_put(call);
  return r;
}

static json_object *msg(hvb_result *r, size_t i) {
  return json_object_array_get_idx(hvb_result_messages(r), i);
}

static const char *role(hvb_result *r, size_t i) {
  return json_object_get_string(json_object_object_get(msg(r, i), "role"));
}

/* The parsed content of message i (new reference). */
static json_object *content_json(hvb_result *r, size_t i) {
  return tu_parse(json_object_get_string(json_object_object_get(msg(r, i), "content")));
}

#define CALL(id, name, args)                                                                   \
  "{\"id\": \"" id "\", \"function\": {\"name\": \"" name "\", \"arguments\": " args "}}"

/* ---- mock: the loop ---- */

START_TEST(two_steps_tool_call_then_tool_result_then_answer) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_llm *llm = mock_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = mock_loop(
      llm, tools,
      "[{\"tool_calls\": [" CALL("call_1", "get_weather", "{\"city\": \"Paris\"}") "]},"
      " \"It is 21 C in Paris.\"]",
      NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "It is 21 C in Paris.");
  ck_assert_uint_eq(hvb_result_steps(r), 2);
  ck_assert(!hvb_result_max_steps_reached(r));
  ck_assert_int_eq(seen.n, 1);
  ck_assert_str_eq(seen.args[0], "{\"city\":\"Paris\"}");
  ck_assert_int_eq((int)json_object_array_length(hvb_result_messages(r)), 4);
  ck_assert_str_eq(role(r, 0), "user");
  ck_assert_str_eq(role(r, 1), "assistant");
  json_object *tc = json_object_array_get_idx(json_object_object_get(msg(r, 1), "tool_calls"), 0);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(tc, "id")), "call_1");
  ck_assert_str_eq(role(r, 2), "tool");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(msg(r, 2), "tool_call_id")),
                   "call_1");
  json_object *c = content_json(r, 2);
  ck_assert_str_eq(js(c), "{\"city\":\"Paris\",\"temp_c\":21}");
  json_object_put(c);
  ck_assert_str_eq(role(r, 3), "assistant");
  ck_assert_ptr_null(hvb_result_tool_calls(r));
  /* Deltas: the first step's (with its tool call), the tool result, the answer's. */
  json_object *deltas = hvb_result_deltas(r);
  bool saw_call = false, saw_result = false, saw_text_after = false;
  for (size_t i = 0; i < json_object_array_length(deltas); i++) {
    json_object *d = json_object_array_get_idx(deltas, i);
    if (json_object_object_get(d, "tool_calls")) saw_call = true;
    json_object *tr = json_object_object_get(d, "tool_result");
    if (tr) {
      ck_assert(saw_call);
      ck_assert_str_eq(json_object_get_string(json_object_object_get(tr, "id")), "call_1");
      ck_assert(json_object_get_boolean(json_object_object_get(tr, "ok")));
      saw_result = true;
    }
    if (saw_result && json_object_object_get(d, "text")) saw_text_after = true;
  }
  ck_assert(saw_call && saw_result && saw_text_after);
  /* Usage is summed over both steps. */
  ck_assert_ptr_nonnull(hvb_result_usage(r));
  ck_assert_int_eq((int)json_object_array_length(hvb_result_repairs(r)), 0);
  hvb_result_free(r);
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(parallel_calls_in_one_step_each_get_a_tool_message_in_order) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_llm *llm = mock_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = mock_loop(llm, tools,
                            "[{\"tool_calls\": [" CALL("a", "get_weather", "{\"city\": \"Paris\"}")
                            ", " CALL("b", "get_weather", "{\"city\": \"Rome\"}")
                            ", " CALL("c", "get_time", "\"\"") "]}, \"Done.\"]",
                            NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(seen.n, 3);
  ck_assert_str_eq(seen.args[0], "{\"city\":\"Paris\"}");
  ck_assert_str_eq(seen.args[1], "{\"city\":\"Rome\"}");
  ck_assert_str_eq(seen.args[2], "{}"); /* no arguments: {} */
  ck_assert_int_eq((int)json_object_array_length(hvb_result_messages(r)), 6);
  const char *ids[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) {
    ck_assert_str_eq(role(r, 2 + (size_t)i), "tool");
    ck_assert_str_eq(
        json_object_get_string(json_object_object_get(msg(r, 2 + (size_t)i), "tool_call_id")),
        ids[i]);
  }
  ck_assert_str_eq(json_object_get_string(json_object_object_get(msg(r, 4), "content")),
                   "\"12:00\"");
  ck_assert_str_eq(hvb_result_text(r), "Done.");
  hvb_result_free(r);
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(tool_error_is_fed_back_and_the_model_recovers) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_llm *llm = mock_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = mock_loop(
      llm, tools,
      "[{\"tool_calls\": [" CALL("x1", "get_weather", "{\"city\": \"Atlantis\"}") "]},"
      " {\"tool_calls\": [" CALL("x2", "get_weather", "{\"city\": \"Paris\"}") "]},"
      " \"Atlantis has no station; Paris is 21 C.\"]",
      NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_uint_eq(hvb_result_steps(r), 3);
  json_object *c = content_json(r, 2);
  ck_assert(!json_object_get_boolean(json_object_object_get(c, "ok")));
  json_object *e = json_object_object_get(c, "error");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "type")), "EINVAL");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "message")),
                   "no weather station in 'Atlantis'");
  json_object_put(c);
  c = content_json(r, 4);
  ck_assert_int_eq(json_object_get_int(json_object_object_get(c, "temp_c")), 21);
  json_object_put(c);
  ck_assert_str_eq(hvb_result_text(r), "Atlantis has no station; Paris is 21 C.");
  hvb_result_free(r);
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(step_limit_is_reached_and_reported) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_error err = HVB_ERROR_INIT;
  const char *script =
      "[{\"tool_calls\": [" CALL("s1", "get_time", "{}") "]},"
      " {\"tool_calls\": [" CALL("s2", "get_time", "{}") "]},"
      " {\"tool_calls\": [" CALL("s3", "get_time", "{}") "]}, \"never\"]";
  /* The call option. */
  hvb_llm *llm = mock_llm(NULL);
  hvb_result *r = mock_loop(llm, tools, script, "{\"max_steps\": 2}", &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(hvb_result_max_steps_reached(r));
  ck_assert_uint_eq(hvb_result_steps(r), 2);
  ck_assert_int_eq(seen.n, 1); /* the last step's calls are not run */
  ck_assert_str_eq(hvb_result_finish_reason(r), "tool_calls");
  ck_assert_ptr_nonnull(hvb_result_tool_calls(r));
  /* user, assistant, tool, assistant (pending calls) */
  ck_assert_int_eq((int)json_object_array_length(hvb_result_messages(r)), 4);
  hvb_result_free(r);
  hvb_llm_free(llm);
  /* The constructor option. */
  llm = mock_llm("{\"max_steps\": 1}");
  r = mock_loop(llm, tools, script, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(hvb_result_max_steps_reached(r));
  ck_assert_uint_eq(hvb_result_steps(r), 1);
  hvb_result_free(r);
  hvb_llm_free(llm);
  /* The config key. */
  const char *cfgdir = tu_isolate();
  char path[4200];
  snprintf(path, sizeof path, "%s/config.json", cfgdir);
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"max_steps\": 3}}}");
  llm = mock_llm(NULL);
  r = mock_loop(llm, tools, script, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(hvb_result_max_steps_reached(r));
  ck_assert_uint_eq(hvb_result_steps(r), 3);
  hvb_result_free(r);
  /* Bad values are named. */
  ck_assert_ptr_null(mock_loop(llm, tools, script, "{\"max_steps\": 0}", &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "max_steps"));
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(unknown_tool_name_becomes_a_tool_error) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_llm *llm = mock_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = mock_loop(
      llm, tools,
      "[{\"tool_calls\": [" CALL("u1", "launch_rocket_now", "{\"target\": \"moon\"}") "]},"
      " \"I cannot do that.\"]",
      NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(seen.n, 0);
  json_object *c = content_json(r, 2);
  ck_assert(!json_object_get_boolean(json_object_object_get(c, "ok")));
  json_object *e = json_object_object_get(c, "error");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "type")), "unknown_tool");
  ck_assert_ptr_nonnull(
      strstr(json_object_get_string(json_object_object_get(e, "message")), "launch_rocket_now"));
  json_object_put(c);
  ck_assert_str_eq(hvb_result_text(r), "I cannot do that.");
  hvb_result_free(r);
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(broken_arguments_are_repaired_before_the_tool_runs) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_llm *llm = mock_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = mock_loop(
      llm, tools,
      "[{\"tool_calls\": [" CALL("r1", "get_weather", "\"{\\\"city\\\": \\\"Paris\\\",}\"") "]},"
      " \"21 C.\"]",
      NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(seen.n, 1);
  ck_assert_str_eq(seen.args[0], "{\"city\":\"Paris\"}");
  /* The repaired arguments replaced the original in the conversation. */
  json_object *tc = json_object_array_get_idx(json_object_object_get(msg(r, 1), "tool_calls"), 0);
  ck_assert_str_eq(
      json_object_get_string(json_object_object_get(json_object_object_get(tc, "function"),
                                                    "arguments")),
      "{\"city\":\"Paris\"}");
  json_object *reps = hvb_result_repairs(r);
  ck_assert_int_eq((int)json_object_array_length(reps), 1);
  json_object *rec = json_object_array_get_idx(reps, 0);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(rec, "id")), "r1");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(rec, "outcome")), "repaired");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(rec, "step")), 1);
  ck_assert_ptr_nonnull(strstr(js(json_object_object_get(rec, "edits")), "trailing_comma"));
  hvb_result_free(r);

  /* A misspelt tool name is corrected and the tool runs. */
  r = mock_loop(llm, tools,
                "[{\"tool_calls\": [" CALL("r2", "get_wether", "{\"city\": \"Rome\"}") "]},"
                " \"25 C.\"]",
                NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(seen.n, 2);
  ck_assert_str_eq(seen.args[1], "{\"city\":\"Rome\"}");
  ck_assert_ptr_nonnull(strstr(js(hvb_result_repairs(r)), "tool_name:get_wether->get_weather"));
  hvb_result_free(r);

  /* Repair off for the call: the broken arguments reach no tool; the model is told. */
  r = mock_loop(llm, tools,
                "[{\"tool_calls\": [" CALL("r3", "get_weather", "\"{\\\"city\\\": \\\"Paris\\\",}\"")
                "]}, \"Sorry.\"]",
                "{\"repair_tool_calls\": false}", &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(seen.n, 2);
  json_object *c = content_json(r, 2);
  ck_assert_str_eq(
      json_object_get_string(json_object_object_get(json_object_object_get(c, "error"), "type")),
      "invalid_arguments");
  json_object_put(c);
  hvb_result_free(r);
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(unfixable_arguments_fail_under_strict_and_are_told_otherwise) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  const char *script =
      "[{\"tool_calls\": [" CALL("bad1", "get_weather", "\"the city of light\"") "]}, \"ok\"]";
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = mock_llm("{\"tool_call_repair\": {\"strict\": true}}");
  hvb_result *r = mock_loop(llm, tools, script, NULL, &err);
  ck_assert_ptr_null(r);
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err.message, "bad1"));
  ck_assert_ptr_nonnull(strstr(err.message, "get_weather"));
  ck_assert_ptr_nonnull(strstr(err.message, "step 1"));
  ck_assert_int_eq(seen.n, 0);
  /* A plain chat with schema tools fails the same way. */
  json_object *call = tu_parse("{}");
  json_object_object_add(call, "mock_replies", tu_parse(script));
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, call, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  json_object_put(call);
  hvb_llm_free(llm);

  /* Not strict: the original stays, recorded as unfixable; the tool is not called. */
  llm = mock_llm(NULL);
  r = mock_loop(llm, tools, script, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(seen.n, 0);
  json_object *rec = json_object_array_get_idx(hvb_result_repairs(r), 0);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(rec, "outcome")), "unfixable");
  ck_assert_ptr_nonnull(json_object_get_string(json_object_object_get(rec, "reason")));
  json_object *tc = json_object_array_get_idx(json_object_object_get(msg(r, 1), "tool_calls"), 0);
  ck_assert_str_eq(
      json_object_get_string(json_object_object_get(json_object_object_get(tc, "function"),
                                                    "arguments")),
      "the city of light");
  hvb_result_free(r);
  hvb_llm_free(llm);

  /* Bad settings are named. */
  json_object *o = tu_parse("{\"preset\": \"mock\", \"tool_call_repair\": {\"strictly\": 1}}");
  ck_assert_ptr_null(hvb_llm_new(o, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "tool_call_repair"));
  json_object_put(o);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(schema_tools_are_returned_not_run) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_error err = HVB_ERROR_INIT;
  json_object *def = tu_parse("{\"type\": \"function\", \"function\": {\"name\": \"send_mail\", "
                              "\"parameters\": {\"type\": \"object\"}}}");
  ck_assert(hvb_tools_add_schema(tools, def, &err));
  ck_assert(!hvb_tools_add_schema(tools, def, &err)); /* duplicate */
  ck_assert_ptr_nonnull(strstr(err.message, "send_mail"));
  json_object_put(def);
  ck_assert(!hvb_tools_add(tools, "bad name!", NULL, NULL, weather, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_uint_eq(hvb_tools_count(tools), 3);
  ck_assert_int_eq((int)json_object_array_length(hvb_tools_json(tools)), 3);
  hvb_llm *llm = mock_llm(NULL);
  hvb_result *r = mock_loop(
      llm, tools, "[{\"tool_calls\": [" CALL("m1", "send_mail", "{\"to\": \"a@b\"}") "]}]", NULL,
      &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_uint_eq(hvb_result_steps(r), 1);
  ck_assert_int_eq(seen.n, 0);
  ck_assert_int_eq((int)json_object_array_length(hvb_result_tool_calls(r)), 1);
  hvb_result_free(r);
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(loops_that_run_tools_bypass_the_text_cache) {
  tu_isolate();
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_llm *llm = mock_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  const char *script = "[{\"tool_calls\": [" CALL("c1", "get_time", "{}") "]}, \"Noon.\"]";
  for (int i = 0; i < 2; i++) {
    hvb_result *r = mock_loop(llm, tools, script, "{\"temperature\": 0}", &err);
    ck_assert_msg(r != NULL, "%s", err.message);
    ck_assert(!hvb_result_cached(r));
    hvb_result_free(r);
  }
  ck_assert_int_eq(seen.n, 2);
  /* Without executable tools the same deterministic chat is cached. */
  json_object *call = tu_parse("{\"temperature\": 0}");
  json_object_object_add(call, "mock_replies", tu_parse("[\"plain\"]"));
  hvb_result *a = hvb_llm_chat_tools(llm, "hi", NULL, NULL, call, &err);
  hvb_result *b = hvb_llm_chat_tools(llm, "hi", NULL, NULL, call, &err);
  ck_assert(a && b);
  ck_assert(!hvb_result_cached(a));
  ck_assert(hvb_result_cached(b));
  json_object_put(call);
  hvb_result_free(a);
  hvb_result_free(b);
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST

START_TEST(mock_stream_gathers_the_same_tool_calls_as_chat) {
  tu_isolate();
  hvb_llm *llm = mock_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  json_object *call = tu_parse("{}");
  json_object_object_add(
      call, "mock_replies",
      tu_parse("[{\"content\": \"Checking.\", \"tool_calls\": [" CALL("p", "get_weather",
                                                                     "{\"city\": \"Paris\"}")
               ", " CALL("q", "get_time", "\"\"") "]}]"));
  hvb_result *plain = hvb_llm_chat(llm, "hi", NULL, call, &err);
  ck_assert_msg(plain != NULL, "%s", err.message);
  hvb_stream *st = hvb_llm_stream(llm, "hi", NULL, call, &err);
  ck_assert_ptr_nonnull(st);
  json_object *d = NULL;
  while (hvb_stream_next(st, &d, &err) && d) {
  }
  hvb_result *streamed = hvb_stream_result(st, &err);
  ck_assert_msg(streamed != NULL, "%s", err.message);
  ck_assert_str_eq(js(hvb_result_message(plain)), js(hvb_result_message(streamed)));
  ck_assert_ptr_nonnull(strstr(js(hvb_result_tool_calls(plain)), "\"arguments\":\"{}\""));
  hvb_result_free(plain);
  hvb_result_free(streamed);
  hvb_stream_free(st);
  json_object_put(call);
  hvb_llm_free(llm);
}
END_TEST

/* ---- upstream: the openai gateway, streamed tool calls ---- */

static char *data_file(const char *rel) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", data_dir, rel);
  char *text = tu_read_file(path, NULL);
  ck_assert_msg(text != NULL, "cannot read fixture %s", path);
  return text;
}


/* The same reply as stream-tools-parallel.sse, as one chat.completion body. */
static const char parallel_body[] =
    "{\"id\":\"chatcmpl-t\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{\"index\":"
    "0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
    "{\"id\":\"call_paris\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
    "{\"id\":\"call_rome\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}},"
    "{\"id\":\"call_time\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
    "\"arguments\":\"\"}}]},\"finish_reason\":\"tool_calls\"}],"
    "\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":30,\"total_tokens\":80}}";

START_TEST(openai_streamed_parallel_calls_gather_to_the_non_streamed_message) {
  char *sse = data_file("llm/stream-tools-parallel.sse");
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, parallel_body);
  up_push_sse(tu_srv, CHAT_PATH, sse, 1);
  up_push_sse(tu_srv, CHAT_PATH, sse, (int)strlen(sse)); /* one byte per chunk */
  free(sse);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *plain = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_msg(plain != NULL, "%s", err.message);
  json_object *stream_opt = tu_parse("{\"stream\": true}");
  for (int i = 0; i < 2; i++) {
    hvb_result *s = hvb_llm_chat(llm, "hi", NULL, stream_opt, &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    ck_assert_str_eq(js(hvb_result_message(plain)), js(hvb_result_message(s)));
    ck_assert_str_eq(js(hvb_result_usage(plain)), js(hvb_result_usage(s)));
    ck_assert_str_eq(hvb_result_finish_reason(s), "tool_calls");
    hvb_result_free(s);
  }
  ck_assert_int_eq((int)json_object_array_length(hvb_result_tool_calls(plain)), 3);
  ck_assert_ptr_nonnull(strstr(js(hvb_result_tool_calls(plain)), "\"arguments\":\"{}\""));
  json_object_put(stream_opt);
  hvb_result_free(plain);
  hvb_llm_free(llm);
}
END_TEST

/* Step 1 of a streamed loop: one broken tool call in fragments, then step 2: the answer. */
static const char step1_sse[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,"
    "\"id\":\"call_w\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
    "\"\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
    "\"arguments\":\"{\\\"city\\\": \"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
    "\"arguments\":\"\\\"Paris\\\",}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: [DONE]\n\n";
static const char step2_sse[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"21 C in \"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Paris.\"},\"finish_reason\":"
    "\"stop\"}]}\n\n"
    "data: [DONE]\n\n";
static const char step1_body[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
    "\"tool_calls\":[{\"id\":\"call_w\",\"type\":\"function\",\"function\":{\"name\":"
    "\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\",}\"}}]},\"finish_reason\":"
    "\"tool_calls\"}]}";
static const char step2_body[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"21 C in Paris.\"},"
    "\"finish_reason\":\"stop\"}]}";

/* Run one two-step loop against what is queued; returns the conversation as JSON text. */
static char *upstream_loop(hvb_llm *llm, hvb_tools *tools, bool stream, calls_seen *seen) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *opts = tu_parse(stream ? "{\"stream\": true}" : "{}");
  int before = seen->n;
  hvb_result *r = hvb_llm_chat_tools(llm, "Weather in Paris?", NULL, tools, opts, &err);
  json_object_put(opts);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(seen->n, before + 1);
  ck_assert_str_eq(seen->args[seen->n - 1 < 8 ? seen->n - 1 : 7], "{\"city\":\"Paris\"}");
  ck_assert_str_eq(hvb_result_text(r), "21 C in Paris.");
  ck_assert_uint_eq(hvb_result_steps(r), 2);
  ck_assert_int_eq((int)json_object_array_length(hvb_result_repairs(r)), 1);
  char *out = g_strdup(js(hvb_result_messages(r)));
  hvb_result_free(r);
  return out;
}

START_TEST(streamed_loop_split_at_every_byte_boundary_equals_the_plain_loop) {
  calls_seen seen = {0};
  hvb_tools *tools = weather_tools(&seen);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, step1_body);
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, step2_body);
  char *plain = upstream_loop(llm, tools, false, &seen);
  /* What was sent: the tools, tool_choice auto, then the tool message in step 2. */
  json_object *b0 = tu_sent_body(tu_srv, 0), *b1 = tu_sent_body(tu_srv, 1);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(b0, "tool_choice")), "auto");
  ck_assert_ptr_nonnull(strstr(js(json_object_object_get(b0, "tools")), "\"get_weather\""));
  ck_assert_ptr_null(json_object_object_get(b0, "max_steps"));
  json_object *m1 = json_object_object_get(b1, "messages");
  ck_assert_int_eq((int)json_object_array_length(m1), 3);
  ck_assert_ptr_nonnull(strstr(js(json_object_array_get_idx(m1, 2)), "\"role\":\"tool\""));
  json_object_put(b0);
  json_object_put(b1);

  size_t n = strlen(step1_sse);
  for (size_t cut = 0; cut < n; cut++) {
    /* cut 0: one byte per chunk; else two pieces split at `cut`. */
    if (cut == 0) {
      up_push_sse(tu_srv, CHAT_PATH, step1_sse, (int)n);
    } else {
      up_chunk pieces[2] = {{step1_sse, cut, 0}, {step1_sse + cut, n - cut, 0}};
      up_response resp = {.content_type = "text/event-stream", .chunks = pieces, .nchunks = 2,
                          .chunked = true};
      up_push(tu_srv, CHAT_PATH, &resp);
    }
    up_push_sse(tu_srv, CHAT_PATH, step2_sse, cut % 7 + 1);
    char *streamed = upstream_loop(llm, tools, true, &seen);
    ck_assert_msg(strcmp(plain, streamed) == 0, "cut %zu:\n%s\n%s", cut, plain, streamed);
    g_free(streamed);
  }
  g_free(plain);
  hvb_llm_free(llm);
  hvb_tools_free(tools);
}
END_TEST


START_TEST(anthropic_input_json_deltas_split_per_byte_gather_to_the_reply) {
  char *sse = data_file("anthropic/stream-tools.sse");
  char *reply = data_file("anthropic/replies/tools.json");
  json_object *g = tu_parse(reply); /* {"anthropic": <the Messages reply>, ...} */
  up_push_body(tu_srv, "/v1/messages", 200, NULL, js(json_object_object_get(g, "anthropic")));
  json_object_put(g);
  up_push_sse(tu_srv, "/v1/messages", sse, (int)strlen(sse)); /* one byte per chunk */
  free(sse);
  free(reply);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "claude-sonnet-4-5", KEY,
                                 "{\"provider\": \"anthropic\", \"gateway\": \"anthropic\"}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *plain = hvb_llm_chat(llm, "Weather?", NULL, NULL, &err);
  ck_assert_msg(plain != NULL, "%s", err.message);
  json_object *stream_opt = tu_parse("{\"stream\": true}");
  hvb_result *streamed = hvb_llm_chat(llm, "Weather?", NULL, stream_opt, &err);
  json_object_put(stream_opt);
  ck_assert_msg(streamed != NULL, "%s", err.message);
  ck_assert_str_eq(js(hvb_result_message(plain)), js(hvb_result_message(streamed)));
  ck_assert_int_eq((int)json_object_array_length(hvb_result_tool_calls(streamed)), 2);
  ck_assert_str_eq(hvb_result_finish_reason(streamed), hvb_result_finish_reason(plain));
  hvb_result_free(plain);
  hvb_result_free(streamed);
  hvb_llm_free(llm);
}
END_TEST

int main(int argc, char **argv) {
  (void)argc;
  snprintf(data_dir, sizeof data_dir, "%s", tu_data_dir(argv[0]));
  Suite *s = suite_create("tools");

  TCase *mock = tcase_create("mock");
  tcase_set_timeout(mock, 60);
  tcase_add_test(mock, two_steps_tool_call_then_tool_result_then_answer);
  tcase_add_test(mock, parallel_calls_in_one_step_each_get_a_tool_message_in_order);
  tcase_add_test(mock, tool_error_is_fed_back_and_the_model_recovers);
  tcase_add_test(mock, step_limit_is_reached_and_reported);
  tcase_add_test(mock, unknown_tool_name_becomes_a_tool_error);
  tcase_add_test(mock, broken_arguments_are_repaired_before_the_tool_runs);
  tcase_add_test(mock, unfixable_arguments_fail_under_strict_and_are_told_otherwise);
  tcase_add_test(mock, schema_tools_are_returned_not_run);
  tcase_add_test(mock, loops_that_run_tools_bypass_the_text_cache);
  tcase_add_test(mock, mock_stream_gathers_the_same_tool_calls_as_chat);
  suite_add_tcase(s, mock);

  TCase *up = tcase_create("upstream");
  tcase_set_timeout(up, 600);
  tcase_add_checked_fixture(up, tu_up_setup, tu_up_teardown);
  tcase_add_test(up, openai_streamed_parallel_calls_gather_to_the_non_streamed_message);
  tcase_add_test(up, streamed_loop_split_at_every_byte_boundary_equals_the_plain_loop);
  tcase_add_test(up, anthropic_input_json_deltas_split_per_byte_gather_to_the_reply);
  suite_add_tcase(s, up);
  return tu_run(s);
}
