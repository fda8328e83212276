/* core/call/telemetry.h: what is observed of each call: the record handed to the caller's
 * observer (include/heavenbase/observe.h) and the spans exported over OTLP
 * (core/net/otlp.h). core/call/telemetry.c; the stage that drives it per exchange is
 * core/call/stage-telemetry.c, the tool loop (core/api/tools.c) drives it for whole loops.
 *
 * An hvb_telemetry belongs to an LLM (settings read once when it is made: the export target,
 * capture_content, the TRACEPARENT of the environment, the observer) and is refcounted,
 * because an exchange may outlive its LLM. An hvb_obs is one observed call: it belongs to
 * one thread at a time, like the exchange that owns it.
 */
#ifndef HVB_CALL_TELEMETRY_H
#define HVB_CALL_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/config.h>
#include <heavenbase/error.h>
#include <heavenbase/observe.h>
#include <heavenbase/spec.h>

typedef struct hvb_telemetry hvb_telemetry;
typedef struct hvb_obs hvb_obs;

/* The LLM's telemetry from heavenbase.llm.telemetry.* and the OTEL_* / TRACEPARENT
 * variables. NULL with HVB_CONFIG for a value that is wrong (the key is named). */
hvb_telemetry *hvb__telemetry_new(const hvb_config *cfg, hvb_error *err);
hvb_telemetry *hvb__telemetry_ref(hvb_telemetry *t);
void hvb__telemetry_unref(hvb_telemetry *t); /* NULL is a no-op */
void hvb__telemetry_set_observer(hvb_telemetry *t, hvb_observer_fn fn, void *user_data);

/* The call's trace context is the option "traceparent" (a W3C traceparent string). Checks
 * it: false with HVB_EINVAL naming the option. */
bool hvb__telemetry_check_traceparent(json_object *value, hvb_error *err);

/* Start observing a call of `operation` ("chat", "embeddings", "images"). NULL when nobody
 * observes it: no observer, no export and no trace context to pass on (the common case,
 * which costs nothing more). A call started inside a tool loop's scope is that loop's step. */
hvb_obs *hvb__obs_begin(hvb_telemetry *t, json_object *call_options, const char *operation,
                        bool async);
/* The traceparent header value to send to the provider, or NULL. */
const char *hvb__obs_traceparent(const hvb_obs *o);
/* The transport's word on one finished attempt (see hvb_http_request.on_attempt). */
void hvb__obs_attempt(void *obs, int attempt, int64_t start_us, int64_t end_us, long http_status,
                      const hvb_error *failure);
/* The reply (or failure) is complete now: the call's duration ends here. */
void hvb__obs_mark_end(hvb_obs *o);
bool hvb__obs_ended(const hvb_obs *o);

/* What a call came to. Borrowed for hvb__obs_finish. */
typedef struct hvb_obs_outcome {
  const hvb_spec *spec;
  const char *url;           /* the request's, or NULL (offline) */
  const hvb_result *result;  /* a chat's result, or NULL */
  json_object *request;      /* the canonical request (for capture_content), or NULL */
  const hvb_error *error;    /* NULL: success */
  bool cached;
  bool stream;
} hvb_obs_outcome;

/* Report the call (observer, span) and free `o`. Idempotent through *o (set to NULL). */
void hvb__obs_finish(hvb_obs **o, const hvb_obs_outcome *out);
/* Free without reporting (NULL is a no-op). */
void hvb__obs_free(hvb_obs *o);

/* ---- tool loops ---- */

/* A loop's observation (NULL when nobody observes it). Steps started between scope_enter and
 * scope_leave on this thread are its children. */
hvb_obs *hvb__obs_loop_begin(hvb_telemetry *t, json_object *call_options, bool async);
/* Enter step `step` of loop `o` (NULL: no-op); returns the scope to give back to leave. */
void *hvb__obs_scope_enter(hvb_obs *o, int step);
void hvb__obs_scope_leave(void *previous);

#endif
