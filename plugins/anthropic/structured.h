/* plugins/anthropic/structured.h: response_format on the Messages API
 * (plugins/anthropic/structured.c). Pure functions of their arguments; a stream state belongs
 * to one stream. */
#ifndef HVB_ANTHROPIC_STRUCTURED_H
#define HVB_ANTHROPIC_STRUCTURED_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/spec.h>

/* The forced tool's name: its input is the answer. */
#define ANTHROPIC_STRUCTURED_TOOL "hb_structured_output"

/* Add to the Messages `body` what the canonical request's response_format asks for: nothing
 * for none or "text"; output_config.format when the model's catalog entry says
 * "structured_output": "native" (json_schema only); else the forced tool, with tool_choice
 * {"type": "tool"} ("any" beside the caller's tools, "auto" with extended thinking).
 * false with err: HVB_EINVAL (no schema), HVB_UNSUPPORTED (a forced tool needs an object
 * schema). */
bool anthropic_structured_request(const hvb_spec *spec, json_object *canonical,
                                  json_object *body, hvb_error *err);

/* A canonical chat.completion (modified): the forced tool's call becomes the message's text,
 * and finish_reason "stop" when no other tool was called. */
void anthropic_structured_completion(json_object *completion);

/* The same for a stream's canonical chunks (modified in place), with the state between
 * chunks. Start with ANTHROPIC_STRUCTURED_STREAM_INIT. */
typedef struct anthropic_structured_stream {
  int answer_index; /* the forced tool's tool_calls index, or -1 */
  bool other_tools; /* the model called one of the caller's tools too */
} anthropic_structured_stream;
#define ANTHROPIC_STRUCTURED_STREAM_INIT {-1, false}

void anthropic_structured_chunks(anthropic_structured_stream *st, json_object *chunks);

#endif
