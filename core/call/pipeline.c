/* core/call/pipeline.c: the ordered list of stages and the passes over it. */
#include "call/pipeline.h"
#include "cache/ledger.h"
#include "call/telemetry.h"

#include <glib.h>

/* The order is the call's: options make the request the cache keys on; repair amends what
 * the cache stored (a replay is repaired like a live reply); limits before the gateway and
 * the transport that use them; a routed call's limits after the spec's. Telemetry comes first,
 * so that it sees every call (answered or refused by a later stage) and, on the way out, the
 * result as the other stages left it (its cost included); accounting next, so that its clock
 * spans the call. Structured output sits after the cache, so that its reply hook (the way out
 * runs in reverse) judges a reply before the cache would store it; budgets after the cache (a
 * hit costs nothing). The traceparent header needs the gateway's HTTP request. */
static const hvb_stage *const stages[HVB_STAGE_COUNT] = {
    &hvb__stage_telemetry,   /* observer records and OTLP spans */
    &hvb__stage_account,     /* cost, timing, the usage ledger */
    &hvb__stage_options,     /* the canonical request */
    &hvb__stage_cache,       /* lookup; store on the way out */
    &hvb__stage_structured,  /* schema validation, repair, ask again */
    &hvb__stage_budget,      /* refuse a call over a budget */
    &hvb__stage_repair,      /* tool-call repair */
    &hvb__stage_credentials, /* after the cache (a replay needs no key), before any request */
    &hvb__stage_limits,      /* retries, deadlines */
    &hvb__stage_route,       /* a routed call's deadline and retries */
    &hvb__stage_gateway,     /* translation, or an offline answer */
    &hvb__stage_traceparent, /* the trace context header */
    &hvb__stage_transport,   /* the transfer */
};

static hvb_stage_rc request_from(hvb_exchange *x, size_t from, hvb_error *err) {
  for (size_t i = from; i < HVB_STAGE_COUNT; i++) {
    if (!stages[i]->request) continue;
    hvb_stage_rc rc = stages[i]->request(x, &x->state[i], err);
    if (rc == HVB_STAGE_WAIT) x->waiting = (int)i + 1;
    if (rc != HVB_STAGE_NEXT) return rc;
  }
  return HVB_STAGE_NEXT;
}

hvb_stage_rc hvb__pipeline_request(hvb_exchange *x, hvb_error *err) {
  x->waiting = 0;
  return request_from(x, 0, err);
}

hvb_stage_rc hvb__pipeline_poll(hvb_exchange *x, hvb_error *err) {
  if (!x->waiting) return HVB_STAGE_NEXT;
  size_t i = (size_t)x->waiting - 1;
  x->waiting = 0;
  hvb_stage_rc rc = stages[i]->poll(x, &x->state[i], err);
  if (rc == HVB_STAGE_WAIT) x->waiting = (int)i + 1;
  return rc == HVB_STAGE_NEXT ? request_from(x, i + 1, err) : rc;
}

void hvb__pipeline_delta(hvb_exchange *x, json_object *delta) {
  for (size_t i = HVB_STAGE_COUNT; i-- > 0;)
    if (stages[i]->delta) stages[i]->delta(x, &x->state[i], delta);
}

void hvb__pipeline_reply(hvb_exchange *x) {
  for (size_t i = HVB_STAGE_COUNT; i-- > 0;)
    if (stages[i]->reply) stages[i]->reply(x, &x->state[i]);
}

bool hvb__pipeline_result(hvb_exchange *x, hvb_result *r, hvb_error *err) {
  for (size_t i = HVB_STAGE_COUNT; i-- > 0;)
    if (stages[i]->result && !stages[i]->result(x, &x->state[i], r, err)) return false;
  return true;
}

void hvb__pipeline_error(hvb_exchange *x, const hvb_error *e) {
  for (size_t i = HVB_STAGE_COUNT; i-- > 0;)
    if (stages[i]->error) stages[i]->error(x, &x->state[i], e);
}

void hvb__pipeline_release(hvb_exchange *x) {
  for (size_t i = HVB_STAGE_COUNT; i-- > 0;)
    if (stages[i]->release) stages[i]->release(x, &x->state[i]);
  g_clear_pointer(&x->request, json_object_put);
  g_clear_pointer(&x->wire, hvb__wire_request_free);
  g_clear_pointer(&x->answers, json_object_put);
  x->answer_deltas = false;
  g_clear_pointer(&x->answer_raw, json_object_put);
  g_clear_pointer(&x->retry_messages, json_object_put);
  g_clear_pointer(&x->usage, hvb__usage_cfg_unref);
  g_clear_pointer(&x->telemetry, hvb__telemetry_unref);
  x->waiting = 0;
}
