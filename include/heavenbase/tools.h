/* heavenbase/tools.h: tool calls, schema tools and executable tools (the tool loop).
 *
 * Two kinds of tools:
 *   - SCHEMA tools: an OpenAI function definition sent in the request's "tools"; the model's
 *     calls come back to the caller as hvb_result_tool_calls and are never run. Pass them as
 *     the call option "tools" of hvb_llm_chat, or add them with hvb_tools_add_schema.
 *   - EXECUTABLE tools: a name, a description, a JSON schema and a C callback. Given to
 *     hvb_llm_chat_tools, they make the call LOOP:
 *
 *     static json_object *weather(json_object *args, void *ud, hvb_error *err) {
 *       json_object *out = json_object_new_object();
 *       json_object_object_add(out, "temp_c", json_object_new_int(21));
 *       return out;
 *     }
 *     hvb_tools *tools = hvb_tools_new();
 *     hvb_tools_add(tools, "get_weather", "Weather of a city", schema, weather, NULL, &err);
 *     hvb_result *r = hvb_llm_chat_tools(llm, "Weather in Paris?", NULL, tools, NULL, &err);
 *     puts(hvb_result_text(r));            // the final answer
 *     // hvb_result_messages(r): user, assistant (tool_calls), tool, ..., assistant (answer)
 *
 * The loop, step by step (a step is one model call):
 *   1. the model is called with the conversation, the tools and "tool_choice" (the call
 *      option "tool_choice" passes through; "auto" when none is given);
 *   2. its tool calls are repaired (below), then each is answered by one "tool" message
 *      {"role": "tool", "tool_call_id": id, "content": <JSON text>}, in the order of the
 *      calls: the callback's result serialized as compact JSON, or, when the callback fails,
 *      the tool is unknown or the arguments are unusable, the error object
 *      {"ok": false, "error": {"type": ..., "message": ...}} so the model can recover.
 *      Error types: the hvb_status name the callback set (e.g. "EINVAL"; "ERROR" when it set
 *      none), "unknown_tool", "invalid_arguments";
 *   3. back to 1, until the model answers without tool calls, or calls a schema tool (the loop
 *      then stops and returns that step: the caller runs the calls), or max_steps model calls
 *      were made.
 * Reaching max_steps is not an error: the result of the last step is returned with its tool
 * calls NOT run, hvb_result_max_steps_reached() is true and a warning is logged. max_steps is
 * the call option "max_steps" (positive integer), else the config key heavenbase.llm.max_steps,
 * else 20.
 *
 * The result of a loop is the last step's, with: hvb_result_messages = the whole conversation
 * (request messages, every assistant message, every tool message); hvb_result_deltas = the
 * deltas of every step in order, each tool message adding a delta {"tool_result": {"id",
 * "name", "content", "ok"}}; usage summed over the steps; hvb_result_repairs over all steps;
 * hvb_result_steps = the number of model calls. A chat that runs executable tools never uses
 * the text cache (its answer depends on what the tools return).
 *
 * Tool-call repair (repair.h) runs on every result with tool calls, streamed or not, before
 * tools run and before the result is returned, when enabled: config
 * heavenbase.llm.tool_call_repair.{enabled (default true), strict (false), split (false)},
 * overridden by the constructor option "tool_call_repair" (true, false or {"enabled",
 * "strict", "split"}), and per call by "repair_tool_calls" (boolean; default: the LLM's
 * "enabled"). Repaired arguments and corrected tool names replace the originals in the
 * message, its tool_calls and messages; each call that needed a repair (or could not be
 * repaired) is listed by hvb_result_repairs. An unfixable call fails the whole call with
 * HVB_PARSE (naming the tool call and the reason) when strict; otherwise its original
 * arguments are kept and an executable tool is not called: the model gets an
 * "invalid_arguments" tool error instead.
 *
 * Thread safety: build an hvb_tools in one thread; once built it is only read, and may be
 * used by several calls in several threads at once. Callbacks then run in the calling
 * threads (for an async chat: the engine thread), possibly at the same time: they must be
 * safe for that if the tools are shared. An async chat copies the set when it starts.
 */
#ifndef HEAVENBASE_TOOLS_H
#define HEAVENBASE_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HVB_TOOLS_DEFAULT_MAX_STEPS 20

typedef struct hvb_tools hvb_tools;

/* An executable tool. `args` is the parsed (and repaired) arguments object, borrowed for the
 * duration of the call. Return a new reference to the result (any JSON value; NULL is not a
 * result), or NULL with `err` set (hvb_gateway_fail in gateway.h fills an hvb_error, or set
 * it by hand); the error's status name and message are sent to the model as a tool error.
 * A callback may call the library itself; a nested tool loop counts its own steps. */
typedef json_object *(*hvb_tool_fn)(json_object *args, void *user_data, hvb_error *err);

/* A new, empty tool set (free with hvb_tools_free). Never NULL. */
hvb_tools *hvb_tools_new(void);

/* Free the set (NULL is a no-op). user_data is not freed: it belongs to the caller. */
void hvb_tools_free(hvb_tools *tools);

/* Add an executable tool. `name`: 1-64 characters of [A-Za-z0-9_-] (OpenAI's rule), unique in
 * the set; `description` may be NULL; `parameters` a JSON schema object (borrowed, copied;
 * NULL: {"type": "object", "properties": {}}); `fn` must not be NULL; `user_data` is handed to
 * fn as is. false with HVB_EINVAL naming the tool for a bad name, a duplicate, a schema that is
 * not an object, or a NULL fn. */
bool hvb_tools_add(hvb_tools *tools, const char *name, const char *description,
                   json_object *parameters, hvb_tool_fn fn, void *user_data, hvb_error *err);

/* Add a schema tool: an OpenAI tool definition {"type": "function", "function": {"name",
 * "description", "parameters"}} (borrowed, copied). Its calls are returned, not run. false
 * with HVB_EINVAL for a definition without a valid function name, or a duplicate name. */
bool hvb_tools_add_schema(hvb_tools *tools, json_object *definition, hvb_error *err);

/* Number of tools in the set (0 for NULL). */
size_t hvb_tools_count(const hvb_tools *tools);

/* The OpenAI "tools" array of the set, in the order added. Borrowed from the set; valid
 * until the set changes or is freed. */
json_object *hvb_tools_json(const hvb_tools *tools);

/* Chat with tools: `prompt` or `messages` (a JSON array, borrowed), exactly one. `tools` (may
 * be NULL or empty: then this is hvb_llm_chat with repair) is appended to the call option
 * "tools" (schema tools given there stay schema tools). Call options as for hvb_llm_chat,
 * plus "max_steps" and "repair_tool_calls" (above); "stream": true gathers every step from
 * a stream. Returns a new result, or NULL with err set: the errors of hvb_llm_chat (a failed
 * step fails the whole call, its message prefixed with "step N"), HVB_PARSE for an unfixable
 * tool call under strict repair, HVB_EINVAL for bad arguments or options (named). */
hvb_result *hvb_llm_chat_tools(hvb_llm *llm, const char *prompt, json_object *messages,
                               const hvb_tools *tools, json_object *call_options,
                               hvb_error *err);

/* ---- async tools ----
 *
 * An async tool answers later: its callback starts the work and returns; the answer is given,
 * from any thread, by hvb_tool_call_complete on the handle it received:
 *
 *     static void lookup(json_object *args, hvb_tool_call *call, void *ud) {
 *       start_my_request(json_object_get_string(json_object_object_get(args, "q")), call);
 *     }   // ...and when the request is done, on any thread:
 *     hvb_tool_call_complete(call, json_object_new_string("42"), NULL);
 *
 * Only the async tool loop (hvb_llm_chat_tools_async in async.h) runs async tools: given to
 * hvb_llm_chat_tools, a set that holds one fails with HVB_EINVAL naming the tool and saying
 * to use the async chat (a synchronous loop would have to block on the answer). In the async
 * loop, the tool calls of one step all start before any answer is used (async tools run
 * concurrently), the loop waits for every answer, then the tool messages follow in the order
 * of the calls, exactly as in the synchronous loop. A synchronous tool (hvb_tools_add) in an
 * async loop runs on the engine thread: it must be quick. An async tool's callback also runs
 * on the engine thread; it may complete at once (inside the callback) or later. */

typedef struct hvb_tool_call hvb_tool_call;

/* An async tool. `args`: the parsed (and repaired) arguments, borrowed for the duration of
 * the callback (copy what you keep). `call`: the completion handle, owned by the library
 * until hvb_tool_call_complete, which must be called exactly once for it (a call never
 * completed keeps the chat waiting until it is cancelled, and keeps its memory). */
typedef void (*hvb_tool_async_fn)(json_object *args, hvb_tool_call *call, void *user_data);

/* Add an async tool: as hvb_tools_add (same rules and errors), with an async callback. */
bool hvb_tools_add_async(hvb_tools *tools, const char *name, const char *description,
                         json_object *parameters, hvb_tool_async_fn fn, void *user_data,
                         hvb_error *err);

/* Give the tool call's answer, from any thread, exactly once: `result` (reference taken; any
 * JSON value) or NULL and `err` (its status name and message go to the model as a tool
 * error, as for a synchronous tool). The handle is invalid afterwards. When the chat was
 * cancelled meanwhile, the answer is dropped. NULL call: no-op (result released). */
void hvb_tool_call_complete(hvb_tool_call *call, json_object *result, const hvb_error *err);

/* The tool's name and the model's id of the call (borrowed, valid until completion). */
const char *hvb_tool_call_name(const hvb_tool_call *call);
const char *hvb_tool_call_id(const hvb_tool_call *call);

/* Whether the chat was cancelled: the answer is no longer wanted (complete it anyway, to
 * release the handle). Any thread. */
bool hvb_tool_call_cancelled(const hvb_tool_call *call);

/* ---- tool-loop fields of a result (any result: a plain chat made 1 step) ---- */

/* The repairs made to the result's tool calls, a JSON array borrowed from the result (never
 * NULL for a result; empty when nothing was repaired): one object per tool call whose
 * arguments or name were changed or found unfixable:
 *   {"id": "<call id>", "tool": "<name called>", "step": 1, "outcome": "repaired" |
 *    "unfixable" | "valid", "edits": [{"code", "text"}], "reason": null | "<code>"} */
json_object *hvb_result_repairs(const hvb_result *r);

/* The number of model calls made for the result (1 for a plain chat; 0 for NULL). */
size_t hvb_result_steps(const hvb_result *r);

/* Did a tool loop stop because it reached max_steps with tool calls still pending? */
bool hvb_result_max_steps_reached(const hvb_result *r);

#ifdef __cplusplus
}
#endif

#endif
