/* tests/unit/test-repair-text.c: the text mode of repair (core/text/repair-text.c) gives, on
 * every input, the result of the json-c path it replaces: the same arguments byte for byte,
 * edits, outcome, reason and calls. The json-c path (HVB__REPAIR_JSONC_ONLY) is the oracle:
 * json-c's printing of the values the scanner built. Inputs: the whole corpus, the documents
 * of test-repair.c cut at every byte, inputs aimed at the text mode's edges, and mutations of
 * them. */
#include "testutil.h"
#include "text/json.h"
#include "text/repair-scan.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct input {
  const char *tool;
  json_object *tools, *schema; /* borrowed */
  const char *const *names;
  unsigned flags;
} input;

static hvb_repair_result *run(const input *in, const char *text, size_t len, unsigned extra) {
  if (in->tools)
    return hvb_repair_tool_call(in->tool, text, len, in->tools, in->flags | extra, NULL);
  return hvb_repair_arguments(text, len, in->schema, in->tool, in->names, in->flags | extra,
                              NULL);
}

static const char *or_null(const char *s) { return s ? s : "(null)"; }

/* What differs between the two paths' results, or NULL. */
static char *compare(const input *in, const char *text, size_t len) {
  hvb_repair_result *fast = run(in, text, len, 0);
  hvb_repair_result *slow = run(in, text, len, HVB__REPAIR_JSONC_ONLY);
  GString *why = g_string_new(NULL);
  if (!fast || !slow) {
    if (!fast != !slow) g_string_append(why, "one path returned NULL");
    goto done;
  }
  size_t fl, sl;
  const char *fa = hvb_repair_result_arguments(fast, &fl);
  const char *sa = hvb_repair_result_arguments(slow, &sl);
  if (fl != sl || memcmp(fa, sa, fl))
    g_string_append_printf(why, "arguments %.*s, json-c %.*s; ", (int)fl, fa, (int)sl, sa);
  if (hvb_repair_result_outcome(fast) != hvb_repair_result_outcome(slow))
    g_string_append(why, "outcome; ");
  if (strcmp(or_null(hvb_repair_result_reason(fast)), or_null(hvb_repair_result_reason(slow))) ||
      strcmp(or_null(hvb_repair_result_reason_text(fast)),
             or_null(hvb_repair_result_reason_text(slow))))
    g_string_append(why, "reason; ");
  if (hvb_repair_result_edit_count(fast) != hvb_repair_result_edit_count(slow))
    g_string_append(why, "edit count; ");
  for (size_t i = 0; i < hvb_repair_result_edit_count(fast); i++)
    if (strcmp(hvb_repair_result_edit_text_at(fast, i),
               or_null(hvb_repair_result_edit_text_at(slow, i))) ||
        strcmp(hvb_repair_result_edit_code_at(fast, i),
               or_null(hvb_repair_result_edit_code_at(slow, i))))
      g_string_append_printf(why, "edit %zu %s; ", i, hvb_repair_result_edit_code_at(fast, i));
  if (hvb_repair_result_call_count(fast) != hvb_repair_result_call_count(slow))
    g_string_append(why, "call count; ");
  for (size_t i = 0; i < hvb_repair_result_call_count(fast); i++)
    if (strcmp(hvb_repair_result_call_at(fast, i), or_null(hvb_repair_result_call_at(slow, i))))
      g_string_append_printf(why, "call %zu; ", i);
  /* The value built on demand is the one the json-c path built, and prints as the text. */
  json_object *fv = hvb_repair_result_value(fast), *sv = hvb_repair_result_value(slow);
  if (!fv != !sv || (fv && !json_object_equal(fv, sv)))
    g_string_append(why, "value; ");
  if (fv && strcmp(json_object_to_json_string_ext(fv, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE),
                   fa))
    g_string_append(why, "value does not print as the arguments; ");
done:
  hvb_repair_result_free(fast);
  hvb_repair_result_free(slow);
  if (!why->len) {
    g_string_free(why, TRUE);
    return NULL;
  }
  return g_string_free(why, FALSE);
}

#define CHECK(in, text, len)                                                                 \
  do {                                                                                       \
    char *why_ = compare((in), (text), (len));                                               \
    ck_assert_msg(why_ == NULL, "input \"%.*s\" (%zu bytes): %s", (int)MIN((len), 200),      \
                  (text), (size_t)(len), why_);                                              \
  } while (0)

/* ---- the corpus ---- */

static const char *data_dir(void) {
  const char *d = getenv("HB_TEST_DATA");
  if (d && *d) return d;
  static char path[4096];
  char *src = g_path_get_dirname(__FILE__);
  snprintf(path, sizeof path, "%s/../data", src);
  g_free(src);
  return path;
}

static GString *case_input(json_object *c) {
  json_object *v;
  GString *s = g_string_new(NULL);
  if (json_object_object_get_ex(c, "input", &v)) {
    g_string_append_len(s, json_object_get_string(v), json_object_get_string_len(v));
  } else if (json_object_object_get_ex(c, "input_gen", &v)) {
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      json_object *part = json_object_array_get_idx(v, i);
      const char *t = json_object_get_string(json_object_array_get_idx(part, 0));
      int64_t times = json_object_get_int64(json_object_array_get_idx(part, 1));
      for (int64_t k = 0; k < times; k++) g_string_append(s, t);
    }
  } else if ((v = json_object_object_get(c, "input_hex"))) {
    const char *hex = json_object_get_string(v);
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
      char byte[3] = {hex[i], hex[i + 1], 0};
      g_string_append_c(s, (char)strtol(byte, NULL, 16));
    }
  }
  return s;
}

static void check_case(json_object *c) {
  input in = {0};
  json_object *v = NULL, *names = NULL;
  json_object_object_get_ex(c, "schema", &in.schema);
  json_object_object_get_ex(c, "tools", &in.tools);
  in.tool = hvb__json_str(c, "tool");
  if (json_object_object_get_ex(c, "split", &v) && json_object_get_boolean(v))
    in.flags |= HVB_REPAIR_SPLIT;
  const char **list = NULL;
  if (json_object_object_get_ex(c, "tool_names", &names)) {
    size_t n = json_object_array_length(names);
    list = g_new0(const char *, n + 1);
    for (size_t i = 0; i < n; i++)
      list[i] = json_object_get_string(json_object_array_get_idx(names, i));
    in.names = list;
  }
  GString *text = case_input(c);
  CHECK(&in, text->str, text->len);
  g_string_free(text, TRUE);
  g_free(list);
}

START_TEST(the_corpus_gives_the_json_c_paths_results) {
  char *path = g_build_filename(data_dir(), "repair", "cases.jsonl", NULL);
  size_t len;
  char *text = tu_read_file(path, &len);
  ck_assert_msg(text != NULL, "cannot read %s", path);
  char **lines = g_strsplit(text, "\n", -1);
  int n = 0;
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    json_object *c = hvb__json_parse(*l, -1, "corpus line", NULL);
    ck_assert_ptr_nonnull(c);
    check_case(c);
    json_object_put(c);
    n++;
  }
  ck_assert_int_ge(n, 60);
  g_strfreev(lines);
  free(text);
  g_free(path);
}
END_TEST

/* ---- the text mode's edges ---- */

static const char *const edges[] = {
    /* json-c's own printing: -0 is the integer 0, long integers keep their digits */
    "{\"a\": -0, \"b\": -0.0, \"c\": 1E5, \"d\": 12345678901234567890, \"e\": "
    "123456789012345678901234567890, \"f\": -9223372036854775808, \"g\": 007, \"h\": +.5e}",
    "{\"s\": \"\\u0000\\u001f\\u007f/\\/\\b\\f\\n\\r\\t\\\"\\\\ \\ud83d\\ude00 \\ud800\"}",
    "{\"k\\u0000ey\": 1, \"\": 2, \"\\u00e9\": \"\\u00e9\"}",
    /* a repeated key: json-c keeps the first position and the last value */
    "{\"a\": 1, \"b\": 2, \"a\": [3]}",
    "{\"o\": {\"x\": 1, \"x\": 2}, \"x\": 3}",
    "{\"a\": {\"k\": 1}, \"b\": {\"k\": 2}}",
    /* top-level values the text mode leaves to the json-c path */
    "", "   ", "null", "[1, 2]", "\"{\\\"a\\\": 1}\"", "\"text\"", "42", "true",
    "{\"a\": 1}{\"b\": 2}", "{\"a\": 1}, {\"b\": 2}", "{} []", "{\"a\": 1} null",
    /* prose, fences, missing braces, truncation */
    "Here you go: {\"city\": \"Paris\"} hope it helps", "use {x} then {\"a\": 1}",
    "\"a\": 1, \"b\": [2", "```\n{\"a\": \"```\"}\n```\n", "{\"a\": [1, {\"b\": tru",
    "{\"a\": {}, \"b\": [], \"c\": [{}], \"d\": [[], {}]}", "{'a': None, b: True, \"c\": NaN}",
    "{\"a\": \"x\" \"b\": \"y\"}", "{\"a\" 1}", "{\"a\": 1,, \"b\": 2,}", "}{\"a\": 1}]",
};

START_TEST(edges_give_the_json_c_paths_results) {
  input plain = {0};
  input split = {.flags = HVB_REPAIR_SPLIT};
  for (size_t i = 0; i < G_N_ELEMENTS(edges); i++) {
    CHECK(&plain, edges[i], strlen(edges[i]));
    CHECK(&split, edges[i], strlen(edges[i]));
  }
  /* NUL bytes and invalid UTF-8 inside values and keys */
  static const char raw[] = "{\"k\0y\": \"a\0b\xff\xc3\", \"z\": \"\xed\xa0\x80\"}";
  CHECK(&plain, raw, sizeof raw - 1);
  /* objects past the key count the text mode compares */
  GString *wide = g_string_new("{");
  for (int i = 0; i < 3 * HVB__RT_MAX_KEYS; i++)
    g_string_append_printf(wide, "%s\"k%d\": {\"i\": %d}", i ? ", " : "", i % 100, i);
  g_string_append(wide, "}");
  CHECK(&plain, wide->str, wide->len);
  g_string_free(wide, TRUE);
}
END_TEST

START_TEST(schema_defaults_give_the_json_c_paths_results) {
  json_object *schema = json_tokener_parse(
      "{\"type\": \"object\", \"required\": [\"city\", \"unit\", \"days\", \"unit\", \"opts\", 7],"
      " \"properties\": {\"unit\": {\"default\": \"c\\u00e9/\"}, \"days\": {\"default\": 1.50},"
      " \"opts\": {\"default\": {\"a\": [null, 12345678901234567890]}}}}");
  json_object *strict = json_tokener_parse("{\"required\": [\"city\", \"zip\"]}");
  static const char *const docs[] = {"{\"city\": \"Paris\"}", "{\"city\": \"Paris\", \"days\": 3}",
                                     "{}", "{\"unit\": \"f\"}", "{\"city\": 1, \"zip\": 2}",
                                     "{\"city\": 1", ""};
  const char *const names[] = {"weather", NULL};
  for (size_t i = 0; i < G_N_ELEMENTS(docs); i++) {
    input with = {.schema = schema}, missing = {.schema = strict};
    input tool = {.schema = schema, .tool = "wether", .names = names};
    CHECK(&with, docs[i], strlen(docs[i]));
    CHECK(&missing, docs[i], strlen(docs[i]));
    CHECK(&tool, docs[i], strlen(docs[i]));
  }
  json_object_put(schema);
  json_object_put(strict);
}
END_TEST

/* ---- truncations and mutations ---- */

static const char *const documents[] = {
    "{\"city\": \"Paris\", \"unit\": \"c\", \"days\": 3}",
    "{\"a\": [1, 2.5e-3, -7, {\"b\": \"x\\\"y\\\\z\", \"c\": [true, false, null]}], \"d\": {}}",
    "{\"text\": \"caf\xc3\xa9 \xf0\x9f\x98\x80 \\u00e9 \\ud83d\\ude00\", \"n\": 12345678901234567890123}",
    "{\"code\": \"if (x) { return \\\"}\\\"; } // not a comment\", \"re\": \"[a-z]+\"}",
    "```json\n{\"q\": \"weather in {city}\", \"opts\": {\"k\": [[], [[]]]}}\n```\n",
    "{'py': True, 'none': None, 'list': ['a', 'b',], /* c */ 'n': .5}",
    "{\"a\": 1}{\"b\": [2]}",
    "{\"a\": 1, \"b\": {\"a\": 2, \"a\": 3}, \"a\": \"x\"}",
};

START_TEST(every_truncation_and_mutation_gives_the_json_c_paths_results) {
  input plain = {0}, split = {.flags = HVB_REPAIR_SPLIT};
  /* Under valgrind (make check sets HB_TEST_WRAPPER), fewer mutations, the same checks. */
  int mutations = getenv("HB_TEST_WRAPPER") && *getenv("HB_TEST_WRAPPER") ? 40 : 400;
  static const char alphabet[] = "{}[]\"':,\\ \n/*#-+.0e1tTnNu`\x00\xc3\xff";
  GRand *rng = g_rand_new_with_seed(20);
  for (size_t d = 0; d < G_N_ELEMENTS(documents); d++) {
    const char *doc = documents[d];
    size_t len = strlen(doc);
    for (size_t cut = 0; cut <= len; cut++) {
      CHECK(&plain, doc, cut);
      CHECK(&split, doc, cut);
    }
    for (int m = 0; m < mutations; m++) {
      char *t = g_strdup(doc);
      for (int k = g_rand_int_range(rng, 1, 4); k > 0; k--)
        t[g_rand_int_range(rng, 0, (gint32)len)] =
            alphabet[g_rand_int_range(rng, 0, (gint32)sizeof alphabet - 1)];
      CHECK(&plain, t, len);
      CHECK(&split, t, len);
      g_free(t);
    }
  }
  g_rand_free(rng);
}
END_TEST

/* ---- the value on demand ---- */

typedef struct reader {
  const hvb_repair_result *r;
  json_object *value;
} reader;

static gpointer ask_value(gpointer p) {
  reader *rd = p;
  rd->value = hvb_repair_result_value(rd->r);
  return NULL;
}

START_TEST(the_value_is_built_once_for_all_readers) {
  const char *in = "{\"rows\": [{\"id\": 1}, {\"id\": 2}], \"n\": 123456789012345678901234}";
  hvb_repair_result *r = hvb_repair_arguments(in, strlen(in), NULL, NULL, NULL, 0, NULL);
  reader readers[4];
  GThread *threads[4];
  for (int i = 0; i < 4; i++) {
    readers[i] = (reader){r, NULL};
    threads[i] = g_thread_new("value", ask_value, &readers[i]);
  }
  for (int i = 0; i < 4; i++) g_thread_join(threads[i]);
  for (int i = 0; i < 4; i++) ck_assert_ptr_eq(readers[i].value, hvb_repair_result_value(r));
  json_object *values[1] = {readers[0].value};
  json_object *rows = NULL;
  ck_assert(json_object_object_get_ex(values[0], "rows", &rows));
  ck_assert_uint_eq(json_object_array_length(rows), 2);
  ck_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(values[0], "n"), 0),
                   "123456789012345678901234");
  hvb_repair_result_free(r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("repair-text");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, the_corpus_gives_the_json_c_paths_results);
  tcase_add_test(tc, edges_give_the_json_c_paths_results);
  tcase_add_test(tc, schema_defaults_give_the_json_c_paths_results);
  tcase_add_test(tc, every_truncation_and_mutation_gives_the_json_c_paths_results);
  tcase_add_test(tc, the_value_is_built_once_for_all_readers);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
