/* core/api/json-call.c: one JSON request, one JSON response (embeddings, images), run to its
 * end by the caller (hvb__llm_call_json) or in pieces by the async engine (a JSON job). */
#include "api/json-call.h"
#include "api/handle.h"
#include "call/pipeline.h"
#include "gateway/gateway.h"
#include "net/transport.h"
#include "text/json.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <glib.h>

/* ============================================================================================
 * One JSON request, one JSON response: embeddings and images (and any op without a stream)
 * ========================================================================================== */

static hvb_sink_rc gather_body(void *user_data, const char *data, size_t len, hvb_error *err) {
  GString *body = user_data;
  (void)err; /* the transport caps the body (max_response_bytes, core/call/stage-limits.c) */
  g_string_append_len(body, data, (gssize)len);
  return HVB_SINK_PROGRESS;
}

static void gather_reset(void *user_data) {
  g_string_truncate(user_data, 0);
}

/* One JSON operation in flight: either answered at once (offline gateway, or a failure before
 * anything was sent) or waiting for its transfer. */
struct hvb_json_job {
  hvb_exchange x; /* what the pipeline's stages see: spec, gateway, request, transfer... */
  GString *body;
  bool over;
  json_object *response; /* once over: the canonical response, or NULL with error */
  hvb_error error;
};

/* The way in answered (an offline gateway): its first response is the job's. */
static void take_answer(hvb_json_job *j) {
  j->response = json_object_get(json_object_array_get_idx(j->x.answers, 0));
  if (!j->response)
    hvb__fail(&j->error, HVB_GATEWAY, "gateway '%s' gave no %s response", j->x.gw->name,
              hvb__gateway_op_phrase(j->x.op));
}

hvb_json_job *hvb__json_begin(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                              bool detached, hvb_error *err) {
  if (!hvb_llm_supports(llm, op, err)) return NULL;
  const hvb_gateway_record *gw = hvb__llm_gateway(llm);
  if (!hvb__gateway_offline(gw) && (!gw->ops.prepare || !gw->ops.parse)) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' lacks the prepare or parse operation", gw->name);
    return NULL;
  }
  hvb_json_job *j = g_new0(hvb_json_job, 1);
  hvb__llm_exchange_init(llm, &j->x, op);
  j->body = g_string_new(NULL);
  j->x.request = json_object_get(canonical);
  j->x.async = detached;
  j->x.sink = gather_body;
  j->x.reset = gather_reset;
  j->x.sink_data = j->body;
  /* A failure on the way in is the job's outcome, as a failed transfer's would be. */
  hvb_stage_rc rc = hvb__pipeline_request(&j->x, &j->error);
  if (rc == HVB_STAGE_ANSWERED) take_answer(j);
  if (rc == HVB_STAGE_NEXT) return j;
  j->over = true;
  j->x.response = j->response;
  if (j->response) hvb__pipeline_reply(&j->x);
  else hvb__pipeline_error(&j->x, &j->error);
  return j;
}

hvb_transfer *hvb__json_transfer(hvb_json_job *j) {
  return j->x.transfer;
}

bool hvb__json_over(const hvb_json_job *j) {
  return j->over;
}

/* The 2xx body, parsed through the gateway: the response, or NULL with j->error. */
static json_object *parse_body(hvb_json_job *j) {
  json_object *parsed = hvb__json_parse(j->body->str, (long)j->body->len, "response", &j->error);
  json_object *resp = parsed ? j->x.gw->ops.parse(j->x.spec, j->x.op, parsed, &j->error) : NULL;
  json_object_put(parsed);
  if (!resp) hvb__error_prefix(&j->error, "response from %s", j->x.url);
  return resp;
}

void hvb__json_settle(hvb_json_job *j, int st, const hvb_error *failure) {
  if (st == HVB_STEP_RUNNING || j->over) return;
  j->over = true;
  g_clear_pointer(&j->x.transfer, hvb__transfer_free);
  if (st == HVB_STEP_DONE) {
    j->response = parse_body(j);
  } else {
    if (failure) j->error = *failure;
    if (j->error.status == HVB_OK) hvb__fail(&j->error, HVB_TRANSPORT, "%s failed", j->x.url);
  }
  j->x.response = j->response;
  if (j->response) hvb__pipeline_reply(&j->x);
  else hvb__pipeline_error(&j->x, &j->error);
}

json_object *hvb__json_outcome(hvb_json_job *j, hvb_error *err) {
  if (!j->response && err) *err = j->error;
  return j->response ? json_object_get(j->response) : NULL;
}

void hvb__json_free(hvb_json_job *j) {
  if (!j) return;
  hvb__transfer_free(j->x.transfer);
  hvb__pipeline_release(&j->x);
  if (j->body) g_string_free(j->body, TRUE);
  json_object_put(j->response);
  hvb_spec_unref(j->x.spec);
  g_free(j);
}

json_object *hvb__llm_call_json(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                                hvb_error *err) {
  hvb_json_job *j = hvb__json_begin(llm, op, canonical, false, err);
  if (!j) return NULL;
  while (!j->over) {
    hvb_error e = HVB_ERROR_INIT;
    hvb_step st = hvb__transfer_step(j->x.transfer, 1000, &e);
    hvb__json_settle(j, st, &e);
  }
  json_object *res = hvb__json_outcome(j, err);
  hvb__json_free(j);
  return res;
}

