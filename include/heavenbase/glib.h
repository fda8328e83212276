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
 * The call runs on the library's engine (async.h); its completion is dispatched in
 * `context` (NULL: the global default context) as an idle source (G_PRIORITY_DEFAULT), so
 * `done` runs in the thread that iterates that context, never on the engine thread and never
 * inside hvb_glib_chat_async: GTK and other single-threaded code may be used from it.
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
