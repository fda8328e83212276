/* core/call/stage-transport.c: the transfer. The prepared request goes to the transport
 * with the limits set before; an async call's transfer is made detached, for the engine to
 * attach (core/net/engine.c), a sync call's starts at once. The exchange runs it. */
#include "call/pipeline.h"
#include "base/log.h"

static hvb_stage_rc transport_request(hvb_exchange *x, void **state, hvb_error *err) {
  (void)state, (void)err;
  size_t len = 0;
  x->http.method = "POST";
  x->http.url = x->url;
  x->http.headers = hvb__wire_request_headers(x->wire);
  x->http.body = hvb__wire_request_body(x->wire, &len);
  x->http.body_len = len;
  x->http.parts = hvb__wire_request_parts(x->wire, &x->http.nparts);
  if (x->http.nparts) { /* a form (image edits) replaces the body */
    x->http.body = NULL;
    x->http.body_len = 0;
  }
  if (hvb__log_enabled(HVB_LOG_DEBUG)) {
    bool events = x->op == HVB_GATEWAY_OP_CHAT &&
                  json_object_get_boolean(json_object_object_get(x->request, "stream"));
    const char *what = x->op != HVB_GATEWAY_OP_CHAT ? hvb__gateway_op_phrase(x->op)
                       : events                     ? "stream"
                                                    : "chat";
    hvb__log(HVB_LOG_DEBUG, "POST %s (%s via gateway %s)", x->url, what, x->gw->name);
  }
  x->transfer = x->async ? hvb__transfer_new_detached(x->client, &x->http, x->sink, x->reset,
                                                      x->sink_data)
                         : hvb__transfer_new(x->client, &x->http, x->sink, x->reset,
                                             x->sink_data);
  return HVB_STAGE_NEXT;
}

const hvb_stage hvb__stage_transport = {.name = "transport", .request = transport_request};
