/* tests/unit/test-route-embed.c: embeddings and images of a routed LLM walk the route as a
 * chat does: a target that fails with a failure that falls through (503) is left for the
 * next, which answers; one request reaches each (counted at the fake upstream); a 400 does
 * not fall through. */
#include "testutil.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#define ERR_503 "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}"
#define ERR_400 "{\"error\":{\"message\":\"bad input\",\"type\":\"invalid_request_error\"}}"
/* A 1x1 PNG. */
#define PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

#define TWO_TARGETS(route, p1, p2)                                                            \
  "{\"routes\": {\"" route "\": {\"targets\": ["                                              \
  "{\"label\": \"one\", \"model\": \"m\", \"provider\": \"openai\", \"api_key\": \"k\","       \
  " \"max_retries\": 0, \"base_url\": \"URL/" p1 "/v1\"},"                                   \
  "{\"label\": \"two\", \"model\": \"m\", \"provider\": \"openai\", \"api_key\": \"k\","       \
  " \"base_url\": \"URL/" p2 "/v1\"}]}}}"

START_TEST(routed_embeddings_fall_through_to_the_next_target) {
  up_chunk c = {.data = ERR_503};
  up_response down = {.status = 503, .chunks = &c, .nchunks = 1, .repeat = true};
  up_push(tu_srv, "/e1/v1/embeddings", &down);
  up_response vectors = {.embed_dim = 4, .repeat = true};
  up_push(tu_srv, "/e2/v1/embeddings", &vectors);
  tu_write_catalog(TWO_TARGETS("vec", "e1", "e2"));
  hvb_llm *llm = tu_preset_llm("vec", NULL);
  const char *texts[] = {"ab", "c"};
  hvb_error err = HVB_ERROR_INIT;
  hvb_embeddings *e = hvb_llm_embed(llm, texts, 2, NULL, &err);
  ck_assert_msg(e, "routed embeddings: %s", err.message);
  ck_assert_int_eq(hvb_embeddings_count(e), 2);
  ck_assert_int_eq(hvb_embeddings_dim(e), 4);
  ck_assert_float_eq(hvb_embeddings_at(e, 0)[0], 'a');
  hvb_embeddings_free(e);
  ck_assert_int_eq(tu_requests_to("/e1/v1/embeddings"), 1);
  ck_assert_int_eq(tu_requests_to("/e2/v1/embeddings"), 1);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(routed_embeddings_do_not_fall_through_a_400) {
  up_chunk c = {.data = ERR_400};
  up_response bad = {.status = 400, .chunks = &c, .nchunks = 1, .repeat = true};
  up_push(tu_srv, "/b1/v1/embeddings", &bad);
  up_response vectors = {.embed_dim = 4, .repeat = true};
  up_push(tu_srv, "/b2/v1/embeddings", &vectors);
  tu_write_catalog(TWO_TARGETS("vec", "b1", "b2"));
  hvb_llm *llm = tu_preset_llm("vec", NULL);
  const char *texts[] = {"ab"};
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_embed(llm, texts, 1, NULL, &err));
  ck_assert_int_eq(err.http_status, 400);
  ck_assert_int_eq(tu_requests_to("/b2/v1/embeddings"), 0);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(routed_images_fall_through_to_the_next_target) {
  up_chunk c = {.data = ERR_503};
  up_response down = {.status = 503, .chunks = &c, .nchunks = 1, .repeat = true};
  up_push(tu_srv, "/i1/v1/images/generations", &down);
  up_chunk ok = {.data = "{\"created\":1,\"data\":[{\"b64_json\":\"" PNG_B64 "\"}]}"};
  up_response image = {.chunks = &ok, .nchunks = 1, .repeat = true};
  up_push(tu_srv, "/i2/v1/images/generations", &image);
  tu_write_catalog(TWO_TARGETS("pics", "i1", "i2"));
  hvb_llm *llm = tu_preset_llm("pics", NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_images *r = hvb_llm_imagen(llm, "a cat", NULL, 0, NULL, &err);
  ck_assert_msg(r, "routed images: %s", err.message);
  ck_assert_int_eq(hvb_images_count(r), 1);
  hvb_images_free(r);
  ck_assert_int_eq(tu_requests_to("/i1/v1/images/generations"), 1);
  ck_assert_int_eq(tu_requests_to("/i2/v1/images/generations"), 1);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("route-embed");
  TCase *tc = tcase_create("embed-images");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, routed_embeddings_fall_through_to_the_next_target);
  tcase_add_test(tc, routed_embeddings_do_not_fall_through_a_400);
  tcase_add_test(tc, routed_images_fall_through_to_the_next_target);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
