/* core/net/otlp.h: OpenTelemetry trace export, OTLP over HTTP with protobuf bodies
 * (core/net/otlp.c; docs/telemetry.md, docs/architecture.md).
 *
 * Spans are encoded by the caller (hvb__otlp_span_*: one OTLP `Span` message each, written
 * with core/text/protobuf.h) and queued with hvb__otlp_submit, which never blocks on the
 * network and never fails a call: the queue is bounded (HVB_OTLP_QUEUE_MAX spans), and a span
 * that finds it full is dropped and counted. One exporter thread of the library, started by
 * the first span, takes batches of up to HVB_OTLP_BATCH_MAX spans of one target, wraps them
 * in an ExportTraceServiceRequest (resource: service.name and the SDK's name) and POSTs them
 * with libcurl (Content-Type: application/x-protobuf, bounded timeouts). A batch that cannot
 * be posted is dropped and counted, with a warning the first time (HB_LOG=debug logs each).
 * A destructor flushes what is queued (for at most a few seconds) and joins the thread at
 * exit; a fork() child starts with an empty queue and no thread.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef HVB_NET_OTLP_H
#define HVB_NET_OTLP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include "base/fork.h"
#include "text/protobuf.h"

#define HVB_OTLP_QUEUE_MAX 2048
#define HVB_OTLP_BATCH_MAX 512

/* Where spans go: the full URL (".../v1/traces") and the service.name. Refcounted, immutable. */
typedef struct hvb_otlp_target hvb_otlp_target;
hvb_otlp_target *hvb__otlp_target_new(const char *url, const char *service);
hvb_otlp_target *hvb__otlp_target_ref(hvb_otlp_target *t);
void hvb__otlp_target_unref(hvb_otlp_target *t); /* NULL is a no-op */
const char *hvb__otlp_target_url(const hvb_otlp_target *t);

/* ---- encoding one Span message ---- */

enum { HVB_OTLP_KIND_INTERNAL = 1, HVB_OTLP_KIND_CLIENT = 3 };
enum { HVB_OTLP_STATUS_UNSET = 0, HVB_OTLP_STATUS_OK = 1, HVB_OTLP_STATUS_ERROR = 2 };

/* A new Span message (free with hvb__pb_free, or give it to hvb__otlp_submit) with its
 * ids, name, kind and times; `parent` NULL for a root span. */
hvb_pb *hvb__otlp_span_new(const uint8_t trace_id[16], const uint8_t span_id[8],
                               const uint8_t *parent_id, uint8_t trace_flags, const char *name,
                               int kind, uint64_t start_unix_ns, uint64_t end_unix_ns);
void hvb__otlp_attr_str(hvb_pb *span, const char *key, const char *value); /* NULL: none */
void hvb__otlp_attr_int(hvb_pb *span, const char *key, int64_t value);
void hvb__otlp_attr_bool(hvb_pb *span, const char *key, bool value);
void hvb__otlp_attr_double(hvb_pb *span, const char *key, double value);
void hvb__otlp_attr_strs(hvb_pb *span, const char *key, const char *const *values, size_t n);
void hvb__otlp_span_status(hvb_pb *span, int code, const char *message);

/* ---- the queue ---- */

/* Queue `span` (taken) for `target` (a reference is taken). Never blocks on I/O. */
void hvb__otlp_submit(hvb_otlp_target *target, hvb_pb *span);

/* A span encoded on the exporter thread when its batch is sent, so that the call pays only
 * for copying what the span needs: encode(data) returns the span (NULL: nothing to send);
 * free_data(data) runs once, whether the span was encoded, dropped or never sent. Same
 * queue and bounds as hvb__otlp_submit. */
typedef hvb_pb *(*hvb_otlp_encode_fn)(void *data);
void hvb__otlp_submit_deferred(hvb_otlp_target *target, hvb_otlp_encode_fn encode, void *data,
                               void (*free_data)(void *));

typedef struct hvb_otlp_stats {
  uint64_t submitted; /* spans given to hvb__otlp_submit */
  uint64_t exported;  /* spans in batches the collector accepted (2xx) */
  uint64_t dropped;   /* spans that found the queue full */
  uint64_t failed;    /* spans in batches that could not be posted */
  uint64_t posts;     /* POSTs made */
  size_t queued;      /* spans waiting now */
  size_t sending;     /* spans in the batch being posted now */
  size_t queued_max;  /* the most that ever waited */
} hvb_otlp_stats;
void hvb__otlp_stats(hvb_otlp_stats *out);

/* Wait until every span queued so far was posted (or failed), at most `timeout_ms`; false on
 * timeout. */
bool hvb__otlp_flush(long timeout_ms);

void hvb__otlp_atfork(hvb_fork_phase phase);

#endif
