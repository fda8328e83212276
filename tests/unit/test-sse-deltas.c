/* tests/unit/test-sse-deltas.c: the tree-less text deltas of stream events (json-pick.h,
 * openai-delta.h, the Anthropic plugin's delta.h) give what json-c gives, on the recorded
 * streams and on the edge cases: escapes, \u sequences and surrogate pairs, empty and null
 * content, tool-call chunks, events split anywhere. */
#include "testutil.h"
#include "gateway/openai-delta.h"
#include "text/json-pick.h"
#include "text/sse.h"
#include "delta.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Which reading: openai-delta.h and delta.h share the kinds' values. */
typedef enum { OPENAI, ANTHROPIC } shape;
G_STATIC_ASSERT((int)HVB_DELTA_SLOW == (int)ANTHROPIC_DELTA_SLOW);
G_STATIC_ASSERT((int)HVB_DELTA_TEXT == (int)ANTHROPIC_DELTA_TEXT);
G_STATIC_ASSERT((int)HVB_DELTA_INVALID == (int)ANTHROPIC_DELTA_INVALID);

static int fast(shape sh, const char *d, size_t n, char *out, size_t *len) {
  return sh == OPENAI ? (int)hvb__openai_chunk_text_fast(d, n, out, len)
                      : (int)anthropic_event_text_fast(d, n, out, len);
}
static int slow(shape sh, const char *d, size_t n, char *out, size_t *len) {
  return sh == OPENAI ? (int)hvb__openai_chunk_text_slow(d, n, out, len)
                      : (int)anthropic_event_text_slow(d, n, out, len);
}
static int either(shape sh, const char *d, size_t n, char *out, size_t *len) {
  return sh == OPENAI ? (int)hvb__openai_chunk_delta(d, n, out, len)
                      : (int)anthropic_event_delta(d, n, out, len);
}

/* The three readings of one event agree (the fast one when it does not decline); returns the
 * fast path's kind. The text goes to `text` when given. */
static int check_event(shape sh, const char *d, size_t n, GString *text) {
  char *a = g_malloc(n + 1), *b = g_malloc(n + 1), *c = g_malloc(n + 1);
  size_t la = 0, lb = 0, lc = 0;
  int kf = fast(sh, d, n, a, &la), ks = slow(sh, d, n, b, &lb), ke = either(sh, d, n, c, &lc);
  ck_assert_msg(ke == ks, "combined kind %d, json-c %d: %.*s", ke, ks, (int)n, d);
  ck_assert_msg(lc == lb && memcmp(c, b, lb) == 0, "combined text differs: %.*s", (int)n, d);
  if (kf != HVB_DELTA_SLOW) {
    ck_assert_msg(kf == ks, "fast kind %d, json-c %d: %.*s", kf, ks, (int)n, d);
    ck_assert_msg(la == lb && memcmp(a, b, lb) == 0, "fast text [%.*s], json-c [%.*s]: %.*s",
                  (int)la, a, (int)lb, b, (int)n, d);
  }
  if (text && ks == HVB_DELTA_TEXT) g_string_append_len(text, b, (gssize)lb);
  g_free(a);
  g_free(b);
  g_free(c);
  return kf;
}

/* ---- streams through the SSE decoder ------------------------------------------------------ */

typedef struct walk {
  shape sh;
  GString *text;
  size_t events, fast;
} walk;

static bool on_event(void *ud, const hvb_sse_event *ev, hvb_error *err) {
  (void)err;
  walk *w = ud;
  if (ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0) return true;
  w->events++;
  if (check_event(w->sh, ev->data, ev->data_len, w->text) != HVB_DELTA_SLOW) w->fast++;
  return true;
}

/* Feed `text` in pieces ending at the given cuts (ascending), return the deltas' text. */
static walk decode(shape sh, const char *text, size_t len, const size_t *cuts, size_t n_cuts) {
  walk w = {.sh = sh, .text = g_string_new(NULL)};
  hvb_sse *sse = hvb__sse_new(0, 0, on_event, &w);
  hvb_error err = HVB_ERROR_INIT;
  size_t at = 0;
  for (size_t i = 0; i <= n_cuts; i++) {
    size_t to = i < n_cuts ? cuts[i] : len;
    ck_assert_int_ge(hvb__sse_feed(sse, text + at, to - at, &err), 0);
    at = to;
  }
  ck_assert(!hvb__sse_pending(sse));
  hvb__sse_free(sse);
  return w;
}

/* Under valgrind (make check's HB_TEST_WRAPPER) the same checks run on less: the first
 * 40 KB of each recorded stream, and every 7th cut of the edge-case stream. */
static bool wrapped(void) {
  const char *w = getenv("HB_TEST_WRAPPER");
  return w && *w;
}

static char *recorded(const char *name, size_t *len) {
  const char *dir = getenv("HB_TEST_DATA");
  char *path = g_strdup_printf("%s/sse/%s", dir ? dir : "tests/data", name);
  char *text = tu_read_file(path, len);
  ck_assert_msg(text != NULL, "cannot read %s", path);
  g_free(path);
  if (wrapped() && *len > 40000) {
    char *end = g_strrstr_len(text, 40000, "\n\n");
    ck_assert_ptr_nonnull(end);
    *len = (size_t)(end - text) + 2;
  }
  return text;
}

/* Whole, and in pieces of 1 to 97 bytes (cuts inside events, escapes and UTF-8 sequences). */
static void recorded_stream(shape sh, const char *name, const char *expect_in_text) {
  size_t len;
  char *text = recorded(name, &len);
  walk whole = decode(sh, text, len, NULL, 0);
  ck_assert_uint_gt(whole.events, wrapped() ? 100 : 1000);
  /* The fast path serves every event of a plain-text answer. */
  ck_assert_uint_eq(whole.fast, whole.events);
  ck_assert_msg(strstr(whole.text->str, expect_in_text), "%s: no '%s' in the text", name,
                expect_in_text);
  GArray *cuts = g_array_new(FALSE, FALSE, sizeof(size_t));
  GRand *rnd = g_rand_new_with_seed(20);
  for (size_t at = (size_t)g_rand_int_range(rnd, 1, 98); at < len;
       at += (size_t)g_rand_int_range(rnd, 1, 98))
    g_array_append_val(cuts, at);
  walk split = decode(sh, text, len, (size_t *)(void *)cuts->data, cuts->len);
  ck_assert_uint_eq(split.events, whole.events);
  ck_assert_uint_eq(split.text->len, whole.text->len);
  ck_assert(memcmp(split.text->str, whole.text->str, whole.text->len) == 0);
  g_rand_free(rnd);
  g_array_free(cuts, TRUE);
  g_string_free(whole.text, TRUE);
  g_string_free(split.text, TRUE);
  g_free(text);
}

START_TEST(recorded_openai_stream_fast_deltas_equal_json_c) {
  recorded_stream(OPENAI, "recorded-openai.sse", "printf(\"%s\\n\", name);");
}
END_TEST

START_TEST(recorded_anthropic_stream_fast_deltas_equal_json_c) {
  recorded_stream(ANTHROPIC, "recorded-anthropic.sse", "東京");
}
END_TEST

/* ---- edge cases --------------------------------------------------------------------------- */

#define CHUNK(content) "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" content "}}]}"
#define ATEXT(text) \
  "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":" text "}}"

typedef struct edge {
  shape sh;
  const char *event;
  int want_fast;     /* HVB_DELTA_* the fast path gives */
  const char *want;  /* the text (NULL: none; "*": whatever json-c makes of it); its length
                      * from want_len when nonzero */
  size_t want_len;
} edge;

static const edge edges[] = {
    {OPENAI, CHUNK("\"plain\""), HVB_DELTA_TEXT, "plain", 0},
    {OPENAI, CHUNK("\"q\\\"b\\\\s\\/ \\b\\f\\n\\r\\t\""), HVB_DELTA_TEXT, "q\"b\\s/ \b\f\n\r\t", 0},
    {OPENAI, CHUNK("\"\\u00e9\\u4E2D\\u0041\""), HVB_DELTA_TEXT, "\xC3\xA9\xE4\xB8\xAD" "A", 0},
    /* surrogate pairs: json-c's (0.16 reads some valid pairs as U+FFFD) */
    {OPENAI, CHUNK("\"\\ud83d\\ude00!\""), HVB_DELTA_SLOW, "\xF0\x9F\x98\x80!", 0},
    {OPENAI, CHUNK("\"\\ud836\\ude00\""), HVB_DELTA_SLOW, "*", 0},
    {OPENAI, CHUNK("\"a\\u0000b\""), HVB_DELTA_TEXT, "a\0b", 3},
    {OPENAI, CHUNK("\"caf\xC3\xA9 \xF0\x9F\x98\x80\""), HVB_DELTA_TEXT, "caf\xC3\xA9 \xF0\x9F\x98\x80", 0},
    {OPENAI, CHUNK("\"bad \xFF\xFE bytes\""), HVB_DELTA_TEXT, "bad \xFF\xFE bytes", 0},
    {OPENAI, CHUNK("\"\""), HVB_DELTA_TEXT, "", 0},
    {OPENAI, CHUNK("null"), HVB_DELTA_NONE, NULL, 0},
    {OPENAI, "{\"choices\":[{\"index\":0,\"delta\":{}}]}", HVB_DELTA_NONE, NULL, 0},
    {OPENAI, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}", HVB_DELTA_NONE, NULL, 0},
    {OPENAI, "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"total_tokens\":5e0}}", HVB_DELTA_NONE, NULL, 0},
    {OPENAI, " {\n \"choices\" : [ { \"delta\" : { \"content\" : \"sp\" } } ] }\r\n", HVB_DELTA_TEXT, "sp", 0},
    {OPENAI, "{\"choices\":[{\"delta\":{\"content\":\"one\",\"content\":\"two\"}}]}", HVB_DELTA_TEXT, "two", 0},
    /* declined: json-c decides */
    {OPENAI, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
             "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
     HVB_DELTA_SLOW, NULL, 0},
    {OPENAI, "{\"choices\":[{\"delta\":{\"content\":\"x\",\"tool_calls\":[]}}]}", HVB_DELTA_SLOW, "x", 0},
    {OPENAI, CHUNK("\"\\ud83d alone\""), HVB_DELTA_SLOW, "*", 0},
    {OPENAI, CHUNK("\"\\ude00 alone\""), HVB_DELTA_SLOW, "*", 0},
    {OPENAI, CHUNK("\"\\ud83d\\u0041\""), HVB_DELTA_SLOW, "*", 0},
    {OPENAI, CHUNK("\"raw\ttab\""), HVB_DELTA_SLOW, "*", 0},
    {OPENAI, CHUNK("42"), HVB_DELTA_SLOW, NULL, 0},
    {OPENAI, "{\"choices\":[{\"delta\":{\"con\\u0074ent\":\"esc key\"}}]}", HVB_DELTA_SLOW, "esc key", 0},
    {OPENAI, "{\"choices\":[{\"delta\":{\"content\":\"a\"}},{\"delta\":{\"content\":\"b\"}}]}", HVB_DELTA_SLOW, "a", 0},
    {OPENAI, "{\"error\":{\"message\":\"overloaded\"}}", HVB_DELTA_SLOW, NULL, 0},
    {OPENAI, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}],}", HVB_DELTA_SLOW, "*", 0},
    {OPENAI, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}]} trailing", HVB_DELTA_SLOW, NULL, 0},
    {OPENAI, "{\"choices\":[{\"delta\":{\"content\":\"t\"}}]", HVB_DELTA_SLOW, NULL, 0},
    {OPENAI, "[DONE]", HVB_DELTA_SLOW, NULL, 0},
    {OPENAI, "", HVB_DELTA_SLOW, NULL, 0},
    {OPENAI, "{\"choices\":\"no\"}", HVB_DELTA_NONE, NULL, 0},
    {ANTHROPIC, ATEXT("\"Hello\""), HVB_DELTA_TEXT, "Hello", 0},
    {ANTHROPIC, ATEXT("\"line\\nnext \\\"q\\\" \\u00e9\\u20ac\""), HVB_DELTA_TEXT,
     "line\nnext \"q\" \xC3\xA9\xE2\x82\xAC", 0},
    {ANTHROPIC, ATEXT("\"\\ud83d\\ude00\""), HVB_DELTA_SLOW, "\xF0\x9F\x98\x80", 0},
    {ANTHROPIC, ATEXT("\"\""), HVB_DELTA_TEXT, "", 0},
    {ANTHROPIC, "{\"type\":\"ping\"}", HVB_DELTA_NONE, NULL, 0},
    {ANTHROPIC, "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[],\"usage\":"
                "{\"input_tokens\":25}}}", HVB_DELTA_NONE, NULL, 0},
    {ANTHROPIC, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
                "\"text\":\"\"}}", HVB_DELTA_NONE, NULL, 0},
    {ANTHROPIC, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}", HVB_DELTA_NONE, NULL, 0},
    {ANTHROPIC, "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
                "\"partial_json\":\"{\\\"city\\\"\"}}", HVB_DELTA_SLOW, NULL, 0},
    {ANTHROPIC, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
                "\"thinking\":\"hmm\"}}", HVB_DELTA_SLOW, NULL, 0},
    {ANTHROPIC, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}",
     HVB_DELTA_SLOW, NULL, 0},
    {ANTHROPIC, ATEXT("null"), HVB_DELTA_SLOW, NULL, 0},
    {ANTHROPIC, ATEXT("\"\\udfff\""), HVB_DELTA_SLOW, "*", 0},
    {ANTHROPIC, "{\"type\":\"content_\\u0062lock_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"e\"}}",
     HVB_DELTA_SLOW, "e", 0},
};

START_TEST(edge_cases_fast_path_and_json_c_agree) {
  const edge *e = &edges[_i];
  size_t n = strlen(e->event);
  char *out = g_malloc(n + 1), *ref = g_malloc(n + 1);
  size_t len = 0, ref_len = 0;
  int kf = fast(e->sh, e->event, n, out, &len);
  ck_assert_msg(kf == e->want_fast, "fast kind %d, want %d: %s", kf, e->want_fast, e->event);
  check_event(e->sh, e->event, n, NULL);
  int k = either(e->sh, e->event, n, ref, &ref_len);
  if (e->want && strcmp(e->want, "*") == 0) {
    /* json-c's call (check_event compared the readings) */
  } else if (e->want) {
    size_t want_len = e->want_len ? e->want_len : strlen(e->want);
    ck_assert_msg(k == HVB_DELTA_TEXT, "kind %d, want text: %s", k, e->event);
    ck_assert_msg(ref_len == want_len && memcmp(ref, e->want, want_len) == 0,
                  "text [%.*s], want [%s]: %s", (int)ref_len, ref, e->want, e->event);
  } else {
    ck_assert_msg(k != HVB_DELTA_TEXT, "text [%.*s], want none: %s", (int)ref_len, ref, e->event);
  }
  g_free(out);
  g_free(ref);
}
END_TEST

/* Every edge case of OpenAI shape in one stream, cut in two at every byte: same deltas. */
START_TEST(edge_stream_split_anywhere_gives_the_same_deltas) {
  for (int sh = OPENAI; sh <= ANTHROPIC; sh++) {
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(edges); i++)
      if ((int)edges[i].sh == sh && edges[i].event[0] && !strchr(edges[i].event, '\n'))
        g_string_append_printf(s, "data: %s\r\n\r\n", edges[i].event);
    walk whole = decode((shape)sh, s->str, s->len, NULL, 0);
    for (size_t cut = 1; cut < s->len; cut += wrapped() ? 7 : 1) {
      walk part = decode((shape)sh, s->str, s->len, &cut, 1);
      ck_assert_uint_eq(part.events, whole.events);
      ck_assert_msg(part.text->len == whole.text->len &&
                        memcmp(part.text->str, whole.text->str, whole.text->len) == 0,
                    "cut at %zu", cut);
      g_string_free(part.text, TRUE);
    }
    g_string_free(whole.text, TRUE);
    g_string_free(s, TRUE);
  }
}
END_TEST

/* ---- the picker itself -------------------------------------------------------------------- */

START_TEST(picker_reports_kinds_along_paths_and_declines_deep_documents) {
  static const char *const p_a[] = {"a", NULL}, *const p_b1[] = {"b", "[1]", NULL},
                           *const p_c[] = {"c", "d", NULL}, *const p_z[] = {"z", NULL},
                           *const p_n[] = {"n", NULL};
  hvb_json_pick t[] = {{.path = p_a}, {.path = p_b1}, {.path = p_c}, {.path = p_z}, {.path = p_n}};
  const char *doc = "{\"a\":\"x\\ty\",\"b\":[true,-1.5e+3,{}],\"c\":{\"d\":[1]},\"n\":null}";
  ck_assert(hvb__json_pick(doc, strlen(doc), t, G_N_ELEMENTS(t)));
  ck_assert_int_eq(t[0].kind, HVB_PICK_STRING);
  ck_assert(t[0].escaped);
  ck_assert_uint_eq(t[0].raw_len, 4);
  ck_assert_int_eq(t[1].kind, HVB_PICK_OTHER);
  ck_assert_int_eq(t[2].kind, HVB_PICK_OTHER);
  ck_assert_int_eq(t[3].kind, HVB_PICK_ABSENT);
  ck_assert_int_eq(t[4].kind, HVB_PICK_NULL);
  char out[8];
  size_t n;
  ck_assert(hvb__json_pick_decode(t[0].raw, t[0].raw_len, out, &n));
  ck_assert_uint_eq(n, 3);
  ck_assert(memcmp(out, "x\ty", 3) == 0);
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 40; i++) g_string_append_c(deep, '[');
  for (int i = 0; i < 40; i++) g_string_append_c(deep, ']');
  ck_assert(!hvb__json_pick(deep->str, deep->len, t, 1));
  g_string_free(deep, TRUE);
  static const char *const bad[] = {"01", "1.", "-", "tru", "{\"a\" 1}", "[1 2]", "\"\\x\"",
                                    "{'a':1}", "NaN", "{\"a\":1,}"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    ck_assert_msg(!hvb__json_pick(bad[i], strlen(bad[i]), t, 1), "accepted %s", bad[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sse-deltas");
  TCase *tc = tcase_create("deltas");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, recorded_openai_stream_fast_deltas_equal_json_c);
  tcase_add_test(tc, recorded_anthropic_stream_fast_deltas_equal_json_c);
  tcase_add_loop_test(tc, edge_cases_fast_path_and_json_c_agree, 0, (int)G_N_ELEMENTS(edges));
  tcase_add_test(tc, edge_stream_split_anywhere_gives_the_same_deltas);
  tcase_add_test(tc, picker_reports_kinds_along_paths_and_declines_deep_documents);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
