/* core/api/glib-async.c: async calls whose completion is dispatched into a GMainContext
 * (include/heavenbase/glib.h).
 *
 * The engine's on_done only queues the dispatch (an idle source) and returns; the
 * user's function runs in the context's thread, then the call is freed. Setting up the
 * cancellable and the engine's completion race (the call may finish before the setup is
 * done), so the dispatch is queued by whichever of the two comes second.
 */
#include "base/common.h"
#include "base/error.h"

#include <heavenbase/glib.h>

typedef struct gjob {
  GMainContext *context; /* reference */
  GCancellable *cancellable; /* reference or NULL */
  gulong handler;
  hvb_glib_done_fn done;
  void *user_data;
  hvb_call *call;
  gint pending; /* 2: the setup and the engine's completion; the last one dispatches */
} gjob;

static gboolean dispatch(gpointer p) {
  gjob *j = p;
  /* Waits for a cancel handler running in another thread: then nothing uses j but us. */
  if (j->cancellable) g_cancellable_disconnect(j->cancellable, j->handler);
  j->done(j->call, j->user_data);
  hvb_call_free(j->call);
  g_clear_object(&j->cancellable);
  g_main_context_unref(j->context);
  g_free(j);
  return G_SOURCE_REMOVE;
}

/* Always through an idle source: g_main_context_invoke would run `dispatch` right here when
 * this thread can acquire the context (the engine thread can acquire the global default one
 * while its owner is not iterating it), and the promise is the context's thread. */
static void arrive(gjob *j) {
  if (!g_atomic_int_dec_and_test(&j->pending)) return;
  GSource *src = g_idle_source_new();
  g_source_set_priority(src, G_PRIORITY_DEFAULT);
  g_source_set_callback(src, dispatch, j, NULL);
  g_source_attach(src, j->context);
  g_source_unref(src);
}

static void on_done(hvb_call *call, void *user_data) {
  (void)call;
  arrive(user_data);
}

static void on_cancelled(GCancellable *cancellable, gpointer user_data) {
  (void)cancellable;
  hvb_call_cancel(((gjob *)user_data)->call);
}

HVB_PUBLIC bool hvb_glib_chat_async(hvb_llm *llm, const char *prompt, json_object *messages,
                                    json_object *call_options, GMainContext *context,
                                    GCancellable *cancellable, hvb_glib_done_fn done,
                                    void *user_data, hvb_error *err) {
  if (!done) return hvb__fail(err, HVB_EINVAL, "done is NULL");
  gjob *j = g_new0(gjob, 1);
  /* NULL means the global default context, whichever thread calls. */
  j->context = g_main_context_ref(context ? context : g_main_context_default());
  j->done = done;
  j->user_data = user_data;
  j->pending = 2;
  j->call = hvb_llm_chat_async(llm, prompt, messages, call_options, on_done, NULL, j, err);
  if (!j->call) {
    g_main_context_unref(j->context);
    g_free(j);
    return false;
  }
  if (cancellable) {
    j->cancellable = g_object_ref(cancellable);
    /* Runs on_cancelled now when it is already cancelled. */
    j->handler = g_cancellable_connect(cancellable, G_CALLBACK(on_cancelled), j, NULL);
  }
  arrive(j);
  return true;
}
