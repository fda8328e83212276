/* core/api/tools.h: tool-call repair in the call pipeline and the tool loop.
 *
 * core/api/llm.c owns results and calls; core/api/tools.c owns tool sets, the settings of repair and
 * the loop. These are the seams between them. Nothing here is thread-safe on its own: a result
 * belongs to one call.
 */
#ifndef HVB_TOOLS_INTERNAL_H
#define HVB_TOOLS_INTERNAL_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/config.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>
#include <heavenbase/repair.h>
#include <heavenbase/tools.h>

/* ---- core/api/tools.c ---- */

/* The LLM's repair settings and step limit: heavenbase.llm.tool_call_repair.{enabled, strict,
 * split} and heavenbase.llm.max_steps from `cfg`, then the constructor options
 * "tool_call_repair" (true, false or an object of those booleans) and "max_steps". *repair
 * and *max_steps hold the defaults on entry. HVB_CONFIG naming a bad config key, HVB_EINVAL
 * naming a bad option. */
bool hvb__tools_settings(const hvb_config *cfg, json_object *options, hvb_repair_config *repair,
                         int *max_steps, hvb_error *err);

/* Repair the tool calls of `r` against `tools` (the request's "tools" array, borrowed, may be
 * NULL) as `rc` says, and record the repairs (for step `step`) in the result; sets the
 * result's repairs array even when repair is off (then empty). false with HVB_PARSE naming
 * the call id, the tool and the reason when rc->strict and a call is unfixable. */
bool hvb__result_repair(hvb_result *r, json_object *tools, const hvb_repair_config *rc, int step,
                        hvb_error *err);

/* ---- core/api/llm.c ---- */

/* One chat call run to its end (hvb_llm_chat and hvb_llm_chat_messages are this with
 * runs_tools false). `runs_tools`: the caller will execute tools on the answer, so the call
 * bypasses the text cache. */
hvb_result *hvb__llm_chat_ex(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, bool runs_tools, hvb_error *err);

/* The LLM's max_steps. */
int hvb__llm_max_steps(const hvb_llm *llm);

/* The repair settings of one call: the LLM's, with "enabled" replaced by the call option
 * "repair_tool_calls" when given (HVB_EINVAL unless it is a boolean). */
bool hvb__llm_call_repair(const hvb_llm *llm, json_object *call_options, hvb_repair_config *out,
                          hvb_error *err);

/* Replace the tool calls of the result (`calls` taken): in the message, the tool_calls
 * getter and the last message of the conversation. */
void hvb__result_replace_tool_calls(hvb_result *r, json_object *calls);

/* Replace the repairs array (taken). */
void hvb__result_set_repairs(hvb_result *r, json_object *repairs);

/* Replace deltas and usage (taken; usage may be NULL) and set the loop's counters. */
void hvb__result_set_loop(hvb_result *r, json_object *deltas, json_object *usage, int steps,
                          bool max_steps_reached);

#endif
