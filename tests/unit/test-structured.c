/* tests/unit/test-structured.c: structured output through the library (include/heavenbase/
 * structured.h): the helpers, the checks of the options, asking again, a tool loop whose final
 * answer must match a schema, streamed partial values, async calls; and the cut of a streamed
 * prefix (core/text/json-partial.c). Offline: the mock gateway's scripted replies. */
#include "testutil.h"
#include "text/json-partial.h"

#include <heavenbase/heavenbase.h>
#include <stdio.h>
#include <string.h>

#define PERSON                                                                                 \
  "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}, \"age\": "       \
  "{\"type\": \"integer\", \"minimum\": 0}}, \"required\": [\"name\", \"age\"], "             \
  "\"additionalProperties\": false}"

static const char *js(json_object *obj) {
  return json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static hvb_llm *mock_llm(void) {
  tu_isolate();
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new_preset("mock", &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  return llm;
}

/* Call options asking for PERSON, with the mock's scripted replies (JSON text, may be NULL). */
static json_object *person_options(const char *script) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = json_object_new_object();
  ck_assert_msg(hvb_call_options_set_schema_text(o, "person", PERSON, true, &err), "%s",
                err.message);
  if (script) json_object_object_add(o, "mock_replies", tu_parse(script));
  return o;
}

START_TEST(response_format_helpers_check_name_and_schema) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *rf = hvb_response_format_new_text("person", PERSON, true, &err);
  ck_assert_msg(rf != NULL, "%s", err.message);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(rf, "type")), "json_schema");
  json_object *js_ = json_object_object_get(rf, "json_schema");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(js_, "name")), "person");
  ck_assert(json_object_get_boolean(json_object_object_get(js_, "strict")));
  json_object_put(rf);

  ck_assert_ptr_null(hvb_response_format_new_text("bad name!", PERSON, true, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "bad name!"));
  ck_assert_ptr_null(hvb_response_format_new_text("p", "{not json", true, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  json_object *o = json_object_new_object();
  ck_assert(!hvb_call_options_set_schema_text(o, "p", "[1]", true, &err));
  ck_assert_ptr_nonnull(strstr(err.message, "must be a JSON object"));
  ck_assert_int_eq(json_object_object_length(o), 0);
  json_object_put(o);
  rf = hvb_response_format_new(NULL, NULL, false, &err); /* any JSON object */
  ck_assert_str_eq(js(rf), "{\"type\":\"json_object\"}");
  json_object_put(rf);
}
END_TEST

START_TEST(bad_options_are_einval_naming_them) {
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = tu_parse("{\"include\": \"text,structured\"}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, o, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "response_format"));
  json_object_put(o);

  o = tu_parse("{\"response_format\": {\"type\": \"xml\"}}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, o, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "'response_format'"));
  json_object_put(o);

  o = tu_parse("{\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": "
               "\"n\", \"schema\": {\"type\": \"integer\", \"minimum\": \"zero\"}}}}");
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, o, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "schema 'n' cannot be used"));
  json_object_put(o);

  o = person_options(NULL);
  json_object_object_add(o, "structured_retries", json_object_new_int(-1));
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, o, &err));
  ck_assert_ptr_nonnull(strstr(err.message, "structured_retries"));
  json_object_put(o);

  /* A plain call has no structured value, and projecting one is refused. */
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
  ck_assert_ptr_nonnull(r);
  ck_assert_ptr_null(hvb_result_structured(r));
  bool ok = true;
  ck_assert_ptr_null(hvb_result_project(r, "structured", &ok, &err));
  ck_assert(!ok);
  ck_assert_int_eq(err.status, HVB_EINVAL);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(valid_repaired_retried_and_schema_error) {
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = person_options("[\"{\\\"name\\\": \\\"Ada\\\", \\\"age\\\": 36}\"]");
  hvb_result *r = hvb_llm_chat(llm, "hi", NULL, o, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(js(hvb_result_structured(r)), "{\"name\":\"Ada\",\"age\":36}");
  ck_assert_str_eq(js(hvb_result_structured_outcome(r)),
                   "{\"outcome\":\"valid\",\"edits\":[],\"retries\":0,\"errors\":[]}");
  hvb_result_free(r);
  json_object_put(o);

  o = person_options("[\"```json\\n{'name': 'Ada', 'age': 36,}\\n```\"]");
  r = hvb_llm_chat(llm, "hi", NULL, o, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  json_object *oc = hvb_result_structured_outcome(r);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(oc, "outcome")), "repaired");
  ck_assert_ptr_nonnull(strstr(js(oc), "strip_fence"));
  ck_assert_ptr_nonnull(strstr(js(oc), "single_quotes"));
  ck_assert_str_eq(js(hvb_result_structured(r)), "{\"name\":\"Ada\",\"age\":36}");
  hvb_result_free(r);
  json_object_put(o);

  /* A violation, then a valid reply: asked again once, the error in the conversation. */
  o = person_options("[\"{\\\"name\\\": \\\"Ada\\\", \\\"age\\\": -1}\", "
                     "\"{\\\"name\\\": \\\"Ada\\\", \\\"age\\\": 1}\"]");
  json_object_object_add(o, "system", json_object_new_string("Be brief."));
  r = hvb_llm_chat(llm, "hi", NULL, o, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  oc = hvb_result_structured_outcome(r);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(oc, "outcome")), "retried");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(oc, "retries")), 1);
  ck_assert_ptr_nonnull(strstr(js(json_object_object_get(oc, "errors")), "/age: "));
  json_object *msgs = hvb_result_messages(r);
  /* system, user, the failed reply, the error, the answer: the system prompt once. */
  ck_assert_int_eq((int)json_object_array_length(msgs), 5);
  ck_assert_ptr_nonnull(strstr(js(json_object_array_get_idx(msgs, 3)), "/age: "));
  hvb_result_free(r);

  /* Two violations: HVB_SCHEMA naming the pointer; with no retries one request. */
  json_object_object_add(o, "mock_replies",
                         tu_parse("[\"{\\\"name\\\": 1, \\\"age\\\": 1}\", "
                                  "\"{\\\"name\\\": \\\"Ada\\\"}\"]"));
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, o, &err));
  ck_assert_int_eq(err.status, HVB_SCHEMA);
  ck_assert_ptr_nonnull(strstr(err.message, "schema 'person'"));
  ck_assert_ptr_nonnull(strstr(err.message, "/: "));
  json_object_object_add(o, "structured_retries", json_object_new_int(0));
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, o, &err));
  ck_assert_int_eq(err.status, HVB_SCHEMA);
  ck_assert_ptr_nonnull(strstr(err.message, "/name: "));
  json_object_put(o);
  hvb_llm_free(llm);
}
END_TEST

static json_object *weather(json_object *args, void *user_data, hvb_error *err) {
  (void)args, (void)err;
  ++*(int *)user_data;
  return tu_parse("{\"temp_c\": 21}");
}

START_TEST(tool_loop_final_answer_is_validated) {
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  int runs = 0;
  hvb_tools *tools = hvb_tools_new();
  ck_assert(hvb_tools_add(tools, "get_weather", "Weather", NULL, weather, &runs, &err));
  json_object *o = json_object_new_object();
  ck_assert(hvb_call_options_set_schema_text(
      o, "report",
      "{\"type\": \"object\", \"properties\": {\"temp_c\": {\"type\": \"integer\"}}, "
      "\"required\": [\"temp_c\"], \"additionalProperties\": false}",
      true, &err));
  /* A tool call, then an answer of the wrong type, then the right one. */
  json_object_object_add(
      o, "mock_replies",
      tu_parse("[{\"tool_calls\": [{\"function\": {\"name\": \"get_weather\", \"arguments\": "
               "{}}}]}, \"{\\\"temp_c\\\": \\\"21\\\"}\", \"{\\\"temp_c\\\": 21}\"]"));
  hvb_result *r = hvb_llm_chat_tools(llm, "Weather?", NULL, tools, o, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_int_eq(runs, 1);
  ck_assert_str_eq(js(hvb_result_structured(r)), "{\"temp_c\":21}");
  json_object *oc = hvb_result_structured_outcome(r);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(oc, "outcome")), "retried");
  ck_assert_ptr_null(hvb_result_tool_calls(r));
  hvb_result_free(r);
  json_object_put(o);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(stream_partials_are_objects_and_end_with_the_value) {
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = person_options("[\"{ \\\"name\\\": \\\"Ada Lovelace\\\", \\\"age\\\": 36 }\"]");
  hvb_stream *st = hvb_llm_stream(llm, "hi", NULL, o, &err);
  ck_assert_msg(st != NULL, "%s", err.message);
  json_object *d = NULL, *last = NULL, *final = NULL;
  int partials = 0;
  while (hvb_stream_next(st, &d, &err) && d) {
    json_object *p = json_object_object_get(d, "structured_partial");
    if (p) {
      ck_assert(json_object_is_type(p, json_type_object));
      json_object_put(last);
      last = json_object_get(p);
      partials++;
    }
    if (json_object_object_get(d, "structured"))
      final = json_object_get(json_object_object_get(d, "structured"));
  }
  ck_assert_int_eq(err.status, HVB_OK);
  ck_assert_int_ge(partials, 3);
  ck_assert_ptr_nonnull(final);
  ck_assert_str_eq(js(final), "{\"name\":\"Ada Lovelace\",\"age\":36}");
  ck_assert_str_eq(js(last), js(final));
  hvb_result *r = hvb_stream_result(st, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(js(hvb_result_structured(r)), js(final));
  hvb_result_free(r);
  json_object_put(last);
  json_object_put(final);
  hvb_stream_free(st);
  json_object_put(o);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(async_calls_get_the_value) {
  hvb_llm *llm = mock_llm();
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = person_options("[\"{\\\"name\\\": \\\"Ada\\\", \\\"age\\\": 36}\"]");
  hvb_call *c = hvb_llm_chat_async(llm, "hi", NULL, o, NULL, NULL, NULL, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  hvb_call_wait(c, -1);
  ck_assert_int_eq(hvb_call_status(c), HVB_OK);
  ck_assert_str_eq(js(hvb_result_structured(hvb_call_result(c))), "{\"name\":\"Ada\",\"age\":36}");
  hvb_call_free(c);
  json_object_put(o);
  hvb_llm_free(llm);
}
END_TEST

/* The cut keeps a closed prefix from growing into something else. */
START_TEST(partial_cut_stops_before_unfinished_tokens) {
  static const struct {
    const char *text;
    size_t cut;
  } cases[] = {
      {"{\"a\": 12", 6},          /* a number may go on */
      {"{\"a\": tr", 6},          /* a literal is not one yet */
      {"{\"a\": 1, ", 9},         /* a number followed by a comma is whole */
      {"{\"a\": \"x\\", 8},        /* a lone backslash */
      {"{\"a\": \"x\\u00", 8},    /* a \u escape without its four digits */
      {"{\"a\": \"x\\u00e9", 14}, /* with them */
      {"{\"a\": \"\xc3", 7},      /* half a UTF-8 character */
      {"{\"a\": \"\xc3\xa9", 9},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_msg(hvb__json_partial_cut(cases[i].text, strlen(cases[i].text)) == cases[i].cut,
                  "case %zu: %zu", i, hvb__json_partial_cut(cases[i].text, strlen(cases[i].text)));
  json_object *v = hvb__json_partial("{\"a\": \"xy", 9);
  ck_assert_str_eq(js(v), "{\"a\":\"xy\"}");
  json_object_put(v);
  v = hvb__json_partial("{\"a\": 1, \"b", 11);
  ck_assert_str_eq(js(v), "{\"a\":1}");
  json_object_put(v);
  ck_assert_ptr_null(hvb__json_partial("Sure! ", 6));
}
END_TEST

int main(void) {
  Suite *s = suite_create("structured");
  TCase *tc = tcase_create("mock");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, response_format_helpers_check_name_and_schema);
  tcase_add_test(tc, bad_options_are_einval_naming_them);
  tcase_add_test(tc, valid_repaired_retried_and_schema_error);
  tcase_add_test(tc, tool_loop_final_answer_is_validated);
  tcase_add_test(tc, stream_partials_are_objects_and_end_with_the_value);
  tcase_add_test(tc, async_calls_get_the_value);
  tcase_add_test(tc, partial_cut_stops_before_unfinished_tokens);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
