/* core/net/transport.h: HTTP over libcurl's multi interface.
 *
 * Every transfer belongs to a client (net/pool.h: one per client_key, with the connections
 * and the pools of idle handles). A freed transfer goes back to its client whole (its easy
 * handle still configured), so the next transfer of the client sets only the options that
 * differ. A transfer is driven step by step (hvb__transfer_step): synchronous calls loop on
 * it, a stream iterator steps until it has a delta, and the async engine drives the same
 * transfers.
 *
 * Retries happen inside the transfer: 408, 409, 429, 5xx and connection failures (connect,
 * connect timeout, send, receive, empty reply, partial body) are retried up to max_retries
 * times with exponential backoff (base * 2^attempt, capped at retry_max_ms) with full jitter,
 * or after the server's retry-after-ms / Retry-After (seconds or HTTP date), re-read on every
 * attempt and capped at retry_max_ms. No retry once hvb__transfer_commit() was called (output
 * reached the caller). Other statuses (400, 401, 403, 404...) fail at once, and so do the
 * total and idle timeouts (a retry would multiply the time the caller said it would wait).
 *
 * timeout_ms is a deadline for the whole transfer, counted from its creation: every attempt
 * gets only the time that is left, and a backoff or Retry-After wait that would end at or
 * after the deadline is not started: the transfer fails at once with the last attempt's
 * error, prefixed with why it was not retried. A 2xx body over max_body_bytes fails with
 * HVB_TOO_LARGE (not retried), whether the sink streams it or gathers it.
 *
 * Messages and debug logs name the method, URL (without query string or user info, which may
 * carry credentials), status, attempt and delays; never headers or bodies.
 *
 * Thread safety: hvb__client_get/unref are thread-safe; one transfer belongs to one thread at
 * a time; transfers of one client may run in parallel threads.
 *
 * fork(): in the child every client starts with a new share and empty pools (the parent's
 * connections are never reused nor closed), and a transfer made before the fork fails at its
 * next step with HVB_TRANSPORT and is freed without touching its handles (see
 * hvb__transport_atfork in pool.c).
 */
#ifndef HVB_TRANSPORT_H
#define HVB_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <heavenbase/error.h>
#include "base/fork.h"
#include "net/pool.h" /* hvb_client, hvb__client_get/unref */

typedef struct hvb_transfer hvb_transfer;

/* Reads the body of an HTTP error response (status >= 400) the way the provider writes it:
 * the error type (copied into `type`, at most type_size bytes with the NUL) and message (into
 * `message`). False when the body is not in the shape it knows: the transport then reads it
 * neutrally. The transport knows no provider; the gateway layer supplies this
 * (hvb__gateway_error_body). Called on the thread running the transfer. */
typedef bool (*hvb_error_body_fn)(void *data, long status, const char *body, size_t len,
                                  char *type, size_t type_size, char *message,
                                  size_t message_size);

/* One part of a multipart/form-data body (hvb_http_request.parts). */
typedef struct hvb_http_part {
  const char *name;         /* the form field ("prompt", "image[]") */
  const char *filename;     /* NULL: a plain field; else sent as a file of this name */
  const char *content_type; /* NULL: none (libcurl sends none for a plain field) */
  const char *data;         /* len bytes */
  size_t len;
} hvb_http_part;

/* Told when an attempt ends (for telemetry: a retried call's attempts become child spans):
 * its number (1...), its start and end (monotonic microseconds), the HTTP status seen (0:
 * none) and its failure (NULL: it succeeded). Called on the thread stepping the transfer. */
typedef void (*hvb_attempt_fn)(void *data, int attempt, int64_t start_us, int64_t end_us,
                               long http_status, const hvb_error *failure);

typedef struct hvb_http_request {
  const char *method;         /* NULL: "POST" when body != NULL, else "GET" */
  const char *url;
  const char *const *headers; /* NULL-terminated "Name: value" lines, may be NULL; "Expect:"
                                 is added, and "Content-Type: application/json" when there
                                 is a body and no Content-Type */
  const char *body;           /* may be NULL */
  size_t body_len;
  long connect_timeout_ms;    /* 0: libcurl's default */
  long timeout_ms;            /* the whole transfer, every attempt and wait included: a
                                 deadline from hvb__transfer_new(_detached); 0: none */
  long idle_timeout_ms;       /* no progress for this long fails the transfer; 0: none */
  int max_retries;            /* retries after the first attempt */
  long retry_base_ms;         /* 0: 500 */
  long retry_max_ms;          /* cap on one wait, backoff or Retry-After; 0: 30000 */
  size_t max_body_bytes;      /* cap on a 2xx body (one attempt's, streamed or not); 0: none */
  const char *max_body_setting; /* static string naming the setting of the cap, for the
                                   error message ("max_response_bytes"); may be NULL */
  hvb_error_body_fn error_body; /* NULL: the neutral reading only */
  void *error_body_data;        /* borrowed: must outlive the transfer */
  const hvb_http_part *parts;   /* nparts > 0: the body is a multipart/form-data form of these
                                   parts, built with libcurl's curl_mime (which sets the
                                   Content-Type with its boundary); `body` must be NULL. The
                                   parts are copied, like the rest of the request */
  size_t nparts;
  hvb_attempt_fn on_attempt;    /* may be NULL */
  void *attempt_data;           /* borrowed: must outlive the transfer */
  const char *const *capture_headers; /* ncapture response header names (entries may be
                                         NULL: none) whose values the last attempt gave are
                                         kept (hvb__transfer_captured); borrowed: must
                                         outlive the transfer. The transport gives them no
                                         meaning: a route learns rate limits from them */
  size_t ncapture;              /* at most HVB_CAPTURE_MAX */
} hvb_http_request;

#define HVB_CAPTURE_MAX 4

/* What the body sink tells the transport about the bytes it was given. */
typedef enum hvb_sink_rc {
  HVB_SINK_ABORT = -1,   /* stop now; the sink has filled the error it was given */
  HVB_SINK_CONTINUE = 0, /* consumed, but no real data (keep-alive comments) */
  HVB_SINK_PROGRESS = 1  /* real data: resets the idle timer */
} hvb_sink_rc;

/* Receives the body of a 2xx response in chunks as they arrive. On HVB_SINK_ABORT it must
 * have filled `err` (the transfer's error record; hvb__transfer_step returns it; left empty,
 * it becomes HVB_CANCELLED). `body_fn` may be NULL: the body is discarded. */
typedef hvb_sink_rc (*hvb_body_fn)(void *user_data, const char *data, size_t len,
                                   hvb_error *err);
/* Called before a retried attempt so the sink can drop what the failed attempt delivered. */
typedef void (*hvb_reset_fn)(void *user_data);

typedef enum hvb_step {
  HVB_STEP_FAILED = -1, /* err set; the transfer is finished */
  HVB_STEP_RUNNING = 0, /* call again */
  HVB_STEP_DONE = 1     /* a 2xx response was received completely */
} hvb_step;

/* Start a transfer. The request is copied (the caller may free it afterwards). Never NULL. */
hvb_transfer *hvb__transfer_new(hvb_client *client, const hvb_http_request *req,
                                hvb_body_fn body_fn, hvb_reset_fn reset_fn, void *user_data);

/* ---- transfers driven by the async engine (core/net/engine.c) ----
 *
 * The engine owns one multi handle for all its transfers and runs them on its I/O thread; the
 * retry, backoff and timeout logic is the same code as hvb__transfer_step's:
 *   hvb__transfer_new_detached  configure, do not start (any thread)
 *   hvb__transfer_attach        start the first attempt in the engine's multi (engine thread)
 *   hvb__transfer_done          libcurl reported the attempt done (CURLMSG_DONE's result)
 *   hvb__transfer_tick          start a retry whose backoff passed, fail an idle attempt
 * hvb__transfer_step must not be used on an attached transfer. */

/* Like hvb__transfer_new, but no attempt is started: a failure to set up is kept and
 * reported by hvb__transfer_attach. Never NULL. */
hvb_transfer *hvb__transfer_new_detached(hvb_client *client, const hvb_http_request *req,
                                         hvb_body_fn body_fn, hvb_reset_fn reset_fn,
                                         void *user_data);

/* Start `t` in `multi` (a CURLM*, borrowed: it must outlive the transfer); `owner` is
 * what hvb__transfer_owner_of gives back for the easy handle of a CURLMsg. False with err
 * set when the transfer could not be set up or started. */
bool hvb__transfer_attach(hvb_transfer *t, void *multi, void *owner, hvb_error *err);

/* The `owner` given to hvb__transfer_attach for a CURL* easy handle. */
void *hvb__transfer_owner_of(void *easy);

/* fn(owner) runs (inside libcurl's callbacks, on the engine thread) when an attached
 * transfer receives headers or body: the engine hands out output only for those. Set once. */
void hvb__transfer_on_activity(void (*fn)(void *owner));

/* The attempt finished with CURLcode `curl_code`: retry (HVB_STEP_RUNNING: waiting out a
 * backoff, see hvb__transfer_tick), DONE, or FAILED with err set. */
hvb_step hvb__transfer_done(hvb_transfer *t, int curl_code, hvb_error *err);

/* Timers at `now_mono_us` (g_get_monotonic_time): *next_us gets when to tick again (0:
 * not needed). Returns the state as hvb__transfer_done does. */
hvb_step hvb__transfer_tick(hvb_transfer *t, long long now_mono_us, long long *next_us,
                            hvb_error *err);

/* Advance the transfer, waiting up to `wait_ms` for network activity (or for a backoff delay
 * to pass). Returns after any activity, so a caller can look at what the sink produced.
 * Errors: HVB_HTTP (status, and the provider's type and message from the error body as the
 * request's error_body reads it, else neutrally: {"error": "text"}, {"message": "text"},
 * {"detail": "text"} or a short excerpt of a body that is not JSON; the message names the
 * status and URL), HVB_TIMEOUT (connect, total or idle; the message says which, and the
 * URL; "total timeout" when the deadline passed), HVB_TOO_LARGE (a body over max_body_bytes,
 * naming the limit and max_body_setting), HVB_TRANSPORT (connection failure after the
 * retries; curl's message), HVB_TRUNCATED
 * (connection closed mid-body of a 2xx response: after commit, or once the retries are
 * spent), or the sink's error. A failure that was retried says so: "after 3 attempts: ...".
 * Waiting out a backoff is part of stepping: the call sleeps at most `wait_ms` and returns
 * HVB_STEP_RUNNING. */
hvb_step hvb__transfer_step(hvb_transfer *t, int wait_ms, hvb_error *err);

/* Output of this transfer reached the caller: never retry it from now on. */
void hvb__transfer_commit(hvb_transfer *t);

/* HTTP status of the last attempt (0 before headers). */
long hvb__transfer_status(const hvb_transfer *t);

/* Attempts made so far (1 + retries). */
int hvb__transfer_attempts(const hvb_transfer *t);

/* Content-Type of the last attempt's response ("" before headers or when absent), borrowed
 * until the next step: lets a stream reader notice a provider that answered with plain JSON. */
const char *hvb__transfer_content_type(const hvb_transfer *t);
/* The request's URL (borrowed, as long as the transfer). */
const char *hvb__transfer_url(const hvb_transfer *t);
/* When the call's total timeout ends (g_get_monotonic_time microseconds), 0 without one. */
long long hvb__transfer_deadline(const hvb_transfer *t);
/* Whether the last attempt's connection was HTTP/2 or later (many requests on one). */
bool hvb__transfer_multiplexed(const hvb_transfer *t);
/* The last attempt's Retry-After (or retry-after-ms) in milliseconds, -1 when it gave none
 * (a routed call pauses the target that long: core/call/route.c). */
long hvb__transfer_retry_after_ms(const hvb_transfer *t);

/* The value of the request's capture_headers[i] in the last attempt's response (borrowed
 * until the next step), or NULL when that response had no such header. */
const char *hvb__transfer_captured(const hvb_transfer *t, size_t i);

/* The Mcp-Session-Id header of the last attempt's response ("" when absent), borrowed until
 * the next step: the MCP client's Streamable HTTP transport sends it back. */
const char *hvb__transfer_session_id(const hvb_transfer *t);

/* Where a finished transfer's time went, in microseconds (core/net/transfer-times.c). The
 * parts do not overlap: engine + retries + waited + dns + connect + tls + send + server +
 * receive = from the transfer's creation to the end of its last attempt. */
typedef struct hvb_net_times {
  long long engine_us;  /* made to first attempt: the async engine's queue */
  long long waited_us;  /* backoff and Retry-After waits between attempts (rate limits) */
  long long retries_us; /* the failed attempts themselves */
  long long dns_us, connect_us, tls_us; /* the last attempt's, from libcurl's getinfo */
  long long send_us;    /* connected to request sent (pretransfer) */
  long long server_us;  /* request sent to first response byte */
  long long ttfb_us;    /* the last attempt's start to its first byte (includes the above) */
  long long receive_us; /* first byte to the end of the attempt, reading included */
  int attempts;
} hvb_net_times;

/* Fill `out` (zeroed first) for a transfer whose last attempt ended; zeros before. */
void hvb__transfer_times(const hvb_transfer *t, hvb_net_times *out);
/* When the transfer was made (monotonic microseconds). */
long long hvb__transfer_created_us(const hvb_transfer *t);

/* Abort if running and release; handles go back to the client's pools. NULL is a no-op. */
void hvb__transfer_free(hvb_transfer *t);

/* Run a transfer to completion (loops on hvb__transfer_step). */
bool hvb__http_perform(hvb_client *client, const hvb_http_request *req, hvb_body_fn body_fn,
                       hvb_reset_fn reset_fn, void *user_data, hvb_error *err);

#endif
