/* tests/fuzz/fuzz-accum.c: libFuzzer target for the accumulator (core/call/accum.c), the
 * fold of streamed chunks into deltas and a result that every chat, stream, tool loop and
 * cache replay goes through.
 *
 * The input is a sequence of chunks, one per line, each parsed as JSON (a line that is not
 * JSON is skipped, so the fuzzer can cut and splice lines freely). A line starting with "!"
 * is a whole chat.completion instead, fed as a non-streamed reply. Every chunk is folded, the
 * result is built and read through every getter and projection, and the same input fed to a
 * second accumulator after a reset of the first must give the same result (a retried attempt
 * starts afresh). Beyond "no crash, no leak": a result is always readable, its text never NULL.
 *
 *   ./configure --enable-fuzzing CC=clang && make fuzz FUZZ_SECONDS=60
 */
#include "call/accum.h"
#include "text/json.h"

#include <heavenbase/log.h>

#include <glib.h>
#include <stdint.h>
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

static void feed_all(hvb_accum *acc, const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    bool whole = len > 0 && p[0] == '!';
    json_object *chunk =
        hvb__json_parse(p + whole, (long)(len - whole), "fuzz chunk", NULL);
    if (chunk) {
      json_object *delta = whole ? hvb__accum_feed_completion(acc, chunk)
                                 : hvb__accum_feed(acc, chunk);
      json_object_put(delta);
      json_object_put(chunk);
    }
    p += len + 1;
  }
}

/* Everything a caller can read of a result, as one string. */
static char *read_result(hvb_result *r) {
  GString *s = g_string_new(NULL);
  const char *text = hvb_result_text(r), *think = hvb_result_think(r);
  if (!text || !think || !hvb_result_finish_reason(r)) abort();
  g_string_append_printf(s, "%s|%s|%s|", text, think, hvb_result_finish_reason(r));
  json_object *parts[] = {hvb_result_message(r), hvb_result_tool_calls(r), hvb_result_usage(r),
                          hvb_result_messages(r), hvb_result_deltas(r)};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    char *c = parts[i] ? hvb__json_canonical(parts[i]) : g_strdup("-");
    g_string_append(s, c);
    g_string_append_c(s, '|');
    g_free(c);
  }
  bool ok = false;
  json_object *proj = hvb_result_project(r, "text,think,content,message,tool_calls,usage,delta",
                                         &ok, NULL);
  if (!ok) abort();
  json_object_put(proj);
  return g_string_free(s, FALSE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hvb_accum *acc = hvb__accum_new(), *fresh = hvb__accum_new();
  feed_all(acc, data, size);
  (void)hvb__accum_finish_reason(acc);
  hvb_result *r1 = hvb__accum_result(acc, request);
  /* A reset accumulator is as good as a new one. */
  hvb__accum_reset(acc);
  feed_all(acc, data, size);
  feed_all(fresh, data, size);
  hvb_result *r2 = hvb__accum_result(acc, request), *r3 = hvb__accum_result(fresh, request);
  char *a = read_result(r1), *b = read_result(r2), *c = read_result(r3);
  if (strcmp(a, b) != 0 || strcmp(a, c) != 0) abort();
  g_free(a);
  g_free(b);
  g_free(c);
  hvb_result_free(r1);
  hvb_result_free(r2);
  hvb_result_free(r3);
  hvb__accum_free(acc);
  hvb__accum_free(fresh);
  return 0;
}
