/* heavenbase/glib.h: async calls delivered into a GLib main loop.
 *
 * Not part of <heavenbase/heavenbase.h> (it needs GLib's headers: pkg-config glib-2.0).
 *
 *     static void done(hvb_call *call, void *user_data) {   // runs in the loop's thread
 *       if (hvb_call_status(call) == HVB_OK)
 *         gtk_label_set_text(label, hvb_result_text(hvb_call_result(call)));
 *     }
 *     hvb_glib_chat_async(llm, "Hello", NULL, NULL, NULL, cancellable, done, label, &err);
 *
 * The engine (async.h) runs inside `context` (NULL: the global default context): a GSource
 * (G_PRIORITY_DEFAULT) watches the engine's fd and timers (hvb_engine_fd, hvb_engine_timeout)
 * and runs its turns, so the thread that iterates the context drives the engine and no
 * library thread exists; `done` runs in that thread, never inside hvb_glib_chat_async: GTK
 * and other single-threaded code may be used from it. The thread that first iterates the
 * context after the call started becomes the engine's driver (or the caller, when `context`
 * is its thread-default one) until no GLib call is left and no other async call runs; then
 * the source goes and the engine is handed back. Meanwhile every async call of the process
 * runs in that loop (calls started elsewhere wait for it to iterate, as in the caller-driven
 * mode). When the engine cannot be had (the library's engine thread runs other calls, or a
 * thread of yours drives it), the call runs there and `done` is still dispatched in
 * `context`, as an idle source.
 */
#ifndef HEAVENBASE_GLIB_H
#define HEAVENBASE_GLIB_H

#include <gio/gio.h>
#include <heavenbase/async.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runs once per call in the context's thread; `call` is borrowed (read its outcome with
 * hvb_call_status / hvb_call_result / hvb_call_error, or take the result) and freed when
 * the function returns. */
typedef void (*hvb_glib_done_fn)(hvb_call *call, void *user_data);

/* hvb_llm_chat_async (async.h; exactly one of prompt and messages; no deltas) with the
 * completion in `context`. `cancellable` (may be NULL; a reference is kept until `done` ran)
 * cancels the call: `done` then sees HVB_CANCELLED, still exactly once, still in the context.
 * The library owns the call handle. False with err set when the call could not start (`done`
 * never runs). Any thread. */
bool hvb_glib_chat_async(hvb_llm *llm, const char *prompt, json_object *messages,
                         json_object *call_options, GMainContext *context,
                         GCancellable *cancellable, hvb_glib_done_fn done, void *user_data,
                         hvb_error *err);

#ifdef __cplusplus
}
#endif

#endif
