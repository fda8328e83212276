/* core/call/stage-telemetry.c: observing each call (core/call/telemetry.c): when it starts,
 * each transport attempt, how it ended; the record goes to the LLM's observer and, with
 * export on, a span to the OTLP exporter (core/net/otlp.c).
 *
 * First in the list: its way in runs before any stage can answer or refuse the call, and its
 * way out last, after repair amended the result. A chat is reported when its result is built
 * (hvb_llm_chat, hvb_stream_result, an async call's outcome), or when its exchange goes
 * without one (a stream freed after its end, or a call cancelled); embeddings and images when
 * their reply is in. When nothing observes the LLM and no trace context is given, the stage
 * keeps no state and costs one check per call. */
#include "call/pipeline.h"
#include "call/telemetry.h"
#include "call/accum.h"
#include "call/result.h"
#include "base/error.h"

#include <string.h>

static const char *operation_name(hvb_gateway_op op) {
  switch (op) {
  case HVB_GATEWAY_OP_EMBED: return "embeddings";
  case HVB_GATEWAY_OP_IMAGE: return "images";
  default: return "chat";
  }
}

static hvb_stage_rc telemetry_request(hvb_exchange *x, void **state, hvb_error *err) {
  json_object *tp_opt = json_object_is_type(x->options, json_type_object)
                            ? json_object_object_get(x->options, "traceparent")
                            : NULL;
  hvb_obs *o = hvb__obs_begin(x->telemetry, x->options, operation_name(x->op), x->async);
  *state = o; /* first: a refused call is reported too (its error hook) */
  if (tp_opt && !hvb__telemetry_check_traceparent(tp_opt, err)) return HVB_STAGE_FAILED;
  if (!o) return HVB_STAGE_NEXT;
  const char *tp = hvb__obs_traceparent(o);
  if (tp) g_strlcpy(x->traceparent, tp, sizeof x->traceparent);
  x->http.on_attempt = hvb__obs_attempt;
  x->http.attempt_data = o;
  return HVB_STAGE_NEXT;
}

static void report(hvb_exchange *x, void **state, const hvb_result *r, const hvb_error *e) {
  hvb_obs *o = *state;
  hvb_obs_outcome out = {
      .spec = x->spec,
      .url = x->url,
      .result = r,
      .request = x->request,
      .error = e,
      .cached = x->cached,
      .stream = x->force_stream ||
                json_object_get_boolean(json_object_object_get(x->request, "stream")),
  };
  hvb__obs_finish(&o, &out);
  *state = NULL;
}

static void telemetry_reply(hvb_exchange *x, void **state) {
  if (!*state) return;
  hvb__obs_mark_end(*state);
  if (x->op != HVB_GATEWAY_OP_CHAT) report(x, state, NULL, NULL);
}

static bool telemetry_result(hvb_exchange *x, void **state, hvb_result *r, hvb_error *err) {
  (void)err;
  if (*state) report(x, state, r, NULL);
  return true;
}

static void telemetry_error(hvb_exchange *x, void **state, const hvb_error *e) {
  if (*state) report(x, state, NULL, e);
}

static void telemetry_release(hvb_exchange *x, void **state) {
  if (!*state) return;
  if (hvb__obs_ended(*state) && x->acc) { /* a stream whose result nobody asked for */
    hvb_result *r = hvb__accum_result(x->acc, NULL);
    r->cached = x->cached;
    report(x, state, r, NULL);
    hvb_result_free(r);
    return;
  }
  hvb_error e = HVB_ERROR_INIT;
  hvb__fail(&e, HVB_CANCELLED, "the call was cancelled before it ended");
  report(x, state, NULL, &e);
}

const hvb_stage hvb__stage_telemetry = {.name = "telemetry",
                                        .request = telemetry_request,
                                        .reply = telemetry_reply,
                                        .result = telemetry_result,
                                        .error = telemetry_error,
                                        .release = telemetry_release};
