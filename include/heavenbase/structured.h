/* heavenbase/structured.h: structured output, a reply that is a JSON value of a given schema.
 *
 *     hvb_error err = HVB_ERROR_INIT;
 *     json_object *opts = json_object_new_object();
 *     if (hvb_call_options_set_schema_text(opts, "person",
 *             "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}},"
 *             " \"required\": [\"name\"], \"additionalProperties\": false}", true, &err)) {
 *       hvb_result *r = hvb_llm_chat(llm, "Invent a person", NULL, opts, &err);
 *       if (r) puts(json_object_to_json_string(hvb_result_structured(r)));
 *       hvb_result_free(r);
 *     }
 *     json_object_put(opts);
 *
 * The call option "response_format" asks for it, in OpenAI's form: {"type": "json_object"}
 * (any JSON object) or {"type": "json_schema", "json_schema": {"name": ..., "schema": {...},
 * "strict": true}}. It is a request argument too: every gateway translates it (openai,
 * portkey, bifrost and litellm send it as OpenAI defines it; anthropic uses the native output
 * format or a forced tool, as the catalog says of the model; mock answers with a value made
 * from the schema). Given to hvb_llm_new it holds for every call of the LLM.
 *
 * What the library does with the reply (docs/structured.md): it parses the text and validates
 * it against the schema (the subset of JSON Schema the providers' strict modes define). A
 * reply that is not valid JSON, or does not match, goes through the repair of repair.h
 * (fences, prose, brackets, trailing commas, defaults of missing required fields). When it
 * still fails, the call is asked again, up to the call option "structured_retries" times
 * (default 1; 0: never), with the reply and the validation error added to the conversation.
 * A reply that never matches fails the call with HVB_SCHEMA, message
 * "structured reply does not match schema 'NAME': <JSON pointer>: <rule>". A failed reply is
 * never stored in the response cache; the schema is part of the cache key.
 *
 * Retries apply to hvb_llm_chat (and so to each step of a tool loop, whose final answer is
 * the one validated: a step that calls tools is not); a stream (hvb_llm_stream) or an async
 * call is not asked again: its failure is HVB_SCHEMA from hvb_stream_result / the call.
 *
 * Streaming: each delta of a streamed structured call whose value is an object carries
 * "structured_partial", the longest valid prefix of the value so far, closed (a JSON object
 * that is a prefix of the final value); the delta that carries the finish reason carries
 * "structured", the validated value (absent when it did not validate).
 *
 * Errors: HVB_EINVAL for a malformed response_format or schema (naming the field), and for
 * include "structured" without a response_format; HVB_SCHEMA as above.
 * Thread safety: the functions below keep no state; a result belongs to one thread at a time.
 */
#ifndef HEAVENBASE_STRUCTURED_H
#define HEAVENBASE_STRUCTURED_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A response_format object asking for `schema` (borrowed, deep-copied; must be a JSON object)
 * under `name` (1 to 64 of [A-Za-z0-9_-], as OpenAI requires), strict or not. A NULL schema
 * asks for any JSON object ({"type": "json_object"}; name is then ignored). New reference,
 * or NULL with HVB_EINVAL naming what is wrong. */
json_object *hvb_response_format_new(const char *name, json_object *schema, bool strict,
                                     hvb_error *err);

/* The same with the schema as JSON text (NUL-terminated); HVB_EINVAL when it is not JSON. */
json_object *hvb_response_format_new_text(const char *name, const char *schema_json, bool strict,
                                          hvb_error *err);

/* Set "response_format" in `call_options` (a JSON object, modified) from a schema object
 * (borrowed) or JSON text. false with err set (options untouched) on bad input. */
bool hvb_call_options_set_schema(json_object *call_options, const char *name,
                                 json_object *schema, bool strict, hvb_error *err);
bool hvb_call_options_set_schema_text(json_object *call_options, const char *name,
                                      const char *schema_json, bool strict, hvb_error *err);

/* The parsed, validated value of a structured call (borrowed, valid as long as the result;
 * take a reference to keep it); NULL when the call did not ask for structured output. Also
 * the include field "structured" of hvb_result_project. */
json_object *hvb_result_structured(const hvb_result *r);

/* How the value was obtained (borrowed; NULL when the call did not ask for structured
 * output), the include field "structured_outcome":
 *   {"outcome": "valid" | "repaired" | "retried", "edits": [{"code", "text"}, ...],
 *    "retries": N, "errors": ["<pointer>: <rule>", ...]}
 * "repaired": the reply was fixed by the repair (its edits listed); "retried": the call was
 * asked again N times (the errors of the replies that failed listed). */
json_object *hvb_result_structured_outcome(const hvb_result *r);

#ifdef __cplusplus
}
#endif

#endif
