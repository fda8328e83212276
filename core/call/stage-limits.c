/* core/call/stage-limits.c: retries, deadlines and the cap on replies. The spec's timeouts,
 * retry count and max_response_bytes go
 * into the transfer's request; the transport (core/net/transport.c) enforces them, with
 * backoff, Retry-After and the rule that a committed transfer is never retried. */
#include "call/pipeline.h"

#include <stdint.h>

static hvb_stage_rc limits_request(hvb_exchange *x, void **state, hvb_error *err) {
  (void)state, (void)err;
  x->http.connect_timeout_ms = hvb_spec_connect_timeout_ms(x->spec);
  x->http.timeout_ms = hvb_spec_timeout_ms(x->spec);
  x->http.idle_timeout_ms = hvb_spec_idle_timeout_ms(x->spec);
  x->http.max_retries = hvb_spec_max_retries(x->spec);
  long long cap = hvb_spec_max_response_bytes(x->spec);
  x->http.max_body_bytes = cap > 0 && (unsigned long long)cap < SIZE_MAX ? (size_t)cap : 0;
  x->http.max_body_setting = "max_response_bytes";
  return HVB_STAGE_NEXT;
}

const hvb_stage hvb__stage_limits = {.name = "limits", .request = limits_request};
