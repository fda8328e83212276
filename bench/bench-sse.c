/* bench/bench-sse.c: stream decoding, no server: the SSE decoder alone, and on to text deltas.
 *
 *   bench-sse DIR [SECONDS]
 *
 * Decodes the recorded streams DIR/recorded-openai.sse and DIR/recorded-anthropic.sse
 * (tests/data/sse/make-recorded.py writes them) over and over for about SECONDS (default 1)
 * per row, fed in 16 KiB pieces as libcurl hands a body over (CURL_MAX_WRITE_SIZE), and
 * prints MB/s of stream bytes for:
 *   decoder          the SSE decoder (core/text/sse.c) with a callback that only counts;
 *   deltas fast      the decoder plus each event's text delta by the tree-less fast path
 *                    (json-c for the events it declines), as openai-delta.h / delta.h say;
 *   deltas json-c    the same deltas read from a json-c tree per event (the baseline);
 *   gateway today    (OpenAI shape) the decoder plus the gateway's parse_event: a json-c tree
 *                    per event, its shape check, a canonical chunk.
 * The fast path's share of events is printed beside it. Links the core; the Anthropic reading
 * is plugins/anthropic/delta.c compiled in. Time is the thread's CPU time, not the wall clock:
 * on a shared machine (the development one runs at load 10 and more) the wall clock measures
 * the scheduler; the CPU time still includes cache misses caused by neighbours.
 */
#include "gateway/openai-delta.h"
#include "text/sse.h"
#include "delta.h"

#include <heavenbase/gateway.h>
#include <json-c/json.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIECE 16384

typedef enum { ROW_DECODER, ROW_FAST, ROW_JSONC, ROW_GATEWAY } row_kind;

typedef struct run {
  row_kind kind;
  bool anthropic;
  char *out; /* room for the largest event */
  size_t events, done, fast, text_bytes;
  json_object *chunks;
} run;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_done(const hvb_sse_event *ev) {
  return ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0;
}

static void delta(run *r, const hvb_sse_event *ev) {
  size_t n = 0;
  int k;
  if (r->anthropic) {
    k = r->kind == ROW_FAST ? anthropic_event_text_fast(ev->data, ev->data_len, r->out, &n)
                            : ANTHROPIC_DELTA_SLOW;
    if (k == ANTHROPIC_DELTA_SLOW) k = anthropic_event_text_slow(ev->data, ev->data_len, r->out, &n);
    else r->fast++;
  } else {
    k = r->kind == ROW_FAST ? hvb__openai_chunk_text_fast(ev->data, ev->data_len, r->out, &n)
                            : HVB_DELTA_SLOW;
    if (k == HVB_DELTA_SLOW) k = hvb__openai_chunk_text_slow(ev->data, ev->data_len, r->out, &n);
    else r->fast++;
  }
  r->text_bytes += n;
}

static bool on_event(void *user_data, const hvb_sse_event *ev, hvb_error *err) {
  run *r = user_data;
  r->events++;
  if (r->kind == ROW_DECODER) return true;
  if (is_done(ev)) {
    r->done++;
    return true;
  }
  if (r->kind == ROW_GATEWAY) {
    bool done = false;
    if (!hvb_openai_parse_event(NULL, ev, r->chunks, &done, err)) return false;
    size_t n = json_object_array_length(r->chunks);
    if (n) json_object_array_del_idx(r->chunks, 0, n);
    return true;
  }
  delta(r, ev);
  return true;
}

static void row(const char *label, run *r, const char *text, size_t len, double seconds) {
  hvb_sse *sse = hvb__sse_new(0, 0, on_event, r);
  size_t bytes = 0, passes = 0, text_per_pass = 0;
  double t0 = now(), t;
  do {
    hvb_error err = HVB_ERROR_INIT;
    for (size_t at = 0; at < len; at += PIECE) {
      size_t n = len - at < PIECE ? len - at : PIECE;
      if (hvb__sse_feed(sse, text + at, n, &err) < 0) {
        fprintf(stderr, "bench-sse: %s\n", err.message);
        exit(1);
      }
    }
    hvb__sse_reset(sse);
    bytes += len;
    if (++passes == 1) text_per_pass = r->text_bytes;
    t = now() - t0;
  } while (t < seconds);
  hvb__sse_free(sse);
  printf("%-10s %-14s %8.0f MB/s  %8.0f events/s", r->anthropic ? "anthropic" : "openai", label,
         (double)bytes / t / 1e6, (double)r->events / t);
  if (r->kind == ROW_FAST || r->kind == ROW_JSONC)
    printf("  text %zu B/pass, fast path %.1f%% of events", text_per_pass,
           100.0 * (double)r->fast / (double)(r->events - r->done));
  printf("\n");
}

static char *slurp(const char *path, size_t *len) {
  gchar *text = NULL;
  gsize n = 0;
  if (!g_file_get_contents(path, &text, &n, NULL)) {
    fprintf(stderr, "bench-sse: cannot read %s\n", path);
    exit(1);
  }
  *len = n;
  return text;
}

static void stream(const char *dir, const char *name, bool anthropic, double seconds) {
  char *path = g_strdup_printf("%s/%s", dir, name);
  size_t len;
  char *text = slurp(path, &len);
  g_free(path);
  printf("%s: %zu bytes\n", name, len);
  static const struct { row_kind kind; const char *label; } rows[] = {
      {ROW_DECODER, "decoder"}, {ROW_FAST, "deltas fast"}, {ROW_JSONC, "deltas json-c"},
      {ROW_GATEWAY, "gateway today"}};
  for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
    if (rows[i].kind == ROW_GATEWAY && anthropic) continue; /* the plugin's is not linked */
    run r = {.kind = rows[i].kind, .anthropic = anthropic, .out = g_malloc(len + 1),
             .chunks = json_object_new_array()};
    row(rows[i].label, &r, text, len, seconds);
    g_free(r.out);
    json_object_put(r.chunks);
  }
  g_free(text);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-sse DIR [SECONDS]\n");
    return 2;
  }
  double seconds = argc > 2 ? atof(argv[2]) : 1.0;
  if (seconds <= 0) seconds = 1.0;
  stream(argv[1], "recorded-openai.sse", false, seconds);
  stream(argv[1], "recorded-anthropic.sse", true, seconds);
  return 0;
}
