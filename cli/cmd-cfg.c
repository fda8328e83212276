/* cli/cmd-cfg.c: hb cfg show|get|set|unset|paths|trust. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *layer_names[HVB_CONFIG_N_LAYERS] = {"defaults", "system", "user", "project"};

/* The file a write goes to: the user layer (--global, the default) or the project layer.
 * Found without reading any config file, so that set and unset still work on a file that
 * the other commands refuse. */
static char *target_path(bool local) {
  return local ? hvb_config_project_write_path() : hvb_config_user_path();
}

static int cfg_read(const char *sub, int argc, char **argv) {
  const char *key = NULL;
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "cfg", hb_command_options_find("cfg", sub), argc, argv, 2);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (key) return hb_usage("cfg", "cfg %s takes one KEY", sub);
    key = arg.value;
  }
  bool get = !strcmp(sub, "get");
  if (get && !key) return hb_usage("cfg", "cfg get needs a KEY");
  hvb_error err = HVB_ERROR_INIT;
  hvb_config *cfg = hvb_config_load(&err);
  if (!cfg) return hb_fail("cfg", &err);
  int rc = HB_EXIT_OK;
  json_object *v = hvb_config_get(cfg, key);
  if (!v && key) {
    /* json-c represents JSON null as NULL too, so a key set to null reads as not set, which
     * is also what null means to the resolver. */
    fprintf(stderr, "hb: cfg: key '%s' is not set\n", key);
    rc = HB_EXIT_FAIL;
  } else {
    hb_print_json(stdout, v, get);
  }
  hvb_config_free(cfg);
  return rc;
}

static int cfg_write(const char *sub, int argc, char **argv) {
  bool set = !strcmp(sub, "set"), local = false, force_string = false;
  const char *key = NULL, *value = NULL;
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "cfg", hb_command_options_find("cfg", sub), argc, argv, 2);
  a.flags = HB_ARGS_LONG_ONLY; /* hb cfg set KEY -1: a negative number is a VALUE */
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_OPTION) {
      if (arg.opt->id == HB_OPT_STRING)
        force_string = true;
      else
        local = arg.opt->id == HB_OPT_LOCAL;
    } else if (!key) {
      key = arg.value;
    } else if (set && !value) {
      value = arg.value;
    } else {
      return hb_usage("cfg", "unexpected argument '%s'", arg.value);
    }
  }
  if (!key || (set && !value))
    return hb_usage("cfg", set ? "cfg set needs KEY and VALUE" : "cfg unset needs a KEY");
  hvb_error err = HVB_ERROR_INIT;
  json_object *parsed = set ? hvb_config_parse_value(value, force_string) : NULL;
  /* A value of the wrong type or a key past the limits is the caller's mistake: refused
   * before anything is written, as a usage error. */
  if (set && !hvb_config_check(key, parsed, &err)) {
    json_object_put(parsed);
    fprintf(stderr, "hb: cfg: %s\n", err.message);
    return HB_EXIT_USAGE;
  }
  char *path = target_path(local);
  if (!path) {
    json_object_put(parsed);
    fprintf(stderr, "hb: cfg: no %s configuration file could be located\n",
            local ? "project" : "user");
    return HB_EXIT_FAIL;
  }
  bool ok = set ? hvb_config_file_set(path, key, parsed, &err)
                : hvb_config_file_unset(path, key, &err);
  free(path);
  return ok ? HB_EXIT_OK : hb_fail("cfg", &err);
}

static int cfg_paths(void) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_config *cfg = hvb_config_load(&err);
  if (!cfg) return hb_fail("cfg", &err);
  for (int l = 0; l < HVB_CONFIG_N_LAYERS; l++) {
    const char *p = hvb_config_layer_path(cfg, (hvb_config_layer)l);
    printf("%-9s %s\n", layer_names[l], p ? p : l == 0 ? "(built in)" : "(none)");
  }
  hvb_config_free(cfg);
  return HB_EXIT_OK;
}

/* hb cfg trust [DIR]: let the project DIR change where API keys are sent. */
static int cfg_trust(int argc, char **argv) {
  const char *dir = NULL;
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "cfg", hb_command_options_find("cfg", "trust"), argc, argv, 2);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (dir) return hb_usage("cfg", "cfg trust takes at most one DIR");
    dir = arg.value;
  }
  hvb_error err = HVB_ERROR_INIT;
  char *recorded = NULL;
  if (!hvb_config_trust(dir, &recorded, &err)) return hb_fail("cfg", &err);
  printf("trusted %s\n", recorded);
  free(recorded);
  return HB_EXIT_OK;
}

int hb_cmd_cfg(int argc, char **argv) {
  if (argc < 2)
    return hb_usage("cfg", "cfg needs a subcommand: show, get, set, unset, paths, trust");
  const char *sub = argv[1];
  if (!strcmp(sub, "show") || !strcmp(sub, "get")) return cfg_read(sub, argc, argv);
  if (!strcmp(sub, "set") || !strcmp(sub, "unset")) return cfg_write(sub, argc, argv);
  if (!strcmp(sub, "paths")) return cfg_paths();
  if (!strcmp(sub, "trust")) return cfg_trust(argc, argv);
  return hb_usage("cfg", "unknown cfg subcommand '%s'", sub);
}
