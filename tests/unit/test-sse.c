/* tests/unit/test-sse.c: the SSE decoder against captured-style streams and the spec's rules. */
#include "testutil.h"
#include "text/json.h"
#include "text/sse.h"
#include "base/error.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a recording callback ------------------------------------------------------------- */

typedef struct rec {
  hvb_sse *sse;      /* the decoder under test, delivering to this record */
  GPtrArray *events; /* "event\x1Fid\x1Fdata" strings: one comparable string per event */
  int stop_after;    /* >0: return false on this event */
} rec;

static bool record_event(void *ud, const hvb_sse_event *ev, hvb_error *err) {
  rec *r = ud;
  ck_assert_uint_eq(strlen(ev->data), ev->data_len); /* NUL-terminated, no embedded NUL here */
  g_ptr_array_add(r->events, g_strdup_printf("%s\x1F%s\x1F%s", ev->event, ev->id, ev->data));
  if (r->stop_after > 0 && (int)r->events->len == r->stop_after)
    return hvb__fail(err, HVB_PROVIDER, "stopped at event %d", r->stop_after);
  return true;
}

static rec *rec_new(size_t max_line, size_t max_event) {
  rec *r = g_new0(rec, 1);
  r->events = g_ptr_array_new_with_free_func(g_free);
  r->sse = hvb__sse_new(max_line, max_event, record_event, r);
  return r;
}

static void rec_free(rec *r) {
  hvb__sse_free(r->sse);
  g_ptr_array_free(r->events, TRUE);
  g_free(r);
}

static const char *ev_at(rec *r, guint i) {
  ck_assert_uint_lt(i, r->events->len);
  return r->events->pdata[i];
}

/* The part of a recorded event: 0 event name, 1 id, 2 data. New string. */
static char *ev_part(rec *r, guint i, int part) {
  char **f = g_strsplit(ev_at(r, i), "\x1F", 3);
  char *s = g_strdup(f[part]);
  g_strfreev(f);
  return s;
}

static void assert_same_events(rec *a, rec *b, const char *what) {
  ck_assert_msg(a->events->len == b->events->len, "%s: %u events, expected %u", what,
                b->events->len, a->events->len);
  for (guint i = 0; i < a->events->len; i++)
    ck_assert_msg(strcmp(a->events->pdata[i], b->events->pdata[i]) == 0,
                  "%s: event %u differs", what, i);
}

/* Decode `text` fed in the given pieces (cut at the offsets in `cuts`, ascending). */
static rec *decode_cuts(const char *text, size_t len, const size_t *cuts, int ncuts) {
  rec *r = rec_new(0, 0);
  hvb_error err = HVB_ERROR_INIT;
  size_t at = 0;
  for (int i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    int n = hvb__sse_feed(r->sse, text + at, end - at, &err);
    ck_assert_msg(n >= 0, "feed failed: %s", err.message);
    at = end;
  }
  ck_assert(!hvb__sse_pending(r->sse));
  return r;
}

static rec *decode(const char *text, size_t len) { return decode_cuts(text, len, NULL, 0); }

static char *fixture(const char *name, size_t *len) {
  const char *dir = getenv("HB_TEST_DATA");
  char *path = g_strdup_printf("%s/sse/%s", dir ? dir : "tests/data", name);
  char *text = tu_read_file(path, len);
  ck_assert_msg(text != NULL, "cannot read fixture %s", path);
  g_free(path);
  return text;
}

/* Every split into two pieces, and byte by byte, decodes to the same events as one piece. */
static void assert_split_invariant(const char *text, size_t len, rec *whole, const char *name) {
  for (size_t k = 0; k <= len; k++) {
    rec *r = decode_cuts(text, len, &k, 1);
    char what[128];
    snprintf(what, sizeof what, "%s cut at byte %zu", name, k);
    assert_same_events(whole, r, what);
    rec_free(r);
  }
  size_t *cuts = g_new(size_t, len);
  for (size_t i = 0; i < len; i++) cuts[i] = i + 1;
  rec *r = decode_cuts(text, len, cuts, len > 0 ? (int)len - 1 : 0);
  char what[128];
  snprintf(what, sizeof what, "%s byte by byte", name);
  assert_same_events(whole, r, what);
  rec_free(r);
  g_free(cuts);
}

/* ---- fixtures ------------------------------------------------------------------------- */

/* What the OpenAI capture says: 10 chunks then [DONE], the text "Hello! How can I help?". */
static void assert_openai_chat(rec *r) {
  ck_assert_uint_eq(r->events->len, 11);
  GString *text = g_string_new(NULL);
  for (guint i = 0; i + 1 < r->events->len; i++) {
    char *name = ev_part(r, i, 0), *data = ev_part(r, i, 2);
    ck_assert_str_eq(name, "");
    json_object *chunk = hvb__json_parse(data, -1, "chunk", NULL);
    ck_assert_ptr_nonnull(chunk);
    ck_assert_str_eq(hvb__json_str(chunk, "object"), "chat.completion.chunk");
    json_object *content = hvb__json_path(chunk, "choices");
    if (json_object_array_length(content) > 0) {
      const char *piece = hvb__json_str(
          hvb__json_path(json_object_array_get_idx(content, 0), "delta"), "content");
      if (piece) g_string_append(text, piece);
    }
    json_object_put(chunk);
    g_free(name);
    g_free(data);
  }
  ck_assert_str_eq(text->str, "Hello! How can I help?");
  g_string_free(text, TRUE);
  char *last = ev_part(r, r->events->len - 1, 2);
  ck_assert_str_eq(last, "[DONE]");
  g_free(last);
}

START_TEST(openai_stream_decodes_to_its_chunks_and_done) {
  size_t len;
  char *text = fixture("openai-chat.sse", &len);
  rec *r = decode(text, len);
  assert_openai_chat(r);
  rec_free(r);
  free(text);
}
END_TEST

START_TEST(crlf_and_keepalive_variants_decode_like_the_plain_stream) {
  size_t len;
  char *plain = fixture("openai-chat.sse", &len);
  rec *want = decode(plain, len);
  const char *variants[] = {"openai-chat-crlf.sse", "openai-chat-keepalive.sse"};
  for (size_t i = 0; i < G_N_ELEMENTS(variants); i++) {
    size_t vlen;
    char *text = fixture(variants[i], &vlen);
    rec *r = decode(text, vlen);
    assert_same_events(want, r, variants[i]);
    rec_free(r);
    free(text);
  }
  rec_free(want);
  free(plain);
}
END_TEST

START_TEST(anthropic_stream_keeps_event_names) {
  static const char *names[] = {"message_start", "content_block_start", "ping",
                                "content_block_delta", "content_block_delta",
                                "content_block_stop", "message_delta", "message_stop"};
  size_t len;
  char *text = fixture("anthropic-messages.sse", &len);
  rec *r = decode(text, len);
  ck_assert_uint_eq(r->events->len, G_N_ELEMENTS(names));
  for (guint i = 0; i < r->events->len; i++) {
    char *name = ev_part(r, i, 0), *data = ev_part(r, i, 2);
    ck_assert_str_eq(name, names[i]);
    json_object *obj = hvb__json_parse(data, -1, "event data", NULL);
    ck_assert_ptr_nonnull(obj);
    ck_assert_str_eq(hvb__json_str(obj, "type"), names[i]);
    json_object_put(obj);
    g_free(name);
    g_free(data);
  }
  rec_free(r);
  free(text);
}
END_TEST

START_TEST(every_fixture_gives_the_same_events_however_it_is_split) {
  const char *names[] = {"openai-chat.sse", "openai-chat-crlf.sse", "openai-chat-keepalive.sse",
                         "anthropic-messages.sse"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    size_t len;
    char *text = fixture(names[i], &len);
    rec *whole = decode(text, len);
    ck_assert_uint_gt(whole->events->len, 0);
    assert_split_invariant(text, len, whole, names[i]);
    rec_free(whole);
    free(text);
  }
}
END_TEST

/* ---- the spec's rules ----------------------------------------------------------------- */

/* Decode `text` in one feed; returns the feed's result, events in *out. */
static int feed_one(const char *text, rec **out) {
  *out = rec_new(0, 0);
  hvb_error err = HVB_ERROR_INIT;
  return hvb__sse_feed((*out)->sse, text, strlen(text), &err);
}

static void assert_decodes(const char *text, const char *const *want, guint nwant) {
  rec *r;
  int n = feed_one(text, &r);
  ck_assert_int_eq(n, (int)nwant);
  ck_assert_uint_eq(r->events->len, nwant);
  for (guint i = 0; i < nwant; i++) ck_assert_str_eq(ev_at(r, i), want[i]);
  assert_split_invariant(text, strlen(text), r, text);
  rec_free(r);
}

START_TEST(keepalive_comments_dispatch_nothing_and_feed_returns_zero) {
  rec *r = rec_new(0, 0);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(hvb__sse_feed(r->sse, ": keep-alive\n\n", 14, &err), 0);
  ck_assert_int_eq(hvb__sse_feed(r->sse, ":\r\n:ping\r", 9, &err), 0);
  ck_assert(!hvb__sse_pending(r->sse));
  ck_assert_int_eq(hvb__sse_feed(r->sse, "\ndata: x\n\ndata: y\n\n", 19, &err), 2);
  ck_assert_uint_eq(r->events->len, 2);
  rec_free(r);
}
END_TEST

START_TEST(cr_lf_and_crlf_all_end_lines) {
  const char *want[] = {"\x1F\x1F" "a", "\x1F\x1F" "b", "\x1F\x1F" "c", "\x1F\x1F" "d"};
  assert_decodes("data: a\r\rdata: b\n\ndata: c\r\n\r\ndata: d\r\n\n", want, 4);
}
END_TEST

START_TEST(cr_at_the_end_of_a_feed_and_lf_at_the_start_of_the_next_are_one_line_end) {
  rec *r = rec_new(0, 0);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(hvb__sse_feed(r->sse, "data: a\r", 8, &err), 0);
  /* Were the LF a second line end, this blank line would dispatch "a" here. */
  ck_assert_int_eq(hvb__sse_feed(r->sse, "\ndata: b\r", 9, &err), 0);
  ck_assert_int_eq(hvb__sse_feed(r->sse, "\n\r\n", 3, &err), 1);
  ck_assert_str_eq(ev_at(r, 0), "\x1F\x1F" "a\nb");
  rec_free(r);
}
END_TEST

START_TEST(data_lines_join_with_newlines) {
  const char *want[] = {"\x1F\x1F" "line 1\nline 2\n\nline 4", "\x1F\x1F", "\x1F\x1F" "\n"};
  assert_decodes("data: line 1\ndata:line 2\ndata\ndata: line 4\n\n"
                 "data:\n\n"
                 "data\ndata\n\n",
                 want, 3);
}
END_TEST

START_TEST(only_one_space_after_the_colon_is_dropped) {
  const char *want[] = {"\x1F\x1F" " two", "\x1F\x1F" "x:y: z"};
  assert_decodes("data:  two\n\ndata: x:y: z\n\n", want, 2);
}
END_TEST

START_TEST(event_field_names_one_event_only) {
  const char *want[] = {"ping\x1F\x1F" "1", "\x1F\x1F" "2", "last\x1F\x1F" "3"};
  assert_decodes("event: ping\ndata: 1\n\ndata: 2\n\nevent: first\nevent: last\ndata: 3\n\n",
                 want, 3);
}
END_TEST

START_TEST(event_without_data_is_not_dispatched) {
  const char *want[] = {"\x1F\x1F" "x"};
  assert_decodes("event: lonely\n\ndata: x\n\n", want, 1);
}
END_TEST

START_TEST(id_persists_until_changed_and_unknown_fields_are_ignored) {
  const char *want[] = {"\x1F" "7\x1F" "a", "\x1F" "7\x1F" "b", "\x1F\x1F" "c"};
  assert_decodes("id: 7\nretry: 1000\nfoo: bar\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", want,
                 3);
}
END_TEST

START_TEST(a_leading_bom_is_skipped_once) {
  const char *want[] = {"\x1F\x1F" "a", "\x1F\x1F" "\xEF\xBB\xBF" "b"};
  assert_decodes("\xEF\xBB\xBF" "data: a\n\ndata: \xEF\xBB\xBF" "b\n\n", want, 2);
  /* Bytes that only start like a BOM are data, also when split across feeds. */
  const char *want2[] = {"\x1F\x1F" "\xEF" "x"};
  assert_decodes("data: \xEF" "x\n\n", want2, 1);
  rec *r = rec_new(0, 0);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(hvb__sse_feed(r->sse, "\xEF\xBB", 2, &err), 0);
  ck_assert(hvb__sse_pending(r->sse));
  ck_assert_int_eq(hvb__sse_feed(r->sse, "\xBF" "data: a\n\n", 10, &err), 1);
  ck_assert_str_eq(ev_at(r, 0), "\x1F\x1F" "a");
  rec_free(r);
}
END_TEST

START_TEST(a_line_over_the_cap_fails_with_too_large) {
  rec *r = rec_new(16, 0);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(hvb__sse_feed(r->sse, "data: 0123456789\n\n", 18, &err), 1); /* 16: at the cap */
  ck_assert_int_eq(hvb__sse_feed(r->sse, "data: 01234", 11, &err), 0);
  ck_assert_int_eq(hvb__sse_feed(r->sse, "567890", 6, &err), -1); /* no line end needed */
  ck_assert_int_eq(err.status, HVB_TOO_LARGE);
  ck_assert_ptr_nonnull(strstr(err.message, "max_line"));
  ck_assert_ptr_nonnull(strstr(err.message, "16 bytes"));
  /* The stream position is lost: later input fails until reset. */
  hvb_error again = HVB_ERROR_INIT;
  ck_assert_int_eq(hvb__sse_feed(r->sse, "data: x\n\n", 9, &again), -1);
  ck_assert_int_eq(again.status, HVB_TOO_LARGE);
  hvb__sse_reset(r->sse);
  ck_assert_int_eq(hvb__sse_feed(r->sse, "data: x\n\n", 9, &err), 1);
  rec_free(r);
}
END_TEST

START_TEST(an_event_over_the_cap_fails_with_too_large) {
  rec *r = rec_new(0, 10);
  hvb_error err = HVB_ERROR_INIT;
  /* 10 bytes of data: at the cap */
  ck_assert_int_eq(hvb__sse_feed(r->sse, "data: 01234\ndata: 5678\n\n", 24, &err), 1);
  const char *big = "data: 01234\ndata: 56789\n\n";
  ck_assert_int_eq(hvb__sse_feed(r->sse, big, strlen(big), &err), -1);
  ck_assert_int_eq(err.status, HVB_TOO_LARGE);
  ck_assert_ptr_nonnull(strstr(err.message, "max_event"));
  ck_assert_uint_eq(r->events->len, 1);
  rec_free(r);
}
END_TEST

START_TEST(a_callback_returning_false_stops_decoding_with_its_error) {
  rec *r = rec_new(0, 0);
  r->stop_after = 2;
  hvb_error err = HVB_ERROR_INIT;
  const char *text = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
  ck_assert_int_eq(hvb__sse_feed(r->sse, text, strlen(text), &err), -1);
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.message, "stopped at event 2");
  ck_assert_uint_eq(r->events->len, 2);
  rec_free(r);
}
END_TEST

START_TEST(a_truncated_tail_is_pending_and_never_dispatched) {
  rec *r = rec_new(0, 0);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(hvb__sse_feed(r->sse, "data: whole\n\ndata: half", 24, &err), 1);
  ck_assert(hvb__sse_pending(r->sse));
  hvb__sse_reset(r->sse);
  ck_assert(!hvb__sse_pending(r->sse));
  ck_assert_int_eq(hvb__sse_feed(r->sse, "data: one\n", 10, &err), 0);
  ck_assert(hvb__sse_pending(r->sse)); /* a data line without the blank line that ends it */
  hvb__sse_reset(r->sse);
  ck_assert_int_eq(hvb__sse_feed(r->sse, "\n", 1, &err), 0); /* nothing left to dispatch */
  ck_assert_uint_eq(r->events->len, 1);
  rec_free(r);
}
END_TEST

START_TEST(reset_forgets_the_last_id_and_a_pending_cr) {
  rec *r = rec_new(0, 0);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_int_eq(hvb__sse_feed(r->sse, "id: 9\ndata: a\n\r", 15, &err), 1);
  hvb__sse_reset(r->sse);
  /* The id is forgotten, and a BOM at the new start is skipped again. */
  ck_assert_int_eq(hvb__sse_feed(r->sse, "\xEF\xBB\xBF" "data: b\n\n", 12, &err), 1);
  ck_assert_str_eq(ev_at(r, 1), "\x1F\x1F" "b");
  rec_free(r);
}
END_TEST

START_TEST(large_stream_in_big_feeds_is_decoded_completely) {
  /* 20,000 events, fed in 4 KiB pieces: every event arrives, in order. */
  GString *s = g_string_new(NULL);
  for (int i = 0; i < 20000; i++) g_string_append_printf(s, "data: {\"n\":%d}\n\n", i);
  rec *r = rec_new(0, 0);
  hvb_error err = HVB_ERROR_INIT;
  int total = 0;
  for (size_t at = 0; at < s->len; at += 4096) {
    int n = hvb__sse_feed(r->sse, s->str + at, MIN(4096, s->len - at), &err);
    ck_assert_int_ge(n, 0);
    total += n;
  }
  ck_assert_int_eq(total, 20000);
  ck_assert_str_eq(ev_at(r, 19999), "\x1F\x1F{\"n\":19999}");
  rec_free(r);
  g_string_free(s, TRUE);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sse");
  TCase *tc = tcase_create("fixtures");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, openai_stream_decodes_to_its_chunks_and_done);
  tcase_add_test(tc, crlf_and_keepalive_variants_decode_like_the_plain_stream);
  tcase_add_test(tc, anthropic_stream_keeps_event_names);
  tcase_add_test(tc, every_fixture_gives_the_same_events_however_it_is_split);
  suite_add_tcase(s, tc);
  tc = tcase_create("rules");
  tcase_add_test(tc, keepalive_comments_dispatch_nothing_and_feed_returns_zero);
  tcase_add_test(tc, cr_lf_and_crlf_all_end_lines);
  tcase_add_test(tc, cr_at_the_end_of_a_feed_and_lf_at_the_start_of_the_next_are_one_line_end);
  tcase_add_test(tc, data_lines_join_with_newlines);
  tcase_add_test(tc, only_one_space_after_the_colon_is_dropped);
  tcase_add_test(tc, event_field_names_one_event_only);
  tcase_add_test(tc, event_without_data_is_not_dispatched);
  tcase_add_test(tc, id_persists_until_changed_and_unknown_fields_are_ignored);
  tcase_add_test(tc, a_leading_bom_is_skipped_once);
  tcase_add_test(tc, a_line_over_the_cap_fails_with_too_large);
  tcase_add_test(tc, an_event_over_the_cap_fails_with_too_large);
  tcase_add_test(tc, a_callback_returning_false_stops_decoding_with_its_error);
  tcase_add_test(tc, a_truncated_tail_is_pending_and_never_dispatched);
  tcase_add_test(tc, reset_forgets_the_last_id_and_a_pending_cr);
  tcase_add_test(tc, large_stream_in_big_feeds_is_decoded_completely);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
