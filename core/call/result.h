/* core/call/result.h: hvb_result, the outcome of one chat call (core/call/result.c).
 *
 * The accumulator (core/call/accum.c) builds results; tool-call repair and the tool loop
 * (core/api/tools.c) amend them with the setters below. A result belongs to one thread at a
 * time; its getters borrow.
 */
#ifndef HVB_CALL_RESULT_H
#define HVB_CALL_RESULT_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/llm.h>
#include <heavenbase/usage.h>
#include <glib.h>
#include "call/times.h"

struct hvb_result {
  char *text;           /* the string of text_obj (not a separate allocation) */
  json_object *text_obj; /* the text as a string object, shared with the message's content */
  char *think;
  char *finish_reason;
  json_object *message;
  json_object *tool_calls; /* the message's array (shared reference), or NULL */
  json_object *usage;
  json_object *messages;
  json_object *deltas;
  json_object *raw;
  bool cached; /* replayed from the response cache */
  /* Set by tool-call repair and the tool loop (core/api/tools.c), after hvb__accum_result. */
  json_object *repairs; /* array, NULL until repair ran */
  int steps;
  bool max_steps_reached;
  /* Set by the structured stage (core/call/stage-structured.c). */
  bool structured_asked;        /* the call had a response_format */
  json_object *structured;      /* the value, or NULL */
  json_object *structured_outcome;
  json_object *route; /* a routed call's record (core/call/route.c), else NULL; when
                         route_src is set, made from it on the first hvb_result_route */
  void *route_src;    /* what the record is made from (owned: route_release frees it) */
  json_object *(*route_build)(const void *src);
  void (*route_release)(void *src);
  /* Set by the accounting stage (core/call/stage-account.c); summed by a tool loop. */
  hvb_cost cost;
  hvb_call_timing clock;
  json_object *timing; /* made from `clock` on the first hvb_result_timing, then kept */
};

/* The structured value and its outcome (both taken, may be NULL); marks the call as one
 * that asked for structured output. */
void hvb__result_set_structured(hvb_result *r, json_object *value, json_object *outcome);

/* The call was asked again `retries` times; `errors` (taken, array) are the failed replies'
 * validation errors. */
void hvb__result_structured_retried(hvb_result *r, int retries, json_object *errors);

/* Replace the route record (taken). */
void hvb__result_set_route(hvb_result *r, json_object *route);

/* The route record is made by build(src) when first read (most callers never read it, and a
 * routed call must cost little more than an unrouted one); src is taken: release(src) frees
 * it with the result. */
void hvb__result_set_route_lazy(hvb_result *r, void *src, json_object *(*build)(const void *src),
                                void (*release)(void *src));

/* Add the time the call spent after its result was made (the exchange's release) to the
 * result's timing. */
void hvb__result_timing_add(hvb_result *r, gint64 release_us);

/* What a tool loop gathers of its steps (core/api/tools.c): the sum of their costs and the
 * time of each step's model call and tools. Zeroed to start; hvb__loop_acct_clear frees. */
typedef struct hvb_loop_acct {
  hvb_cost cost;
  json_object *steps; /* array */
  gint64 tools_us;
} hvb_loop_acct;
/* A step answered with `r` (borrowed). */
void hvb__loop_acct_step(hvb_loop_acct *a, const hvb_result *r);
/* The step's tools took `us`. */
void hvb__loop_acct_tools(hvb_loop_acct *a, gint64 us);
/* The loop ends with `r`: its cost becomes the sum, its timing gets the steps (taken). */
void hvb__loop_acct_finish(hvb_loop_acct *a, hvb_result *r);
void hvb__loop_acct_clear(hvb_loop_acct *a);

/* The cost as the include field "cost" shows it (new object). */
json_object *hvb__cost_json(const hvb_cost *c);

/* Replace the tool calls of the result (`calls` taken): in the message, the tool_calls
 * getter and the last message of the conversation. */
void hvb__result_replace_tool_calls(hvb_result *r, json_object *calls);

/* Replace the repairs array (taken). */
void hvb__result_set_repairs(hvb_result *r, json_object *repairs);

/* Replace deltas and usage (taken; usage may be NULL) and set the loop's counters. */
void hvb__result_set_loop(hvb_result *r, json_object *deltas, json_object *usage, int steps,
                          bool max_steps_reached);

#endif
