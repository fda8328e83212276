/* cli/cmd-chat.c: hb chat. */
#include "cli.h"
#include "chat-repl.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fields printed as text while a stream runs; the others are printed once it ended. */
static bool is_stream_text_field(const char *f) {
  return !strcmp(f, "text") || !strcmp(f, "content") || !strcmp(f, "think");
}

typedef struct stream_printer {
  bool text, think, wrap_think; /* what to print as it arrives */
  bool in_think, printed, ends_newline;
} stream_printer;

static void print_piece_len(stream_printer *p, const char *s, size_t n) {
  if (!n) return;
  fwrite(s, 1, n, stdout);
  p->printed = true;
  p->ends_newline = s[n - 1] == '\n';
}

static void print_piece(stream_printer *p, const char *s) { print_piece_len(p, s, strlen(s)); }

/* A delta's string, whole: it may hold a NUL. */
static void print_string(stream_printer *p, json_object *v) {
  print_piece_len(p, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static void print_delta(stream_printer *p, json_object *delta) {
  json_object *v;
  if (json_object_object_get_ex(delta, "think", &v) && (p->think || p->wrap_think)) {
    if (p->wrap_think && !p->in_think) {
      print_piece(p, "<think>\n");
      p->in_think = true;
    }
    print_string(p, v);
  }
  if (json_object_object_get_ex(delta, "text", &v) && p->text) {
    if (p->in_think && json_object_get_string_len(v) > 0) {
      print_piece(p, "\n</think>\n");
      p->in_think = false;
    }
    print_string(p, v);
  }
  fflush(stdout);
}

/* The include list without the fields a stream already printed; NULL when none is left. */
static char *remaining_fields(const char *include) {
  char *copy = strdup(include), *save = NULL;
  char *out = calloc(1, strlen(include) + 1);
  for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
    while (*f == ' ') f++;
    if (is_stream_text_field(f) || !*f) continue;
    if (*out) strcat(out, ",");
    strcat(out, f);
  }
  free(copy);
  if (!*out) {
    free(out);
    return NULL;
  }
  return out;
}

/* Is `name` one of the comma-separated fields of `include`? */
static bool has_field(const char *include, const char *name) {
  size_t n = strlen(name);
  for (const char *p = include; *p;) {
    while (*p == ' ' || *p == ',') p++;
    size_t len = strcspn(p, ",");
    while (len && p[len - 1] == ' ') len--;
    if (len == n && !strncmp(p, name, n)) return true;
    p += strcspn(p, ",");
  }
  return false;
}

static int run_stream(hvb_llm *llm, const char *prompt, json_object *call, const char *include,
                      bool json, bool verbose) {
  hvb_error err = HVB_ERROR_INIT;
  stream_printer p = {0};
  p.wrap_think = has_field(include, "content");
  /* A stream is watched as text: the text always prints as it arrives, and the other
   * included fields follow as JSON once the stream ended. */
  p.text = true;
  p.think = !p.wrap_think && has_field(include, "think");

  hvb_stream *st = hvb_llm_stream(llm, prompt, NULL, call, &err);
  if (!st) return hb_fail("chat", &err);
  json_object *delta = NULL;
  int rc = HB_EXIT_OK;
  for (;;) {
    if (!hvb_stream_next(st, &delta, &err)) {
      if (p.printed && !p.ends_newline) fputc('\n', stdout);
      fflush(stdout);
      rc = hb_fail("chat", &err);
      break;
    }
    if (!delta) break;
    if (json) {
      hb_write_json(stdout, delta, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
      fputc('\n', stdout);
      fflush(stdout);
    } else {
      print_delta(&p, delta);
    }
  }
  if (rc == HB_EXIT_OK && !json) {
    if (p.in_think) print_piece(&p, "\n</think>\n");
    if (p.printed && !p.ends_newline) fputc('\n', stdout);
    char *rest = remaining_fields(include);
    if (!rest && !p.printed) {
      /* Only tool calls came back (hb chat --tools): they are the answer. */
      hvb_result *r = hvb_stream_result(st, &err);
      if (!r)
        rc = hb_fail("chat", &err);
      else if (hvb_result_tool_calls(r))
        hb_print_json(stdout, hvb_result_tool_calls(r), false);
      hvb_result_free(r);
    }
    if (verbose) {
      hvb_result *r = hvb_stream_result(st, NULL);
      if (r) hb_print_usage_line(stderr, r);
      hvb_result_free(r);
    }
    if (rest) {
      hvb_result *r = hvb_stream_result(st, &err);
      bool ok = r != NULL;
      json_object *v = ok ? hvb_result_project(r, rest, &ok, &err) : NULL;
      if (ok)
        hb_print_json(stdout, v, false);
      else
        rc = hb_fail("chat", &err);
      json_object_put(v);
      hvb_result_free(r);
      free(rest);
    }
  }
  hvb_stream_free(st);
  return rc;
}

static int run_chat(hvb_llm *llm, const char *prompt, json_object *call, const char *include,
                    bool json, bool verbose) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, prompt, NULL, call, &err);
  if (!r) return hb_fail("chat", &err);
  bool ok = false;
  json_object *v = hvb_result_project(r, include, &ok, &err);
  int rc = HB_EXIT_OK;
  if (!ok)
    rc = hb_fail("chat", &err);
  else if (!strcmp(include, "text") && !*hvb_result_text(r) && hvb_result_tool_calls(r))
    /* Only tool calls came back (hb chat --tools): they are the answer, as a JSON array. */
    hb_print_json(stdout, hvb_result_tool_calls(r), false);
  else if (!v)
    puts(json ? "null" : "");
  else
    hb_print_json(stdout, v, !json);
  if (verbose && rc == HB_EXIT_OK) {
    fflush(stdout);
    hb_print_usage_line(stderr, r);
  }
  json_object_put(v);
  hvb_result_free(r);
  return rc;
}

/* ---- hb chat --parallel N -i FILE: one chat per line through the async engine ---- */

typedef struct par_state {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int in_flight, finished;
} par_state;

static void parallel_done(hvb_call *call, void *ud) {
  (void)call;
  par_state *p = ud;
  pthread_mutex_lock(&p->lock);
  p->in_flight--;
  p->finished++;
  pthread_cond_signal(&p->changed);
  pthread_mutex_unlock(&p->lock);
}

static void progress(bool show, int finished, int total) {
  if (!show) return;
  int width = 30, filled = total ? finished * width / total : width;
  fprintf(stderr, "\r[%.*s%*s] %d/%d", filled, "##############################", width - filled,
          "", finished, total);
  if (finished == total) fputc('\n', stderr);
  fflush(stderr);
}

/* Print one outcome as one line: text mode keeps each reply on its line (newlines inside become
 * spaces; --json keeps them exact); a failure is an empty line (text) or {"error": ...}. */
static bool print_outcome(hvb_call *c, int line, const char *include, bool json) {
  hvb_error err = HVB_ERROR_INIT;
  const hvb_result *r = hvb_call_result(c);
  if (!r) {
    const hvb_error *e = hvb_call_error(c);
    fprintf(stderr, "hb: chat: line %d: %s\n", line, e ? e->message : "failed");
    if (json) {
      json_object *o = json_object_new_object(), *eo = json_object_new_object();
      json_object_object_add(eo, "status",
                             json_object_new_string(hvb_status_name(e ? e->status : HVB_OK)));
      json_object_object_add(eo, "message", json_object_new_string(e ? e->message : ""));
      json_object_object_add(o, "error", eo);
      hb_write_json(stdout, o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
      putchar('\n');
      json_object_put(o);
    } else {
      putchar('\n');
    }
    return false;
  }
  bool ok = false;
  json_object *v = hvb_result_project(r, include, &ok, &err);
  if (!ok) {
    putchar('\n');
    return hb_fail("chat", &err) == HB_EXIT_OK;
  }
  if (json) {
    if (v)
      hb_write_json(stdout, v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    else
      fputs("null", stdout);
    putchar('\n');
  } else {
    size_t len = 0;
    const char *t = json_object_is_type(v, json_type_string)
                        ? json_object_get_string(v)
                        : json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len);
    if (json_object_is_type(v, json_type_string)) len = (size_t)json_object_get_string_len(v);
    for (size_t i = 0; t && i < len; i++) putchar(t[i] == '\n' || t[i] == '\r' ? ' ' : t[i]);
    putchar('\n');
  }
  json_object_put(v);
  return true;
}

/* One prompt per line of `path` ('-': stdin); empty lines are skipped (they would be empty
 * prompts). New array of new strings in *out, their count returned; -1 when unreadable. */
static int read_prompts(const char *path, char ***out) {
  FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
  if (!in) return -1;
  char **prompts = NULL, *line = NULL;
  int count = 0;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, in)) >= 0) {
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (!len) continue;
    char **more = realloc(prompts, sizeof *prompts * (size_t)(count + 1));
    if (!more) break;
    prompts = more;
    prompts[count++] = strdup(line);
  }
  free(line);
  if (in != stdin) fclose(in);
  *out = prompts;
  return count;
}

/* Start one call per prompt, at most `n` in flight; returns how many started (fewer when
 * starting one failed: bad options fail every line alike, so no more are started). */
static int start_calls(hvb_llm *llm, char **prompts, int count, int n, json_object *call,
                       par_state *p, hvb_call **calls, int *rc) {
  bool show = isatty(STDERR_FILENO);
  for (int i = 0; i < count; i++) {
    pthread_mutex_lock(&p->lock);
    while (p->in_flight >= n) {
      pthread_cond_wait(&p->changed, &p->lock);
      progress(show, p->finished, count);
    }
    p->in_flight++;
    pthread_mutex_unlock(&p->lock);
    hvb_error err = HVB_ERROR_INIT;
    calls[i] = hvb_llm_chat_async(llm, prompts[i], NULL, call, parallel_done, NULL, p, &err);
    if (!calls[i]) {
      pthread_mutex_lock(&p->lock);
      p->in_flight--;
      pthread_mutex_unlock(&p->lock);
      *rc = hb_fail("chat", &err);
      return i;
    }
  }
  return count;
}

static int run_parallel(hvb_llm *llm, const char *path, int n, json_object *call,
                        const char *include, bool json) {
  char **prompts = NULL;
  const int nprompts = read_prompts(path, &prompts);
  if (nprompts < 0) {
    fprintf(stderr, "hb: chat: cannot read prompts from %s\n", path);
    return HB_EXIT_FAIL;
  }
  par_state p = {.in_flight = 0};
  pthread_mutex_init(&p.lock, NULL);
  pthread_cond_init(&p.changed, NULL);
  hvb_call **calls = calloc((size_t)nprompts + 1, sizeof *calls);
  bool show = isatty(STDERR_FILENO), all_ok = true;
  int rc = HB_EXIT_OK;
  int count = start_calls(llm, prompts, nprompts, n, call, &p, calls, &rc);
  pthread_mutex_lock(&p.lock);
  while (p.finished < count) {
    pthread_cond_wait(&p.changed, &p.lock);
    progress(show, p.finished, count);
  }
  pthread_mutex_unlock(&p.lock);
  for (int i = 0; i < count; i++) {
    hvb_call_wait(calls[i], -1); /* on_done has returned: nothing touches `p` any more */
    if (!print_outcome(calls[i], i + 1, include, json)) all_ok = false;
    hvb_call_free(calls[i]);
  }
  fflush(stdout);
  for (int i = 0; i < nprompts; i++) free(prompts[i]);
  free(prompts);
  free(calls);
  pthread_cond_destroy(&p.changed);
  pthread_mutex_destroy(&p.lock);
  if (rc == HB_EXIT_OK && !all_ok) rc = HB_EXIT_FAIL;
  return rc;
}

/* ---- hb chat: options, then one of the three runs ---- */

typedef struct chat_args {
  hb_llm_opts lo;
  json_object *call; /* per-call options: system, images, tools, stream */
  const char *prompt, *include, *input;
  int stream; /* -1: as configured */
  bool json;
  bool verbose; /* -v: a usage line on stderr after the reply */
  int parallel;
  char *stdin_text; /* the prompt read from stdin (owned) */
  const char *session; /* --session FILE (interactive) */
  hb_mcp_servers mcp; /* --mcp: a tool loop over their tools (cli/cmd-mcp.c) */
} chat_args;

static void chat_add_image(chat_args *c, const char *source) {
  json_object *list = json_object_object_get(c->call, "images");
  if (!list) {
    list = json_object_new_array();
    json_object_object_add(c->call, "images", list);
  }
  json_object_array_add(list, json_object_new_string(source));
}

static bool chat_add_tools(chat_args *c, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    hb_usage("chat", "--tools %s: cannot read it: %s", path, strerror(errno));
    return false;
  }
  fclose(f);
  json_object *tools = json_object_from_file(path);
  if (!tools) {
    hb_usage("chat", "--tools %s: not JSON: %s", path, json_util_get_last_err());
    return false;
  }
  if (!json_object_is_type(tools, json_type_array)) {
    json_object_put(tools);
    hb_usage("chat", "--tools %s: expected a JSON array of OpenAI tool definitions", path);
    return false;
  }
  json_object_object_add(c->call, "tools", tools);
  return true;
}

/* --schema FILE: the reply must match the JSON Schema in FILE (named after the file). */
static bool chat_add_schema(chat_args *c, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    hb_usage("chat", "--schema %s: cannot read it: %s", path, strerror(errno));
    return false;
  }
  fclose(f);
  json_object *schema = json_object_from_file(path);
  if (!schema) {
    hb_usage("chat", "--schema %s: not JSON: %s", path, json_util_get_last_err());
    return false;
  }
  /* The file's base name, cut to what a schema name may hold. */
  const char *slash = strrchr(path, '/');
  char name[65];
  snprintf(name, sizeof name, "%s", slash ? slash + 1 : path);
  char *dot = strrchr(name, '.');
  if (dot && dot != name) *dot = '\0';
  for (char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') *p = '_';
  hvb_error err = HVB_ERROR_INIT;
  bool ok = hvb_call_options_set_schema(c->call, *name ? name : "schema", schema, true, &err);
  if (!ok) hb_usage("chat", "--schema %s: %s", path, err.message);
  json_object_put(schema);
  return ok;
}

static void chat_json_object(chat_args *c) {
  json_object *rf = json_object_new_object();
  json_object_object_add(rf, "type", json_object_new_string("json_object"));
  json_object_object_add(c->call, "response_format", rf);
}

/* Every field of --include is one the table lists: a typo is a usage error before any call. */
static bool include_known(const hb_arg *arg) {
  for (const char *p = arg->value; *p;) {
    p += strspn(p, ", ");
    size_t len = strcspn(p, ",");
    while (len && p[len - 1] == ' ') len--;
    if (len) {
      char *f = strndup(p, len);
      bool ok = has_field(arg->opt->choices, f);
      if (!ok) hb_usage("chat", "--include: unknown field '%s' (one of %s)", f, arg->opt->choices);
      free(f);
      if (!ok) return false;
    }
    p += strcspn(p, ",");
  }
  return true;
}

/* One option of hb chat; false after a usage error (reported). */
static bool chat_apply(chat_args *c, const hb_arg *arg) {
  int used = hb_llm_opts_apply(&c->lo, "chat", arg);
  if (used) return used > 0;
  const char *v = arg->value;
  long n;
  switch (arg->opt->id) {
  case HB_OPT_SYSTEM: json_object_object_add(c->call, "system", json_object_new_string(v)); break;
  case HB_OPT_IMAGE: chat_add_image(c, v); break;
  case HB_OPT_INCLUDE:
    if (!include_known(arg)) return false;
    c->include = v;
    break;
  case HB_OPT_STREAM: c->stream = 1; break;
  case HB_OPT_NO_STREAM: c->stream = 0; break;
  case HB_OPT_JSON: c->json = true; break;
  case HB_OPT_VERBOSE: c->verbose = true; break;
  case HB_OPT_INPUT: c->input = v; break;
  case HB_OPT_SESSION: c->session = v; break;
  case HB_OPT_TOOLS: return chat_add_tools(c, v);
  case HB_OPT_SCHEMA: return chat_add_schema(c, v);
  case HB_OPT_JSON_OBJECT: chat_json_object(c); break;
  case HB_OPT_MCP: hb_mcp_servers_add(&c->mcp, v); break;
  case HB_OPT_PARALLEL:
    if (!hb_parse_count(v, 100000, &n)) {
      hb_usage("chat", "--parallel %s: expected a number of calls from 1 to 100000", v);
      return false;
    }
    c->parallel = (int)n;
    break;
  default: return false; /* not reached: chat accepts no other option */
  }
  return true;
}

static bool chat_parse(chat_args *c, int argc, char **argv) {
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "chat", hb_command_options_find("chat", NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return false;
    if (k == HB_ARGS_OPTION) {
      if (!chat_apply(c, &arg)) return false;
    } else if (c->prompt) {
      hb_usage("chat", "one prompt only (quote it): unexpected '%s'", arg.value);
      return false;
    } else {
      c->prompt = arg.value;
    }
  }
  return true;
}

/* Check what the options ask for, and read the prompt from stdin when it comes from there. */
static int chat_prompt(chat_args *c) {
  if (c->input && c->prompt)
    return hb_usage("chat", "give prompts with -i FILE or one prompt, not both");
  if (c->mcp.n && c->input) return hb_usage("chat", "--mcp takes one prompt, not -i FILE");
  if (c->parallel && !c->input)
    return hb_usage("chat", "--parallel needs -i FILE (one prompt per line)");
  /* Several answers streamed at once would interleave: with -i each answer is one line. */
  if (c->input && c->stream == 1)
    return hb_usage("chat", "--stream takes one prompt; with -i FILE each answer prints as a line");
  if (!c->input && (!c->prompt || !strcmp(c->prompt, "-"))) {
    size_t n = 0;
    if (!(c->stdin_text = hb_read_stdin_len(&n))) {
      fprintf(stderr, "hb: chat: cannot read the prompt from stdin\n");
      return HB_EXIT_FAIL;
    }
    /* A prompt is text: a NUL byte would silently cut it short. */
    const char *nul = memchr(c->stdin_text, '\0', n);
    if (nul)
      return hb_usage("chat", "the prompt holds a NUL byte at offset %td (a prompt is text)",
                      nul - c->stdin_text);
    while (n && (c->stdin_text[n - 1] == '\n' || c->stdin_text[n - 1] == '\r'))
      c->stdin_text[--n] = '\0';
    c->prompt = c->stdin_text;
  }
  if (!c->input && !*c->prompt) return hb_usage("chat", "the prompt is empty");
  return HB_EXIT_OK;
}

static int chat_run(chat_args *c) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(c->lo.options, &err);
  if (!llm) return hb_fail("chat", &err);
  hb_warn_fallback(hvb_llm_spec(llm));
  if (c->stream == 0) json_object_object_add(c->call, "stream", json_object_new_boolean(false));
  int rc;
  if (c->mcp.n)
    rc = hb_mcp_chat(llm, c->prompt, c->call, &c->mcp, c->json, c->stream == 1);
  else if (c->input)
    rc = run_parallel(llm, c->input, c->parallel ? c->parallel : 1, c->call, c->include, c->json);
  else if (c->stream == 1)
    rc = run_stream(llm, c->prompt, c->call, c->include, c->json, c->verbose);
  else
    rc = run_chat(llm, c->prompt, c->call, c->include, c->json, c->verbose);
  hvb_llm_free(llm);
  return rc;
}

/* The interactive chat, with the tools of the --mcp servers. */
static int chat_interactive(chat_args *c) {
  if (!c->mcp.n) return hb_chat_repl(c->lo.options, c->call, c->session, NULL);
  hvb_tools *tools = hvb_tools_new();
  hb_mcp_open_set open;
  int rc = hb_mcp_open(&c->mcp, tools, &open);
  if (rc == HB_EXIT_OK) rc = hb_chat_repl(c->lo.options, c->call, c->session, tools);
  hvb_tools_free(tools);
  hb_mcp_close(&open);
  return rc;
}

int hb_cmd_chat(int argc, char **argv) {
  chat_args c = {.call = json_object_new_object(), .include = "text", .stream = -1};
  hb_llm_opts_init(&c.lo);
  c.lo.call = c.call;
  int rc = HB_EXIT_USAGE;
  bool parsed = chat_parse(&c, argc, argv);
  /* No prompt and a terminal: an interactive session (cli/cmd-chat-session.c). */
  if (parsed && !c.prompt && !c.input && isatty(STDIN_FILENO))
    rc = chat_interactive(&c);
  else if (parsed && c.session)
    rc = hb_usage("chat", "--session FILE is for the interactive chat (no prompt, a terminal)");
  else if (parsed && (rc = chat_prompt(&c)) == HB_EXIT_OK)
    rc = chat_run(&c);
  free(c.stdin_text);
  hb_mcp_servers_clear(&c.mcp);
  json_object_put(c.call);
  hb_llm_opts_clear(&c.lo);
  return rc;
}
