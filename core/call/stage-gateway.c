/* core/call/stage-gateway.c: the gateway's translation: the canonical request becomes the
 * provider's HTTP request (prepare), or an offline gateway answers at once (execute). The
 * reply side (parse, parse_event) is read by the exchange's body sink as bytes arrive. */
#include "call/pipeline.h"
#include "base/error.h"

static hvb_stage_rc gateway_request(hvb_exchange *x, void **state, hvb_error *err) {
  (void)state;
  const hvb_gateway_record *gw = x->gw;
  if (hvb__gateway_offline(gw)) {
    json_object *out = json_object_new_array();
    if (!gw->ops.execute(x->spec, x->op, x->request, out, err)) {
      json_object_put(out);
      hvb__error_prefix(err, "gateway '%s'", gw->name);
      return HVB_STAGE_FAILED;
    }
    x->answers = out;
    return HVB_STAGE_ANSWERED;
  }
  if (!gw->ops.prepare) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' has neither prepare nor an offline execute",
              gw->name);
    return HVB_STAGE_FAILED;
  }
  x->wire = hvb__wire_request_new();
  if (!gw->ops.prepare(x->spec, x->op, x->request, x->wire, err)) return HVB_STAGE_FAILED;
  x->url = hvb_wire_request_url(x->wire);
  /* The transport knows no provider: the gateway reads its own error bodies. */
  x->http.error_body = hvb__gateway_error_body;
  x->http.error_body_data = (void *)x->spec;
  return HVB_STAGE_NEXT;
}

const hvb_stage hvb__stage_gateway = {.name = "gateway", .request = gateway_request};
