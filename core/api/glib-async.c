/* core/api/glib-async.c: async calls run by a GSource in a GMainContext
 * (include/heavenbase/glib.h).
 *
 * The engine is driven by a GSource over its epoll fd (g_source_add_unix_fd for readability,
 * prepare's timeout from the engine's timers, dispatch = one turn): no library thread. The
 * engine is reserved for the source before the call is submitted (else the submission would
 * start the engine thread); the thread that iterates the context claims it at its first
 * prepare (or the caller, when the context is its thread-default one: then a cancel from
 * that thread may drive the engine itself). Once no GLib call is left and no other call
 * runs, the source hands the engine back and goes. When the engine cannot be reserved (the
 * engine thread runs other calls, or a thread of the program drives it), the call runs
 * there and only its completion is posted to the context, as an idle source.
 *
 * The user's function runs inside the source's dispatch when the completion comes there;
 * otherwise through an idle source. Setting up the cancellable and the engine's completion
 * race (another thread may iterate the context while the call is being set up), so the
 * completion is handed on by whichever of the two comes second.
 */
#include "base/common.h"
#include "base/error.h"
#include "net/engine.h"

#include <heavenbase/glib.h>

typedef struct gjob {
  GMainContext *context; /* reference */
  GCancellable *cancellable; /* reference or NULL */
  gulong handler;
  hvb_glib_done_fn done;
  void *user_data;
  hvb_call *call;
  gint pending; /* 2: the setup and the engine's completion; the last one dispatches */
  bool counted; /* one of the driving source's calls */
} gjob;

/* The source driving the engine, and the GLib calls it waits for (under glock). */
typedef struct engine_source {
  GSource source;
  gpointer tag; /* of the engine's fd */
} engine_source;

static GMutex glock;
static engine_source *driving; /* reference; NULL: none */
static int driving_calls;
static _Thread_local bool in_source; /* inside the source's dispatch (a turn) */

/* The source's thread, outside a turn, with no GLib call left: hand the engine back (it
 * refuses while other calls run) and let the source go. With glock held. */
static bool release_locked(void) {
  if (!driving || driving_calls > 0 || !hvb_engine_drive_end()) return false;
  g_source_destroy(&driving->source);
  g_source_unref(&driving->source);
  driving = NULL;
  return true;
}

static gboolean src_prepare(GSource *s, gint *timeout) {
  engine_source *es = (engine_source *)s;
  if (!es->tag || !hvb__engine_drive_claim()) { /* the engine was taken back */
    if (es->tag) g_source_remove_unix_fd(s, es->tag);
    es->tag = NULL;
    *timeout = -1;
    return FALSE;
  }
  *timeout = hvb_engine_timeout();
  return *timeout == 0;
}

static gboolean src_check(GSource *s) {
  engine_source *es = (engine_source *)s;
  return es->tag && (g_source_query_unix_fd(s, es->tag) || hvb_engine_timeout() == 0);
}

static gboolean src_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
  (void)cb, (void)data;
  engine_source *es = (engine_source *)s;
  g_source_set_ready_time(s, -1); /* a release's wakeup is served by this dispatch */
  if (!es->tag) return G_SOURCE_CONTINUE;
  in_source = true;
  hvb_engine_dispatch(hvb_engine_fd(), (int)g_source_query_unix_fd(s, es->tag));
  in_source = false;
  g_mutex_lock(&glock);
  bool gone = es == driving && release_locked();
  g_mutex_unlock(&glock);
  return gone ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static GSourceFuncs engine_source_funcs = {src_prepare, src_check, src_dispatch, NULL,
                                           NULL, NULL};

/* Count a GLib call on the driving source, making one when the engine can be reserved.
 * False: the call runs on the engine thread (or the program's driver). */
static bool source_acquire(GMainContext *context) {
  g_mutex_lock(&glock);
  if (!driving) {
    GMainContext *mine = g_main_context_ref_thread_default();
    bool claim = mine == context;
    g_main_context_unref(mine);
    if (hvb__engine_drive_reserve(claim)) {
      driving = (engine_source *)g_source_new(&engine_source_funcs, sizeof *driving);
      g_source_set_priority(&driving->source, G_PRIORITY_DEFAULT);
      g_source_set_name(&driving->source, "heavenbase engine");
      driving->tag = g_source_add_unix_fd(&driving->source, hvb__engine_loop_fd(), G_IO_IN);
      g_source_attach(&driving->source, context);
    }
  }
  bool counted = driving != NULL;
  if (counted) driving_calls++;
  g_mutex_unlock(&glock);
  return counted;
}

static void source_release(void) {
  g_mutex_lock(&glock);
  driving_calls--;
  /* On the driving thread outside a turn (an idle completion) the engine goes back now;
   * else the source's next dispatch, which this wakes, does it. */
  if (driving_calls == 0 && driving && !release_locked())
    g_source_set_ready_time(&driving->source, 0);
  g_mutex_unlock(&glock);
}

static gboolean dispatch(gpointer p) {
  gjob *j = p;
  /* Waits for a cancel handler running in another thread: then nothing uses j but us. */
  if (j->cancellable) g_cancellable_disconnect(j->cancellable, j->handler);
  j->done(j->call, j->user_data);
  hvb_call_free(j->call);
  g_clear_object(&j->cancellable);
  g_main_context_unref(j->context);
  bool counted = j->counted;
  g_free(j);
  if (counted) source_release();
  return G_SOURCE_REMOVE;
}

/* Inside the source's dispatch on the context's thread: run it now. Elsewhere through an
 * idle source: g_main_context_invoke would run it wherever this thread can acquire the
 * context, and the promise is the context's thread, never inside hvb_glib_chat_async. */
static void arrive(gjob *j, bool from_engine) {
  if (!g_atomic_int_dec_and_test(&j->pending)) return;
  if (from_engine && in_source && g_main_context_is_owner(j->context)) {
    dispatch(j);
    return;
  }
  GSource *src = g_idle_source_new();
  g_source_set_priority(src, G_PRIORITY_DEFAULT);
  g_source_set_callback(src, dispatch, j, NULL);
  g_source_attach(src, j->context);
  g_source_unref(src);
}

static void on_done(hvb_call *call, void *user_data) {
  (void)call;
  arrive(user_data, true);
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
  j->counted = source_acquire(j->context);
  j->call = hvb_llm_chat_async(llm, prompt, messages, call_options, on_done, NULL, j, err);
  if (!j->call) {
    g_main_context_unref(j->context);
    if (j->counted) source_release();
    g_free(j);
    return false;
  }
  if (cancellable) {
    j->cancellable = g_object_ref(cancellable);
    /* Runs on_cancelled now when it is already cancelled. */
    j->handler = g_cancellable_connect(cancellable, G_CALLBACK(on_cancelled), j, NULL);
  }
  arrive(j, false);
  return true;
}
