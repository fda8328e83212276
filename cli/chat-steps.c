/* cli/chat-steps.c: how a streamed turn looks in the interactive hb chat: the text as it
 * arrives, and each tool step as one line, `STEP 1/20 get_weather(city="Paris") -> 14°C`. */
#include "chat-repl.h"

#include <stdlib.h>
#include <string.h>

#define RESULT_SHOWN 200 /* bytes of a tool result shown on its STEP line */

/* A tool call gathered from the stream's fragments. */
typedef struct step_call {
  long index;
  char *id, *name, *args;
} step_call;

struct hb_steps {
  FILE *out, *text_out; /* STEP lines, the model's text (the same file unless set apart) */
  int max_steps, step;
  bool in_results;     /* the last delta was a tool result: the next text is a new step */
  bool at_line_start;  /* nothing printed on the current line */
  bool text_printed, text_ends_newline; /* of text_out, when it is not out */
  step_call *calls;
  size_t ncalls;
};

hb_steps *hb_steps_new(FILE *out, int max_steps) {
  hb_steps *v = calloc(1, sizeof *v);
  v->out = v->text_out = out;
  v->max_steps = max_steps;
  hb_steps_reset(v);
  return v;
}

static void calls_clear(hb_steps *v) {
  for (size_t i = 0; i < v->ncalls; i++) {
    free(v->calls[i].id);
    free(v->calls[i].name);
    free(v->calls[i].args);
  }
  free(v->calls);
  v->calls = NULL;
  v->ncalls = 0;
}

void hb_steps_free(hb_steps *v) {
  if (!v) return;
  calls_clear(v);
  free(v);
}

void hb_steps_set_text_out(hb_steps *v, FILE *text_out) { v->text_out = text_out; }

void hb_steps_reset(hb_steps *v) {
  calls_clear(v);
  v->step = 1;
  v->in_results = false;
  v->at_line_start = true;
  v->text_printed = v->text_ends_newline = false;
}

static char *append(char *s, const char *more) {
  size_t a = s ? strlen(s) : 0, b = strlen(more);
  char *r = realloc(s, a + b + 1);
  memcpy(r + a, more, b + 1);
  return r;
}

/* Fold one tool_calls fragment: an id starts a call, else it continues its index's call. */
static void fold_fragment(hb_steps *v, json_object *frag) {
  json_object *fn = json_object_object_get(frag, "function");
  const char *id = json_object_get_string(json_object_object_get(frag, "id"));
  const char *name = json_object_get_string(json_object_object_get(fn, "name"));
  const char *args = json_object_get_string(json_object_object_get(fn, "arguments"));
  long index = (long)json_object_get_int64(json_object_object_get(frag, "index"));
  step_call *c = NULL;
  for (size_t i = v->ncalls; i-- > 0 && !id;)
    if (v->calls[i].index == index) c = &v->calls[i];
  if (!c) {
    v->calls = realloc(v->calls, (v->ncalls + 1) * sizeof *v->calls);
    c = &v->calls[v->ncalls++];
    memset(c, 0, sizeof *c);
    c->index = index;
    c->id = strdup(id ? id : "");
  }
  if (name && !c->name) c->name = strdup(name);
  if (args) c->args = append(c->args, args);
}

static void end_line(hb_steps *v) {
  if (!v->at_line_start) fputc('\n', v->out);
  v->at_line_start = true;
}

/* `name(a=1, b="x")` from the arguments JSON text (shown as given when it is no object). */
static char *call_text(const char *name, const char *args) {
  char *s = append(NULL, name ? name : "?");
  s = append(s, "(");
  json_object *o = args ? json_tokener_parse(args) : NULL;
  if (json_object_is_type(o, json_type_object)) {
    bool first = true;
    json_object_object_foreach(o, k, val) {
      if (!first) s = append(s, ", ");
      first = false;
      s = append(s, k);
      s = append(s, "=");
      s = append(s, json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
    }
  } else if (args) {
    s = append(s, args);
  }
  json_object_put(o);
  return append(s, ")");
}

void hb_steps_print_call(hb_steps *v, int step, const char *name, const char *args,
                         const char *result) {
  end_line(v);
  char *call = call_text(name, args);
  fprintf(v->out, "STEP %d/%d %s -> ", step, v->max_steps, call);
  free(call);
  /* A JSON string result shows as its text, and so does an object holding nothing but a
   * "text" string (an MCP tool's text answer); anything else as the JSON, on one line. */
  json_object *parsed = json_tokener_parse(result), *text = NULL;
  const char *shown = result;
  if (json_object_is_type(parsed, json_type_string))
    shown = json_object_get_string(parsed);
  else if (json_object_is_type(parsed, json_type_object) && json_object_object_length(parsed) == 1 &&
           json_object_object_get_ex(parsed, "text", &text) &&
           json_object_is_type(text, json_type_string))
    shown = json_object_get_string(text);
  size_t n = strlen(shown);
  for (size_t i = 0; i < n && i < RESULT_SHOWN; i++)
    fputc(shown[i] == '\n' || shown[i] == '\r' ? ' ' : shown[i], v->out);
  if (n > RESULT_SHOWN) fputs("...", v->out);
  fputc('\n', v->out);
  json_object_put(parsed);
  fflush(v->out);
}

static void show_result(hb_steps *v, json_object *tr) {
  const char *id = json_object_get_string(json_object_object_get(tr, "id"));
  const char *name = json_object_get_string(json_object_object_get(tr, "name"));
  const char *content = json_object_get_string(json_object_object_get(tr, "content"));
  const char *args = NULL;
  for (size_t i = 0; i < v->ncalls; i++)
    if (id && !strcmp(v->calls[i].id, id)) args = v->calls[i].args;
  hb_steps_print_call(v, v->step, name, args, content ? content : "");
}

void hb_steps_delta(hb_steps *v, json_object *delta) {
  json_object *tr = json_object_object_get(delta, "tool_result");
  if (tr) {
    v->in_results = true;
    show_result(v, tr);
    return;
  }
  if (v->in_results) { /* the model's next step */
    v->in_results = false;
    v->step++;
    calls_clear(v);
  }
  json_object *calls = json_object_object_get(delta, "tool_calls");
  for (size_t i = 0; json_object_is_type(calls, json_type_array) &&
                     i < json_object_array_length(calls);
       i++)
    fold_fragment(v, json_object_array_get_idx(calls, i));
  json_object *text = json_object_object_get(delta, "text");
  if (text && json_object_get_string_len(text) > 0) {
    size_t n = (size_t)json_object_get_string_len(text);
    fwrite(json_object_get_string(text), 1, n, v->text_out);
    if (v->text_out == v->out) v->at_line_start = json_object_get_string(text)[n - 1] == '\n';
    else v->text_ends_newline = json_object_get_string(text)[n - 1] == '\n';
    v->text_printed = true;
    fflush(v->text_out);
  }
}

void hb_steps_end(hb_steps *v, const hvb_result *r) {
  json_object *calls = r ? hvb_result_tool_calls(r) : NULL;
  for (size_t i = 0; calls && i < json_object_array_length(calls); i++) {
    json_object *fn = json_object_object_get(json_object_array_get_idx(calls, i), "function");
    hb_steps_print_call(v, v->step, json_object_get_string(json_object_object_get(fn, "name")),
                        json_object_get_string(json_object_object_get(fn, "arguments")),
                        "(not run)");
  }
  end_line(v);
  if (v->text_out != v->out && v->text_printed && !v->text_ends_newline) fputc('\n', v->text_out);
  fflush(v->out);
  fflush(v->text_out);
}
