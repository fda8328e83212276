/* core/api/json-call.c: one JSON request, one JSON response (embeddings, images), run to its
 * end by the caller (hvb__llm_call_json) or in pieces by the async engine (a JSON job). */
#include "api/json-call.h"
#include "api/handle.h"
#include "call/request.h"
#include "gateway/gateway.h"
#include "net/transport.h"
#include "text/json.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <glib.h>

/* A response body larger than this is refused rather than buffered. */
#define HVB_MAX_BODY (64u << 20)

/* ============================================================================================
 * One JSON request, one JSON response: embeddings and images (and any op without a stream)
 * ========================================================================================== */

static hvb_sink_rc gather_body(void *user_data, const char *data, size_t len, hvb_error *err) {
  GString *body = user_data;
  if (body->len + len > HVB_MAX_BODY) {
    hvb__fail(err, HVB_TOO_LARGE, "response exceeds %u bytes", HVB_MAX_BODY);
    return HVB_SINK_ABORT;
  }
  g_string_append_len(body, data, (gssize)len);
  return HVB_SINK_PROGRESS;
}

static void gather_reset(void *user_data) {
  g_string_truncate(user_data, 0);
}

/* One JSON operation in flight: either answered at once (offline gateway, or a failure before
 * anything was sent) or waiting for its transfer. */
struct hvb_json_job {
  hvb_spec *spec; /* reference: the job may outlive its LLM */
  const hvb_gateway_record *gw;
  hvb_gateway_op op;
  hvb_wire_request *wire;
  const char *url; /* borrowed from wire */
  GString *body;
  hvb_transfer *transfer;
  bool over;
  json_object *response; /* once over: the canonical response, or NULL with error */
  hvb_error error;
};

hvb_json_job *hvb__json_begin(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                              bool detached, hvb_error *err) {
  if (!hvb_llm_supports(llm, op, err)) return NULL;
  const hvb_gateway_record *gw = hvb__llm_gateway(llm);
  if (!hvb__gateway_offline(gw) && (!gw->ops.prepare || !gw->ops.parse)) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' lacks the prepare or parse operation", gw->name);
    return NULL;
  }
  hvb_json_job *j = g_new0(hvb_json_job, 1);
  j->spec = hvb_spec_ref(hvb__llm_spec(llm));
  j->gw = gw;
  j->op = op;
  if (hvb__gateway_offline(gw)) {
    json_object *out = json_object_new_array();
    if (gw->ops.execute(hvb_llm_spec(llm), op, canonical, out, &j->error)) {
      j->response = json_object_get(json_object_array_get_idx(out, 0));
      if (!j->response)
        hvb__fail(&j->error, HVB_GATEWAY, "gateway '%s' gave no %s response", gw->name,
                  hvb__gateway_op_phrase(op));
    } else {
      hvb__error_prefix(&j->error, "gateway '%s'", gw->name);
    }
    json_object_put(out);
    j->over = true;
    return j;
  }
  j->wire = hvb__wire_request_new();
  j->body = g_string_new(NULL);
  if (!gw->ops.prepare(hvb_llm_spec(llm), op, canonical, j->wire, &j->error)) {
    j->over = true;
    return j;
  }
  j->url = hvb_wire_request_url(j->wire);
  hvb_http_request hr = hvb__http_request_for(hvb_llm_spec(llm), j->wire);
  hvb__log(HVB_LOG_DEBUG, "POST %s (%s via gateway %s)", j->url, hvb__gateway_op_phrase(op),
           gw->name);
  hvb_client *client = hvb__llm_client(llm);
  j->transfer = detached
                    ? hvb__transfer_new_detached(client, &hr, gather_body, gather_reset, j->body)
                    : hvb__transfer_new(client, &hr, gather_body, gather_reset, j->body);
  return j;
}

hvb_transfer *hvb__json_transfer(hvb_json_job *j) {
  return j->transfer;
}

bool hvb__json_over(const hvb_json_job *j) {
  return j->over;
}

void hvb__json_settle(hvb_json_job *j, int st, const hvb_error *failure) {
  if (st == HVB_STEP_RUNNING || j->over) return;
  j->over = true;
  g_clear_pointer(&j->transfer, hvb__transfer_free);
  if (st != HVB_STEP_DONE) {
    if (failure) j->error = *failure;
    if (j->error.status == HVB_OK) hvb__fail(&j->error, HVB_TRANSPORT, "%s failed", j->url);
    return;
  }
  json_object *parsed = hvb__json_parse(j->body->str, (long)j->body->len, "response", &j->error);
  if (!parsed) {
    hvb__error_prefix(&j->error, "response from %s", j->url);
    return;
  }
  j->response = j->gw->ops.parse(j->spec, j->op, parsed, &j->error);
  json_object_put(parsed);
  if (!j->response) hvb__error_prefix(&j->error, "response from %s", j->url);
}

json_object *hvb__json_outcome(hvb_json_job *j, hvb_error *err) {
  if (!j->response && err) *err = j->error;
  return j->response ? json_object_get(j->response) : NULL;
}

void hvb__json_free(hvb_json_job *j) {
  if (!j) return;
  hvb__transfer_free(j->transfer);
  hvb__wire_request_free(j->wire);
  if (j->body) g_string_free(j->body, TRUE);
  json_object_put(j->response);
  hvb_spec_unref(j->spec);
  g_free(j);
}

json_object *hvb__llm_call_json(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                                hvb_error *err) {
  hvb_json_job *j = hvb__json_begin(llm, op, canonical, false, err);
  if (!j) return NULL;
  while (!j->over) {
    hvb_error e = HVB_ERROR_INIT;
    hvb_step st = hvb__transfer_step(j->transfer, 1000, &e);
    hvb__json_settle(j, st, &e);
  }
  json_object *res = hvb__json_outcome(j, err);
  hvb__json_free(j);
  return res;
}

