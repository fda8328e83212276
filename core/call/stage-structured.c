/* core/call/stage-structured.c: structured output (include/heavenbase/structured.h).
 *
 * The request carries "response_format" (a checked request argument, core/config/options.c),
 * so the cache keys on the schema and the gateway translates it. This stage:
 *   way in   compiles the schema (core/text/jsonschema.c), refuses include "structured"
 *            without a response_format, and asks for one body when the catalog says the model
 *            cannot stream structured output ("structured_stream": false);
 *   delta    for a streamed call, adds the closed prefix of the value ("structured_partial")
 *            and, on the delta with the finish reason, the validated value ("structured");
 *   reply    parses and validates the final text, repairing it when needed (repair.h); a reply
 *            that fails is marked not to be stored (it sits after the cache, so its reply hook
 *            runs first) and leaves the conversation to ask again with (x->retry_messages);
 *   result   puts the value and its outcome on the result, or fails with HVB_SCHEMA.
 * A cache hit skips the way in of the stages after the cache: the state is made lazily. A
 * reply that calls tools is a tool loop's step, not the final answer: it is not checked. */
#include "call/pipeline.h"
#include "call/result.h"
#include "text/json.h"
#include "text/json-partial.h"
#include "text/jsonschema.h"
#include "base/error.h"
#include "base/log.h"

#include <glib.h>
#include <string.h>

typedef struct structured_state {
  bool active;             /* the request asks for a JSON value */
  hvb_schema *schema;      /* json_schema's, compiled; NULL for json_object */
  json_object *schema_obj; /* borrowed from the request: defaults for the repair */
  const char *name;        /* borrowed from the request ("json_object" without a schema) */
  GString *text;           /* a stream's text so far */
  char *last_partial;      /* the partial last handed out (compact JSON) */
  bool tool_step;          /* the reply calls tools: a tool loop's step, not checked */
  bool replied;            /* the reply hook ran */
  bool checked, ok;        /* the final reply was checked; it matched */
  json_object *value;      /* the value that matched */
  json_object *outcome;    /* {"outcome", "edits", "retries", "errors"} */
  hvb_error failure;       /* why it did not match */
} structured_state;

static void state_free(structured_state *st) {
  if (!st) return;
  hvb__schema_free(st->schema);
  if (st->text) g_string_free(st->text, TRUE);
  g_free(st->last_partial);
  json_object_put(st->value);
  json_object_put(st->outcome);
  g_free(st);
}

/* The state of the call (made on first use); NULL when the call asks for no JSON value or its
 * schema does not compile (err set then). */
static structured_state *state_get(hvb_exchange *x, void **state, hvb_error *err) {
  if (*state) return *state;
  if (x->op != HVB_GATEWAY_OP_CHAT) return NULL;
  json_object *rf = json_object_object_get(x->request, "response_format");
  const char *type = hvb__json_str(rf, "type");
  if (!type || (strcmp(type, "json_object") && strcmp(type, "json_schema"))) return NULL;
  structured_state *st = g_new0(structured_state, 1);
  st->active = true;
  st->name = "json_object";
  if (!strcmp(type, "json_schema")) {
    json_object *js = json_object_object_get(rf, "json_schema");
    st->name = hvb__json_str(js, "name") ? hvb__json_str(js, "name") : "";
    st->schema_obj = json_object_object_get(js, "schema");
    hvb_error e = HVB_ERROR_INIT;
    st->schema = hvb__schema_compile(st->schema_obj, &e);
    if (!st->schema) {
      hvb__fail(err, HVB_EINVAL, "response_format schema '%s' cannot be used: %s", st->name,
                e.message);
      state_free(st);
      return NULL;
    }
  }
  *state = st;
  return st;
}

/* Does the comma-separated include list name `field`? */
static bool include_names(const char *include, const char *field) {
  if (!include) return false;
  char **names = g_strsplit(include, ",", -1);
  bool found = false;
  for (char **n = names; *n && !found; n++) found = !strcmp(g_strstrip(*n), field);
  g_strfreev(names);
  return found;
}

static hvb_stage_rc structured_request(hvb_exchange *x, void **state, hvb_error *err) {
  if (x->op != HVB_GATEWAY_OP_CHAT) return HVB_STAGE_NEXT;
  hvb_error e = HVB_ERROR_INIT;
  structured_state *st = state_get(x, state, &e);
  if (!st && e.status) {
    if (err) *err = e;
    return HVB_STAGE_FAILED;
  }
  if (!st) {
    if (!include_names(hvb__json_str(x->options, "include"), "structured")) return HVB_STAGE_NEXT;
    hvb__fail(err, HVB_EINVAL,
              "include 'structured' needs the call option response_format (json_object or "
              "json_schema)");
    return HVB_STAGE_FAILED;
  }
  /* Some models stream structured output unreliably: one body, the caller still gets its
   * deltas (all at once). */
  json_object *flag = json_object_object_get(hvb_spec_model_info(x->spec), "structured_stream");
  if (json_object_is_type(flag, json_type_boolean) && !json_object_get_boolean(flag) &&
      json_object_get_boolean(json_object_object_get(x->request, "stream"))) {
    hvb__log(HVB_LOG_DEBUG, "model %s cannot stream structured output: one request, no stream",
             hvb_spec_model(x->spec));
    json_object_object_add(x->request, "stream", json_object_new_boolean(0));
  }
  return HVB_STAGE_NEXT;
}

/* ---- checking a reply ---- */

static bool value_matches(const structured_state *st, json_object *v, hvb_error *err) {
  if (st->schema) return hvb__schema_validate(st->schema, v, err);
  if (json_object_is_type(v, json_type_object)) return true;
  return hvb__fail(err, HVB_SCHEMA, "/: expected object, got %s", hvb__json_type_phrase(v));
}

static json_object *outcome_new(const char *name, json_object *edits) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "outcome", json_object_new_string(name));
  json_object_object_add(o, "edits", edits ? edits : json_object_new_array());
  json_object_object_add(o, "retries", json_object_new_int(0));
  json_object_object_add(o, "errors", json_object_new_array());
  return o;
}

static json_object *edits_of(const hvb_repair_result *rr) {
  json_object *edits = json_object_new_array();
  for (size_t i = 0; i < hvb_repair_result_edit_count(rr); i++) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(hvb_repair_result_edit_code_at(rr, i)));
    json_object_object_add(e, "text", json_object_new_string(hvb_repair_result_edit_text_at(rr, i)));
    json_object_array_add(edits, e);
  }
  return edits;
}

/* The repair's attempt at a text that did not parse or match: true with the value and the
 * outcome set when the repaired value matches; otherwise `why` says why (the repaired value's
 * mismatch when there is one). */
static bool try_repair(structured_state *st, const char *text, size_t len, hvb_error *why) {
  hvb_repair_result *rr =
      hvb_repair_arguments(text, len, st->schema_obj, NULL, NULL, 0, NULL);
  if (!rr || hvb_repair_result_outcome(rr) == HVB_REPAIR_UNFIXABLE ||
      !hvb_repair_result_edit_count(rr)) {
    hvb_repair_result_free(rr);
    return false;
  }
  json_object *v = hvb_repair_result_value(rr);
  hvb_error e = HVB_ERROR_INIT;
  bool ok = value_matches(st, v, &e);
  if (ok) {
    st->value = json_object_get(v);
    st->outcome = outcome_new("repaired", edits_of(rr));
  } else {
    *why = e;
  }
  hvb_repair_result_free(rr);
  return ok;
}

/* Check the final text; sets checked, ok and value/outcome or failure. */
static void check_text(structured_state *st, const char *text, size_t len) {
  st->checked = true;
  hvb_error e = HVB_ERROR_INIT;
  json_object *v = hvb__json_parse_ex(text, (long)len, "structured reply", HVB_JSON_STRICT, NULL);
  if (v && value_matches(st, v, &e)) {
    st->value = v;
    st->outcome = outcome_new("valid", NULL);
    st->ok = true;
    return;
  }
  if (!v) hvb__fail(&e, HVB_SCHEMA, "/: the reply is not valid JSON");
  json_object_put(v);
  st->ok = try_repair(st, text, len, &e);
  if (!st->ok)
    hvb__fail(&st->failure, HVB_SCHEMA, "structured reply does not match schema '%s': %s",
              st->name, e.message);
}

/* The conversation to ask again with: the request's, the reply, and what was wrong. */
static json_object *retry_messages(hvb_exchange *x, const structured_state *st, const char *text) {
  json_object *msgs = hvb__json_copy(json_object_object_get(x->request, "messages"));
  json_object *reply = json_object_new_object();
  json_object_object_add(reply, "role", json_object_new_string("assistant"));
  json_object_object_add(reply, "content", json_object_new_string(text));
  json_object_array_add(msgs, reply);
  const char *why = strstr(st->failure.message, ": ");
  char *ask = g_strdup_printf("Your reply does not match the JSON schema '%s': %s. Reply again "
                              "with only the corrected JSON value.",
                              st->name, why ? why + 2 : st->failure.message);
  json_object *user = json_object_new_object();
  json_object_object_add(user, "role", json_object_new_string("user"));
  json_object_object_add(user, "content", json_object_new_string(ask));
  json_object_array_add(msgs, user);
  g_free(ask);
  return msgs;
}

static void structured_reply(hvb_exchange *x, void **state) {
  structured_state *st = state_get(x, state, NULL);
  if (!st || st->replied) return;
  st->replied = true;
  hvb_result *r = hvb__accum_result(x->acc, NULL);
  if (!r->tool_calls) {
    size_t len = 0;
    const char *text = hvb_result_text_len(r, &len);
    if (!st->checked) check_text(st, text, len);
    if (!st->ok) {
      x->no_store = true; /* a reply that failed its schema is never cached */
      json_object_put(x->retry_messages);
      x->retry_messages = retry_messages(x, st, text);
    }
  }
  hvb_result_free(r);
}

/* ---- streamed partials ---- */

static void add_partial(structured_state *st, json_object *delta) {
  json_object *v = hvb__json_partial(st->text->str, st->text->len);
  if (!v) return;
  const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
  if (!st->last_partial || strcmp(s, st->last_partial)) {
    g_free(st->last_partial);
    st->last_partial = g_strdup(s);
    json_object_object_add(delta, "structured_partial", json_object_get(v));
  }
  json_object_put(v);
}

static void structured_delta(hvb_exchange *x, void **state, json_object *delta) {
  /* Partials are for a caller who sees the deltas; a gathered chat only needs the end. */
  if (!x->force_stream) return;
  structured_state *st = state_get(x, state, NULL);
  if (!st) return;
  if (json_object_object_get(delta, "tool_calls")) st->tool_step = true;
  if (!st->text) st->text = g_string_new(NULL);
  json_object *t = json_object_object_get(delta, "text");
  if (json_object_is_type(t, json_type_string) && json_object_get_string_len(t)) {
    g_string_append_len(st->text, json_object_get_string(t), json_object_get_string_len(t));
    add_partial(st, delta);
  }
  if (json_object_object_get(delta, "finish_reason") && !st->checked && !st->tool_step) {
    check_text(st, st->text->str, st->text->len);
    if (st->ok) json_object_object_add(delta, "structured", json_object_get(st->value));
  }
}

static bool structured_result(hvb_exchange *x, void **state, hvb_result *r, hvb_error *err) {
  if (x->op != HVB_GATEWAY_OP_CHAT) return true;
  hvb_error e = HVB_ERROR_INIT;
  structured_state *st = state_get(x, state, &e);
  if (!st) {
    if (e.status && err) *err = e;
    return !e.status;
  }
  if (!st->replied) structured_reply(x, state);
  if (!st->checked || st->tool_step) {
    hvb__result_set_structured(r, NULL, NULL); /* a tool loop's step */
    return true;
  }
  if (!st->ok) {
    if (err) *err = st->failure;
    return false;
  }
  hvb__result_set_structured(r, json_object_get(st->value), hvb__json_copy(st->outcome));
  return true;
}

static void structured_release(hvb_exchange *x, void **state) {
  (void)x;
  state_free(*state);
  *state = NULL;
}

const hvb_stage hvb__stage_structured = {.name = "structured",
                                         .request = structured_request,
                                         .delta = structured_delta,
                                         .reply = structured_reply,
                                         .result = structured_result,
                                         .release = structured_release};
