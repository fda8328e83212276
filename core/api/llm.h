/* core/api/llm.h: the pieces of the call pipeline that later work reuses.
 *
 * - the canonical request builder (messages validation, system prompt, argument merge);
 * - the accumulator, which folds canonical chunks (OpenAI chat.completion.chunk objects) into
 *   public deltas and, at the end, into an hvb_result: the cache replays stored results
 *   through it, the tool loop reads its tool calls, the async engine feeds it from the
 *   transport as the stream iterator does;
 * - the result constructor and the chat.completion -> chunk conversion;
 * - the single-JSON call (embeddings, images) through the LLM's gateway.
 *
 * Nothing here is thread-safe on its own: an accumulator belongs to one call.
 */
#ifndef HVB_LLM_INTERNAL_H
#define HVB_LLM_INTERNAL_H

#include "net/transport.h"
#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/gateway.h>
#include <heavenbase/llm.h>
#include <heavenbase/async.h>
#include <heavenbase/registry.h>
#include "base/fork.h"

/* ---- canonical request (core/api/llm.c) ---- */

/* Check that `messages` is a non-empty array of objects each with a string "role".
 * HVB_EINVAL naming the index and field ("messages[2].role must be a string"). */
bool hvb__messages_validate(json_object *messages, hvb_error *err);

/* Build the canonical request for one call: {"model": model_id, "messages": [...], <spec
 * args merged with the call's args>, "stream": bool}. `messages` (borrowed; validated and
 * copied) or, when NULL, `prompt` as one user message; the call option "system" becomes a
 * system message in front. Call options (borrowed, may be NULL): "system" (string), "stream"
 * (boolean), "args" (object); any other key is a request argument too, and wins over an
 * "args" entry of the same name. "stream" is true when `force_stream` or the option says so.
 * "model", "messages" and "stream" always come from the pipeline, never from arguments.
 * Returns a new object (caller owns), or NULL with HVB_EINVAL naming the bad option. */
json_object *hvb__request_build(const hvb_spec *spec, const char *prompt, json_object *messages,
                                json_object *call_options, bool force_stream, hvb_error *err);

/* The request of a one-JSON operation (embeddings, images; core/api/embed.c): {"model": id,
 * <spec args except `drop_args`>, <call options except `skip_options`, "args" merged first,
 * other keys over it>}, arguments set to null removed. NULL-terminated lists. New reference,
 * or NULL with HVB_EINVAL for options that are not an object or a bad "args". */
json_object *hvb__request_template(const hvb_spec *spec, json_object *opts,
                                   const char *const *drop_args, const char *const *skip_options,
                                   hvb_error *err);

/* ---- accumulator (core/api/llm.c) ---- */

typedef struct hvb_accum hvb_accum;

/* A new, empty accumulator (free with hvb__accum_free). Never NULL. */
hvb_accum *hvb__accum_new(void);
void hvb__accum_free(hvb_accum *acc); /* NULL is a no-op */

/* Forget everything fed so far (a failed attempt that is retried starts afresh). */
void hvb__accum_reset(hvb_accum *acc);

/* Fold one canonical chunk (borrowed; neither kept nor modified):
 *   choices[0].delta.content            -> text
 *   choices[0].delta.reasoning_content  -> think (DeepSeek), else .reasoning (OpenRouter)
 *   choices[0].delta.tool_calls         -> tool calls, merged by index and id: a fragment
 *       with an id joins the call with that id, or the latest call of its index that has no
 *       id yet, or starts a new call; a fragment without id joins the latest call of its
 *       index; arguments are concatenated; type, id and name are taken once
 *   choices[0].finish_reason            -> finish reason (the last non-null one)
 *   usage (object; null is ignored)     -> merged by hvb__usage_merge
 * Returns the public delta of the chunk (new reference, also recorded for the result's
 * deltas): an object with any of "text", "think", "tool_calls", "finish_reason", "usage";
 * NULL when the chunk carried none of them (a role-only or empty chunk). */
json_object *hvb__accum_feed(hvb_accum *acc, json_object *chunk);

/* Raw payloads for hvb_result_raw. set: the whole response body (reference taken). append:
 * one stream event payload (reference taken), collected into an array. */
void hvb__accum_raw_set(hvb_accum *acc, json_object *body);
void hvb__accum_raw_append(hvb_accum *acc, json_object *payload);

/* The finish reason fed so far, borrowed; NULL when none. */
const char *hvb__accum_finish_reason(const hvb_accum *acc);

/* Build the result of everything fed: `request_messages` (borrowed, deep-copied) are the
 * messages that were sent; the assistant message is appended to them. Tool calls whose
 * arguments stayed empty get "{}". The accumulator is left unchanged. Never NULL. */
hvb_result *hvb__accum_result(const hvb_accum *acc, json_object *request_messages);

/* Merge usage object `src` (borrowed) into `dst`: numbers are summed (integers stay
 * integers), the first non-number value of a key is kept (a null is replaced by a later
 * value), nested objects merge recursively. */
void hvb__usage_merge(json_object *dst, json_object *src);

/* A canonical chat.completion (borrowed) as one canonical chunk (new reference): message
 * content (a string, or text parts joined), reasoning_content/reasoning and tool_calls (each
 * given its "index") become the delta; finish_reason and usage are carried over. Feeding it
 * gives the same result as a stream of the same reply. */
json_object *hvb__completion_to_chunk(json_object *completion);

/* A canonical chunk with one choice: `delta` (taken), `finish_reason` and `usage` (borrowed,
 * copied; NULL: none). New reference. */
json_object *hvb__chunk_new(json_object *delta, json_object *finish_reason, json_object *usage);

/* ---- what the embeddings pipeline (core/api/embed.c) needs of an LLM ---- */

/* Batching limits resolved when the LLM is made; 0 means "not set". */
typedef struct hvb_embed_limits {
  int batch_size;   /* option embedding_batch_size, else heavenbase.llm.embedding_batch_size */
  int max_workers;  /* option embedding_max_workers, else heavenbase.llm.embedding_max_workers */
  int provider_cap; /* the provider's catalog "embedding_batch_size" */
} hvb_embed_limits;

/* Fill *out from the configuration (HVB_CONFIG naming a bad key), the options (checked by
 * the spec already) and the catalog entry of the spec's provider. */
bool hvb__embed_limits_init(const hvb_config *cfg, const hvb_spec *spec, json_object *options,
                            hvb_embed_limits *out, hvb_error *err);

struct hvb_cache;
/* The LLM's response cache handle and embedding limits, borrowed from it. */
struct hvb_cache *hvb__llm_cache(const hvb_llm *llm);
const hvb_embed_limits *hvb__llm_embed_limits(const hvb_llm *llm);

/* ---- chat results in the response cache (core/api/llm-cache.c) ---- */

/* The cache value of a complete result (see core/api/llm-cache.c for the format). New GBytes. */
GBytes *hvb__chat_cache_encode(const hvb_result *r);

/* The canonical chunks that replay a cached value through an accumulator (new array), and
 * in *raw the stored raw payload (new reference) or NULL. NULL, with a warning in the log,
 * for a value this version cannot read (the caller treats it as a miss). */
json_object *hvb__chat_cache_decode(GBytes *value, json_object **raw);

/* ---- calls driven by the async engine (the chat kind of core/api/async.c) ----
 *
 * A call is a stream object (hvb_stream) whose transfer the engine runs in its own multi
 * handle. All of these except hvb__call_begin run on the engine thread. */

struct hvb_transfer;

/* Start a call as hvb_llm_stream does (exactly one of prompt and messages), but with its
 * transfer detached (not started: see hvb__transfer_attach) and without ever waiting on the
 * response cache. `deltas`: queue public deltas (an async stream), else gather only. An
 * offline gateway or a cache hit leaves the call already over. NULL with err set. */
hvb_stream *hvb__call_begin(hvb_llm *llm, const char *prompt, json_object *messages,
                            json_object *call_options, bool deltas, bool runs_tools,
                            hvb_error *err);

/* The call's transfer, NULL once the call is over (or when it never needed one). */
struct hvb_transfer *hvb__stream_transfer(hvb_stream *s);

/* The transfer stopped (`st` is HVB_STEP_DONE or HVB_STEP_FAILED with `failure`): fold the
 * response in, or record the failure; the transfer is freed. HVB_STEP_RUNNING: no-op. */
void hvb__stream_settle(hvb_stream *s, int st, const hvb_error *failure);

/* Whether the call ended or failed. */
bool hvb__stream_over(const hvb_stream *s);

/* The next queued public delta (new reference; commits the transfer), NULL when none. */
json_object *hvb__stream_pop_delta(hvb_stream *s);

/* The result of a call that is over (new), or NULL with its error. */
hvb_result *hvb__stream_outcome(hvb_stream *s, hvb_error *err);

/* One operation whose request and response are single JSON values (embeddings, images), in
 * pieces so that the engine can run it: hvb__json_begin checks the operation and prepares the
 * request (an offline gateway answers at once: the job is then over), with its transfer
 * detached when `detached` (see hvb__transfer_attach), else started; hvb__json_settle takes
 * the transfer's end (hvb_step and its error) and parses the body through the gateway;
 * hvb__json_outcome gives the canonical response (new reference) or NULL with the errors of
 * hvb__llm_call_json. NULL from hvb__json_begin: err set, nothing to free. */
typedef struct hvb_json_job hvb_json_job;
hvb_json_job *hvb__json_begin(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                              bool detached, hvb_error *err);
struct hvb_transfer *hvb__json_transfer(hvb_json_job *j); /* NULL once over */
bool hvb__json_over(const hvb_json_job *j);
void hvb__json_settle(hvb_json_job *j, int st, const hvb_error *failure);
json_object *hvb__json_outcome(hvb_json_job *j, hvb_error *err);
void hvb__json_free(hvb_json_job *j); /* NULL is a no-op */

/* A reference to the LLM for an async call that runs several requests (tool loops, images,
 * embeddings): hvb_llm_free drops one, the last frees it. */
hvb_llm *hvb__llm_ref(hvb_llm *llm);

/* ---- gateways (core/api/llm.c) ---- */

/* The registry record of the LLM's gateway (lives as long as the process); NULL for NULL. */
const hvb_gateway_record *hvb__llm_gateway(const hvb_llm *llm);

/* One operation whose request and response are single JSON values (embeddings, images):
 * checks the operation (hvb_llm_supports), then asks an offline gateway's execute, or
 * prepares the HTTP request, runs it with the spec's timeouts and retries, and parses the
 * body through the gateway. `canonical` is borrowed. Returns the canonical response (new
 * reference), or NULL with err set: the check's HVB_UNSUPPORTED, the transport's errors,
 * HVB_PARSE for a body that is not JSON or lacks a field (named, with the URL),
 * HVB_PROVIDER for an error payload. */
json_object *hvb__llm_call_json(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                                hvb_error *err);

/* ---- fork() (core/api/atfork.c) ---- */

/* Register the fork() handlers once. A constructor does it when the library is loaded;
 * hvb_llm_new calls it too, so that a program linking the core statically (the unit tests)
 * pulls the handlers in with the first LLM it makes. */
void hvb__atfork_install(void);

#endif
