/* tests/fuzz/fuzz-anthropic.c: libFuzzer target for the anthropic gateway's stream parser.
 *
 * The input is an SSE byte stream: it goes through the core's SSE decoder (small caps, so the
 * limits are reachable) into anthropic_stream_event, as in the pipeline. The first byte
 * chooses where the rest is cut in two. Beyond "no crash, no leak", the cut must change
 * nothing: the chunks and the verdict of two feeds equal those of one feed (the translation
 * keeps state across events, such as the argument compaction inside a string), a size cap
 * aside (where the decoder notices it may depend on the cut). An input that
 * is a JSON value also goes through the reply and request translations.
 */
#include "text/json.h"
#include "text/sse.h"
#include "translate.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct run_state {
  anthropic_stream *st;
  json_object *chunks;
  bool done;
} run_state;

static bool on_event(void *ud, const hvb_sse_event *ev, hvb_error *err) {
  run_state *r = ud;
  return anthropic_stream_event(r->st, ev->event, ev->data, ev->data_len, r->chunks, &r->done,
                                err);
}

/* Decode cut at `cut`; the chunks (new reference) and the first failure in *status. */
static json_object *run(const uint8_t *data, size_t size, size_t cut, hvb_status *status,
                        bool *done) {
  run_state r = {anthropic_stream_new(), json_object_new_array(), false};
  hvb_sse *sse = hvb__sse_new(512, 4096, on_event, &r);
  hvb_error err = HVB_ERROR_INIT;
  if (hvb__sse_feed(sse, (const char *)data, cut, &err) >= 0)
    hvb__sse_feed(sse, (const char *)data + cut, size - cut, &err);
  hvb__sse_free(sse);
  anthropic_stream_free(r.st);
  *status = err.status;
  *done = r.done;
  /* Every chunk is a chat.completion.chunk with a delta object. */
  for (size_t i = 0; i < json_object_array_length(r.chunks); i++) {
    json_object *c = json_object_array_get_idx(r.chunks, i);
    json_object *delta = hvb__json_path(
        json_object_array_get_idx(json_object_object_get(c, "choices"), 0), "delta");
    if (!json_object_is_type(delta, json_type_object)) abort();
  }
  return r.chunks;
}

static void translate_json(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return;
  memcpy(text, data, size);
  text[size] = '\0';
  json_object *v = json_tokener_parse(text);
  free(text);
  if (!v) return;
  json_object_put(anthropic_response(v, NULL));
  json_object *dropped = json_object_new_array();
  json_object_put(anthropic_request(v, dropped, NULL));
  json_object_put(dropped);
  json_object_put(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t cut = data[0] % size;
  data++;
  size--;
  hvb_status a, b;
  bool done_a, done_b;
  json_object *split = run(data, size, cut, &a, &done_a);
  json_object *whole = run(data, size, size, &b, &done_b);
  char *x = hvb__json_canonical(split), *y = hvb__json_canonical(whole);
  if ((a == HVB_OK) != (b == HVB_OK)) abort();
  /* Where the decoder notices a size cap may depend on the cut; anything else may not. */
  if (a != HVB_TOO_LARGE && b != HVB_TOO_LARGE && (a != b || done_a != done_b || strcmp(x, y)))
    abort();
  g_free(x);
  g_free(y);
  json_object_put(split);
  json_object_put(whole);
  translate_json(data, size);
  return 0;
}
