/* core/net/transfer-times.c: where a transfer's time went, for the call's timing breakdown
 * (core/call/stage-account.c). libcurl's getinfo gives the last attempt's phases as times
 * since the attempt started (name lookup, connect, TLS, pre-transfer, first byte); our own
 * clock gives the rest (the engine's queue, retries, backoff waits, the end of the attempt),
 * so that the parts add up to the transfer's wall time. */
#include "net/transfer.h"

#include <string.h>

static long long info_us(CURL *easy, CURLINFO what) {
  curl_off_t v = 0;
  return curl_easy_getinfo(easy, what, &v) == CURLE_OK && v > 0 ? (long long)v : 0;
}

/* libcurl's times are cumulative from the attempt's start; a phase that did not happen
 * (a reused connection has no connect) reads 0 and must not make the next one negative. */
static long long span(long long *last, long long at) {
  if (at <= *last) return 0;
  long long d = at - *last;
  *last = at;
  return d;
}

void hvb__transfer_times(const hvb_transfer *t, hvb_net_times *out) {
  memset(out, 0, sizeof *out);
  if (!t || !t->first_start_us || !t->end_us) return;
  out->attempts = t->attempts;
  out->engine_us = t->first_start_us - t->created_us;
  out->waited_us = t->waited_us;
  long long before_last = t->attempt_start - t->first_start_us;
  out->retries_us = before_last > t->waited_us ? before_last - t->waited_us : 0;
  long long attempt = t->end_us - t->attempt_start, last = 0;
  if (t->easy && t->gen == hvb__fork_generation()) {
    out->dns_us = span(&last, info_us(t->easy, CURLINFO_NAMELOOKUP_TIME_T));
    out->connect_us = span(&last, info_us(t->easy, CURLINFO_CONNECT_TIME_T));
    out->tls_us = span(&last, info_us(t->easy, CURLINFO_APPCONNECT_TIME_T));
    out->send_us = span(&last, info_us(t->easy, CURLINFO_PRETRANSFER_TIME_T));
    out->server_us = span(&last, info_us(t->easy, CURLINFO_STARTTRANSFER_TIME_T));
  }
  if (last > attempt) last = attempt; /* our clock and libcurl's disagree by microseconds */
  out->ttfb_us = last;
  out->receive_us = attempt - last;
}

long long hvb__transfer_created_us(const hvb_transfer *t) {
  return t ? t->created_us : 0;
}
