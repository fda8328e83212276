/* core/call/accum.h: the accumulator (core/call/accum.c).
 *
 * It folds canonical chunks (OpenAI chat.completion.chunk objects) into public deltas and, at
 * the end, into an hvb_result: the cache replays stored results through it, the tool loop
 * reads its tool calls, streams and async calls feed it from the transport.
 *
 * Not thread-safe: an accumulator belongs to one call.
 */
#ifndef HVB_CALL_ACCUM_H
#define HVB_CALL_ACCUM_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/llm.h>

typedef struct hvb_accum hvb_accum;

/* A new, empty accumulator (free with hvb__accum_free). Never NULL. */
hvb_accum *hvb__accum_new(void);
void hvb__accum_free(hvb_accum *acc); /* NULL is a no-op */

/* Forget everything fed so far (a failed attempt that is retried starts afresh). */
void hvb__accum_reset(hvb_accum *acc);

/* Fold one canonical chunk (borrowed; neither kept nor modified):
 *   choices[0].delta.content            -> text
 *   choices[0].delta.reasoning_content  -> think, else .reasoning (the two names providers use)
 *   choices[0].delta.tool_calls         -> tool calls, merged by index and id: a fragment
 *       with an id joins the call with that id, or the latest call of its index that has no
 *       id yet, or starts a new call; a fragment without id joins the latest call of its
 *       index; arguments are concatenated; type, id and name are taken once
 *   choices[0].finish_reason            -> finish reason (the last non-null one)
 *   choices[0].delta.thinking_blocks    -> kept in order (a provider's signed thinking blocks,
 *       given back in the next request); the result's message carries them as
 *       "thinking_blocks"; no public delta
 *   usage (object; null is ignored)     -> merged by hvb__usage_merge
 * Returns the public delta of the chunk (new reference, also recorded for the result's
 * deltas): an object with any of "text", "think", "tool_calls", "finish_reason", "usage";
 * NULL when the chunk carried none of them (a role-only or empty chunk). */
json_object *hvb__accum_feed(hvb_accum *acc, json_object *chunk);

/* Fold one public delta as hvb__accum_feed returned it (borrowed; a cache entry's, checked
 * by hvb__chat_cache_decode_deltas: "text" and "think" non-empty strings, "tool_calls" a
 * non-empty array, "finish_reason" a non-empty string, "usage" an object, each optional):
 * the state becomes what feeding the chunk that made it would have left, without making
 * that chunk. Returns the delta itself (new reference), also recorded for the result's
 * deltas: nothing in it is edited later (usage is shared, as for a parsed reply). */
json_object *hvb__accum_replay(hvb_accum *acc, json_object *delta);

/* Raw payloads for hvb_result_raw. set: the whole response body (reference taken). append:
 * one stream event payload (reference taken), collected into an array. */
void hvb__accum_raw_set(hvb_accum *acc, json_object *body);
void hvb__accum_raw_append(hvb_accum *acc, json_object *payload);

/* The finish reason fed so far, borrowed; NULL when none. */
const char *hvb__accum_finish_reason(const hvb_accum *acc);
/* The usage gathered so far (borrowed; NULL when none was reported). */
json_object *hvb__accum_usage(const hvb_accum *acc);

/* Build the result of everything fed: `request_messages` (borrowed, deep-copied) are the
 * messages that were sent; the assistant message is appended to them. Tool calls whose
 * arguments stayed empty get "{}". The accumulator is left unchanged. Never NULL. */
hvb_result *hvb__accum_result(const hvb_accum *acc, json_object *request_messages);

/* Merge usage object `src` (borrowed) into `dst`: numbers are summed (integers stay
 * integers), the first non-number value of a key is kept (a null is replaced by a later
 * value), nested objects merge recursively. */
void hvb__usage_merge(json_object *dst, json_object *src);

/* hvb__accum_feed(acc, hvb__completion_to_chunk(completion)) without making the chunk: the
 * same fold and the same public delta, for a non-streamed reply (borrowed). */
json_object *hvb__accum_feed_completion(hvb_accum *acc, json_object *completion);

/* A canonical chat.completion (borrowed) as one canonical chunk (new reference): message
 * content (a string, or text parts joined), reasoning_content/reasoning and tool_calls (each
 * given its "index") become the delta; finish_reason and usage are carried over. Feeding it
 * gives the same result as a stream of the same reply. */
json_object *hvb__completion_to_chunk(json_object *completion);

/* A canonical chunk with one choice: `delta` (taken), `finish_reason` and `usage` (borrowed,
 * copied; NULL: none). New reference. */
json_object *hvb__chunk_new(json_object *delta, json_object *finish_reason, json_object *usage);

#endif
