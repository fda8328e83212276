/* core/api/async.h: the kinds of async work (core/api/async.c) that other modules start.
 *
 * The engine (core/net/engine.h) drives units of work through an ops table; this layer gives
 * it four kinds:
 *   - chat calls: an hvb_stream whose transfer runs in the engine (hvb_llm_chat_async);
 *   - JSON jobs: one request, one JSON response (embeddings batches, images), no handle;
 *   - external calls: a public hvb_call whose outcome another module produces (async
 *     embeddings, images, tool loops); the engine runs only on_done and cancellation;
 *   - posts: a function run on the engine thread (hvb__engine_post, in the engine itself).
 *
 * Thread safety: as the public hvb_call functions (include/heavenbase/async.h); where a
 * function says "engine thread", it means inside a turn (hvb__engine_in_turn).
 */
#ifndef HVB_API_ASYNC_H
#define HVB_API_ASYNC_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/gateway.h>
#include <heavenbase/async.h>
#include "net/engine.h"

/* Run a JSON operation on the async engine: `done` runs once, on the engine thread, with the
 * canonical response (borrowed for the call; NULL on failure, with `err`), unless the
 * producer cancels the job first (then it never runs). False with err set when it could not
 * start (then `done` never runs and *job is untouched).
 * `job` (may be NULL): receives a handle for hvb__engine_job_cancel, written before the job
 * is submitted (so `done`, which may run on the engine thread before hvb__engine_json
 * returns, sees it set). The handle is borrowed: it is valid until `done` starts or the
 * cancel returns, and the producer must not use it afterwards. */
typedef void (*hvb_json_done_fn)(void *user_data, json_object *response, const hvb_error *err);
typedef struct hvb_engine_job hvb_engine_job;
bool hvb__engine_json(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                      hvb_json_done_fn done, void *user_data, hvb_engine_job **job,
                      hvb_error *err);

/* Cancel a job whose `done` has not run: its transfer is aborted at once (removed from the
 * engine's multi handle and freed; the connection is not reused) and `done` will NOT run: the
 * producer releases what the job's user_data holds itself, after this returns. Engine thread
 * only (refused with a critical warning elsewhere), and there only from a cancel hook
 * (hvb__call_external_on_cancel), where the engine walks no list of transfers that this could
 * unlink. NULL: no-op. */
void hvb__engine_job_cancel(hvb_engine_job *job);

/* External calls: a public hvb_call whose outcome another module produces. _new: a call with
 * three references (the caller's handle, the engine's, the producer's: drop it with
 * hvb__call_unref once done with the call). _finish (any thread, once): the outcome, `result`
 * owned (freed with free_fn) or NULL with err; on_done runs on the engine thread (at once
 * when called there). _cancelled: stop producing. */
typedef enum hvb_ext_kind {
  HVB_EXT_EMBEDDINGS = 1, /* hvb_embeddings*: hvb_call_embeddings */
  HVB_EXT_IMAGES,         /* hvb_images*: hvb_call_images */
  HVB_EXT_RESULT,         /* hvb_result*: hvb_call_result, as a chat call */
} hvb_ext_kind;
hvb_call *hvb__call_external_new(hvb_ext_kind kind, hvb_call_done_fn on_done,
                                 hvb_call_delta_fn on_delta, void *user_data);
void hvb__call_external_finish(hvb_call *c, void *result, void (*free_fn)(void *),
                               const hvb_error *err);
bool hvb__call_external_cancelled(hvb_call *c);
/* Set (before the handle is given out) a function told, on the engine thread, when the call
 * is cancelled: the producer stops its own work there (on_done(HVB_CANCELLED) runs right
 * after it). */
void hvb__call_external_on_cancel(hvb_call *c, void (*fn)(void *), void *data);
/* Pass a delta (borrowed) to the call's on_delta unless it is cancelled; engine thread only. */
void hvb__call_external_delta(hvb_call *c, json_object *delta);
void hvb__call_unref(hvb_call *c);

/* hvb_llm_chat_async with `runs_tools` (the caller runs tools on the answer: no text cache). */
hvb_call *hvb__chat_async(hvb_llm *llm, const char *prompt, json_object *messages,
                          json_object *call_options, hvb_call_done_fn on_done,
                          hvb_call_delta_fn on_delta, void *user_data, bool runs_tools,
                          hvb_error *err);

#endif
