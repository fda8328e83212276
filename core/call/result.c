/* core/call/result.c: hvb_result's getters, setters and the include projection. */
#include "call/result.h"
#include "text/json.h"
#include "base/common.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

HVB_PUBLIC void hvb_result_free(hvb_result *r) {
  if (!r) return;
  json_object_put(r->text_obj);
  g_free(r->think);
  g_free(r->finish_reason);
  json_object_put(r->message);
  json_object_put(r->tool_calls);
  json_object_put(r->usage);
  json_object_put(r->messages);
  json_object_put(r->deltas);
  json_object_put(r->raw);
  json_object_put(r->repairs);
  json_object_put(r->structured);
  json_object_put(r->structured_outcome);
  json_object_put(r->route);
  if (r->route_src) r->route_release(r->route_src);
  json_object_put(r->timing);
  json_object_put(r->clock.steps);
  g_free(r);
}

HVB_PUBLIC const char *hvb_result_text(const hvb_result *r) {
  return r ? r->text : "";
}
HVB_PUBLIC const char *hvb_result_text_len(const hvb_result *r, size_t *len) {
  if (len) *len = r && r->text_obj ? (size_t)json_object_get_string_len(r->text_obj) : 0;
  return r ? r->text : "";
}
HVB_PUBLIC const char *hvb_result_think(const hvb_result *r) {
  return r ? r->think : "";
}
HVB_PUBLIC const char *hvb_result_finish_reason(const hvb_result *r) {
  return r ? r->finish_reason : "";
}
HVB_PUBLIC json_object *hvb_result_message(const hvb_result *r) {
  return r ? r->message : NULL;
}
HVB_PUBLIC json_object *hvb_result_tool_calls(const hvb_result *r) {
  return r ? r->tool_calls : NULL;
}
HVB_PUBLIC json_object *hvb_result_usage(const hvb_result *r) {
  return r ? r->usage : NULL;
}
HVB_PUBLIC json_object *hvb_result_messages(const hvb_result *r) {
  return r ? r->messages : NULL;
}
HVB_PUBLIC json_object *hvb_result_deltas(const hvb_result *r) {
  return r ? r->deltas : NULL;
}
HVB_PUBLIC json_object *hvb_result_raw(const hvb_result *r) {
  return r ? r->raw : NULL;
}
HVB_PUBLIC bool hvb_result_cached(const hvb_result *r) {
  return r && r->cached;
}

HVB_PUBLIC json_object *hvb_result_repairs(const hvb_result *r) {
  return r ? r->repairs : NULL;
}
HVB_PUBLIC json_object *hvb_result_route(const hvb_result *r) {
  if (!r) return NULL;
  /* Made once, when first asked for; the result belongs to one thread at a time. */
  hvb_result *w = (hvb_result *)r;
  if (!w->route && w->route_src) w->route = w->route_build(w->route_src);
  return w->route;
}

void hvb__result_set_route_lazy(hvb_result *r, void *src, json_object *(*build)(const void *src),
                                void (*release)(void *src)) {
  g_clear_pointer(&r->route, json_object_put);
  if (r->route_src) r->route_release(r->route_src);
  r->route_src = src;
  r->route_build = build;
  r->route_release = release;
}
void hvb__result_set_route(hvb_result *r, json_object *route) {
  if (r->route_src) r->route_release(r->route_src);
  r->route_src = NULL;
  json_object_put(r->route);
  r->route = route;
}

HVB_PUBLIC size_t hvb_result_steps(const hvb_result *r) {
  return r && r->steps > 0 ? (size_t)r->steps : 0;
}
HVB_PUBLIC bool hvb_result_max_steps_reached(const hvb_result *r) {
  return r && r->max_steps_reached;
}

void hvb__result_replace_tool_calls(hvb_result *r, json_object *calls) {
  json_object_put(r->tool_calls);
  r->tool_calls = calls;
  json_object_object_add(r->message, "tool_calls", json_object_get(calls));
  /* The conversation holds a copy of the message (see hvb__accum_result): refresh it. */
  size_t n = json_object_array_length(r->messages);
  if (n) json_object_array_put_idx(r->messages, n - 1, hvb__json_copy(r->message));
}

void hvb__result_set_repairs(hvb_result *r, json_object *repairs) {
  json_object_put(r->repairs);
  r->repairs = repairs;
}

void hvb__result_set_loop(hvb_result *r, json_object *deltas, json_object *usage, int steps,
                          bool max_steps_reached) {
  json_object_put(r->deltas);
  r->deltas = deltas;
  json_object_put(r->usage);
  r->usage = usage;
  r->steps = steps;
  r->max_steps_reached = max_steps_reached;
}

HVB_PUBLIC json_object *hvb_result_structured(const hvb_result *r) {
  return r ? r->structured : NULL;
}
HVB_PUBLIC json_object *hvb_result_structured_outcome(const hvb_result *r) {
  return r ? r->structured_outcome : NULL;
}

void hvb__result_set_structured(hvb_result *r, json_object *value, json_object *outcome) {
  json_object_put(r->structured);
  json_object_put(r->structured_outcome);
  r->structured = value;
  r->structured_outcome = outcome;
  r->structured_asked = true;
}

void hvb__result_structured_retried(hvb_result *r, int retries, json_object *errors) {
  if (!r->structured_outcome) {
    json_object_put(errors);
    return;
  }
  json_object_object_add(r->structured_outcome, "outcome", json_object_new_string("retried"));
  json_object_object_add(r->structured_outcome, "retries", json_object_new_int(retries));
  json_object_object_add(r->structured_outcome, "errors", errors);
}

static const char *const include_fields[] = {
    "text", "think", "content", "message", "messages", "delta", "tool_calls", "usage", "raw",
    "structured", "structured_outcome", "route", "cost", "timing", NULL};

/* The value of one include field (new reference; NULL for a JSON null). */
static json_object *field_value(const void *obj, const char *field) {
  const hvb_result *r = obj;
  if (strcmp(field, "text") == 0)
    return r->text_obj ? json_object_new_string_len(r->text, json_object_get_string_len(r->text_obj))
                       : json_object_new_string(r->text);
  if (strcmp(field, "think") == 0) return json_object_new_string(r->think);
  if (strcmp(field, "content") == 0) {
    if (!*r->think) return json_object_new_string(r->text);
    char *s = g_strconcat("<think>\n", r->think, "\n</think>\n", r->text, NULL);
    json_object *v = json_object_new_string(s);
    g_free(s);
    return v;
  }
  if (strcmp(field, "message") == 0) return json_object_get(r->message);
  if (strcmp(field, "messages") == 0) return json_object_get(r->messages);
  if (strcmp(field, "delta") == 0) return json_object_get(r->deltas);
  if (strcmp(field, "tool_calls") == 0) return json_object_get(r->tool_calls);
  if (strcmp(field, "usage") == 0) return json_object_get(r->usage);
  if (strcmp(field, "structured") == 0) return json_object_get(r->structured);
  if (strcmp(field, "structured_outcome") == 0) return json_object_get(r->structured_outcome);
  if (strcmp(field, "route") == 0) return json_object_get(hvb_result_route(r));
  if (strcmp(field, "cost") == 0) return hvb__cost_json(&r->cost);
  if (strcmp(field, "timing") == 0) return json_object_get(hvb_result_timing(r));
  return json_object_get(r->raw); /* "raw": the caller checked the name */
}

/* Does the comma-separated `include` list name `field`? */
static bool names_field(const char *include, const char *field) {
  if (!include) return false;
  char **names = g_strsplit(include, ",", -1);
  bool found = false;
  for (char **n = names; *n && !found; n++) found = !strcmp(g_strstrip(*n), field);
  g_strfreev(names);
  return found;
}

HVB_PUBLIC json_object *hvb_result_project(const hvb_result *r, const char *include, bool *ok,
                                           hvb_error *err) {
  if (ok) *ok = false;
  if (!r) {
    hvb__fail(err, HVB_EINVAL, "result is NULL");
    return NULL;
  }
  if (!r->structured_asked && (names_field(include, "structured") ||
                               names_field(include, "structured_outcome"))) {
    hvb__fail(err, HVB_EINVAL,
              "include 'structured' needs a call with response_format (json_object or "
              "json_schema)");
    return NULL;
  }
  return hvb__project(include, include_fields, "text", field_value, r, ok, err);
}

