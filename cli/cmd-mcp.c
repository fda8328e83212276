/* cli/cmd-mcp.c: hb mcp list SERVER, and the tool loop of hb chat --mcp SERVER. */
#include "chat-repl.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void hb_mcp_servers_add(hb_mcp_servers *s, const char *server) {
  const char **list = realloc(s->list, (size_t)(s->n + 1) * sizeof *list);
  if (!list) abort(); /* out of memory in the CLI: nothing sensible is left to do */
  s->list = list;
  s->list[s->n++] = server;
}

void hb_mcp_servers_clear(hb_mcp_servers *s) {
  free(s->list);
  s->list = NULL;
  s->n = 0;
}

static int fail_server(const char *server, const hvb_error *err) {
  fprintf(stderr, "hb: mcp %s: %s\n", server, err->message);
  return HB_EXIT_FAIL;
}

/* One line per tool: its name, then the first line of its description. */
static void print_tools(json_object *tools) {
  for (size_t i = 0; i < json_object_array_length(tools); i++) {
    json_object *t = json_object_array_get_idx(tools, i);
    const char *name = json_object_get_string(json_object_object_get(t, "name"));
    const char *desc = json_object_get_string(json_object_object_get(t, "description"));
    printf("%s", name ? name : "?");
    if (desc && *desc) printf("  %.*s", (int)strcspn(desc, "\n"), desc);
    putchar('\n');
  }
}

static int list_tools(const char *server, bool json) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_mcp *mcp = hvb_mcp_new(server, NULL, &err);
  if (!mcp) return fail_server(server, &err);
  json_object *tools = hvb_mcp_tools(mcp, &err);
  int rc = HB_EXIT_OK;
  if (!tools) rc = fail_server(server, &err);
  else if (json) hb_print_json(stdout, tools, false);
  else print_tools(tools);
  hvb_mcp_free(mcp);
  return rc;
}

int hb_cmd_mcp(int argc, char **argv) {
  if (argc < 2) return hb_usage("mcp", "give a subcommand: list SERVER");
  const hb_opt_id *accepted = hb_command_options_find("mcp", argv[1]);
  if (!accepted) return hb_usage("mcp", "unknown subcommand '%s' (list)", argv[1]);
  bool json = false;
  const char *server = NULL;
  hb_args a;
  hb_arg one;
  hb_args_init(&a, "mcp", accepted, argc, argv, 2);
  for (hb_args_kind k; (k = hb_args_next(&a, &one)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_OPTION) json = true;
    else if (!server) server = one.value;
    else return hb_usage("mcp", "one SERVER only (quote a command line): unexpected '%s'", one.value);
  }
  if (!server) return hb_usage("mcp", "list needs a SERVER (a command line, a URL or a name)");
  return list_tools(server, json);
}

int hb_mcp_open(const hb_mcp_servers *s, hvb_tools *tools, hb_mcp_open_set *open) {
  hvb_error err = HVB_ERROR_INIT;
  open->list = calloc((size_t)s->n + 1, sizeof *open->list);
  open->n = 0;
  if (!open->list) return HB_EXIT_FAIL;
  for (int i = 0; i < s->n; i++) {
    hvb_mcp *m = hvb_mcp_new(s->list[i], NULL, &err);
    if (!m) return fail_server(s->list[i], &err);
    open->list[open->n++] = m;
    if (!hvb_tools_add_mcp(tools, m, &err)) return fail_server(s->list[i], &err);
  }
  return HB_EXIT_OK;
}

void hb_mcp_close(hb_mcp_open_set *open) {
  for (int i = 0; open->list && i < open->n; i++) hvb_mcp_free(open->list[i]);
  free(open->list);
  open->list = NULL;
  open->n = 0;
}

typedef struct mcp_stream {
  hb_steps *view; /* text to stdout, STEP lines to stderr */
  bool json;      /* each delta as a JSON line on stdout instead */
} mcp_stream;

static void on_delta(hvb_call *call, json_object *delta, void *ud) {
  (void)call;
  mcp_stream *ms = ud;
  if (!ms->json) {
    hb_steps_delta(ms->view, delta);
    return;
  }
  hb_write_json(stdout, delta, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  fputc('\n', stdout);
  fflush(stdout);
}

/* hb chat --mcp --stream: the async tool loop, every step streamed; the steps' tool calls run
 * as they come (STEP lines on stderr) and the answer's text prints as it arrives. */
static hvb_result *stream_loop(hvb_llm *llm, const char *prompt, json_object *call,
                               hvb_tools *tools, bool json, hvb_error *err) {
  json_object *ms_opt = json_object_object_get(call, "max_steps");
  mcp_stream ms = {.json = json};
  ms.view = hb_steps_new(stderr, ms_opt ? json_object_get_int(ms_opt) : HVB_TOOLS_DEFAULT_MAX_STEPS);
  hb_steps_set_text_out(ms.view, stdout);
  hvb_call *c = hvb_llm_chat_tools_async(llm, prompt, NULL, tools, call, NULL, on_delta, &ms, err);
  hvb_result *r = NULL;
  if (c) {
    hvb_call_wait(c, -1);
    if (hvb_call_status(c) == HVB_OK) r = hvb_call_take_result(c);
    else if (err) *err = *hvb_call_error(c);
    hvb_call_free(c);
  }
  if (!json) hb_steps_end(ms.view, r);
  hb_steps_free(ms.view);
  return r;
}

int hb_mcp_chat(hvb_llm *llm, const char *prompt, json_object *call, const hb_mcp_servers *s,
                bool json, bool stream) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_tools *tools = hvb_tools_new();
  hb_mcp_open_set open;
  int rc = hb_mcp_open(s, tools, &open);
  if (rc == HB_EXIT_OK) {
    hvb_result *r = stream ? stream_loop(llm, prompt, call, tools, json, &err)
                           : hvb_llm_chat_tools(llm, prompt, NULL, tools, call, &err);
    if (!r) {
      rc = hb_fail("chat", &err);
    } else if (!stream) {
      if (json) hb_print_json(stdout, hvb_result_messages(r), false);
      else printf("%s\n", hvb_result_text(r) ? hvb_result_text(r) : "");
    }
    hvb_result_free(r);
  }
  hvb_tools_free(tools);
  hb_mcp_close(&open);
  return rc;
}
