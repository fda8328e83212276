/* core/net/transfer.h: the inside of a transfer, shared by the two files that make one
 * (private to core/net/): transport.c runs it (handles, attempts, the body sink),
 * transfer-outcome.c reads how an attempt ended (the error, whether it is worth another
 * attempt, the wait before it and whether that wait fits in the call's deadline). */
#ifndef HVB_NET_TRANSFER_H
#define HVB_NET_TRANSFER_H

#include "net/transport.h"

#include <curl/curl.h>
#include <glib.h>

#define ERROR_BODY_MAX (64 * 1024)

typedef enum {
  ST_RUNNING, /* an attempt is in the multi handle */
  ST_WAITING, /* backing off before the next attempt */
  ST_DONE,
  ST_FAILED
} state;

struct hvb_transfer {
  hvb_client *client; /* reference */
  char *method;
  char *url;
  char *shown_url; /* url without query, fragment or user info: safe for messages */
  char *body;
  size_t body_len, body_cap;
  bool has_body; /* a body is sent (body may hold a buffer from an earlier call otherwise) */
  struct curl_slist *headers;
  curl_mime *mime; /* a multipart body (hvb_http_request.parts); such a transfer is never
                      pooled whole: its handle points at the form */
  bool configured; /* the easy handle has this struct's options (it may be reused whole) */
  bool debug;      /* debug logging was on when the transfer was made: the lines of every
                      call are not worth a level check each (a getenv and a lock) */
  long connect_timeout_ms, timeout_ms, idle_timeout_ms, retry_base_ms, retry_max_ms;
  int max_retries;
  gint64 deadline;      /* monotonic microseconds the whole transfer must end by; 0: none */
  long attempt_timeout_ms; /* CURLOPT_TIMEOUT_MS of the running attempt: what is left */
  size_t max_body_bytes;   /* 0: no cap */
  const char *max_body_setting;
  hvb_body_fn body_fn;
  hvb_reset_fn reset_fn;
  void *user_data;

  CURL *easy;
  CURLM *multi;
  bool attached; /* multi is the async engine's (not ours to pool); see hvb__transfer_attach */
  void *owner;   /* hvb__transfer_attach's (NULL: not attached) */
  bool in_multi;
  unsigned gen; /* hvb__fork_generation() when made: a child never touches its handles */
  char curl_err[CURL_ERROR_SIZE];

  state st;
  int attempts;
  bool committed;
  gint64 attempt_start, last_progress, wait_until; /* monotonic microseconds */
  /* For the call's timing breakdown (transfer-times.c): when the transfer was made, its
   * first attempt started, the last attempt ended, and the backoff waited in between. */
  gint64 created_us, first_start_us, end_us, waited_us;

  /* per attempt, from the response headers and body */
  long status;
  long retry_after_ms; /* server's hint, -1 when none */
  bool hint_ms;        /* the hint came from retry-after-ms, which wins over Retry-After */
  char content_type[128];
  char session_id[256]; /* Mcp-Session-Id of the response (the MCP client's), "" when none */
  const char *const *capture; /* the request's capture_headers (borrowed), ncapture of them */
  size_t ncapture;
  size_t capture_len[HVB_CAPTURE_MAX]; /* strlen of each name (0: none) */
  char captured[HVB_CAPTURE_MAX][64]; /* their values in this response; "" when absent */
  GString *error_body; /* non-2xx body, first ERROR_BODY_MAX bytes */
  hvb_error_body_fn error_reader; /* the request's error_body reader, and its data */
  void *error_reader_data;
  hvb_attempt_fn on_attempt; /* the request's, and its data */
  void *attempt_data;
  size_t body_bytes;   /* 2xx body bytes handed to the sink */
  bool sink_aborted;
  bool connected;

  hvb_error err; /* the failure, once st == ST_FAILED; also the sink's error record */
};

static inline bool status_ok(long status) { return status >= 200 && status < 300; }

/* A response header line: kept when it is one the request asked to capture. */
void hvb__xfer_capture(hvb_transfer *t, const char *line, size_t len);
/* Take the request's capture names (borrowed). */
void hvb__xfer_capture_set(hvb_transfer *t, const char *const *names, size_t n);
static inline void hvb__xfer_capture_clear(hvb_transfer *t) {
  for (size_t i = 0; i < t->ncapture; i++) t->captured[i][0] = '\0';
}

/* The deadline passed (before or during an attempt): t->err is HVB_TIMEOUT. */
void hvb__xfer_fail_deadline(hvb_transfer *t);
/* Record the outcome of a finished attempt in t->err; true when it may be retried. */
bool hvb__xfer_classify(hvb_transfer *t, CURLcode rc);
/* The wait before the next attempt: the server's hint (capped), else jittered backoff. */
long hvb__xfer_backoff_ms(hvb_transfer *t);
/* True (and t failed, saying why) when a wait of `delay` ms would cross the deadline. */
bool hvb__xfer_wait_crosses_deadline(hvb_transfer *t, long delay);

#endif
