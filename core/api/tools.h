/* core/api/tools.h: tool-call repair in the call pipeline and the tool loop.
 *
 * core/call/result.c owns results, core/api/chat.c calls; core/api/tools.c owns tool sets, the
 * settings of repair and the loop. These are the seams between them. Nothing here is
 * thread-safe on its own: a result belongs to one call.
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

/* The LLM's repair settings and step limit: heavenbase.llm.tool_call_repair.{enabled, strict,
 * split} and heavenbase.llm.max_steps from `cfg`, then the constructor options
 * "tool_call_repair" (true, false or an object of those booleans) and "max_steps". *repair
 * and *max_steps hold the defaults on entry. HVB_CONFIG naming a bad config key, HVB_EINVAL
 * naming a bad option. */
bool hvb__tools_settings(const hvb_config *cfg, json_object *options, hvb_repair_config *repair,
                         int *max_steps, hvb_error *err);

#endif
