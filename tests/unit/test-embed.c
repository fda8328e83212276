/* tests/unit/test-embed.c: the embeddings pipeline against the fake upstream.
 *
 * The fake answers /v1/embeddings with vectors that spell their text (vector j of text t holds
 * the bytes of t, padded with zeros: up_response.embed_dim), so a test can read back which
 * text each vector belongs to, and it counts requests. */
#include "testutil.h"
#include "text/json.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-test-embed-0123456789abcdef"
#define EMBED_PATH "/v1/embeddings"
#define DIM 8

static void serve_embeddings(int delay_ms) {
  up_chunk ch = {"", 0, delay_ms};
  up_response r = {.status = 200, .chunks = &ch, .nchunks = 1, .repeat = true, .embed_dim = DIM};
  up_push(tu_srv, EMBED_PATH, &r);
}

static hvb_llm *up_llm(const char *extra) {
  return tu_upstream_llm(tu_srv, "embed-test", KEY, extra);
}

static hvb_embeddings *embed_ok(hvb_llm *llm, const char *const *texts, size_t n,
                                const char *opts) {
  json_object *o = opts ? tu_parse(opts) : NULL;
  hvb_error err = HVB_ERROR_INIT;
  hvb_embeddings *e = hvb_llm_embed(llm, texts, n, o, &err);
  ck_assert_msg(e != NULL, "%s", err.message);
  json_object_put(o);
  return e;
}

/* The text a fake vector spells. */
static char *text_of(const float *v) {
  char buf[DIM + 1];
  size_t i = 0;
  for (; i < DIM && v[i] != 0.0f; i++) buf[i] = (char)(int)v[i];
  buf[i] = '\0';
  return g_strdup(buf);
}

static void assert_vector_of(const hvb_embeddings *e, size_t i, const char *text) {
  char *t = text_of(hvb_embeddings_at(e, i));
  ck_assert_msg(strcmp(t, text) == 0, "vector %zu is for '%s', want '%s'", i, t, text);
  g_free(t);
}

/* The "input" array of request i, as canonical JSON text. */
static char *sent_inputs(int i) {
  up_request *rq = up_request_get(tu_srv, i);
  ck_assert_ptr_nonnull(rq);
  json_object *b = tu_parse(rq->body);
  char *s = hvb__json_canonical(json_object_object_get(b, "input"));
  json_object_put(b);
  up_request_free(rq);
  return s;
}

START_TEST(mixed_batch_returns_vectors_in_order_and_sends_only_misses) {
  serve_embeddings(0);
  hvb_llm *llm = up_llm(NULL);
  const char *first[] = {"a"};
  hvb_embeddings_free(embed_ok(llm, first, 1, NULL));
  const char *mixed[] = {"b", "a", "c"};
  hvb_embeddings *e = embed_ok(llm, mixed, 3, NULL);
  ck_assert_uint_eq(hvb_embeddings_count(e), 3);
  ck_assert_uint_eq(hvb_embeddings_dim(e), DIM);
  assert_vector_of(e, 0, "b");
  assert_vector_of(e, 1, "a");
  assert_vector_of(e, 2, "c");
  ck_assert_uint_eq(hvb_embeddings_cached(e), 1);
  ck_assert_uint_eq(hvb_embeddings_requests(e), 1);
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  char *in = sent_inputs(1);
  ck_assert_str_eq(in, "[\"b\",\"c\"]");
  g_free(in);
  /* Everything cached now: no request, no usage. */
  hvb_embeddings *again = embed_ok(llm, mixed, 3, NULL);
  ck_assert_uint_eq(hvb_embeddings_cached(again), 3);
  ck_assert_ptr_null(hvb_embeddings_usage(again));
  assert_vector_of(again, 0, "b");
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_embeddings_free(e);
  hvb_embeddings_free(again);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(thousand_inputs_with_a_cap_of_250_make_four_requests_in_order) {
  serve_embeddings(0);
  hvb_llm *llm = up_llm(NULL);
  enum { N = 1000 };
  char *store[N];
  const char *texts[N];
  for (int i = 0; i < N; i++) texts[i] = store[i] = g_strdup_printf("t%04d", i);
  hvb_embeddings *e = embed_ok(llm, texts, N, "{\"embedding_batch_size\": 250}");
  ck_assert_int_eq(up_request_count(tu_srv), 4);
  for (int r = 0; r < 4; r++) {
    json_object *b = tu_sent_body(tu_srv, r);
    ck_assert_uint_eq(json_object_array_length(json_object_object_get(b, "input")), 250);
    json_object_put(b);
  }
  for (int i = 0; i < N; i++) assert_vector_of(e, (size_t)i, texts[i]);
  ck_assert_int_eq(json_object_get_int(json_object_object_get(hvb_embeddings_usage(e),
                                                              "total_tokens")),
                   N);
  ck_assert_uint_eq(json_object_array_length(hvb_embeddings_raw(e)), 4);
  hvb_embeddings_free(e);
  for (int i = 0; i < N; i++) g_free(store[i]);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(duplicates_are_sent_once) {
  serve_embeddings(0);
  hvb_llm *llm = up_llm(NULL);
  const char *texts[] = {"x", "y", "x", "x", "y"};
  hvb_embeddings *e = embed_ok(llm, texts, 5, "{\"cache\": false}");
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  char *in = sent_inputs(0);
  ck_assert_str_eq(in, "[\"x\",\"y\"]");
  g_free(in);
  for (size_t i = 0; i < 5; i++) assert_vector_of(e, i, texts[i]);
  ck_assert_uint_eq(hvb_embeddings_cached(e), 0);
  /* With the cache off nothing was stored: the same call is sent again. */
  hvb_embeddings_free(embed_ok(llm, texts, 5, "{\"cache\": false}"));
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_embeddings_free(e);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(provider_cap_lowers_the_batch_size_and_workers_keep_the_order) {
  serve_embeddings(20);
  /* Cohere's catalog cap is 96: a setting of 500 is lowered to it. */
  hvb_llm *llm = up_llm("{\"provider\": \"cohere\", \"embedding_batch_size\": 500, "
                        "\"embedding_max_workers\": 3}");
  enum { N = 300 };
  char *store[N];
  const char *texts[N];
  for (int i = 0; i < N; i++) texts[i] = store[i] = g_strdup_printf("c%03d", i);
  hvb_embeddings *e = embed_ok(llm, texts, N, "{\"input_type\": \"search_document\"}");
  ck_assert_int_eq(up_request_count(tu_srv), 4); /* 96 + 96 + 96 + 12 */
  int sizes = 0;
  for (int r = 0; r < 4; r++) {
    json_object *b = tu_sent_body(tu_srv, r);
    size_t n = json_object_array_length(json_object_object_get(b, "input"));
    ck_assert_uint_le(n, 96);
    sizes += (int)n;
    ck_assert_str_eq(hvb__json_str(b, "encoding_format"), "float");
    ck_assert_str_eq(hvb__json_str(b, "input_type"), "search_document");
    json_object_put(b);
  }
  ck_assert_int_eq(sizes, N);
  for (int i = 0; i < N; i++) assert_vector_of(e, (size_t)i, texts[i]);
  hvb_embeddings_free(e);
  for (int i = 0; i < N; i++) g_free(store[i]);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(request_shapes_follow_the_provider) {
  serve_embeddings(0);
  const char *one[] = {"q"};
  /* openai: no input_type; the LLM's chat arguments stay out of embeddings. */
  hvb_llm *llm = up_llm("{\"temperature\": 0, \"dimensions\": 8}");
  hvb_embeddings_free(embed_ok(llm, one, 1, "{\"input_type\": \"query\", \"cache\": false}"));
  json_object *b = tu_sent_body(tu_srv, 0);
  ck_assert_str_eq(hvb__json_str(b, "model"), "embed-test");
  ck_assert(!json_object_object_get_ex(b, "input_type", NULL));
  ck_assert(!json_object_object_get_ex(b, "temperature", NULL));
  ck_assert(!json_object_object_get_ex(b, "cache", NULL));
  ck_assert_int_eq(json_object_get_int(json_object_object_get(b, "dimensions")), 8);
  json_object_put(b);
  hvb_llm_free(llm);
  /* voyage: dimensions is output_dimension, input_type is sent, no encoding_format. */
  llm = up_llm("{\"provider\": \"voyage\", \"dimensions\": 8}");
  hvb_embeddings_free(embed_ok(llm, one, 1,
                               "{\"input_type\": \"query\", \"encoding_format\": \"float\"}"));
  b = tu_sent_body(tu_srv, 1);
  ck_assert_str_eq(hvb__json_str(b, "input_type"), "query");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(b, "output_dimension")), 8);
  ck_assert(!json_object_object_get_ex(b, "dimensions", NULL));
  ck_assert(!json_object_object_get_ex(b, "encoding_format", NULL));
  json_object_put(b);
  hvb_llm_free(llm);
}
END_TEST

/* The raw body of request i (a new string). */
static char *sent_raw(int i) {
  up_request *rq = up_request_get(tu_srv, i);
  ck_assert_ptr_nonnull(rq);
  char *body = g_strndup(rq->body, rq->body_len);
  up_request_free(rq);
  return body;
}

/* Embed "q" with `provider` and the same options every time; the request's raw body. */
static char *body_for(const char *provider, int request) {
  char *opts = g_strdup_printf("{\"provider\": \"%s\", \"dimensions\": 8, \"temperature\": 0}",
                               provider);
  hvb_llm *llm = up_llm(opts);
  g_free(opts);
  const char *one[] = {"q"};
  hvb_embeddings_free(embed_ok(llm, one, 1,
                               "{\"input_type\": \"query\", \"encoding_format\": \"base64\","
                               " \"cache\": false}"));
  hvb_llm_free(llm);
  return sent_raw(request);
}

/* What the library sent before the shapes moved into the catalog, byte for byte. */
#define VOYAGE_BODY                                                                        \
  "{\"model\":\"embed-test\",\"input_type\":\"query\",\"input\":[\"q\"],"                  \
  "\"output_dimension\":8}"
#define COHERE_BODY                                                                        \
  "{\"model\":\"embed-test\",\"dimensions\":8,\"input_type\":\"query\","                   \
  "\"encoding_format\":\"float\",\"input\":[\"q\"]}"
#define PLAIN_BODY                                                                         \
  "{\"model\":\"embed-test\",\"dimensions\":8,\"encoding_format\":\"base64\","             \
  "\"input\":[\"q\"]}"

START_TEST(provider_shapes_are_catalog_data) {
  serve_embeddings(0);
  /* Two providers of a drop-in file, with the bundled voyage and cohere "embedding" objects
   * copied: the library has no other way to know them. */
  char *dropin = g_build_filename(getenv("HB_DATA_DIR"), "catalog.d", "shapes.json", NULL);
  tu_write_file(dropin,
                "{\"providers\": {"
                "\"vectors-r-us\": {\"base_url\": \"\", \"embedding\": {\"fields\": "
                "{\"input_type\": \"input_type\", \"dimensions\": \"output_dimension\"},"
                " \"rejects\": [\"encoding_format\"]}},"
                "\"floaty\": {\"base_url\": \"\", \"embedding\": {\"fields\": "
                "{\"input_type\": \"input_type\"}, \"set\": {\"encoding_format\": \"float\"}}}}}");
  g_free(dropin);
  static const struct {
    const char *provider, *body;
  } cases[] = {{"voyage", VOYAGE_BODY},       {"vectors-r-us", VOYAGE_BODY},
               {"cohere", COHERE_BODY},       {"floaty", COHERE_BODY},
               {"openai", PLAIN_BODY},        {"custom", PLAIN_BODY}};
  for (int i = 0; i < (int)G_N_ELEMENTS(cases); i++) {
    char *body = body_for(cases[i].provider, i);
    ck_assert_msg(strcmp(body, cases[i].body) == 0, "%s sent %s, want %s", cases[i].provider,
                  body, cases[i].body);
    g_free(body);
  }
}
END_TEST

START_TEST(a_models_rejected_arguments_are_never_sent) {
  serve_embeddings(0);
  char *dropin = g_build_filename(getenv("HB_DATA_DIR"), "catalog.d", "vec.json", NULL);
  tu_write_file(dropin, "{\"models\": {\"vec-1\": {\"kind\": \"embedding\","
                        " \"rejects_args\": [\"dimensions\", \"user\"]}}}");
  g_free(dropin);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "vec-1", KEY, "{\"dimensions\": 8}");
  const char *one[] = {"q"};
  hvb_embeddings_free(embed_ok(llm, one, 1, "{\"user\": \"u1\", \"encoding_format\": \"float\"}"));
  char *body = sent_raw(0);
  ck_assert_str_eq(body, "{\"model\":\"vec-1\",\"encoding_format\":\"float\",\"input\":[\"q\"]}");
  g_free(body);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_provider_shape_of_the_wrong_form_is_named) {
  char *dropin = g_build_filename(getenv("HB_DATA_DIR"), "catalog.d", "bad.json", NULL);
  tu_write_file(dropin, "{\"providers\": {\"odd\": {\"base_url\": \"\","
                        " \"embedding\": {\"fields\": {\"dimensions\": 3}}}}}");
  g_free(dropin);
  json_object *o = tu_parse("{\"provider\": \"odd\", \"model\": \"m\", \"base_url\": "
                            "\"http://127.0.0.1:9/v1\"}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  ck_assert_ptr_null(llm);
  ck_assert_int_eq(err.status, HVB_CONFIG);
  ck_assert_str_eq(err.message, "catalog provider 'odd': 'embedding.fields' must be an object "
                                "of non-empty strings (request field -> the provider's name "
                                "for it)");
}
END_TEST

START_TEST(a_failed_batch_fails_the_call_and_stores_nothing) {
  up_push_body(tu_srv, EMBED_PATH, 500, NULL, "{\"error\":{\"message\":\"embedder down\"}}");
  hvb_llm *llm = up_llm(NULL);
  const char *texts[] = {"p", "q"};
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_embed(llm, texts, 2, NULL, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_ptr_nonnull(strstr(err.message, "embedder down"));
  serve_embeddings(0);
  hvb_embeddings *e = embed_ok(llm, texts, 2, NULL);
  ck_assert_uint_eq(hvb_embeddings_cached(e), 0);
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_embeddings_free(e);
  /* Bad input is named. */
  const char *with_null[] = {"a", NULL};
  ck_assert_ptr_null(hvb_llm_embed(llm, with_null, 2, NULL, &err));
  ck_assert_ptr_nonnull(strstr(err.message, "texts[1]"));
  ck_assert_ptr_null(hvb_llm_embed(llm, texts, 0, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  json_object *bad = tu_parse("{\"embedding_batch_size\": 0}");
  ck_assert_ptr_null(hvb_llm_embed(llm, texts, 2, bad, &err));
  ck_assert_ptr_nonnull(strstr(err.message, "embedding_batch_size"));
  json_object_put(bad);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(dimension_comes_from_the_catalog_or_one_remembered_probe) {
  serve_embeddings(0);
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *known = up_llm("{\"model\": \"text-embedding-3-small\"}");
  ck_assert_uint_eq(hvb_llm_embedding_dim(known, &err), 1536);
  hvb_llm *unknown = up_llm(NULL);
  ck_assert_uint_eq(hvb_llm_embedding_dim(unknown, &err), DIM);
  ck_assert_uint_eq(hvb_llm_embedding_dim(unknown, &err), DIM);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_llm_free(known);
  hvb_llm_free(unknown);
}
END_TEST

START_TEST(projection_gives_fields_in_input_order) {
  serve_embeddings(0);
  hvb_llm *llm = up_llm(NULL);
  const char *texts[] = {"AB", "C"};
  hvb_embeddings *e = embed_ok(llm, texts, 2, NULL);
  bool ok = false;
  hvb_error err = HVB_ERROR_INIT;
  json_object *v = hvb_embeddings_project(e, NULL, &ok, &err);
  ck_assert(ok);
  char *s = hvb__json_canonical(v);
  ck_assert_str_eq(s, "[[65,66,0,0,0,0,0,0],[67,0,0,0,0,0,0,0]]");
  g_free(s);
  json_object_put(v);
  v = hvb_embeddings_project(e, "dim, cached,usage", &ok, &err);
  s = hvb__json_canonical(v);
  ck_assert_str_eq(s, "{\"cached\":0,\"dim\":8,\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}");
  g_free(s);
  json_object_put(v);
  ck_assert_ptr_null(hvb_embeddings_project(e, "vectors", &ok, &err));
  ck_assert(!ok);
  ck_assert_ptr_nonnull(strstr(err.message, "'vectors'"));
  ck_assert_ptr_null(hvb_embeddings_at(e, 2));
  hvb_embeddings_free(e);
  hvb_llm_free(llm);
}
END_TEST

typedef struct flight {
  hvb_llm *llm;
  hvb_embeddings *e;
} flight;

static gpointer flight_main(gpointer p) {
  flight *f = p;
  const char *texts[] = {"s1", "s2", "s3"};
  f->e = hvb_llm_embed(f->llm, texts, 3, NULL, NULL);
  return NULL;
}

START_TEST(concurrent_identical_embeds_send_each_text_once) {
  serve_embeddings(300);
  hvb_llm *llm = up_llm(NULL);
  flight f[3];
  GThread *th[3];
  for (int i = 0; i < 3; i++) {
    f[i] = (flight){llm, NULL};
    th[i] = g_thread_new("embed", flight_main, &f[i]);
  }
  for (int i = 0; i < 3; i++) {
    g_thread_join(th[i]);
    ck_assert_ptr_nonnull(f[i].e);
    assert_vector_of(f[i].e, 2, "s3");
    hvb_embeddings_free(f[i].e);
  }
  /* Each text went upstream once. (The calls claim texts one by one, so two of them may
   * split the three texts between their requests: the count of requests may be 1 or 2.) */
  GString *all = g_string_new(NULL);
  for (int r = 0; r < up_request_count(tu_srv); r++) {
    char *in = sent_inputs(r);
    g_string_append(all, in);
    g_free(in);
  }
  for (int i = 1; i <= 3; i++) {
    char needle[24];
    snprintf(needle, sizeof needle, "\"s%d\"", i);
    const char *at = strstr(all->str, needle);
    ck_assert_msg(at && !strstr(at + 1, needle), "s%d sent once: %s", i, all->str);
  }
  g_string_free(all, TRUE);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_gateway_without_embeddings_refuses_before_any_work) {
  char *fixtures = g_build_filename(getenv("HB_TEST_BUILDDIR"), "tests", "gateways", ".libs", NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_gateway_path_add(fixtures, &err), "%s", err.message);
  json_object *o = tu_parse("{\"gateway\": \"good\", \"provider\": \"openrouter\", \"model\": \"m\"}");
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  const char *texts[] = {"x"};
  ck_assert_ptr_null(hvb_llm_embed(llm, texts, 1, NULL, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(err.message, "embeddings"));
  hvb_llm_free(llm);
  json_object_put(o);
  g_free(fixtures);
}
END_TEST

START_TEST(mock_embeddings_are_deterministic_and_sized_by_embed_dim) {
  json_object *o = tu_parse("{\"preset\": \"mock\", \"embed_dim\": 5}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  json_object_put(o);
  const char *texts[] = {"one", "two"};
  hvb_embeddings *a = embed_ok(llm, texts, 2, "{\"cache\": false}");
  hvb_embeddings *b = embed_ok(llm, texts, 2, NULL);
  ck_assert_uint_eq(hvb_embeddings_dim(a), 5);
  ck_assert(memcmp(hvb_embeddings_at(a, 1), hvb_embeddings_at(b, 1), 5 * sizeof(float)) == 0);
  ck_assert(memcmp(hvb_embeddings_at(a, 0), hvb_embeddings_at(a, 1), 5 * sizeof(float)) != 0);
  hvb_embeddings_free(a);
  hvb_embeddings_free(b);
  hvb_llm_free(llm);
}
END_TEST

typedef struct progress_log {
  size_t calls, last_done, total;
  bool monotonic;
} progress_log;

static void on_progress(size_t done, size_t total, void *ud) {
  progress_log *p = ud;
  p->monotonic = p->monotonic && done >= p->last_done && done <= total;
  p->calls++;
  p->last_done = done;
  p->total = total;
}

START_TEST(progress_reports_distinct_texts_done_up_to_the_total) {
  serve_embeddings(0);
  hvb_llm *llm = up_llm("{\"embedding_batch_size\": 10, \"embedding_max_workers\": 2}");
  enum { N = 95 };
  char *store[N];
  const char *texts[N];
  for (int i = 0; i < N; i++) texts[i] = store[i] = g_strdup_printf("p%d", i % 50);
  progress_log p = {0, 0, 0, true};
  hvb_error err = HVB_ERROR_INIT;
  hvb_embeddings *e = hvb_llm_embed_progress(llm, texts, N, NULL, on_progress, &p, &err);
  ck_assert_msg(e != NULL, "%s", err.message);
  ck_assert(p.monotonic);
  ck_assert_uint_ge(p.calls, 2);
  ck_assert_uint_eq(p.total, 50);
  ck_assert_uint_eq(p.last_done, 50);
  ck_assert_int_eq(up_request_count(tu_srv), 5);
  for (int i = 0; i < N; i++) assert_vector_of(e, (size_t)i, texts[i]);
  hvb_embeddings_free(e);
  for (int i = 0; i < N; i++) g_free(store[i]);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("embed");
  TCase *tc = tcase_create("upstream");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, mixed_batch_returns_vectors_in_order_and_sends_only_misses);
  tcase_add_test(tc, thousand_inputs_with_a_cap_of_250_make_four_requests_in_order);
  tcase_add_test(tc, duplicates_are_sent_once);
  tcase_add_test(tc, provider_cap_lowers_the_batch_size_and_workers_keep_the_order);
  tcase_add_test(tc, request_shapes_follow_the_provider);
  tcase_add_test(tc, provider_shapes_are_catalog_data);
  tcase_add_test(tc, a_provider_shape_of_the_wrong_form_is_named);
  tcase_add_test(tc, a_models_rejected_arguments_are_never_sent);
  tcase_add_test(tc, a_failed_batch_fails_the_call_and_stores_nothing);
  tcase_add_test(tc, dimension_comes_from_the_catalog_or_one_remembered_probe);
  tcase_add_test(tc, projection_gives_fields_in_input_order);
  tcase_add_test(tc, concurrent_identical_embeds_send_each_text_once);
  tcase_add_test(tc, a_gateway_without_embeddings_refuses_before_any_work);
  tcase_add_test(tc, mock_embeddings_are_deterministic_and_sized_by_embed_dim);
  tcase_add_test(tc, progress_reports_distinct_texts_done_up_to_the_total);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
