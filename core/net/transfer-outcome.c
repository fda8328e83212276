/* core/net/transfer-outcome.c: how an attempt of a transfer ended, read once it has (see
 * transfer.h): the error the caller sees, whether another attempt is worth it, and whether the
 * wait before it still fits in the call's one deadline. */
#include "net/transfer.h"
#include "text/json.h"
#include "base/log.h"
#include "base/error.h"

#include <string.h>

/* A duration for messages: "5 s", "1.5 s", "300 ms". */
static void format_ms(char *buf, size_t size, long long ms) {
  if (ms < 1000) snprintf(buf, size, "%lld ms", ms);
  else if (ms % 1000 == 0) snprintf(buf, size, "%lld s", ms / 1000);
  else snprintf(buf, size, "%.1f s", ms / 1000.0);
}

/* The deadline passed (before or during an attempt): HVB_TIMEOUT, never retried. */
void hvb__xfer_fail_deadline(hvb_transfer *t) {
  char limit[32];
  format_ms(limit, sizeof limit, t->timeout_ms);
  hvb__fail(&t->err, HVB_TIMEOUT,
            "total timeout: %s %s did not finish within the call's timeout of %s (the deadline "
            "for every attempt and wait; %d attempt%s)", t->method, t->shown_url, limit,
            t->attempts, t->attempts == 1 ? "" : "s");
}

/* The neutral reading of an error body, for a request without an error_body reader or a
 * body it does not know: {"error": "text"}, {"message": "text"}, {"detail": "text"}, or the
 * start of a body that is not JSON. No provider's shape: those belong to the gateways. */
static void error_details(const GString *body, GString *msg) {
  json_object *root = body->len ? hvb__json_parse(body->str, (long)body->len, "error body",
                                                  NULL) : NULL;
  if (json_object_is_type(root, json_type_object)) {
    json_object *e = NULL;
    json_object_object_get_ex(root, "error", &e);
    const char *m = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
    if (!m) m = hvb__json_str(root, "message");
    if (!m) m = hvb__json_str(root, "detail");
    if (m) g_string_append(msg, m);
  } else if (body->len > 0 && !root) {
    /* Not JSON (a proxy's error page): a short excerpt still tells the user something. */
    char *text = g_utf8_make_valid(body->str, (gssize)MIN(body->len, 200));
    g_string_append(msg, g_strstrip(text));
    g_free(text);
  }
  json_object_put(root);
}

static void fail_http(hvb_transfer *t) {
  char type[64] = "", given[sizeof t->err.message] = "";
  GString *msg = g_string_new(NULL);
  if (t->error_reader && t->error_reader(t->error_reader_data, t->status, t->error_body->str,
                                          t->error_body->len, type, sizeof type, given,
                                          sizeof given))
    g_string_append(msg, given);
  else
    error_details(t->error_body, msg);
  hvb__fail_http(&t->err, HVB_HTTP, (int)t->status, type[0] ? type : NULL,
                 "HTTP %ld from %s%s%s", t->status, t->shown_url, msg->len ? ": " : "",
                 msg->str);
  g_string_free(msg, TRUE);
}

static const char *curl_message(hvb_transfer *t, CURLcode rc) {
  return t->curl_err[0] ? t->curl_err : curl_easy_strerror(rc);
}


/* Whether a timeout hit before the connection was up (then it is worth another attempt). */
static bool connected(hvb_transfer *t) {
#if LIBCURL_VERSION_NUM >= 0x075000
  return t->connected;
#else
  curl_off_t us = 0;
  return curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &us) == CURLE_OK && us > 0;
#endif
}

/* Record the outcome of a finished attempt in t->err; true when it may be retried. */
bool hvb__xfer_classify(hvb_transfer *t, CURLcode rc) {
  switch (rc) {
  case CURLE_OK:
    fail_http(t);
    return t->status == 408 || t->status == 409 || t->status == 429 || t->status >= 500;
  case CURLE_WRITE_ERROR:
    if (t->sink_aborted) return false; /* t->err is the sink's */
    break;
  case CURLE_OPERATION_TIMEDOUT:
    /* libcurl's timeout is the connect timeout, or the deadline's time left (whichever is
     * shorter): only the first is worth another attempt. */
    if (!connected(t) && t->connect_timeout_ms > 0 &&
        (!t->attempt_timeout_ms || t->connect_timeout_ms < t->attempt_timeout_ms)) {
      hvb__fail(&t->err, HVB_TIMEOUT, "connect timeout: no connection to %s within %ld ms",
                t->shown_url, t->connect_timeout_ms);
      return true;
    }
    if (t->attempt_timeout_ms) {
      hvb__xfer_fail_deadline(t);
      return false;
    }
    hvb__fail(&t->err, HVB_TIMEOUT, "connect timeout: no connection to %s", t->shown_url);
    return true;
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
    if (status_ok(t->status) && t->body_bytes > 0) {
      hvb__fail(&t->err, HVB_TRUNCATED, "connection to %s closed mid-body after %zu bytes: %s",
                t->shown_url, t->body_bytes, curl_message(t, rc));
      return true;
    }
    G_GNUC_FALLTHROUGH;
  case CURLE_COULDNT_CONNECT:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
    hvb__fail(&t->err, HVB_TRANSPORT, "%s %s failed: %s", t->method, t->shown_url,
              curl_message(t, rc));
    return true;
  default:
    break;
  }
  hvb__fail(&t->err, HVB_TRANSPORT, "%s %s failed: %s", t->method, t->shown_url,
            curl_message(t, rc));
  return false;
}

long hvb__xfer_backoff_ms(hvb_transfer *t) {
  if (t->retry_after_ms >= 0) return MIN(t->retry_after_ms, t->retry_max_ms);
  /* Full jitter: uniformly in [0, min(cap, base * 2^n)] spreads clients that failed together. */
  int n = MIN(t->attempts - 1, 30);
  double ceiling = MIN((double)t->retry_base_ms * (double)(1u << n), (double)t->retry_max_ms);
  return (long)g_random_double_range(0, ceiling + 1);
}

/* A wait of `delay` ms that would end at or after the deadline is not started: the transfer
 * fails now with the last attempt's error, saying why it was not retried. */
bool hvb__xfer_wait_crosses_deadline(hvb_transfer *t, long delay) {
  gint64 now = g_get_monotonic_time();
  if (!t->deadline || now + (gint64)delay * 1000 < t->deadline) return false;
  char asked[32], wait[32], limit[32], left[32];
  format_ms(asked, sizeof asked, t->retry_after_ms);
  format_ms(wait, sizeof wait, delay);
  format_ms(limit, sizeof limit, t->timeout_ms);
  format_ms(left, sizeof left, MAX(t->deadline - now, 0) / 1000);
  char what[160];
  if (t->retry_after_ms < 0) snprintf(what, sizeof what, "a backoff of %s", wait);
  else if (t->retry_after_ms > delay)
    snprintf(what, sizeof what, "the wait the server asked for (Retry-After: %s, capped at %s)",
             asked, wait);
  else snprintf(what, sizeof what, "the wait the server asked for (Retry-After: %s)", asked);
  hvb__error_prefix(&t->err,
                    "not retried after attempt %d: %s would cross the deadline of the call's "
                    "timeout of %s (%s left)", t->attempts, what, limit, left);
  hvb__log(HVB_LOG_DEBUG, "%s %s: %s", t->method, t->shown_url, t->err.message);
  t->st = ST_FAILED;
  return true;
}

