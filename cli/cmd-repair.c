/* cli/cmd-repair.c: hb repair: repair tool-call arguments read from stdin. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* "a,b,,c" -> {"a", "b", "c", NULL}; new (free_names). */
static char **split_names(const char *list) {
  char **v = calloc(strlen(list) / 2 + 2, sizeof *v);
  size_t n = 0;
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    if (len) v[n++] = strndup(p, len);
    p += len + (p[len] == ',');
  }
  return v;
}

static void free_names(char **v) {
  for (size_t i = 0; v && v[i]; i++) free(v[i]);
  free(v);
}

static int report(hvb_repair_result *r, bool json) {
  if (json) {
    json_object *o = hvb_repair_result_to_json(r);
    hb_print_json(stdout, o, false);
    json_object_put(o);
  } else if (hvb_repair_result_outcome(r) != HVB_REPAIR_UNFIXABLE) {
    for (size_t i = 0; i < hvb_repair_result_call_count(r); i++)
      puts(hvb_repair_result_call_at(r, i));
  }
  if (hvb_repair_result_outcome(r) != HVB_REPAIR_UNFIXABLE) return HB_EXIT_OK;
  fprintf(stderr, "hb: repair: unfixable: %s (%s)\n", hvb_repair_result_reason(r),
          hvb_repair_result_reason_text(r));
  return HB_EXIT_FAIL;
}

int hb_cmd_repair(int argc, char **argv) {
  const char *schema_path = NULL, *names = NULL, *tool = NULL;
  unsigned flags = 0;
  bool json = false;
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "repair", hb_command_options_find("repair", NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_POSITIONAL)
      return hb_usage("repair", "unexpected argument '%s' (the arguments are read from stdin)",
                      arg.value);
    switch (arg.opt->id) {
    case HB_OPT_SCHEMA: schema_path = arg.value; break;
    case HB_OPT_TOOL_NAMES: names = arg.value; break;
    case HB_OPT_TOOL: tool = arg.value; break;
    case HB_OPT_SPLIT: flags |= HVB_REPAIR_SPLIT; break;
    case HB_OPT_STRICT: flags |= HVB_REPAIR_STRICT; break;
    default: json = true; break; /* --json: repair accepts no other option */
    }
  }

  json_object *schema = NULL;
  if (schema_path) {
    schema = json_object_from_file(schema_path);
    if (!json_object_is_type(schema, json_type_object) &&
        !json_object_is_type(schema, json_type_array)) {
      json_object_put(schema);
      return hb_usage("repair", "--schema %s: expected a JSON schema object or a tools array",
                      schema_path);
    }
  }
  /* A tools array names the tools and holds their schemas: --tool-names would contradict it. */
  bool tools = json_object_is_type(schema, json_type_array);
  if (tools && names) {
    json_object_put(schema);
    return hb_usage("repair", "--tool-names cannot be combined with a tools array in --schema");
  }

  size_t len;
  char *in = hb_read_stdin_len(&len);
  if (!in) {
    json_object_put(schema);
    fprintf(stderr, "hb: repair: cannot read the arguments from stdin\n");
    return HB_EXIT_FAIL;
  }
  /* echo ends its output with a newline that the model never wrote; inside a truncated
   * string it would become part of the value. */
  if (len && in[len - 1] == '\n') len--;
  if (len && in[len - 1] == '\r') len--;
  char **name_list = names ? split_names(names) : NULL;
  hvb_error err = HVB_ERROR_INIT;
  hvb_repair_result *r =
      tools ? hvb_repair_tool_call(tool, in, len, schema, flags, &err)
            : hvb_repair_arguments(in, len, schema, tool, (const char *const *)name_list, flags,
                                   &err);
  int rc = r ? report(r, json) : hb_fail("repair", &err);
  hvb_repair_result_free(r);
  free_names(name_list);
  free(in);
  json_object_put(schema);
  return rc;
}
