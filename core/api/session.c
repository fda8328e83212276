/* core/api/session.c: a conversation kept across turns (include/heavenbase/session.h).
 *
 * A turn is the tool loop (core/api/tools.c) over [system] + history; what it produced, the
 * result's messages after the request's, is appended. The history only changes on the caller's
 * thread or, for an async turn, on the engine thread while `busy` keeps the caller out.
 */
#include "api/session.h"
#include "call/accum.h"
#include "text/json.h"
#include "base/common.h"
#include "base/error.h"

#include <string.h>

static json_object *message_new(const char *role, const char *content) {
  json_object *m = json_object_new_object();
  json_object_object_add(m, "role", json_object_new_string(role));
  json_object_object_add(m, "content", json_object_new_string(content));
  return m;
}

HVB_PUBLIC hvb_session *hvb_session_new(hvb_llm *llm, json_object *options, hvb_error *err) {
  if (!llm) {
    hvb__fail(err, HVB_EINVAL, "session: llm is NULL");
    return NULL;
  }
  hvb_session *s = g_new0(hvb_session, 1);
  s->llm = llm;
  s->messages = json_object_new_array();
  s->call_options = json_object_new_object();
  s->usage = json_object_new_object();
  s->context_window = -1;
  g_mutex_init(&s->lock);
  if (!hvb__session_options(s, options, err)) {
    hvb_session_free(s);
    return NULL;
  }
  return s;
}

HVB_PUBLIC void hvb_session_free(hvb_session *s) {
  if (!s) return;
  g_free(s->system);
  json_object_put(s->messages);
  json_object_put(s->call_options);
  json_object_put(s->usage);
  g_mutex_clear(&s->lock);
  g_free(s);
}

/* No turn runs: the history is the caller's. false with HVB_EINVAL otherwise. */
static bool idle(const hvb_session *s, hvb_error *err) {
  if (!s) return hvb__fail(err, HVB_EINVAL, "session is NULL");
  hvb_session *m = (hvb_session *)s;
  g_mutex_lock(&m->lock);
  bool busy = m->busy;
  g_mutex_unlock(&m->lock);
  return busy ? hvb__fail(err, HVB_EINVAL, "session: a turn is in progress") : true;
}

HVB_PUBLIC bool hvb_session_busy(const hvb_session *s) {
  hvb_error e = HVB_ERROR_INIT;
  return s && !idle(s, &e);
}

HVB_PUBLIC bool hvb_session_set_llm(hvb_session *s, hvb_llm *llm, hvb_error *err) {
  if (!idle(s, err)) return false;
  if (!llm) return hvb__fail(err, HVB_EINVAL, "session: llm is NULL");
  s->llm = llm;
  return true;
}

HVB_PUBLIC bool hvb_session_set_system(hvb_session *s, const char *system, hvb_error *err) {
  if (!idle(s, err)) return false;
  g_free(s->system);
  s->system = system && *system ? g_strdup(system) : NULL;
  return true;
}

HVB_PUBLIC const char *hvb_session_system(const hvb_session *s) { return s ? s->system : NULL; }

HVB_PUBLIC void hvb_session_set_tools(hvb_session *s, const hvb_tools *tools) {
  if (s) s->tools = tools;
}

HVB_PUBLIC const hvb_tools *hvb_session_tools(const hvb_session *s) {
  return s ? s->tools : NULL;
}

HVB_PUBLIC json_object *hvb_session_messages(const hvb_session *s) {
  return s ? s->messages : NULL;
}

HVB_PUBLIC json_object *hvb_session_usage(const hvb_session *s) {
  if (!s) return json_object_new_object();
  hvb_session *m = (hvb_session *)s;
  g_mutex_lock(&m->lock);
  json_object *u = hvb__json_copy(m->usage);
  g_mutex_unlock(&m->lock);
  return u;
}

HVB_PUBLIC bool hvb_session_append_message(hvb_session *s, json_object *message, hvb_error *err) {
  if (!idle(s, err)) return false;
  if (!json_object_is_type(message, json_type_object) || !hvb__json_str(message, "role"))
    return hvb__fail(err, HVB_EINVAL, "session: a message must be an object with a string 'role'");
  json_object_array_add(s->messages, hvb__json_copy(message));
  return true;
}

HVB_PUBLIC bool hvb_session_append_assistant(hvb_session *s, const char *text, hvb_error *err) {
  if (!text) return hvb__fail(err, HVB_EINVAL, "session: assistant text is NULL");
  json_object *m = message_new("assistant", text);
  bool ok = hvb_session_append_message(s, m, err);
  json_object_put(m);
  return ok;
}

HVB_PUBLIC bool hvb_session_back(hvb_session *s, hvb_error *err) {
  if (!idle(s, err)) return false;
  size_t n = json_object_array_length(s->messages);
  for (size_t i = n; i-- > 0;) {
    const char *role = hvb__json_str(json_object_array_get_idx(s->messages, i), "role");
    if (role && !strcmp(role, "user")) {
      json_object_array_del_idx(s->messages, i, n - i);
      return true;
    }
  }
  return hvb__fail(err, HVB_EINVAL, "session: back: there is no user message to go back from");
}

HVB_PUBLIC bool hvb_session_clear(hvb_session *s, hvb_error *err) {
  if (!idle(s, err)) return false;
  json_object_put(s->messages);
  s->messages = json_object_new_array();
  return true;
}

/* ---- turns ---- */

/* What a turn sends. */
typedef struct turn {
  json_object *request; /* [system] + history, the user message last */
  json_object *opts;    /* the session's call options merged with the send's */
  size_t request_len;
} turn;

static void turn_clear(turn *t) {
  json_object_put(t->request);
  json_object_put(t->opts);
  memset(t, 0, sizeof *t);
}

/* Append the user message, fit the context, build the request. false with err set and the
 * history unchanged (but for turns a summary replaced). */
static bool turn_begin(hvb_session *s, const char *prompt, json_object *call_options, turn *t,
                       hvb_error *err) {
  memset(t, 0, sizeof *t);
  if (!idle(s, err)) return false;
  if (!prompt) return hvb__fail(err, HVB_EINVAL, "session: prompt is NULL");
  if (call_options && !json_object_is_type(call_options, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "session: call options must be a JSON object");
  if (json_object_object_get_ex(call_options, "system", NULL))
    return hvb__fail(err, HVB_EINVAL,
                     "session: call option 'system' is not used by a session: set the "
                     "session's system prompt (hvb_session_set_system)");
  t->opts = hvb__json_copy(s->call_options);
  if (call_options) hvb__json_merge(t->opts, call_options);
  json_object_array_add(s->messages, message_new("user", prompt));
  if (!hvb__session_fit(s, t->opts, err)) {
    size_t n = json_object_array_length(s->messages);
    json_object_array_del_idx(s->messages, n - 1, 1);
    turn_clear(t);
    return false;
  }
  t->request = json_object_new_array();
  if (s->system) json_object_array_add(t->request, message_new("system", s->system));
  for (size_t i = 0; i < json_object_array_length(s->messages); i++)
    json_object_array_add(t->request, hvb__json_copy(json_object_array_get_idx(s->messages, i)));
  t->request_len = json_object_array_length(t->request);
  return true;
}

/* The turn is over with `r` (NULL: failed or cancelled). Called with s->lock held. */
static void turn_end_locked(hvb_session *s, const turn *t, const hvb_result *r) {
  if (!r) {
    size_t n = json_object_array_length(s->messages);
    if (n) json_object_array_del_idx(s->messages, n - 1, 1);
    return;
  }
  json_object *all = hvb_result_messages(r);
  for (size_t i = t->request_len; all && i < json_object_array_length(all); i++)
    json_object_array_add(s->messages, hvb__json_copy(json_object_array_get_idx(all, i)));
  if (hvb_result_usage(r)) hvb__usage_merge(s->usage, hvb_result_usage(r));
}

static void turn_end(hvb_session *s, const turn *t, const hvb_result *r) {
  g_mutex_lock(&s->lock);
  turn_end_locked(s, t, r);
  g_mutex_unlock(&s->lock);
}

HVB_PUBLIC hvb_result *hvb_session_send(hvb_session *s, const char *prompt,
                                        json_object *call_options, hvb_error *err) {
  turn t;
  if (!turn_begin(s, prompt, call_options, &t, err)) return NULL;
  hvb_result *r = hvb_llm_chat_tools(s->llm, NULL, t.request, s->tools, t.opts, err);
  turn_end(s, &t, r);
  turn_clear(&t);
  return r;
}

HVB_PUBLIC hvb_result *hvb_session_send_stream(hvb_session *s, const char *prompt,
                                               json_object *call_options,
                                               hvb_call_delta_fn on_delta, void *user_data,
                                               hvb_error *err) {
  turn t;
  if (!turn_begin(s, prompt, call_options, &t, err)) return NULL;
  hvb_result *r = NULL;
  hvb_call *c = hvb_llm_chat_tools_async(s->llm, NULL, t.request, s->tools, t.opts, NULL,
                                         on_delta, user_data, err);
  if (c) {
    hvb_call_wait(c, -1);
    r = hvb_call_take_result(c);
    const hvb_error *e = hvb_call_error(c);
    if (!r && err && e) *err = *e;
    hvb_call_free(c);
  }
  turn_end(s, &t, r);
  turn_clear(&t);
  return r;
}

/* An async turn: the caller's callbacks, and the turn to finish on the engine thread. */
typedef struct async_turn {
  hvb_session *s;
  turn t;
  hvb_call_done_fn on_done;
  hvb_call_delta_fn on_delta;
  void *user_data;
} async_turn;

static void async_delta(hvb_call *call, json_object *delta, void *ud) {
  async_turn *at = ud;
  if (at->on_delta) at->on_delta(call, delta, at->user_data);
}

static void async_done(hvb_call *call, void *ud) {
  async_turn *at = ud;
  g_mutex_lock(&at->s->lock);
  turn_end_locked(at->s, &at->t, hvb_call_status(call) == HVB_OK ? hvb_call_result(call) : NULL);
  at->s->busy = false;
  g_mutex_unlock(&at->s->lock);
  if (at->on_done) at->on_done(call, at->user_data);
  turn_clear(&at->t);
  g_free(at);
}

HVB_PUBLIC hvb_call *hvb_session_send_async(hvb_session *s, const char *prompt,
                                            json_object *call_options, hvb_call_done_fn on_done,
                                            hvb_call_delta_fn on_delta, void *user_data,
                                            hvb_error *err) {
  async_turn *at = g_new0(async_turn, 1);
  if (!turn_begin(s, prompt, call_options, &at->t, err)) {
    g_free(at);
    return NULL;
  }
  *at = (async_turn){s, at->t, on_done, on_delta, user_data};
  g_mutex_lock(&s->lock);
  s->busy = true;
  g_mutex_unlock(&s->lock);
  hvb_call *c = hvb_llm_chat_tools_async(s->llm, NULL, at->t.request, s->tools, at->t.opts,
                                         async_done, on_delta ? async_delta : NULL, at, err);
  if (!c) {
    g_mutex_lock(&s->lock);
    turn_end_locked(s, &at->t, NULL);
    s->busy = false;
    g_mutex_unlock(&s->lock);
    turn_clear(&at->t);
    g_free(at);
  }
  return c;
}
