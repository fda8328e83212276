/* core/api/session-context.c: keeping a session's request inside the model's context window.
 *
 * There is no tokenizer in the library, so the size is an estimate (4 bytes of compact JSON per
 * token), the same for every provider: good enough to stay clear of the window, and
 * deterministic, which the save/load round trip needs (a loaded session trims as the original
 * would). Whole turns go, oldest first, so a tool call is never separated from its results.
 */
#include "api/session.h"
#include "text/json.h"
#include "base/common.h"
#include "base/error.h"

#include <string.h>

#define BYTES_PER_TOKEN 4

static size_t json_bytes(json_object *v) {
  size_t len = 0;
  if (v) json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len);
  return len;
}

static long window_of(const hvb_session *s) {
  if (s->context_window >= 0) return s->context_window;
  json_object *info = hvb_spec_model_info(hvb_llm_spec(s->llm));
  json_object *w = json_object_object_get(info, "context_window");
  return json_object_is_type(w, json_type_int) ? (long)json_object_get_int64(w) : 0;
}

/* Bytes outside the history: system prompt, tools, room for the reply. */
static size_t fixed_bytes(const hvb_session *s, json_object *opts) {
  size_t n = s->system ? strlen(s->system) + 32 : 0;
  n += json_bytes(hvb_tools_json(s->tools)) + json_bytes(json_object_object_get(opts, "tools"));
  json_object *mt = json_object_object_get(opts, "max_tokens");
  if (!mt) mt = json_object_object_get(opts, "max_completion_tokens");
  if (json_object_is_type(mt, json_type_int))
    n += (size_t)json_object_get_int64(mt) * BYTES_PER_TOKEN;
  return n;
}

static bool is_user(json_object *m) {
  const char *role = hvb__json_str(m, "role");
  return role && !strcmp(role, "user");
}

/* The first index of the history to keep so that it fits in `budget` bytes: a turn start
 * (a user message), never after `last` (the newest turn's start). */
static size_t keep_from(json_object *msgs, size_t last, size_t budget) {
  size_t n = json_object_array_length(msgs), total = 0;
  for (size_t i = 0; i < n; i++) total += json_bytes(json_object_array_get_idx(msgs, i));
  size_t cut = 0;
  while (total > budget && cut < last) {
    do total -= json_bytes(json_object_array_get_idx(msgs, cut++));
    while (cut < last && !is_user(json_object_array_get_idx(msgs, cut)));
  }
  return cut;
}

/* "role: content" lines of messages [0, cut): what the summary call reads. */
static char *transcript(json_object *msgs, size_t cut) {
  GString *t = g_string_new(NULL);
  for (size_t i = 0; i < cut; i++) {
    json_object *m = json_object_array_get_idx(msgs, i);
    json_object *c = json_object_object_get(m, "content");
    json_object *calls = json_object_object_get(m, "tool_calls");
    g_string_append_printf(t, "%s: %s\n", hvb__json_str(m, "role"),
                           json_object_is_type(c, json_type_string) ? json_object_get_string(c)
                                                                    : json_object_to_json_string(c));
    if (calls) g_string_append_printf(t, "(tool calls: %s)\n", json_object_to_json_string(calls));
  }
  return g_string_free(t, FALSE);
}

/* Replace messages [0, cut) by one summary turn, the summary written by the model. */
static bool summarize(hvb_session *s, size_t cut, hvb_error *err) {
  char *text = transcript(s->messages, cut);
  char *prompt = g_strdup_printf(
      "Summarise this conversation in a few sentences. Keep the facts, names, numbers and "
      "decisions the rest of the conversation may need.\n\n%s", text);
  g_free(text);
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "cache", json_object_new_boolean(false));
  hvb_result *r = hvb_llm_chat(s->llm, prompt, NULL, opts, err);
  json_object_put(opts);
  g_free(prompt);
  if (!r) {
    hvb__error_prefix(err, "session: summarising the oldest turns");
    return false;
  }
  json_object_array_del_idx(s->messages, 0, cut);
  json_object *u = json_object_new_object(), *a = json_object_new_object();
  json_object_object_add(u, "role", json_object_new_string("user"));
  json_object_object_add(u, "content", json_object_new_string("Summarise our conversation so far."));
  json_object_object_add(a, "role", json_object_new_string("assistant"));
  json_object_object_add(a, "content", json_object_new_string(hvb_result_text(r)));
  hvb_result_free(r);
  /* json-c has no insert: rebuild the array with the summary turn first. */
  json_object *rest = s->messages;
  s->messages = json_object_new_array();
  json_object_array_add(s->messages, u);
  json_object_array_add(s->messages, a);
  for (size_t i = 0; i < json_object_array_length(rest); i++) {
    json_object *m = json_object_array_get_idx(rest, i);
    if (m) json_object_array_add(s->messages, json_object_get(m));
  }
  json_object_put(rest);
  return true;
}

bool hvb__session_fit(hvb_session *s, json_object *opts, hvb_error *err) {
  long window = window_of(s);
  if (window <= 0) return true;
  size_t budget_all = (size_t)window * BYTES_PER_TOKEN, fixed = fixed_bytes(s, opts);
  size_t n = json_object_array_length(s->messages), last = n - 1;
  while (last > 0 && !is_user(json_object_array_get_idx(s->messages, last))) last--;
  size_t newest = 0;
  for (size_t i = last; i < n; i++) newest += json_bytes(json_object_array_get_idx(s->messages, i));
  if (fixed + newest > budget_all)
    return hvb__fail(err, HVB_EINVAL,
                     "session: the new message does not fit in the context window of %ld tokens "
                     "(about %zu tokens with the system prompt and tools)",
                     window, (fixed + newest + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN);
  size_t budget = budget_all - fixed;
  size_t cut = keep_from(s->messages, last, budget);
  if (!cut) return true;
  if (s->summarize) {
    if (!summarize(s, cut, err)) return false;
    n = json_object_array_length(s->messages);
    last = n - 1;
    while (last > 0 && !is_user(json_object_array_get_idx(s->messages, last))) last--;
    cut = keep_from(s->messages, last, budget);
    if (!cut) return true;
  }
  json_object_array_del_idx(s->messages, 0, cut);
  return true;
}
