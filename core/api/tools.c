/* core/api/tools.c: tool sets, tool-call repair in the pipeline, and the tool loop.
 *
 * The loop is plain sequential code over hvb__llm_chat_ex: one model call per step, the tool
 * calls of its answer run in order, one "tool" message each, then the next step with the whole
 * conversation. Every failure of a tool is fed back to the model as data ({"ok": false, ...})
 * rather than failing the call: models recover from a bad call when told what went wrong.
 */
#include "api/tools.h"
#include "api/tools-set.h"
#include "text/json.h"
#include "api/handle.h"
#include "api/chat.h"
#include "call/accum.h"
#include "call/result.h"
#include "call/stage-repair.h"
#include "call/telemetry.h"
#include "api/async.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

/* ============================================================================================
 * Tool sets
 * ========================================================================================== */

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
  hvb__tools_free_sources(ts);
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

static bool tools_insert(hvb_tools *ts, const char *name, hvb_tool_fn fn, hvb_tool_async_fn afn,
                         void *user_data, json_object *definition, hvb_error *err) {
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
  t->afn = afn;
  t->user_data = user_data;
  g_ptr_array_add(ts->list, t);
  json_object_array_add(ts->array, definition);
  if (fn || afn) ts->executable++;
  return true;
}

/* A copy of the set (an async call keeps one: the caller may free theirs). */
static hvb_tools *tools_copy(const hvb_tools *ts) {
  hvb_tools *c = hvb_tools_new();
  for (guint i = 0; ts && i < ts->list->len; i++) {
    const tool_entry *t = ts->list->pdata[i];
    tools_insert(c, t->name, t->fn, t->afn, t->user_data,
                 hvb__json_copy(json_object_array_get_idx(ts->array, i)), NULL);
  }
  if (ts) hvb__tools_copy_sources(c, ts);
  return c;
}

static bool add_executable(hvb_tools *ts, const char *name, const char *description,
                           json_object *parameters, hvb_tool_fn fn, hvb_tool_async_fn afn,
                           void *user_data, hvb_error *err) {
  if (!ts) return hvb__fail(err, HVB_EINVAL, "tools is NULL");
  if (!fn && !afn)
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
  return tools_insert(ts, name, fn, afn, user_data, def, err);
}

HVB_PUBLIC bool hvb_tools_add(hvb_tools *ts, const char *name, const char *description,
                              json_object *parameters, hvb_tool_fn fn, void *user_data,
                              hvb_error *err) {
  return add_executable(ts, name, description, parameters, fn, NULL, user_data, err);
}

bool hvb__tools_add_both(hvb_tools *ts, const char *name, const char *description,
                         json_object *parameters, hvb_tool_fn fn, hvb_tool_async_fn afn,
                         void *user_data, hvb_error *err) {
  return add_executable(ts, name, description, parameters, fn, afn, user_data, err);
}

HVB_PUBLIC bool hvb_tools_add_async(hvb_tools *ts, const char *name, const char *description,
                                    json_object *parameters, hvb_tool_async_fn fn,
                                    void *user_data, hvb_error *err) {
  return add_executable(ts, name, description, parameters, NULL, fn, user_data, err);
}

HVB_PUBLIC bool hvb_tools_add_schema(hvb_tools *ts, json_object *definition, hvb_error *err) {
  if (!ts) return hvb__fail(err, HVB_EINVAL, "tools is NULL");
  json_object *fn = json_object_object_get(definition, "function");
  const char *name = hvb__json_str(fn, "name");
  if (!json_object_is_type(definition, json_type_object) || !name)
    return hvb__fail(err, HVB_EINVAL,
                     "a schema tool must be {\"type\": \"function\", \"function\": {\"name\": "
                     "...}}");
  return tools_insert(ts, name, NULL, NULL, NULL, hvb__json_copy(definition), err);
}

HVB_PUBLIC size_t hvb_tools_count(const hvb_tools *ts) {
  return ts ? ts->list->len : 0;
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
  json_object *opt_repair = NULL, *opt_steps = NULL, *opt_call_repair = NULL;
  if (json_object_is_type(options, json_type_object)) {
    opt_repair = json_object_object_get(options, "tool_call_repair");
    opt_steps = json_object_object_get(options, "max_steps");
    /* The call option's name given to the LLM: the default of its every call. */
    opt_call_repair = json_object_object_get(options, "repair_tool_calls");
  }
  return read_repair(hvb_config_get(cfg, "heavenbase.llm.tool_call_repair"), repair, HVB_CONFIG,
                     "config key 'heavenbase.llm.tool_call_repair'", err) &&
         read_steps(hvb_config_get(cfg, "heavenbase.llm.max_steps"), max_steps, HVB_CONFIG,
                    "config key 'heavenbase.llm.max_steps'", err) &&
         read_repair(opt_repair, repair, HVB_EINVAL, "option 'tool_call_repair'", err) &&
         read_repair(opt_call_repair, repair, HVB_EINVAL, "option 'repair_tool_calls'", err) &&
         read_steps(opt_steps, max_steps, HVB_EINVAL, "option 'max_steps'", err);
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

/* The content of a tool message from what a tool gave: `res` (taken) or, when NULL, the
 * error `e` (a tool error for the model). *ok: the tool succeeded. New string. */
static char *tool_content(const char *name, const char *id, int step, json_object *res,
                          const hvb_error *e, bool *ok) {
  *ok = res != NULL;
  if (!res) {
    const char *type = e && e->status != HVB_OK ? hvb_status_name(e->status) : "ERROR";
    char *msg = e && e->message[0] ? g_strdup(e->message)
                                   : g_strdup_printf("tool '%s' returned no result", name);
    hvb__log(HVB_LOG_INFO, "tool loop: tool '%s' failed (step %d, call '%s'): %s", name, step,
             id, msg);
    char *s = tool_error_text(type, msg);
    g_free(msg);
    return s;
  }
  char *s = g_strdup(json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(res);
  return s;
}

/* Find the tool of `call` and parse its arguments: the tool (and *args, a new object) when it
 * can run, else NULL with *content set to the tool error for the model (new string). */
static const tool_entry *call_target(const hvb_tools *ts, json_object *call, int step,
                                     json_object **args, char **content) {
  json_object *fn = json_object_object_get(call, "function");
  const char *name = hvb__json_str(fn, "name");
  const char *id = hvb__json_str(call, "id");
  const char *text = hvb__json_str(fn, "arguments");
  *args = NULL;
  const tool_entry *t = tools_find(ts, name);
  if (!t || (!t->fn && !t->afn)) {
    char *msg = g_strdup_printf("no tool named '%s' (step %d, call '%s')", name ? name : "",
                                step, id ? id : "");
    hvb__log(HVB_LOG_INFO, "tool loop: %s", msg);
    *content = tool_error_text("unknown_tool", msg);
    g_free(msg);
    return NULL;
  }
  /* Strict: json-c's default parser would accept the very breakage repair reports. */
  hvb_error perr = HVB_ERROR_INIT;
  json_object *parsed =
      hvb__json_parse_ex(text && *text ? text : "{}", -1, "arguments", HVB_JSON_STRICT, &perr);
  if (!json_object_is_type(parsed, json_type_object)) {
    json_object_put(parsed);
    char *msg = g_strdup_printf("the arguments of call '%s' to tool '%s' are not a JSON "
                                "object (step %d)",
                                id ? id : "", name, step);
    hvb__log(HVB_LOG_INFO, "tool loop: %s", msg);
    *content = tool_error_text("invalid_arguments", msg);
    g_free(msg);
    return NULL;
  }
  *args = parsed;
  return t;
}

/* Run one tool call with a synchronous tool; the content of its tool message (new string),
 * *ok whether it ran. */
static char *run_call(const hvb_tools *ts, json_object *call, int step, bool *ok) {
  json_object *args = NULL;
  char *content = NULL;
  *ok = false;
  const tool_entry *t = call_target(ts, call, step, &args, &content);
  if (!t) return content;
  hvb_error e = HVB_ERROR_INIT;
  json_object *res = t->fn(args, t->user_data, &e);
  json_object_put(args);
  return tool_content(t->name, hvb__json_str(call, "id") ? hvb__json_str(call, "id") : "", step,
                      res, &e, ok);
}

/* Is `name` a tool of the request's "tools" array that the set cannot run (a schema tool)? */
static bool is_schema_tool(const hvb_tools *ts, json_object *request_tools, const char *name) {
  const tool_entry *t = tools_find(ts, name);
  if (t) return t->fn == NULL && t->afn == NULL;
  if (!name || !json_object_is_type(request_tools, json_type_array)) return false;
  for (size_t i = 0; i < json_object_array_length(request_tools); i++) {
    json_object *def = json_object_array_get_idx(request_tools, i);
    json_object *fn = json_object_object_get(def, "function");
    const char *n = hvb__json_str(fn ? fn : def, "name");
    if (n && strcmp(n, name) == 0) return true;
  }
  return false;
}

/* opts "tools" = `given` (the caller's schema tools) + the set's; "tool_choice" "auto" unless
 * given. */
static void set_tools_option(json_object *opts, json_object *given, const hvb_tools *ts) {
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
  set_tools_option(opts, given, ts);
  return opts;
}

/* What a loop gathers over its steps; the same for the sync and the async loop. */
typedef struct loop_state {
  const hvb_tools *ts;
  hvb_tools *own;             /* ts, when the loop copied the set to refresh it (sources) */
  json_object *given;         /* the call option "tools" (a copy), NULL when none */
  json_object *opts;          /* loop_options */
  json_object *request_tools; /* borrowed from opts */
  int max_steps;
  bool runs; /* the set has executable tools */
  json_object *deltas, *repairs, *usage;
  json_object *conv; /* the conversation after step 1, NULL before */
  json_object *next; /* being built: conv + the assistant message + tool messages */
  int step;
  bool reached;
  hvb_loop_acct acct; /* the steps' cost and time (core/call/stage-account.c) */
  hvb_obs *obs; /* the loop's observation (its steps are children), or NULL */
} loop_state;

/* Check the arguments and set up a loop. false with HVB_EINVAL. */
static bool loop_init(loop_state *ls, hvb_llm *llm, const char *prompt, json_object *messages,
                      const hvb_tools *ts, json_object *call_options, bool async,
                      hvb_error *err) {
  memset(ls, 0, sizeof *ls);
  if (!llm) return hvb__fail(err, HVB_EINVAL, "llm is NULL");
  if (!prompt == !messages)
    return hvb__fail(err, HVB_EINVAL, "give exactly one of prompt and messages");
  ls->max_steps = hvb__llm_max_steps(llm);
  ls->opts = loop_options(call_options, ts, &ls->max_steps, err);
  if (!ls->opts) return false;
  if (ts && ts->sources) ts = ls->own = tools_copy(ts); /* refreshed between steps */
  ls->given = hvb__json_copy(json_object_object_get(call_options, "tools"));
  ls->ts = ts;
  ls->runs = ts && ts->executable > 0;
  ls->request_tools = json_object_object_get(ls->opts, "tools");
  ls->deltas = json_object_new_array();
  ls->repairs = json_object_new_array();
  ls->step = 1;
  ls->obs = hvb__obs_loop_begin(hvb__llm_telemetry(llm), call_options, async);
  return true;
}

/* Report the whole loop (its result `r` when it ended with one, else `e`) to the observer
 * and the exporter; the steps were reported on their own. */
static void loop_report(loop_state *ls, hvb_llm *llm, const hvb_result *r, const hvb_error *e) {
  if (!ls->obs) return;
  hvb_obs_outcome out = {.spec = hvb__llm_spec(llm),
                         .url = hvb_spec_base_url(hvb__llm_spec(llm)),
                         .result = r,
                         .error = r ? NULL : e};
  hvb__obs_finish(&ls->obs, &out);
}

static void loop_clear(loop_state *ls) {
  json_object_put(ls->opts);
  json_object_put(ls->given);
  hvb_tools_free(ls->own);
  json_object_put(ls->deltas);
  json_object_put(ls->repairs);
  json_object_put(ls->usage);
  json_object_put(ls->conv);
  json_object_put(ls->next);
  hvb__loop_acct_clear(&ls->acct);
  hvb__obs_free(ls->obs);
  memset(ls, 0, sizeof *ls);
}

/* A step answered with `r`: gather its deltas, repairs and usage, and decide. true: run its
 * tool calls (ls->next is then the conversation to add their answers to); false: the loop
 * is over with `r` (the answer, schema tool calls for the caller, or max_steps). */
static bool loop_step_done(loop_state *ls, hvb_result *r) {
  hvb__loop_acct_step(&ls->acct, r);
  json_object *d = hvb_result_deltas(r);
  for (size_t i = 0; d && i < json_object_array_length(d); i++)
    json_object_array_add(ls->deltas, json_object_get(json_object_array_get_idx(d, i)));
  json_object *rep = hvb_result_repairs(r);
  for (size_t i = 0; rep && i < json_object_array_length(rep); i++) {
    json_object *rec = json_object_array_get_idx(rep, i);
    json_object_object_add(rec, "step", json_object_new_int(ls->step));
    json_object_array_add(ls->repairs, json_object_get(rec));
  }
  if (hvb_result_usage(r)) {
    if (!ls->usage) ls->usage = json_object_new_object();
    hvb__usage_merge(ls->usage, hvb_result_usage(r));
  }
  json_object *calls = hvb_result_tool_calls(r);
  size_t ncalls = calls ? json_object_array_length(calls) : 0;
  if (!ls->runs || ncalls == 0) return false;
  for (size_t i = 0; i < ncalls; i++) {
    json_object *fn = json_object_object_get(json_object_array_get_idx(calls, i), "function");
    if (is_schema_tool(ls->ts, ls->request_tools, hvb__json_str(fn, "name")))
      return false; /* the caller runs these calls */
  }
  if (ls->step >= ls->max_steps) {
    ls->reached = true;
    hvb__log(HVB_LOG_WARN, "tool loop stopped at max_steps (%d) with %zu tool call(s) not run",
             ls->max_steps, ncalls);
    return false;
  }
  json_object_put(ls->next);
  ls->next = hvb__json_copy(hvb_result_messages(r));
  return true;
}

/* Answer tool call `call` with `content` in ls->next and the loop's deltas; returns the
 * {"tool_result": ...} delta (borrowed from the loop). */
static json_object *loop_answer(loop_state *ls, json_object *call, const char *content, bool ok) {
  const char *id = hvb__json_str(call, "id");
  const char *name = hvb__json_str(json_object_object_get(call, "function"), "name");
  json_object *msg = json_object_new_object();
  json_object_object_add(msg, "role", json_object_new_string("tool"));
  json_object_object_add(msg, "tool_call_id", json_object_new_string(id ? id : ""));
  json_object_object_add(msg, "content", json_object_new_string(content));
  json_object_array_add(ls->next, msg);
  json_object *tr = json_object_new_object();
  json_object_object_add(tr, "id", json_object_new_string(id ? id : ""));
  json_object_object_add(tr, "name", json_object_new_string(name ? name : ""));
  json_object_object_add(tr, "content", json_object_new_string(content));
  json_object_object_add(tr, "ok", json_object_new_boolean(ok));
  json_object *delta = json_object_new_object();
  json_object_object_add(delta, "tool_result", tr);
  json_object_array_add(ls->deltas, delta);
  return delta;
}

/* Every tool call of the step is answered: the next step sends ls->next. */
static void loop_next_step(loop_state *ls) {
  json_object_put(ls->conv);
  ls->conv = ls->next;
  ls->next = NULL;
  ls->step++;
  /* The system prompt is in the conversation now; the option would add it again. */
  json_object_object_del(ls->opts, "system");
  if (ls->own && hvb__tools_refresh(ls->own)) { /* a source's tools changed: offer the new */
    json_object_object_del(ls->opts, "tools");
    set_tools_option(ls->opts, ls->given, ls->own);
    ls->request_tools = json_object_object_get(ls->opts, "tools");
    ls->runs = ls->own->executable > 0;
  }
}

/* The loop's result: the last step's `r` with the gathered fields (taken from ls). */
static hvb_result *loop_result(loop_state *ls, hvb_result *r) {
  hvb__result_set_loop(r, ls->deltas, ls->usage, ls->step, ls->reached);
  hvb__result_set_repairs(r, ls->repairs);
  hvb__loop_acct_finish(&ls->acct, r);
  ls->deltas = ls->repairs = ls->usage = NULL;
  return r;
}

/* The first async tool of the set, or NULL: a synchronous loop cannot run one. */
static const tool_entry *first_async(const hvb_tools *ts) {
  for (guint i = 0; ts && i < ts->list->len; i++) {
    const tool_entry *t = ts->list->pdata[i];
    if (t->afn && !t->fn) return t; /* a tool with both runs its synchronous form here */
  }
  return NULL;
}

HVB_PUBLIC hvb_result *hvb_llm_chat_tools(hvb_llm *llm, const char *prompt, json_object *messages,
                                          const hvb_tools *ts, json_object *call_options,
                                          hvb_error *err) {
  const tool_entry *a = first_async(ts);
  if (a) {
    hvb__fail(err, HVB_EINVAL,
              "tool '%s' is async (hvb_tools_add_async): run this chat with "
              "hvb_llm_chat_tools_async",
              a->name);
    return NULL;
  }
  loop_state ls;
  if (!loop_init(&ls, llm, prompt, messages, ts, call_options, false, err)) return NULL;
  hvb_result *r = NULL;
  hvb_error e = HVB_ERROR_INIT;
  for (;;) {
    void *scope = hvb__obs_scope_enter(ls.obs, ls.step);
    r = hvb__llm_chat_ex(llm, ls.conv ? NULL : prompt, ls.conv ? ls.conv : messages, ls.opts,
                         ls.runs, &e);
    hvb__obs_scope_leave(scope);
    if (!r) {
      hvb__error_prefix(&e, "step %d", ls.step);
      if (err) *err = e;
      break;
    }
    if (!loop_step_done(&ls, r)) break;
    json_object *calls = hvb_result_tool_calls(r);
    gint64 t = g_get_monotonic_time();
    for (size_t i = 0; i < json_object_array_length(calls); i++) {
      json_object *call = json_object_array_get_idx(calls, i);
      bool ok = false;
      char *content = run_call(ls.ts, call, ls.step, &ok);
      loop_answer(&ls, call, content, ok);
      g_free(content);
    }
    hvb__loop_acct_tools(&ls.acct, g_get_monotonic_time() - t);
    hvb_result_free(r);
    r = NULL;
    loop_next_step(&ls);
  }
  if (r) r = loop_result(&ls, r);
  loop_report(&ls, llm, r, &e);
  loop_clear(&ls);
  return r;
}

/* ============================================================================================
 * The async tool loop
 *
 * A state machine on the engine thread: each step is an async chat (hvb__chat_async) whose
 * on_done (step_done) gathers the step and starts the step's tools; an async tool answers
 * through its hvb_tool_call handle, from any thread, and its answer is carried to the engine
 * thread (hvb__engine_post) so that all of the loop's state is only ever touched there, with
 * no lock: the answers are counted, and the last one starts the next step. The public handle
 * is an external call (HVB_EXT_RESULT) that the loop finishes.
 *
 * Lifetime: the loop holds a reference of its own (dropped when it finishes, or on cancel
 * once no step is running) and one per tool call handle not completed yet, so an async tool
 * may answer after the chat was cancelled (its answer is then dropped).
 * ========================================================================================== */

typedef struct aloop {
  gint refs;
  GMutex gate; /* held while the first step starts, so its step_done sees the setup */
  loop_state ls;
  hvb_tools *tools; /* a copy: the caller may free theirs once the call started */
  hvb_llm *llm;     /* a reference */
  hvb_call *owner;  /* the public call (the producer's reference) */
  hvb_call *inner;  /* the step running, NULL while tools run */
  hvb_result *r;    /* the step whose tools run */
  bool stream;      /* the caller takes deltas */
  gint cancelled;
  /* tools of the step */
  size_t ncalls, pending;
  char **contents;
  bool *oks;
  gint64 tools_start; /* when the step's tools started (its "tools_ms" is until the last
                         answer: async tools run concurrently, in wall time) */
  GList *hooked; /* pending tool calls with a cancel hook (engine thread) */
} aloop;

struct hvb_tool_call {
  aloop *loop; /* a reference */
  size_t idx;
  int step;
  char *id, *name;
  json_object *result; /* set by hvb_tool_call_complete off the engine thread */
  hvb_error err;
  void (*on_cancel)(void *); /* hvb__tool_call_on_cancel (engine thread) */
  void *on_cancel_data;
};

void hvb__tool_call_on_cancel(hvb_tool_call *tc, void (*fn)(void *), void *data) {
  aloop *al = tc->loop;
  if (tc->on_cancel) al->hooked = g_list_remove(al->hooked, tc);
  tc->on_cancel = fn;
  tc->on_cancel_data = data;
  if (fn) al->hooked = g_list_prepend(al->hooked, tc);
}

static void aloop_unref(aloop *al) {
  if (!g_atomic_int_dec_and_test(&al->refs)) return;
  if (al->ls.obs) { /* never finished: cancelled */
    hvb_error e = HVB_ERROR_INIT;
    hvb__fail(&e, HVB_CANCELLED, "the call was cancelled");
    loop_report(&al->ls, al->llm, NULL, &e);
  }
  loop_clear(&al->ls);
  hvb_result_free(al->r);
  for (size_t i = 0; al->contents && i < al->ncalls; i++) g_free(al->contents[i]);
  g_free(al->contents);
  g_free(al->oks);
  hvb_tools_free(al->tools);
  hvb_llm_free(al->llm);
  g_mutex_clear(&al->gate);
  if (al->owner) hvb__call_unref(al->owner);
  g_free(al);
}

/* The loop is over with `r` (taken) or the error: hand the outcome to the public call. */
static void aloop_finish(aloop *al, hvb_result *r, const hvb_error *e) {
  if (r) r = loop_result(&al->ls, r);
  loop_report(&al->ls, al->llm, r, e);
  hvb__call_external_finish(al->owner, r, (void (*)(void *))hvb_result_free, r ? NULL : e);
  aloop_unref(al);
}

static void step_done(hvb_call *inner, void *user_data);

static void step_delta(hvb_call *inner, json_object *delta, void *user_data) {
  (void)inner;
  aloop *al = user_data;
  g_mutex_lock(&al->gate); /* step 1 may stream before its starter has set the owner */
  g_mutex_unlock(&al->gate);
  hvb__call_external_delta(al->owner, delta);
}

/* Start the step: the first with `prompt` or `messages`, the next ones with the
 * conversation. */
static hvb_call *start_step(aloop *al, const char *prompt, json_object *messages,
                            hvb_error *err) {
  loop_state *ls = &al->ls;
  void *scope = hvb__obs_scope_enter(ls->obs, ls->step);
  hvb_call *c = hvb__chat_async(al->llm, ls->conv ? NULL : prompt, ls->conv ? ls->conv : messages,
                                ls->opts, step_done, al->stream ? step_delta : NULL, al,
                                ls->runs, err);
  hvb__obs_scope_leave(scope);
  if (!c) hvb__error_prefix(err, "step %d", ls->step);
  return c;
}

/* Every tool call of the step has its answer: write them in order, start the next step. */
static void tools_answered(aloop *al) {
  json_object *calls = hvb_result_tool_calls(al->r);
  for (size_t i = 0; i < al->ncalls; i++) {
    json_object *delta =
        loop_answer(&al->ls, json_object_array_get_idx(calls, i), al->contents[i], al->oks[i]);
    if (al->stream) hvb__call_external_delta(al->owner, delta);
    g_free(al->contents[i]);
  }
  g_clear_pointer(&al->contents, g_free);
  g_clear_pointer(&al->oks, g_free);
  g_clear_pointer(&al->r, hvb_result_free);
  hvb__loop_acct_tools(&al->ls.acct, g_get_monotonic_time() - al->tools_start);
  loop_next_step(&al->ls);
  hvb_error e = HVB_ERROR_INIT;
  al->inner = start_step(al, NULL, NULL, &e);
  if (!al->inner) aloop_finish(al, NULL, &e);
}

/* Record the answer of tool call `idx` (engine thread); the last answer moves on. */
static void tool_answered(aloop *al, size_t idx, char *content, bool ok) {
  al->contents[idx] = content;
  al->oks[idx] = ok;
  if (--al->pending == 0) tools_answered(al);
}

static void tool_call_free(hvb_tool_call *tc) {
  json_object_put(tc->result);
  g_free(tc->id);
  g_free(tc->name);
  aloop_unref(tc->loop);
  g_free(tc);
}

/* An async tool's answer, on the engine thread. */
static void tool_call_landed(void *p) {
  hvb_tool_call *tc = p;
  aloop *al = tc->loop;
  if (!g_atomic_int_get(&al->cancelled)) {
    bool ok = false;
    hvb_error *e = tc->err.status != HVB_OK || tc->err.message[0] ? &tc->err : NULL;
    char *content = tool_content(tc->name, tc->id, tc->step, tc->result, e, &ok);
    tc->result = NULL; /* taken */
    tool_answered(al, tc->idx, content, ok);
  }
  tool_call_free(tc);
}

HVB_PUBLIC void hvb_tool_call_complete(hvb_tool_call *tc, json_object *result,
                                       const hvb_error *err) {
  if (!tc) {
    json_object_put(result);
    return;
  }
  tc->result = result;
  if (!result && err) tc->err = *err;
  /* Inside a turn (the tool answered at once, or from another callback) the loop's state
   * may be touched now; from any other thread the answer travels to the engine thread. */
  if (hvb__engine_in_turn()) tool_call_landed(tc);
  else hvb__engine_post(tool_call_landed, tc);
}

HVB_PUBLIC const char *hvb_tool_call_name(const hvb_tool_call *tc) {
  return tc ? tc->name : NULL;
}

HVB_PUBLIC const char *hvb_tool_call_id(const hvb_tool_call *tc) {
  return tc ? tc->id : NULL;
}

HVB_PUBLIC bool hvb_tool_call_cancelled(const hvb_tool_call *tc) {
  return tc && g_atomic_int_get(&tc->loop->cancelled);
}

/* Start the tools of the step in al->r: synchronous ones run now, async ones get a handle.
 * A guard count keeps an answer given at once from moving on before every call started. */
static void run_tools(aloop *al) {
  json_object *calls = hvb_result_tool_calls(al->r);
  al->tools_start = g_get_monotonic_time();
  al->ncalls = json_object_array_length(calls);
  al->contents = g_new0(char *, al->ncalls);
  al->oks = g_new0(bool, al->ncalls);
  al->pending = al->ncalls + 1;
  for (size_t i = 0; i < al->ncalls; i++) {
    json_object *call = json_object_array_get_idx(calls, i);
    json_object *args = NULL;
    char *content = NULL;
    const tool_entry *t = call_target(al->ls.ts, call, al->ls.step, &args, &content);
    const char *id = hvb__json_str(call, "id");
    if (t && t->afn) {
      hvb_tool_call *tc = g_new0(hvb_tool_call, 1);
      g_atomic_int_inc(&al->refs);
      tc->loop = al;
      tc->idx = i;
      tc->step = al->ls.step;
      tc->id = g_strdup(id ? id : "");
      tc->name = g_strdup(t->name);
      t->afn(args, tc, t->user_data);
      json_object_put(args);
      continue;
    }
    bool ok = false;
    if (t) {
      hvb_error e = HVB_ERROR_INIT;
      json_object *res = t->fn(args, t->user_data, &e);
      json_object_put(args);
      content = tool_content(t->name, id ? id : "", al->ls.step, res, &e, &ok);
    }
    tool_answered(al, i, content, ok);
  }
  if (--al->pending == 0) tools_answered(al); /* the guard's */
}

static void step_done(hvb_call *inner, void *user_data) {
  aloop *al = user_data;
  g_mutex_lock(&al->gate); /* the first step may end before its starter has returned */
  g_mutex_unlock(&al->gate);
  al->inner = NULL;
  if (g_atomic_int_get(&al->cancelled)) { /* the public call reported its cancellation */
    hvb_call_free(inner);
    aloop_unref(al);
    return;
  }
  hvb_result *r = hvb_call_take_result(inner);
  hvb_error e = HVB_ERROR_INIT;
  if (!r) {
    const hvb_error *ie = hvb_call_error(inner);
    if (ie) e = *ie;
    hvb__error_prefix(&e, "step %d", al->ls.step);
  }
  hvb_call_free(inner);
  if (!r) {
    aloop_finish(al, NULL, &e);
  } else if (!loop_step_done(&al->ls, r)) {
    aloop_finish(al, r, NULL);
  } else {
    al->r = r;
    run_tools(al);
  }
}

/* The public call was cancelled (engine thread): stop the step that runs; tools that run
 * keep the loop until they answer, and their answers are dropped. */
static void aloop_cancel(void *p) {
  aloop *al = p;
  g_atomic_int_set(&al->cancelled, 1);
  GList *hooked = g_list_copy(al->hooked); /* each hook completes its call: it leaves */
  for (GList *l = hooked; l; l = l->next) {
    hvb_tool_call *tc = l->data;
    if (g_list_find(al->hooked, tc)) tc->on_cancel(tc->on_cancel_data);
  }
  g_list_free(hooked);
  if (al->inner) hvb_call_cancel(al->inner); /* its step_done drops the loop's reference */
  else aloop_unref(al);
}

HVB_PUBLIC hvb_call *hvb_llm_chat_tools_async(hvb_llm *llm, const char *prompt,
                                              json_object *messages, const hvb_tools *ts,
                                              json_object *call_options,
                                              hvb_call_done_fn on_done,
                                              hvb_call_delta_fn on_delta, void *user_data,
                                              hvb_error *err) {
  aloop *al = g_new0(aloop, 1);
  al->refs = 1;
  g_mutex_init(&al->gate);
  al->tools = tools_copy(ts);
  if (!loop_init(&al->ls, llm, prompt, messages, al->tools, call_options, true, err)) {
    aloop_unref(al);
    return NULL;
  }
  al->llm = hvb__llm_ref(llm);
  al->stream = on_delta != NULL;
  /* Step 1 starts here, so prompt and messages need no copy of ours. */
  g_mutex_lock(&al->gate);
  al->inner = start_step(al, prompt, messages, err);
  if (!al->inner) {
    g_mutex_unlock(&al->gate);
    aloop_unref(al);
    return NULL;
  }
  hvb_call *handle = hvb__call_external_new(HVB_EXT_RESULT, on_done, on_delta, user_data);
  al->owner = handle;
  hvb__call_external_on_cancel(handle, aloop_cancel, al);
  g_mutex_unlock(&al->gate);
  return handle;
}
