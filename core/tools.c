/* core/tools.c: tool sets, tool-call repair in the pipeline, and the tool loop.
 *
 * The loop is plain sequential code over hvb__llm_chat_ex: one model call per step, the tool
 * calls of its answer run in order, one "tool" message each, then the next step with the whole
 * conversation. Every failure of a tool is fed back to the model as data ({"ok": false, ...})
 * rather than failing the call: models recover from a bad call when told what went wrong.
 */
#include "internal.h"
#include "llm-internal.h"
#include "tools-internal.h"

#include <glib.h>
#include <string.h>

/* ============================================================================================
 * Tool sets
 * ========================================================================================== */

typedef struct tool_entry {
  char *name;
  hvb_tool_fn fn; /* NULL: a schema tool, returned to the caller, never run */
  void *user_data;
} tool_entry;

struct hvb_tools {
  GPtrArray *list;    /* tool*, in order added */
  json_object *array; /* the OpenAI "tools" array */
  int executable;     /* how many have a callback */
};

static void tool_free(gpointer p) {
  tool_entry *t = p;
  g_free(t->name);
  g_free(t);
}

HVB_PUBLIC hvb_tools *hvb_tools_new(void) {
  hvb_tools *ts = g_new0(hvb_tools, 1);
  ts->list = g_ptr_array_new_with_free_func(tool_free);
  ts->array = json_object_new_array();
  return ts;
}

HVB_PUBLIC void hvb_tools_free(hvb_tools *ts) {
  if (!ts) return;
  g_ptr_array_free(ts->list, TRUE);
  json_object_put(ts->array);
  g_free(ts);
}

static const tool_entry *tools_find(const hvb_tools *ts, const char *name) {
  for (guint i = 0; ts && name && i < ts->list->len; i++) {
    const tool_entry *t = ts->list->pdata[i];
    if (strcmp(t->name, name) == 0) return t;
  }
  return NULL;
}

/* OpenAI's rule for function names: 1-64 of [A-Za-z0-9_-]. */
static bool valid_name(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum(name[i]) && name[i] != '_' && name[i] != '-') return false;
  return true;
}

static bool tools_insert(hvb_tools *ts, const char *name, hvb_tool_fn fn, void *user_data,
                         json_object *definition, hvb_error *err) {
  if (!valid_name(name)) {
    json_object_put(definition);
    return hvb__fail(err, HVB_EINVAL,
                     "tool name '%s' is invalid (1-64 characters of A-Z, a-z, 0-9, _ and -)",
                     name ? name : "(null)");
  }
  if (tools_find(ts, name)) {
    json_object_put(definition);
    return hvb__fail(err, HVB_EINVAL, "tool '%s' is already in the set", name);
  }
  tool_entry *t = g_new0(tool_entry, 1);
  t->name = g_strdup(name);
  t->fn = fn;
  t->user_data = user_data;
  g_ptr_array_add(ts->list, t);
  json_object_array_add(ts->array, definition);
  if (fn) ts->executable++;
  return true;
}

HVB_PUBLIC bool hvb_tools_add(hvb_tools *ts, const char *name, const char *description,
                              json_object *parameters, hvb_tool_fn fn, void *user_data,
                              hvb_error *err) {
  if (!ts) return hvb__fail(err, HVB_EINVAL, "tools is NULL");
  if (!fn)
    return hvb__fail(err, HVB_EINVAL, "tool '%s' has no callback (use hvb_tools_add_schema)",
                     name ? name : "(null)");
  if (parameters && !json_object_is_type(parameters, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "tool '%s': parameters must be a JSON schema object",
                     name ? name : "(null)");
  json_object *fn_def = json_object_new_object();
  json_object_object_add(fn_def, "name", json_object_new_string(name ? name : ""));
  if (description)
    json_object_object_add(fn_def, "description", json_object_new_string(description));
  json_object *params = parameters ? hvb__json_copy(parameters) : NULL;
  if (!params) {
    params = json_object_new_object();
    json_object_object_add(params, "type", json_object_new_string("object"));
    json_object_object_add(params, "properties", json_object_new_object());
  }
  json_object_object_add(fn_def, "parameters", params);
  json_object *def = json_object_new_object();
  json_object_object_add(def, "type", json_object_new_string("function"));
  json_object_object_add(def, "function", fn_def);
  return tools_insert(ts, name, fn, user_data, def, err);
}

HVB_PUBLIC bool hvb_tools_add_schema(hvb_tools *ts, json_object *definition, hvb_error *err) {
  if (!ts) return hvb__fail(err, HVB_EINVAL, "tools is NULL");
  json_object *fn = json_object_object_get(definition, "function");
  const char *name = hvb__json_str(fn, "name");
  if (!json_object_is_type(definition, json_type_object) || !name)
    return hvb__fail(err, HVB_EINVAL,
                     "a schema tool must be {\"type\": \"function\", \"function\": {\"name\": "
                     "...}}");
  return tools_insert(ts, name, NULL, NULL, hvb__json_copy(definition), err);
}

HVB_PUBLIC int hvb_tools_count(const hvb_tools *ts) {
  return ts ? (int)ts->list->len : 0;
}

HVB_PUBLIC json_object *hvb_tools_json(const hvb_tools *ts) {
  return ts ? ts->array : NULL;
}

/* ============================================================================================
 * Settings
 * ========================================================================================== */

static bool read_flag(json_object *obj, const char *key, bool *out, hvb_status status,
                      const char *what, hvb_error *err) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(obj, key, &v) || !v) return true;
  if (!json_object_is_type(v, json_type_boolean))
    return hvb__fail(err, status, "%s.%s must be true or false", what, key);
  *out = json_object_get_boolean(v);
  return true;
}

/* A repair settings value: true/false (enabled) or an object of flags. */
static bool read_repair(json_object *v, hvb_repair_config *rc, hvb_status status,
                        const char *what, hvb_error *err) {
  if (!v) return true;
  if (json_object_is_type(v, json_type_boolean)) {
    rc->enabled = json_object_get_boolean(v);
    return true;
  }
  if (!json_object_is_type(v, json_type_object))
    return hvb__fail(err, status, "%s must be true, false or an object", what);
  json_object_object_foreach(v, key, val) {
    (void)val;
    if (strcmp(key, "enabled") && strcmp(key, "strict") && strcmp(key, "split"))
      return hvb__fail(err, status, "%s: unknown key '%s' (enabled, strict, split)", what, key);
  }
  return read_flag(v, "enabled", &rc->enabled, status, what, err) &&
         read_flag(v, "strict", &rc->strict, status, what, err) &&
         read_flag(v, "split", &rc->split, status, what, err);
}

static bool read_steps(json_object *v, int *out, hvb_status status, const char *what,
                       hvb_error *err) {
  if (!v) return true;
  if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
      json_object_get_int64(v) > 1000000)
    return hvb__fail(err, status, "%s must be a positive integer", what);
  *out = (int)json_object_get_int64(v);
  return true;
}

bool hvb__tools_settings(const hvb_config *cfg, json_object *options, hvb_repair_config *repair,
                         int *max_steps, hvb_error *err) {
  json_object *opt_repair = NULL, *opt_steps = NULL;
  if (json_object_is_type(options, json_type_object)) {
    opt_repair = json_object_object_get(options, "tool_call_repair");
    opt_steps = json_object_object_get(options, "max_steps");
  }
  return read_repair(hvb_config_get(cfg, "heavenbase.llm.tool_call_repair"), repair, HVB_CONFIG,
                     "config key 'heavenbase.llm.tool_call_repair'", err) &&
         read_steps(hvb_config_get(cfg, "heavenbase.llm.max_steps"), max_steps, HVB_CONFIG,
                    "config key 'heavenbase.llm.max_steps'", err) &&
         read_repair(opt_repair, repair, HVB_EINVAL, "option 'tool_call_repair'", err) &&
         read_steps(opt_steps, max_steps, HVB_EINVAL, "option 'max_steps'", err);
}

/* ============================================================================================
 * Repair in the pipeline
 * ========================================================================================== */

static json_object *repair_record(const hvb_repair_result *rr, const char *id, const char *tool,
                                  int step) {
  json_object *rec = json_object_new_object();
  json_object_object_add(rec, "id", json_object_new_string(id));
  json_object_object_add(rec, "tool", json_object_new_string(tool));
  json_object_object_add(rec, "step", json_object_new_int(step));
  json_object_object_add(
      rec, "outcome", json_object_new_string(hvb_repair_outcome_name(hvb_repair_result_outcome(rr))));
  json_object *edits = json_object_new_array();
  for (size_t i = 0; i < hvb_repair_result_edit_count(rr); i++) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(hvb_repair_result_edit_code(rr, i)));
    json_object_object_add(e, "text", json_object_new_string(hvb_repair_result_edit_text(rr, i)));
    json_object_array_add(edits, e);
  }
  json_object_object_add(rec, "edits", edits);
  const char *reason = hvb_repair_result_reason(rr);
  json_object_object_add(rec, "reason", reason ? json_object_new_string(reason) : NULL);
  return rec;
}

/* A copy of tool call `call` with the given name and arguments, and id `id` (NULL: kept). */
static json_object *call_with(json_object *call, const char *id, const char *name,
                              const char *args) {
  json_object *c = hvb__json_copy(call);
  if (id) json_object_object_add(c, "id", json_object_new_string(id));
  json_object *fn = json_object_object_get(c, "function");
  if (json_object_is_type(fn, json_type_object)) {
    if (name) json_object_object_add(fn, "name", json_object_new_string(name));
    json_object_object_add(fn, "arguments", json_object_new_string(args));
  }
  return c;
}

bool hvb__result_repair(hvb_result *r, json_object *tools, const hvb_repair_config *rc, int step,
                        hvb_error *err) {
  json_object *repairs = json_object_new_array();
  json_object *calls = hvb_result_tool_calls(r);
  if (!rc->enabled || !calls) {
    hvb__result_set_repairs(r, repairs);
    return true;
  }
  if (!json_object_is_type(tools, json_type_array)) tools = NULL;
  unsigned flags = hvb_repair_config_flags(rc) & ~(unsigned)HVB_REPAIR_STRICT;
  json_object *out = json_object_new_array();
  bool changed = false;
  for (size_t i = 0; i < json_object_array_length(calls); i++) {
    json_object *call = json_object_array_get_idx(calls, i);
    json_object *fn = json_object_object_get(call, "function");
    const char *name = hvb__json_str(fn, "name");
    const char *args = hvb__json_str(fn, "arguments");
    const char *id = hvb__json_str(call, "id");
    if (!id) id = "";
    if (!args) args = "";
    hvb_error e = HVB_ERROR_INIT;
    hvb_repair_result *rr = hvb_repair_tool_call(name, args, strlen(args), tools, flags, &e);
    if (!rr) { /* bad input to repair itself (cannot happen for a checked tools array) */
      hvb__log(HVB_LOG_WARN, "tool call '%s' (%s) was not repaired: %s", id,
               name ? name : "", e.message);
      json_object_array_add(out, json_object_get(call));
      continue;
    }
    hvb_repair_outcome oc = hvb_repair_result_outcome(rr);
    if (oc == HVB_REPAIR_UNFIXABLE && rc->strict) {
      hvb__fail(err, HVB_PARSE, "tool call '%s' (%s) has unfixable arguments: %s (%s)", id,
                name ? name : "", hvb_repair_result_reason(rr),
                hvb_repair_result_reason_text(rr));
      hvb_repair_result_free(rr);
      json_object_put(out);
      json_object_put(repairs);
      return false;
    }
    if (oc != HVB_REPAIR_VALID || hvb_repair_result_edit_count(rr) > 0) {
      json_object *rec = repair_record(rr, id, name ? name : "", step);
      hvb__log(HVB_LOG_DEBUG, "tool call repair, step %d: %s", step,
               json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN));
      json_object_array_add(repairs, rec);
    }
    bool untouched = oc == HVB_REPAIR_VALID && hvb_repair_result_edit_count(rr) == 0 &&
                     hvb_repair_result_call_count(rr) == 1;
    if (oc == HVB_REPAIR_UNFIXABLE || untouched) {
      /* Valid arguments keep the provider's exact text. Unfixable ones (not strict) stay as
       * they were: the tool loop answers them with a tool error. */
      json_object_array_add(out, json_object_get(call));
    } else {
      const char *tool_name = hvb_repair_result_tool(rr);
      size_t n = hvb_repair_result_call_count(rr);
      for (size_t k = 0; k < n; k++) {
        /* A split call's later parts need ids of their own to be answered. */
        char *kid = k ? g_strdup_printf("%s_%zu", id, k + 1) : NULL;
        json_object_array_add(out, call_with(call, kid, tool_name, hvb_repair_result_call(rr, k)));
        g_free(kid);
      }
      changed = true;
    }
    hvb_repair_result_free(rr);
  }
  if (changed)
    hvb__result_replace_tool_calls(r, out);
  else
    json_object_put(out);
  hvb__result_set_repairs(r, repairs);
  return true;
}

/* ============================================================================================
 * The tool loop
 * ========================================================================================== */

/* {"ok": false, "error": {"type": type, "message": message}} as JSON text. New string. */
static char *tool_error_text(const char *type, const char *message) {
  json_object *e = json_object_new_object();
  json_object_object_add(e, "type", json_object_new_string(type));
  json_object_object_add(e, "message", json_object_new_string(message));
  json_object *o = json_object_new_object();
  json_object_object_add(o, "ok", json_object_new_boolean(false));
  json_object_object_add(o, "error", e);
  char *s = g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return s;
}

/* Run one tool call; the content of its tool message (new string), *ok whether it ran. */
static char *run_call(const hvb_tools *ts, json_object *call, int step, bool *ok) {
  json_object *fn = json_object_object_get(call, "function");
  const char *name = hvb__json_str(fn, "name");
  const char *id = hvb__json_str(call, "id");
  const char *args = hvb__json_str(fn, "arguments");
  *ok = false;
  const tool_entry *t = tools_find(ts, name);
  if (!t || !t->fn) {
    char *msg = g_strdup_printf("no tool named '%s' (step %d, call '%s')", name ? name : "",
                                step, id ? id : "");
    hvb__log(HVB_LOG_INFO, "tool loop: %s", msg);
    char *s = tool_error_text("unknown_tool", msg);
    g_free(msg);
    return s;
  }
  /* Strict: json-c's default parser would accept the very breakage repair reports. */
  hvb_error perr = HVB_ERROR_INIT;
  json_object *parsed =
      hvb__json_parse_ex(args && *args ? args : "{}", -1, "arguments", HVB_JSON_STRICT, &perr);
  if (!json_object_is_type(parsed, json_type_object)) {
    json_object_put(parsed);
    char *msg = g_strdup_printf("the arguments of call '%s' to tool '%s' are not a JSON "
                                "object (step %d)",
                                id ? id : "", name, step);
    hvb__log(HVB_LOG_INFO, "tool loop: %s", msg);
    char *s = tool_error_text("invalid_arguments", msg);
    g_free(msg);
    return s;
  }
  hvb_error e = HVB_ERROR_INIT;
  json_object *res = t->fn(parsed, t->user_data, &e);
  json_object_put(parsed);
  if (!res) {
    const char *type = e.status != HVB_OK ? hvb_status_name(e.status) : "ERROR";
    char *msg = e.message[0] ? g_strdup(e.message)
                             : g_strdup_printf("tool '%s' returned no result", name);
    hvb__log(HVB_LOG_INFO, "tool loop: tool '%s' failed (step %d, call '%s'): %s", name, step,
             id ? id : "", msg);
    char *s = tool_error_text(type, msg);
    g_free(msg);
    return s;
  }
  *ok = true;
  char *s = g_strdup(json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(res);
  return s;
}

/* Is `name` a tool of the request's "tools" array that the set cannot run (a schema tool)? */
static bool is_schema_tool(const hvb_tools *ts, json_object *request_tools, const char *name) {
  const tool_entry *t = tools_find(ts, name);
  if (t) return t->fn == NULL;
  if (!name || !json_object_is_type(request_tools, json_type_array)) return false;
  for (size_t i = 0; i < json_object_array_length(request_tools); i++) {
    json_object *def = json_object_array_get_idx(request_tools, i);
    json_object *fn = json_object_object_get(def, "function");
    const char *n = hvb__json_str(fn ? fn : def, "name");
    if (n && strcmp(n, name) == 0) return true;
  }
  return false;
}

/* The call options of the loop: a copy with the set's tools appended to "tools" and
 * "tool_choice" defaulting to "auto". NULL with HVB_EINVAL for bad options. */
static json_object *loop_options(json_object *call_options, const hvb_tools *ts, int *max_steps,
                                 hvb_error *err) {
  if (call_options && !json_object_is_type(call_options, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "call options must be a JSON object");
    return NULL;
  }
  json_object *steps = json_object_object_get(call_options, "max_steps");
  if (steps && !read_steps(steps, max_steps, HVB_EINVAL, "call option 'max_steps'", err))
    return NULL;
  json_object *given = json_object_object_get(call_options, "tools");
  if (given && !json_object_is_type(given, json_type_array)) {
    hvb__fail(err, HVB_EINVAL, "call option 'tools' must be an array of tool definitions");
    return NULL;
  }
  json_object *opts = call_options ? hvb__json_copy(call_options) : json_object_new_object();
  json_object *all = given ? hvb__json_copy(given) : json_object_new_array();
  json_object *mine = hvb_tools_json(ts);
  for (size_t i = 0; mine && i < json_object_array_length(mine); i++)
    json_object_array_add(all, hvb__json_copy(json_object_array_get_idx(mine, i)));
  if (json_object_array_length(all) > 0) {
    json_object_object_add(opts, "tools", all);
    json_object *choice = json_object_object_get(opts, "tool_choice");
    if (!choice) json_object_object_add(opts, "tool_choice", json_object_new_string("auto"));
  } else {
    json_object_put(all);
  }
  return opts;
}

HVB_PUBLIC hvb_result *hvb_llm_chat_tools(hvb_llm *llm, const char *prompt, json_object *messages,
                                          const hvb_tools *ts, json_object *call_options,
                                          hvb_error *err) {
  if (!llm) {
    hvb__fail(err, HVB_EINVAL, "llm is NULL");
    return NULL;
  }
  if (!prompt == !messages) {
    hvb__fail(err, HVB_EINVAL, "give exactly one of prompt and messages");
    return NULL;
  }
  int max_steps = hvb__llm_max_steps(llm);
  json_object *opts = loop_options(call_options, ts, &max_steps, err);
  if (!opts) return NULL;
  bool runs = ts && ts->executable > 0;
  json_object *request_tools = json_object_object_get(opts, "tools");
  json_object *deltas = json_object_new_array();
  json_object *repairs = json_object_new_array();
  json_object *usage = NULL;
  json_object *conv = NULL; /* the conversation after step 1 */
  hvb_result *r = NULL;
  bool reached = false;
  int step = 1;
  for (;; step++) {
    r = hvb__llm_chat_ex(llm, conv ? NULL : prompt, conv ? conv : messages, opts, runs, err);
    if (!r) {
      hvb__error_prefix(err, "step %d", step);
      break;
    }
    json_object *d = hvb_result_deltas(r);
    for (size_t i = 0; d && i < json_object_array_length(d); i++)
      json_object_array_add(deltas, json_object_get(json_object_array_get_idx(d, i)));
    json_object *rep = hvb_result_repairs(r);
    for (size_t i = 0; rep && i < json_object_array_length(rep); i++) {
      json_object *rec = json_object_array_get_idx(rep, i);
      json_object_object_add(rec, "step", json_object_new_int(step));
      json_object_array_add(repairs, json_object_get(rec));
    }
    if (hvb_result_usage(r)) {
      if (!usage) usage = json_object_new_object();
      hvb__usage_merge(usage, hvb_result_usage(r));
    }

    json_object *calls = hvb_result_tool_calls(r);
    size_t ncalls = calls ? json_object_array_length(calls) : 0;
    if (!runs || ncalls == 0) break;
    bool schema = false;
    for (size_t i = 0; i < ncalls && !schema; i++) {
      json_object *fn = json_object_object_get(json_object_array_get_idx(calls, i), "function");
      schema = is_schema_tool(ts, request_tools, hvb__json_str(fn, "name"));
    }
    if (schema) break; /* the caller runs these calls */
    if (step >= max_steps) {
      reached = true;
      hvb__log(HVB_LOG_WARN,
               "tool loop stopped at max_steps (%d) with %zu tool call(s) not run", max_steps,
               ncalls);
      break;
    }

    json_object *next = hvb__json_copy(hvb_result_messages(r));
    for (size_t i = 0; i < ncalls; i++) {
      json_object *call = json_object_array_get_idx(calls, i);
      bool ok = false;
      char *content = run_call(ts, call, step, &ok);
      const char *id = hvb__json_str(call, "id");
      const char *name = hvb__json_str(json_object_object_get(call, "function"), "name");
      json_object *msg = json_object_new_object();
      json_object_object_add(msg, "role", json_object_new_string("tool"));
      json_object_object_add(msg, "tool_call_id", json_object_new_string(id ? id : ""));
      json_object_object_add(msg, "content", json_object_new_string(content));
      json_object_array_add(next, msg);
      json_object *tr = json_object_new_object();
      json_object_object_add(tr, "id", json_object_new_string(id ? id : ""));
      json_object_object_add(tr, "name", json_object_new_string(name ? name : ""));
      json_object_object_add(tr, "content", json_object_new_string(content));
      json_object_object_add(tr, "ok", json_object_new_boolean(ok));
      json_object *delta = json_object_new_object();
      json_object_object_add(delta, "tool_result", tr);
      json_object_array_add(deltas, delta);
      g_free(content);
    }
    json_object_put(conv);
    conv = next;
    hvb_result_free(r);
    r = NULL;
    /* The system prompt is in the conversation now; the option would add it again. */
    json_object_object_del(opts, "system");
  }
  if (r) {
    hvb__result_set_loop(r, deltas, usage, step, reached);
    hvb__result_set_repairs(r, repairs);
  } else {
    json_object_put(deltas);
    json_object_put(usage);
    json_object_put(repairs);
  }
  json_object_put(conv);
  json_object_put(opts);
  return r;
}
