/* heavenbase/observe.h: a record of every finished call, for callers that ship metrics
 * (Prometheus, StatsD, their own logs), and the OpenTelemetry export that the library does by
 * itself (docs/telemetry.md).
 *
 *     static void on_call(const hvb_call_record *rec, void *user_data) {
 *       if (rec->step == 0)  // a call of its own, or a whole tool loop
 *         count(rec->operation, rec->request_model, rec->status, rec->input_tokens);
 *     }
 *     hvb_llm_set_observer(llm, on_call, NULL);
 *
 * What is reported: every chat exchange (hvb_llm_chat, hvb_llm_stream, hvb_llm_chat_async, a
 * cache hit, a call that failed, a stream freed before its end: HVB_CANCELLED), every
 * embeddings or images request, and for a tool loop (tools.h) one record per step (`step` 1,
 * 2, ...) and then one for the whole loop (`step` 0, `steps` the steps run, tokens summed).
 * So a caller that counts tokens or calls counts the records with `step == 0`. Calls refused
 * before they start (a NULL argument, an operation the gateway does not support) are not
 * reported.
 *
 * OpenTelemetry (off by default): with heavenbase.llm.telemetry.otlp_endpoint, or the
 * standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, each record is
 * also exported as a span, OTLP/HTTP protobuf, from a library thread; see docs/telemetry.md.
 */
#ifndef HEAVENBASE_OBSERVE_H
#define HEAVENBASE_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>
#include <heavenbase/macros.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One finished call. Read-only, and valid only during the observer's callback: copy what
 * you keep. Strings are NUL-terminated UTF-8 and NULL when unknown.
 *
 * The struct only grows: fields are appended, never moved. A caller compiled against a later
 * header than the library reads a field only when
 * offsetof(hvb_call_record, field) < rec->struct_size. */
typedef struct hvb_call_record {
  size_t struct_size;
  const char *operation;      /* "chat", "embeddings", "images" (the GenAI operation name) */
  bool stream;                /* the reply was asked for as an event stream */
  bool async;                 /* run by the async engine */
  const char *preset;         /* the preset the LLM was made from, or NULL */
  const char *request_model;  /* the model id asked for */
  const char *response_model; /* the model the reply names, or NULL */
  const char *provider;
  const char *gateway;
  const char *server_address; /* host of the request URL; NULL for an offline gateway */
  int server_port;            /* 0 when unknown */
  int64_t input_tokens;       /* -1: the reply reported none */
  int64_t output_tokens;      /* -1: the reply reported none */
  const char *const *finish_reasons; /* n_finish_reasons entries */
  size_t n_finish_reasons;
  hvb_status status;          /* HVB_OK: the call succeeded */
  int http_status;            /* the last HTTP status seen, 0 when none */
  const char *error_type;     /* NULL on success: the provider's error type, else the
                                 status's name ("HVB_TIMEOUT") */
  const char *error_message;  /* NULL on success; redacted like every message of ours */
  bool cached;                /* answered from the response cache */
  bool repaired;              /* tool-call repair changed the reply */
  int64_t start_unix_ns;      /* when the call started, wall clock */
  int64_t duration_ns;        /* start to end of the reply (or failure), monotonic */
  int steps;                  /* a whole tool loop: the steps it ran; else 1 */
  int step;                   /* 0: a call on its own or a whole tool loop; k: step k */
  int retries;                /* attempts beyond the first (transport retries) */
  const char *trace_id;       /* the span's trace id (32 hex digits) when the call was traced
                                 (export on, or a caller's traceparent), else NULL */
  const char *span_id;        /* the call's span id (16 hex digits), or NULL */
  /* Since the usage ledger (check struct_size before reading): the call's cost as
   * hvb_result_cost gives it. cost_known is false when the model has no price (or the call
   * failed): then both amounts are 0 and mean "unknown", not free. */
  bool cost_known;
  double cost_usd;            /* USD spent (0 for a cache hit) */
  double cost_saved_usd;      /* USD a cache hit saved */
} hvb_call_record;

/* Called once per finished call with its record (borrowed, valid during the call).
 *
 * On which thread: a synchronous call's observer runs on the thread that made the call,
 * before hvb_llm_chat returns (for a stream: when hvb_stream_result is called or the stream
 * is freed); an async call's (and an async tool loop's) runs on the engine thread, before
 * its on_done. So it must be thread-safe when calls run on several threads, must not block
 * (it delays the call, and on the engine thread every call in flight), and must not call back
 * into the library with the same LLM from the engine thread in a way that waits. */
typedef void (*hvb_observer_fn)(const hvb_call_record *rec, void *user_data);

/* Set (or, with fn NULL, remove) the observer of every call made through `llm` from now on.
 * A call already started keeps the observer it started with. `user_data` is borrowed: it must
 * outlive every call of the LLM. Thread-safe: may be called while calls run on other threads.
 * No-op when llm is NULL. */
void hvb_llm_set_observer(hvb_llm *llm, hvb_observer_fn fn, void *user_data);

#ifdef __cplusplus
}
#endif

#endif
