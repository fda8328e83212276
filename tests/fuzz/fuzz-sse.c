/* tests/fuzz/fuzz-sse.c: libFuzzer target for the SSE decoder.
 *
 * The first byte chooses where the rest is cut in two, so the fuzzer explores line ends and
 * BOMs split across feeds. Small caps make the size limits reachable. Beyond "no crash", it
 * checks that the split changes nothing: the events of two feeds equal those of one feed.
 */
#include "text/sse.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
  GString *all; /* event, id, data of every event, separated so they compare exactly */
  int count;
} sink;

static bool on_event(void *ud, const hvb_sse_event *ev, hvb_error *err) {
  (void)err;
  sink *s = ud;
  g_string_append(s->all, ev->event);
  g_string_append_c(s->all, '\0');
  g_string_append(s->all, ev->id);
  g_string_append_c(s->all, '\0');
  g_string_append_len(s->all, ev->data, (gssize)ev->data_len);
  g_string_append_c(s->all, '\0');
  s->count++;
  return true;
}

/* Decode `data` cut at `cut`; returns the status of the first failure (HVB_OK for none). */
static hvb_status run(const uint8_t *data, size_t size, size_t cut, sink *out) {
  hvb_sse *sse = hvb__sse_new(64, 256, on_event, out);
  hvb_error err = HVB_ERROR_INIT;
  int n1 = hvb__sse_feed(sse, (const char *)data, cut, &err);
  int n2 = n1 < 0 ? -1 : hvb__sse_feed(sse, (const char *)data + cut, size - cut, &err);
  if (n1 >= 0 && n2 >= 0 && n1 + n2 != out->count) abort(); /* counts must match the events */
  (void)hvb__sse_pending(sse);
  hvb__sse_free(sse);
  return err.status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t cut = data[0] % size;
  data++;
  size--;
  sink split = {g_string_new(NULL), 0}, whole = {g_string_new(NULL), 0};
  hvb_status a = run(data, size, cut, &split);
  hvb_status b = run(data, size, 0, &whole);
  /* Without errors, the events must not depend on where the input was cut. */
  if (a == HVB_OK && b == HVB_OK &&
      (split.all->len != whole.all->len || memcmp(split.all->str, whole.all->str, whole.all->len)))
    abort();
  if ((a == HVB_OK) != (b == HVB_OK)) abort();
  g_string_free(split.all, TRUE);
  g_string_free(whole.all, TRUE);
  return 0;
}
