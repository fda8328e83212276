/* core/call/stage-route.c: the route's limits on the current target's transfer. A routed
 * call (x->route set by its owner, core/api/chat.c, which walks the targets) gives each
 * target what is left of the route's deadline, and only the last target it may try keeps
 * its own retries: for the others the next target is the better retry, and a Retry-After of
 * 30 s must not hold the call when another target can answer now. */
#include "call/pipeline.h"
#include "call/route.h"

static hvb_stage_rc route_request(hvb_exchange *x, void **state, hvb_error *err) {
  (void)state, (void)err;
  if (!x->route) return HVB_STAGE_NEXT;
  long left = hvb__route_call_remaining_ms(x->route);
  if (left && (!x->http.timeout_ms || left < x->http.timeout_ms)) x->http.timeout_ms = left;
  if (!hvb__route_call_is_last(x->route) || x->route_no_retries) x->http.max_retries = 0;
  /* The headers its provider states its rate limit in (catalog data) are kept for the route. */
  x->http.ncapture = hvb__route_call_capture(x->route, &x->http.capture_headers);
  return HVB_STAGE_NEXT;
}

/* The reply is complete: the current target answered (recorded, and logged at info). */
static void route_reply(hvb_exchange *x, void **state) {
  (void)state;
  if (x->route) hvb__route_call_answered(x->route);
}

/* A chat result's usage is spent from the answering target's tokens-per-minute limit. */
static bool route_result(hvb_exchange *x, void **state, hvb_result *r, hvb_error *err) {
  (void)state, (void)err;
  if (!x->route) return true;
  json_object *total = json_object_object_get(hvb_result_usage(r), "total_tokens");
  if (json_object_is_type(total, json_type_int))
    hvb__route_call_spend(x->route, json_object_get_int64(total));
  return true;
}

const hvb_stage hvb__stage_route = {
    .name = "route", .request = route_request, .reply = route_reply, .result = route_result};
