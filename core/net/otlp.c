/* core/net/otlp.c: the OTLP/HTTP trace exporter (see otlp.h).
 *
 * Why a thread of its own and not the async engine: the engine runs only while calls are in
 * flight and exits when none is left, so spans of the last calls would wait for the next
 * call; and a collector that is slow or down must never stall the calls the engine drives.
 * One thread, one libcurl handle (its connection is reused between batches), a bounded queue:
 * whatever the collector does, the memory spent is at most HVB_OTLP_QUEUE_MAX spans. */
#include "net/otlp.h"
#include "net/pool.h"
#include "text/protobuf.h"
#include "base/common.h"
#include "base/log.h"

#include <curl/curl.h>
#include <heavenbase/version.h>
#include <string.h>

/* A batch waits this long for more spans before it is sent, unless it is full. */
#define LINGER_MS 200
#define POST_TIMEOUT_MS 3000
#define CONNECT_TIMEOUT_MS 1000
/* At exit, queued spans get this long to leave. */
#define EXIT_FLUSH_MS 2000

struct hvb_otlp_target {
  gint refs;
  char *url;
  char *service;
};

hvb_otlp_target *hvb__otlp_target_new(const char *url, const char *service) {
  hvb_otlp_target *t = g_new0(hvb_otlp_target, 1);
  t->refs = 1;
  t->url = g_strdup(url);
  t->service = g_strdup(service);
  return t;
}

hvb_otlp_target *hvb__otlp_target_ref(hvb_otlp_target *t) {
  if (t) g_atomic_int_inc(&t->refs);
  return t;
}

void hvb__otlp_target_unref(hvb_otlp_target *t) {
  if (!t || !g_atomic_int_dec_and_test(&t->refs)) return;
  g_free(t->url);
  g_free(t->service);
  g_free(t);
}

const char *hvb__otlp_target_url(const hvb_otlp_target *t) {
  return t->url;
}

/* ---- encoding ---------------------------------------------------------------------------- */

/* Field numbers of opentelemetry/proto/trace/v1/trace.proto and common/v1/common.proto. */
enum {
  SPAN_TRACE_ID = 1, SPAN_SPAN_ID = 2, SPAN_PARENT_SPAN_ID = 4, SPAN_NAME = 5, SPAN_KIND = 6,
  SPAN_START = 7, SPAN_END = 8, SPAN_ATTRIBUTES = 9, SPAN_STATUS = 15, SPAN_FLAGS = 16,
  STATUS_MESSAGE = 2, STATUS_CODE = 3,
  KV_KEY = 1, KV_VALUE = 2,
  ANY_STRING = 1, ANY_BOOL = 2, ANY_INT = 3, ANY_DOUBLE = 4, ANY_ARRAY = 5, ARRAY_VALUES = 1,
  REQ_RESOURCE_SPANS = 1, RS_RESOURCE = 1, RS_SCOPE_SPANS = 2, RESOURCE_ATTRIBUTES = 1,
  SS_SCOPE = 1, SS_SPANS = 2, SCOPE_NAME = 1, SCOPE_VERSION = 2,
};

hvb_pb *hvb__otlp_span_new(const uint8_t trace_id[16], const uint8_t span_id[8],
                               const uint8_t *parent_id, uint8_t trace_flags, const char *name,
                               int kind, uint64_t start_unix_ns, uint64_t end_unix_ns) {
  hvb_pb *s = hvb__pb_new(1024);
  hvb__pb_bytes_field(s, SPAN_TRACE_ID, trace_id, 16);
  hvb__pb_bytes_field(s, SPAN_SPAN_ID, span_id, 8);
  if (parent_id) hvb__pb_bytes_field(s, SPAN_PARENT_SPAN_ID, parent_id, 8);
  hvb__pb_string_field(s, SPAN_NAME, name);
  hvb__pb_varint_field(s, SPAN_KIND, (uint64_t)kind);
  hvb__pb_fixed64_field(s, SPAN_START, start_unix_ns);
  hvb__pb_fixed64_field(s, SPAN_END, end_unix_ns);
  /* The W3C trace flags (sampled) in the low byte, as trace.proto's SpanFlags says. */
  hvb__pb_fixed32_field(s, SPAN_FLAGS, trace_flags);
  return s;
}

static void attr_key(hvb_pb *b, const char *key, size_t *kv, size_t *any) {
  *kv = hvb__pb_begin(b);
  hvb__pb_string_field(b, KV_KEY, key);
  *any = hvb__pb_begin(b);
}

static void attr_close(hvb_pb *b, size_t kv, size_t any, unsigned field) {
  hvb__pb_end(b, KV_VALUE, any);
  hvb__pb_end(b, field, kv);
}

static void attr_str_in(hvb_pb *b, unsigned field, const char *key, const char *value) {
  size_t kv, any;
  attr_key(b, key, &kv, &any);
  hvb__pb_string_field(b, ANY_STRING, value);
  attr_close(b, kv, any, field);
}

/* The head of a span attribute whose AnyValue takes `any_len` bytes, sized up front (the
 * common attributes are written this way: no memmove; this is the per-call cost). */
static void attr_head(hvb_pb *b, const char *key, size_t any_len) {
  size_t klen = strlen(key);
  hvb__pb_len_header(b, SPAN_ATTRIBUTES,
                     hvb__pb_len_field_size(KV_KEY, klen) + hvb__pb_len_field_size(KV_VALUE, any_len));
  hvb__pb_bytes_field(b, KV_KEY, key, klen);
  hvb__pb_len_header(b, KV_VALUE, any_len);
}

void hvb__otlp_attr_str(hvb_pb *span, const char *key, const char *value) {
  if (!value) return;
  size_t vlen = strlen(value);
  attr_head(span, key, hvb__pb_len_field_size(ANY_STRING, vlen));
  hvb__pb_bytes_field(span, ANY_STRING, value, vlen);
}

void hvb__otlp_attr_int(hvb_pb *span, const char *key, int64_t value) {
  attr_head(span, key, 1 + hvb__pb_varint_size((uint64_t)value));
  hvb__pb_varint_field(span, ANY_INT, (uint64_t)value); /* int64: two's complement */
}

void hvb__otlp_attr_double(hvb_pb *span, const char *key, double value) {
  attr_head(span, key, 1 + 8); /* tag, then 8 bytes (fixed64) */
  hvb__pb_double_field(span, ANY_DOUBLE, value);
}

void hvb__otlp_attr_bool(hvb_pb *span, const char *key, bool value) {
  attr_head(span, key, 2);
  hvb__pb_bool_field(span, ANY_BOOL, value);
}

void hvb__otlp_attr_strs(hvb_pb *span, const char *key, const char *const *values,
                         size_t n) {
  size_t kv, any;
  attr_key(span, key, &kv, &any);
  size_t arr = hvb__pb_begin(span);
  for (size_t i = 0; i < n; i++) {
    size_t one = hvb__pb_begin(span);
    hvb__pb_string_field(span, ANY_STRING, values[i]);
    hvb__pb_end(span, ARRAY_VALUES, one);
  }
  hvb__pb_end(span, ANY_ARRAY, arr);
  attr_close(span, kv, any, SPAN_ATTRIBUTES);
}

void hvb__otlp_span_status(hvb_pb *span, int code, const char *message) {
  size_t st = hvb__pb_begin(span);
  if (message && *message) hvb__pb_string_field(span, STATUS_MESSAGE, message);
  if (code) hvb__pb_varint_field(span, STATUS_CODE, (uint64_t)code);
  hvb__pb_end(span, SPAN_STATUS, st);
}

/* An ExportTraceServiceRequest of `n` spans for `t`. */
static hvb_pb *encode_request(const hvb_otlp_target *t, hvb_pb **spans, size_t n) {
  hvb_pb *b = hvb__pb_new(1024);
  size_t rs = hvb__pb_begin(b);
  size_t res = hvb__pb_begin(b);
  attr_str_in(b, RESOURCE_ATTRIBUTES, "service.name", t->service);
  attr_str_in(b, RESOURCE_ATTRIBUTES, "telemetry.sdk.name", "heavenbase");
  attr_str_in(b, RESOURCE_ATTRIBUTES, "telemetry.sdk.language", "c");
  attr_str_in(b, RESOURCE_ATTRIBUTES, "telemetry.sdk.version", HVB_VERSION_STRING);
  hvb__pb_end(b, RS_RESOURCE, res);
  size_t ss = hvb__pb_begin(b);
  size_t scope = hvb__pb_begin(b);
  hvb__pb_string_field(b, SCOPE_NAME, "heavenbase");
  hvb__pb_string_field(b, SCOPE_VERSION, HVB_VERSION_STRING);
  hvb__pb_end(b, SS_SCOPE, scope);
  for (size_t i = 0; i < n; i++) hvb__pb_bytes_field(b, SS_SPANS, spans[i]->data, spans[i]->len);
  hvb__pb_end(b, RS_SCOPE_SPANS, ss);
  hvb__pb_end(b, REQ_RESOURCE_SPANS, rs);
  return b;
}

/* ---- the queue and the thread ------------------------------------------------------------ */

typedef struct item {
  hvb_otlp_target *target;
  hvb_pb *span;            /* or, for a deferred span, made by encode(data) when sent */
  hvb_otlp_encode_fn encode;
  void *data;
  void (*free_data)(void *);
} item;

static GMutex lock;
static GCond cond; /* new spans, stop (thread); a batch done (flush) */
static GQueue queue;
static GThread *thread;
static bool stopping, busy;
static int flushers; /* threads in hvb__otlp_flush: a batch does not wait for more spans */
static hvb_otlp_stats stats;

static void item_free(item *it) {
  hvb__otlp_target_unref(it->target);
  hvb__pb_free(it->span);
  if (it->free_data) it->free_data(it->data);
  g_free(it);
}

static size_t discard(char *data, size_t size, size_t n, void *ud) {
  (void)data, (void)ud;
  return size * n;
}

/* POST one request; false with `why` filled. */
static bool post(CURL *h, const hvb_otlp_target *t, hvb_pb *body, char *why, size_t size) {
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
  hdr = curl_slist_append(hdr, "Expect:");
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, t->url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body->data);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)POST_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(hdr);
  if (rc != CURLE_OK) snprintf(why, size, "%s", err[0] ? err : curl_easy_strerror(rc));
  else if (status < 200 || status > 299) snprintf(why, size, "HTTP %ld", status);
  return rc == CURLE_OK && status >= 200 && status <= 299;
}

/* The collector's address for messages, without user info, query or fragment. */
static char *shown_url(const char *url) {
  const char *scheme = strstr(url, "://");
  const char *host = scheme ? scheme + 3 : url;
  const char *at = strchr(host, '@');
  const char *slash = strchr(host, '/');
  if (at && (!slash || at < slash)) host = at + 1;
  size_t head = scheme ? (size_t)(scheme + 3 - url) : 0;
  return g_strdup_printf("%.*s%.*s", (int)head, url, (int)strcspn(host, "?#"), host);
}

/* Send the batch (taken), unlocked. */
static void send_batch(CURL *h, GPtrArray *batch) {
  item *first = batch->pdata[0];
  hvb_pb **spans = g_new(hvb_pb *, batch->len);
  size_t n = 0;
  for (guint i = 0; i < batch->len; i++) {
    item *it = batch->pdata[i];
    if (!it->span && it->encode) it->span = it->encode(it->data);
    if (it->span) spans[n++] = it->span;
  }
  hvb_pb *body = encode_request(first->target, spans, n);
  g_free(spans);
  char why[CURL_ERROR_SIZE + 32] = "";
  bool ok = h && post(h, first->target, body, why, sizeof why);
  if (!h) snprintf(why, sizeof why, "libcurl could not make a handle");
  hvb__pb_free(body);
  if (!ok) {
    char *where = shown_url(first->target->url);
    hvb__warn_once("otlp-export",
                   "telemetry: spans could not be exported to %s (%s); they are dropped, "
                   "calls go on (export is retried with the next batch)", where, why);
    hvb__log(HVB_LOG_DEBUG, "telemetry: %u span(s) not exported to %s: %s", batch->len, where,
             why);
    g_free(where);
  }
  g_mutex_lock(&lock);
  stats.posts++;
  stats.sending = 0;
  if (ok) stats.exported += batch->len;
  else stats.failed += batch->len;
  busy = false;
  g_cond_broadcast(&cond);
  g_mutex_unlock(&lock);
  g_ptr_array_free(batch, TRUE);
}

/* Under the lock: up to a batch of the spans at the head that share the first's target. */
static GPtrArray *take_batch(void) {
  GPtrArray *batch = g_ptr_array_new_with_free_func((GDestroyNotify)item_free);
  item *first = g_queue_peek_head(&queue);
  while (batch->len < HVB_OTLP_BATCH_MAX && !g_queue_is_empty(&queue)) {
    item *it = g_queue_peek_head(&queue);
    if (it->target != first->target && strcmp(it->target->url, first->target->url) != 0)
      break;
    if (it->target != first->target && g_strcmp0(it->target->service, first->target->service))
      break;
    g_ptr_array_add(batch, g_queue_pop_head(&queue));
  }
  stats.queued = queue.length;
  return batch;
}

static gpointer exporter_main(gpointer data) {
  (void)data;
  CURL *h = curl_easy_init();
  g_mutex_lock(&lock);
  for (;;) {
    while (g_queue_is_empty(&queue) && !stopping) g_cond_wait(&cond, &lock);
    if (g_queue_is_empty(&queue)) break; /* stopping */
    gint64 until = g_get_monotonic_time() + LINGER_MS * G_TIME_SPAN_MILLISECOND;
    while (queue.length < HVB_OTLP_BATCH_MAX && !stopping && !flushers &&
           g_cond_wait_until(&cond, &lock, until))
      ;
    GPtrArray *batch = take_batch();
    busy = true;
    stats.sending = batch->len;
    g_mutex_unlock(&lock);
    send_batch(h, batch);
    g_mutex_lock(&lock);
  }
  g_mutex_unlock(&lock);
  if (h) curl_easy_cleanup(h);
  return NULL;
}

static void enqueue(hvb_otlp_target *target, item *it);

void hvb__otlp_submit(hvb_otlp_target *target, hvb_pb *span) {
  item *it = g_new0(item, 1);
  it->span = span;
  enqueue(target, it);
}

void hvb__otlp_submit_deferred(hvb_otlp_target *target, hvb_otlp_encode_fn encode, void *data,
                               void (*free_data)(void *)) {
  item *it = g_new0(item, 1);
  it->encode = encode;
  it->data = data;
  it->free_data = free_data;
  enqueue(target, it);
}

/* Queue `it` (taken) for `target`, or drop it when the queue is full. */
static void enqueue(hvb_otlp_target *target, item *it) {
  g_mutex_lock(&lock);
  stats.submitted++;
  if (queue.length >= HVB_OTLP_QUEUE_MAX) {
    stats.dropped++;
    g_mutex_unlock(&lock);
    item_free(it);
    hvb__warn_once("otlp-queue-full",
                   "telemetry: the span queue is full (%d spans): the collector is slow or "
                   "down; new spans are dropped until it drains", HVB_OTLP_QUEUE_MAX);
    return;
  }
  if (!thread) {
    hvb__net_global_init();
    stopping = false;
    thread = g_thread_try_new("hvb-otlp", exporter_main, NULL, NULL);
  }
  if (!thread) { /* no thread: nothing would ever send it */
    stats.dropped++;
    g_mutex_unlock(&lock);
    item_free(it);
    return;
  }
  it->target = hvb__otlp_target_ref(target);
  g_queue_push_tail(&queue, it);
  stats.queued = queue.length;
  if (queue.length > stats.queued_max) stats.queued_max = queue.length;
  /* The thread needs a word when the queue stops being empty or a batch is full. */
  if (queue.length == 1 || queue.length == HVB_OTLP_BATCH_MAX) g_cond_broadcast(&cond);
  g_mutex_unlock(&lock);
}

void hvb__otlp_stats(hvb_otlp_stats *out) {
  g_mutex_lock(&lock);
  *out = stats;
  g_mutex_unlock(&lock);
}

bool hvb__otlp_flush(long timeout_ms) {
  gint64 until = g_get_monotonic_time() + (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
  g_mutex_lock(&lock);
  flushers++;
  g_cond_broadcast(&cond);
  bool done = true;
  while (!g_queue_is_empty(&queue) || busy) {
    if (!g_cond_wait_until(&cond, &lock, until)) {
      done = g_queue_is_empty(&queue) && !busy;
      break;
    }
  }
  flushers--;
  g_mutex_unlock(&lock);
  return done;
}

HVB_DESTRUCTOR static void otlp_exit(void) {
  if (!thread) return;
  hvb__otlp_flush(EXIT_FLUSH_MS);
  g_mutex_lock(&lock);
  stopping = true;
  /* Spans still queued (the collector did not take them in time) are dropped. */
  item *it;
  while ((it = g_queue_pop_head(&queue))) {
    stats.failed++;
    item_free(it);
  }
  g_cond_broadcast(&cond);
  GThread *t = thread;
  thread = NULL;
  g_mutex_unlock(&lock);
  g_thread_join(t); /* a batch being posted ends within POST_TIMEOUT_MS */
}

void hvb__otlp_atfork(hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) {
    g_mutex_lock(&lock);
    return;
  }
  if (phase == HVB_FORK_CHILD) {
    /* The parent exports what was queued; the child has no exporter thread. Nothing
     * inherited is freed here (GLib's allocator may be locked by a thread the child lacks). */
    hvb__fork_keep(queue.head);
    hvb__fork_keep(thread);
    g_queue_init(&queue);
    thread = NULL;
    busy = stopping = false;
    flushers = 0;
    memset(&stats, 0, sizeof stats);
    memset(&cond, 0, sizeof cond);
  }
  g_mutex_unlock(&lock);
}
