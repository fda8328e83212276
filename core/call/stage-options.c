/* core/call/stage-options.c: options and defaults. The call's options become its canonical
 * request (core/call/request.c) and its repair settings; a gateway that cannot stream is
 * asked for one body, so the request the cache keys on is the one that is sent. */
#include "call/pipeline.h"
#include "call/request.h"
#include "call/stage-repair.h"

static hvb_stage_rc options_request(hvb_exchange *x, void **state, hvb_error *err) {
  (void)state;
  if (x->op != HVB_GATEWAY_OP_CHAT) return HVB_STAGE_NEXT; /* JSON ops bring their request */
  if (!hvb__repair_settings_for_call(&x->llm_repair, x->options, &x->repair, err))
    return HVB_STAGE_FAILED;
  x->request =
      hvb__request_build(x->spec, x->prompt, x->messages, x->options, x->force_stream, err);
  if (!x->request) return HVB_STAGE_FAILED;
  /* A gateway without streaming answers a stream request with one body: the caller still
   * gets deltas, all at once. */
  bool can_stream = (x->gw->ops.caps & HVB_GATEWAY_CAP_STREAM) && x->gw->ops.parse_event;
  if (!can_stream && !hvb__gateway_offline(x->gw))
    json_object_object_add(x->request, "stream", json_object_new_boolean(0));
  return HVB_STAGE_NEXT;
}

const hvb_stage hvb__stage_options = {.name = "options", .request = options_request};
