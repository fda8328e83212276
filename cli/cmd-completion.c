/* cli/cmd-completion.c: shell completions. `hb completion bash|zsh` prints a small script;
 * the script asks `hb __complete -- WORD... CURRENT` for the candidates, and this file answers
 * from the option table (cli/options.c) and, for values, from the loaded configuration,
 * catalog and gateway registry. So completions cannot drift from the options: a new option or
 * command completes as soon as it is in the table, and a preset added with `hb cfg set`
 * completes at once.
 *
 * Answer: one candidate per line, or a single line "__files__" / "__dirs__" when the shell
 * should complete paths itself. Errors print nothing: a completion must never disturb the
 * command line. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

/* The commands hb.c dispatches without a row in the option table. */
static const char *const extra_commands[] = {"help", "version", "completion"};

static void print_commands(void) {
  size_t n;
  const hb_command_options *t = hb_command_options_table(&n);
  for (size_t i = 0; i < n; i++) {
    if (!t[i].command) continue;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++) seen = t[j].command && !strcmp(t[j].command, t[i].command);
    if (!seen) puts(t[i].command);
  }
  for (size_t i = 0; i < sizeof extra_commands / sizeof extra_commands[0]; i++)
    puts(extra_commands[i]);
}

static bool has_subcommands(const char *command) {
  size_t n;
  const hb_command_options *t = hb_command_options_table(&n);
  for (size_t i = 0; i < n; i++)
    if (t[i].command && !strcmp(t[i].command, command) && t[i].subcommand) return true;
  return false;
}

static void print_subcommands(const char *command) {
  size_t n;
  const hb_command_options *t = hb_command_options_table(&n);
  for (size_t i = 0; i < n; i++)
    if (t[i].command && !strcmp(t[i].command, command) && t[i].subcommand) puts(t[i].subcommand);
}

/* The option `word` names among those of command/subcommand (and the command's own row). */
static const hb_option *find_option(const char *command, const char *sub, const char *word) {
  const hb_opt_id *lists[] = {hb_command_options_find(command, sub),
                              sub ? hb_command_options_find(command, NULL) : NULL};
  for (size_t l = 0; l < 2; l++) {
    for (const hb_opt_id *id = lists[l]; id && *id != HB_OPT_END; id++) {
      const hb_option *o = hb_option_get(*id);
      if ((word[0] == '-' && word[1] == '-' && !strcmp(word + 2, o->long_name)) ||
          (word[0] == '-' && word[1] == o->short_name && o->short_name && !word[2]))
        return o;
    }
  }
  return NULL;
}

static void print_options(const char *command, const char *sub) {
  const hb_opt_id *lists[] = {hb_command_options_find(command, sub),
                              sub ? hb_command_options_find(command, NULL) : NULL};
  for (size_t l = 0; l < 2; l++) {
    for (const hb_opt_id *id = lists[l]; id && *id != HB_OPT_END; id++) {
      const hb_option *o = hb_option_get(*id);
      printf("--%s\n", o->long_name);
      if (o->short_name) printf("-%c\n", o->short_name);
    }
  }
  if (command) puts("--help");
}

/* ---- values ---- */

static void print_keys(json_object *obj) {
  json_object_object_foreach(obj, name, val) {
    (void)val;
    puts(name);
  }
}

static void print_catalog(hb_value_kind kind) {
  hvb_config *cfg = hvb_config_load(NULL);
  json_object *catalog = hvb_config_catalog(cfg);
  const char *section = kind == HB_VALUE_PRESET     ? "presets"
                        : kind == HB_VALUE_PROVIDER ? "providers"
                                                    : "models";
  json_object *entries = json_object_object_get(catalog, section);
  print_keys(entries);
  if (kind == HB_VALUE_MODEL) {
    json_object_object_foreach(entries, name, model) {
      (void)name;
      json_object *aliases = json_object_object_get(model, "aliases");
      if (!json_object_is_type(aliases, json_type_array)) continue;
      for (size_t i = 0, n = json_object_array_length(aliases); i < n; i++)
        puts(json_object_get_string(json_object_array_get_idx(aliases, i)));
    }
  }
  json_object_put(catalog);
  hvb_config_free(cfg);
}

static void print_gateways(void) {
  for (size_t i = 0, n = hvb_gateway_count(); i < n; i++) {
    const hvb_gateway_record *g = hvb_gateway_at(i);
    hvb_gateway_state st = hvb_gateway_record_state(g);
    if (st == HVB_GATEWAY_STATE_BUILTIN || st == HVB_GATEWAY_STATE_LOADED)
      puts(hvb_gateway_record_name(g));
  }
}

/* Comma-separated names: the part before the last comma stays, the last part completes. */
static void print_choices(const char *choices, const char *cur, bool list) {
  const char *comma = list ? strrchr(cur, ',') : NULL;
  int keep = comma ? (int)(comma - cur + 1) : 0;
  char *copy = strdup(choices);
  for (char *save = NULL, *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save))
    printf("%.*s%s\n", keep, cur, c);
  free(copy);
}

static void print_env_names(void) {
  for (char **e = environ; *e; e++) printf("%.*s\n", (int)strcspn(*e, "="), *e);
}

static void print_values(const hb_option *o, const char *cur) {
  switch (o->kind) {
  case HB_VALUE_FILE:
  case HB_VALUE_IMAGE: puts("__files__"); break;
  case HB_VALUE_DIR: puts("__dirs__"); break;
  case HB_VALUE_PRESET:
  case HB_VALUE_MODEL:
  case HB_VALUE_PROVIDER: print_catalog(o->kind); break;
  case HB_VALUE_GATEWAY: print_gateways(); break;
  case HB_VALUE_FIELDS:
  case HB_VALUE_CHOICE:
    if (o->choices) print_choices(o->choices, cur, o->kind == HB_VALUE_FIELDS);
    break;
  case HB_VALUE_ENV: print_env_names(); break;
  default: break;
  }
}

/* A positional argument: what the command takes there. */
static void print_positional(const char *command, const char *sub) {
  if (!strcmp(command, "help")) {
    print_commands();
  } else if (!strcmp(command, "completion")) {
    puts("bash");
    puts("zsh");
  } else if (!strcmp(command, "gateways") && sub && !strcmp(sub, "info")) {
    print_gateways();
  } else if (!strcmp(command, "gateways") && sub && !strcmp(sub, "check")) {
    puts("__files__");
  } else if (!strcmp(command, "cfg") && sub &&
             (!strcmp(sub, "get") || !strcmp(sub, "set") || !strcmp(sub, "unset"))) {
    json_object *keys = hvb_config_known_keys();
    for (size_t i = 0, n = json_object_array_length(keys); i < n; i++)
      puts(json_object_get_string(json_object_array_get_idx(keys, i)));
    json_object_put(keys);
  }
}

static void quiet_log(hvb_log_level level, const char *message, void *data) {
  (void)level, (void)message, (void)data;
}

/* words[0..n-1]: the words after "hb", the last being the one completed (maybe ""). */
static void complete(int n, char **words) {
  int i = 0;
  const char *cur = words[n - 1];
  /* Options before the command: --gateway-path DIR also changes the gateways listed. */
  for (; i < n - 1 && words[i][0] == '-'; i++) {
    if (!strcmp(words[i], "--gateway-path") && i + 1 < n - 1)
      hvb_gateway_path_add(words[++i], NULL);
    else if (!strncmp(words[i], "--gateway-path=", 15))
      hvb_gateway_path_add(words[i] + 15, NULL);
  }
  if (i == n - 1) {
    if (i > 0 && !strcmp(words[i - 1], "--gateway-path"))
      puts("__dirs__");
    else if (cur[0] == '-')
      print_options(NULL, NULL);
    else
      print_commands();
    return;
  }
  const char *command = words[i++], *sub = NULL;
  if (has_subcommands(command) && i < n - 1) {
    for (int j = i; j < n - 1 && !sub; j++)
      if (words[j][0] != '-') sub = words[j];
  } else if (has_subcommands(command) && cur[0] != '-') {
    print_subcommands(command);
    return;
  }
  const hb_option *prev = i <= n - 2 ? find_option(command, sub, words[n - 2]) : NULL;
  if (prev && prev->kind != HB_VALUE_NONE)
    print_values(prev, cur);
  else if (cur[0] == '-')
    print_options(command, sub);
  else
    print_positional(command, sub);
}

int hb_cmd_complete(int argc, char **argv) {
  /* hb __complete -- WORD... */
  int first = 1;
  if (first < argc && !strcmp(argv[first], "--")) first++;
  if (first >= argc) return HB_EXIT_OK;
  hvb_log_set_handler(quiet_log, HVB_LOG_ERROR, NULL);
  complete(argc - first, argv + first);
  return HB_EXIT_OK;
}

static const char bash_script[] =
    "# bash completion for hb (generated by `hb completion bash`)\n"
    "# The candidates come from hb itself: hb __complete -- WORDS...\n"
    "_hb() {\n"
    "  local cur=${COMP_WORDS[COMP_CWORD]} out IFS=$'\\n'\n"
    "  out=$(\"${COMP_WORDS[0]}\" __complete -- \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null)"
    " || return 0\n"
    "  case $out in\n"
    "    __files__) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
    "    __dirs__) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
    "    *) COMPREPLY=($(compgen -W \"$out\" -- \"$cur\")) ;;\n"
    "  esac\n"
    "}\n"
    "complete -F _hb hb\n";

static const char zsh_script[] =
    "#compdef hb\n"
    "# zsh completion for hb (generated by `hb completion zsh`)\n"
    "# The candidates come from hb itself: hb __complete -- WORDS...\n"
    "local -a out\n"
    "out=(\"${(@f)$(${words[1]} __complete -- \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
    "case ${out[1]} in\n"
    "  __files__) _files ;;\n"
    "  __dirs__) _files -/ ;;\n"
    "  *) compadd -a out ;;\n"
    "esac\n";

int hb_cmd_completion(int argc, char **argv) {
  if (argc != 2) return hb_usage("completion", "give the shell: bash or zsh");
  if (!strcmp(argv[1], "bash")) return fputs(bash_script, stdout), HB_EXIT_OK;
  if (!strcmp(argv[1], "zsh")) return fputs(zsh_script, stdout), HB_EXIT_OK;
  return hb_usage("completion", "unknown shell '%s': bash or zsh", argv[1]);
}
