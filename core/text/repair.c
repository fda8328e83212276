/* core/text/repair.c: tool-call argument repair (heavenbase/repair.h): the results, the
 * schema defaults, the tool names, and the public API. The scanner that reads the arguments
 * is in repair-scan.c.
 */
#include "text/repair-scan.h"
#include "text/json.h"
#include "text/suggest.h"
#include "base/common.h"
#include "base/error.h"

#include <heavenbase/repair.h>

#include <glib.h>
#include <string.h>

/* ---- edits ---- */

static const struct {
  const char *code, *text;
} edit_info[N_EDITS] = {
#define EDIT_INFO_(id, code, text) {code, text},
    EDIT_MAP(EDIT_INFO_)
#undef EDIT_INFO_
};

typedef struct repair_edit {
  char *code, *text;
} repair_edit;

static void edit_free(gpointer p) {
  repair_edit *e = p;
  g_free(e->code);
  g_free(e->text);
  g_free(e);
}

static void put_json(gpointer p) { json_object_put(p); }

/* ---- results ---- */

struct hvb_repair_result {
  hvb_repair_outcome outcome;
  char *arguments;
  size_t arguments_len;
  json_object *value; /* built on first use when the text mode wrote the arguments */
  GMutex value_lock;  /* for that first use */
  GPtrArray *edits; /* repair_edit */
  char *reason, *reason_text;
  char *tool;
  GPtrArray *calls; /* char *, compact JSON */
};

static repair_edit *find_edit(const hvb_repair_result *r, const char *code) {
  for (guint i = 0; i < r->edits->len; i++) {
    repair_edit *e = g_ptr_array_index(r->edits, i);
    if (!strcmp(e->code, code)) return e;
  }
  return NULL;
}

static void add_edit(hvb_repair_result *r, char *code, char *text) {
  if (find_edit(r, code)) {
    g_free(code);
    g_free(text);
    return;
  }
  repair_edit *e = g_new(repair_edit, 1);
  e->code = code;
  e->text = text;
  g_ptr_array_add(r->edits, e);
}

static void add_counted_edits(hvb_repair_result *r, const unsigned *counts) {
  for (int i = 0; i < N_EDITS; i++) {
    if (!counts[i]) continue;
    char *text = counts[i] > 1 ? g_strdup_printf("%s (%u times)", edit_info[i].text, counts[i])
                               : g_strdup(edit_info[i].text);
    add_edit(r, g_strdup(edit_info[i].code), text);
  }
}

static void unfixable(hvb_repair_result *r, const char *code, char *text) {
  r->outcome = HVB_REPAIR_UNFIXABLE;
  r->reason = g_strdup(code);
  r->reason_text = text;
}

static const char *type_article(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_array: return "an array";
  case json_type_string: return "a string";
  case json_type_boolean: return "a boolean";
  case json_type_null: return "null";
  case json_type_object: return "an object";
  default: return "a number";
  }
}

/* Read `len` bytes of arguments into objects. `unwrap`: a top-level JSON string may hold the
 * arguments (double-encoded); only one level is decoded. True with `objects` filled; false
 * with the reason recorded in r. Edits are counted in `counts`. */
static bool read_objects(hvb_repair_result *r, const char *text, size_t len, bool unwrap,
                         unsigned *counts, GPtrArray *objects) {
  const char *fail = NULL;
  char *fail_text = NULL;
  bool ok = hvb__repair_scan(text, len, objects, counts, &fail, &fail_text);
  if (!ok) unfixable(r, fail, fail_text);
  if (!ok) return false;

  json_object *first = objects->len ? g_ptr_array_index(objects, 0) : NULL;
  if (objects->len <= 1 && (!first || json_object_is_type(first, json_type_null))) {
    g_ptr_array_set_size(objects, 0);
    g_ptr_array_add(objects, json_object_new_object());
    counts[E_EMPTY_TO_OBJECT]++;
    return true;
  }
  if (objects->len == 1 && unwrap && json_object_is_type(first, json_type_string)) {
    GPtrArray *inner = g_ptr_array_new_with_free_func(put_json);
    unsigned inner_counts[N_EDITS] = {0};
    bool inner_ok = read_objects(r, json_object_get_string(first),
                                 (size_t)json_object_get_string_len(first), false, inner_counts,
                                 inner);
    if (inner_ok && !inner_counts[E_EMPTY_TO_OBJECT]) {
      g_ptr_array_set_size(objects, 0);
      for (guint i = 0; i < inner->len; i++)
        g_ptr_array_add(objects, json_object_get(g_ptr_array_index(inner, i)));
      for (int i = 0; i < N_EDITS; i++) counts[i] += inner_counts[i];
      counts[E_UNWRAP_STRING]++;
      g_ptr_array_free(inner, TRUE);
      return true;
    }
    g_ptr_array_free(inner, TRUE);
    g_clear_pointer(&r->reason, g_free);
    g_clear_pointer(&r->reason_text, g_free);
    r->outcome = HVB_REPAIR_VALID;
  }
  if (!json_object_is_type(first, json_type_object)) {
    unfixable(r, "not_object",
              g_strdup_printf("the arguments are %s, not a JSON object", type_article(first)));
    return false;
  }
  return true;
}

/* Fill missing required fields from their schema defaults. False (reason recorded) when a
 * required field has no default. */
/* The schema's "required" array (NULL: none) and its "properties" in *props. */
static json_object *required_of(json_object *schema, json_object **props) {
  json_object *required = NULL;
  *props = NULL;
  if (!schema || !json_object_object_get_ex(schema, "required", &required) ||
      !json_object_is_type(required, json_type_array))
    return NULL;
  json_object_object_get_ex(schema, "properties", props);
  return required;
}

/* The default the schema's properties give `field`, or NULL when they give none. */
static json_object *default_of(json_object *props, const char *field) {
  json_object *prop = NULL, *def = NULL;
  if (json_object_is_type(props, json_type_object) &&
      json_object_object_get_ex(props, field, &prop) &&
      json_object_is_type(prop, json_type_object) &&
      json_object_object_get_ex(prop, "default", &def))
    return def;
  return NULL;
}

static void add_fill_edit(hvb_repair_result *r, const char *field) {
  add_edit(r, g_strdup_printf("fill_default:%s", field),
           g_strdup_printf("filled the missing required field '%s' with its schema default",
                           field));
}

static bool apply_schema(hvb_repair_result *r, json_object *obj, json_object *schema) {
  json_object *props = NULL, *required = required_of(schema, &props);
  for (size_t i = 0, n = required ? json_object_array_length(required) : 0; i < n; i++) {
    json_object *name = json_object_array_get_idx(required, i);
    const char *field = json_object_get_string(name);
    if (!json_object_is_type(name, json_type_string) || json_object_object_get_ex(obj, field, NULL))
      continue;
    json_object *def = default_of(props, field);
    if (def) {
      json_object_object_add(obj, field, hvb__json_copy(def));
      add_fill_edit(r, field);
      continue;
    }
    unfixable(r, NULL, NULL);
    r->reason = g_strdup_printf("missing_required:%s", field);
    r->reason_text = g_strdup_printf(
        "the required field '%s' is missing and the schema gives no default", field);
    return false;
  }
  return true;
}

/* The known tool that `tool` stands for, or NULL. `index` maps known names to their
 * parameters schema (or null). */
static const char *resolve_tool(const char *tool, json_object *index) {
  if (json_object_object_get_ex(index, tool, NULL)) return tool;
  /* "functions.get_weather", "default_api:get_weather": a namespace leaked into the name. */
  size_t cut;
  for (cut = strlen(tool); cut > 0 && tool[cut - 1] != '.' && tool[cut - 1] != ':'; cut--) {}
  if (cut > 0 && json_object_object_get_ex(index, tool + cut, NULL)) return tool + cut;
  return hvb__suggest(tool, index);
}

static const char *const outcome_names[] = {"valid", "repaired", "unfixable"};

/* A result, valid so far, without arguments yet (keep_original gives them). */
static hvb_repair_result *result_new(const char *tool) {
  hvb_repair_result *r = g_new0(hvb_repair_result, 1);
  r->edits = g_ptr_array_new_with_free_func(edit_free);
  r->calls = g_ptr_array_new_with_free_func(g_free);
  r->tool = g_strdup(tool);
  g_mutex_init(&r->value_lock);
  return r;
}

/* The arguments as given (a copy of `len` bytes of `text`): what an UNFIXABLE result holds.
 * The text mode, which succeeds or leaves the input to the json-c path, needs no copy. */
static void keep_original(hvb_repair_result *r, const char *text, size_t len) {
  r->arguments = g_malloc(len + 1);
  if (len) memcpy(r->arguments, text, len);
  r->arguments[len] = '\0';
  r->arguments_len = len;
}

/* The tool's name against the known ones of `index`: a close name is renamed (an edit), an
 * unknown one is unfixable (false, reason recorded). Without a schema of its own, *schema
 * becomes the known tool's parameters. */
static bool check_tool(hvb_repair_result *r, const char *tool, json_object *index,
                       json_object **schema) {
  const char *known = resolve_tool(tool, index);
  if (!known) {
    char *names = hvb__json_keys_list(index);
    unfixable(r, NULL, g_strdup_printf("unknown tool '%s' and no known tool is close "
                                       "(known: %s)", tool, *names ? names : "none"));
    r->reason = g_strdup_printf("unknown_tool:%s", tool);
    g_free(names);
    return false;
  }
  if (strcmp(known, tool)) {
    add_edit(r, g_strdup_printf("tool_name:%s->%s", tool, known),
             g_strdup_printf("renamed the unknown tool '%s' to '%s'", tool, known));
    g_free(r->tool);
    r->tool = g_strdup(known);
  }
  json_object *params = NULL;
  if (!*schema && json_object_object_get_ex(index, r->tool, &params) &&
      json_object_is_type(params, json_type_object))
    *schema = params;
  return true;
}

/* The objects of the arguments, into `objects`; edits counted in `counts`. False (reason
 * recorded) when they are too large, unreadable, not objects, or several without
 * HVB_REPAIR_SPLIT. */
static bool read_arguments(hvb_repair_result *r, const char *text, size_t len, unsigned flags,
                           unsigned *counts, GPtrArray *objects) {
  if (len > HVB_REPAIR_MAX_BYTES) {
    unfixable(r, "too_large", g_strdup_printf("%zu bytes exceed the limit of %zu bytes", len,
                                              (size_t)HVB_REPAIR_MAX_BYTES));
    return false;
  }
  if (!read_objects(r, text, len, true, counts, objects)) return false;
  if (objects->len <= 1) return true;
  if (flags & HVB_REPAIR_SPLIT) {
    counts[E_SPLIT_CONCATENATED]++;
    return true;
  }
  unfixable(r, "concatenated_objects",
            g_strdup_printf("%u JSON objects one after the other (splitting is off)",
                            objects->len));
  return false;
}

/* Outcome, calls and arguments of a result whose objects were read. */
static void result_finish(hvb_repair_result *r, GPtrArray *objects, const unsigned *counts) {
  bool only_empty = r->edits->len == 1 && counts[E_EMPTY_TO_OBJECT];
  r->outcome = r->edits->len == 0 || only_empty ? HVB_REPAIR_VALID : HVB_REPAIR_REPAIRED;
  for (guint i = 0; i < objects->len; i++)
    g_ptr_array_add(r->calls, g_strdup(json_object_to_json_string_ext(
                                  g_ptr_array_index(objects, i),
                                  JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
  r->value = json_object_get(g_ptr_array_index(objects, 0));
  g_free(r->arguments);
  r->arguments = g_strdup(g_ptr_array_index(r->calls, 0));
  r->arguments_len = strlen(r->arguments);
}

/* Is every required field of `schema` in the top object of `t`, or given a default? */
static bool text_schema_ok(hvb__repair_text *t, json_object *schema) {
  json_object *props = NULL, *required = required_of(schema, &props);
  for (size_t i = 0, n = required ? json_object_array_length(required) : 0; i < n; i++) {
    json_object *name = json_object_array_get_idx(required, i);
    const char *field = json_object_get_string(name);
    if (!json_object_is_type(name, json_type_string) || hvb__rt_has_key(t, 0, field)) continue;
    if (!default_of(props, field)) return false; /* unfixable: the json-c path says so */
  }
  return true;
}

/* apply_schema on the text: a missing required field is added last with its default, as
 * json_object_object_add does. */
static void text_fill_defaults(hvb_repair_result *r, hvb__repair_text *t, json_object *schema) {
  json_object *props = NULL, *required = required_of(schema, &props);
  for (size_t i = 0, n = required ? json_object_array_length(required) : 0; i < n; i++) {
    json_object *name = json_object_array_get_idx(required, i);
    const char *field = json_object_get_string(name);
    if (!json_object_is_type(name, json_type_string) || hvb__rt_has_key(t, 0, field)) continue;
    json_object *def = default_of(props, field);
    t->w.len--; /* the top object's '}' */
    if (t->n_keys) hvb__rt_char(t, ',');
    hvb__rt_span sp = {t->w.len, 0};
    hvb__jw_string(&t->w, field, strlen(field));
    sp.len = t->w.len - sp.off;
    hvb__rt_add_span(t, sp.off, sp.len);
    hvb__rt_raw(t, ":", 1);
    json_object *copy = hvb__json_copy(def);
    size_t jn = 0;
    const char *js = json_object_to_json_string_length(
        copy, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &jn);
    hvb__rt_raw(t, js, jn);
    json_object_put(copy);
    hvb__rt_raw(t, "}", 1);
    add_fill_edit(r, field);
  }
}

/* The text mode (repair-scan.h): the scanner writes the repaired arguments, no json-c value
 * is made (hvb_repair_result_value parses them on demand). True when it made the whole
 * result; false, r untouched, when the json-c path must run. */
static bool repair_text(hvb_repair_result *r, const char *text, size_t len,
                        json_object *schema) {
  if (len > HVB_REPAIR_MAX_BYTES) return false;
  hvb__repair_text t;
  hvb__rt_init(&t, MIN(len + 16, (size_t)1 << 16)); /* the text grows as it is written */
  unsigned counts[N_EDITS] = {0};
  bool ok = hvb__repair_scan_text(text, len, &t, counts) == 1 && text_schema_ok(&t, schema);
  if (ok) {
    add_counted_edits(r, counts);
    text_fill_defaults(r, &t, schema);
    r->outcome = r->edits->len == 0 ? HVB_REPAIR_VALID : HVB_REPAIR_REPAIRED;
    g_free(r->arguments);
    r->arguments = hvb__jw_steal(&t.w, &r->arguments_len);
    g_ptr_array_add(r->calls, r->arguments); /* one text for both (see _free) */
  }
  hvb__rt_clear(&t);
  return ok;
}

static hvb_repair_result *repair_run(const char *text, size_t len, json_object *schema,
                                     json_object *index, const char *tool, unsigned flags,
                                     hvb_error *err) {
  if (!text && len) {
    hvb__fail(err, HVB_EINVAL, "repair: arguments are NULL but their length is %zu", len);
    return NULL;
  }
  if (!text) text = "";
  hvb_repair_result *r = result_new(tool);
  GPtrArray *objects = g_ptr_array_new_with_free_func(put_json);
  unsigned counts[N_EDITS] = {0};
  bool ok = !(tool && index) || check_tool(r, tool, index, &schema);
  bool done = ok && !(flags & HVB__REPAIR_JSONC_ONLY) && repair_text(r, text, len, schema);
  if (!done) keep_original(r, text, len);
  if (ok && !done) {
    ok = read_arguments(r, text, len, flags, counts, objects);
    add_counted_edits(r, counts);
    for (guint i = 0; ok && i < objects->len; i++)
      ok = !schema || apply_schema(r, g_ptr_array_index(objects, i), schema);
    if (ok) result_finish(r, objects, counts);
  } else if (!ok) {
    add_counted_edits(r, counts);
  }
  g_ptr_array_free(objects, TRUE);

  if (r->outcome == HVB_REPAIR_UNFIXABLE && (flags & HVB_REPAIR_STRICT)) {
    if (tool)
      hvb__fail(err, HVB_PARSE, "arguments of tool '%s' are unfixable: %s (%s)", tool,
                r->reason, r->reason_text);
    else
      hvb__fail(err, HVB_PARSE, "tool call arguments are unfixable: %s (%s)", r->reason,
                r->reason_text);
    hvb_repair_result_free(r);
    return NULL;
  }
  return r;
}

/* ---- public API ---- */

HVB_PUBLIC unsigned hvb_repair_config_flags(const hvb_repair_config *cfg) {
  if (!cfg) return 0;
  return (cfg->split ? HVB_REPAIR_SPLIT : 0u) | (cfg->strict ? HVB_REPAIR_STRICT : 0u);
}

HVB_PUBLIC hvb_repair_result *hvb_repair_arguments(const char *arguments, size_t len,
                                                   json_object *schema, const char *tool,
                                                   const char *const *tool_names,
                                                   unsigned flags, hvb_error *err) {
  if (schema && !json_object_is_type(schema, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "repair: the schema must be a JSON object (a function's "
                               "\"parameters\"), got %s", type_article(schema));
    return NULL;
  }
  json_object *index = NULL;
  if (tool_names) {
    index = json_object_new_object();
    for (size_t i = 0; tool_names[i]; i++) json_object_object_add(index, tool_names[i], NULL);
  }
  hvb_repair_result *r = repair_run(arguments, len, schema, index, tool, flags, err);
  json_object_put(index);
  return r;
}

HVB_PUBLIC hvb_repair_result *hvb_repair_tool_call(const char *tool, const char *arguments,
                                                   size_t len, json_object *tools,
                                                   unsigned flags, hvb_error *err) {
  if (tools && !json_object_is_type(tools, json_type_array)) {
    hvb__fail(err, HVB_EINVAL, "repair: tools must be a JSON array (the request's \"tools\"), "
                               "got %s", type_article(tools));
    return NULL;
  }
  json_object *index = NULL;
  if (tools) {
    index = json_object_new_object();
    size_t n = json_object_array_length(tools);
    for (size_t i = 0; i < n; i++) {
      json_object *t = json_object_array_get_idx(tools, i), *fn = NULL, *params = NULL;
      if (!json_object_object_get_ex(t, "function", &fn)) fn = t;
      const char *name = hvb__json_str(fn, "name");
      if (!name) continue;
      json_object_object_get_ex(fn, "parameters", &params);
      json_object_object_add(index, name, json_object_get(params));
    }
  }
  hvb_repair_result *r = repair_run(arguments, len, NULL, index, tool, flags, err);
  json_object_put(index);
  return r;
}

HVB_PUBLIC void hvb_repair_result_free(hvb_repair_result *r) {
  if (!r) return;
  if (r->calls->len && g_ptr_array_index(r->calls, 0) == r->arguments) r->arguments = NULL;
  g_free(r->arguments);
  json_object_put(r->value);
  g_mutex_clear(&r->value_lock);
  g_ptr_array_free(r->edits, TRUE);
  g_free(r->reason);
  g_free(r->reason_text);
  g_free(r->tool);
  g_ptr_array_free(r->calls, TRUE);
  g_free(r);
}

HVB_PUBLIC hvb_repair_outcome hvb_repair_result_outcome(const hvb_repair_result *r) {
  return r->outcome;
}

HVB_PUBLIC const char *hvb_repair_outcome_name(hvb_repair_outcome outcome) {
  if ((unsigned)outcome >= G_N_ELEMENTS(outcome_names)) return "unknown";
  return outcome_names[outcome];
}

HVB_PUBLIC const char *hvb_repair_result_arguments(const hvb_repair_result *r, size_t *len) {
  if (len) *len = r->arguments_len;
  return r->arguments;
}

/* The value of arguments written by the text mode: scanning the repaired text again gives
 * the json-c value the json-c path would have built (the same numbers, with their digits). */
static json_object *value_of_text(const char *text, size_t len) {
  GPtrArray *values = g_ptr_array_new_with_free_func(put_json);
  unsigned counts[N_EDITS] = {0};
  const char *fail = NULL;
  char *fail_text = NULL;
  json_object *v = NULL;
  if (hvb__repair_scan(text, len, values, counts, &fail, &fail_text) && values->len)
    v = json_object_get(g_ptr_array_index(values, 0));
  g_free(fail_text);
  g_ptr_array_free(values, TRUE);
  return v ? v : json_object_new_object(); /* (never: the text is one JSON object) */
}

/* Built once, on first use, even when several threads ask at once: the result stays
 * immutable for its readers (the pointer is published atomically, after the object is made). */
HVB_PUBLIC json_object *hvb_repair_result_value(const hvb_repair_result *r) {
  if (r->outcome == HVB_REPAIR_UNFIXABLE) return NULL;
  hvb_repair_result *m = (hvb_repair_result *)r;
  json_object *v = g_atomic_pointer_get(&m->value);
  if (v) return v;
  g_mutex_lock(&m->value_lock);
  v = m->value;
  if (!v) {
    v = value_of_text(r->arguments, r->arguments_len);
    g_atomic_pointer_set(&m->value, v);
  }
  g_mutex_unlock(&m->value_lock);
  return v;
}

HVB_PUBLIC size_t hvb_repair_result_edit_count(const hvb_repair_result *r) {
  return r->edits->len;
}

HVB_PUBLIC const char *hvb_repair_result_edit_code_at(const hvb_repair_result *r, size_t i) {
  return i < r->edits->len ? ((repair_edit *)g_ptr_array_index(r->edits, i))->code : NULL;
}

HVB_PUBLIC const char *hvb_repair_result_edit_text_at(const hvb_repair_result *r, size_t i) {
  return i < r->edits->len ? ((repair_edit *)g_ptr_array_index(r->edits, i))->text : NULL;
}

HVB_PUBLIC bool hvb_repair_result_has_edit(const hvb_repair_result *r, const char *code) {
  return code && find_edit(r, code) != NULL;
}

HVB_PUBLIC const char *hvb_repair_result_reason(const hvb_repair_result *r) { return r->reason; }

HVB_PUBLIC const char *hvb_repair_result_reason_text(const hvb_repair_result *r) {
  return r->reason_text;
}

HVB_PUBLIC const char *hvb_repair_result_tool(const hvb_repair_result *r) { return r->tool; }

HVB_PUBLIC size_t hvb_repair_result_call_count(const hvb_repair_result *r) {
  return r->calls->len;
}

HVB_PUBLIC const char *hvb_repair_result_call_at(const hvb_repair_result *r, size_t i) {
  return i < r->calls->len ? g_ptr_array_index(r->calls, i) : NULL;
}

static json_object *string_or_null(const char *s) {
  return s ? json_object_new_string(s) : NULL;
}

HVB_PUBLIC json_object *hvb_repair_result_to_json(const hvb_repair_result *r) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "outcome", json_object_new_string(hvb_repair_outcome_name(r->outcome)));
  if (r->outcome == HVB_REPAIR_UNFIXABLE) {
    char *valid = g_utf8_make_valid(r->arguments, (gssize)r->arguments_len);
    json_object_object_add(o, "arguments", json_object_new_string(valid));
    g_free(valid);
  } else {
    json_object_object_add(o, "arguments",
                           json_object_new_string_len(r->arguments, (int)r->arguments_len));
  }
  json_object *edits = json_object_new_array();
  for (guint i = 0; i < r->edits->len; i++) {
    repair_edit *e = g_ptr_array_index(r->edits, i);
    json_object *je = json_object_new_object();
    json_object_object_add(je, "code", json_object_new_string(e->code));
    json_object_object_add(je, "text", json_object_new_string(e->text));
    json_object_array_add(edits, je);
  }
  json_object_object_add(o, "edits", edits);
  json_object_object_add(o, "reason", string_or_null(r->reason));
  json_object_object_add(o, "reason_text", string_or_null(r->reason_text));
  json_object_object_add(o, "tool", string_or_null(r->tool));
  json_object *calls = json_object_new_array();
  for (guint i = 0; i < r->calls->len; i++)
    json_object_array_add(calls, json_object_new_string(g_ptr_array_index(r->calls, i)));
  json_object_object_add(o, "calls", calls);
  return o;
}
