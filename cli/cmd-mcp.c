/* cli/cmd-mcp.c: hb mcp list SERVER, and the tool loop of hb chat --mcp SERVER. */
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

int hb_mcp_chat(hvb_llm *llm, const char *prompt, json_object *call, const hb_mcp_servers *s,
                bool json) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_tools *tools = hvb_tools_new();
  hb_mcp_open_set open;
  int rc = hb_mcp_open(s, tools, &open);
  if (rc == HB_EXIT_OK) {
    hvb_result *r = hvb_llm_chat_tools(llm, prompt, NULL, tools, call, &err);
    if (!r) {
      rc = hb_fail("chat", &err);
    } else {
      if (json) hb_print_json(stdout, hvb_result_messages(r), false);
      else printf("%s\n", hvb_result_text(r) ? hvb_result_text(r) : "");
      hvb_result_free(r);
    }
  }
  hvb_tools_free(tools);
  hb_mcp_close(&open);
  return rc;
}
