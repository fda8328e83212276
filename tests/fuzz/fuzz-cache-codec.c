/* tests/fuzz/fuzz-cache-codec.c: libFuzzer target for the response cache's value codec
 * (core/call/cache-codec.c): stored entries read back.
 *
 * The first byte chooses the mode. Even: the rest is a stored value as the database may
 * hold it (written by another version, damaged, hand-edited); decoding it must give chunks or
 * a clean miss, and the chunks replayed through an accumulator a readable result. Odd: the
 * rest is a chunk sequence (one JSON chunk per line, as in fuzz-accum); its result is
 * encoded, decoded and replayed, and the replay must equal the live result in everything the
 * cache promises to keep: text, think, finish reason, tool calls, usage and the deltas.
 *
 *   ./configure --enable-fuzzing CC=clang && make fuzz FUZZ_SECONDS=60
 */
#include "call/accum.h"
#include "call/cache-codec.h"
#include "text/json.h"

#include <heavenbase/log.h>

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static json_object *request;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  hvb_log_set_handler(NULL, HVB_LOG_ERROR, NULL);
  request = json_tokener_parse("[{\"role\": \"user\", \"content\": \"hi\"}]");
  return 0;
}

/* What the cache keeps of a result, as one string. */
static char *kept(hvb_result *r) {
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "%s|%s|%s|", hvb_result_text(r), hvb_result_think(r),
                         hvb_result_finish_reason(r));
  json_object *parts[] = {hvb_result_tool_calls(r), hvb_result_usage(r), hvb_result_deltas(r)};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    char *c = parts[i] ? hvb__json_canonical(parts[i]) : g_strdup("-");
    g_string_append(s, c);
    g_string_append_c(s, '|');
    g_free(c);
  }
  return g_string_free(s, FALSE);
}

/* Replay the decoded deltas as the cache stage does; NULL for a miss. */
static hvb_result *replay(GBytes *value) {
  json_object *raw = NULL;
  json_object *chunks = hvb__chat_cache_decode_deltas(value, &raw);
  if (!chunks) {
    if (raw) abort(); /* a miss hands out nothing */
    return NULL;
  }
  hvb_accum *acc = hvb__accum_new();
  for (size_t i = 0; i < json_object_array_length(chunks); i++)
    json_object_put(hvb__accum_replay(acc, json_object_array_get_idx(chunks, i)));
  if (raw) hvb__accum_raw_set(acc, raw);
  hvb_result *r = hvb__accum_result(acc, request);
  hvb__accum_free(acc);
  json_object_put(chunks);
  return r;
}

static void stored_value(const uint8_t *data, size_t size) {
  GBytes *value = g_bytes_new(data, size);
  hvb_result *r = replay(value);
  if (r) g_free(kept(r));
  hvb_result_free(r);
  g_bytes_unref(value);
}

static void round_trip(const uint8_t *data, size_t size) {
  hvb_accum *acc = hvb__accum_new();
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    json_object *chunk = hvb__json_parse(p, (long)len, "fuzz chunk", NULL);
    if (chunk) json_object_put(hvb__accum_feed(acc, chunk));
    json_object_put(chunk);
    p += len + 1;
  }
  hvb_result *live = hvb__accum_result(acc, request);
  GBytes *value = hvb__chat_cache_encode(live);
  hvb_result *back = replay(value);
  if (!back) abort(); /* what this version writes, it reads */
  char *a = kept(live), *b = kept(back);
  if (strcmp(a, b) != 0) {
    fprintf(stderr, "a cached result differs from the live one:\n  live:   %s\n  cached: %s\n", a, b);
    abort();
  }
  g_free(a);
  g_free(b);
  hvb_result_free(back);
  g_bytes_unref(value);
  hvb_result_free(live);
  hvb__accum_free(acc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1) round_trip(data + 1, size - 1);
  else stored_value(data + 1, size - 1);
  return 0;
}
