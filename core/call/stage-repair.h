/* core/call/stage-repair.h: tool-call repair in the pipeline (core/call/stage-repair.c), and
 * what the tool loop (core/api/tools.c) shares of it. A result belongs to one call: nothing
 * here is thread-safe on its own. */
#ifndef HVB_CALL_STAGE_REPAIR_H
#define HVB_CALL_STAGE_REPAIR_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>
#include <heavenbase/repair.h>

/* The repair settings of one call: `base` (the LLM's), with "enabled" replaced by the call
 * option "repair_tool_calls" when given (HVB_EINVAL unless it is a boolean). */
bool hvb__repair_settings_for_call(const hvb_repair_config *base, json_object *call_options,
                                   hvb_repair_config *out, hvb_error *err);

/* Repair the tool calls of `r` against `tools` (the request's "tools" array, borrowed, may be
 * NULL) as `rc` says, and record the repairs (for step `step`) in the result; sets the
 * result's repairs array even when repair is off (then empty). false with HVB_PARSE naming
 * the call id, the tool and the reason when rc->strict and a call is unfixable. */
bool hvb__result_repair(hvb_result *r, json_object *tools, const hvb_repair_config *rc, int step,
                        hvb_error *err);

#endif
