/* heavenbase/session.h: a conversation kept across turns.
 *
 *     hvb_session *s = hvb_session_new(llm, NULL, &err);
 *     hvb_session_set_system(s, "Be brief.", &err);
 *     hvb_session_set_tools(s, tools);               // optional: schema or executable tools
 *     hvb_result *r = hvb_session_send(s, "Weather in Paris?", NULL, &err);
 *     puts(hvb_result_text(r));
 *     hvb_result_free(r);
 *     char *saved = hvb_session_save(s, &err);       // JSON text, the caller's to keep
 *     hvb_session_free(s);
 *     ...
 *     s = hvb_session_load(llm, saved, &err);        // later, in any process
 *
 * A session is an LLM (borrowed), a system prompt, the message history (OpenAI
 * chat-completions messages without the system prompt), default call options and a tool set
 * (borrowed). A send appends the user message, calls the model with
 * [system] + history (hvb_llm_chat_tools: executable tools run in a loop, tools.h), and on
 * success appends what the turn produced: every assistant message (with its tool calls and,
 * for thinking models, the provider's thinking blocks with their signatures, kept as
 * "thinking_blocks"), every tool message. A failed or cancelled turn leaves the history as it
 * was. The state lives in the session object and in what hvb_session_save returns: the library
 * writes no file.
 *
 * Round trip: hvb_session_load(hvb_session_save(s)) gives a session whose next request body is
 * byte for byte the one `s` would send (system, messages, options, context settings are
 * saved; the LLM and the tools are not: they are code, given again to load).
 *
 * Context limit. The window is the option "context_window" (tokens; 0: no limit), else the
 * catalog model's "context_window" (hvb_spec_model_info), else no limit. Before each request
 * the request's size is estimated (one token per 4 bytes of the messages' and tools' compact
 * JSON, rounded up, plus "max_tokens" of the call when given, as room for the reply). While it
 * exceeds the window, the OLDEST TURN is removed from the history: a turn is a user message
 * and every message after it up to the next user message, so an assistant tool call and its
 * tool results always go together and no message is ever cut. With "context_strategy":
 * "summarize", the turns to remove are first summarised by one plain model call (no tools)
 * and replaced by one turn: user "Summarise our conversation so far." and the summary as the
 * assistant's reply. The newest turn is never removed: when it alone exceeds the window the
 * send fails with HVB_EINVAL saying so. Removed turns are gone from the history (and from
 * what is saved).
 *
 * Options (hvb_session_new; a JSON object, borrowed, every key optional):
 *   "system"            the system prompt (string)
 *   "context_window"    integer >= 0, overriding the catalog's
 *   "context_strategy"  "drop" (the default) or "summarize"
 *   "call_options"      call options of every send (llm.h, tools.h: "max_steps", "stream",
 *                       request arguments...), under those given to a send; "system" is not
 *                       one (use the session's system prompt)
 *
 * Errors: functions that can fail take `err` last and return false/NULL exactly when they set
 * it: HVB_EINVAL naming the bad argument, option or JSON key, or saying "a turn is in
 * progress" (one turn at a time); a send's model errors are those of hvb_llm_chat_tools.
 *
 * Ownership. The LLM and the tool set are borrowed: they must outlive the session (or be
 * replaced with hvb_session_set_llm / hvb_session_set_tools). Options, messages and JSON text
 * given are copied. Getters return borrowed pointers valid until the session changes.
 *
 * Thread safety. A session belongs to one thread at a time, except that an async send
 * (hvb_session_send_async) completes on the engine thread: while it runs, every other call on
 * the session that reads or changes the history fails with HVB_EINVAL "a turn is in progress"
 * (hvb_session_busy says so); hvb_session_free must not be called before the turn is over
 * (wait for or cancel its hvb_call first). Different sessions are independent.
 */
#ifndef HEAVENBASE_SESSION_H
#define HEAVENBASE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>
#include <heavenbase/tools.h>
#include <heavenbase/async.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvb_session hvb_session;

/* A new session over `llm` (borrowed) with `options` (above; borrowed, copied; may be NULL).
 * NULL with HVB_EINVAL for a NULL llm or a bad option (named). Free with hvb_session_free. */
hvb_session *hvb_session_new(hvb_llm *llm, json_object *options, hvb_error *err);

/* NULL is a no-op. Not while an async turn runs. The LLM and tools are not freed. */
void hvb_session_free(hvb_session *s);

/* Replace the LLM (borrowed), e.g. to change the model; the history stays. false with
 * HVB_EINVAL for NULL or during a turn. */
bool hvb_session_set_llm(hvb_session *s, hvb_llm *llm, hvb_error *err);

/* The system prompt (copied; NULL or "" removes it). false with HVB_EINVAL during a turn. */
bool hvb_session_set_system(hvb_session *s, const char *system, hvb_error *err);
/* The system prompt, NULL when none (borrowed). */
const char *hvb_session_system(const hvb_session *s);

/* The tools of every send (borrowed; NULL: none). A set holding MCP servers' tools works as
 * any other set. Built before, and not changed while, the session uses it. */
void hvb_session_set_tools(hvb_session *s, const hvb_tools *tools);
const hvb_tools *hvb_session_tools(const hvb_session *s);

/* One turn: `prompt` becomes a user message, the model answers (running executable tools).
 * `call_options` (borrowed; may be NULL) are merged over the session's "call_options".
 * Returns the turn's result (new; hvb_result_messages holds the whole request conversation
 * and the turn's messages), or NULL with err set and the history unchanged. */
hvb_result *hvb_session_send(hvb_session *s, const char *prompt, json_object *call_options,
                             hvb_error *err);

/* The same, streamed: every delta (llm.h's, plus tools.h's {"tool_result": ...} after each tool
 * call ran) is given to `on_delta` (may be NULL) in order, on the engine thread, while this
 * function waits. */
hvb_result *hvb_session_send_stream(hvb_session *s, const char *prompt, json_object *call_options,
                                    hvb_call_delta_fn on_delta, void *user_data, hvb_error *err);

/* The same, in the background (async.h): the history is updated on the engine thread before
 * `on_done` runs; a cancelled or failed turn leaves it unchanged. With `on_delta` the turn is
 * streamed. Returns the call handle (the caller's: hvb_call_free), NULL with err set. */
hvb_call *hvb_session_send_async(hvb_session *s, const char *prompt, json_object *call_options,
                                 hvb_call_done_fn on_done, hvb_call_delta_fn on_delta,
                                 void *user_data, hvb_error *err);

/* Is an async turn in progress? Any thread. */
bool hvb_session_busy(const hvb_session *s);

/* Append an assistant message with `text` (copied), with no provider call. */
bool hvb_session_append_assistant(hvb_session *s, const char *text, hvb_error *err);

/* Append any message (an OpenAI message object with a string "role"; copied). */
bool hvb_session_append_message(hvb_session *s, json_object *message, hvb_error *err);

/* Drop the last user message and everything after it. false with HVB_EINVAL when there is no
 * user message, or during a turn. */
bool hvb_session_back(hvb_session *s, hvb_error *err);

/* Drop every message (the system prompt, options and tools stay). */
bool hvb_session_clear(hvb_session *s, hvb_error *err);

/* The history without the system prompt: an array borrowed from the session, valid until the
 * session changes. Do not modify it. */
json_object *hvb_session_messages(const hvb_session *s);

/* Token usage summed over the session's turns since it was created or loaded (new object the
 * caller puts; {} when none was reported). */
json_object *hvb_session_usage(const hvb_session *s);

/* The session as JSON text (new string, free() it): {"heavenbase_session": 1, "system",
 * "messages", "options"}. NULL with HVB_EINVAL during a turn. */
char *hvb_session_save(const hvb_session *s, hvb_error *err);

/* A session from hvb_session_save's text over `llm` (borrowed); the tools are given again
 * with hvb_session_set_tools. NULL with HVB_PARSE for text that is not JSON, HVB_EINVAL naming
 * a missing or wrong key. */
hvb_session *hvb_session_load(hvb_llm *llm, const char *json_text, hvb_error *err);

#ifdef __cplusplus
}
#endif

#endif
