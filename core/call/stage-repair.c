/* core/call/stage-repair.c: tool-call repair of a chat result (core/text/repair.c does the
 * repairing), as the pipeline's `result` hook; the tool loop repairs each step's result with
 * the same function. */
#include "call/stage-repair.h"
#include "call/pipeline.h"
#include "call/result.h"
#include "text/json.h"
#include "base/error.h"
#include "base/log.h"

#include <string.h>

bool hvb__repair_settings_for_call(const hvb_repair_config *base, json_object *call_options,
                                   hvb_repair_config *out, hvb_error *err) {
  *out = *base;
  json_object *v = NULL;
  if (!json_object_is_type(call_options, json_type_object) ||
      !json_object_object_get_ex(call_options, "repair_tool_calls", &v) || !v)
    return true;
  if (!json_object_is_type(v, json_type_boolean))
    return hvb__fail(err, HVB_EINVAL, "call option 'repair_tool_calls' must be a boolean");
  out->enabled = json_object_get_boolean(v);
  return true;
}

static json_object *repair_record(const hvb_repair_result *rr, const char *id, const char *tool,
                                  int step) {
  json_object *rec = json_object_new_object();
  json_object_object_add(rec, "id", json_object_new_string(id));
  json_object_object_add(rec, "tool", json_object_new_string(tool));
  json_object_object_add(rec, "step", json_object_new_int(step));
  const char *outcome = hvb_repair_outcome_name(hvb_repair_result_outcome(rr));
  json_object_object_add(rec, "outcome", json_object_new_string(outcome));
  json_object *edits = json_object_new_array();
  for (size_t i = 0; i < hvb_repair_result_edit_count(rr); i++) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(hvb_repair_result_edit_code_at(rr, i)));
    json_object_object_add(e, "text", json_object_new_string(hvb_repair_result_edit_text_at(rr, i)));
    json_object_array_add(edits, e);
  }
  json_object_object_add(rec, "edits", edits);
  const char *reason = hvb_repair_result_reason(rr);
  json_object_object_add(rec, "reason", reason ? json_object_new_string(reason) : NULL);
  return rec;
}

/* A copy of tool call `call` with the given name and arguments, and id `id` (NULL: kept). */
static json_object *call_with(json_object *call, const char *id, const char *name,
                              const char *args) {
  json_object *c = hvb__json_copy(call);
  if (id) json_object_object_add(c, "id", json_object_new_string(id));
  json_object *fn = json_object_object_get(c, "function");
  if (json_object_is_type(fn, json_type_object)) {
    if (name) json_object_object_add(fn, "name", json_object_new_string(name));
    json_object_object_add(fn, "arguments", json_object_new_string(args));
  }
  return c;
}

bool hvb__result_repair(hvb_result *r, json_object *tools, const hvb_repair_config *rc, int step,
                        hvb_error *err) {
  json_object *repairs = json_object_new_array();
  json_object *calls = hvb_result_tool_calls(r);
  if (!rc->enabled || !calls) {
    hvb__result_set_repairs(r, repairs);
    return true;
  }
  if (!json_object_is_type(tools, json_type_array)) tools = NULL;
  unsigned flags = hvb_repair_config_flags(rc) & ~(unsigned)HVB_REPAIR_STRICT;
  json_object *out = json_object_new_array();
  bool changed = false;
  for (size_t i = 0; i < json_object_array_length(calls); i++) {
    json_object *call = json_object_array_get_idx(calls, i);
    json_object *fn = json_object_object_get(call, "function");
    const char *name = hvb__json_str(fn, "name");
    const char *args = hvb__json_str(fn, "arguments");
    const char *id = hvb__json_str(call, "id");
    if (!id) id = "";
    if (!args) args = "";
    hvb_error e = HVB_ERROR_INIT;
    hvb_repair_result *rr = hvb_repair_tool_call(name, args, strlen(args), tools, flags, &e);
    if (!rr) { /* bad input to repair itself (cannot happen for a checked tools array) */
      hvb__log(HVB_LOG_WARN, "tool call '%s' (%s) was not repaired: %s", id,
               name ? name : "", e.message);
      json_object_array_add(out, json_object_get(call));
      continue;
    }
    hvb_repair_outcome oc = hvb_repair_result_outcome(rr);
    if (oc == HVB_REPAIR_UNFIXABLE && rc->strict) {
      hvb__fail(err, HVB_PARSE, "tool call '%s' (%s) has unfixable arguments: %s (%s)", id,
                name ? name : "", hvb_repair_result_reason(rr),
                hvb_repair_result_reason_text(rr));
      hvb_repair_result_free(rr);
      json_object_put(out);
      json_object_put(repairs);
      return false;
    }
    if (oc != HVB_REPAIR_VALID || hvb_repair_result_edit_count(rr) > 0) {
      json_object *rec = repair_record(rr, id, name ? name : "", step);
      hvb__log(HVB_LOG_DEBUG, "tool call repair, step %d: %s", step,
               json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN));
      json_object_array_add(repairs, rec);
    }
    bool untouched = oc == HVB_REPAIR_VALID && hvb_repair_result_edit_count(rr) == 0 &&
                     hvb_repair_result_call_count(rr) == 1;
    if (oc == HVB_REPAIR_UNFIXABLE || untouched) {
      /* Valid arguments keep the provider's exact text. Unfixable ones (not strict) stay as
       * they were: the tool loop answers them with a tool error. */
      json_object_array_add(out, json_object_get(call));
    } else {
      const char *tool_name = hvb_repair_result_tool(rr);
      size_t n = hvb_repair_result_call_count(rr);
      for (size_t k = 0; k < n; k++) {
        /* A split call's later parts need ids of their own to be answered. */
        char *kid = k ? g_strdup_printf("%s_%zu", id, k + 1) : NULL;
        json_object_array_add(out, call_with(call, kid, tool_name, hvb_repair_result_call_at(rr, k)));
        g_free(kid);
      }
      changed = true;
    }
    hvb_repair_result_free(rr);
  }
  if (changed)
    hvb__result_replace_tool_calls(r, out);
  else
    json_object_put(out);
  hvb__result_set_repairs(r, repairs);
  return true;
}

static bool repair_result(hvb_exchange *x, void **state, hvb_result *r, hvb_error *err) {
  (void)state;
  if (x->op != HVB_GATEWAY_OP_CHAT) return true;
  gint64 t = hvb__clock_us();
  bool ok = hvb__result_repair(r, json_object_object_get(x->request, "tools"), &x->repair, 1, err);
  x->times.repair_us += hvb__clock_us() - t;
  return ok;
}

const hvb_stage hvb__stage_repair = {.name = "repair", .result = repair_result};
