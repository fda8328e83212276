/* core/api/chat.h: one chat exchange (core/api/chat.c): the state machine behind hvb_llm_chat,
 * hvb_stream and async chat calls. The public hvb_stream is this object; a chat call is the
 * same machine run to its end without handing deltas out, and an async call is the same
 * machine with its transfer run by the engine (the chat kind of core/api/async.c).
 *
 * An exchange belongs to one thread at a time (the caller's, or the engine's once submitted).
 */
#ifndef HVB_API_CHAT_H
#define HVB_API_CHAT_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>
#include "net/transport.h"

/* One chat call run to its end (hvb_llm_chat is this with
 * runs_tools false). `runs_tools`: the caller will execute tools on the answer, so the call
 * bypasses the text cache. */
hvb_result *hvb__llm_chat_ex(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, bool runs_tools, hvb_error *err);

/* One request of hvb__llm_chat_ex, without asking again: when a structured reply failed its
 * schema, *again (may be NULL) takes the conversation to ask again with. */
hvb_result *hvb__chat_once(hvb_llm *llm, const char *prompt, json_object *messages,
                           json_object *call_options, bool runs_tools, json_object **again,
                           hvb_error *err);

/* Ask again after a structured reply failed (core/api/structured.c): `conv` (taken) is the
 * conversation with the failed reply and its error, `first` that error. The result of the
 * first request that matches (its outcome says "retried"), or NULL with err: `first`'s
 * error when the call option structured_retries is 0, else the last reply's HVB_SCHEMA. */
hvb_result *hvb__structured_retry(hvb_llm *llm, json_object *conv, json_object *call_options,
                                  bool runs_tools, const hvb_error *first, hvb_error *err);

/* hvb_llm_stream once its arguments are checked (exactly one of prompt and messages). */
hvb_stream *hvb__chat_stream(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, hvb_error *err);

/* ---- exchanges driven by the async engine ----
 *
 * All of these except hvb__chat_begin_async run on the engine thread. */

/* Start a call as hvb_llm_stream does (exactly one of prompt and messages), but with its
 * transfer detached (not started: see hvb__transfer_attach) and without ever blocking on the
 * response cache. `deltas`: queue public deltas (an async stream), else gather only. An
 * offline gateway or a cache hit leaves the call already over. When another call leads its
 * cache key the call waits (hvb__chat_waiting): neither over nor with a transfer until
 * hvb__chat_wait_poll says it moved on. NULL with err set. */
hvb_stream *hvb__chat_begin_async(hvb_llm *llm, const char *prompt, json_object *messages,
                            json_object *call_options, bool deltas, bool runs_tools,
                            hvb_error *err);

/* Whether the call's way in waits (for another call's cache entry). */
bool hvb__chat_waiting(const hvb_stream *s);
/* A waiting call: look again (never blocks). True while it still waits; false once it moved
 * on: it has its transfer, or is over (answered from the cache, or failed). */
bool hvb__chat_wait_poll(hvb_stream *s);

/* The call's transfer, NULL once the call is over (or when it never needed one). */
hvb_transfer *hvb__chat_transfer(hvb_stream *s);

/* The transfer stopped (`st` is HVB_STEP_DONE or HVB_STEP_FAILED with `failure`): fold the
 * response in, or record the failure; the transfer is freed. HVB_STEP_RUNNING: no-op. */
void hvb__chat_settle(hvb_stream *s, int st, const hvb_error *failure);

/* Whether the call ended or failed. */
bool hvb__chat_over(const hvb_stream *s);

/* The next queued public delta (new reference; commits the transfer), NULL when none. */
json_object *hvb__chat_pop_delta(hvb_stream *s);

/* The result of a call that is over (new), or NULL with its error. */
hvb_result *hvb__chat_outcome(hvb_stream *s, hvb_error *err);

#endif
