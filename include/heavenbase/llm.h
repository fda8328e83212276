/* heavenbase/llm.h: chat and streaming.
 *
 *     hvb_error err = HVB_ERROR_INIT;
 *     hvb_llm *llm = hvb_llm_new_preset("mock", &err);
 *     hvb_result *r = hvb_llm_chat(llm, "Hello", NULL, &err);
 *     if (r) puts(hvb_result_text(r));
 *     hvb_result_free(r);
 *     hvb_llm_free(llm);
 *
 * Call options (a JSON object, every key optional; NULL means none):
 *   "system"     a system prompt placed before the messages
 *   "stream"     true: ask the provider for a server-sent event stream (chat gathers it)
 *   "args"       request arguments for this call; any other unknown key is one too
 *                ("temperature": 0.2, "max_tokens": 100, "tools": [...], ...)
 *   "cache"      the response cache for this call: false, true, or a cache settings object
 *                merged over the LLM's (see cache.h; the constructor option "cache" is the
 *                same for every call of the LLM)
 *   "repair_tool_calls"  false: leave this call's tool calls as the model wrote them (default:
 *                the LLM's tool_call_repair setting; see tools.h)
 *   "max_steps"  the step limit of a tool loop (tools.h); ignored by a plain chat
 *   "traceparent"  a W3C trace context ("00-<trace id>-<span id>-<flags>") for this call: its
 *                span joins that trace, and the provider gets a traceparent header
 *                (observe.h, docs/telemetry.md); HVB_EINVAL when malformed
 *   "invalid_utf8"  "error" (the default): a prompt or message text that is not UTF-8 fails
 *                with HVB_EINVAL naming the byte offset; "replace": each bad byte becomes
 *                U+FFFD
 *   "response_format", "structured_retries"  structured output (structured.h); the first is
 *                also sent as a request argument, translated by each gateway
 *
 * These keys, and the constructor options of spec.h, are library options: they never reach
 * the request body, whatever the scope they are given in; hvb_option_scope tells them from
 * request arguments. A library option of the wrong type is HVB_EINVAL naming it.
 *
 * Texts are UTF-8 and may hold U+0000 (a reply with "\u0000"): hvb_result_text_len gives the
 * whole text; hvb_result_text's C string ends at the first NUL.
 *
 * Tool calls of every result (chat, stream, cached) are repaired before the result is
 * returned, as tools.h describes; hvb_result_repairs (tools.h) lists what was changed.
 *
 * The response cache (cache.h) answers a repeated deterministic chat (temperature 0, or a
 * fixed seed without temperature; top_p and top_k at their defaults) without a request: the
 * result is the stored one (hvb_result_cached says so) and a stream replays the stored deltas.
 * Plain and streamed calls share entries. Errors, aborted and truncated streams are never
 * stored, and the cache never makes a call fail.
 * Call arguments override the constructor's (see spec.h for the full precedence).
 *
 * Messages are OpenAI chat-completions messages: [{"role": "user", "content": "hi"}, ...]; a
 * message list must be a non-empty array of objects, each with a string "role".
 *
 * The offline `mock` gateway (preset "mock"; the plugin hb-gateway-mock.so, whose rules,
 * scripted replies included, are documented in plugins/mock/mock.c and docs/gateway-abi.md)
 * answers deterministically, without network:
 * the reply is "Mock reply to: " followed by the text of the last user message (its string
 * content, or its text parts joined with " "), or "(no user message)". It streams one delta
 * per word (each word with the whitespace after it), then finish_reason "stop", then usage
 * {"prompt_tokens": words in all request messages, "completion_tokens": words in the reply,
 * "total_tokens": their sum}, words being whitespace-separated.
 *
 * Errors: HVB_UNSUPPORTED when the gateway cannot chat (checked first, see hvb_llm_supports);
 * HVB_EINVAL for bad messages or options (the field is named); HVB_HTTP with
 * err->http_status, err->type and the provider's message; HVB_TRANSPORT when the connection
 * fails after the retries; HVB_TIMEOUT (connect, total or idle timeout, named);
 * HVB_TRUNCATED when a stream ends without [DONE] or a finish reason; HVB_PROVIDER for an
 * error event inside a stream or an error body with status 200; HVB_PARSE for a response
 * that is not valid JSON.
 *
 * Retries: 408, 409, 429, 5xx and connection failures are retried with exponential backoff
 * and jitter, honouring retry-after-ms and Retry-After (capped); never once stream output has
 * reached the caller; 400/401/403/404 are never retried.
 *
 * Thread safety: an hvb_llm may be used by several threads at once (each call is independent;
 * connections are shared under a lock), synchronous and async (async.h) calls alike; the
 * LLM's settings are read-only after construction and its response cache is locked. A result
 * or a stream belongs to one thread at a time. hvb_llm_free must wait until no other thread
 * is inside a call of the LLM; async calls already started continue (each keeps what it
 * needs of the LLM, see async.h).
 */
#ifndef HEAVENBASE_LLM_H
#define HEAVENBASE_LLM_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/config.h>
#include <heavenbase/gateway.h>
#include <heavenbase/spec.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvb_llm hvb_llm;
typedef struct hvb_result hvb_result;
typedef struct hvb_stream hvb_stream;

/* Scopes of a library option, the bits hvb_option_scope returns. */
#define HVB_OPTION_LLM 1u  /* a constructor option (hvb_llm_new) */
#define HVB_OPTION_CALL 2u /* a call option */

/* Is `name` a library option (a setting of the library, never sent to the provider), and in
 * which scopes: HVB_OPTION_LLM | HVB_OPTION_CALL bits, 0 for a request argument (or NULL).
 * For programs such as hb that take KEY=VALUE and must decide where each goes. Thread-safe. */
unsigned hvb_option_scope(const char *name);

/* Create an LLM from constructor options (spec.h lists them; borrowed, may be NULL), using
 * the configuration loaded from the environment. NULL with err set when resolution fails. */
hvb_llm *hvb_llm_new(json_object *options, hvb_error *err);

/* As hvb_llm_new, with an explicit configuration (borrowed: it must outlive the call only;
 * the LLM keeps what it needs). */
hvb_llm *hvb_llm_new_with_config(const hvb_config *cfg, json_object *options, hvb_error *err);

/* Shorthand for hvb_llm_new({"preset": preset}). */
hvb_llm *hvb_llm_new_preset(const char *preset, hvb_error *err);

void hvb_llm_free(hvb_llm *llm); /* NULL is a no-op */

/* The resolved spec, borrowed from the LLM (hvb_spec_ref it to keep it longer). */
const hvb_spec *hvb_llm_spec(const hvb_llm *llm);

/* Can this LLM's gateway do `op`? Checks the gateway's capabilities, then its own `supports`
 * operation (which refuses known-unsupported combinations, such as a provider without
 * embeddings). true, or false with HVB_UNSUPPORTED naming the gateway and the operation
 * ("gateway 'anthropic' does not support embeddings"); HVB_EINVAL for a NULL llm or an
 * unknown op. Every call runs this check first; callers may run it up front. Thread-safe. */
bool hvb_llm_supports(const hvb_llm *llm, hvb_gateway_op op, hvb_error *err);

/* Chat with one user prompt, or with a message list: `messages` is a JSON array (borrowed)
 * or NULL with `prompt` given; exactly one of them (HVB_EINVAL otherwise). Every entry point
 * that takes a conversation has this shape (prompt, messages, call options): stream, async,
 * tools, glib. Returns a new result (free with hvb_result_free). */
hvb_result *hvb_llm_chat(hvb_llm *llm, const char *prompt, json_object *messages,
                         json_object *call_options, hvb_error *err);

/* Start a streamed chat (the request is sent with "stream": true). `messages` is a JSON array
 * (borrowed) or NULL with `prompt` given; exactly one of them. Returns a new stream (free with
 * hvb_stream_free, which aborts a transfer still running). */
hvb_stream *hvb_llm_stream(hvb_llm *llm, const char *prompt, json_object *messages,
                           json_object *call_options, hvb_error *err);

/* Wait for the next delta. Returns true with *delta set to a JSON object borrowed until the
 * next call on the stream, or true with *delta NULL at the end of the stream (and on every
 * later call); false with err set on failure (the stream is then finished: later calls give
 * the same error). Deltas that arrived before a failure are handed out first. Once a delta
 * reached the caller the request is never retried. A delta has any of the keys:
 *   "text" (string), "think" (string), "tool_calls" (array of fragments as the provider sent
 *   them: index, id, type, function.name, function.arguments), "finish_reason" (string),
 *   "usage" (object). */
bool hvb_stream_next(hvb_stream *stream, json_object **delta, hvb_error *err);

/* After the stream ended (hvb_stream_next gave NULL), the gathered result, as a new result
 * the caller frees; NULL with HVB_EINVAL before the end, or with the stream's own error after
 * a failure. Equal to what hvb_llm_chat returns for the same reply (raw aside: a body is not
 * a list of events). */
hvb_result *hvb_stream_result(hvb_stream *stream, hvb_error *err);

void hvb_stream_free(hvb_stream *stream); /* NULL is a no-op */

/* ---- results (all getters borrow from the result; valid until hvb_result_free) ---- */

/* The answer text ("" when the model produced none; never NULL). */
const char *hvb_result_text(const hvb_result *r);
/* The same, with its length in bytes in *len (may be NULL): the whole text even when it holds
 * a NUL byte. */
const char *hvb_result_text_len(const hvb_result *r, size_t *len);
/* The reasoning text ("reasoning_content", "reasoning" or thinking blocks), "" when none. */
const char *hvb_result_think(const hvb_result *r);
/* "stop", "length", "tool_calls", ...; "" when the provider gave none. */
const char *hvb_result_finish_reason(const hvb_result *r);
/* The assistant message as an OpenAI message object. A provider's signed thinking (Anthropic)
 * is kept as "thinking_blocks": [{"type": "thinking", "thinking", "signature"} or
 * {"type": "redacted_thinking", "data"}], which the gateway sends back when the message is
 * part of a later request (a tool loop's next step, a session's next turn). */
json_object *hvb_result_message(const hvb_result *r);
/* Tool calls of the assistant message (array), NULL when none. */
json_object *hvb_result_tool_calls(const hvb_result *r);
/* Token usage (object; numbers summed across stream chunks), NULL when none was reported. */
json_object *hvb_result_usage(const hvb_result *r);
/* The conversation: the request's messages followed by the assistant message. */
json_object *hvb_result_messages(const hvb_result *r);
/* Every canonical delta in order (array of the objects hvb_stream_next yields). */
json_object *hvb_result_deltas(const hvb_result *r);
/* The provider's raw payload: the response body object, or for a stream the array of event
 * payloads; NULL when none (offline gateways may give none). */
json_object *hvb_result_raw(const hvb_result *r);
/* A routed call's record (borrowed; include field "route", docs/routing.md): {"name",
 * "strategy", "answered": the target's label or null, "attempts": [{"target", "index",
 * "outcome": "answered" | "failed" | "skipped", "status", "http_status", "reason", "ms"}],
 * "ms"}; NULL for a call that was not routed. */
json_object *hvb_result_route(const hvb_result *r);

/* The route `name` of the catalog (heavenbase.llm.routes.NAME, docs/routing.md) as `hb route
 * status` shows it: its view (as hvb_spec_route) whose targets each also have "model_id" and
 * "breaker": the target's circuit breaker in this process, {"state": "closed" | "open" |
 * "half-open", "consecutive_failures", "failures", "successes", "skipped",
 * "half_open_in_s" (open only)}, or null when the route has none. `name` NULL: an array of
 * every route, a route that cannot be loaded giving {"name", "error"}. `cfg` NULL: the
 * configuration is loaded. New reference, or NULL with err (HVB_NOT_FOUND: no such route;
 * HVB_CONFIG: it or one of its targets cannot be loaded). Thread-safe. */
json_object *hvb_route_status(const hvb_config *cfg, const char *name, hvb_error *err);

/* Was the result replayed from the response cache (no request was made)? */
bool hvb_result_cached(const hvb_result *r);

/* Project the result by a comma-separated `include` list of: text, think, content (thinking
 * wrapped as "<think>\n...\n</think>\n" before the answer), message, messages, delta,
 * tool_calls, usage, raw, structured, structured_outcome (structured.h; HVB_EINVAL for a
 * result of a call without response_format). One field gives that value; several give an object keyed by field.
 * Spaces around names are ignored; NULL or "" means "text". Returns a new reference (NULL
 * for a JSON null value, e.g. usage when none) and sets *ok (may be NULL) to true, or NULL
 * with *ok false and HVB_EINVAL naming an unknown field and listing the valid ones. */
json_object *hvb_result_project(const hvb_result *r, const char *include, bool *ok,
                                hvb_error *err);

void hvb_result_free(hvb_result *r); /* NULL is a no-op */

#ifdef __cplusplus
}
#endif

#endif
