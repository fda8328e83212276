/* tests/unit/test-json-write.c: our request-body writer (text/json-write.h) prints what
 * json-c prints (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), byte for byte:
 * every byte in a string, numbers of every kind, and the chat request bodies of many
 * combinations of prompts and call options, through the wire request the gateways fill. */
#include "testutil.h"
#include "call/request.h"
#include "gateway/gateway.h"
#include "text/json-write.h"
#include "text/json.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The writer's text of v equals json-c's. */
static void assert_same(json_object *v, const char *what) {
  size_t want_len = 0, got_len = 0;
  const char *want = json_object_to_json_string_length(v, FLAGS, &want_len);
  char *got = hvb__json_write(v, &got_len);
  ck_assert_msg(got_len == want_len && memcmp(got, want, want_len) == 0,
                "%s: writer\n%.*s\njson-c\n%.*s", what, (int)got_len, got, (int)want_len, want);
  ck_assert_uint_eq(strlen(got), got_len); /* NUL-terminated, no NUL inside (escaped) */
  g_free(got);
}

START_TEST(every_byte_in_a_string_is_escaped_as_json_c_escapes_it) {
  for (int c = 0; c < 256; c++) {
    char s[8] = {'a', (char)c, 'b', '/', (char)c, 0};
    json_object *v = json_object_new_string_len(s, 5);
    char what[32];
    snprintf(what, sizeof what, "byte 0x%02x", c);
    assert_same(v, what);
    json_object *o = json_object_new_object();
    json_object_object_add(o, s, json_object_get(v)); /* the key too (up to a NUL byte) */
    assert_same(o, what);
    json_object_put(o);
    json_object_put(v);
  }
  /* Invalid UTF-8 and long strings with escapes spread out pass as json-c passes them. */
  GString *g = g_string_new(NULL);
  for (int i = 0; i < 5000; i++) g_string_append(g, i % 97 ? "x\xC3" : "\"\\\n\x01\xFF\xFE");
  json_object *v = json_object_new_string_len(g->str, (int)g->len);
  assert_same(v, "long mixed string");
  json_object_put(v);
  g_string_free(g, TRUE);
}
END_TEST

START_TEST(numbers_literals_and_containers_print_as_json_c_prints_them) {
  json_object *a = json_object_new_array();
  json_object_array_add(a, json_object_new_int64(0));
  json_object_array_add(a, json_object_new_int64(-1));
  json_object_array_add(a, json_object_new_int64(INT64_MIN));
  json_object_array_add(a, json_object_new_int64(INT64_MAX));
  json_object_array_add(a, json_object_new_uint64(UINT64_MAX));
  json_object_array_add(a, json_object_new_int(42));
  json_object_array_add(a, json_object_new_double(0.1));
  json_object_array_add(a, json_object_new_double(1e300));
  json_object_array_add(a, json_object_new_double(-2.0));
  json_object_array_add(a, json_object_new_double(0.30000000000000004));
  json_object_array_add(a, json_object_new_boolean(1));
  json_object_array_add(a, json_object_new_boolean(0));
  json_object_array_add(a, NULL);
  json_object_array_add(a, json_object_new_object());
  json_object_array_add(a, json_object_new_array());
  json_object_array_add(a, json_object_new_string(""));
  assert_same(a, "scalars");
  json_object_put(a);
  /* Parsed numbers keep their source text in json-c (1.50, 1E2): printed the same. */
  json_object *p = tu_parse("{\"t\":1.50,\"e\":1E2,\"n\":-0,\"big\":123456789012345678901234,"
                            "\"d\":{\"x\":[[],{},[null,true]]},\"s\":\"\\u00e9\\ud83d\\ude00\"}");
  assert_same(p, "parsed");
  json_object_put(p);
}
END_TEST

/* ---- chat request bodies ------------------------------------------------------------------ */

static const char *const prompts[] = {
    "Hello",
    "",
    "Quotes \" backslashes \\ slashes / </script> tabs\tand\nlines\r\n",
    "caf\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80 \xE2\x80\xA8 separators",
    "control \x01\x02\x1F\x7F bytes",
    "invalid \xFF\xFE utf-8 (replaced)",
};

/* Call options, combined in every subset. */
static const char *const options[] = {
    "\"system\":\"You are terse. \\\"Quote\\\" \\u00e9\"",
    "\"temperature\":0.2",
    "\"max_tokens\":512",
    "\"stop\":[\"\\n\\n\",\"END\"]",
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
    "\"Weather \\u2014 now\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
    "{\"type\":\"string\"}},\"required\":[\"city\"]}}}]",
    "\"response_format\":{\"type\":\"json_object\"}",
    "\"stream\":true",
    "\"args\":{\"top_p\":1e-3,\"seed\":9007199254740993,\"user\":null,\"logprobs\":false}",
    "\"metadata\":{\"k\\u00e9y\":\"v/al\"}",
};

static json_object *call_options(unsigned mask, bool replace) {
  GString *s = g_string_new("{");
  for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
    if (mask & (1u << i)) g_string_append_printf(s, "%s%s", s->len > 1 ? "," : "", options[i]);
  if (replace) g_string_append_printf(s, "%s\"invalid_utf8\":\"replace\"", s->len > 1 ? "," : "");
  g_string_append_c(s, '}');
  json_object *o = s->len > 2 || replace ? tu_parse(s->str) : NULL;
  g_string_free(s, TRUE);
  return o;
}

START_TEST(chat_bodies_for_every_combination_of_options_are_byte_identical) {
  tu_isolate();
  hvb_error err = HVB_ERROR_INIT;
  json_object *so = tu_parse("{\"model\":\"openai/gpt-4o-mini\",\"base_url\":"
                             "\"http://127.0.0.1:9/v1\",\"temperature\":0.7,\"max_tokens\":64}");
  hvb_spec *spec = hvb_spec_resolve(NULL, so, &err);
  ck_assert_msg(spec != NULL, "%s", err.message);
  /* Under valgrind (make check's HB_TEST_WRAPPER): every 11th combination. */
  const char *wrapper = getenv("HB_TEST_WRAPPER");
  unsigned step = wrapper && *wrapper ? 11 : 1;
  size_t bodies = 0;
  for (size_t p = 0; p < G_N_ELEMENTS(prompts); p++) {
    bool replace = strstr(prompts[p], "\xFF") != NULL;
    for (unsigned mask = 0; mask < (1u << G_N_ELEMENTS(options)); mask += step) {
      json_object *opts = call_options(mask, replace);
      json_object *req = hvb__request_build(spec, prompts[p], NULL, opts, false, &err);
      ck_assert_msg(req != NULL, "prompt %zu mask %u: %s", p, mask, err.message);
      assert_same(req, prompts[p]);
      /* Through the wire request, as the openai gateway sends it. */
      hvb_wire_request *wr = hvb__wire_request_new();
      ck_assert(hvb_wire_request_set_json(wr, req, &err));
      size_t len = 0, want_len = 0;
      const char *body = hvb__wire_request_body(wr, &len);
      const char *want = json_object_to_json_string_length(req, FLAGS, &want_len);
      ck_assert(len == want_len && memcmp(body, want, len) == 0);
      hvb__wire_request_free(wr);
      json_object_put(req);
      json_object_put(opts);
      bodies++;
    }
  }
  ck_assert_uint_eq(bodies, G_N_ELEMENTS(prompts) * (((1u << G_N_ELEMENTS(options)) + step - 1) / step));
  hvb_spec_unref(spec);
  json_object_put(so);
}
END_TEST

START_TEST(writer_appends_and_hands_its_buffer_over) {
  hvb_json_writer w;
  hvb__jw_init(&w, 1);
  hvb__jw_raw(&w, "[", 1);
  for (int i = 0; i < 1000; i++) {
    if (i) hvb__jw_raw(&w, ",", 1);
    hvb__jw_int(&w, i - 500);
  }
  hvb__jw_raw(&w, "]", 1);
  size_t len;
  char *s = hvb__jw_steal(&w, &len);
  ck_assert_uint_eq(len, strlen(s));
  json_object *v = hvb__json_parse(s, (long)len, "written", NULL);
  ck_assert_uint_eq(json_object_array_length(v), 1000);
  ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(v, 0)), -500);
  json_object_put(v);
  g_free(s);
  ck_assert_ptr_null(w.buf);
  hvb__jw_clear(&w);
}
END_TEST

int main(void) {
  Suite *s = suite_create("json-write");
  TCase *tc = tcase_create("writer");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, every_byte_in_a_string_is_escaped_as_json_c_escapes_it);
  tcase_add_test(tc, numbers_literals_and_containers_print_as_json_c_prints_them);
  tcase_add_test(tc, chat_bodies_for_every_combination_of_options_are_byte_identical);
  tcase_add_test(tc, writer_appends_and_hands_its_buffer_over);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
