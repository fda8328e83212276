/* tests/unit/test-json.c: canonical JSON, hashing, dotted paths, merging, parsing and
 * "did you mean" suggestions (core/text/json.c, core/text/hash.c, core/text/suggest.c). */
#include "testutil.h"
#include "text/hash.h"
#include "text/json.h"
#include "text/suggest.h"

#include <glib.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_object *parse(const char *text) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *obj = hvb__json_parse(text, -1, "test", &err);
  ck_assert_msg(obj != NULL, "%s", err.message);
  return obj;
}

/* canonical(parse(text)) */
static char *canon_of(const char *text) {
  json_object *obj = parse(text);
  char *out = hvb__json_canonical(obj);
  json_object_put(obj);
  return out;
}

#define ck_canon(in, expected)                                                                 \
  do {                                                                                         \
    char *got_ = canon_of(in);                                                                 \
    ck_assert_str_eq(got_, expected);                                                          \
    g_free(got_);                                                                              \
  } while (0)

static void ck_canon_double(double d, const char *expected) {
  json_object *obj = json_object_new_double(d);
  char *got = hvb__json_canonical(obj);
  ck_assert_str_eq(got, expected);
  g_free(got);
  json_object_put(obj);
}

/* ---- canonical form ---- */

START_TEST(canonical_sorts_keys_bytewise_at_every_depth_without_whitespace) {
  ck_canon("{ \"b\": 1, \"a\": {\"d\": [3, 1], \"c\": \"x\"}, \"B\": true }",
           "{\"B\":true,\"a\":{\"c\":\"x\",\"d\":[3,1]},\"b\":1}");
  ck_canon("[ ]", "[]");
  ck_canon("{}", "{}");
}
END_TEST

START_TEST(canonical_prints_integral_doubles_as_integers_so_1_and_1_0_hash_alike) {
  ck_canon("[1, 1.0, -2.0, 0.0, -0.0, 1e3]", "[1,1,-2,0,0,1000]");
  ck_canon("9223372036854775807", "9223372036854775807");
  ck_canon("-9223372036854775808", "-9223372036854775808");
  ck_canon("18446744073709551615", "18446744073709551615");
}
END_TEST

START_TEST(canonical_doubles_use_the_shortest_text_that_reads_back) {
  ck_canon_double(0.7, "0.7");
  ck_canon_double(0.1, "0.1");
  ck_canon_double(1e-5, "1e-05");
  ck_canon_double(123.456, "123.456");
  ck_canon_double(1.5e300, "1.5e+300");
  ck_canon_double(0.1 + 0.2, "0.30000000000000004"); /* needs all 17 digits */
  ck_canon_double(NAN, "null");
  ck_canon_double(INFINITY, "null");
  for (double d = 1e-7; d < 1e7; d *= 3.7) { /* every form must read back exactly */
    json_object *obj = json_object_new_double(d);
    char *text = hvb__json_canonical(obj);
    ck_assert_msg(g_ascii_strtod(text, NULL) == d, "%s does not read back as %.17g", text, d);
    g_free(text);
    json_object_put(obj);
  }
}
END_TEST

START_TEST(canonical_strings_escape_minimally_and_keep_utf8) {
  ck_canon("\"a\\\"b\\\\c\\/d\"", "\"a\\\"b\\\\c/d\"");
  ck_canon("\"\\n\\t\\r\\b\\f\"", "\"\\n\\t\\r\\b\\f\"");
  ck_canon("\"\\u0001\\u001f\"", "\"\\u0001\\u001f\"");
  ck_canon("\"caf\\u00e9 \\u4e2d\"", "\"caf\xc3\xa9 \xe4\xb8\xad\""); /* UTF-8, not \u */
  ck_canon("{\"\xc3\xa9\": 1, \"z\": 2}", "{\"z\":2,\"\xc3\xa9\":1}"); /* bytewise: 0xc3 > z */
  /* An embedded NUL is data, not the end of the string. */
  json_object *s = json_object_new_string_len("a\0b", 3);
  char *text = hvb__json_canonical(s);
  ck_assert_str_eq(text, "\"a\\u0000b\"");
  g_free(text);
  json_object_put(s);
}
END_TEST

/* ---- hashing ---- */

START_TEST(hash_is_sha256_of_the_canonical_text) {
  json_object *obj = parse("{\"b\": null, \"a\": [1.0, 0.5, \"x\"]}");
  char *h = hvb__hash_json(obj);
  /* printf '%s' '{"a":[1,0.5,"x"],"b":null}' | sha256sum */
  ck_assert_str_eq(h, "5e18ff3d53bdff48fa32bb6108a2cf1de617f57d4a9729af442d67d27da67b7a");
  g_free(h);
  json_object_put(obj);
}
END_TEST

START_TEST(hash_ignores_key_order) {
  json_object *a = parse("{\"x\": 1, \"y\": {\"p\": 1, \"q\": 2}}");
  json_object *b = parse("{\"y\": {\"q\": 2, \"p\": 1}, \"x\": 1}");
  json_object *c = parse("{\"y\": {\"q\": 2, \"p\": 1}, \"x\": 2}");
  char *ha = hvb__hash_json(a), *hb = hvb__hash_json(b), *hc = hvb__hash_json(c);
  ck_assert_str_eq(ha, hb);
  ck_assert_str_ne(ha, hc);
  ck_assert_uint_eq(strlen(ha), 64);
  g_free(ha);
  g_free(hb);
  g_free(hc);
  json_object_put(a);
  json_object_put(b);
  json_object_put(c);
}
END_TEST

START_TEST(hash_is_the_same_under_a_decimal_comma_locale) {
  const char *text = "{\"top_p\": 1e-5, \"temperature\": 0.7}";
  json_object *obj = parse(text);
  char *in_c = hvb__hash_json(obj);
  json_object_put(obj);
  /* printf '%s' '{"temperature":0.7,"top_p":1e-05}' | sha256sum */
  ck_assert_str_eq(in_c, "a566c70c6df0e37c672f728985bc1ec0d902dbdffa4b6c00abedba155e8ccd84");

  tu_use_comma_locale();
  json_object *parsed = parse(text);                /* parsed under de_DE */
  json_object *built = json_object_new_object();    /* built from doubles under de_DE */
  json_object_object_add(built, "temperature", json_object_new_double(0.7));
  json_object_object_add(built, "top_p", json_object_new_double(1e-5));
  char *h1 = hvb__hash_json(parsed), *h2 = hvb__hash_json(built);
  char *canon = hvb__json_canonical(built);
  setlocale(LC_ALL, "C");

  ck_assert_str_eq(canon, "{\"temperature\":0.7,\"top_p\":1e-05}");
  ck_assert_str_eq(h1, in_c);
  ck_assert_str_eq(h2, in_c);
  g_free(canon);
  g_free(h1);
  g_free(h2);
  g_free(in_c);
  json_object_put(parsed);
  json_object_put(built);
}
END_TEST

/* ---- paths ---- */

START_TEST(path_walks_dotted_keys_and_stops_at_non_objects) {
  json_object *root = parse("{\"heavenbase\": {\"llm\": {\"timeout\": 5, \"s\": \"x\"}}}");
  ck_assert_int_eq(json_object_get_int(hvb__json_path(root, "heavenbase.llm.timeout")), 5);
  ck_assert_ptr_eq(hvb__json_path(root, NULL), root);
  ck_assert_ptr_eq(hvb__json_path(root, ""), root);
  ck_assert_ptr_null(hvb__json_path(root, "heavenbase.llm.missing"));
  ck_assert_ptr_null(hvb__json_path(root, "heavenbase.llm.s.deeper")); /* crosses a string */
  ck_assert_ptr_null(hvb__json_path(root, "heavenbase..llm"));
  ck_assert_ptr_null(hvb__json_path(root, "heavenbase.llm."));
  ck_assert_ptr_null(hvb__json_path(root, ".heavenbase"));
  json_object_put(root);
}
END_TEST

/* ---- merging ---- */

START_TEST(merge_joins_objects_and_replaces_everything_else) {
  json_object *dst = parse("{\"a\": {\"x\": 1, \"y\": 2}, \"list\": [1, 2, 3], \"s\": \"old\","
                           " \"o\": {\"k\": 1}, \"n\": 5}");
  json_object *src = parse("{\"a\": {\"y\": 20, \"z\": 30}, \"list\": [9], \"s\": {\"now\": 1},"
                           " \"o\": \"flat\", \"new\": true}");
  hvb__json_merge(dst, src);
  char *got = hvb__json_canonical(dst);
  ck_assert_str_eq(got, "{\"a\":{\"x\":1,\"y\":20,\"z\":30},\"list\":[9],\"n\":5,\"new\":true,"
                        "\"o\":\"flat\",\"s\":{\"now\":1}}");
  g_free(got);
  json_object_put(dst);
  json_object_put(src);
}
END_TEST

START_TEST(merge_copies_so_later_edits_of_the_result_leave_the_source_alone) {
  json_object *dst = json_object_new_object();
  json_object *src = parse("{\"a\": {\"b\": [1]}}");
  hvb__json_merge(dst, src);
  json_object_array_add(hvb__json_path(dst, "a.b"), json_object_new_int(2));
  json_object_object_add(hvb__json_path(dst, "a"), "c", json_object_new_int(3));
  char *text = hvb__json_canonical(src);
  ck_assert_str_eq(text, "{\"a\":{\"b\":[1]}}");
  g_free(text);
  json_object_put(dst);
  json_object_put(src);
}
END_TEST

/* ---- parsing ---- */

START_TEST(parse_rejects_bad_text_naming_what_was_parsed) {
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb__json_parse("{\"a\": 1", -1, "reply body", &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_str_eq(err.message, "reply body: not valid JSON (unexpected end of input)");

  ck_assert_ptr_null(hvb__json_parse("{\"a\": 1} x", -1, "reply body", &err));
  ck_assert_str_eq(err.message, "reply body: not valid JSON (unexpected data at byte 9)");

  ck_assert_ptr_null(hvb__json_parse("null", -1, "reply body", &err));
  ck_assert_str_eq(err.message, "reply body: expected a JSON value, got null");

  ck_assert_ptr_null(hvb__json_parse("", -1, "reply body", &err));
  ck_assert_int_eq(err.status, HVB_PARSE);

  ck_assert_ptr_null(hvb__json_parse("{\"a\": hello}", -1, "reply body", &err));
  ck_assert_ptr_nonnull(strstr(err.message, "reply body: not valid JSON ("));

  /* Only `len` bytes count: the rest of the buffer is not looked at. */
  json_object *obj = hvb__json_parse("[1]garbage", 3, "slice", &err);
  ck_assert_ptr_nonnull(obj);
  json_object_put(obj);
  obj = hvb__json_parse(" [1] \n", -1, "spaces", &err);
  ck_assert_ptr_nonnull(obj);
  json_object_put(obj);
}
END_TEST

START_TEST(utf8_check_names_the_bad_byte_or_replaces_it) {
  hvb_error err = HVB_ERROR_INIT;
  /* NUL is a character, and good UTF-8 of every length passes untouched. */
  json_object *good = json_object_new_string_len("a\0b \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 15);
  ck_assert(hvb__json_utf8_check(good, false, "the prompt", &err));
  ck_assert_int_eq(json_object_get_string_len(good), 15);
  json_object_put(good);
  static const char *const bad[] = {"caf\xe9", "caf\xc3", "caf\xed\xa0\x80", "caf\xc0\xaf",
                                    "caf\xf4\x90\x80\x80"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    json_object *o = json_object_new_array();
    json_object_array_add(o, json_object_new_string("ok"));
    json_object_array_add(o, json_object_new_string(bad[i]));
    ck_assert(!hvb__json_utf8_check(o, false, "the prompt", &err));
    ck_assert_int_eq(err.status, HVB_EINVAL);
    ck_assert_msg(strstr(err.message, "the prompt is not valid UTF-8 at byte 3"), "%zu: %s", i,
                  err.message);
    ck_assert(hvb__json_utf8_check(o, true, "the prompt", &err));
    const char *fixed = json_object_get_string(json_object_array_get_idx(o, 1));
    ck_assert_msg(!strncmp(fixed, "caf\xef\xbf\xbd", 6), "%zu: %s", i, fixed);
    ck_assert(hvb__json_utf8_check(o, false, "the prompt", &err)); /* now valid */
    json_object_put(o);
  }
}
END_TEST

START_TEST(parse_with_position_gives_line_and_column) {
  hvb_error err = HVB_ERROR_INIT;
  const char *text = "{\n  \"a\": 1,\n  \"b\": oops\n}\n";
  ck_assert_ptr_null(hvb__json_parse_ex(text, -1, "f.json", HVB_JSON_POSITION, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_msg(g_str_has_prefix(err.message, "f.json: not valid JSON ("), "%s", err.message);
  ck_assert_msg(strstr(err.message, " at line 3, column ") != NULL, "%s", err.message);

  ck_assert_ptr_null(hvb__json_parse_ex("{}\n\n  ]", -1, "f.json", HVB_JSON_POSITION, &err));
  ck_assert_str_eq(err.message,
                   "f.json: not valid JSON (unexpected data at byte 6, line 3, column 3)");
}
END_TEST

/* What json-c itself makes of `text` (NULL when it fails), for comparison. */
static char *json_c_reading(const char *text, size_t n) {
  json_tokener *tok = json_tokener_new();
  json_object *o = json_tokener_parse_ex(tok, text, (int)n);
  bool ok = json_tokener_get_error(tok) == json_tokener_success;
  json_tokener_free(tok);
  char *out = ok && o ? g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN))
                      : NULL;
  json_object_put(o);
  return out;
}

/* hvb__json_parse reads common replies itself (faster than json-c's tokener) and hands
 * everything else to json-c: either way the values must be json-c's, down to the type and
 * the text of a double. */
START_TEST(parse_gives_the_same_values_as_json_c) {
  static const char *const cases[] = {
      "{\"a\":1,\"a\":2,\"b\":[1,2.50,-0,1e5,1E+2,-1.0e-3,0.1,123456789012345678]}",
      "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
      "\"content\":\"hi\\n\\\"there\\\" \\\\ \\/ \\b\\f\\r\\t\"},\"finish_reason\":null}]}",
      "{\"k\":\"a\\u0000b\",\"s\\u00e9\":\"\\ud83d\\ude00 \\u20AC \\u00e9 caf\xc3\xa9\"}",
      "[ true , false , null , {} , [] , \"\" , { \"\" : [ ] } ]",
      "\r\n\t{\"nested\":[[[[{\"a\":[[{}]]}]]]]}\n ",
      "[12345678901234567890, -9223372036854775809, 9223372036854775807]",
      "[1E400, -1e-400, 1.0e+2, -123456789012345678, 123456789012345678, -0, -0.0]",
      "{\"a\":\"\\u00e9\\/\", \"b\": \"\\uD83D\\uDE00\", \"\":{}}",
      "[01]", "[1,]", "{\"a\":1,}", "[\"\x01\"]", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00x\"}",
      "[1.]", "[.5]", "[-]", "[1e]", "[NaN]", "[Infinity]", "['x']", "[True]", "/*c*/[1]",
      "[1]\v", "[\"\\x\"]", "[\"\\u12G4\"]", "{\"a\" 1}", "{a:1}", "[1 2]", "[", "{\"a\":",
      "\"top\"", "42", "[\"unterminated]", "{\"long key " "0123456789012345678901234567890123"
      "456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
      "890123456789\":1}",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
      NULL};
  for (int i = 0; cases[i]; i++) {
    size_t n = strlen(cases[i]);
    char *want = json_c_reading(cases[i], n);
    json_object *o = hvb__json_parse(cases[i], (long)n, "t", NULL);
    char *got = o ? g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : NULL;
    if (want && o) ck_assert_msg(strcmp(want, got) == 0, "%s: json-c %s, we %s", cases[i], want, got);
    if (!want) ck_assert_msg(o == NULL || json_object_get_type(o) != json_type_null, "%s", cases[i]);
    g_free(want);
    g_free(got);
    json_object_put(o);
  }
  /* Every fixture of the suite. */
  const char *dirs[] = {"llm", "anthropic", "anthropic/replies", "anthropic/requests",
                        "gateways", NULL};
  int files = 0;
  for (int d = 0; dirs[d]; d++) {
    char *path = g_build_filename(tu_data_dir("tests/unit/test-json"), dirs[d], NULL);
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
      char *file = g_build_filename(path, name, NULL), *text = NULL;
      gsize len = 0;
      if (g_file_get_contents(file, &text, &len, NULL)) {
        char *want = json_c_reading(text, len);
        json_object *o = want ? hvb__json_parse(text, (long)len, "t", NULL) : NULL;
        if (want) {
          files++;
          ck_assert_msg(o != NULL, "%s", file);
          ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), want);
        }
        json_object_put(o);
        g_free(want);
        g_free(text);
      }
      g_free(file);
    }
    if (dir) g_dir_close(dir);
    g_free(path);
  }
  ck_assert_int_gt(files, 0);
}
END_TEST

START_TEST(strict_parse_refuses_what_json_c_would_bend) {
  static const char *const bent[] = {"True", "'x'", "[1,]", "NaN", "[Infinity]", "{\"a\": -NaN}",
                                     NULL};
  for (int i = 0; bent[i]; i++) {
    hvb_error err = HVB_ERROR_INIT;
    json_object *lax = hvb__json_parse(bent[i], -1, "lax", NULL);
    json_object *strict = hvb__json_parse_ex(bent[i], -1, "v", HVB_JSON_STRICT, &err);
    ck_assert_msg(strict == NULL, "strict parse accepted %s", bent[i]);
    ck_assert_int_eq(err.status, HVB_PARSE);
    json_object_put(lax);
  }
  json_object *ok = hvb__json_parse_ex("{\"a\": [true, 1.5, \"x\"]}", -1, "v", HVB_JSON_STRICT,
                                       NULL);
  ck_assert_ptr_nonnull(ok);
  json_object_put(ok);
}
END_TEST

START_TEST(keys_list_is_sorted_and_comma_separated) {
  json_object *obj = parse("{\"mock\": 1, \"chat\": 2, \"coder\": 3}");
  char *list = hvb__json_keys_list(obj);
  ck_assert_str_eq(list, "chat, coder, mock");
  g_free(list);
  json_object_put(obj);
  list = hvb__json_keys_list(NULL);
  ck_assert_str_eq(list, "");
  g_free(list);
  ck_assert_ptr_null(hvb__json_str(NULL, "x"));
}
END_TEST

/* ---- suggestions ---- */

START_TEST(suggest_finds_close_names_and_ignores_distant_ones) {
  json_object *names = parse("{\"chat\": 1, \"coder\": 1, \"reason\": 1, \"embed\": 1,"
                             " \"embed-local\": 1, \"openai\": 1, \"text-embedding-3-small\": 1}");
  ck_assert_str_eq(hvb__suggest("chta", names), "chat");  /* a swap costs 2 */
  ck_assert_str_eq(hvb__suggest("CHAT", names), "chat");  /* ASCII case is ignored */
  ck_assert_str_eq(hvb__suggest("opnai", names), "openai");
  ck_assert_str_eq(hvb__suggest("embed-locl", names), "embed-local");
  /* long names allow len/3 edits: 7 for 22 characters */
  ck_assert_str_eq(hvb__suggest("text-embeding-small", names), "text-embedding-3-small");
  ck_assert_ptr_null(hvb__suggest("zzzzzz", names));
  ck_assert_ptr_null(hvb__suggest("xyz", names)); /* 3 edits from anything: over the limit 2 */
  ck_assert_ptr_null(hvb__suggest(NULL, names));
  ck_assert_ptr_null(hvb__suggest("chat", NULL));
  json_object_put(names);
}
END_TEST

START_TEST(suggest_breaks_ties_alphabetically) {
  json_object *names = parse("{\"cab\": 1, \"aab\": 1}"); /* both 1 edit from "bab" */
  ck_assert_str_eq(hvb__suggest("bab", names), "aab");
  json_object_put(names);
}
END_TEST

int main(void) {
  Suite *s = suite_create("json");
  TCase *tc = tcase_create("canonical");
  tcase_add_test(tc, canonical_sorts_keys_bytewise_at_every_depth_without_whitespace);
  tcase_add_test(tc, canonical_prints_integral_doubles_as_integers_so_1_and_1_0_hash_alike);
  tcase_add_test(tc, canonical_doubles_use_the_shortest_text_that_reads_back);
  tcase_add_test(tc, canonical_strings_escape_minimally_and_keep_utf8);
  tcase_add_test(tc, hash_is_sha256_of_the_canonical_text);
  tcase_add_test(tc, hash_ignores_key_order);
  tcase_add_test(tc, hash_is_the_same_under_a_decimal_comma_locale);
  tcase_set_timeout(tc, 30); /* localedef may run */
  suite_add_tcase(s, tc);

  tc = tcase_create("tree");
  tcase_add_test(tc, path_walks_dotted_keys_and_stops_at_non_objects);
  tcase_add_test(tc, merge_joins_objects_and_replaces_everything_else);
  tcase_add_test(tc, merge_copies_so_later_edits_of_the_result_leave_the_source_alone);
  tcase_add_test(tc, keys_list_is_sorted_and_comma_separated);
  suite_add_tcase(s, tc);

  tc = tcase_create("parse");
  tcase_add_test(tc, parse_rejects_bad_text_naming_what_was_parsed);
  tcase_add_test(tc, parse_with_position_gives_line_and_column);
  tcase_add_test(tc, utf8_check_names_the_bad_byte_or_replaces_it);
  tcase_add_test(tc, strict_parse_refuses_what_json_c_would_bend);
  tcase_add_test(tc, parse_gives_the_same_values_as_json_c);
  suite_add_tcase(s, tc);

  tc = tcase_create("suggest");
  tcase_add_test(tc, suggest_finds_close_names_and_ignores_distant_ones);
  tcase_add_test(tc, suggest_breaks_ties_alphabetically);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
