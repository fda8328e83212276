/* cli/cmd-chat-session.c: hb chat with no prompt on a terminal: a session (heavenbase/session.h)
 * read line by line with libedit, each reply streamed, tool steps shown as they run. Ctrl-C
 * cancels the reply in progress (the turn is dropped, the session goes on); at the prompt it
 * is ignored, so that a stray one never ends a long conversation (Ctrl-D or /exit do). */
#include "chat-repl.h"
#include "cli.h"

#include <editline/readline.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct repl {
  json_object *llm_options; /* borrowed; /model copies it */
  hvb_llm *llm;             /* owned */
  hvb_session *s;           /* owned */
  hvb_tools *tools;         /* the set in use */
  hvb_tools *own_tools;     /* owned when hb made it */
  const char *session_file; /* NULL: none */
  hb_steps *view;
  int max_steps;
} repl;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

/* SIGINT ends the wait for a reply (no SA_RESTART: the wait is a timed poll anyway). */
static void sigint_catch(bool catch) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = catch ? on_sigint : SIG_IGN;
  sigaction(SIGINT, &sa, NULL);
}

static void say_error(const char *what, const hvb_error *err) {
  fprintf(stderr, "hb: %s: %s\n", what, err && *err->message ? err->message : "failed");
}

/* Write the session to `path` atomically (temp file + rename). */
static bool save_to(repl *r, const char *path) {
  hvb_error err = HVB_ERROR_INIT;
  char *text = hvb_session_save(r->s, &err);
  if (!text) {
    say_error("save", &err);
    return false;
  }
  size_t n = strlen(path) + 8;
  char *tmp = malloc(n);
  snprintf(tmp, n, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
  if (f && fclose(f) != 0) ok = false;
  if (ok && rename(tmp, path) != 0) ok = false;
  if (!ok) {
    fprintf(stderr, "hb: save: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  free(text);
  return ok;
}

static void keep_file(repl *r) {
  if (r->session_file) save_to(r, r->session_file);
}

static void on_delta(hvb_call *call, json_object *delta, void *ud) {
  (void)call;
  hb_steps_delta(((repl *)ud)->view, delta);
}

/* One turn, streamed; Ctrl-C cancels it. */
static void turn(repl *r, const char *prompt) {
  hvb_error err = HVB_ERROR_INIT;
  hb_steps_reset(r->view);
  interrupted = 0;
  sigint_catch(true);
  hvb_call *c = hvb_session_send_async(r->s, prompt, NULL, NULL, on_delta, r, &err);
  if (!c) {
    sigint_catch(false);
    say_error("chat", &err);
    return;
  }
  while (!hvb_call_wait(c, 50))
    if (interrupted) hvb_call_cancel(c);
  sigint_catch(false);
  if (hvb_call_status(c) == HVB_CANCELLED) {
    hb_steps_end(r->view, NULL);
    puts("(cancelled: the turn is dropped)");
  } else if (hvb_call_status(c) != HVB_OK) {
    hb_steps_end(r->view, NULL);
    say_error("chat", hvb_call_error(c));
  } else {
    hb_steps_end(r->view, hvb_call_result(c));
    keep_file(r);
  }
  fflush(stdout);
  hvb_call_free(c);
}

static void cmd_model(repl *r, const char *name) {
  json_object *o = r->llm_options ? json_tokener_parse(json_object_to_json_string(r->llm_options))
                                  : json_object_new_object();
  json_object_object_add(o, "model", json_object_new_string(name));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  if (!llm || !hvb_session_set_llm(r->s, llm, &err)) {
    say_error("model", &err);
    hvb_llm_free(llm);
    return;
  }
  hvb_llm_free(r->llm);
  r->llm = llm;
  const hvb_spec *sp = hvb_llm_spec(llm);
  printf("(model: %s via %s)\n", hvb_spec_model_id(sp), hvb_spec_gateway(sp));
}

static void cmd_load(repl *r, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "hb: load: cannot read %s: %s\n", path, strerror(errno));
    return;
  }
  char *text = NULL;
  size_t cap = 0;
  ssize_t n = getdelim(&text, &cap, '\0', f);
  fclose(f);
  hvb_error err = HVB_ERROR_INIT;
  hvb_session *s = n > 0 ? hvb_session_load(r->llm, text, &err) : NULL;
  free(text);
  if (!s) {
    fprintf(stderr, "hb: load: %s: %s\n", path, *err.message ? err.message : "empty file");
    return;
  }
  hvb_session_free(r->s);
  r->s = s;
  hvb_session_set_tools(s, r->tools);
  printf("(loaded %s: %zu messages)\n", path, json_object_array_length(hvb_session_messages(s)));
}

static void cmd_tools(repl *r) {
  json_object *list = hvb_tools_json(r->tools);
  size_t n = list ? json_object_array_length(list) : 0;
  if (!n) puts("(no tools)");
  for (size_t i = 0; i < n; i++) {
    json_object *fn = json_object_object_get(json_object_array_get_idx(list, i), "function");
    const char *d = json_object_get_string(json_object_object_get(fn, "description"));
    printf("%s%s%s\n", json_object_get_string(json_object_object_get(fn, "name")),
           d ? "  " : "", d ? d : "");
  }
}

static const char help_text[] =
    "Type a message and press Enter; end a line with \\ to go on with the next one.\n"
    "Ctrl-C cancels the reply in progress; Ctrl-D or /exit leaves.\n"
    "  /back          drop the last message you sent, and its answer\n"
    "  /clear         drop the whole conversation (the system prompt stays)\n"
    "  /save FILE     save the session as JSON\n"
    "  /load FILE     load a saved session\n"
    "  /system TEXT   set the system prompt (no TEXT: remove it)\n"
    "  /model NAME    go on with another model\n"
    "  /tools         list the tools the model may call\n"
    "  /usage         tokens used by this session\n"
    "  /help          this help\n"
    "  /exit          leave\n";

/* A line starting with '/': false for /exit. */
static bool command(repl *r, char *line) {
  char *arg = line + strcspn(line, " \t");
  if (*arg) *arg++ = '\0';
  arg += strspn(arg, " \t");
  hvb_error err = HVB_ERROR_INIT;
  bool changed = false;
  if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) return false;
  if (!strcmp(line, "/help")) {
    fputs(help_text, stdout);
  } else if (!strcmp(line, "/back")) {
    if ((changed = hvb_session_back(r->s, &err))) puts("(back: the last turn is dropped)");
  } else if (!strcmp(line, "/clear")) {
    if ((changed = hvb_session_clear(r->s, &err))) puts("(cleared)");
  } else if (!strcmp(line, "/system")) {
    if ((changed = hvb_session_set_system(r->s, arg, &err)))
      puts(*arg ? "(system prompt set)" : "(system prompt removed)");
  } else if (!strcmp(line, "/save") || !strcmp(line, "/load") || !strcmp(line, "/model")) {
    if (!*arg)
      fprintf(stderr, "hb: %s needs an argument (see /help)\n", line);
    else if (line[1] == 's' && save_to(r, arg))
      printf("(saved to %s)\n", arg);
    else if (line[1] == 'l')
      cmd_load(r, arg), changed = true;
    else if (line[1] == 'm')
      cmd_model(r, arg);
  } else if (!strcmp(line, "/tools")) {
    cmd_tools(r);
  } else if (!strcmp(line, "/usage")) {
    json_object *u = hvb_session_usage(r->s);
    puts(json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN));
    json_object_put(u);
  } else {
    fprintf(stderr, "hb: unknown command %s (see /help)\n", line);
  }
  if (err.status != HVB_OK) say_error(line + 1, &err);
  if (changed) keep_file(r);
  fflush(stdout);
  return true;
}

/* Read one message, continued over lines that end with a backslash. NULL at end of input. */
static char *read_message(void) {
  char *msg = NULL;
  for (const char *prompt = "> ";; prompt = ". ") {
    char *line = readline(prompt);
    if (!line) return msg;
    size_t n = strlen(line), have = msg ? strlen(msg) : 0;
    bool more = n && line[n - 1] == '\\';
    if (more) line[--n] = '\0';
    msg = realloc(msg, have + n + 2);
    memcpy(msg + have, line, n + 1);
    if (more) strcat(msg, "\n");
    free(line);
    if (!more) return msg;
  }
}

static void loop(repl *r) {
  for (char *msg; (msg = read_message());) {
    char *text = msg + strspn(msg, " \t");
    if (*text) add_history(text);
    bool go_on = true;
    if (*text == '/')
      go_on = command(r, text);
    else if (*text)
      turn(r, text);
    free(msg);
    if (!go_on) return;
  }
  putchar('\n');
}

/* The session: loaded from --session FILE when it exists, else new with hb chat's options. */
static hvb_session *open_session(repl *r, json_object *call) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_session *s = NULL;
  if (r->session_file && access(r->session_file, F_OK) == 0) {
    cmd_load(r, r->session_file);
    return r->s;
  }
  json_object *opts = json_object_new_object(), *co = json_object_new_object();
  json_object_object_foreach(call, k, v) {
    if (!strcmp(k, "system"))
      json_object_object_add(opts, "system", json_object_get(v));
    else if (!strcmp(k, "images"))
      fputs("hb: chat: --image is for a one-shot chat; the interactive chat leaves it out\n",
            stderr);
    else if (strcmp(k, "tools") && strcmp(k, "stream"))
      json_object_object_add(co, k, json_object_get(v));
  }
  json_object_object_add(opts, "call_options", co);
  s = hvb_session_new(r->llm, opts, &err);
  json_object_put(opts);
  if (!s) say_error("chat", &err);
  return s;
}

/* hb chat --tools FILE: its schema tools join the set. */
static bool add_schemas(repl *r, json_object *call) {
  json_object *list = json_object_object_get(call, "tools");
  for (size_t i = 0; list && i < json_object_array_length(list); i++) {
    hvb_error err = HVB_ERROR_INIT;
    if (!hvb_tools_add_schema(r->tools, json_object_array_get_idx(list, i), &err)) {
      say_error("chat: --tools", &err);
      return false;
    }
  }
  return true;
}

int hb_chat_repl(json_object *llm_options, json_object *call, const char *session_file,
                 hvb_tools *tools) {
  hvb_error err = HVB_ERROR_INIT;
  repl r = {.llm_options = llm_options, .session_file = session_file};
  r.llm = hvb_llm_new(llm_options, &err);
  if (!r.llm) return hb_fail("chat", &err);
  hb_warn_fallback(hvb_llm_spec(r.llm));
  r.tools = tools ? tools : (r.own_tools = hvb_tools_new());
  json_object *ms = json_object_object_get(call, "max_steps");
  r.max_steps = ms ? json_object_get_int(ms) : HVB_TOOLS_DEFAULT_MAX_STEPS;
  int rc = HB_EXIT_FAIL;
  if (add_schemas(&r, call) && (r.s = open_session(&r, call))) {
    hvb_session_set_tools(r.s, r.tools);
    r.view = hb_steps_new(stdout, r.max_steps);
    const hvb_spec *sp = hvb_llm_spec(r.llm);
    printf("hb chat: %s via %s. /help for commands, Ctrl-D or /exit to leave.\n",
           hvb_spec_model_id(sp), hvb_spec_gateway(sp));
    fflush(stdout);
    rl_catch_signals = 0; /* SIGINT is ignored at the prompt, caught during a reply */
    sigint_catch(false);
    using_history();
    loop(&r);
    rc = HB_EXIT_OK;
  }
  hb_steps_free(r.view);
  hvb_session_free(r.s);
  hvb_tools_free(r.own_tools);
  hvb_llm_free(r.llm);
  return rc;
}
