/* cli/cmd-spec.c: hb spec. */
#include "cli.h"

#include <string.h>

int hb_cmd_spec(int argc, char **argv) {
  hb_llm_opts lo;
  hb_llm_opts_init(&lo);
  bool json = false;
  int rc = HB_EXIT_USAGE;
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "spec", hb_command_options_find("spec", NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) goto out;
    if (k == HB_ARGS_POSITIONAL) {
      hb_usage("spec", "unexpected argument '%s'", arg.value);
      goto out;
    }
    if (hb_llm_opts_apply(&lo, "spec", &arg) < 0) goto out;
    if (arg.opt->id == HB_OPT_JSON) json = true;
  }
  hvb_error err = HVB_ERROR_INIT;
  hvb_spec *spec = hvb_spec_resolve(NULL, lo.options, &err);
  if (!spec) {
    rc = hb_fail("spec", &err);
    goto out;
  }
  json_object *obj = hvb_spec_to_json(spec, false);
  if (json) {
    hb_print_json(stdout, obj, false);
  } else {
    json_object_object_foreach(obj, key, val) {
      if (json_object_is_type(val, json_type_string))
        printf("%-24s %s\n", key, json_object_get_string(val));
      else
        printf("%-24s %s\n", key,
               json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    }
  }
  json_object_put(obj);
  hvb_spec_unref(spec);
  rc = HB_EXIT_OK;
out:
  hb_llm_opts_clear(&lo);
  return rc;
}
