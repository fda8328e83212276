/* core/call/stage-traceparent.c: the trace context goes to the provider. The telemetry stage
 * (first in the list) chose it (the call's span, or the caller's context passed on); this
 * stage sits after the gateway made the HTTP request and adds it as the W3C `traceparent`
 * header, unless the request already carries one (a configured header wins). */
#include "call/pipeline.h"

#include <strings.h>

static hvb_stage_rc traceparent_request(hvb_exchange *x, void **state, hvb_error *err) {
  (void)state;
  if (!x->traceparent[0] || !x->wire) return HVB_STAGE_NEXT;
  const char *const *h = hvb__wire_request_headers(x->wire);
  for (; h && *h; h++)
    if (!strncasecmp(*h, "traceparent:", 12)) return HVB_STAGE_NEXT;
  return hvb_wire_request_add_header(x->wire, "traceparent", x->traceparent, err)
             ? HVB_STAGE_NEXT
             : HVB_STAGE_FAILED;
}

const hvb_stage hvb__stage_traceparent = {.name = "traceparent",
                                          .request = traceparent_request};
