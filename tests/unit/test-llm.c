/* tests/unit/test-llm.c: the call pipeline, the openai and mock gateways, results.
 *
 * Three cases: "pure" (translation, accumulator, projection, mock replies: no spec, no
 * network), "mock" (the public API over the offline gateway) and "upstream" (the public API
 * against the fake provider server in tests/upstream). */
#include "testutil.h"
#include "gateway/gateway.h"
#include "text/json.h"
#include "call/accum.h"
#include "call/request.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "sk-test-llm-0123456789abcdef"
#define CHAT_PATH "/v1/chat/completions"

static char data_dir[4096];

/* ---- helpers ---- */

static char *fixture(const char *name) {
  char path[4200];
  snprintf(path, sizeof path, "%s/llm/%s", data_dir, name);
  char *text = tu_read_file(path, NULL);
  ck_assert_msg(text != NULL, "cannot read fixture %s", path);
  return text;
}

static json_object *fixture_json(const char *name) {
  char *text = fixture(name);
  json_object *obj = json_tokener_parse(text);
  free(text);
  ck_assert_ptr_nonnull(obj);
  return obj;
}

static const char *js(json_object *obj) {
  return json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Replay an SSE fixture through the openai gateway into `acc`, the way the pipeline does,
 * with a deliberately simple event splitter so that these tests do not depend on the
 * decoder: blank lines end events, "data:" lines are joined, comments are skipped. Returns
 * parse_event's verdict; *done tells whether [DONE] was seen. */
static bool replay(const char *name, hvb_accum *acc, bool *done, hvb_error *err) {
  char *text = fixture(name);
  char **blocks = g_strsplit(text, "\n\n", -1);
  json_object *chunks = json_object_new_array();
  bool ok = true;
  *done = false;
  for (char **b = blocks; *b && ok; b++) {
    GString *data = g_string_new(NULL);
    bool has_data = false;
    char **lines = g_strsplit(*b, "\n", -1);
    for (char **l = lines; *l; l++) {
      if (!g_str_has_prefix(*l, "data:")) continue;
      const char *v = *l + 5;
      if (*v == ' ') v++;
      if (has_data) g_string_append_c(data, '\n');
      g_string_append(data, v);
      has_data = true;
    }
    g_strfreev(lines);
    if (has_data) {
      hvb_sse_event ev = {"", data->str, data->len, ""};
      ok = hvb_openai_parse_event(NULL, &ev, chunks, done, err);
      for (size_t i = 0; i < json_object_array_length(chunks); i++)
        json_object_put(hvb__accum_feed(acc, json_object_array_get_idx(chunks, i)));
      if (json_object_array_length(chunks))
        json_object_array_del_idx(chunks, 0, json_object_array_length(chunks));
    }
    g_string_free(data, TRUE);
  }
  json_object_put(chunks);
  g_strfreev(blocks);
  free(text);
  return ok;
}

static hvb_result *replay_result(const char *name) {
  hvb_accum *acc = hvb__accum_new();
  bool done;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(replay(name, acc, &done, &err), "%s: %s", name, err.message);
  ck_assert(done);
  json_object *msgs = tu_parse("[{\"role\":\"user\",\"content\":\"hi\"}]");
  hvb_result *r = hvb__accum_result(acc, msgs);
  json_object_put(msgs);
  hvb__accum_free(acc);
  return r;
}

static char *project(const hvb_result *r, const char *include) {
  bool ok = false;
  hvb_error err = HVB_ERROR_INIT;
  json_object *v = hvb_result_project(r, include, &ok, &err);
  ck_assert_msg(ok, "project %s: %s", include, err.message);
  char *s = hvb__json_canonical(v);
  json_object_put(v);
  return s;
}

/* Two results a user cannot tell apart (raw aside: a body is not a list of events). */
static void assert_same_result(const hvb_result *a, const hvb_result *b) {
  const char *inc = "text,think,message,messages,tool_calls,usage";
  char *x = project(a, inc), *y = project(b, inc);
  ck_assert_str_eq(x, y);
  g_free(x);
  g_free(y);
  ck_assert_str_eq(hvb_result_finish_reason(a), hvb_result_finish_reason(b));
}

/* ============================================================================================
 * pure
 * ========================================================================================== */

START_TEST(stream_content_and_final_usage_chunk_give_text_and_usage) {
  hvb_result *r = replay_result("stream-content.sse");
  ck_assert_str_eq(hvb_result_text(r), "Hello world");
  ck_assert_str_eq(hvb_result_think(r), "");
  ck_assert_str_eq(hvb_result_finish_reason(r), "stop");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(hvb_result_usage(r), "total_tokens")),
                   11);
  /* The role chunk and "content": "" give nothing; the usage-only chunk is a delta. */
  json_object *deltas = hvb_result_deltas(r);
  ck_assert_int_eq((int)json_object_array_length(deltas), 4);
  ck_assert_str_eq(js(json_object_array_get_idx(deltas, 0)), "{\"text\":\"Hello\"}");
  ck_assert_str_eq(js(json_object_array_get_idx(deltas, 2)), "{\"finish_reason\":\"stop\"}");
  json_object *last = json_object_array_get_idx(deltas, 3);
  ck_assert_int_eq(json_object_object_length(last), 1);
  ck_assert_ptr_nonnull(json_object_object_get(last, "usage"));
  ck_assert_ptr_null(hvb_result_tool_calls(r));
  ck_assert_ptr_null(hvb_result_raw(r)); /* the accumulator keeps what it is given */
  hvb_result_free(r);
}
END_TEST

START_TEST(deepseek_reasoning_content_becomes_think) {
  hvb_result *r = replay_result("stream-reasoning-content.sse");
  ck_assert_str_eq(hvb_result_think(r), "The user greets. Answer briefly.");
  ck_assert_str_eq(hvb_result_text(r), "Hi!");
  json_object *msg = hvb_result_message(r);
  ck_assert_str_eq(hvb__json_str(msg, "reasoning_content"), "The user greets. Answer briefly.");
  ck_assert_str_eq(hvb__json_str(msg, "content"), "Hi!");
  ck_assert_int_eq(json_object_get_int(hvb__json_path(
                       hvb_result_usage(r), "completion_tokens_details.reasoning_tokens")),
                   10);
  hvb_result_free(r);
}
END_TEST

START_TEST(openrouter_reasoning_becomes_think_and_comments_are_ignored) {
  hvb_result *r = replay_result("stream-reasoning.sse");
  ck_assert_str_eq(hvb_result_think(r), "Thinking hard.");
  ck_assert_str_eq(hvb_result_text(r), "42");
  char *content = project(r, "content");
  ck_assert_str_eq(content, "\"<think>\\nThinking hard.\\n</think>\\n42\"");
  g_free(content);
  hvb_result_free(r);
}
END_TEST

START_TEST(parallel_tool_calls_sharing_an_index_stay_apart) {
  hvb_result *r = replay_result("stream-tools-parallel.sse");
  json_object *calls = hvb_result_tool_calls(r);
  ck_assert_ptr_nonnull(calls);
  ck_assert_str_eq(js(calls),
                   "[{\"id\":\"call_paris\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
                   "{\"id\":\"call_rome\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}},"
                   "{\"id\":\"call_time\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"get_time\",\"arguments\":\"{}\"}}]");
  ck_assert_str_eq(hvb_result_finish_reason(r), "tool_calls");
  /* OpenAI's shape: an assistant turn of only tool calls has content null. */
  json_object *msg = hvb_result_message(r);
  json_object *content = NULL;
  ck_assert(json_object_object_get_ex(msg, "content", &content));
  ck_assert_ptr_null(content);
  ck_assert_str_eq(js(json_object_object_get(msg, "tool_calls")), js(calls));
  /* Deltas carry the fragments as the provider sent them. */
  json_object *d1 = json_object_array_get_idx(hvb_result_deltas(r), 1);
  ck_assert_str_eq(
      js(d1), "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}");
  hvb_result_free(r);
}
END_TEST

START_TEST(tool_call_fragments_without_index_or_repeating_their_id_merge) {
  hvb_accum *acc = hvb__accum_new();
  const char *chunks[] = {
      /* a server that repeats the id on every fragment */
      "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"type\":"
      "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\"\"}}]}}]}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\","
      "\"function\":{\"arguments\":\":1}\"}}]}}]}",
      /* a server that sends whole calls without index */
      "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"type\":\"function\","
      "\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}},{\"id\":\"c\",\"function\":{\"name\":"
      "\"h\",\"arguments\":\"{\\\"y\\\":2}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
    json_object *c = tu_parse(chunks[i]);
    json_object_put(hvb__accum_feed(acc, c));
    json_object_put(c);
  }
  hvb_result *r = hvb__accum_result(acc, NULL);
  json_object *calls = hvb_result_tool_calls(r);
  ck_assert_int_eq((int)json_object_array_length(calls), 3);
  ck_assert_str_eq(
      hvb__json_str(hvb__json_path(json_object_array_get_idx(calls, 0), "function"), "arguments"),
      "{\"x\":1}");
  ck_assert_str_eq(hvb__json_str(json_object_array_get_idx(calls, 2), "type"), "function");
  /* messages: just the assistant message when no request messages were given */
  ck_assert_int_eq((int)json_object_array_length(hvb_result_messages(r)), 1);
  hvb_result_free(r);
  hvb__accum_free(acc);
}
END_TEST

START_TEST(error_event_is_a_provider_error_with_message_and_type) {
  hvb_accum *acc = hvb__accum_new();
  bool done;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!replay("stream-error.sse", acc, &done, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.type, "server_error");
  ck_assert_ptr_nonnull(strstr(err.message, "The server had an error while processing"));
  hvb__accum_free(acc);
}
END_TEST

START_TEST(done_marker_ends_and_bad_event_data_is_a_parse_error) {
  json_object *chunks = json_object_new_array();
  bool done = false;
  hvb_error err = HVB_ERROR_INIT;
  hvb_sse_event ev = {"", "[DONE]", 6, ""};
  ck_assert(hvb_openai_parse_event(NULL, &ev, chunks, &done, &err));
  ck_assert(done);
  ck_assert_int_eq((int)json_object_array_length(chunks), 0);
  hvb_sse_event bad = {"", "{\"choices\": [", 13, ""};
  ck_assert(!hvb_openai_parse_event(NULL, &bad, chunks, &done, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err.message, "stream event"));
  hvb_sse_event named = {"error", "{\"message\":\"overloaded\",\"type\":\"busy\"}", 38, ""};
  ck_assert(!hvb_openai_parse_event(NULL, &named, chunks, &done, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.type, "busy");
  ck_assert_ptr_nonnull(strstr(err.message, "overloaded"));
  hvb_sse_event num = {"", "42", 2, ""};
  ck_assert(!hvb_openai_parse_event(NULL, &num, chunks, &done, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  json_object_put(chunks);
}
END_TEST

START_TEST(usage_merge_sums_numbers_keeps_first_labels_and_merges_nested) {
  json_object *dst = tu_parse("{\"prompt_tokens\":3,\"cost\":0.5,\"model\":\"a\",\"cached\":null,"
                           "\"details\":{\"reasoning_tokens\":1}}");
  json_object *src = tu_parse("{\"prompt_tokens\":4,\"completion_tokens\":2,\"cost\":0.25,"
                           "\"model\":\"b\",\"cached\":7,\"details\":{\"reasoning_tokens\":2,"
                           "\"audio_tokens\":0}}");
  hvb__usage_merge(dst, src);
  char *s = hvb__json_canonical(dst);
  ck_assert_str_eq(s, "{\"cached\":7,\"completion_tokens\":2,\"cost\":0.75,\"details\":"
                      "{\"audio_tokens\":0,\"reasoning_tokens\":3},\"model\":\"a\","
                      "\"prompt_tokens\":7}");
  ck_assert(json_object_is_type(json_object_object_get(dst, "prompt_tokens"), json_type_int));
  g_free(s);
  json_object_put(dst);
  json_object_put(src);
}
END_TEST

START_TEST(usage_split_across_chunks_is_summed) {
  hvb_accum *acc = hvb__accum_new();
  json_object *a =
      tu_parse("{\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}");
  json_object *b = tu_parse("{\"choices\":[],\"usage\":{\"completion_tokens\":5}}");
  json_object_put(hvb__accum_feed(acc, a));
  json_object_put(hvb__accum_feed(acc, b));
  hvb_result *r = hvb__accum_result(acc, NULL);
  ck_assert_str_eq(js(hvb_result_usage(r)), "{\"prompt_tokens\":9,\"completion_tokens\":6}");
  hvb_result_free(r);
  json_object_put(a);
  json_object_put(b);
  hvb__accum_free(acc);
}
END_TEST

/* A chat.completion, through parse_chat and the chunk conversion, gives what the stream of
 * the same reply gives. */
static hvb_result *completion_result(const char *name) {
  json_object *body = fixture_json(name);
  hvb_error err = HVB_ERROR_INIT;
  json_object *completion = hvb_openai_parse(NULL, HVB_GATEWAY_OP_CHAT, body, &err);
  ck_assert_msg(completion != NULL, "%s", err.message);
  json_object *chunk = hvb__completion_to_chunk(completion);
  hvb_accum *acc = hvb__accum_new();
  json_object_put(hvb__accum_feed(acc, chunk));
  hvb__accum_raw_set(acc, body);
  json_object *msgs = tu_parse("[{\"role\":\"user\",\"content\":\"hi\"}]");
  hvb_result *r = hvb__accum_result(acc, msgs);
  json_object_put(msgs);
  json_object_put(chunk);
  json_object_put(completion);
  hvb__accum_free(acc);
  return r;
}

START_TEST(chat_completion_gives_the_same_result_as_its_stream) {
  hvb_result *a = completion_result("chat-reasoning.json");
  hvb_result *b = replay_result("stream-reasoning-content.sse");
  assert_same_result(a, b);
  ck_assert_str_eq(hvb__json_str(hvb_result_raw(a), "id"), "ds-2");
  ck_assert_int_eq((int)json_object_array_length(hvb_result_deltas(a)), 1);
  hvb_result_free(a);
  hvb_result_free(b);

  hvb_result *t = completion_result("chat-tools.json");
  ck_assert_str_eq(hvb_result_finish_reason(t), "tool_calls");
  ck_assert_str_eq(js(hvb_result_tool_calls(t)),
                   "[{\"id\":\"call_canned1\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]");
  hvb_result_free(t);
}
END_TEST

START_TEST(parse_chat_names_the_missing_field_and_reports_error_bodies) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *b = tu_parse("{\"choices\":[{\"index\":0}]}");
  ck_assert_ptr_null(hvb_openai_parse(NULL, HVB_GATEWAY_OP_CHAT, b, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err.message, "choices[0].message"));
  json_object_put(b);
  b = tu_parse("{\"object\":\"list\"}");
  ck_assert_ptr_null(hvb_openai_parse(NULL, HVB_GATEWAY_OP_CHAT, b, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err.message, "choices"));
  json_object_put(b);
  b = tu_parse("{\"error\":{\"message\":\"model overloaded\",\"type\":\"overloaded_error\"}}");
  ck_assert_ptr_null(hvb_openai_parse(NULL, HVB_GATEWAY_OP_CHAT, b, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.type, "overloaded_error");
  ck_assert_ptr_nonnull(strstr(err.message, "model overloaded"));
  json_object_put(b);
}
END_TEST

/* Issue #13, defect 5: every member the core reads is checked for its JSON type, and the
 * first wrong one is an HVB_PARSE error naming its path (before, each of these replies read
 * as an empty success). The well-typed variants pass. */
START_TEST(openai_parse_names_the_first_wrongly_typed_member) {
  static const struct {
    bool event;
    const char *body;
    const char *message; /* NULL: accepted */
  } cases[] = {
    {false, "{\"choices\":[{\"message\":{\"content\":42}}]}",
     "choices[0].message.content: expected a string, an array or null, got an integer"},
    {false, "{\"choices\":[{\"message\":{\"role\":7,\"content\":\"x\"}}]}",
     "choices[0].message.role: expected a string or null, got an integer"},
    {false, "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":\"lots\"}",
     "usage: expected an object or null, got a string"},
    {false, "{\"choices\":\"x\"}", "choices: expected an array, got a string"},
    {false, "{\"choices\":[]}", "choices: an empty array"},
    {false, "{\"choices\":[7]}", "choices[0]: expected an object, got an integer"},
    {false, "{\"choices\":[{\"index\":\"0\",\"message\":{}}]}",
     "choices[0].index: expected an integer or null, got a string"},
    {false, "{\"choices\":[{\"message\":{},\"finish_reason\":1}]}",
     "choices[0].finish_reason: expected a string or null, got an integer"},
    {false, "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":3}]}}]}",
     "choices[0].message.content[0].text: expected a string or null, got an integer"},
    {false, "{\"choices\":[{\"message\":{\"reasoning_content\":{}}}]}",
     "choices[0].message.reasoning_content: expected a string or null, got an object"},
    {false, "{\"choices\":[{\"message\":{\"tool_calls\":{}}}]}",
     "choices[0].message.tool_calls: expected an array or null, got an object"},
    {false, "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"a\",\"function\":"
            "{\"name\":\"f\",\"arguments\":{}}}]}}]}",
     "choices[0].message.tool_calls[0].function.arguments: expected a string or null, got an "
     "object"},
    {false, "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"a\"}]}}]}",
     "choices[0].message.tool_calls[0].function: missing (expected an object)"},
    {false, "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":{\"total_tokens\":true}}",
     "usage.total_tokens: expected a number or null, got a boolean"},
    {false, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
            "\"tool_calls\":[{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"f\","
            "\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{"
            "\"prompt_tokens\":1,\"completion_tokens\":2.0,\"total_tokens\":3,"
            "\"prompt_tokens_details\":null}}",
     NULL},
    {false, "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
            "{\"type\":\"image_url\"}]}}]}",
     NULL},
    {true, "{\"choices\":\"hello\"}", "choices: expected an array or null, got a string"},
    {true, "{\"choices\":[{\"delta\":{\"content\":5}}]}",
     "choices[0].delta.content: expected a string or null, got an integer"},
    {true, "{\"choices\":[{\"delta\":[]}]}",
     "choices[0].delta: expected an object or null, got an array"},
    {true, "{\"choices\":[{\"delta\":{\"role\":7}}]}",
     "choices[0].delta.role: expected a string or null, got an integer"},
    {true, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":5}}]}}]}",
     "choices[0].delta.tool_calls[0].function.name: expected a string or null, got an integer"},
    {true, "{\"choices\":[],\"usage\":\"lots\"}", "usage: expected an object or null, got a string"},
    {true, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
           "\"function\":{\"arguments\":\"{\\\"a\"}}]},\"finish_reason\":null}]}",
     NULL},
    {true, "{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}", NULL},
    {true, "{\"id\":\"x\",\"usage\":null}", NULL},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    hvb_error err = HVB_ERROR_INIT;
    bool ok;
    if (cases[i].event) {
      json_object *chunks = json_object_new_array();
      bool done = false;
      hvb_sse_event ev = {"", cases[i].body, strlen(cases[i].body), ""};
      ok = hvb_openai_parse_event(NULL, &ev, chunks, &done, &err);
      ck_assert_int_eq((int)json_object_array_length(chunks), ok ? 1 : 0);
      json_object_put(chunks);
    } else {
      json_object *body = tu_parse(cases[i].body);
      json_object *res = hvb_openai_parse(NULL, HVB_GATEWAY_OP_CHAT, body, &err);
      ok = res != NULL;
      json_object_put(res);
      json_object_put(body);
    }
    if (!cases[i].message) {
      ck_assert_msg(ok, "%s: %s", cases[i].body, err.message);
      continue;
    }
    ck_assert_msg(!ok, "%s: accepted", cases[i].body);
    ck_assert_int_eq(err.status, HVB_PARSE);
    ck_assert_msg(g_str_has_prefix(err.message, cases[i].message), "%s: %s", cases[i].body,
                  err.message);
  }
}
END_TEST

START_TEST(projection_of_every_field) {
  hvb_result *r = completion_result("chat-reasoning.json");
  char *s;
  s = project(r, "text");
  ck_assert_str_eq(s, "\"Hi!\"");
  g_free(s);
  s = project(r, "think");
  ck_assert_str_eq(s, "\"The user greets. Answer briefly.\"");
  g_free(s);
  s = project(r, "content");
  ck_assert_str_eq(s, "\"<think>\\nThe user greets. Answer briefly.\\n</think>\\nHi!\"");
  g_free(s);
  s = project(r, "message");
  ck_assert_str_eq(s, "{\"content\":\"Hi!\",\"reasoning_content\":\"The user greets. Answer "
                      "briefly.\",\"role\":\"assistant\"}");
  g_free(s);
  s = project(r, "messages");
  ck_assert_str_eq(s, "[{\"content\":\"hi\",\"role\":\"user\"},{\"content\":\"Hi!\","
                      "\"reasoning_content\":\"The user greets. Answer briefly.\",\"role\":"
                      "\"assistant\"}]");
  g_free(s);
  s = project(r, "delta");
  ck_assert_str_eq(s, "[{\"finish_reason\":\"stop\",\"text\":\"Hi!\",\"think\":\"The user greets."
                      " Answer briefly.\",\"usage\":{\"completion_tokens\":12,"
                      "\"completion_tokens_details\":{\"reasoning_tokens\":10},"
                      "\"prompt_tokens\":5,\"total_tokens\":17}}]");
  g_free(s);
  s = project(r, "usage");
  ck_assert_str_eq(s, "{\"completion_tokens\":12,\"completion_tokens_details\":"
                      "{\"reasoning_tokens\":10},\"prompt_tokens\":5,\"total_tokens\":17}");
  g_free(s);
  s = project(r, "raw");
  ck_assert_ptr_nonnull(strstr(s, "\"id\":\"ds-2\""));
  g_free(s);
  s = project(r, "tool_calls"); /* none: a JSON null */
  ck_assert_str_eq(s, "null");
  g_free(s);
  hvb_result_free(r);
}
END_TEST

START_TEST(projection_of_several_fields_is_an_object_and_unknown_fields_are_named) {
  hvb_result *r = completion_result("chat-tools.json");
  char *s = project(r, " text , tool_calls,usage,text");
  ck_assert_str_eq(s, "{\"text\":\"\",\"tool_calls\":[{\"function\":{\"arguments\":"
                      "\"{\\\"city\\\":\\\"Paris\\\"}\",\"name\":\"get_weather\"},\"id\":"
                      "\"call_canned1\",\"type\":\"function\"}],\"usage\":{\"completion_tokens\""
                      ":15,\"prompt_tokens\":50,\"total_tokens\":65}}");
  g_free(s);
  s = project(r, "content"); /* no think: the text alone */
  ck_assert_str_eq(s, "\"\"");
  g_free(s);

  bool ok = true;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_result_project(r, "text,usgae", &ok, &err));
  ck_assert(!ok);
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "'usgae'"));
  ck_assert_ptr_nonnull(strstr(err.message, "text, think, content, message, messages, delta, "
                                            "tool_calls, usage, raw"));
  ck_assert_ptr_null(hvb_result_project(r, " , ", &ok, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  hvb_result_free(r);
}
END_TEST

/* The mock plugin's execute, as the registry loaded it (from $HB_GATEWAY_PATH). */
static const hvb_gateway_record *mock_gateway(void) {
  char *why = NULL;
  const hvb_gateway_record *gw = hvb__registry_find("mock", &why);
  ck_assert_msg(gw != NULL, "the mock plugin is not loadable: %s", why);
  ck_assert_ptr_nonnull(gw->ops.execute);
  return gw;
}

static json_object *mock_chunks(const char *messages_json) {
  json_object *req = json_object_new_object();
  json_object_object_add(req, "messages", tu_parse(messages_json));
  json_object *chunks = json_object_new_array();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(mock_gateway()->ops.execute(NULL, HVB_GATEWAY_OP_CHAT, req, chunks, &err), "%s",
                err.message);
  json_object_put(req);
  return chunks;
}

/* The mock's embedding of `text` in `dim` dimensions, into out[0..dim). Asserts the size. */
static void mock_embed(const char *text, size_t dim, float *out) {
  json_object *req = json_object_new_object();
  json_object_object_add(req, "input", json_object_new_string(text));
  json_object_object_add(req, "embed_dim", json_object_new_int64((int64_t)dim));
  json_object *res = json_object_new_array();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(mock_gateway()->ops.execute(NULL, HVB_GATEWAY_OP_EMBED, req, res, &err), "%s",
                err.message);
  json_object *vec = hvb__json_path(
      json_object_array_get_idx(json_object_object_get(json_object_array_get_idx(res, 0), "data"),
                                0),
      "embedding");
  ck_assert_int_eq((int)json_object_array_length(vec), (int)dim);
  for (size_t i = 0; i < dim; i++)
    out[i] = (float)json_object_get_double(json_object_array_get_idx(vec, i));
  json_object_put(res);
  json_object_put(req);
}

START_TEST(mock_reply_is_word_chunks_that_concatenate_to_the_reply) {
  json_object *chunks = mock_chunks(
      "[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"first\"},"
      "{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":[{\"type\":"
      "\"text\",\"text\":\"What is\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},"
      "{\"type\":\"text\",\"text\":\"this?\"}]}]");
  size_t n = json_object_array_length(chunks);
  /* role + 6 words ("Mock reply to: What is this?") + finish + usage */
  ck_assert_int_eq((int)n, 9);
  ck_assert_str_eq(js(hvb__json_path(json_object_array_get_idx(chunks, 0), "choices")),
                   "[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]");
  hvb_accum *acc = hvb__accum_new();
  for (size_t i = 0; i < n; i++)
    json_object_put(hvb__accum_feed(acc, json_object_array_get_idx(chunks, i)));
  hvb_result *r = hvb__accum_result(acc, NULL);
  ck_assert_str_eq(hvb_result_text(r), "Mock reply to: What is this?");
  ck_assert_str_eq(js(json_object_array_get_idx(hvb_result_deltas(r), 1)), "{\"text\":\"reply \"}");
  ck_assert_str_eq(hvb_result_finish_reason(r), "stop");
  /* prompt: "be brief" 2 + "first" 1 + "ok" 1 + "What is this?" 3 = 7; reply: 6 words */
  ck_assert_str_eq(js(hvb_result_usage(r)),
                   "{\"prompt_tokens\":7,\"completion_tokens\":6,\"total_tokens\":13}");
  hvb_result_free(r);
  hvb__accum_free(acc);
  json_object_put(chunks);

  chunks = mock_chunks("[{\"role\":\"system\",\"content\":\"only a system prompt\"}]");
  acc = hvb__accum_new();
  for (size_t i = 0; i < json_object_array_length(chunks); i++)
    json_object_put(hvb__accum_feed(acc, json_object_array_get_idx(chunks, i)));
  r = hvb__accum_result(acc, NULL);
  ck_assert_str_eq(hvb_result_text(r), "Mock reply to: (no user message)");
  hvb_result_free(r);
  hvb__accum_free(acc);
  json_object_put(chunks);
}
END_TEST

START_TEST(mock_embeddings_are_deterministic_unit_vectors) {
  float a[40], b[40], c[41];
  for (size_t i = 0; i < G_N_ELEMENTS(c); i++) c[i] = 123.0f;
  mock_embed("hello world", 37, a);
  mock_embed("hello world", 37, b);
  mock_embed("hello world!", 40, c);
  ck_assert_int_eq(memcmp(a, b, 37 * sizeof(float)), 0);
  double na = 0, nc = 0, dot = 0;
  for (int i = 0; i < 37; i++) na += (double)a[i] * a[i];
  for (int i = 0; i < 40; i++) nc += (double)c[i] * c[i];
  ck_assert(fabs(na - 1.0) < 1e-5);
  ck_assert(fabs(nc - 1.0) < 1e-5);
  ck_assert(c[40] == 123.0f); /* nothing written past dim */
  for (int i = 0; i < 37; i++) dot += (double)a[i] * c[i];
  ck_assert(dot < 0.9); /* different texts point elsewhere */
  /* Fixed values pin the algorithm across runs and platforms: block 0 of "" is
   * SHA-256 of four zero bytes, df3f6198 04a92fdb ..., each word u giving u / 2^31 - 1. */
  float e[1];
  mock_embed("", 1, e);
  ck_assert(e[0] == 1.0f);
  float e2[2];
  mock_embed("", 2, e2);
  double w0 = 0xdf3f6198u / 2147483648.0 - 1.0, w1 = 0x04a92fdbu / 2147483648.0 - 1.0;
  double norm = sqrt(w0 * w0 + w1 * w1);
  ck_assert(fabs(e2[0] - w0 / norm) < 1e-6);
  ck_assert(fabs(e2[1] - w1 / norm) < 1e-6);
}
END_TEST

START_TEST(registry_has_the_builtin_openai_and_the_mock_plugin) {
  char *why = NULL;
  const hvb_gateway_record *openai = hvb__registry_find("openai", &why);
  ck_assert_ptr_nonnull(openai);
  ck_assert_int_eq(openai->state, HVB_GATEWAY_STATE_BUILTIN);
  ck_assert_ptr_eq(openai->ops.prepare, hvb_openai_prepare);
  ck_assert_int_eq(mock_gateway()->state, HVB_GATEWAY_STATE_LOADED);
  ck_assert_ptr_null(hvb__registry_find("nope", &why));
  ck_assert_ptr_nonnull(strstr(why, "no file hb-gateway-nope.so in the gateway path"));
  g_free(why);
  ck_assert_ptr_null(hvb__registry_find(NULL, NULL));
}
END_TEST

/* ============================================================================================
 * abi: what plugins call (wire requests, errors, the openai translation)
 * ========================================================================================== */

static hvb_spec *abi_spec(void) {
  tu_isolate();
  json_object *o = tu_parse("{\"provider\": \"openai\", \"model\": \"m-1\", \"base_url\":"
                         " \"https://llm.test/v1/\", \"api_key\": \"" KEY "\", \"headers\":"
                         " {\"X-Team\": \"blue\", \"accept\": \"application/x-ndjson\"}}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_spec *spec = hvb_spec_resolve(NULL, o, &err);
  json_object_put(o);
  ck_assert_msg(spec != NULL, "%s", err.message);
  return spec;
}

static char *joined_headers(const hvb_wire_request *wr) {
  char *s = g_strjoinv("|", (char **)hvb__wire_request_headers(wr));
  return s;
}

START_TEST(wire_request_setters_copy_and_refuse_line_breaks) {
  hvb_wire_request *wr = hvb__wire_request_new();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_str_eq(hvb_wire_request_url(wr), "");
  ck_assert_ptr_null(hvb__wire_request_headers(wr)[0]);
  char url[] = "https://a.test/v1";
  ck_assert(hvb_wire_request_set_url(wr, url, &err));
  url[0] = 'X'; /* copied */
  ck_assert_str_eq(hvb_wire_request_url(wr), "https://a.test/v1");
  ck_assert(!hvb_wire_request_set_url(wr, "https://a.test/\r\nX-Evil: 1", &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_str_eq(hvb_wire_request_url(wr), "https://a.test/v1");
  ck_assert(hvb_wire_request_add_header(wr, "X-One", "1", &err));
  ck_assert(!hvb_wire_request_add_header(wr, "X-Two", "2\r\nX-Evil: 1", &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_str_eq(err.message, "the value of header 'X-Two' contains a line break");
  ck_assert(!hvb_wire_request_add_header(wr, "X-Bad:", "1", &err));
  ck_assert_ptr_nonnull(strstr(err.message, "'X-Bad:' is not a valid header name"));
  ck_assert(!hvb_wire_request_add_header(wr, "", "1", &err));
  json_object *body = tu_parse("{\"a\": \"b/c\"}");
  ck_assert(hvb_wire_request_set_json(wr, body, &err));
  json_object_put(body);
  size_t len = 0;
  ck_assert_str_eq(hvb__wire_request_body(wr, &len), "{\"a\":\"b/c\"}");
  ck_assert_uint_eq(len, 11);
  char *h = joined_headers(wr);
  ck_assert_str_eq(h, "X-One: 1|Content-Type: application/json");
  g_free(h);
  ck_assert(hvb_wire_request_set_body(wr, "x\0y", 3, &err)); /* raw bytes, NUL included */
  ck_assert_int_eq(memcmp(hvb__wire_request_body(wr, &len), "x\0y", 3), 0);
  ck_assert_uint_eq(len, 3);
  hvb__wire_request_free(wr);
  hvb__wire_request_free(NULL);
}
END_TEST

START_TEST(gateway_fail_formats_redacts_and_names_ops) {
  hvb_spec *spec = abi_spec(); /* registers KEY as a secret */
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb_gateway_fail(&err, HVB_PARSE, "bad %s\nwith key %s", "thing", KEY));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_null(strstr(err.message, KEY));
  ck_assert_ptr_nonnull(strstr(err.message, "bad thing with key [REDACTED]"));
  ck_assert(!hvb_gateway_fail_http(&err, HVB_HTTP, 429, "rate_limit", "slow down"));
  ck_assert_int_eq(err.http_status, 429);
  ck_assert_str_eq(err.type, "rate_limit");
  ck_assert(!hvb_gateway_fail(NULL, HVB_PARSE, "ignored"));
  ck_assert_str_eq(hvb_gateway_op_name(HVB_GATEWAY_OP_CHAT), "chat");
  ck_assert_str_eq(hvb_gateway_op_name(HVB_GATEWAY_OP_EMBED), "embed");
  ck_assert_str_eq(hvb_gateway_op_name(HVB_GATEWAY_OP_IMAGE), "image");
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(openai_prepare_builds_url_headers_and_body_for_each_op) {
  hvb_spec *spec = abi_spec();
  hvb_error err = HVB_ERROR_INIT;
  static const struct {
    hvb_gateway_op op;
    const char *request, *url, *headers, *body;
  } cases[] = {
    {HVB_GATEWAY_OP_CHAT, "{\"model\":\"m-1\",\"messages\":[],\"stream\":true}",
     "https://llm.test/v1/chat/completions",
     "Content-Type: application/json|Authorization: Bearer [key]|X-Team: blue|"
     "accept: application/x-ndjson",
     "{\"model\":\"m-1\",\"messages\":[],\"stream\":true,\"stream_options\":"
     "{\"include_usage\":true}}"},
    {HVB_GATEWAY_OP_CHAT,
     "{\"model\":\"m-1\",\"stream\":false,\"stream_options\":{\"include_usage\":true}}",
     "https://llm.test/v1/chat/completions", NULL, "{\"model\":\"m-1\",\"stream\":false}"},
    {HVB_GATEWAY_OP_EMBED, "{\"model\":\"e-1\",\"input\":[\"a\"],\"dimensions\":8}",
     "https://llm.test/v1/embeddings", NULL,
     "{\"model\":\"e-1\",\"input\":[\"a\"],\"dimensions\":8}"},
    {HVB_GATEWAY_OP_IMAGE, "{\"model\":\"i-1\",\"prompt\":\"fox\",\"n\":1}",
     "https://llm.test/v1/images/generations", NULL,
     "{\"model\":\"i-1\",\"prompt\":\"fox\",\"n\":1}"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    hvb_wire_request *wr = hvb__wire_request_new();
    json_object *req = tu_parse(cases[i].request);
    char *before = g_strdup(js(req));
    ck_assert_msg(hvb_openai_prepare(spec, cases[i].op, req, wr, &err), "%s", err.message);
    ck_assert_str_eq(hvb_wire_request_url(wr), cases[i].url);
    ck_assert_str_eq(hvb__wire_request_body(wr, NULL), cases[i].body);
    if (cases[i].headers) {
      char *h = joined_headers(wr);
      char *want = g_strdup(cases[i].headers);
      char *at = strstr(want, "[key]");
      char *expected = g_strdup_printf("%.*s%s%s", (int)(at - want), want, KEY, at + 5);
      ck_assert_str_eq(h, expected);
      g_free(expected);
      g_free(want);
      g_free(h);
    }
    /* The canonical request is the caller's: untouched (the cache keys on it). */
    ck_assert_str_eq(js(req), before);
    g_free(before);
    json_object_put(req);
    hvb__wire_request_free(wr);
  }
  hvb_wire_request *wr = hvb__wire_request_new();
  json_object *arr = tu_parse("[]");
  ck_assert(!hvb_openai_prepare(spec, HVB_GATEWAY_OP_EMBED, arr, wr, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "canonical embeddings request"));
  ck_assert(!hvb_openai_prepare(spec, (hvb_gateway_op)9, arr, wr, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  json_object_put(arr);
  hvb__wire_request_free(wr);
  hvb_spec_unref(spec);
}
END_TEST

START_TEST(openai_parse_checks_embedding_and_image_shapes) {
  static const struct {
    hvb_gateway_op op;
    const char *body;
    hvb_status status;
    const char *message;
  } cases[] = {
    {HVB_GATEWAY_OP_EMBED, "{\"data\":[{\"index\":0,\"embedding\":[0.5,-1]}]}", HVB_OK, NULL},
    {HVB_GATEWAY_OP_EMBED, "{\"object\":\"list\"}", HVB_PARSE, "data: missing (expected an array)"},
    {HVB_GATEWAY_OP_EMBED, "{\"data\":[{\"embedding\":[1]},{\"index\":1}]}", HVB_PARSE,
     "data[1].embedding: missing (expected an array)"},
    {HVB_GATEWAY_OP_EMBED, "{\"data\":[{\"embedding\":[1,\"x\"]}]}", HVB_PARSE,
     "data[0].embedding[1]: expected a number, got a string"},
    {HVB_GATEWAY_OP_IMAGE, "{\"data\":[{\"url\":\"https://img.test/1.png\"}]}", HVB_OK, NULL},
    {HVB_GATEWAY_OP_IMAGE, "{\"data\":[]}", HVB_PARSE, "data: an empty array"},
    {HVB_GATEWAY_OP_IMAGE, "{\"data\":[{\"b64_json\":\"AA==\"},{\"revised_prompt\":\"x\"}]}",
     HVB_PARSE, "data[1]: has neither 'b64_json' nor 'url'"},
    {HVB_GATEWAY_OP_IMAGE, "{\"error\":{\"message\":\"content policy\",\"type\":\"policy\"}}",
     HVB_PROVIDER, "content policy"},
    {HVB_GATEWAY_OP_EMBED, "{\"error\":\"quota exceeded\"}", HVB_PROVIDER, "quota exceeded"},
    {HVB_GATEWAY_OP_EMBED, "{\"data\":[{\"embedding\":\"AAAA\"}]}", HVB_PARSE,
     "data[0].embedding: expected an array, got a string"},
    {HVB_GATEWAY_OP_EMBED, "{\"data\":[{\"index\":\"0\",\"embedding\":[1]}]}", HVB_PARSE,
     "data[0].index: expected an integer or null, got a string"},
    {HVB_GATEWAY_OP_EMBED, "{\"data\":[{\"embedding\":[1]}],\"usage\":7}", HVB_PARSE,
     "usage: expected an object or null, got an integer"},
    {HVB_GATEWAY_OP_IMAGE, "{\"data\":[{\"url\":5}]}", HVB_PARSE,
     "data[0].url: expected a string or null, got an integer"},
    {HVB_GATEWAY_OP_IMAGE, "{\"data\":[\"https://img.test/1.png\"]}", HVB_PARSE,
     "data[0]: expected an object, got a string"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    hvb_error err = HVB_ERROR_INIT;
    json_object *body = tu_parse(cases[i].body);
    json_object *res = hvb_openai_parse(NULL, cases[i].op, body, &err);
    if (cases[i].status == HVB_OK) {
      ck_assert_msg(res == body, "%s: %s", cases[i].body, err.message);
      json_object_put(res);
    } else {
      ck_assert_ptr_null(res);
      ck_assert_int_eq(err.status, cases[i].status);
      ck_assert_msg(strstr(err.message, cases[i].message) != NULL, "%s: %s", cases[i].body,
                    err.message);
    }
    json_object_put(body);
  }
}
END_TEST

/* ============================================================================================
 * mock: the public API, offline
 * ========================================================================================== */

static hvb_llm *mock_llm(void) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new_preset("mock", &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_spec_gateway(hvb_llm_spec(llm)), "mock");
  return llm;
}

/* Run a stream to its end: the concatenated text, the number of deltas and the result. */
static hvb_result *drain(hvb_stream *st, GString *text, int *ndeltas) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *d = NULL;
  *ndeltas = 0;
  for (;;) {
    ck_assert_msg(hvb_stream_next(st, &d, &err), "%s", err.message);
    if (!d) break;
    (*ndeltas)++;
    const char *t = hvb__json_str(d, "text");
    if (t) g_string_append(text, t);
  }
  /* After the end it stays at the end. */
  ck_assert(hvb_stream_next(st, &d, &err));
  ck_assert_ptr_null(d);
  hvb_result *r = hvb_stream_result(st, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  return r;
}

START_TEST(mock_chat_replies_to_the_prompt) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "Hello", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "Mock reply to: Hello");
  ck_assert_str_eq(hvb_result_finish_reason(r), "stop");
  ck_assert_str_eq(js(hvb_result_usage(r)),
                   "{\"prompt_tokens\":1,\"completion_tokens\":4,\"total_tokens\":5}");
  ck_assert_ptr_null(hvb_result_raw(r));
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(mock_stream_yields_words_that_make_the_chat_text) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *chat = hvb_llm_chat(llm, "Tell me a story", NULL, NULL, &err);
  ck_assert_msg(chat != NULL, "%s", err.message);
  hvb_stream *st = hvb_llm_stream(llm, "Tell me a story", NULL, NULL, &err);
  ck_assert_msg(st != NULL, "%s", err.message);
  /* Asking for the result before the end is an error. */
  ck_assert_ptr_null(hvb_stream_result(st, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  GString *text = g_string_new(NULL);
  int n;
  hvb_result *streamed = drain(st, text, &n);
  ck_assert_int_ge(n, 7); /* 7 words, then finish and usage */
  ck_assert_str_eq(text->str, hvb_result_text(chat));
  assert_same_result(streamed, chat);
  char *a = project(streamed, "delta"), *b = project(chat, "delta");
  ck_assert_str_eq(a, b);
  g_free(a);
  g_free(b);
  g_string_free(text, TRUE);
  hvb_result_free(streamed);
  hvb_result_free(chat);
  hvb_stream_free(st);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(mock_system_prompt_lands_in_messages) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  json_object *opts = tu_parse("{\"system\":\"You are terse.\",\"temperature\":0}");
  hvb_result *r = hvb_llm_chat(llm, "Hi there", NULL, opts, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  char *s = project(r, "messages");
  ck_assert_str_eq(s, "[{\"content\":\"You are terse.\",\"role\":\"system\"},{\"content\":"
                      "\"Hi there\",\"role\":\"user\"},{\"content\":\"Mock reply to: Hi there\","
                      "\"role\":\"assistant\"}]");
  g_free(s);
  /* prompt words: 3 (system) + 2 (user) */
  ck_assert_int_eq(
      json_object_get_int(json_object_object_get(hvb_result_usage(r), "prompt_tokens")), 5);
  hvb_result_free(r);
  json_object_put(opts);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(messages_are_validated_with_index_and_field) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  static const struct {
    const char *messages, *expect;
  } cases[] = {
      {"{\"role\":\"user\"}", "messages must be a JSON array"},
      {"[]", "messages is empty"},
      {"[{\"role\":\"user\",\"content\":\"a\"}, 3]", "messages[1] must be an object"},
      {"[{\"role\":\"user\",\"content\":\"a\"}, {\"content\":\"b\"}]",
       "messages[1].role is missing"},
      {"[{\"role\":7,\"content\":\"a\"}]", "messages[0].role must be a string"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    json_object *m = tu_parse(cases[i].messages);
    hvb_error_clear(&err);
    ck_assert_ptr_null(hvb_llm_chat(llm, NULL, m, NULL, &err));
    ck_assert_int_eq(err.status, HVB_EINVAL);
    ck_assert_msg(strstr(err.message, cases[i].expect), "got '%s'", err.message);
    hvb_error_clear(&err);
    ck_assert_ptr_null(hvb_llm_stream(llm, NULL, m, NULL, &err));
    ck_assert_int_eq(err.status, HVB_EINVAL);
    json_object_put(m);
  }
  json_object *ok = tu_parse("[{\"role\":\"user\",\"content\":\"x\"}]");
  ck_assert_ptr_null(hvb_llm_stream(llm, "x", ok, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_null(hvb_llm_chat(llm, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_null(hvb_llm_chat(llm, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  json_object_put(ok);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(call_options_of_the_wrong_type_are_named) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  static const char *const cases[][2] = {
      {"{\"system\": 3}", "'system' must be a string"},
      {"{\"stream\": \"yes\"}", "'stream' must be a boolean"},
      {"{\"args\": [1]}", "'args' must be an object"},
      {"{\"repair_tool_calls\": \"no\"}", "'repair_tool_calls' must be a boolean"},
      {"{\"invalid_utf8\": \"drop\"}", "'invalid_utf8' must be \"error\" or \"replace\""},
      {"[1]", "call options must be a JSON object"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    hvb_error err = HVB_ERROR_INIT;
    json_object *o = tu_parse(cases[i][0]);
    ck_assert_ptr_null(hvb_llm_chat(llm, "x", NULL, o, &err));
    ck_assert_int_eq(err.status, HVB_EINVAL);
    ck_assert_msg(strstr(err.message, cases[i][1]), "got '%s'", err.message);
    json_object_put(o);
  }
  hvb_llm_free(llm);
}
END_TEST

START_TEST(prompts_not_utf8_are_refused_or_replaced) {
  tu_isolate();
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "caf\xe9", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "the prompt is not valid UTF-8 at byte 3"), "%s", err.message);
  json_object *call = tu_parse("{\"invalid_utf8\":\"replace\"}");
  hvb_result *r = hvb_llm_chat(llm, "caf\xe9", NULL, call, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "Mock reply to: caf\xef\xbf\xbd");
  hvb_result_free(r);
  json_object_put(call);
  json_object *msgs = tu_parse("[{\"role\":\"user\",\"content\":\"ok\"}]");
  json_object_array_add(msgs, tu_parse("{\"role\":\"user\"}"));
  json_object_object_add(json_object_array_get_idx(msgs, 1), "content",
                         json_object_new_string("\xff"));
  ck_assert_ptr_null(hvb_llm_chat(llm, NULL, msgs, NULL, &err));
  ck_assert_msg(strstr(err.message, "messages[1] is not valid UTF-8 at byte 0"), "%s", err.message);
  json_object_put(msgs);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(library_options_never_become_request_arguments) {
  tu_isolate();
  ck_assert_uint_eq(hvb_option_scope("temperature"), 0);
  ck_assert_uint_eq(hvb_option_scope("include"), HVB_OPTION_CALL);
  ck_assert_uint_eq(hvb_option_scope("timeout"), HVB_OPTION_LLM);
  ck_assert_uint_eq(hvb_option_scope("repair_tool_calls"), HVB_OPTION_LLM | HVB_OPTION_CALL);
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = tu_parse("{\"preset\":\"mock\",\"repair_tool_calls\":false,\"seed\":1}");
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  json_object_put(o);
  json_object *args = hvb_spec_args(hvb_llm_spec(llm));
  ck_assert(!json_object_object_get_ex(args, "repair_tool_calls", NULL));
  ck_assert(json_object_object_get_ex(args, "seed", NULL));
  json_object *call = tu_parse("{\"include\":\"raw\",\"cache\":false,\"top_k\":3}");
  json_object *req = hvb__request_build(hvb_llm_spec(llm), "P", NULL, call, false, &err);
  ck_assert_msg(req != NULL, "%s", err.message);
  ck_assert(!json_object_object_get_ex(req, "include", NULL));
  ck_assert(!json_object_object_get_ex(req, "cache", NULL));
  ck_assert(json_object_object_get_ex(req, "top_k", NULL));
  json_object_put(req);
  json_object_put(call);
  hvb_llm_free(llm);
  /* An option of calls given to the LLM would be lost: refused, named. */
  o = tu_parse("{\"preset\":\"mock\",\"include\":\"raw\"}");
  ck_assert_ptr_null(hvb_llm_new(o, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "'include'"), "got '%s'", err.message);
  json_object_put(o);
  o = tu_parse("{\"preset\":\"mock\",\"repair_tool_calls\":\"off\"}");
  ck_assert_ptr_null(hvb_llm_new(o, &err));
  ck_assert_msg(strstr(err.message, "option 'repair_tool_calls' must be a boolean"), "got '%s'",
                err.message);
  json_object_put(o);
}
END_TEST

START_TEST(request_merges_spec_args_call_args_and_top_level_keys) {
  tu_isolate();
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = tu_parse("{\"preset\":\"mock\",\"temperature\":0.5,\"max_tokens\":10}");
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  json_object_put(o);
  json_object *call = tu_parse("{\"args\":{\"max_tokens\":20,\"top_p\":0.9,\"stream\":\"no\"},"
                            "\"top_p\":0.8,\"model\":\"evil\",\"system\":\"S\"}");
  json_object *req = hvb__request_build(hvb_llm_spec(llm), "P", NULL, call, false, &err);
  ck_assert_msg(req != NULL, "%s", err.message);
  ck_assert_str_eq(hvb__json_str(req, "model"), hvb_spec_model_id(hvb_llm_spec(llm)));
  ck_assert_str_eq(
      js(json_object_object_get(req, "messages")),
      "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"P\"}]");
  ck_assert(json_object_get_double(json_object_object_get(req, "temperature")) == 0.5);
  ck_assert_int_eq(json_object_get_int(json_object_object_get(req, "max_tokens")), 20);
  ck_assert(json_object_get_double(json_object_object_get(req, "top_p")) == 0.8);
  ck_assert(json_object_is_type(json_object_object_get(req, "stream"), json_type_boolean));
  ck_assert(!json_object_get_boolean(json_object_object_get(req, "stream")));
  json_object_put(req);
  req = hvb__request_build(hvb_llm_spec(llm), "P", NULL, NULL, true, &err);
  ck_assert(json_object_get_boolean(json_object_object_get(req, "stream")));
  json_object_put(req);
  json_object_put(call);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(unknown_gateway_falls_back_to_openai_and_says_why) {
  const char *dir = tu_isolate();
  /* Known (a catalog entry names it) but with no plugin: the case the fallback is for. */
  char *dropin = g_build_filename(dir, "catalog.d", "gw.json", NULL);
  tu_write_file(dropin, "{\"gateways\": {\"nosuchgw\": {\"description\": \"not installed\"}}}");
  g_free(dropin);
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = tu_parse("{\"preset\":\"mock\",\"gateway\":\"nosuchgw\"}");
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  ck_assert_msg(llm != NULL, "%s", err.message);
  const hvb_spec *spec = hvb_llm_spec(llm);
  ck_assert_str_eq(hvb_spec_gateway(spec), "openai");
  ck_assert_str_eq(hvb_spec_requested_gateway(spec), "nosuchgw");
  ck_assert(hvb_spec_gateway_fallback(spec));
  ck_assert_ptr_nonnull(strstr(hvb_spec_gateway_fallback_reason(spec), "hb-gateway-nosuchgw.so"));
  /* The mock provider has no base URL: openai cannot reach it, and says so. */
  ck_assert_ptr_null(hvb_llm_chat(llm, "Hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_CONFIG);
  hvb_llm_free(llm);
}
END_TEST

/* ============================================================================================
 * upstream: the public API against the fake provider
 * ========================================================================================== */

/* An openai LLM for the fake server, with two retries (the retry tests rely on them); `extra`
 * (JSON text or NULL) is merged into the options. */
static hvb_llm *up_llm(const char *extra) {
  json_object *o = tu_parse("{\"max_retries\": 2}");
  if (extra) {
    json_object *e = tu_parse(extra);
    hvb__json_merge(o, e);
    json_object_put(e);
  }
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, json_object_to_json_string(o));
  json_object_put(o);
  return llm;
}

static json_object *sent_body(int i) { return tu_sent_body(tu_srv, i); }

static char *sent_header(int i, const char *name) {
  up_request *rq = up_request_get(tu_srv, i);
  ck_assert_ptr_nonnull(rq);
  char *v = up_request_header(rq, name);
  up_request_free(rq);
  return v;
}

static const char *const canned_chat =
    "{\"id\":\"chatcmpl-canned0001\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"Hello from the canned upstream.\",\"refusal\":null,\"annotations\":[]},"
    "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,"
    "\"completion_tokens\":6,\"total_tokens\":15}}";

START_TEST(plain_chat_returns_the_text_and_sends_model_messages_and_key) {
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, canned_chat);
  hvb_llm *llm = up_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "Hello", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "Hello from the canned upstream.");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(hvb_result_usage(r), "total_tokens")),
                   15);
  ck_assert_str_eq(hvb__json_str(hvb_result_raw(r), "id"), "chatcmpl-canned0001");

  ck_assert_int_eq(up_request_count(tu_srv), 1);
  up_request *rq = up_request_get(tu_srv, 0);
  ck_assert_str_eq(rq->method, "POST");
  ck_assert_str_eq(rq->path, CHAT_PATH);
  up_request_free(rq);
  json_object *body = sent_body(0);
  ck_assert_str_eq(hvb__json_str(body, "model"), "gpt-4o-mini");
  ck_assert_str_eq(js(json_object_object_get(body, "messages")),
                   "[{\"role\":\"user\",\"content\":\"Hello\"}]");
  ck_assert(json_object_is_type(json_object_object_get(body, "stream"), json_type_boolean));
  ck_assert(!json_object_get_boolean(json_object_object_get(body, "stream")));
  ck_assert_ptr_null(json_object_object_get(body, "stream_options"));
  json_object_put(body);
  char *auth = sent_header(0, "Authorization");
  ck_assert_str_eq(auth, "Bearer " KEY);
  free(auth);
  char *ct = sent_header(0, "Content-Type"), *accept = sent_header(0, "Accept");
  ck_assert_str_eq(ct, "application/json");
  ck_assert_str_eq(accept, "application/json");
  free(ct);
  free(accept);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

/* Queue SSE fixture `name` for the chat path, sent in `pieces` pieces. */
static void push_fixture(const char *name, int pieces) {
  char *sse = fixture(name);
  up_push_sse(tu_srv, CHAT_PATH, sse, pieces);
  free(sse);
}

/* Queue an event stream sent piece by piece; close_after > 0 drops the connection after that
 * many pieces, without finishing the body. */
static void push_pieces(const up_chunk *chunks, int n, int close_after) {
  up_response resp = {.status = 200,
                      .content_type = "text/event-stream",
                      .chunks = chunks,
                      .nchunks = n,
                      .chunked = true,
                      .close_after = close_after};
  up_push(tu_srv, CHAT_PATH, &resp);
}

/* hvb_llm_chat of "Hi" with {"stream": true}: the gathered result, or NULL with err set. */
static hvb_result *stream_chat(hvb_llm *llm, hvb_error *err) {
  json_object *opts = tu_parse("{\"stream\":true}");
  hvb_result *r = hvb_llm_chat(llm, "Hi", NULL, opts, err);
  json_object_put(opts);
  return r;
}

static hvb_result *stream_chat_ok(hvb_llm *llm) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = stream_chat(llm, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  return r;
}

static hvb_stream *start_stream(hvb_llm *llm) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_stream *st = hvb_llm_stream(llm, "Hi", NULL, NULL, &err);
  ck_assert_msg(st != NULL, "%s", err.message);
  return st;
}

/* A reply's U+0000 is text: kept whole in the result, its length and its projection, plain
 * and streamed. */
START_TEST(a_reply_holding_nul_is_kept_whole) {
  up_push_body(tu_srv, CHAT_PATH, 200, NULL,
               "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
               "\"content\":\"a\\u0000b\"},\"finish_reason\":\"stop\"}]}");
  up_push_sse(tu_srv, CHAT_PATH,
              "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\\u0000\"}}]}\n\n"
              "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"y\"},"
              "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", 1);
  hvb_llm *llm = up_llm("{\"cache\": false}");
  hvb_error err = HVB_ERROR_INIT;
  for (int streamed = 0; streamed < 2; streamed++) {
    hvb_result *r = NULL;
    if (streamed) {
      hvb_stream *st = start_stream(llm);
      GString *text = g_string_new(NULL);
      int n;
      r = drain(st, text, &n);
      g_string_free(text, TRUE);
      hvb_stream_free(st);
    } else {
      r = hvb_llm_chat(llm, "Hi", NULL, NULL, &err);
    }
    ck_assert_msg(r != NULL, "%s", err.message);
    size_t len = 0;
    const char *t = hvb_result_text_len(r, &len);
    ck_assert_uint_eq(len, 3);
    ck_assert(memcmp(t, streamed ? "x\0y" : "a\0b", 3) == 0);
    bool ok = false;
    json_object *v = hvb_result_project(r, "text", &ok, &err);
    ck_assert(ok);
    ck_assert_int_eq(json_object_get_string_len(v), 3);
    json_object_put(v);
    hvb_result_free(r);
  }
  hvb_llm_free(llm);
}
END_TEST

START_TEST(stream_asks_for_usage_and_yields_deltas_then_the_result) {
  push_fixture("stream-content.sse", 1);
  hvb_llm *llm = up_llm(NULL);
  hvb_stream *st = start_stream(llm);
  GString *text = g_string_new(NULL);
  int n;
  hvb_result *r = drain(st, text, &n);
  ck_assert_str_eq(text->str, "Hello world");
  ck_assert_int_eq(n, 4);
  ck_assert_str_eq(hvb_result_text(r), "Hello world");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(hvb_result_usage(r), "total_tokens")),
                   11);
  /* raw: the event payloads, [DONE] aside */
  ck_assert_int_eq((int)json_object_array_length(hvb_result_raw(r)), 5);

  json_object *body = sent_body(0);
  ck_assert(json_object_get_boolean(json_object_object_get(body, "stream")));
  ck_assert(json_object_get_boolean(hvb__json_path(body, "stream_options.include_usage")));
  json_object_put(body);
  char *accept = sent_header(0, "Accept");
  ck_assert_str_eq(accept, "text/event-stream");
  free(accept);
  g_string_free(text, TRUE);
  hvb_result_free(r);
  hvb_stream_free(st);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(chat_with_stream_option_gathers_the_same_result) {
  push_fixture("stream-content.sse", 1);
  push_fixture("stream-content.sse", 1);
  hvb_llm *llm = up_llm(NULL);
  hvb_result *a = stream_chat_ok(llm);
  hvb_stream *st = start_stream(llm);
  GString *text = g_string_new(NULL);
  int n;
  hvb_result *b = drain(st, text, &n);
  assert_same_result(a, b);
  char *x = project(a, "delta,raw"), *y = project(b, "delta,raw");
  ck_assert_str_eq(x, y);
  g_free(x);
  g_free(y);
  g_string_free(text, TRUE);
  hvb_result_free(a);
  hvb_result_free(b);
  hvb_stream_free(st);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(think_comes_from_reasoning_content_and_from_reasoning) {
  push_fixture("stream-reasoning-content.sse", 3);
  push_fixture("stream-reasoning.sse", 3);
  hvb_llm *llm = up_llm(NULL);
  hvb_result *r1 = stream_chat_ok(llm);
  hvb_result *r2 = stream_chat_ok(llm);
  char *c1 = project(r1, "content"), *c2 = project(r2, "content");
  ck_assert_str_eq(c1, "\"<think>\\nThe user greets. Answer briefly.\\n</think>\\nHi!\"");
  ck_assert_str_eq(c2, "\"<think>\\nThinking hard.\\n</think>\\n42\"");
  g_free(c1);
  g_free(c2);
  hvb_result_free(r1);
  hvb_result_free(r2);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(sse_split_into_many_pieces_gives_the_same_result) {
  char *sse = fixture("stream-tools-parallel.sse");
  push_fixture("stream-tools-parallel.sse", 1);
  push_fixture("stream-tools-parallel.sse", (int)strlen(sse) / 3); /* about 3 bytes each */
  free(sse);
  hvb_llm *llm = up_llm(NULL);
  hvb_result *whole = stream_chat_ok(llm);
  hvb_result *pieces = stream_chat_ok(llm);
  assert_same_result(whole, pieces);
  ck_assert_int_eq((int)json_object_array_length(hvb_result_tool_calls(pieces)), 3);
  hvb_result_free(whole);
  hvb_result_free(pieces);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(keep_alive_comments_between_events_are_ignored) {
  static const up_chunk chunks[] = {
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}"
       "\n\n",
       0, 0},
      {": keep-alive\n\n", 0, 30},
      {": keep-alive\n\n", 0, 30},
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}"
       "]}\n\n",
       0, 30},
      {"data: [DONE]\n\n", 0, 0},
  };
  push_pieces(chunks, G_N_ELEMENTS(chunks), 0);
  hvb_llm *llm = up_llm(NULL);
  hvb_stream *st = start_stream(llm);
  GString *text = g_string_new(NULL);
  int n;
  hvb_result *r = drain(st, text, &n);
  ck_assert_str_eq(text->str, "Hello");
  ck_assert_int_eq(n, 2); /* "Hel", then "lo" with the finish reason */
  ck_assert_ptr_null(hvb_result_usage(r));
  g_string_free(text, TRUE);
  hvb_result_free(r);
  hvb_stream_free(st);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(keep_alive_comments_do_not_hold_off_the_idle_timeout) {
  static const up_chunk chunks[] = {
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n", 0, 0},
      {": keep-alive\n\n", 0, 80},
      {": keep-alive\n\n", 0, 80},
      {": keep-alive\n\n", 0, 80},
      {": keep-alive\n\n", 0, 80},
      {": keep-alive\n\n", 0, 80},
      {": keep-alive\n\n", 0, 80},
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":"
       "\"stop\"}]}\n\ndata: [DONE]\n\n",
       0, 80},
  };
  push_pieces(chunks, G_N_ELEMENTS(chunks), 0);
  hvb_llm *llm = up_llm("{\"idle_timeout\": 0.25, \"max_retries\": 0}");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(stream_chat(llm, &err));
  ck_assert_int_eq(err.status, HVB_TIMEOUT);
  ck_assert_ptr_nonnull(strstr(err.message, "idle"));
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_json_reply_to_a_stream_request_is_read_as_a_body) {
  up_push_body(tu_srv, CHAT_PATH, 200, "application/json", canned_chat);
  up_push_body(tu_srv, CHAT_PATH, 200, "application/json",
               "{\"error\":{\"message\":\"streaming is disabled\",\"type\":\"invalid_request\"}}");
  hvb_llm *llm = up_llm(NULL);
  hvb_stream *st = start_stream(llm);
  GString *text = g_string_new(NULL);
  int n;
  hvb_result *r = drain(st, text, &n);
  ck_assert_str_eq(text->str, "Hello from the canned upstream.");
  ck_assert_str_eq(hvb__json_str(hvb_result_raw(r), "id"), "chatcmpl-canned0001");
  hvb_result_free(r);
  hvb_stream_free(st);
  g_string_free(text, TRUE);

  st = start_stream(llm);
  json_object *d = NULL;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb_stream_next(st, &d, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_ptr_nonnull(strstr(err.message, "streaming is disabled"));
  hvb_stream_free(st);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(stream_without_done_or_finish_is_truncated) {
  up_push_sse(tu_srv, CHAT_PATH,
              "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial\"}}]}\n\n", 1);
  hvb_llm *llm = up_llm(NULL);
  hvb_stream *st = start_stream(llm);
  json_object *d = NULL;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_stream_next(st, &d, &err), "%s", err.message);
  ck_assert_str_eq(hvb__json_str(d, "text"), "partial");
  ck_assert(!hvb_stream_next(st, &d, &err));
  ck_assert_ptr_null(d);
  ck_assert_int_eq(err.status, HVB_TRUNCATED);
  ck_assert_ptr_nonnull(strstr(err.message, "truncated"));
  ck_assert_ptr_nonnull(strstr(err.message, up_base_url(tu_srv)));
  /* The failure sticks, and there is no result. */
  hvb_error_clear(&err);
  ck_assert(!hvb_stream_next(st, &d, &err));
  ck_assert_int_eq(err.status, HVB_TRUNCATED);
  ck_assert_ptr_null(hvb_stream_result(st, &err));
  hvb_stream_free(st);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(error_event_in_a_stream_is_a_provider_error) {
  push_fixture("stream-error.sse", 1);
  hvb_llm *llm = up_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(stream_chat(llm, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.type, "server_error");
  ck_assert_ptr_nonnull(strstr(err.message, "The server had an error"));
  ck_assert_int_eq(up_request_count(tu_srv), 1); /* the provider answered: nothing to retry */
  hvb_llm_free(llm);
}
END_TEST

START_TEST(invalid_json_body_is_a_parse_error_naming_the_url) {
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, "<html>Bad gateway</html>");
  hvb_llm *llm = up_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "Hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err.message, "is not valid JSON"));
  ck_assert_ptr_nonnull(strstr(err.message, up_base_url(tu_srv)));
  hvb_llm_free(llm);
}
END_TEST

START_TEST(error_body_with_status_200_is_a_provider_error) {
  up_push_body(tu_srv, CHAT_PATH, 200, NULL,
               "{\"error\":{\"message\":\"upstream model unavailable\",\"code\":\"model_down\"}}");
  hvb_llm *llm = up_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "Hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.type, "model_down");
  ck_assert_ptr_nonnull(strstr(err.message, "upstream model unavailable"));
  hvb_llm_free(llm);
}
END_TEST

START_TEST(status_401_is_an_http_error_without_the_key_and_not_retried) {
  up_push_body(tu_srv, CHAT_PATH, 401, NULL,
               "{\"error\":{\"message\":\"Incorrect API key provided: " KEY "\",\"type\":"
               "\"invalid_request_error\",\"code\":\"invalid_api_key\"}}");
  hvb_llm *llm = up_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "Hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_int_eq(err.http_status, 401);
  ck_assert_ptr_nonnull(strstr(err.message, "401"));
  ck_assert_ptr_nonnull(strstr(err.message, "Incorrect API key provided"));
  ck_assert_ptr_null(strstr(err.message, KEY));
  ck_assert_ptr_null(strstr(err.message, "0123456789abcdef"));
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(status_500_then_200_succeeds_for_chat) {
  up_push_body(tu_srv, CHAT_PATH, 500, NULL,
               "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
  up_push_body(tu_srv, CHAT_PATH, 200, NULL, canned_chat);
  hvb_llm *llm = up_llm("{\"max_retries\": 2}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, "Hi", NULL, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "Hello from the canned upstream.");
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(stream_dropped_before_any_delta_is_retried_cleanly) {
  static const up_chunk cut[] = {
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Wrong \"}}]}\n\nda", 0, 0},
  };
  push_pieces(cut, 1, 1);
  push_fixture("stream-content.sse", 2);
  hvb_llm *llm = up_llm(NULL);
  hvb_result *r = stream_chat_ok(llm);
  /* Nothing of the failed attempt survives the retry. */
  ck_assert_str_eq(hvb_result_text(r), "Hello world");
  ck_assert_int_eq((int)json_object_array_length(hvb_result_deltas(r)), 4);
  ck_assert_int_eq((int)json_object_array_length(hvb_result_raw(r)), 5);
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(stream_dropped_after_a_delta_reached_the_caller_is_an_error_not_a_retry) {
  static const up_chunk cut[] = {
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n", 0, 0},
      {": ping\n\n", 0, 300},
  };
  push_pieces(cut, 2, 2);
  push_fixture("stream-content.sse", 1);
  hvb_llm *llm = up_llm(NULL);
  hvb_stream *st = start_stream(llm);
  json_object *d = NULL;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_stream_next(st, &d, &err), "%s", err.message);
  ck_assert_str_eq(hvb__json_str(d, "text"), "Hel");
  ck_assert(!hvb_stream_next(st, &d, &err));
  ck_assert(err.status == HVB_TRUNCATED || err.status == HVB_TRANSPORT);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_stream_free(st);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(missing_base_url_is_a_config_error) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = tu_parse("{\"provider\":\"openai\",\"base_url\":\"\",\"api_key\":\"" KEY "\","
                         "\"model\":\"gpt-4o-mini\"}");
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  if (!llm) return; /* the spec itself may refuse an empty base URL: fine too */
  ck_assert_ptr_null(hvb_llm_chat(llm, "Hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_CONFIG);
  ck_assert_ptr_nonnull(strstr(err.message, "has no base_url; pass base_url"));
  ck_assert_int_eq(up_request_count(tu_srv), 0);
  hvb_llm_free(llm);
}
END_TEST

/* ============================================================================================ */


int main(int argc, char **argv) {
  (void)argc;
  snprintf(data_dir, sizeof data_dir, "%s", tu_data_dir(argv[0]));
  Suite *s = suite_create("llm");

  TCase *pure = tcase_create("pure");
  tcase_add_test(pure, stream_content_and_final_usage_chunk_give_text_and_usage);
  tcase_add_test(pure, deepseek_reasoning_content_becomes_think);
  tcase_add_test(pure, openrouter_reasoning_becomes_think_and_comments_are_ignored);
  tcase_add_test(pure, parallel_tool_calls_sharing_an_index_stay_apart);
  tcase_add_test(pure, tool_call_fragments_without_index_or_repeating_their_id_merge);
  tcase_add_test(pure, error_event_is_a_provider_error_with_message_and_type);
  tcase_add_test(pure, done_marker_ends_and_bad_event_data_is_a_parse_error);
  tcase_add_test(pure, usage_merge_sums_numbers_keeps_first_labels_and_merges_nested);
  tcase_add_test(pure, usage_split_across_chunks_is_summed);
  tcase_add_test(pure, chat_completion_gives_the_same_result_as_its_stream);
  tcase_add_test(pure, parse_chat_names_the_missing_field_and_reports_error_bodies);
  tcase_add_test(pure, openai_parse_names_the_first_wrongly_typed_member);
  tcase_add_test(pure, projection_of_every_field);
  tcase_add_test(pure, projection_of_several_fields_is_an_object_and_unknown_fields_are_named);
  tcase_add_test(pure, mock_reply_is_word_chunks_that_concatenate_to_the_reply);
  tcase_add_test(pure, mock_embeddings_are_deterministic_unit_vectors);
  tcase_add_test(pure, registry_has_the_builtin_openai_and_the_mock_plugin);
  suite_add_tcase(s, pure);

  TCase *abi = tcase_create("abi");
  tcase_add_test(abi, wire_request_setters_copy_and_refuse_line_breaks);
  tcase_add_test(abi, gateway_fail_formats_redacts_and_names_ops);
  tcase_add_test(abi, openai_prepare_builds_url_headers_and_body_for_each_op);
  tcase_add_test(abi, openai_parse_checks_embedding_and_image_shapes);
  suite_add_tcase(s, abi);

  TCase *mock = tcase_create("mock");
  tcase_set_timeout(mock, 30);
  tcase_add_test(mock, mock_chat_replies_to_the_prompt);
  tcase_add_test(mock, mock_stream_yields_words_that_make_the_chat_text);
  tcase_add_test(mock, mock_system_prompt_lands_in_messages);
  tcase_add_test(mock, messages_are_validated_with_index_and_field);
  tcase_add_test(mock, call_options_of_the_wrong_type_are_named);
  tcase_add_test(mock, request_merges_spec_args_call_args_and_top_level_keys);
  tcase_add_test(mock, library_options_never_become_request_arguments);
  tcase_add_test(mock, prompts_not_utf8_are_refused_or_replaced);
  tcase_add_test(mock, unknown_gateway_falls_back_to_openai_and_says_why);
  suite_add_tcase(s, mock);

  TCase *up = tcase_create("upstream");
  tcase_set_timeout(up, 60);
  tcase_add_checked_fixture(up, tu_up_setup, tu_up_teardown);
  tcase_add_test(up, plain_chat_returns_the_text_and_sends_model_messages_and_key);
  tcase_add_test(up, stream_asks_for_usage_and_yields_deltas_then_the_result);
  tcase_add_test(up, a_reply_holding_nul_is_kept_whole);
  tcase_add_test(up, chat_with_stream_option_gathers_the_same_result);
  tcase_add_test(up, think_comes_from_reasoning_content_and_from_reasoning);
  tcase_add_test(up, sse_split_into_many_pieces_gives_the_same_result);
  tcase_add_test(up, keep_alive_comments_between_events_are_ignored);
  tcase_add_test(up, keep_alive_comments_do_not_hold_off_the_idle_timeout);
  tcase_add_test(up, a_json_reply_to_a_stream_request_is_read_as_a_body);
  tcase_add_test(up, stream_without_done_or_finish_is_truncated);
  tcase_add_test(up, error_event_in_a_stream_is_a_provider_error);
  tcase_add_test(up, invalid_json_body_is_a_parse_error_naming_the_url);
  tcase_add_test(up, error_body_with_status_200_is_a_provider_error);
  tcase_add_test(up, status_401_is_an_http_error_without_the_key_and_not_retried);
  tcase_add_test(up, status_500_then_200_succeeds_for_chat);
  tcase_add_test(up, stream_dropped_before_any_delta_is_retried_cleanly);
  tcase_add_test(up, stream_dropped_after_a_delta_reached_the_caller_is_an_error_not_a_retry);
  tcase_add_test(up, missing_base_url_is_a_config_error);
  suite_add_tcase(s, up);
  return tu_run(s);
}
