/* plugins/anthropic/translate.h: canonical (OpenAI chat) <-> Anthropic Messages API.
 *
 * Pure functions: no spec, no HTTP, no global state (safe from any thread). anthropic.c puts
 * them behind the gateway descriptor; the unit tests and the fuzz target compile translate.c
 * directly. Wire format: https://docs.anthropic.com/en/api/messages (the schema is the
 * official OpenAPI spec; tests/data/anthropic/messages-request.schema.json holds the part
 * that describes a request).
 *
 * Request rules (canonical chat-completions body -> Messages body):
 *   model, messages      required; "system" and "developer" messages are hoisted, wherever
 *                        they stand, into the top-level "system" (Anthropic has one system
 *                        prompt, not system turns), after a "system" argument if any: one
 *                        string, the texts joined with "\n\n", or text blocks when a part
 *                        carries cache_control (prompt caching needs the block form)
 *   consecutive turns    of the same role are merged into one message (Anthropic requires
 *                        user/assistant alternation); "tool" messages become tool_result
 *                        blocks of a user turn, so consecutive results share one user message
 *   content parts        text -> text block (empty text is left out: the API rejects it;
 *                        cache_control is kept); image_url -> image block (data: URL ->
 *                        base64 source, http(s) URL -> url source); Anthropic's own block
 *                        types (image, document, thinking, redacted_thinking, search_result)
 *                        pass through; anything else (input_audio, file...) is HVB_EINVAL
 *                        (an image_url's "detail" has no Anthropic counterpart: left out)
 *   tool_calls           -> tool_use blocks; arguments must be a JSON object text ("" means
 *                        {}): anything else is HVB_EINVAL naming the call id, because sending
 *                        {} instead would make the model believe it called the tool without
 *                        arguments. Tool-call ids are made to fit Anthropic's pattern
 *                        [a-zA-Z0-9_-]+ (other bytes become '_', the same way in tool_use and
 *                        tool_result, so the pairs still match)
 *   max_tokens           max_tokens, else max_completion_tokens, else
 *                        ANTHROPIC_DEFAULT_MAX_TOKENS (Anthropic requires the field)
 *   thinking             "thinking"/"think": an Anthropic thinking object (passed through),
 *                        true (= medium), false, a budget in tokens, or an effort name;
 *                        else "reasoning_effort". Efforts: none (off), minimal and low (1024
 *                        tokens, the API's minimum), medium (4096), high (16384). A budget
 *                        below 1024 is raised to 1024. When max_tokens <= budget, max_tokens
 *                        becomes budget + max_tokens so the answer keeps the room it was
 *                        given. With thinking on, temperature (unless 1) and top_k are
 *                        dropped and top_p is kept only from 0.95 up: the API rejects them
 *   temperature          clamped to [0, 1] (OpenAI's scale goes to 2, Anthropic's to 1)
 *   top_p, top_k         passed; stop (string or list) and stop_sequences -> stop_sequences
 *   tools                OpenAI function tools -> {name, description, input_schema}; tools
 *                        already in Anthropic's shape (no "function" member) pass through
 *   tool_choice          "auto" -> auto, "required" -> any, "none" -> none,
 *                        {"type":"function","function":{"name":X}} -> {"type":"tool","name":X};
 *                        Anthropic objects pass through. parallel_tool_calls: false ->
 *                        disable_parallel_tool_use. Without tools both are dropped.
 *   user                 -> metadata.user_id (an Anthropic metadata.user_id is kept too)
 *   stream               passed; stream_options (ours, for OpenAI) silently left out
 *   Anthropic-only keys  cache_control, container, inference_geo, output_config, and
 *                        service_tier "auto"/"standard_only" pass through
 *   anything else        (n, presence_penalty, frequency_penalty, logprobs, response_format,
 *                        seed, ...) is dropped, and its name appended to `dropped`
 *
 * Response: text blocks -> content (null when the turn is only tool calls, as OpenAI does),
 * thinking blocks -> reasoning_content, tool_use -> tool_calls (arguments = compact JSON of
 * input), stop_reason -> finish_reason (anthropic_finish_reason), usage -> prompt_tokens
 * (input_tokens), completion_tokens (output_tokens), total_tokens, plus
 * cache_creation_input_tokens and cache_read_input_tokens when reported. prompt_tokens does
 * not include cached tokens: Anthropic counts them apart, and so do we.
 */
#ifndef HVB_ANTHROPIC_TRANSLATE_H
#define HVB_ANTHROPIC_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

/* max_tokens when the request sets none: enough for a long answer, well under every current
 * model's output limit. */
#define ANTHROPIC_DEFAULT_MAX_TOKENS 4096

/* The Messages API version this translation speaks (the anthropic-version header). */
#define ANTHROPIC_API_VERSION "2023-06-01"

/* Canonical chat request (borrowed) -> Messages request body (new reference). Names of the
 * request arguments left out are appended to `dropped` (a JSON array, may be NULL). NULL with
 * HVB_EINVAL naming the message, part, tool or argument that cannot be translated. */
json_object *anthropic_request(json_object *canonical, json_object *dropped, hvb_error *err);

/* Messages response body (borrowed) -> canonical chat.completion (new reference). NULL with
 * HVB_PROVIDER (err->type = the error type) for an error body, HVB_PARSE for a body that is
 * not a message. */
json_object *anthropic_response(json_object *body, hvb_error *err);

/* stop_reason -> finish_reason: end_turn, stop_sequence, pause_turn -> "stop"; max_tokens,
 * model_context_window_exceeded -> "length"; tool_use -> "tool_calls"; refusal ->
 * "content_filter"; any other value is passed unchanged. NULL for NULL. */
const char *anthropic_finish_reason(const char *stop_reason);

/* Streaming: one state per stream. */
typedef struct anthropic_stream anthropic_stream;

anthropic_stream *anthropic_stream_new(void); /* NULL when out of memory */
void anthropic_stream_free(anthropic_stream *st); /* NULL is a no-op */

/* One SSE event (`event` = its event: field, "" when none; `data` NUL-terminated, `len`
 * bytes) -> zero or more chat.completion.chunk objects appended to `chunks`. Sets *done at
 * message_stop. The event's kind comes from the data's "type" (the event: field when the
 * data has none). Chunks: message_start -> role; text / thinking / tool_use block starts and
 * text_delta / thinking_delta / input_json_delta -> content / reasoning_content / tool_calls
 * fragments (the tool's index is its ordinal among the message's tool_use blocks; argument
 * fragments lose the whitespace outside strings, so that the gathered arguments equal the
 * compact JSON a non-streamed reply gives);
 * message_delta -> finish_reason and the usage of the whole message, once (input tokens from
 * message_start unless message_delta reports them, output tokens from message_delta); the
 * content_block_stop of a signed thinking block -> "thinking_blocks" [{type, thinking,
 * signature}] (the whole block, for sending it back), a redacted_thinking block start ->
 * "thinking_blocks" [{type, data}]; ping, citation deltas and unknown event types give nothing.
 * HVB_PROVIDER (err->type set) for an error event; HVB_PARSE for data that is not a JSON
 * object or an input_json_delta for a block that is not a tool_use. */
bool anthropic_stream_event(anthropic_stream *st, const char *event, const char *data,
                            size_t len, json_object *chunks, bool *done, hvb_error *err);

/* Thinking blocks (thinking.c): see there. anthropic_thinking_keep: a response's thinking or
 * redacted_thinking block as the canonical one (new), NULL for others. anthropic_thinking_blocks:
 * append the canonical message's "thinking_blocks" to a turn's `blocks`; returns how many.
 * anthropic_thinking_streamed: the "thinking_blocks" array (new) for a streamed block. */
json_object *anthropic_thinking_keep(json_object *block);
size_t anthropic_thinking_blocks(json_object *msg, json_object *blocks);
json_object *anthropic_thinking_streamed(const char *text, size_t len, const char *signature);

#endif
