/* core/gateway/openai-shape.h: the JSON type checks of OpenAI replies (openai-shape.c).
 *
 * The accumulator reads a reply leniently (a member of the wrong type reads as absent), so a
 * reply of the wrong shape would become an empty success, and be cached. These checks run
 * first, at the gateway: every member the core reads is checked for its JSON type, null only
 * where the protocol allows it, and the first wrong one is an HVB_PARSE error whose message
 * starts with the member's path ("choices[0].message.content: expected a string or null, got
 * an integer"). Members the core does not read are not looked at.
 *
 * Pure functions of their argument (borrowed); thread-safe.
 */
#ifndef HVB_GATEWAY_OPENAI_SHAPE_H
#define HVB_GATEWAY_OPENAI_SHAPE_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

/* A chat.completion body: choices (a non-empty array of objects with a message object),
 * each message's role, content (a string, null, or an array of text parts), reasoning,
 * tool_calls, the finish_reason, usage. */
bool hvb__openai_shape_completion(json_object *body, hvb_error *err);

/* A chat.completion.chunk (a stream event): choices (an array, or absent/null on a
 * usage-only chunk), each delta's members, tool-call fragments, finish_reason, usage. */
bool hvb__openai_shape_chunk(json_object *chunk, hvb_error *err);

/* An embeddings body: data (an array of objects with an array of numbers as embedding, an
 * integer index when given), usage. */
bool hvb__openai_shape_embeddings(json_object *body, hvb_error *err);

/* An images body: data (a non-empty array of objects, each with b64_json or url, strings),
 * revised_prompt when given. */
bool hvb__openai_shape_images(json_object *body, hvb_error *err);

#endif
