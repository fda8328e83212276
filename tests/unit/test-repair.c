/* tests/unit/test-repair.c: tool-call argument repair: the corpus in tests/data/repair/, every
 * truncation of a few documents, and the API's contracts. */
#include "testutil.h"
#include "text/json.h"
#include "repair-invariant.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static const char *data_dir(void) {
  const char *d = getenv("HB_TEST_DATA");
  if (d && *d) return d;
  /* Run by hand from the build directory of an in-tree build. */
  static char path[4096];
  char *src = g_path_get_dirname(__FILE__);
  snprintf(path, sizeof path, "%s/../data", src);
  g_free(src);
  return path;
}

/* [["text", times], ...] concatenated. */
static GString *expand_gen(json_object *gen) {
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < json_object_array_length(gen); i++) {
    json_object *part = json_object_array_get_idx(gen, i);
    const char *text = json_object_get_string(json_object_array_get_idx(part, 0));
    int64_t times = json_object_get_int64(json_object_array_get_idx(part, 1));
    for (int64_t k = 0; k < times; k++) g_string_append(s, text);
  }
  return s;
}

static GString *case_input(json_object *c) {
  json_object *v;
  if (json_object_object_get_ex(c, "input", &v))
    return g_string_new_len(json_object_get_string(v), json_object_get_string_len(v));
  if (json_object_object_get_ex(c, "input_gen", &v)) return expand_gen(v);
  const char *hex = hvb__json_str(c, "input_hex");
  ck_assert_msg(hex != NULL, "case without input");
  GString *s = g_string_new(NULL);
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
    char byte[3] = {hex[i], hex[i + 1], 0};
    g_string_append_c(s, (char)strtol(byte, NULL, 16));
  }
  return s;
}

/* Run one case; append what differs from its expectations to `fails`. */
static void run_case(json_object *c, GString *fails) {
  const char *name = hvb__json_str(c, "name");
  GString *in = case_input(c);
  json_object *schema = NULL, *tools = NULL, *names = NULL, *v = NULL;
  json_object_object_get_ex(c, "schema", &schema);
  json_object_object_get_ex(c, "tools", &tools);
  json_object_object_get_ex(c, "tool_names", &names);
  const char *tool = hvb__json_str(c, "tool");
  unsigned flags = 0;
  if (json_object_object_get_ex(c, "split", &v) && json_object_get_boolean(v))
    flags |= HVB_REPAIR_SPLIT;
  if (json_object_object_get_ex(c, "strict", &v) && json_object_get_boolean(v))
    flags |= HVB_REPAIR_STRICT;

  hvb_error err = HVB_ERROR_INIT;
  hvb_repair_result *r;
  if (tools) {
    r = hvb_repair_tool_call(tool, in->str, in->len, tools, flags, &err);
  } else {
    const char **list = NULL;
    if (names) {
      size_t n = json_object_array_length(names);
      list = g_new0(const char *, n + 1);
      for (size_t i = 0; i < n; i++)
        list[i] = json_object_get_string(json_object_array_get_idx(names, i));
    }
    r = hvb_repair_arguments(in->str, in->len, schema, tool, list, flags, &err);
    g_free(list);
  }

  const char *outcome = hvb__json_str(c, "outcome");
  GString *why = g_string_new(NULL);
  if (!strcmp(outcome, "error")) {
    const char *want = hvb__json_str(c, "error_contains");
    if (r)
      g_string_append_printf(why, "expected an error, got %s",
                             hvb_repair_outcome_name(hvb_repair_result_outcome(r)));
    else if (err.status != HVB_PARSE || !strstr(err.message, want))
      g_string_append_printf(why, "error %s '%s' does not name '%s'",
                             hvb_status_name(err.status), err.message, want);
  } else if (!r) {
    g_string_append_printf(why, "failed: %s", err.message);
  } else {
    const char *got = hvb_repair_outcome_name(hvb_repair_result_outcome(r));
    const char *broken = repair_invariant(r, in->str, in->len);
    if (broken) g_string_append_printf(why, "%s; ", broken);
    if (strcmp(got, outcome))
      g_string_append_printf(why, "outcome %s, expected %s (reason %s: %s); ", got, outcome,
                             hvb_repair_result_reason(r), hvb_repair_result_reason_text(r));
    const char *reason = hvb__json_str(c, "reason");
    if (reason && g_strcmp0(reason, hvb_repair_result_reason(r)))
      g_string_append_printf(why, "reason %s, expected %s; ", hvb_repair_result_reason(r), reason);
    GString *want_out = NULL;
    if (json_object_object_get_ex(c, "output", &v))
      want_out = g_string_new(json_object_get_string(v));
    else if (json_object_object_get_ex(c, "output_gen", &v))
      want_out = expand_gen(v);
    const char *out = hvb_repair_result_arguments(r, NULL);
    if (want_out && strcmp(out, want_out->str))
      g_string_append_printf(why, "output %.200s, expected %.200s; ", out, want_out->str);
    if (want_out) g_string_free(want_out, TRUE);
    json_object *edits = NULL;
    if (json_object_object_get_ex(c, "edits", &edits)) {
      size_t n = json_object_array_length(edits);
      bool same = n == hvb_repair_result_edit_count(r);
      for (size_t i = 0; same && i < n; i++)
        same = hvb_repair_result_has_edit(r, json_object_get_string(json_object_array_get_idx(edits, i)));
      if (!same) {
        g_string_append(why, "edits [");
        for (size_t i = 0; i < hvb_repair_result_edit_count(r); i++)
          g_string_append_printf(why, "%s%s", i ? " " : "", hvb_repair_result_edit_code_at(r, i));
        g_string_append_printf(why, "], expected %s; ", json_object_to_json_string(edits));
      }
    }
    const char *want_tool = hvb__json_str(c, "expect_tool");
    if (want_tool && g_strcmp0(want_tool, hvb_repair_result_tool(r)))
      g_string_append_printf(why, "tool %s, expected %s; ", hvb_repair_result_tool(r), want_tool);
    json_object *calls = NULL;
    if (json_object_object_get_ex(c, "calls", &calls)) {
      size_t n = json_object_array_length(calls);
      bool same = n == hvb_repair_result_call_count(r);
      for (size_t i = 0; same && i < n; i++)
        same = !strcmp(json_object_get_string(json_object_array_get_idx(calls, i)),
                       hvb_repair_result_call_at(r, i));
      if (!same) g_string_append_printf(why, "calls differ (%zu calls); ", hvb_repair_result_call_count(r));
    }
  }
  if (why->len) g_string_append_printf(fails, "\n  %s: %s", name, why->str);
  g_string_free(why, TRUE);
  hvb_repair_result_free(r);
  g_string_free(in, TRUE);
}

/* ---- the corpus ---- */

START_TEST(corpus_cases_give_their_expected_results) {
  char *path = g_build_filename(data_dir(), "repair", "cases.jsonl", NULL);
  size_t len;
  char *text = tu_read_file(path, &len);
  ck_assert_msg(text != NULL, "cannot read %s", path);
  GString *fails = g_string_new(NULL);
  int n = 0;
  char **lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    hvb_error err = HVB_ERROR_INIT;
    json_object *c = hvb__json_parse(*l, -1, "corpus line", &err);
    ck_assert_msg(c != NULL, "%s: %s", path, err.message);
    run_case(c, fails);
    json_object_put(c);
    n++;
  }
  g_strfreev(lines);
  free(text);
  g_free(path);
  ck_assert_int_ge(n, 60);
  ck_assert_msg(fails->len == 0, "%d cases, failing:%s", n, fails->str);
  g_string_free(fails, TRUE);
}
END_TEST

/* ---- truncation at every byte ---- */

static const char *const documents[] = {
    "{\"city\": \"Paris\", \"unit\": \"c\", \"days\": 3}",
    "{\"a\": [1, 2.5e-3, -7, {\"b\": \"x\\\"y\\\\z\", \"c\": [true, false, null]}], \"d\": {}}",
    "{\"text\": \"caf\xc3\xa9 \xf0\x9f\x98\x80 \\u00e9 \\ud83d\\ude00\", \"n\": 12345678901234567890123}",
    "{\"code\": \"if (x) { return \\\"}\\\"; } // not a comment\", \"re\": \"[a-z]+\"}",
    "```json\n{\"q\": \"weather in {city}\", \"opts\": {\"k\": [[], [[]]]}}\n```\n",
    "{'py': True, 'none': None, 'list': ['a', 'b',], /* c */ 'n': .5}",
    "{\"a\": 1}{\"b\": [2]}",
};

START_TEST(every_truncation_is_closed_or_unfixable_never_a_crash) {
  for (size_t d = 0; d < G_N_ELEMENTS(documents); d++) {
    const char *doc = documents[d];
    size_t len = strlen(doc);
    for (size_t cut = 0; cut <= len; cut++) {
      for (unsigned flags = 0; flags <= HVB_REPAIR_SPLIT; flags += HVB_REPAIR_SPLIT) {
        hvb_repair_result *r = hvb_repair_arguments(doc, cut, NULL, NULL, NULL, flags, NULL);
        ck_assert_ptr_nonnull(r);
        const char *broken = repair_invariant(r, doc, cut);
        ck_assert_msg(broken == NULL, "document %zu cut at %zu (\"%.*s\"): %s", d, cut, (int)cut,
                      doc, broken);
        /* A prefix of an object is closed, never unfixable (fences and prose need a few
         * bytes before they can be told from garbage). */
        if (doc[0] == '{' && !strstr(doc, "}{"))
          ck_assert_msg(hvb_repair_result_outcome(r) != HVB_REPAIR_UNFIXABLE,
                        "document %zu cut at %zu: unfixable (%s)", d, cut,
                        hvb_repair_result_reason_text(r));
        hvb_repair_result_free(r);
      }
    }
  }
}
END_TEST

START_TEST(truncated_output_keeps_everything_before_the_cut) {
  const char *doc = "{\"a\": [1, 2, {\"b\": \"x";
  hvb_repair_result *r = hvb_repair_arguments(doc, strlen(doc), NULL, NULL, NULL, 0, NULL);
  ck_assert_str_eq(hvb_repair_result_arguments(r, NULL), "{\"a\":[1,2,{\"b\":\"x\"}]}");
  ck_assert_int_eq(hvb_repair_result_outcome(r), HVB_REPAIR_REPAIRED);
  ck_assert(hvb_repair_result_has_edit(r, "close_string"));
  ck_assert(hvb_repair_result_has_edit(r, "close_brackets"));
  ck_assert_str_eq(hvb_repair_result_edit_text_at(r, 1),
                   "closed an unclosed object or array (3 times)");
  hvb_repair_result_free(r);
}
END_TEST

/* ---- the API ---- */

START_TEST(valid_input_is_reserialized_compactly_without_edits) {
  const char *in = " { \"b\" : [ 1 , \"/x\" ] , \"a\" : null } ";
  hvb_repair_result *r = hvb_repair_arguments(in, strlen(in), NULL, NULL, NULL, 0, NULL);
  ck_assert_int_eq(hvb_repair_result_outcome(r), HVB_REPAIR_VALID);
  size_t n;
  ck_assert_str_eq(hvb_repair_result_arguments(r, &n), "{\"b\":[1,\"/x\"],\"a\":null}");
  ck_assert_uint_eq(n, strlen("{\"b\":[1,\"/x\"],\"a\":null}"));
  ck_assert_uint_eq(hvb_repair_result_edit_count(r), 0);
  ck_assert_ptr_null(hvb_repair_result_edit_code_at(r, 0));
  ck_assert_ptr_null(hvb_repair_result_edit_text_at(r, 0));
  ck_assert_ptr_null(hvb_repair_result_reason(r));
  ck_assert_ptr_null(hvb_repair_result_tool(r));
  ck_assert_uint_eq(hvb_repair_result_call_count(r), 1);
  ck_assert_ptr_null(hvb_repair_result_call_at(r, 1));
  ck_assert(!hvb_repair_result_has_edit(r, NULL));
  hvb_repair_result_free(r);
  hvb_repair_result_free(NULL);
}
END_TEST

START_TEST(unfixable_keeps_the_original_bytes_including_nul) {
  const char in[] = "not\0json";
  hvb_repair_result *r = hvb_repair_arguments(in, sizeof in - 1, NULL, NULL, NULL, 0, NULL);
  ck_assert_int_eq(hvb_repair_result_outcome(r), HVB_REPAIR_UNFIXABLE);
  size_t n;
  const char *out = hvb_repair_result_arguments(r, &n);
  ck_assert_uint_eq(n, sizeof in - 1);
  ck_assert_mem_eq(out, in, n);
  ck_assert_str_eq(hvb_repair_result_reason(r), "not_json");
  ck_assert_ptr_null(hvb_repair_result_value(r));
  ck_assert_uint_eq(hvb_repair_result_call_count(r), 0);
  hvb_repair_result_free(r);
}
END_TEST

START_TEST(strict_mode_turns_unfixable_into_a_parse_error) {
  hvb_error err = HVB_ERROR_INIT;
  const char *in = "{\"a\": 1}{\"a\": 2}";
  ck_assert_ptr_null(hvb_repair_arguments(in, strlen(in), NULL, "f", NULL, HVB_REPAIR_STRICT, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_str_eq(err.message, "arguments of tool 'f' are unfixable: concatenated_objects "
                                "(2 JSON objects one after the other (splitting is off))");
  /* Repairable input is no error in strict mode. */
  hvb_error_clear(&err);
  hvb_repair_result *r = hvb_repair_arguments("{'a': 1,}", 9, NULL, NULL, NULL,
                                              HVB_REPAIR_STRICT, &err);
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(err.status, HVB_OK);
  ck_assert_str_eq(hvb_repair_result_arguments(r, NULL), "{\"a\":1}");
  hvb_repair_result_free(r);
}
END_TEST

START_TEST(bad_arguments_are_einval_naming_what) {
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_repair_arguments(NULL, 3, NULL, NULL, NULL, 0, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "NULL"));
  json_object *arr = json_object_new_array();
  ck_assert_ptr_null(hvb_repair_arguments("{}", 2, arr, NULL, NULL, 0, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "schema"));
  json_object *obj = json_object_new_object();
  ck_assert_ptr_null(hvb_repair_tool_call("f", "{}", 2, obj, 0, &err));
  ck_assert_ptr_nonnull(strstr(err.message, "tools must be a JSON array"));
  ck_assert_ptr_nonnull(strstr(err.message, "an object"));
  json_object_put(arr);
  json_object_put(obj);
  /* NULL with length 0 is the empty string. */
  hvb_repair_result *r = hvb_repair_arguments(NULL, 0, NULL, NULL, NULL, 0, &err);
  ck_assert_str_eq(hvb_repair_result_arguments(r, NULL), "{}");
  ck_assert(hvb_repair_result_has_edit(r, "empty_to_object"));
  ck_assert_int_eq(hvb_repair_result_outcome(r), HVB_REPAIR_VALID);
  hvb_repair_result_free(r);
}
END_TEST

START_TEST(tool_call_uses_the_tools_array) {
  json_object *tools = json_tokener_parse(
      "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": "
      "{\"type\": \"object\", \"properties\": {\"unit\": {\"default\": \"c\"}}, "
      "\"required\": [\"city\", \"unit\"]}}},"
      " {\"name\": \"legacy_fn\", \"parameters\": {\"required\": [\"x\"]}},"
      " 42, {\"type\": \"function\", \"function\": {}}]");
  hvb_repair_result *r = hvb_repair_tool_call("Get_Weather", "{\"city\": \"Oslo\"", 15, tools, 0, NULL);
  ck_assert_int_eq(hvb_repair_result_outcome(r), HVB_REPAIR_REPAIRED);
  ck_assert_str_eq(hvb_repair_result_tool(r), "get_weather");
  ck_assert_str_eq(hvb_repair_result_arguments(r, NULL), "{\"city\":\"Oslo\",\"unit\":\"c\"}");
  ck_assert_str_eq(hvb_repair_result_edit_code_at(r, 0), "tool_name:Get_Weather->get_weather");
  hvb_repair_result_free(r);

  r = hvb_repair_tool_call("legacy_fn", "{}", 2, tools, 0, NULL);
  ck_assert_str_eq(hvb_repair_result_reason(r), "missing_required:x");
  ck_assert_str_eq(hvb_repair_result_reason_text(r),
                   "the required field 'x' is missing and the schema gives no default");
  hvb_repair_result_free(r);

  r = hvb_repair_tool_call("rm_rf", "{}", 2, tools, 0, NULL);
  ck_assert_str_eq(hvb_repair_result_reason(r), "unknown_tool:rm_rf");
  ck_assert_ptr_nonnull(strstr(hvb_repair_result_reason_text(r), "get_weather, legacy_fn"));
  ck_assert_str_eq(hvb_repair_result_tool(r), "rm_rf");
  hvb_repair_result_free(r);

  /* No tools: the name is not checked. */
  r = hvb_repair_tool_call("anything", "{}", 2, NULL, 0, NULL);
  ck_assert_int_eq(hvb_repair_result_outcome(r), HVB_REPAIR_VALID);
  ck_assert_str_eq(hvb_repair_result_tool(r), "anything");
  hvb_repair_result_free(r);
  json_object_put(tools);
}
END_TEST

START_TEST(split_gives_one_call_per_object) {
  const char *in = "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3";
  hvb_repair_result *r = hvb_repair_arguments(in, strlen(in), NULL, NULL, NULL, HVB_REPAIR_SPLIT, NULL);
  ck_assert_int_eq(hvb_repair_result_outcome(r), HVB_REPAIR_REPAIRED);
  ck_assert_uint_eq(hvb_repair_result_call_count(r), 3);
  ck_assert_str_eq(hvb_repair_result_call_at(r, 2), "{\"a\":3}");
  ck_assert_str_eq(hvb_repair_result_arguments(r, NULL), "{\"a\":1}");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(hvb_repair_result_value(r), "a")), 1);
  hvb_repair_result_free(r);
}
END_TEST

START_TEST(result_as_json_has_every_field) {
  const char *in = "```json\n{\"a\": 1,}\n```";
  hvb_repair_result *r = hvb_repair_arguments(in, strlen(in), NULL, NULL, NULL, 0, NULL);
  json_object *j = hvb_repair_result_to_json(r);
  ck_assert_str_eq(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                   "{\"outcome\":\"repaired\",\"arguments\":\"{\\\"a\\\":1}\",\"edits\":["
                   "{\"code\":\"strip_fence\",\"text\":\"removed a markdown code fence\"},"
                   "{\"code\":\"trailing_comma\",\"text\":\"removed a trailing comma\"}],"
                   "\"reason\":null,\"reason_text\":null,\"tool\":null,"
                   "\"calls\":[\"{\\\"a\\\":1}\"]}");
  json_object_put(j);
  hvb_repair_result_free(r);

  /* Unfixable: the original, made valid UTF-8 so that the JSON is valid. */
  r = hvb_repair_arguments("x\xff", 2, NULL, NULL, NULL, 0, NULL);
  j = hvb_repair_result_to_json(r);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "arguments")), "x\xef\xbf\xbd");
  ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "outcome")), "unfixable");
  json_object_put(j);
  hvb_repair_result_free(r);
}
END_TEST

START_TEST(config_defaults_and_flags) {
  hvb_repair_config cfg = HVB_REPAIR_CONFIG_INIT;
  ck_assert(cfg.enabled);
  ck_assert(!cfg.strict);
  ck_assert(!cfg.split);
  ck_assert_uint_eq(hvb_repair_config_flags(&cfg), 0);
  cfg.strict = cfg.split = true;
  ck_assert_uint_eq(hvb_repair_config_flags(&cfg), HVB_REPAIR_SPLIT | HVB_REPAIR_STRICT);
  ck_assert_uint_eq(hvb_repair_config_flags(NULL), 0);
  ck_assert_str_eq(hvb_repair_outcome_name(HVB_REPAIR_VALID), "valid");
  ck_assert_str_eq(hvb_repair_outcome_name(HVB_REPAIR_REPAIRED), "repaired");
  ck_assert_str_eq(hvb_repair_outcome_name(HVB_REPAIR_UNFIXABLE), "unfixable");
  ck_assert_str_eq(hvb_repair_outcome_name((hvb_repair_outcome)7), "unknown");
}
END_TEST

START_TEST(limits_are_unfixable_with_a_reason) {
  /* Just under and just over the size limit. */
  size_t n = HVB_REPAIR_MAX_BYTES;
  char *big = g_malloc(n + 1);
  memset(big, ' ', n + 1);
  big[0] = '{';
  big[n - 1] = '}';
  hvb_repair_result *r = hvb_repair_arguments(big, n, NULL, NULL, NULL, 0, NULL);
  ck_assert_int_eq(hvb_repair_result_outcome(r), HVB_REPAIR_VALID);
  hvb_repair_result_free(r);
  r = hvb_repair_arguments(big, n + 1, NULL, NULL, NULL, 0, NULL);
  ck_assert_str_eq(hvb_repair_result_reason(r), "too_large");
  ck_assert_ptr_nonnull(strstr(hvb_repair_result_reason_text(r), "16777217 bytes"));
  hvb_repair_result_free(r);
  g_free(big);

  /* Objects nested in arrays, past the limit, then truncated: the depth wins. */
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 300; i++) g_string_append(deep, "{\"k\":[");
  r = hvb_repair_arguments(deep->str, deep->len, NULL, NULL, NULL, 0, NULL);
  ck_assert_str_eq(hvb_repair_result_reason(r), "too_deep");
  ck_assert_ptr_nonnull(strstr(hvb_repair_result_reason_text(r), "512 levels"));
  hvb_repair_result_free(r);
  g_string_free(deep, TRUE);
}
END_TEST

START_TEST(pathological_inputs_give_their_results) {
  /* Many quotes each followed by spaces (the end-of-string look-ahead), many braces in prose
   * (the retries are capped), many tiny concatenated objects. Their speed is measured by
   * bench/bench-repair, not here: a wall-clock bound failed under valgrind on a loaded
   * machine. A quadratic path would still show as the suite's timeout. */
  GString *s = g_string_new("{\"a\": \"");
  for (int i = 0; i < 200000; i++) g_string_append(s, "\"    x");
  hvb_repair_result *r = hvb_repair_arguments(s->str, s->len, NULL, NULL, NULL, 0, NULL);
  ck_assert_ptr_nonnull(r);
  hvb_repair_result_free(r);
  g_string_assign(s, "prose ");
  for (int i = 0; i < 200000; i++) g_string_append(s, "{x} ");
  r = hvb_repair_arguments(s->str, s->len, NULL, NULL, NULL, 0, NULL);
  ck_assert_str_eq(hvb_repair_result_reason(r), "not_json");
  hvb_repair_result_free(r);
  g_string_truncate(s, 0);
  for (int i = 0; i < 200000; i++) g_string_append(s, "{}");
  r = hvb_repair_arguments(s->str, s->len, NULL, NULL, NULL, HVB_REPAIR_SPLIT, NULL);
  ck_assert_uint_eq(hvb_repair_result_call_count(r), 200000);
  hvb_repair_result_free(r);
  g_string_free(s, TRUE);
}
END_TEST

int main(void) {
  Suite *s = suite_create("repair");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, corpus_cases_give_their_expected_results);
  tcase_add_test(tc, every_truncation_is_closed_or_unfixable_never_a_crash);
  tcase_add_test(tc, truncated_output_keeps_everything_before_the_cut);
  tcase_add_test(tc, valid_input_is_reserialized_compactly_without_edits);
  tcase_add_test(tc, unfixable_keeps_the_original_bytes_including_nul);
  tcase_add_test(tc, strict_mode_turns_unfixable_into_a_parse_error);
  tcase_add_test(tc, bad_arguments_are_einval_naming_what);
  tcase_add_test(tc, tool_call_uses_the_tools_array);
  tcase_add_test(tc, split_gives_one_call_per_object);
  tcase_add_test(tc, result_as_json_has_every_field);
  tcase_add_test(tc, config_defaults_and_flags);
  tcase_add_test(tc, limits_are_unfixable_with_a_reason);
  tcase_add_test(tc, pathological_inputs_give_their_results);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
