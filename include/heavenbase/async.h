/* heavenbase/async.h: calls that run in the background on one event-driven engine.
 *
 *     static void done(hvb_call *call, void *user_data) {
 *       if (hvb_call_status(call) == HVB_OK) puts(hvb_result_text(hvb_call_result(call)));
 *     }
 *     ...
 *     hvb_call *c = hvb_llm_chat_async(llm, "Hello", NULL, NULL, done, NULL, NULL, &err);
 *     hvb_call_wait(c, -1);
 *     hvb_call_free(c);
 *
 * The engine. libcurl's multi interface drives every async transfer on ONE I/O thread owned
 * by the library ("hvb-engine"), or on a thread of yours (hvb_engine_drive_begin, below, with
 * your own event loop if you like): no thread per call, thousands of calls in flight, and
 * each turn of the engine works on the sockets with activity only (epoll). The thread
 * starts when a call is submitted and no engine runs, and stops (its libcurl multi handle
 * freed) once no call is left running, so a program that waits for its calls leaves no
 * thread behind. Connections are reused per client_key (the same pools as synchronous calls),
 * at most HVB_ASYNC_MAX_HOST_CONNECTIONS connections per host: more calls to one host wait in
 * the engine, in the order they were started, for a free connection (the wait counts in their
 * total timeout; a host that answers over HTTP/2 carries them on its connections instead, and
 * none waits). Retries, backoff, connect, total and idle timeouts are
 * those of synchronous calls (the same code in the transport).
 *
 * Callbacks. Both callbacks run on the engine thread, never inside the function that started
 * the call, and must not block for long (every other call waits meanwhile): hand heavy work to
 * your own threads. From a callback you may start new async calls, cancel or free any call
 * (its own included), read results; you must not hvb_call_wait for a call that is not over
 * (it returns false at once instead of deadlocking) nor run synchronous calls that take long.
 *   on_delta(call, delta, user_data): an async stream's public delta (the objects
 *       hvb_stream_next yields; borrowed, valid during the callback), in order.
 *   on_done(call, user_data): exactly once per call, after its last on_delta, with the
 *       outcome readable through hvb_call_status / hvb_call_error / hvb_call_result.
 *
 * Cancellation. hvb_call_cancel aborts the transfer and frees its resources; on_done then
 * reports HVB_CANCELLED exactly once, unless the call was already over (then cancel does
 * nothing: its on_done has run, or is running, with the real outcome). Once cancel returns,
 * on_delta is never called again for the call. When cancel is called outside the engine
 * thread, on_done has also run by the time it returns; from a callback (on the engine
 * thread), on_done(HVB_CANCELLED) runs after that callback returns.
 *
 * Ownership. hvb_llm_chat_async returns a handle the caller owns and releases with
 * hvb_call_free, which may be called at any time, from any thread, even from the call's own
 * callbacks: freeing a call that is not over cancels it first (with the rules above). The
 * library keeps its own reference until on_done has returned. The LLM may be freed while its
 * calls run, whatever their kind (they keep what they need of it). `prompt`, `messages` and `call_options` are copied.
 *
 * Threads. Every function here may be called from any thread. One hvb_llm may start sync and
 * async calls from many threads at once (its configuration is read-only; the connection pool
 * and the response cache are locked). A hvb_call may be waited on, cancelled and read from
 * several threads; hvb_call_free must be the last use of the handle.
 *
 * fork(). The library may be used on both sides of a fork(), by a parent with async calls
 * in flight too (handlers registered with pthread_atfork when the library is loaded make
 * no library lock stay held in the child). The parent goes on as if nothing happened. In
 * the child (which has only the thread that called fork()):
 *   - A call that was not over in the parent is over in the child, with HVB_TRANSPORT "the
 *     call was started before fork(): it does not run in the child process" (a call whose
 *     on_done was running keeps its real outcome). hvb_call_wait returns true at once,
 *     hvb_call_free does not block, and NO callback runs for such calls in the child: the
 *     parent runs them. Their outcome there is unaffected.
 *   - No engine thread exists; the child's first async call starts a new engine (a new
 *     libcurl multi handle). Caller-driven mode: if the thread that called fork() was the
 *     driver, it still is in the child (hvb_engine_step goes on working); if another thread
 *     drove the engine, the child is not driven (its calls use the library's thread, or it
 *     may call hvb_engine_drive_begin).
 *   - Connections are never shared: the child's calls, sync and async, open their own; the
 *     parent's keep-alive connections are neither used nor closed by the child. A
 *     synchronous stream the parent opened fails in the child with HVB_TRANSPORT ("...
 *     started before fork() ...") at its next read; freeing it is safe.
 *   - The response cache opens its own SQLite connection in the child (cache.h).
 *   - What the child inherited but must not touch (libcurl handles holding the parent's
 *     sockets, the parent's SQLite connection) is kept, never freed, so leak checkers count
 *     it as reachable; closing it could write on the parent's connections. (Memory that
 *     another thread was working on at the instant of fork(), known only to that thread's
 *     stack, can still show as lost in the child: the child does not have that thread.)
 * Not supported: fork() from inside a callback (on the engine thread, or inside
 * hvb_engine_step) or from a log handler; using in the child an object another thread of
 * the parent was using at the moment of fork() (e.g. an hvb_image whose URL another thread
 * was fetching, an hvb_stream another thread was reading, an hvb_cache handle another
 * thread was opening); client exports (export.h) made before fork(). As for any library,
 * a child of a multithreaded process should stay with async-signal-safe functions if it
 * cannot rule such cases out, or exec.
 */
#ifndef HEAVENBASE_ASYNC_H
#define HEAVENBASE_ASYNC_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>
#include <heavenbase/embed.h>
#include <heavenbase/image.h>
#include <heavenbase/tools.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Connections the engine opens at most to one host (HTTP/1.1 has one request per connection
 * at a time; more calls queue for a free connection). */
#define HVB_ASYNC_MAX_HOST_CONNECTIONS 128

typedef struct hvb_call hvb_call;

typedef void (*hvb_call_done_fn)(hvb_call *call, void *user_data);
typedef void (*hvb_call_delta_fn)(hvb_call *call, json_object *delta, void *user_data);

/* Start a chat in the background: exactly one of `prompt` and `messages` (as hvb_llm_chat;
 * call options as in llm.h). With `on_delta` it is an async stream
 * (the provider is asked for an event stream and every delta is passed on); without, the
 * reply is gathered. `on_done` and `on_delta` may be NULL (poll or wait instead).
 * Returns a new handle (free with hvb_call_free), or NULL with err set for a failure found
 * before anything was sent: HVB_EINVAL (bad arguments or options), HVB_UNSUPPORTED,
 * HVB_GATEWAY, or an offline gateway's own failure. Later failures (HTTP, timeout, parse...)
 * are the call's outcome, reported through on_done. A response-cache hit and an offline
 * gateway (mock) complete without network, still through the engine thread. An async call
 * never waits for another call computing the same cacheable answer: it runs on its own. */
hvb_call *hvb_llm_chat_async(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, hvb_call_done_fn on_done,
                             hvb_call_delta_fn on_delta, void *user_data, hvb_error *err);

/* Block until the call is over and on_done has returned, at most `timeout_ms` milliseconds
 * (< 0: no limit; 0: just look). True when it is over. From a callback on the engine thread
 * it never blocks (it would wait for itself): it only reports whether the call is over. */
bool hvb_call_wait(hvb_call *call, long timeout_ms);

/* Cancel (see "Cancellation" above). NULL and calls that are over are a no-op. */
void hvb_call_cancel(hvb_call *call);

/* Whether the call is over (its outcome is set; on_done may still be running). */
bool hvb_call_is_over(const hvb_call *call);

/* The outcome: HVB_OK for a result, HVB_CANCELLED, or the failure's status. HVB_OK with a
 * NULL result while the call is not over: check hvb_call_is_over first. */
hvb_status hvb_call_status(const hvb_call *call);

/* The failure (borrowed, lives as long as the call), NULL while running or after success. */
const hvb_error *hvb_call_error(const hvb_call *call);

/* The chat result (borrowed, lives as long as the call), NULL unless a chat succeeded. */
const hvb_result *hvb_call_result(const hvb_call *call);

/* The result, now owned by the caller (free with hvb_result_free); afterwards
 * hvb_call_result gives NULL. NULL unless the call succeeded. */
hvb_result *hvb_call_take_result(hvb_call *call);

/* Release the caller's handle; a call that is not over is cancelled first. NULL: no-op. */
void hvb_call_free(hvb_call *call);

/* ---- running the engine from your own loop ----
 *
 * Instead of the library's engine thread, one thread of yours may run the engine: after
 * hvb_engine_drive_begin, calls started from any thread wait for that thread's
 * hvb_engine_step, and every callback runs inside hvb_engine_step, on that thread (so a
 * single-threaded program needs no locking at all). hvb_call_wait and hvb_call_cancel called
 * on the driving thread drive the engine themselves until the call is over. Everything above
 * holds otherwise (callbacks run "on the engine thread" = inside hvb_engine_step). */

/* Make the calling thread the engine's driver. Call it before starting async calls (while
 * the engine thread has calls in flight it fails with HVB_EINVAL) or again from the driving
 * thread (no-op). HVB_EINVAL also when another thread drives. */
bool hvb_engine_drive_begin(hvb_error *err);

/* One turn of the engine, on the driving thread: start submitted calls, let libcurl work,
 * run callbacks, then wait up to `timeout_ms` for network activity, a new call or a timer.
 * Returns the number of calls not over yet (0: nothing to drive), or -1 when the calling
 * thread is not the driver or is inside a callback. */
int hvb_engine_step(int timeout_ms);

/* Give the engine back to the library's thread (the next call starts it). Only on the
 * driving thread, outside callbacks, once no call is running: false otherwise. Also run at
 * exit. */
bool hvb_engine_drive_end(void);

/* ---- the engine on your own event loop (epoll, libuv, GLib...) ----
 *
 * The driving thread need not block in hvb_engine_step: it may hand the engine's wait to
 * its own loop. After hvb_engine_drive_begin, watch hvb_engine_fd() for readability, and
 * call hvb_engine_dispatch when it is readable or when hvb_engine_timeout()'s milliseconds
 * have passed; ask for the timeout again after every dispatch (and after starting calls):
 *
 *     hvb_engine_drive_begin(&err);
 *     int fd = hvb_engine_fd();
 *     ... start calls ...
 *     for (;;) {                                  // or your loop's fd watcher and timer
 *       struct pollfd p = {.fd = fd, .events = POLLIN};
 *       poll(&p, 1, hvb_engine_timeout());        // -1: no timer, wait for the fd only
 *       if (hvb_engine_dispatch(fd, p.revents) == 0) break;   // no call left
 *     }
 *
 * One fd covers everything the engine waits for (its connections' sockets, MCP servers'
 * pipes, and the wakeup other threads use when they start or cancel calls): on Linux it is
 * an epoll fd, readable exactly while the engine has something to do, so it may sit in
 * any poller (epoll, poll, select, uv_poll_t, g_source_add_unix_fd), level-triggered.
 * Callbacks run inside hvb_engine_dispatch, on the driving thread; everything above about
 * the caller-driven mode holds. */

/* The engine's file descriptor, to watch for readability (POLLIN, EPOLLIN, UV_READABLE,
 * G_IO_IN). Owned by the library: never read, write or close it. The same fd lasts from
 * hvb_engine_drive_begin until hvb_engine_drive_end (in the child of a fork() made by the
 * driving thread the number stays valid but is a new file: register it again in your
 * poller). -1 when the calling thread is not the driver, or is inside a callback. */
int hvb_engine_fd(void);

/* Milliseconds until the engine needs a turn even if its fd stays quiet (a retry's backoff,
 * an idle or total timeout, libcurl's own timers): 0 when it needs one now (calls were
 * started from a callback of the last turn), -1 when only the fd matters (and also when the
 * calling thread is not the driver). Valid until the next dispatch or step, or until this
 * thread starts or cancels a call. */
int hvb_engine_timeout(void);

/* One turn of the engine without waiting: handle what is ready, fire the timers that are
 * due, run callbacks. `fd` is hvb_engine_fd() (or -1 after the timeout expired); `events`
 * the poll bits you saw (informational: the engine asks its fd itself, so spurious or
 * missed bits do no harm; a turn handles at most a few hundred ready sockets and the fd
 * stays readable while more are). Returns the number of calls not over yet (0: nothing to
 * drive), or -1 when the calling thread is not the driver, is inside a callback, or `fd`
 * is another fd. Same as hvb_engine_step(0). */
int hvb_engine_dispatch(int fd, int events);

/* ---- async embeddings ----
 *
 * The pipeline of hvb_llm_embed (embed.h: repeated texts sent once, cache, batches of
 * embedding_batch_size, at most embedding_max_workers batches in flight), with the batches as
 * concurrent transfers on the engine and on_done (above) when every batch is in. `texts` are
 * copied. Differences: a text another call is embedding right now is sent again rather than
 * waited for; cancel aborts the batches in flight (their vectors are not cached; batches that
 * finished before stay cached) and starts no more, and on_done reports HVB_CANCELLED. NULL
 * with err set for bad arguments or options, or when the gateway cannot embed
 * (HVB_UNSUPPORTED); a failed batch is the call's outcome. */
hvb_call *hvb_llm_embed_async(hvb_llm *llm, const char *const *texts, size_t n,
                              json_object *call_options, hvb_call_done_fn on_done,
                              void *user_data, hvb_error *err);

/* The embeddings of an async embed call that succeeded (borrowed, lives as long as the call),
 * else NULL (also for a chat call). */
const hvb_embeddings *hvb_call_embeddings(const hvb_call *call);
/* The same, now owned by the caller (free with hvb_embeddings_free). */
hvb_embeddings *hvb_call_take_embeddings(hvb_call *call);

/* ---- async tool loops ----
 *
 * hvb_llm_chat_tools (tools.h) in the background: the same loop (repair, tool messages,
 * max_steps, schema tools returned, the result's messages, deltas, usage, repairs and steps),
 * each step an async chat on the engine; synchronous tools run on the engine thread, async
 * tools (hvb_tools_add_async) answer through their hvb_tool_call handle from any thread. With
 * `on_delta`, every step is streamed and its deltas are passed on, then each step's
 * {"tool_result": {...}} deltas once all its tools answered. `tools` is copied (its tools'
 * user_data are not) and `messages`, `call_options` are read before this returns. The
 * result is read with hvb_call_result / hvb_call_take_result, as for a chat. NULL with err
 * for what fails before anything was sent (as hvb_llm_chat_async; messages prefixed with
 * "step 1"); a later failure (of step N: "step N: ...") is the call's outcome. Cancel: the
 * running step is aborted, on_done reports HVB_CANCELLED once; async tools still running are
 * told by hvb_tool_call_cancelled and their answers dropped. */
hvb_call *hvb_llm_chat_tools_async(hvb_llm *llm, const char *prompt, json_object *messages,
                                   const hvb_tools *tools, json_object *call_options,
                                   hvb_call_done_fn on_done, hvb_call_delta_fn on_delta,
                                   void *user_data, hvb_error *err);

/* ---- async image generation ----
 *
 * hvb_llm_imagen (image.h) in the background: the same checks (HVB_UNSUPPORTED for a gateway
 * without images, HVB_EINVAL for bad options or reference images, named), the same request
 * and the same response cache; the request runs as a transfer on the engine and on_done
 * reports the outcome. `prompt`, `refs` (their bytes) and `options` are copied: they may be
 * freed once this returns. A cache hit, and an offline gateway, complete without network,
 * still through the engine thread; an async call never waits for another call computing the
 * same cacheable images. Images returned as URLs are not stored in the cache by an async
 * call (storing them would fetch them on the engine thread); they are fetched lazily, as
 * for hvb_llm_imagen, when you read their bytes. Cancel aborts the request's transfer (see
 * "Cancellation"); nothing is stored. A gateway that cannot even prepare the request
 * (HVB_GATEWAY) fails through on_done, as a failed embedding batch does. A reference image
 * that is an http(s) URL not fetched yet is refused for a model that takes references as
 * uploads ("edits"), HVB_UNSUPPORTED naming it: downloading it here would block the calling
 * thread (use hvb_llm_imagen, a file, a data URL, or call hvb_image_bytes on it first). */
hvb_call *hvb_llm_imagen_async(hvb_llm *llm, const char *prompt, hvb_image *const *refs,
                               size_t nrefs, json_object *options, hvb_call_done_fn on_done,
                               void *user_data, hvb_error *err);

/* The images of an async imagen call that succeeded (borrowed, lives as long as the call),
 * else NULL (also for other calls). */
hvb_images *hvb_call_images(hvb_call *call);
/* The same, now owned by the caller (free with hvb_images_free). */
hvb_images *hvb_call_take_images(hvb_call *call);

/* The user_data given when the call was started. */
void *hvb_call_user_data(const hvb_call *call);

#ifdef __cplusplus
}
#endif

#endif
