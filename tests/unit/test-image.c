/* tests/unit/test-image.c: the image type, images in chat and image generation.
 *
 * Fixtures are made here, byte by byte: the smallest headers of each format that a real
 * decoder accepts far enough to know the size, and broken variants of each. Async image
 * generation (hvb_llm_imagen_async) is tested here too, against the same fake upstream. */
#include "testutil.h"
#include "text/json.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY "sk-test-image-0123456789abcdef"
#define IMAGES_PATH "/v1/images/generations"
/* A real 1x1 RGBA PNG (the same one nginx serves). */
#define PNG_1X1_B64 \
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

/* ---- fixtures ---- */

static void put_be32(GByteArray *b, guint32 v) {
  guint8 x[4] = {v >> 24, v >> 16, v >> 8, v};
  g_byte_array_append(b, x, 4);
}
static void put_le16(GByteArray *b, unsigned v) {
  guint8 x[2] = {v & 0xff, v >> 8};
  g_byte_array_append(b, x, 2);
}
static void put_le32(GByteArray *b, guint32 v) {
  guint8 x[4] = {v, v >> 8, v >> 16, v >> 24};
  g_byte_array_append(b, x, 4);
}
static void put(GByteArray *b, const char *s, size_t n) {
  g_byte_array_append(b, (const guint8 *)s, (guint)n);
}

/* PNG header and chunks (CRCs are not checked by the probe; zeros stand in). */
static GByteArray *png(guint32 w, guint32 h) {
  GByteArray *b = g_byte_array_new();
  put(b, "\x89PNG\r\n\x1a\n", 8);
  put_be32(b, 13);
  put(b, "IHDR", 4);
  put_be32(b, w);
  put_be32(b, h);
  put(b, "\x08\x02\x00\x00\x00", 5);
  put_be32(b, 0);
  put_be32(b, 0);
  put(b, "IEND", 4);
  put_be32(b, 0);
  return b;
}

static GByteArray *jpeg(unsigned w, unsigned h) {
  GByteArray *b = g_byte_array_new();
  put(b, "\xFF\xD8", 2);
  /* APP0 JFIF, 16 bytes of segment */
  put(b, "\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
  /* SOF0: length 17, precision 8, height, width, 3 components */
  put(b, "\xFF\xC0\x00\x11\x08", 5);
  guint8 hw[4] = {h >> 8, h & 0xff, w >> 8, w & 0xff};
  g_byte_array_append(b, hw, 4);
  put(b, "\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  put(b, "\xFF\xD9", 2);
  return b;
}

/* kind: 0 VP8, 1 VP8L, 2 VP8X */
static GByteArray *webp(int kind, unsigned w, unsigned h) {
  GByteArray *b = g_byte_array_new();
  put(b, "RIFF", 4);
  put_le32(b, 0); /* patched below */
  put(b, "WEBP", 4);
  if (kind == 0) {
    put(b, "VP8 ", 4);
    put_le32(b, 10);
    put(b, "\x00\x00\x00\x9d\x01\x2a", 6);
    put_le16(b, w);
    put_le16(b, h);
  } else if (kind == 1) {
    put(b, "VP8L", 4);
    put_le32(b, 5);
    put(b, "\x2f", 1);
    put_le32(b, (guint32)((w - 1) | ((h - 1) << 14)));
  } else {
    put(b, "VP8X", 4);
    put_le32(b, 10);
    put(b, "\x00\x00\x00\x00", 4);
    guint8 x[6] = {(w - 1) & 0xff, (w - 1) >> 8, (w - 1) >> 16,
                   (h - 1) & 0xff, (h - 1) >> 8, (h - 1) >> 16};
    g_byte_array_append(b, x, 6);
  }
  guint32 size = b->len - 8;
  b->data[4] = size & 0xff;
  b->data[5] = (size >> 8) & 0xff;
  b->data[6] = (size >> 16) & 0xff;
  b->data[7] = size >> 24;
  return b;
}

static GByteArray *gif(unsigned w, unsigned h) {
  GByteArray *b = g_byte_array_new();
  put(b, "GIF89a", 6);
  put_le16(b, w);
  put_le16(b, h);
  put(b, "\x00\x00\x00", 3);
  put(b, "\x3b", 1);
  return b;
}

static hvb_image *from_bytes(GByteArray *b, const char *fmt, hvb_error *err) {
  hvb_image *img = hvb_image_new_bytes(b->data, b->len, fmt, err);
  g_byte_array_free(b, TRUE);
  return img;
}

static void assert_probe(hvb_image *img, const char *fmt, int w, int h) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_image_info info;
  ck_assert_msg(hvb_image_probe(img, &info, &err), "%s", err.message);
  ck_assert_str_eq(info.format, fmt);
  ck_assert_int_eq(info.width, w);
  ck_assert_int_eq(info.height, h);
}

static void assert_fails(hvb_image *img, const hvb_error *err, hvb_status st, const char *needle) {
  ck_assert_ptr_null(img);
  ck_assert_msg(err->status == st, "status %s: %s", hvb_status_name(err->status), err->message);
  ck_assert_msg(strstr(err->message, needle), "'%s' not in '%s'", needle, err->message);
}

/* ---- the type ---- */

START_TEST(each_format_is_probed_from_its_header) {
  hvb_error err = HVB_ERROR_INIT;
  struct {
    GByteArray *b;
    const char *fmt;
    int w, h;
  } cases[] = {
      {png(640, 480), "png", 640, 480},     {jpeg(300, 200), "jpeg", 300, 200},
      {webp(0, 100, 50), "webp", 100, 50},  {webp(1, 4000, 3), "webp", 4000, 3},
      {webp(2, 70000, 9), "webp", 70000, 9}, {gif(17, 33), "gif", 17, 33},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    hvb_image *img = from_bytes(cases[i].b, NULL, &err);
    ck_assert_msg(img != NULL, "case %zu: %s", i, err.message);
    assert_probe(img, cases[i].fmt, cases[i].w, cases[i].h);
    hvb_image_free(img);
  }
}
END_TEST

START_TEST(broken_data_fails_naming_why) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_image *img = hvb_image_new_bytes("hello world, not an image", 25, NULL, &err);
  assert_fails(img, &err, HVB_PARSE, "not an image");

  GByteArray *b = png(2, 2);
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_bytes(b->data, 20, NULL, &err), &err, HVB_TRUNCATED, "truncated PNG");
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_bytes(b->data, b->len - 12, NULL, &err), &err, HVB_TRUNCATED,
               "truncated png");
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_bytes(b->data, 5, NULL, &err), &err, HVB_TRUNCATED, "truncated");
  g_byte_array_free(b, TRUE);

  b = jpeg(5, 5);
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_bytes(b->data, 24, NULL, &err), &err, HVB_TRUNCATED, "JPEG");
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_bytes(b->data, b->len - 2, NULL, &err), &err, HVB_TRUNCATED, "jpeg");
  g_byte_array_free(b, TRUE);

  b = webp(2, 5, 5);
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_bytes(b->data, 20, NULL, &err), &err, HVB_TRUNCATED, "WebP");
  b->data[12] = 'X';
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_bytes(b->data, b->len, NULL, &err), &err, HVB_PARSE, "WebP");
  g_byte_array_free(b, TRUE);

  b = gif(5, 5);
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_bytes(b->data, b->len - 1, NULL, &err), &err, HVB_TRUNCATED, "gif");
  g_byte_array_free(b, TRUE);

  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_base64("iVBO@@@@", NULL, &err), &err, HVB_PARSE,
               "invalid base64: unexpected character at offset 4");
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(from_bytes(png(3, 3), "gif", &err), &err, HVB_EINVAL, "the bytes are a png image");
}
END_TEST

START_TEST(conversions_round_trip) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_image *img = hvb_image_new_base64(PNG_1X1_B64, "image/png", &err);
  ck_assert_msg(img != NULL, "%s", err.message);
  assert_probe(img, "png", 1, 1);
  char *b64 = hvb_image_base64(img, &err);
  ck_assert_str_eq(b64, PNG_1X1_B64);
  char *url = hvb_image_data_url(img, &err);
  ck_assert_str_eq(url, "data:image/png;base64," PNG_1X1_B64);
  json_object *part = hvb_image_content_part(img, &err);
  ck_assert_str_eq(json_object_to_json_string_ext(part, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE),
                   "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64," PNG_1X1_B64
                   "\"}}");
  json_object_put(part);

  /* save (atomic), then read back through every kind of source */
  const char *tmp = tu_tmpdir();
  char *path = g_build_filename(tmp, "one.png", NULL);
  ck_assert_msg(hvb_image_save(img, path, &err), "%s", err.message);
  const char *sources[] = {path, url, PNG_1X1_B64};
  for (size_t i = 0; i < G_N_ELEMENTS(sources); i++) {
    hvb_image *again = hvb_image_new(sources[i], &err);
    ck_assert_msg(again != NULL, "source %zu: %s", i, err.message);
    char *b = hvb_image_base64(again, &err);
    ck_assert_str_eq(b, PNG_1X1_B64);
    free(b);
    hvb_image_free(again);
  }
  /* no temporary file is left beside it */
  GDir *dir = g_dir_open(tmp, 0, NULL);
  int files = 0;
  for (const char *n; (n = g_dir_read_name(dir));) files += g_str_has_prefix(n, "one.png");
  g_dir_close(dir);
  ck_assert_int_eq(files, 1);

  err = (hvb_error)HVB_ERROR_INIT;
  ck_assert(!hvb_image_save(img, "/nonexistent-dir/x.png", &err));
  ck_assert_int_eq(err.status, HVB_IO);
  ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent-dir/x.png"));
  free(b64);
  free(url);
  g_free(path);
  hvb_image_free(img);
}
END_TEST

START_TEST(sources_and_items_are_told_apart) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_image *img = hvb_image_new("missing-photo.jpg", &err);
  assert_fails(img, &err, HVB_IO, "cannot read image file 'missing-photo.jpg'");

  char *path = g_build_filename(tu_tmpdir(), "noperm.png", NULL);
  tu_write_file(path, "x");
  chmod(path, 0);
  if (access(path, R_OK) != 0) { /* root reads anything */
    err = (hvb_error)HVB_ERROR_INIT;
    assert_fails(hvb_image_new(path, &err), &err, HVB_IO, path);
  }
  g_free(path);

  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new("data:text/plain,hello", &err), &err, HVB_PARSE, "base64");

  img = hvb_image_new("https://example.invalid/a.png", &err);
  ck_assert_ptr_nonnull(img);
  ck_assert_str_eq(hvb_image_url(img), "https://example.invalid/a.png");
  json_object *part = hvb_image_content_part(img, &err); /* no fetch: the URL as is */
  ck_assert_str_eq(hvb__json_str(json_object_object_get(part, "image_url"), "url"),
                   "https://example.invalid/a.png");
  json_object_put(part);
  hvb_image_free(img);

  const char *items[] = {
      "{\"b64_json\": \"" PNG_1X1_B64 "\", \"revised_prompt\": \"a red dot\"}",
      "{\"inline_data\": {\"mime_type\": \"image/png\", \"data\": \"" PNG_1X1_B64 "\"}}",
      "{\"inlineData\": {\"mimeType\": \"image/png\", \"data\": \"" PNG_1X1_B64 "\"}}",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(items); i++) {
    json_object *o = tu_parse(items[i]);
    img = hvb_image_new_item(o, &err);
    ck_assert_msg(img != NULL, "item %zu: %s", i, err.message);
    assert_probe(img, "png", 1, 1);
    if (i == 0) ck_assert_str_eq(hvb_image_revised_prompt(img), "a red dot");
    hvb_image_free(img);
    json_object_put(o);
  }
  json_object *o = tu_parse("{\"nothing\": 1}");
  err = (hvb_error)HVB_ERROR_INIT;
  assert_fails(hvb_image_new_item(o, &err), &err, HVB_EINVAL, "nothing");
  json_object_put(o);
}
END_TEST

/* ---- the lazy fetch ---- */

static void serve_png(const char *path, int delay_ms) {
  gsize n = 0;
  guchar *bytes = g_base64_decode(PNG_1X1_B64, &n);
  up_chunk ch = {(const char *)bytes, n, delay_ms};
  up_response r = {.status = 200, .content_type = "image/png", .chunks = &ch, .nchunks = 1};
  up_push(tu_srv, path, &r);
  g_free(bytes);
}

START_TEST(a_url_is_fetched_once_and_only_when_needed) {
  serve_png("/img/a.png", 0);
  char *url = g_strconcat(up_base_url(tu_srv), "/img/a.png", NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_image *img = hvb_image_new(url, &err);
  ck_assert_ptr_nonnull(img);
  ck_assert_int_eq(up_request_count(tu_srv), 0);
  assert_probe(img, "png", 1, 1);
  size_t len = 0;
  ck_assert_ptr_nonnull(hvb_image_bytes(img, &len, &err));
  char *b64 = hvb_image_base64(img, &err);
  ck_assert_str_eq(b64, PNG_1X1_B64);
  free(b64);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_image_free(img);
  g_free(url);
}
END_TEST

START_TEST(a_missing_or_slow_url_fails_naming_it) {
  char *url = g_strconcat(up_base_url(tu_srv), "/img/missing.png", NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_image *img = hvb_image_new_url(url, &err);
  size_t len;
  ck_assert_ptr_null(hvb_image_bytes(img, &len, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_int_eq(err.http_status, 404);
  ck_assert_msg(strstr(err.message, url), "%s", err.message);
  hvb_image_free(img);
  g_free(url);

  serve_png("/img/slow.png", 3000);
  url = g_strconcat(up_base_url(tu_srv), "/img/slow.png", NULL);
  img = hvb_image_new_url(url, &err);
  hvb_image_set_fetch_limits(img, 300, 0);
  err = (hvb_error)HVB_ERROR_INIT;
  gint64 t0 = g_get_monotonic_time();
  ck_assert(!hvb_image_save(img, "/tmp/never-written.png", &err));
  ck_assert_int_eq(err.status, HVB_TIMEOUT);
  ck_assert_msg(strstr(err.message, "slow.png"), "%s", err.message);
  ck_assert_int_lt(g_get_monotonic_time() - t0, 2500000);
  hvb_image_free(img);
  g_free(url);

  /* the configured timeout applies when none is set on the image */
  serve_png("/img/slow2.png", 3000);
  char *cfg = g_build_filename(g_getenv("HB_CONFIG_DIR"), "config.json", NULL);
  tu_write_file(cfg, "{\"heavenbase\": {\"llm\": {\"image_url_timeout\": 0.3}}}");
  url = g_strconcat(up_base_url(tu_srv), "/img/slow2.png", NULL);
  img = hvb_image_new_url(url, &err);
  err = (hvb_error)HVB_ERROR_INIT;
  ck_assert(!hvb_image_bytes(img, &len, &err));
  ck_assert_int_eq(err.status, HVB_TIMEOUT);
  hvb_image_free(img);
  g_free(url);
  /* The 0.3 s would hold for the next fetch too: a loaded machine could time it out. */
  g_unlink(cfg);
  g_free(cfg);

  /* a body that is not an image */
  up_push_body(tu_srv, "/img/text", 200, "text/plain", "hello, I am text");
  url = g_strconcat(up_base_url(tu_srv), "/img/text", NULL);
  img = hvb_image_new_url(url, &err);
  err = (hvb_error)HVB_ERROR_INIT;
  ck_assert(!hvb_image_bytes(img, &len, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_msg(strstr(err.message, "not an image") && strstr(err.message, url), "%s", err.message);
  hvb_image_free(img);
  g_free(url);
}
END_TEST

/* ---- images in chat ---- */

static const char *chat_body =
    "{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"a dot\"},"
    " \"finish_reason\": \"stop\"}]}";

START_TEST(images_join_the_last_user_message) {
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, chat_body);
  up_push_body(tu_srv, "/v1/chat/completions", 200, NULL, chat_body);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-4o-mini", KEY, NULL);
  char *path = g_build_filename(tu_tmpdir(), "dot.png", NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_image *img = hvb_image_new_base64(PNG_1X1_B64, NULL, &err);
  ck_assert(hvb_image_save(img, path, &err));
  json_object *opts = json_object_new_object();
  json_object *list = json_object_new_array();
  json_object_array_add(list, json_object_new_string(path));
  json_object_array_add(list, json_object_new_string("https://example.invalid/cat.jpg"));
  json_object_object_add(opts, "images", list);
  hvb_result *r = hvb_llm_chat(llm, "what is this?", NULL, opts, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_result_free(r);
  json_object *sent = tu_sent_body(tu_srv, 0);
  ck_assert_ptr_null(json_object_object_get(sent, "images"));
  json_object *content = hvb__json_path(json_object_array_get_idx(
                                            json_object_object_get(sent, "messages"), 0),
                                        "content");
  ck_assert_int_eq(json_object_array_length(content), 3);
  ck_assert_str_eq(hvb__json_str(json_object_array_get_idx(content, 0), "text"), "what is this?");
  ck_assert_str_eq(hvb__json_str(json_object_array_get_idx(content, 1), "type"), "image_url");
  ck_assert_str_eq(hvb__json_str(hvb__json_path(json_object_array_get_idx(content, 1), "image_url"),
                                 "url"),
                   "data:image/png;base64," PNG_1X1_B64);
  ck_assert_str_eq(hvb__json_str(hvb__json_path(json_object_array_get_idx(content, 2), "image_url"),
                                 "url"),
                   "https://example.invalid/cat.jpg");
  json_object_put(sent);

  /* the C API */
  r = hvb_llm_chat_images(llm, "and this?", &img, 1, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_result_free(r);
  sent = tu_sent_body(tu_srv, 1);
  content = hvb__json_path(json_object_array_get_idx(json_object_object_get(sent, "messages"), 0),
                           "content");
  ck_assert_int_eq(json_object_array_length(content), 2);
  json_object_put(sent);

  /* a bad element is named */
  json_object_array_put_idx(list, 0, json_object_new_string("nope-missing.png"));
  err = (hvb_error)HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "x", NULL, opts, &err));
  ck_assert_msg(strstr(err.message, "call option 'images'[0]"), "%s", err.message);
  ck_assert_int_eq(up_request_count(tu_srv), 2);

  json_object_put(opts);
  hvb_image_free(img);
  g_free(path);
  hvb_llm_free(llm);
}
END_TEST

/* ---- image generation ---- */

static hvb_images *imagen_ok(hvb_llm *llm, const char *prompt, const char *opts) {
  json_object *o = opts ? tu_parse(opts) : NULL;
  hvb_error err = HVB_ERROR_INIT;
  hvb_images *r = hvb_llm_imagen(llm, prompt, NULL, 0, o, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  json_object_put(o);
  return r;
}

START_TEST(imagen_takes_b64_and_url_answers) {
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL,
               "{\"created\": 1, \"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\","
               " \"revised_prompt\": \"a mug, revised\"}], \"usage\": {\"total_tokens\": 4}}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  hvb_images *r = imagen_ok(llm, "a mug", "{\"size\": \"1024x1024\", \"n\": 1}");
  ck_assert_uint_eq(hvb_images_count(r), 1);
  assert_probe(hvb_images_at(r, 0), "png", 1, 1);
  ck_assert_str_eq(hvb_image_revised_prompt(hvb_images_at(r, 0)), "a mug, revised");
  ck_assert_ptr_null(hvb_images_raw(r));
  ck_assert_ptr_nonnull(hvb_images_usage(r));
  hvb_images_free(r);
  json_object *sent = tu_sent_body(tu_srv, 0);
  ck_assert_str_eq(hvb__json_str(sent, "prompt"), "a mug");
  ck_assert_str_eq(hvb__json_str(sent, "size"), "1024x1024");
  ck_assert_ptr_null(json_object_object_get(sent, "response_format"));
  json_object_put(sent);
  hvb_llm_free(llm);

  /* a URL answer: fetched lazily; other models are asked for b64_json */
  serve_png("/files/out.png", 0);
  char *body = g_strdup_printf("{\"data\": [{\"url\": \"%s/files/out.png\"}]}", up_base_url(tu_srv));
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, body);
  g_free(body);
  llm = tu_upstream_llm(tu_srv, "dall-e-3", KEY, NULL);
  r = imagen_ok(llm, "a mug", "{\"include\": \"raw\"}");
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  ck_assert_ptr_nonnull(hvb_image_url(hvb_images_at(r, 0)));
  ck_assert_ptr_nonnull(hvb_images_raw(r));
  assert_probe(hvb_images_at(r, 0), "png", 1, 1);
  ck_assert_int_eq(up_request_count(tu_srv), 3);
  hvb_images_free(r);
  sent = tu_sent_body(tu_srv, 1);
  ck_assert_str_eq(hvb__json_str(sent, "response_format"), "b64_json");
  json_object_put(sent);
  hvb_llm_free(llm);

  /* gpt-5 image models never get response_format, even when asked */
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}");
  llm = tu_upstream_llm(tu_srv, "gpt-5-image-mini", KEY, NULL);
  r = imagen_ok(llm, "a mug", "{\"response_format\": \"url\"}");
  hvb_images_free(r);
  sent = tu_sent_body(tu_srv, 3);
  ck_assert_ptr_null(json_object_object_get(sent, "response_format"));
  json_object_put(sent);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(rejected_arguments_are_model_data) {
  /* A drop-in model that rejects response_format and quality: neither goes, whoever set
   * them; a model the catalog does not know, whatever its name, is asked for b64_json. */
  char *dropin = g_build_filename(getenv("HB_DATA_DIR"), "catalog.d", "painter.json", NULL);
  tu_write_file(dropin, "{\"models\": {\"painter-2\": {\"kind\": \"image\","
                        " \"default_args\": {\"quality\": \"high\"},"
                        " \"rejects_args\": [\"response_format\", \"quality\"]}}}");
  g_free(dropin);
  for (int i = 0; i < 2; i++)
    up_push_body(tu_srv, IMAGES_PATH, 200, NULL,
                 "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "painter-2", KEY, NULL);
  hvb_images_free(imagen_ok(llm, "a mug",
                            "{\"response_format\": \"url\", \"args\": {\"quality\": \"low\"},"
                            " \"size\": \"256x256\"}"));
  json_object *sent = tu_sent_body(tu_srv, 0);
  ck_assert_str_eq(hvb__json_str(sent, "model"), "painter-2");
  ck_assert_str_eq(hvb__json_str(sent, "size"), "256x256");
  ck_assert_ptr_null(json_object_object_get(sent, "response_format"));
  ck_assert_ptr_null(json_object_object_get(sent, "quality"));
  json_object_put(sent);
  hvb_llm_free(llm);

  llm = tu_upstream_llm(tu_srv, "gpt-image-99", KEY, NULL);
  hvb_images_free(imagen_ok(llm, "a mug", NULL));
  sent = tu_sent_body(tu_srv, 1);
  ck_assert_str_eq(hvb__json_str(sent, "response_format"), "b64_json");
  json_object_put(sent);
  hvb_llm_free(llm);

  /* The catalog's form is checked: a drop-in with a bad entry is skipped whole. */
  dropin = g_build_filename(getenv("HB_DATA_DIR"), "catalog.d", "painter.json", NULL);
  tu_write_file(dropin, "{\"models\": {\"painter-2\": {\"rejects_args\": \"quality\"}}}");
  g_free(dropin);
  json_object *o = tu_parse("{\"model\": \"painter-2\", \"provider\": \"openai\"}");
  hvb_error err = HVB_ERROR_INIT;
  hvb_spec *spec = hvb_spec_resolve(NULL, o, &err);
  json_object_put(o);
  ck_assert_msg(spec != NULL, "%s", err.message);
  ck_assert_ptr_null(hvb_spec_model_info(spec)); /* the model is not in the catalog */
  hvb_spec_unref(spec);
}
END_TEST


/* The upstream answers every image generation request with one 1x1 PNG as b64_json. */
static void push_png_answer_for_every_request(void) {
  up_chunk ch = {"{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}", 0, 0};
  up_response resp = {.status = 200, .chunks = &ch, .nchunks = 1, .repeat = true};
  up_push(tu_srv, IMAGES_PATH, &resp);
}

START_TEST(seeded_imagen_is_cached_and_unseeded_is_not) {
  push_png_answer_for_every_request();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  hvb_images *a = imagen_ok(llm, "a mug", "{\"seed\": 7}");
  hvb_images *b = imagen_ok(llm, "a mug", "{\"seed\": 7}");
  ck_assert(!hvb_images_cached(a));
  ck_assert(hvb_images_cached(b));
  assert_probe(hvb_images_at(b, 0), "png", 1, 1);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_images_free(a);
  hvb_images_free(b);
  a = imagen_ok(llm, "a mug", NULL);
  b = imagen_ok(llm, "a mug", NULL);
  ck_assert(!hvb_images_cached(b));
  ck_assert_int_eq(up_request_count(tu_srv), 3);
  hvb_images_free(a);
  hvb_images_free(b);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(mock_imagen_is_deterministic_png) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new_preset("mock", &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  hvb_images *a = imagen_ok(llm, "a mug", "{\"n\": 2, \"cache\": false}");
  hvb_images *b = imagen_ok(llm, "a mug", "{\"n\": 2, \"cache\": false}");
  ck_assert_uint_eq(hvb_images_count(a), 2);
  for (size_t i = 0; i < 2; i++) {
    assert_probe(hvb_images_at(a, i), "png", 8, 8);
    char *x = hvb_image_base64(hvb_images_at(a, i), &err);
    char *y = hvb_image_base64(hvb_images_at(b, i), &err);
    ck_assert_str_eq(x, y);
    free(x);
    free(y);
  }
  hvb_images_free(a);
  hvb_images_free(b);
  hvb_llm_free(llm);
}
END_TEST

static void expect_imagen_refused(const char *options, const char *needle) {
  json_object *o = tu_parse(options);
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  ck_assert_ptr_null(hvb_llm_imagen(llm, "a mug", NULL, 0, NULL, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_msg(strstr(err.message, needle), "%s", err.message);
  hvb_llm_free(llm);
  json_object_put(o);
}

START_TEST(bifrost_and_anthropic_refuse_imagen) {
  expect_imagen_refused("{\"gateway\": \"bifrost\", \"provider\": \"openai\", \"model\": \"gpt-image-1\","
                        " \"base_url\": \"http://127.0.0.1:9/v1\"}",
                        "gateway 'bifrost' does not support image generation");
  expect_imagen_refused("{\"provider\": \"anthropic\", \"model\": \"claude-sonnet-4-5\","
                        " \"api_key\": \"sk-ant-test-0123456789\"}",
                        "does not support image generation");
  ck_assert_int_eq(up_request_count(tu_srv), 0);
}
END_TEST

/* ---- async image generation ---- */

/* What on_done saw of one async imagen call. */
typedef struct imagen_seen {
  gint done;          /* on_done calls */
  hvb_status status;
  size_t count;       /* images readable in on_done */
  GThread *starter;   /* the thread that started the call */
  gint on_starter;    /* on_done ran on the starter's thread */
} imagen_seen;

static void imagen_done(hvb_call *call, void *ud) {
  imagen_seen *s = ud;
  s->status = hvb_call_status(call);
  s->count = hvb_images_count(hvb_call_images(call));
  if (g_thread_self() == s->starter) g_atomic_int_inc(&s->on_starter);
  g_atomic_int_inc(&s->done);
}

/* Start an async imagen that must start; `opts` JSON text or NULL. */
static hvb_call *imagen_async_ok(hvb_llm *llm, const char *prompt, const char *opts,
                                 imagen_seen *s) {
  memset(s, 0, sizeof *s);
  s->starter = g_thread_self();
  json_object *o = opts ? tu_parse(opts) : NULL;
  hvb_error err = HVB_ERROR_INIT;
  hvb_call *c = hvb_llm_imagen_async(llm, prompt, NULL, 0, o, imagen_done, s, &err);
  ck_assert_msg(c != NULL, "%s", err.message);
  json_object_put(o); /* options are copied */
  return c;
}

/* Wait for the call and check it reported success exactly once, off the caller's thread. */
static void expect_async_ok(hvb_call *c, imagen_seen *s, size_t count) {
  ck_assert(hvb_call_wait(c, 20000));
  ck_assert_int_eq(g_atomic_int_get(&s->done), 1);
  ck_assert_int_eq(g_atomic_int_get(&s->on_starter), 0);
  ck_assert_msg(s->status == HVB_OK, "%s", hvb_call_error(c) ? hvb_call_error(c)->message : "");
  ck_assert_uint_eq(s->count, count);
}

START_TEST(async_imagen_gives_the_upstream_images_once_on_the_engine_thread) {
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL,
               "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\", \"revised_prompt\": \"r0\"},"
               " {\"b64_json\": \"" PNG_1X1_B64 "\"}], \"usage\": {\"total_tokens\": 4}}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  imagen_seen s;
  hvb_call *c = imagen_async_ok(llm, "two mugs", "{\"n\": 2, \"include\": \"raw\"}", &s);
  hvb_llm_free(llm); /* the call keeps what it needs */
  expect_async_ok(c, &s, 2);
  ck_assert_ptr_null(hvb_call_result(c)); /* not a chat */
  ck_assert_ptr_null(hvb_call_embeddings(c));

  /* borrowed, then taken: the call gives them up and the caller frees them after the call */
  hvb_images *borrowed = hvb_call_images(c);
  hvb_images *r = hvb_call_take_images(c);
  ck_assert_ptr_eq(r, borrowed);
  ck_assert_ptr_null(hvb_call_images(c));
  ck_assert_ptr_null(hvb_call_take_images(c));
  hvb_call_free(c);
  ck_assert(!hvb_images_cached(r));
  ck_assert_ptr_nonnull(hvb_images_raw(r));
  ck_assert_ptr_nonnull(hvb_images_usage(r));
  ck_assert_str_eq(hvb_image_revised_prompt(hvb_images_at(r, 0)), "r0");
  for (size_t i = 0; i < 2; i++) {
    hvb_error err = HVB_ERROR_INIT;
    char *b64 = hvb_image_base64(hvb_images_at(r, i), &err);
    ck_assert_msg(b64 != NULL, "%s", err.message);
    ck_assert_str_eq(b64, PNG_1X1_B64); /* the bytes the upstream sent */
    free(b64);
  }
  hvb_images_free(r);
  json_object *sent = tu_sent_body(tu_srv, 0);
  ck_assert_str_eq(hvb__json_str(sent, "prompt"), "two mugs");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(sent, "n")), 2);
  json_object_put(sent);
  ck_assert_int_eq(up_request_count(tu_srv), 1);

  /* a URL answer: the image is the URL, fetched only when its bytes are read */
  serve_png("/files/async.png", 0);
  char *body = g_strdup_printf("{\"data\": [{\"url\": \"%s/files/async.png\"}]}",
                               up_base_url(tu_srv));
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, body);
  g_free(body);
  llm = tu_upstream_llm(tu_srv, "dall-e-3", KEY, NULL);
  c = imagen_async_ok(llm, "a mug", NULL, &s);
  expect_async_ok(c, &s, 1);
  r = hvb_call_take_images(c);
  hvb_call_free(c); /* the images outlive the call */
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  ck_assert_ptr_nonnull(hvb_image_url(hvb_images_at(r, 0)));
  assert_probe(hvb_images_at(r, 0), "png", 1, 1);
  ck_assert_int_eq(up_request_count(tu_srv), 3);
  hvb_images_free(r);
  hvb_llm_free(llm);

  /* the offline gateway: no network, still through the engine thread */
  hvb_error err = HVB_ERROR_INIT;
  llm = hvb_llm_new_preset("mock", &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  c = imagen_async_ok(llm, "a mug", "{\"n\": 2, \"cache\": false}", &s);
  expect_async_ok(c, &s, 2);
  assert_probe(hvb_images_at(hvb_call_images(c), 1), "png", 8, 8);
  hvb_call_free(c); /* frees the images it still holds */
  hvb_llm_free(llm);
}
END_TEST

START_TEST(async_seeded_imagen_shares_the_cache_but_stores_no_urls) {
  push_png_answer_for_every_request();
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  imagen_seen s;
  hvb_call *c = imagen_async_ok(llm, "a mug", "{\"seed\": 7}", &s);
  expect_async_ok(c, &s, 1);
  ck_assert(!hvb_images_cached(hvb_call_images(c)));
  hvb_call_free(c);
  ck_assert_int_eq(up_request_count(tu_srv), 1);

  /* the repeat is a hit, for an async call and for a sync one: no request reaches upstream */
  c = imagen_async_ok(llm, "a mug", "{\"seed\": 7}", &s);
  expect_async_ok(c, &s, 1);
  ck_assert(hvb_images_cached(hvb_call_images(c)));
  assert_probe(hvb_images_at(hvb_call_images(c), 0), "png", 1, 1);
  hvb_call_free(c);
  hvb_images *r = imagen_ok(llm, "a mug", "{\"seed\": 7}");
  ck_assert(hvb_images_cached(r));
  hvb_images_free(r);
  ck_assert_int_eq(up_request_count(tu_srv), 1);

  /* unseeded: never cached */
  for (int i = 0; i < 2; i++) {
    c = imagen_async_ok(llm, "a mug", NULL, &s);
    expect_async_ok(c, &s, 1);
    ck_assert(!hvb_images_cached(hvb_call_images(c)));
    hvb_call_free(c);
  }
  ck_assert_int_eq(up_request_count(tu_srv), 3);
  hvb_llm_free(llm);

  /* URL images of an async call are not stored (that would fetch them on the engine): the
   * repeat asks again, and the image itself was never fetched */
  serve_png("/files/never.png", 0);
  char *body = g_strdup_printf("{\"data\": [{\"url\": \"%s/files/never.png\"}]}",
                               up_base_url(tu_srv));
  up_push_body(tu_srv, "/v2/images/generations", 200, NULL, body);
  up_push_body(tu_srv, "/v2/images/generations", 200, NULL, body);
  g_free(body);
  char *extra = g_strdup_printf("{\"base_url\": \"%s/v2\"}", up_base_url(tu_srv));
  llm = tu_upstream_llm(tu_srv, "dall-e-3", KEY, extra);
  g_free(extra);
  for (int i = 0; i < 2; i++) {
    c = imagen_async_ok(llm, "a url mug", "{\"seed\": 7}", &s);
    expect_async_ok(c, &s, 1);
    ck_assert(!hvb_images_cached(hvb_call_images(c)));
    hvb_call_free(c);
  }
  ck_assert_int_eq(up_request_count(tu_srv), 5); /* two generations, no image fetch */
  hvb_llm_free(llm);
}
END_TEST

/* Start an async imagen that must fail at once, with `status` and a message holding
 * `needle`; on_done never runs. */
static void expect_async_refused(hvb_llm *llm, const char *opts, hvb_status status,
                                 const char *needle) {
  imagen_seen s = {0};
  json_object *o = opts ? tu_parse(opts) : NULL;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_imagen_async(llm, "a mug", NULL, 0, o, imagen_done, &s, &err));
  json_object_put(o);
  ck_assert_int_eq(err.status, status);
  ck_assert_msg(strstr(err.message, needle), "'%s' not in: %s", needle, err.message);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 0);
}

START_TEST(async_imagen_refuses_bad_options_and_gateways_at_once) {
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  expect_async_refused(llm, "{\"n\": 0}", HVB_EINVAL, "option 'n'");
  expect_async_refused(llm, "{\"size\": 1024}", HVB_EINVAL, "option 'size'");
  expect_async_refused(llm, "{\"include\": true}", HVB_EINVAL, "option 'include'");
  expect_async_refused(llm, "{\"cache\": \"sometimes\"}", HVB_EINVAL, "'cache'");
  hvb_image *null_ref = NULL;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_imagen_async(llm, "a mug", &null_ref, 1, NULL, NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "reference image 0"), "%s", err.message);
  ck_assert_ptr_null(hvb_llm_imagen_async(NULL, "a mug", NULL, 0, NULL, NULL, NULL, &err));
  ck_assert_ptr_null(hvb_llm_imagen_async(llm, NULL, NULL, 0, NULL, NULL, NULL, &err));
  ck_assert_msg(strstr(err.message, "prompt"), "%s", err.message);
  hvb_llm_free(llm);

  json_object *o = tu_parse("{\"gateway\": \"bifrost\", \"provider\": \"openai\","
                            " \"model\": \"gpt-image-1\", \"base_url\": \"http://127.0.0.1:9/v1\"}");
  llm = hvb_llm_new(o, &err);
  json_object_put(o);
  ck_assert_msg(llm != NULL, "%s", err.message);
  /* the gateway first, whatever the options */
  expect_async_refused(llm, "{\"n\": 0}", HVB_UNSUPPORTED,
                       "gateway 'bifrost' does not support image generation");
  hvb_llm_free(llm);
  ck_assert_int_eq(up_request_count(tu_srv), 0);
}
END_TEST

static gpointer sync_imagen_thread(gpointer llm) {
  json_object *o = tu_parse("{\"seed\": 5}");
  hvb_images *r = hvb_llm_imagen(llm, "one key", NULL, 0, o, NULL);
  json_object_put(o);
  return r;
}

/* A seeded imagen whose key a sync call is computing: the async call does not wait for it
 * (that would block the caller, or the engine from a callback); it asks the upstream too. */
START_TEST(async_imagen_never_waits_for_a_call_with_the_same_key) {
  enum { DELAY_MS = 3000 };
  up_chunk ch = {"{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}", 0, DELAY_MS};
  up_response slow = {.status = 200, .chunks = &ch, .nchunks = 1};
  up_push(tu_srv, IMAGES_PATH, &slow);
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  GThread *t = g_thread_new("sync-leader", sync_imagen_thread, llm);
  ck_assert(up_wait_requests(tu_srv, 1, 10000)); /* the leader's request is in flight */
  imagen_seen s;
  gint64 t0 = g_get_monotonic_time();
  hvb_call *c = imagen_async_ok(llm, "one key", "{\"seed\": 5}", &s);
  gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
  ck_assert_msg(took_ms < DELAY_MS / 2, "starting the call took %lld ms", (long long)took_ms);
  expect_async_ok(c, &s, 1);
  ck_assert(!hvb_images_cached(hvb_call_images(c)));
  hvb_call_free(c);
  hvb_images *r = g_thread_join(t);
  ck_assert_ptr_nonnull(r);
  hvb_images_free(r);
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  hvb_llm_free(llm);
}
END_TEST

/* Calls started from a callback, on the engine thread. */
typedef struct imagen_chain {
  hvb_llm *llm;
  hvb_call *hit;       /* a seeded repeat: a cache hit */
  gint hit_done, hit_cached, hit_inside; /* hit_inside: its on_done ran inside its start */
  gint started;        /* the callback returned from starting `hit` */
  gint dropped_done;   /* on_done calls of the call freed right after its start */
  hvb_status first_status, dropped_status;
  bool dropped_started;
} imagen_chain;

static void chain_hit_done(hvb_call *call, void *ud) {
  imagen_chain *ch = ud;
  if (!g_atomic_int_get(&ch->started)) g_atomic_int_inc(&ch->hit_inside);
  if (hvb_images_cached(hvb_call_images(call))) g_atomic_int_inc(&ch->hit_cached);
  g_atomic_int_inc(&ch->hit_done);
}

static void chain_dropped_done(hvb_call *call, void *ud) {
  imagen_chain *ch = ud;
  ch->dropped_status = hvb_call_status(call);
  g_atomic_int_inc(&ch->dropped_done);
}

static void chain_first_done(hvb_call *call, void *ud) {
  imagen_chain *ch = ud; /* no ck_assert here: this runs on the engine thread */
  ch->first_status = hvb_call_status(call);
  json_object *o = tu_parse("{\"seed\": 9}");
  ch->hit = hvb_llm_imagen_async(ch->llm, "chained", NULL, 0, o, chain_hit_done, ch, NULL);
  g_atomic_int_set(&ch->started, 1);
  json_object_put(o);
  /* started and freed at once, in the callback: cancelled at the engine's next turn */
  hvb_call *dropped =
      hvb_llm_imagen_async(ch->llm, "dropped", NULL, 0, NULL, chain_dropped_done, ch, NULL);
  ch->dropped_started = dropped != NULL;
  hvb_call_free(dropped);
}

START_TEST(async_imagen_from_a_callback_never_completes_inside_its_start) {
  push_png_answer_for_every_request();
  imagen_chain ch = {0};
  ch.llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  json_object *o = tu_parse("{\"seed\": 9}");
  hvb_call *first = hvb_llm_imagen_async(ch.llm, "chained", NULL, 0, o, chain_first_done, &ch,
                                         NULL);
  json_object_put(o);
  ck_assert_ptr_nonnull(first);
  ck_assert(hvb_call_wait(first, 20000));
  ck_assert_int_eq(ch.first_status, HVB_OK);
  ck_assert(ch.dropped_started);
  ck_assert_ptr_nonnull(ch.hit);
  ck_assert(hvb_call_wait(ch.hit, 20000));
  ck_assert_int_eq(g_atomic_int_get(&ch.hit_done), 1);
  ck_assert_int_eq(g_atomic_int_get(&ch.hit_inside), 0);
  ck_assert_int_eq(g_atomic_int_get(&ch.hit_cached), 1);
  for (int i = 0; i < 20000 && !g_atomic_int_get(&ch.dropped_done); i++) g_usleep(1000);
  ck_assert_int_eq(g_atomic_int_get(&ch.dropped_done), 1);
  ck_assert_int_eq(ch.dropped_status, HVB_CANCELLED);
  hvb_call_free(ch.hit);
  hvb_call_free(first);
  ck_assert_int_le(up_request_count(tu_srv), 2); /* the first; maybe the dropped one */
  hvb_llm_free(ch.llm);
}
END_TEST

START_TEST(cancelling_a_slow_imagen_aborts_its_transfer_and_reports_once) {
  enum { DELAY_MS = 4000 };
  up_chunk ch = {"{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}", 0, DELAY_MS};
  up_response resp = {.status = 200, .chunks = &ch, .nchunks = 1};
  up_push(tu_srv, IMAGES_PATH, &resp);
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  imagen_seen s;
  gint64 t0 = g_get_monotonic_time();
  hvb_call *c = imagen_async_ok(llm, "slow", "{\"seed\": 3}", &s);
  hvb_llm_free(llm); /* freed while the call runs */
  ck_assert(up_wait_requests(tu_srv, 1, 10000)); /* the request is in flight */
  ck_assert(!hvb_call_is_over(c));
  hvb_call_cancel(c);
  /* cancel from another thread returns once on_done has run, with HVB_CANCELLED */
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert_int_eq(s.status, HVB_CANCELLED);
  ck_assert_int_eq(hvb_call_status(c), HVB_CANCELLED);
  ck_assert_ptr_null(hvb_call_images(c));
  gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
  ck_assert_msg(took_ms < DELAY_MS / 2, "cancel took %lld ms", (long long)took_ms);
  /* The transfer was aborted, not left to finish: nothing runs on the engine any more, so a
   * thread may take the engine over at once (it is refused while transfers run). */
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  ck_assert(hvb_engine_drive_end());
  hvb_call_cancel(c); /* again: nothing */
  hvb_call_free(c);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert_int_eq(up_request_count(tu_srv), 1);

  /* freeing a running call cancels it the same way */
  up_push(tu_srv, IMAGES_PATH, &resp);
  llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  c = imagen_async_ok(llm, "slow again", NULL, &s);
  ck_assert(up_wait_requests(tu_srv, 2, 10000));
  hvb_call_free(c);
  ck_assert_int_eq(g_atomic_int_get(&s.done), 1);
  ck_assert_int_eq(s.status, HVB_CANCELLED);
  ck_assert_msg(hvb_engine_drive_begin(&err), "%s", err.message);
  ck_assert(hvb_engine_drive_end());
  /* the cancelled seeded call stored nothing and released its key: a new call asks again */
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}");
  c = imagen_async_ok(llm, "slow", "{\"seed\": 3}", &s);
  expect_async_ok(c, &s, 1);
  ck_assert(!hvb_images_cached(hvb_call_images(c)));
  hvb_call_free(c);
  ck_assert_int_eq(up_request_count(tu_srv), 3);
  hvb_llm_free(llm);
}
END_TEST

/* ---- reference images (issue #13, defect 13: they were dropped or sent where the provider
 * ignores them) ---- */

#define EDITS_PATH "/v1/images/edits"

/* One expected part of the form a request carried: `filename` NULL for a plain field, whose
 * `value` is then compared; a file part's bytes are compared with `data` (`len` bytes). */
typedef struct want_part {
  const char *name, *filename, *content_type, *value;
  const void *data;
  size_t len;
} want_part;

/* Request i was a multipart/form-data POST to `path` with exactly the parts `want` (in any
 * order for plain fields; files in order). */
static void expect_form(int i, const char *path, const want_part *want, size_t nwant) {
  up_request *r = up_request_get(tu_srv, i);
  ck_assert_ptr_nonnull(r);
  ck_assert_str_eq(r->path, path);
  size_t n = 0;
  up_part *parts = up_request_parts(r, &n);
  ck_assert_msg(parts != NULL, "request %d is not multipart/form-data: %.200s", i, r->body);
  ck_assert_msg(n == nwant, "request %d has %zu parts, want %zu", i, n, nwant);
  size_t file = 0;
  for (size_t w = 0; w < nwant; w++) {
    const up_part *got = NULL;
    if (want[w].filename) { /* files in the order given */
      while (file < n && !parts[file].filename) file++;
      ck_assert_msg(file < n, "no file part for '%s'", want[w].name);
      got = &parts[file++];
      ck_assert_str_eq(got->filename, want[w].filename);
      ck_assert_str_eq(got->content_type, want[w].content_type);
      ck_assert_uint_eq(got->len, want[w].len);
      ck_assert(memcmp(got->data, want[w].data, want[w].len) == 0);
    } else {
      for (size_t k = 0; k < n && !got; k++)
        if (!parts[k].filename && !strcmp(parts[k].name, want[w].name)) got = &parts[k];
      ck_assert_msg(got != NULL, "no field '%s'", want[w].name);
      ck_assert_str_eq(got->data, want[w].value);
    }
    ck_assert_str_eq(got->name, want[w].name);
  }
  up_parts_free(parts, n);
  up_request_free(r);
}

/* The 1x1 PNG's bytes (g_free). */
static guchar *png_bytes(gsize *n) { return g_base64_decode(PNG_1X1_B64, n); }

START_TEST(reference_images_go_to_images_edits_as_a_form) {
  /* Both routes answer, so that a request sent to the wrong one would not fail by itself:
   * only what the upstream received tells. */
  up_chunk ch = {"{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}", 0, 0};
  up_response resp = {.status = 200, .chunks = &ch, .nchunks = 1, .repeat = true};
  up_push(tu_srv, EDITS_PATH, &resp);
  up_push(tu_srv, IMAGES_PATH, &resp);
  gsize plen = 0;
  guchar *pbytes = png_bytes(&plen);
  GByteArray *big = png(640, 480);
  char *path = g_build_filename(tu_tmpdir(), "ref.png", NULL);
  ck_assert(g_file_set_contents(path, (const char *)big->data, big->len, NULL));

  /* one reference (an hvb_image): the field "image"; n and size go as fields too */
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_image *ref = hvb_image_new_base64(PNG_1X1_B64, NULL, &err);
  json_object *o = tu_parse("{\"n\": 2, \"size\": \"1024x1024\"}");
  hvb_images *r = hvb_llm_imagen(llm, "like this", &ref, 1, o, &err);
  json_object_put(o);
  ck_assert_msg(r != NULL, "%s", err.message);
  assert_probe(hvb_images_at(r, 0), "png", 1, 1);
  hvb_images_free(r);
  want_part one[] = {{"model", NULL, NULL, "gpt-image-1", NULL, 0},
                     {"prompt", NULL, NULL, "like this", NULL, 0},
                     {"n", NULL, NULL, "2", NULL, 0},
                     {"size", NULL, NULL, "1024x1024", NULL, 0},
                     {"image", "image-1.png", "image/png", NULL, pbytes, plen}};
  expect_form(0, EDITS_PATH, one, G_N_ELEMENTS(one));

  /* several, from the "images" option in every form chat takes (a path, a data URL, an
   * image_url part), after the hvb_image ones: the field "image[]", in that order */
  char *opts = g_strdup_printf(
      "{\"images\": [\"%s\", \"data:image/png;base64," PNG_1X1_B64 "\","
      " {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,"
      PNG_1X1_B64 "\"}}], \"mask\": \"%s\"}", path, path);
  o = tu_parse(opts);
  g_free(opts);
  r = hvb_llm_imagen(llm, "all of them", &ref, 1, o, &err);
  json_object_put(o);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_images_free(r);
  want_part four[] = {{"model", NULL, NULL, "gpt-image-1", NULL, 0},
                      {"prompt", NULL, NULL, "all of them", NULL, 0},
                      {"image[]", "image-1.png", "image/png", NULL, pbytes, plen},
                      {"image[]", "image-2.png", "image/png", NULL, big->data, big->len},
                      {"image[]", "image-3.png", "image/png", NULL, pbytes, plen},
                      {"image[]", "image-4.png", "image/png", NULL, pbytes, plen},
                      {"mask", "mask.png", "image/png", NULL, big->data, big->len}};
  expect_form(1, EDITS_PATH, four, G_N_ELEMENTS(four));
  ck_assert_int_eq(up_request_count(tu_srv), 2);

  /* the "images" option alone, on the engine */
  o = tu_parse("{\"images\": [\"data:image/png;base64," PNG_1X1_B64 "\"]}");
  imagen_seen s = {.starter = g_thread_self()};
  hvb_call *c = hvb_llm_imagen_async(llm, "async", NULL, 0, o, imagen_done, &s, &err);
  json_object_put(o);
  ck_assert_msg(c != NULL, "%s", err.message);
  expect_async_ok(c, &s, 1);
  hvb_call_free(c);
  want_part async_one[] = {{"model", NULL, NULL, "gpt-image-1", NULL, 0},
                           {"prompt", NULL, NULL, "async", NULL, 0},
                           {"image", "image-1.png", "image/png", NULL, pbytes, plen}};
  expect_form(2, EDITS_PATH, async_one, G_N_ELEMENTS(async_one));

  hvb_image_free(ref);
  hvb_llm_free(llm);
  g_byte_array_free(big, TRUE);
  g_free(pbytes);
  g_free(path);
}
END_TEST

START_TEST(a_reference_url_is_downloaded_for_an_edit) {
  serve_png("/files/ref.png", 0);
  up_push_body(tu_srv, EDITS_PATH, 200, NULL, "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  char *opts = g_strdup_printf("{\"images\": [\"%s/files/ref.png\"]}", up_base_url(tu_srv));
  json_object *o = tu_parse(opts);
  g_free(opts);
  hvb_error err = HVB_ERROR_INIT;
  hvb_images *r = hvb_llm_imagen(llm, "from a URL", NULL, 0, o, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_images_free(r);
  up_request *get = up_request_get(tu_srv, 0);
  ck_assert_str_eq(get->method, "GET");
  ck_assert_str_eq(get->path, "/files/ref.png");
  up_request_free(get);
  gsize plen = 0;
  guchar *pbytes = png_bytes(&plen);
  want_part want[] = {{"model", NULL, NULL, "gpt-image-1", NULL, 0},
                      {"prompt", NULL, NULL, "from a URL", NULL, 0},
                      {"image", "image-1.png", "image/png", NULL, pbytes, plen}};
  expect_form(1, EDITS_PATH, want, G_N_ELEMENTS(want));
  g_free(pbytes);

  /* an async call does not download (it would block its caller, maybe the engine thread):
   * refused at once, naming the URL and the way out */
  imagen_seen s = {0};
  ck_assert_ptr_null(hvb_llm_imagen_async(llm, "from a URL", NULL, 0, o, imagen_done, &s, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_msg(strstr(err.message, "option 'images'[0]") &&
                    strstr(err.message, "/files/ref.png") && strstr(err.message, "hvb_llm_imagen"),
                "%s", err.message);
  ck_assert_int_eq(up_request_count(tu_srv), 2);
  json_object_put(o);

  /* a URL that fails fails the call, naming it; nothing is sent */
  opts = g_strdup_printf("{\"images\": [\"%s/files/none.png\"]}", up_base_url(tu_srv));
  o = tu_parse(opts);
  g_free(opts);
  ck_assert_ptr_null(hvb_llm_imagen(llm, "x", NULL, 0, o, &err));
  ck_assert_int_eq(err.status, HVB_HTTP);
  ck_assert_msg(strstr(err.message, "option 'images'[0]") && strstr(err.message, "none.png"), "%s",
                err.message);
  ck_assert_int_eq(up_request_count(tu_srv), 3); /* the GET only */
  json_object_put(o);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_retried_edit_sends_the_whole_form_again) {
  /* libcurl rewinds the form for the second attempt; the handle, reset after the form, then
   * serves a JSON request and another form on the same client */
  up_push_body(tu_srv, EDITS_PATH, 503, NULL, "{\"error\": {\"message\": \"busy\"}}");
  up_push_body(tu_srv, EDITS_PATH, 200, NULL, "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}");
  up_push_body(tu_srv, IMAGES_PATH, 200, NULL, "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}");
  up_push_body(tu_srv, EDITS_PATH, 200, NULL, "{\"data\": [{\"b64_json\": \"" PNG_1X1_B64 "\"}]}");
  hvb_llm *llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY,
                                 "{\"max_retries\": 1, \"args\": {\"quality\": \"low\"}}");
  json_object *o = tu_parse("{\"images\": [\"data:image/png;base64," PNG_1X1_B64 "\"]}");
  hvb_error err = HVB_ERROR_INIT;
  for (int i = 0; i < 3; i++) {
    hvb_images *r = hvb_llm_imagen(llm, i == 1 ? "plain" : "edit", NULL, 0, i == 1 ? NULL : o,
                                   &err);
    ck_assert_msg(r != NULL, "call %d: %s", i, err.message);
    hvb_images_free(r);
  }
  json_object_put(o);
  ck_assert_int_eq(up_request_count(tu_srv), 4);
  gsize plen = 0;
  guchar *pbytes = png_bytes(&plen);
  want_part want[] = {{"model", NULL, NULL, "gpt-image-1", NULL, 0},
                      {"prompt", NULL, NULL, "edit", NULL, 0},
                      {"quality", NULL, NULL, "low", NULL, 0},
                      {"image", "image-1.png", "image/png", NULL, pbytes, plen}};
  expect_form(0, EDITS_PATH, want, G_N_ELEMENTS(want));
  expect_form(1, EDITS_PATH, want, G_N_ELEMENTS(want));
  expect_form(3, EDITS_PATH, want, G_N_ELEMENTS(want));
  json_object *sent = tu_sent_body(tu_srv, 2);
  ck_assert_str_eq(hvb__json_str(sent, "prompt"), "plain");
  ck_assert_ptr_null(json_object_object_get(sent, "image"));
  json_object_put(sent);
  g_free(pbytes);
  hvb_llm_free(llm);
}
END_TEST

/* hvb_llm_imagen (and the async call) with one reference image fails with `status`, its
 * message holding each of the NULL-terminated needles; no request reaches the upstream. */
static void expect_refs_refused(hvb_llm *llm, hvb_status status, ...) {
  json_object *o = tu_parse("{\"images\": [\"data:image/png;base64," PNG_1X1_B64 "\"]}");
  hvb_error err = HVB_ERROR_INIT;
  int before = up_request_count(tu_srv);
  ck_assert_ptr_null(hvb_llm_imagen(llm, "like this", NULL, 0, o, &err));
  ck_assert_int_eq(err.status, status);
  va_list ap;
  va_start(ap, status);
  for (const char *n; (n = va_arg(ap, const char *));)
    ck_assert_msg(strstr(err.message, n), "want '%s' in: %s", n, err.message);
  va_end(ap);
  /* async: the same refusal, before anything starts */
  imagen_seen s = {0};
  ck_assert_ptr_null(hvb_llm_imagen_async(llm, "like this", NULL, 0, o, imagen_done, &s, &err));
  ck_assert_int_eq(err.status, status);
  ck_assert_int_eq(up_request_count(tu_srv), before);
  json_object_put(o);
}

START_TEST(reference_images_are_refused_where_they_cannot_go) {
  push_png_answer_for_every_request();
  /* a model whose catalog entry says nothing of reference images (dall-e-3 takes none) */
  hvb_llm *llm = tu_upstream_llm(tu_srv, "dall-e-3", KEY, NULL);
  expect_refs_refused(llm, HVB_UNSUPPORTED, "option 'images'", "model 'dall-e-3'",
                      "reference_images", NULL);
  hvb_llm_free(llm);
  /* a gateway that does not declare it sends them (the mock would draw without them) */
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = tu_parse("{\"gateway\": \"mock\", \"model\": \"gpt-image-1\"}");
  llm = hvb_llm_new(o, &err);
  json_object_put(o);
  ck_assert_msg(llm != NULL, "%s", err.message);
  expect_refs_refused(llm, HVB_UNSUPPORTED, "option 'images'", "gateway 'mock'", NULL);
  hvb_llm_free(llm);

  /* the catalog decides: a drop-in model that takes them inline in the generations request */
  char *dropin = g_build_filename(getenv("HB_DATA_DIR"), "catalog.d", "painter.json", NULL);
  tu_write_file(dropin, "{\"models\": {\"painter-3\": {\"kind\": \"image\","
                        " \"reference_images\": \"generations\"},"
                        " \"painter-4\": {\"kind\": \"image\", \"reference_images\": \"edit\"}}}");
  g_free(dropin);
  llm = tu_upstream_llm(tu_srv, "painter-3", KEY, NULL);
  o = tu_parse("{\"images\": [\"data:image/png;base64," PNG_1X1_B64 "\"]}");
  hvb_images *r = hvb_llm_imagen(llm, "inline", NULL, 0, o, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_images_free(r);
  json_object_put(o);
  json_object *sent = tu_sent_body(tu_srv, 0);
  json_object *arr = json_object_object_get(sent, "image");
  ck_assert_int_eq(json_object_array_length(arr), 1);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(arr, 0)),
                   "data:image/png;base64," PNG_1X1_B64);
  ck_assert_ptr_null(json_object_object_get(sent, "images"));
  json_object_put(sent);
  hvb_llm_free(llm);
  /* a value the library does not know is a configuration error naming the field */
  llm = tu_upstream_llm(tu_srv, "painter-4", KEY, NULL);
  expect_refs_refused(llm, HVB_CONFIG, "model 'painter-4'", "'reference_images'", "\"edit\"",
                      NULL);
  hvb_llm_free(llm);
  /* a bad element of the option is named; so is a mask without references */
  llm = tu_upstream_llm(tu_srv, "gpt-image-1", KEY, NULL);
  o = tu_parse("{\"images\": [42]}");
  ck_assert_ptr_null(hvb_llm_imagen(llm, "x", NULL, 0, o, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "option 'images'[0]"), "%s", err.message);
  json_object_put(o);
  o = tu_parse("{\"mask\": \"data:image/png;base64," PNG_1X1_B64 "\"}");
  ck_assert_ptr_null(hvb_llm_imagen(llm, "x", NULL, 0, o, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, "'mask'") && strstr(err.message, "'images'"), "%s",
                err.message);
  json_object_put(o);
  ck_assert_int_eq(up_request_count(tu_srv), 1);
  hvb_llm_free(llm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("image");
  TCase *tc = tcase_create("image");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, tu_up_setup, tu_up_teardown);
  tcase_add_test(tc, each_format_is_probed_from_its_header);
  tcase_add_test(tc, broken_data_fails_naming_why);
  tcase_add_test(tc, conversions_round_trip);
  tcase_add_test(tc, sources_and_items_are_told_apart);
  tcase_add_test(tc, a_url_is_fetched_once_and_only_when_needed);
  tcase_add_test(tc, a_missing_or_slow_url_fails_naming_it);
  tcase_add_test(tc, images_join_the_last_user_message);
  tcase_add_test(tc, imagen_takes_b64_and_url_answers);
  tcase_add_test(tc, rejected_arguments_are_model_data);
  tcase_add_test(tc, seeded_imagen_is_cached_and_unseeded_is_not);
  tcase_add_test(tc, mock_imagen_is_deterministic_png);
  tcase_add_test(tc, bifrost_and_anthropic_refuse_imagen);
  tcase_add_test(tc, async_imagen_gives_the_upstream_images_once_on_the_engine_thread);
  tcase_add_test(tc, async_seeded_imagen_shares_the_cache_but_stores_no_urls);
  tcase_add_test(tc, async_imagen_refuses_bad_options_and_gateways_at_once);
  tcase_add_test(tc, async_imagen_never_waits_for_a_call_with_the_same_key);
  tcase_add_test(tc, async_imagen_from_a_callback_never_completes_inside_its_start);
  tcase_add_test(tc, cancelling_a_slow_imagen_aborts_its_transfer_and_reports_once);
  tcase_add_test(tc, reference_images_go_to_images_edits_as_a_form);
  tcase_add_test(tc, a_reference_url_is_downloaded_for_an_edit);
  tcase_add_test(tc, a_retried_edit_sends_the_whole_form_again);
  tcase_add_test(tc, reference_images_are_refused_where_they_cannot_go);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
