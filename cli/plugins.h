/* cli/plugins.h: what `hb gateways` and `hb caches` share (cli/plugins.c): listing the
 * records of a plugin kind, printing a check's outcome and reading the subcommand's
 * arguments. Everything is read from the records' JSON (hvb_*_record_to_json), the one form
 * every kind has. */
#ifndef HB_CLI_PLUGINS_H
#define HB_CLI_PLUGINS_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "options.h"

typedef struct hb_plugin_cli {
  const char *noun;   /* "gateway": in a check's "loaded" line */
  int caps_width;     /* the CAPABILITIES column */
  bool check_abi;     /* a check's "loaded" line ends with "(ABI 1.1)" */
  size_t (*count)(void);
  json_object *(*at)(size_t i); /* record i as JSON (a new reference) */
  json_object *(*search_path)(void);
} hb_plugin_cli;

/* Is the record (JSON) usable: built in or loaded? */
bool hb_plugin_usable(json_object *rec);

/* "chat,stream,..." from the record's "caps" into buf; "-" when none. */
const char *hb_plugin_caps_text(json_object *rec, char *buf, size_t size);

/* `list [--all] [--json]`: a table (or a JSON array) of the records; with --all the refused
 * ones too, with their stage and reason, and the search path. HB_EXIT_OK. */
int hb_plugin_list(const hb_plugin_cli *c, bool all, bool json);

/* Print the outcome of checking `path`, whose record is `rec`: the JSON, or one line.
 * HB_EXIT_OK when usable, else HB_EXIT_FAIL. */
int hb_plugin_check_print(const hb_plugin_cli *c, const char *path, json_object *rec, bool json);

/* The arguments after the subcommand (argv[2..]): --all, --json and, unless `listing`, one
 * operand (*arg, NULL when none was given). -1 when they were read, else the exit status
 * (the usage error is printed). */
int hb_plugin_args(const char *command, const hb_opt_id *accepted, int argc, char **argv,
                   bool listing, bool *all, bool *json, const char **arg);

#endif
