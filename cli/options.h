/* cli/options.h: the one option table of hb, and the one function that parses it.
 *
 * curl's src/tool_getparam.c is the model: every option of every command is one row of
 * hb_option_table (long name, short letter, value kind, id, help), and hb_args_next is the only
 * code that reads "--name", "--name=VALUE", "-x VALUE" or "-xVALUE". A command declares which
 * ids it accepts (hb_command_options); what an option does stays in the command, in a switch
 * over the id.
 *
 * The table is data meant to be read by programs too: shell completions are generated from
 * it, so a new option gets its value kind (what to complete) and a one-line help here.
 * Everything here is static and read-only: safe from any thread. */
#ifndef HB_CLI_OPTIONS_H
#define HB_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* What an option's value is: what a completion offers for it. */
typedef enum hb_value_kind {
  HB_VALUE_NONE,      /* a flag: takes no value */
  HB_VALUE_TEXT,      /* free text */
  HB_VALUE_NUMBER,    /* an integer */
  HB_VALUE_FILE,      /* a path to a file ('-' is stdin where the help says so) */
  HB_VALUE_DIR,       /* a path to a directory */
  HB_VALUE_IMAGE,     /* a file, an http(s) URL or a data URL */
  HB_VALUE_URL,       /* an http(s) URL */
  HB_VALUE_ENV,       /* the name of an environment variable */
  HB_VALUE_PRESET,    /* a preset of the configuration */
  HB_VALUE_MODEL,     /* a model or alias of the catalog (unknown names pass through) */
  HB_VALUE_PROVIDER,  /* a provider of the catalog */
  HB_VALUE_GATEWAY,   /* a gateway: hb gateways list */
  HB_VALUE_KEY_VALUE, /* KEY=VALUE: a request argument or library option */
  HB_VALUE_FIELDS,    /* comma-separated names out of `choices` */
  HB_VALUE_CHOICE,    /* one name out of `choices` */
  HB_VALUE_SIZE,      /* WIDTHxHEIGHT */
  HB_VALUE_TOOL,      /* a tool's name */
  HB_VALUE_TOOLS,     /* comma-separated tool names */
} hb_value_kind;

typedef enum hb_opt_id {
  HB_OPT_END = 0, /* ends a command's list of accepted options */
  /* Selecting and configuring the LLM: chat, embed, imagen, spec. */
  HB_OPT_PRESET,
  HB_OPT_MODEL,
  HB_OPT_PROVIDER,
  HB_OPT_GATEWAY,
  HB_OPT_BASE_URL,
  HB_OPT_API_KEY_ENV,
  HB_OPT_OPTION, /* -o KEY=VALUE, everywhere */
  /* chat */
  HB_OPT_SYSTEM,
  HB_OPT_INCLUDE,
  HB_OPT_STREAM,
  HB_OPT_NO_STREAM,
  HB_OPT_TOOLS,
  HB_OPT_PARALLEL,
  HB_OPT_SESSION,
  HB_OPT_JSON_OBJECT,
  HB_OPT_MCP,
  /* chat and embed */
  HB_OPT_INPUT,
  /* chat and imagen */
  HB_OPT_IMAGE,
  /* imagen */
  HB_OPT_OUTPUT,
  HB_OPT_ARG,
  HB_OPT_SIZE,
  HB_OPT_COUNT,
  HB_OPT_SEED,
  /* cfg */
  HB_OPT_GLOBAL,
  HB_OPT_LOCAL,
  HB_OPT_STRING,
  /* cache */
  HB_OPT_NAMESPACE,
  /* gateways */
  HB_OPT_ALL,
  /* repair */
  HB_OPT_SCHEMA,
  HB_OPT_TOOL_NAMES,
  HB_OPT_TOOL,
  HB_OPT_SPLIT,
  HB_OPT_STRICT,
  /* several commands */
  HB_OPT_JSON,
  /* doctor */
  HB_OPT_ONLINE,
  /* before the command */
  HB_OPT_GATEWAY_PATH,
  HB_OPT_VERSION,
  HB_OPT_HELP, /* also accepted after every command: hb CMD --help */
  /* hb chat -v and hb usage (issue #16) */
  HB_OPT_VERBOSE,
  HB_OPT_SINCE,
  HB_OPT_UNTIL,
  HB_OPT_BY,
  HB_OPT_CSV,
  HB_OPT_BEFORE,
  HB_OPT__COUNT
} hb_opt_id;

typedef struct hb_option {
  hb_opt_id id;
  const char *long_name; /* without the leading "--"; never NULL */
  char short_name;       /* the letter after "-"; 0 when none */
  hb_value_kind kind;
  const char *value_name; /* the value in help texts (FILE, NAME...); NULL for a flag */
  const char *choices;    /* comma-separated values to offer, or NULL */
  const char *llm_key;    /* the constructor option it sets (hb_llm_opts), or NULL */
  const char *help;       /* one line */
} hb_option;

/* The whole table, in help order; *n gets its length. */
const hb_option *hb_option_table(size_t *n);
/* The row of `id`; NULL for HB_OPT_END or an id out of range. */
const hb_option *hb_option_get(hb_opt_id id);
/* The name of a value kind ("file", "preset"...), for generated completions. */
const char *hb_value_kind_name(hb_value_kind kind);

/* Which options a command accepts. `subcommand` is NULL for a command without subcommands
 * (chat) and for the options before the command (command NULL too). */
typedef struct hb_command_options {
  const char *command, *subcommand;
  const hb_opt_id *options; /* ends with HB_OPT_END */
} hb_command_options;

/* Every command's (and subcommand's) list; *n gets its length. */
const hb_command_options *hb_command_options_table(size_t *n);
/* The list of one command or subcommand; NULL when there is no such (sub)command. */
const hb_opt_id *hb_command_options_find(const char *command, const char *subcommand);

/* ---- Parsing ---- */

enum {
  /* Only "--name" is an option; "-x" is a positional argument (hb cfg set KEY -1). */
  HB_ARGS_LONG_ONLY = 1u << 0,
};

typedef struct hb_args {
  const char *command;       /* names the command in messages; NULL before the command */
  const hb_opt_id *accepted; /* ends with HB_OPT_END */
  int argc;
  char **argv;
  int next; /* the index of the next argument to read */
  unsigned flags;
  bool ended; /* "--" was read: the rest is positional */
} hb_args;

typedef enum hb_args_kind {
  HB_ARGS_END,        /* no argument is left */
  HB_ARGS_OPTION,     /* an accepted option, with its value */
  HB_ARGS_POSITIONAL, /* an argument that is no option ("-" is one) */
  HB_ARGS_ERROR,      /* a usage error, already reported on stderr */
} hb_args_kind;

typedef struct hb_arg {
  const hb_option *opt; /* HB_ARGS_OPTION: the row */
  const char *value;    /* the option's value (NULL for a flag), or the positional argument */
  const char *spelled;  /* the argument as typed ("-o", "--system=x"), for messages */
  bool is_short;        /* the option was spelled with its letter */
} hb_arg;

/* Parse argv[first..argc) for `command` with the options of `accepted`. */
void hb_args_init(hb_args *a, const char *command, const hb_opt_id *accepted, int argc, char **argv,
                  int first);
/* Read the next argument into *out. An option that is not accepted, a missing value, or a
 * value given to a flag is reported as "hb: unknown option '--x'" (or what was wrong) with a
 * hint to run `hb help COMMAND`, and is HB_ARGS_ERROR: the caller exits HB_EXIT_USAGE. */
hb_args_kind hb_args_next(hb_args *a, hb_arg *out);

#endif
