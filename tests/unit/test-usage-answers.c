/* tests/unit/test-usage-answers.c: embeddings and images are priced like chat: against the
 * fake upstream with known usage, the cost on the result is the catalog price by hand
 * (per embedding token; per image by size and quality), the ledger's rows carry it, a cached
 * image records its saving, a model without a price has an unknown cost, and a budget counts
 * what images spent. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-usage-answers-0123456789"
#define EMBED_PATH "/v1/embeddings"
#define IMAGES_PATH "/v1/images/generations"
#define PNG_1X1_B64 \
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

/* Two vectors, 1,200 tokens. */
static const char embed_body[] =
    "{\"object\":\"list\",\"data\":[{\"index\":0,\"embedding\":[0.1,0.2]},"
    "{\"index\":1,\"embedding\":[0.3,0.4]}],\"usage\":{\"prompt_tokens\":1200,"
    "\"total_tokens\":1200}}";
/* Two images. */
static const char images_body[] = "{\"created\":1,\"data\":[{\"b64_json\":\"" PNG_1X1_B64
                                  "\"},{\"b64_json\":\"" PNG_1X1_B64 "\"}]}";

/* emb-priced: $0.5 per million tokens; img-priced: per 1024x1024 image $0.01 low, $0.04
 * medium, $0.2 high; emb-free and img-free: no price. */
static void setup(void) {
  tu_up_setup();
  char *path = g_build_filename(getenv("HB_CONFIG_DIR"), "catalog.d", "prices.json", NULL);
  tu_write_file(path,
                "{\"models\": {"
                "\"emb-priced\": {\"ids\": {\"openai\": \"emb-priced\"}, \"default_provider\": "
                "\"openai\", \"kind\": \"embedding\", \"prices\": {\"openai\": {\"input\": 0.5}}},"
                "\"emb-free\": {\"ids\": {\"openai\": \"emb-free\"}, \"default_provider\": "
                "\"openai\", \"kind\": \"embedding\"},"
                "\"img-priced\": {\"ids\": {\"openai\": \"img-priced\"}, \"default_provider\": "
                "\"openai\", \"kind\": \"image\", \"prices\": {\"openai\": {\"image\": "
                "{\"1024x1024\": {\"low\": 0.01, \"medium\": 0.04, \"high\": 0.2}}}}},"
                "\"img-free\": {\"ids\": {\"openai\": \"img-free\"}, \"default_provider\": "
                "\"openai\", \"kind\": \"image\"}}}");
  g_free(path);
}

/* The ledger's group of `model`: {"calls", "cost_usd", "tokens_in"...} (new reference). */
static json_object *ledger_group(const char *model) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *q = tu_parse("{\"by\": \"model\"}");
  json_object *rep = hvb_usage_report(q, &err);
  json_object_put(q);
  ck_assert_msg(rep != NULL, "%s", err.message);
  json_object *groups = json_object_object_get(rep, "groups"), *found = NULL;
  for (size_t i = 0; i < json_object_array_length(groups); i++) {
    json_object *g = json_object_array_get_idx(groups, i);
    if (!strcmp(json_object_get_string(json_object_object_get(g, "key")), model))
      found = json_object_get(g);
  }
  ck_assert_msg(found != NULL, "the ledger has no row of %s: %s", model,
                json_object_to_json_string(groups));
  json_object_put(rep);
  return found;
}

static double member_double(json_object *o, const char *k) {
  return json_object_get_double(json_object_object_get(o, k));
}

START_TEST(an_embedding_costs_its_tokens_at_the_catalog_price) {
  up_push_body(tu_srv, EMBED_PATH, 200, NULL, embed_body);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "emb-priced", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  const char *texts[] = {"first text", "second text"};
  hvb_embeddings *e = hvb_llm_embed(llm, texts, 2, NULL, &err);
  ck_assert_msg(e != NULL, "%s", err.message);
  hvb_cost c;
  ck_assert(hvb_embeddings_cost(e, &c));
  /* 1,200 tokens at $0.5 per million. */
  ck_assert_double_eq_tol(c.usd, 1200 * 0.5 / 1e6, 1e-15);
  ck_assert_int_eq(c.input_tokens, 1200);
  ck_assert(!c.cached);
  bool ok = false;
  json_object *v = hvb_embeddings_project(e, "cost", &ok, &err);
  ck_assert(ok);
  ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "usd")), "0.0006");
  json_object_put(v);
  hvb_embeddings_free(e);

  /* The same texts again: the cache answers every one, nothing is spent or sent. */
  e = hvb_llm_embed(llm, texts, 2, NULL, &err);
  ck_assert_msg(e != NULL, "%s", err.message);
  ck_assert_uint_eq(hvb_embeddings_requests(e), 0);
  ck_assert(hvb_embeddings_cost(e, &c));
  ck_assert(c.cached);
  ck_assert_double_eq(c.usd, 0);
  hvb_embeddings_free(e);
  ck_assert_int_eq(up_request_count(tu_srv), 1);

  /* The ledger's row: the request that was made, at its price. */
  json_object *g = ledger_group("emb-priced");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(g, "calls")), 1);
  ck_assert_int_eq(json_object_get_int(json_object_object_get(g, "tokens_in")), 1200);
  ck_assert_double_eq_tol(member_double(g, "cost_usd"), 0.0006, 1e-15);
  json_object_put(g);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(an_unpriced_embedding_model_has_an_unknown_cost) {
  up_push_body(tu_srv, EMBED_PATH, 200, NULL, embed_body);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "emb-free", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  const char *texts[] = {"first text", "second text"};
  hvb_embeddings *e = hvb_llm_embed(llm, texts, 2, NULL, &err);
  ck_assert_msg(e != NULL, "%s", err.message);
  hvb_cost c;
  ck_assert(!hvb_embeddings_cost(e, &c));
  ck_assert(!c.known);
  ck_assert_int_eq(c.input_tokens, 1200);
  hvb_embeddings_free(e);
  json_object *g = ledger_group("emb-free");
  ck_assert_ptr_null(json_object_object_get(g, "cost_usd")); /* null, not 0 */
  ck_assert_int_eq(json_object_get_int(json_object_object_get(g, "unpriced")), 1);
  json_object_put(g);
  hvb_llm_free(llm);
}
END_TEST

static hvb_images *imagen(hvb_llm *llm, const char *options, hvb_error *err) {
  json_object *o = tu_parse(options);
  hvb_images *r = hvb_llm_imagen(llm, "a red mug", NULL, 0, o, err);
  json_object_put(o);
  return r;
}

START_TEST(images_cost_their_size_and_quality_at_the_catalog_price) {
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, images_body);
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, images_body);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "img-priced", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  /* Seeded: the cache keeps it. Two high-quality 1024x1024 images at $0.2. */
  const char *opts = "{\"size\": \"1024x1024\", \"quality\": \"high\", \"n\": 2, \"seed\": 7}";
  hvb_images *r = imagen(llm, opts, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_cost c;
  ck_assert(hvb_images_cost(r, &c));
  ck_assert_double_eq_tol(c.usd, 2 * 0.2, 1e-12);
  ck_assert(!c.cached);
  hvb_images_free(r);

  /* The same seeded call: from the cache, free, and it saved what it would have cost. */
  r = imagen(llm, opts, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(hvb_images_cached(r));
  ck_assert(hvb_images_cost(r, &c));
  ck_assert(c.cached);
  ck_assert_double_eq(c.usd, 0);
  ck_assert_double_eq_tol(c.saved_usd, 0.4, 1e-12);
  hvb_images_free(r);
  ck_assert_int_eq(up_request_count(tu_srv), 1);

  /* No quality named: the entry's medium ($0.04 each). */
  r = imagen(llm, "{\"size\": \"1024x1024\"}", &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(hvb_images_cost(r, &c));
  ck_assert_double_eq_tol(c.usd, 2 * 0.04, 1e-12);
  hvb_images_free(r);

  /* The ledger has the two requests made: $0.4 + $0.08. */
  json_object *g = ledger_group("img-priced");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(g, "calls")), 2);
  ck_assert_double_eq_tol(member_double(g, "cost_usd"), 0.48, 1e-12);
  json_object_put(g);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(an_image_size_without_a_price_is_unknown) {
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, images_body);
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, images_body);
  hvb_llm *priced = tu_upstream_llm(tu_srv, "img-priced", KEY, NULL);
  hvb_llm *free_model = tu_upstream_llm(tu_srv, "img-free", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_cost c;
  hvb_images *r = imagen(priced, "{\"size\": \"4096x4096\"}", &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(!hvb_images_cost(r, &c));
  ck_assert_double_eq(c.usd, 0);
  hvb_images_free(r);
  r = imagen(free_model, "{\"size\": \"1024x1024\"}", &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert(!hvb_images_cost(r, &c));
  hvb_images_free(r);
  json_object *g = ledger_group("img-free");
  ck_assert_ptr_null(json_object_object_get(g, "cost_usd"));
  json_object_put(g);
  hvb_llm_free(priced);
  hvb_llm_free(free_model);
}
END_TEST

START_TEST(a_budget_counts_what_images_spent) {
  char *path = g_build_filename(getenv("HB_CONFIG_DIR"), "config.json", NULL);
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"budgets\": {\"images\": "
                      "{\"limit_usd\": 0.5, \"period\": \"day\"}}}}}");
  g_free(path);
  up_response ok = {.chunks = (up_chunk[]){{images_body, 0, 0}}, .nchunks = 1, .repeat = true};
  up_push(tu_srv, IMAGES_PATH, &ok);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "img-priced", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  const char *opts = "{\"size\": \"1024x1024\", \"quality\": \"high\", \"n\": 2}";
  /* $0.4 spent: the next call (the average call, $0.4) would cross $0.5. */
  hvb_images *r = imagen(llm, opts, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_images_free(r);
  r = imagen(llm, opts, &err);
  ck_assert_ptr_null(r);
  ck_assert_int_eq(err.status, HVB_BUDGET);
  ck_assert_msg(strstr(err.message, "budget 'images' is spent: $0.4000 of $0.5000"), "%s",
                err.message);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("usage-answers");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, tu_up_teardown);
  tcase_add_test(tc, an_embedding_costs_its_tokens_at_the_catalog_price);
  tcase_add_test(tc, an_unpriced_embedding_model_has_an_unknown_cost);
  tcase_add_test(tc, images_cost_their_size_and_quality_at_the_catalog_price);
  tcase_add_test(tc, an_image_size_without_a_price_is_unknown);
  tcase_add_test(tc, a_budget_counts_what_images_spent);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
