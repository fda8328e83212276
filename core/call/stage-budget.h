/* core/call/stage-budget.h: checking budgets when an LLM is made (core/call/stage-budget.c). */
#ifndef HVB_CALL_STAGE_BUDGET_H
#define HVB_CALL_STAGE_BUDGET_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

/* Check heavenbase.llm.budgets (borrowed, may be NULL): true, or false with HVB_CONFIG naming
 * the budget and the member that is wrong. */
bool hvb__budgets_check(json_object *budgets, hvb_error *err);

#endif
