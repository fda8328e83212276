/* tests/unit/test-cache-hit.c: the cache's hit path, made cheaper (issue #20 item 7):
 *
 * - keys are written straight from the request (no filtered copy): they must stay the keys
 *   of the entries stored before, SHA-256 over {namespace, request less transport fields,
 *   spec} in canonical JSON;
 * - a hit replays the stored deltas themselves (hvb__accum_replay): the result must equal
 *   the live one, and what feeding each delta back as a canonical chunk (the former replay)
 *   gives;
 * - a damaged, truncated or foreign entry is a miss, never an error or a crash. */
#include "testutil.h"
#include "text/hash.h"
#include "text/json.h"
#include "cache/store.h"
#include "call/accum.h"
#include "call/cache-codec.h"
#include "call/result.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <string.h>

/* The key as the cache computed it before: a filtered copy of the request, hashed whole. */
static char *key_by_copy(hvb_cache_ns ns, const char *spec, json_object *request) {
  static const char *const transport[] = {"stream", "stream_options", "timeout",
                                          "connect_timeout", "idle_timeout", "max_retries",
                                          "api_key", "cache", NULL};
  json_object *req = json_object_new_object();
  json_object_object_foreach(request, key, val) {
    if (!g_strv_contains(transport, key)) json_object_object_add(req, key, json_object_get(val));
  }
  json_object *k = json_object_new_object();
  json_object_object_add(k, "namespace", json_object_new_string(hvb__cache_ns_name(ns)));
  json_object_object_add(k, "spec", json_object_new_string(spec));
  json_object_object_add(k, "request", req);
  char *hex = hvb__hash_json(k);
  json_object_put(k);
  return hex;
}

START_TEST(keys_are_those_of_entries_stored_before) {
  /* Pinned: sha256 of {"namespace":"text","request":{"messages":[{"content":"x","role":
   * "user"}],"model":"m","temperature":0},"spec":"h1"} (a change here orphans every entry). */
  json_object *simple = tu_parse("{\"stream\":true,\"model\":\"m\",\"temperature\":0,"
                                 "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
  char *k = hvb__cache_key(HVB_NS_TEXT, "h1", simple);
  ck_assert_str_eq(k, "63ad660ec27ca52a03acce7cc5a8d09d232f47a528f76e081e46cdb81a014f3f");
  g_free(k);
  json_object_put(simple);

  /* Escapes, numbers, nesting, and more members than fit the writer's stack array. */
  GString *many = g_string_new("{\"timeout\":3,\"api_key\":\"sk-x\",\"cache\":{\"ttl\":1}");
  for (int i = 0; i < 40; i++) g_string_append_printf(many, ",\"k%02d\":%d", 39 - i, i * 7 - 100);
  g_string_append(many, "}");
  const char *requests[] = {
      "{\"model\":\"m\",\"temperature\":0.7,\"top_p\":1.0,\"seed\":-42,\"max_tokens\":9007199254740993,"
      "\"messages\":[{\"role\":\"user\",\"content\":\"quote \\\" back \\\\ nl \\n tab \\t "
      "bell \\u0007 del \\u007f \\u00e9\\u4e2d\"}],\"stop\":[\"a\",null,true,false,1e300,0.1]}",
      "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{"
      "\"type\":\"object\",\"properties\":{\"z\":{},\"a\":{\"type\":\"string\"}}}}}],"
      "\"stream_options\":{\"include_usage\":true},\"max_retries\":2,\"idle_timeout\":1}",
      "{}",
      many->str,
  };
  for (size_t i = 0; i < G_N_ELEMENTS(requests); i++) {
    json_object *req = tu_parse(requests[i]);
    for (int ns = 0; ns < HVB_NS_COUNT; ns++) {
      char *fast = hvb__cache_key((hvb_cache_ns)ns, "spec\"hash", req);
      char *slow = key_by_copy((hvb_cache_ns)ns, "spec\"hash", req);
      ck_assert_msg(strcmp(fast, slow) == 0, "request %zu, namespace %d: %s != %s", i, ns, fast,
                    slow);
      g_free(fast), g_free(slow);
    }
    json_object_put(req);
  }
  g_string_free(many, TRUE);
}
END_TEST

/* A streamed live reply: text in pieces, reasoning, a tool call in fragments, usage twice. */
static const char *const live_chunks[] = {
    "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"hm\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
    "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
    "\"arguments\":\":1}\"}}]}}],\"usage\":{\"prompt_tokens\":3}}",
    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
    "\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":5,\"total_tokens\":8}}",
};

/* Everything a caller can read of a chat result, as one string. */
static char *seen(hvb_result *r) {
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "%s|%s|%s|", hvb_result_text(r), hvb_result_think(r),
                         hvb_result_finish_reason(r));
  json_object *parts[] = {hvb_result_tool_calls(r), hvb_result_usage(r), hvb_result_deltas(r),
                          hvb_result_message(r), hvb_result_messages(r)};
  for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
    char *c = parts[i] ? hvb__json_canonical(parts[i]) : g_strdup("-");
    g_string_append_printf(s, "%s|", c);
    g_free(c);
  }
  return g_string_free(s, FALSE);
}

static hvb_result *live_result(void) {
  hvb_accum *acc = hvb__accum_new();
  for (size_t i = 0; i < G_N_ELEMENTS(live_chunks); i++) {
    json_object *c = tu_parse(live_chunks[i]);
    json_object_put(hvb__accum_feed(acc, c));
    json_object_put(c);
  }
  hvb_result *r = hvb__accum_result(acc, NULL);
  hvb__accum_free(acc);
  return r;
}

START_TEST(a_replayed_hit_equals_the_live_result_and_the_former_replay) {
  hvb_result *live = live_result();
  GBytes *value = hvb__chat_cache_encode(live);
  json_object *raw = NULL;
  json_object *deltas = hvb__chat_cache_decode_deltas(value, &raw);
  ck_assert_ptr_nonnull(deltas);
  ck_assert_int_eq((int)json_object_array_length(deltas), 6);

  hvb_accum *fast = hvb__accum_new(), *slow = hvb__accum_new();
  for (size_t i = 0; i < json_object_array_length(deltas); i++) {
    json_object *d = json_object_array_get_idx(deltas, i);
    json_object *pub = hvb__accum_replay(fast, d);
    ck_assert_ptr_eq(pub, d); /* the stored delta itself, handed to a stream as it is */
    json_object_put(pub);
    /* The former replay: each delta made into a canonical chunk and fed. */
    json_object *delta = json_object_new_object(), *v;
    if ((v = json_object_object_get(d, "text")))
      json_object_object_add(delta, "content", json_object_get(v));
    if ((v = json_object_object_get(d, "think")))
      json_object_object_add(delta, "reasoning_content", json_object_get(v));
    if ((v = json_object_object_get(d, "tool_calls")))
      json_object_object_add(delta, "tool_calls", json_object_get(v));
    json_object *chunk = hvb__chunk_new(delta, json_object_object_get(d, "finish_reason"),
                                        json_object_object_get(d, "usage"));
    json_object_put(hvb__accum_feed(slow, chunk));
    json_object_put(chunk);
  }
  hvb_result *rf = hvb__accum_result(fast, NULL), *rs = hvb__accum_result(slow, NULL);
  char *a = seen(live), *b = seen(rf), *c = seen(rs);
  ck_assert_str_eq(b, a);
  ck_assert_str_eq(c, a);
  ck_assert_str_eq(hvb_result_text(rf), "Hello \xc3\xa9");
  ck_assert_int_eq((int)json_object_get_int(json_object_object_get(hvb_result_usage(rf),
                                                                   "prompt_tokens")), 3);
  g_free(a), g_free(b), g_free(c);
  hvb_result_free(rf), hvb_result_free(rs), hvb_result_free(live);
  hvb__accum_free(fast), hvb__accum_free(slow);
  json_object_put(deltas);
  json_object_put(raw);
  g_bytes_unref(value);
}
END_TEST

static bool is_miss(const char *text, size_t len) {
  GBytes *v = g_bytes_new(text, len);
  json_object *raw = NULL;
  json_object *d = hvb__chat_cache_decode_deltas(v, &raw);
  g_bytes_unref(v);
  bool miss = d == NULL && raw == NULL;
  json_object_put(d);
  json_object_put(raw);
  return miss;
}

START_TEST(a_damaged_or_foreign_entry_is_a_miss) {
  hvb_log_set_handler(NULL, HVB_LOG_ERROR, NULL); /* each miss warns; not the point here */
  hvb_result *live = live_result();
  GBytes *value = hvb__chat_cache_encode(live);
  gsize len = 0;
  const char *data = g_bytes_get_data(value, &len);
  ck_assert(!is_miss(data, len));
  for (gsize cut = 0; cut < len; cut++) /* every truncation of a good entry */
    ck_assert_msg(is_miss(data, cut), "an entry cut at %zu of %zu bytes was read", cut, len);
  const char *bad[] = {
      "not json",
      "[1,2]",
      "{\"v\":2,\"deltas\":[{\"text\":\"a\"}]}",      /* another version */
      "{\"v\":\"1\",\"deltas\":[{\"text\":\"a\"}]}",  /* the version as a string */
      "{\"v\":1,\"deltas\":{\"text\":\"a\"}}",        /* not an array */
      "{\"v\":1,\"deltas\":[{\"text\":5}]}",          /* text not a string */
      "{\"v\":1,\"deltas\":[{\"text\":\"\"}]}",       /* an empty text makes no delta */
      "{\"v\":1,\"deltas\":[{}]}",                    /* neither does nothing */
      "{\"v\":1,\"deltas\":[\"a\"]}",
      "{\"v\":1,\"deltas\":[{\"text\":\"a\",\"role\":\"x\"}]}", /* a member no delta has */
      "{\"v\":1,\"deltas\":[{\"tool_calls\":[]}]}",
      "{\"v\":1,\"deltas\":[{\"tool_calls\":{\"a\":1}}]}",
      "{\"v\":1,\"deltas\":[{\"usage\":[1]}]}",
      "{\"v\":1,\"deltas\":[{\"finish_reason\":null}]}",
      "{\"v\":1,\"deltas\":[{\"think\":true}]}",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    ck_assert_msg(is_miss(bad[i], strlen(bad[i])), "'%s' was read", bad[i]);
  ck_assert(is_miss("", 0));
  json_object *raw = (json_object *)1;
  ck_assert_ptr_null(hvb__chat_cache_decode_deltas(NULL, &raw));
  ck_assert_ptr_null(raw);
  /* A good entry of no deltas (what an older writer could leave) reads as an empty reply. */
  ck_assert(!is_miss("{\"v\":1,\"deltas\":[]}", 19));
  hvb_result_free(live);
  g_bytes_unref(value);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cache-hit");
  TCase *t = tcase_create("hit");
  tcase_add_test(t, keys_are_those_of_entries_stored_before);
  tcase_add_test(t, a_replayed_hit_equals_the_live_result_and_the_former_replay);
  tcase_add_test(t, a_damaged_or_foreign_entry_is_a_miss);
  suite_add_tcase(s, t);
  return tu_run(s);
}
