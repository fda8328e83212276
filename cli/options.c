/* cli/options.c: the option table of hb, the options each command accepts, and the parser. */
#include "options.h"

#include "cli.h"

#include <string.h>

#define INCLUDE_FIELDS \
  "text,think,content,message,messages,delta,tool_calls,usage,raw,structured,structured_outcome," \
  "route,cost,timing"

/* One row per option, whatever command takes it: a name means one thing across hb. The one
 * letter with two meanings is -n (imagen's count, cache's namespace), older than this table;
 * a letter is looked up among the options of the command at hand only. */
static const hb_option table[] = {
    {HB_OPT_PRESET, "preset", 'p', HB_VALUE_PRESET, "NAME", NULL, "preset",
     "the preset to resolve (default: the command's own)"},
    {HB_OPT_MODEL, "model", 'm', HB_VALUE_MODEL, "NAME", NULL, "model",
     "model or alias (unknown names pass through as the model id)"},
    {HB_OPT_PROVIDER, "provider", 0, HB_VALUE_PROVIDER, "NAME", NULL, "provider",
     "provider from the catalog"},
    {HB_OPT_GATEWAY, "gateway", 'g', HB_VALUE_GATEWAY, "NAME", NULL, "gateway",
     "gateway (openai, mock, ...; see hb gateways list)"},
    {HB_OPT_BASE_URL, "base-url", 0, HB_VALUE_URL, "URL", NULL, "base_url",
     "the provider endpoint, e.g. http://127.0.0.1:8000/v1"},
    {HB_OPT_API_KEY_ENV, "api-key-env", 0, HB_VALUE_ENV, "VAR", NULL, "api_key_env",
     "read the API key from environment variable VAR"},
    {HB_OPT_OPTION, "option", 'o', HB_VALUE_KEY_VALUE, "KEY=VALUE", NULL, NULL,
     "a request argument or library option; VALUE is JSON when it parses as JSON"},
    {HB_OPT_SYSTEM, "system", 's', HB_VALUE_TEXT, "TEXT", NULL, NULL, "a system prompt"},
    {HB_OPT_INCLUDE, "include", 0, HB_VALUE_FIELDS, "FIELDS", INCLUDE_FIELDS, NULL,
     "the result fields to print, comma-separated"},
    {HB_OPT_STREAM, "stream", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "stream the reply: the text prints as it arrives"},
    {HB_OPT_NO_STREAM, "no-stream", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "one request, one response (the default)"},
    {HB_OPT_TOOLS, "tools", 0, HB_VALUE_FILE, "FILE", NULL, NULL,
     "send the OpenAI tools array in FILE"},
    {HB_OPT_PARALLEL, "parallel", 0, HB_VALUE_NUMBER, "N", NULL, NULL,
     "with -i: at most N chats in flight"},
    {HB_OPT_SESSION, "session", 0, HB_VALUE_FILE, "FILE", NULL, NULL,
     "interactive: resume the session saved in FILE, and save it there after each turn"},
    {HB_OPT_MCP, "mcp", 0, HB_VALUE_TEXT, "SERVER", NULL, NULL,
     "run the tools of an MCP server (command line, URL or config name); repeatable"},
    {HB_OPT_INPUT, "input", 'i', HB_VALUE_FILE, "FILE", NULL, NULL,
     "one input per line of FILE ('-': stdin)"},
    {HB_OPT_IMAGE, "image", 0, HB_VALUE_IMAGE, "SOURCE", NULL, NULL,
     "an image: a file, an http(s) URL or a data URL; repeatable"},
    {HB_OPT_OUTPUT, "output", 'O', HB_VALUE_FILE, "FILE", NULL, NULL,
     "where to save the image (with -n > 1, FILE-1.EXT, FILE-2.EXT...)"},
    {HB_OPT_ARG, "arg", 0, HB_VALUE_KEY_VALUE, "KEY=VALUE", NULL, NULL, "the same as -o KEY=VALUE"},
    {HB_OPT_SIZE, "size", 0, HB_VALUE_SIZE, "WxH", NULL, NULL, "the image size, e.g. 1024x1024"},
    {HB_OPT_COUNT, "count", 'n', HB_VALUE_NUMBER, "N", NULL, NULL, "how many images (1 to 100)"},
    {HB_OPT_SEED, "seed", 0, HB_VALUE_NUMBER, "S", NULL, NULL, "a seed for the generator"},
    {HB_OPT_GLOBAL, "global", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "write the user file (the default)"},
    {HB_OPT_LOCAL, "local", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "write the project file (.heavenbase/config.json)"},
    {HB_OPT_STRING, "string", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "store VALUE as a string, even when it parses as JSON"},
    {HB_OPT_NAMESPACE, "namespace", 'n', HB_VALUE_CHOICE, "NS", "text,embedding,image", NULL,
     "one namespace of the cache"},
    {HB_OPT_ALL, "all", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "also list the refused files, and the search path"},
    {HB_OPT_SCHEMA, "schema", 0, HB_VALUE_FILE, "FILE", NULL, NULL,
     "a JSON Schema file (chat: the reply's; repair: the tool's parameters or a tools array)"},
    {HB_OPT_JSON_OBJECT, "json-object", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "ask for a reply that is one JSON object"},
    {HB_OPT_TOOL_NAMES, "tool-names", 0, HB_VALUE_TOOLS, "A,B", NULL, NULL,
     "the known tools: an unknown --tool is corrected to the closest"},
    {HB_OPT_TOOL, "tool", 0, HB_VALUE_TOOL, "NAME", NULL, NULL, "the tool the model called"},
    {HB_OPT_SPLIT, "split", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "concatenated objects print as one call per line"},
    {HB_OPT_STRICT, "strict", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "unfixable arguments are an error"},
    {HB_OPT_JSON, "json", 0, HB_VALUE_NONE, NULL, NULL, NULL, "print JSON"},
    {HB_OPT_ONLINE, "online", 0, HB_VALUE_NONE, NULL, NULL, NULL,
     "also reach each provider's endpoint (GET /models)"},
    {HB_OPT_GATEWAY_PATH, "gateway-path", 0, HB_VALUE_DIR, "DIR", NULL, NULL,
     "search DIR for gateway plugins first; repeatable"},
    {HB_OPT_VERSION, "version", 'V', HB_VALUE_NONE, NULL, NULL, NULL,
     "print the versions of hb and libheavenbase"},
    {HB_OPT_HELP, "help", 'h', HB_VALUE_NONE, NULL, NULL, NULL, "print the usage"},
    {HB_OPT_VERBOSE, "verbose", 'v', HB_VALUE_NONE, NULL, NULL, NULL,
     "after the reply, one line on stderr: tokens, cost, time, cached"},
    {HB_OPT_SINCE, "since", 0, HB_VALUE_TEXT, "DATE", NULL, NULL,
     "from this day (YYYY-MM-DD, UTC) on"},
    {HB_OPT_UNTIL, "until", 0, HB_VALUE_TEXT, "DATE", NULL, NULL,
     "up to this day (YYYY-MM-DD, UTC), included"},
    {HB_OPT_BY, "by", 0, HB_VALUE_CHOICE, "KEY", "day,model,preset,provider,tag", NULL,
     "one line per day, model, preset, provider or tag"},
    {HB_OPT_CSV, "csv", 0, HB_VALUE_NONE, NULL, NULL, NULL, "print CSV"},
    {HB_OPT_BEFORE, "before", 0, HB_VALUE_TEXT, "DATE", NULL, NULL,
     "the rows older than this day (YYYY-MM-DD, UTC)"},
};

#define N_TABLE (sizeof table / sizeof table[0])

#define LLM_OPTIONS                                                                                \
  HB_OPT_PRESET, HB_OPT_MODEL, HB_OPT_PROVIDER, HB_OPT_GATEWAY, HB_OPT_BASE_URL,                   \
      HB_OPT_API_KEY_ENV, HB_OPT_OPTION

static const hb_opt_id global_opts[] = {HB_OPT_GATEWAY_PATH, HB_OPT_VERSION, HB_OPT_HELP,
                                        HB_OPT_END};
static const hb_opt_id chat_opts[] = {LLM_OPTIONS,   HB_OPT_SYSTEM,    HB_OPT_IMAGE, HB_OPT_INCLUDE,
                                      HB_OPT_STREAM, HB_OPT_NO_STREAM, HB_OPT_JSON,  HB_OPT_TOOLS,
                                      HB_OPT_INPUT,  HB_OPT_PARALLEL,  HB_OPT_SESSION,
                                      HB_OPT_SCHEMA, HB_OPT_JSON_OBJECT, HB_OPT_MCP,
                                      HB_OPT_VERBOSE, HB_OPT_END};
static const hb_opt_id imagen_opts[] = {LLM_OPTIONS,  HB_OPT_OUTPUT, HB_OPT_ARG,   HB_OPT_SIZE,
                                        HB_OPT_COUNT, HB_OPT_SEED,   HB_OPT_IMAGE, HB_OPT_END};
static const hb_opt_id embed_opts[] = {LLM_OPTIONS, HB_OPT_INPUT, HB_OPT_JSON, HB_OPT_END};
static const hb_opt_id spec_opts[] = {LLM_OPTIONS, HB_OPT_JSON, HB_OPT_END};
static const hb_opt_id none[] = {HB_OPT_END};
static const hb_opt_id cfg_set_opts[] = {HB_OPT_GLOBAL, HB_OPT_LOCAL, HB_OPT_STRING, HB_OPT_END};
static const hb_opt_id cfg_unset_opts[] = {HB_OPT_GLOBAL, HB_OPT_LOCAL, HB_OPT_END};
static const hb_opt_id cache_opts[] = {HB_OPT_NAMESPACE, HB_OPT_JSON, HB_OPT_END};
static const hb_opt_id cache_clear_opts[] = {HB_OPT_NAMESPACE, HB_OPT_END};
static const hb_opt_id json_only[] = {HB_OPT_JSON, HB_OPT_END};
static const hb_opt_id gateways_list_opts[] = {HB_OPT_ALL, HB_OPT_JSON, HB_OPT_END};
static const hb_opt_id usage_opts[] = {HB_OPT_SINCE, HB_OPT_UNTIL, HB_OPT_BY,  HB_OPT_JSON,
                                       HB_OPT_CSV,   HB_OPT_BEFORE, HB_OPT_END};
static const hb_opt_id doctor_opts[] = {HB_OPT_JSON, HB_OPT_ONLINE, HB_OPT_END};
static const hb_opt_id repair_opts[] = {HB_OPT_SCHEMA, HB_OPT_TOOL_NAMES, HB_OPT_TOOL, HB_OPT_SPLIT,
                                        HB_OPT_STRICT, HB_OPT_JSON,       HB_OPT_END};

/* A command with subcommands also has a row with subcommand NULL: the options it takes in any
 * position (hb cache parses them before it knows the action). */
static const hb_command_options commands[] = {
    {NULL, NULL, global_opts},
    {"chat", NULL, chat_opts},
    {"imagen", NULL, imagen_opts},
    {"embed", NULL, embed_opts},
    {"spec", NULL, spec_opts},
    {"cfg", "show", none},
    {"cfg", "get", none},
    {"cfg", "set", cfg_set_opts},
    {"cfg", "unset", cfg_unset_opts},
    {"cfg", "paths", none},
    {"cfg", "trust", none},
    {"cache", NULL, cache_opts},
    {"cache", "stats", json_only},
    {"cache", "clear", cache_clear_opts},
    {"cache", "prune", none},
    {"gateways", "list", gateways_list_opts},
    {"gateways", "info", json_only},
    {"gateways", "check", json_only},
    {"caches", "list", gateways_list_opts},
    {"caches", "check", json_only},
    {"repair", NULL, repair_opts},
    {"mcp", "list", json_only},
    {"route", "status", json_only},
    {"usage", NULL, usage_opts},
    {"doctor", NULL, doctor_opts},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const hb_option *hb_option_table(size_t *n) {
  *n = N_TABLE;
  return table;
}

const hb_option *hb_option_get(hb_opt_id id) {
  for (size_t i = 0; i < N_TABLE; i++)
    if (table[i].id == id) return &table[i];
  return NULL;
}

const char *hb_value_kind_name(hb_value_kind kind) {
  static const char *const names[] = {
      [HB_VALUE_NONE] = "none",
      [HB_VALUE_TEXT] = "text",
      [HB_VALUE_NUMBER] = "number",
      [HB_VALUE_FILE] = "file",
      [HB_VALUE_DIR] = "dir",
      [HB_VALUE_IMAGE] = "image",
      [HB_VALUE_URL] = "url",
      [HB_VALUE_ENV] = "env",
      [HB_VALUE_PRESET] = "preset",
      [HB_VALUE_MODEL] = "model",
      [HB_VALUE_PROVIDER] = "provider",
      [HB_VALUE_GATEWAY] = "gateway",
      [HB_VALUE_KEY_VALUE] = "key=value",
      [HB_VALUE_FIELDS] = "fields",
      [HB_VALUE_CHOICE] = "choice",
      [HB_VALUE_SIZE] = "size",
      [HB_VALUE_TOOL] = "tool",
      [HB_VALUE_TOOLS] = "tools",
  };
  return (size_t)kind < sizeof names / sizeof names[0] && names[kind] ? names[kind] : "?";
}

const hb_command_options *hb_command_options_table(size_t *n) {
  *n = N_COMMANDS;
  return commands;
}

static bool same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

const hb_opt_id *hb_command_options_find(const char *command, const char *subcommand) {
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (same(commands[i].command, command) && same(commands[i].subcommand, subcommand))
      return commands[i].options;
  return NULL;
}

/* ---- Parsing ---- */

void hb_args_init(hb_args *a, const char *command, const hb_opt_id *accepted, int argc, char **argv,
                  int first) {
  *a = (hb_args){
      .command = command, .accepted = accepted, .argc = argc, .argv = argv, .next = first};
}

/* The accepted option named by `name` (its first `len` bytes), or by `letter` when it is not
 * 0. */
static const hb_option *find(const hb_args *a, const char *name, size_t len, char letter) {
  for (const hb_opt_id *id = a->accepted; *id != HB_OPT_END; id++) {
    const hb_option *o = hb_option_get(*id);
    if (letter ? o->short_name == letter
               : strlen(o->long_name) == len && !strncmp(o->long_name, name, len))
      return o;
  }
  return NULL;
}

/* "unknown option '--name'" (`len` bytes of `name`, which starts with its dashes). */
static hb_args_kind unknown(const hb_args *a, const char *name, size_t len) {
  hb_usage(a->command, "unknown option '%.*s'", (int)len, name);
  return HB_ARGS_ERROR;
}

/* The value of the option at argv[a->next - 1]: glued (`glued` not NULL: "--x=V", "-xV") or
 * the next argument, taken whatever it looks like (-s -x is a system prompt of "-x"). */
static hb_args_kind take_value(hb_args *a, hb_arg *out, const char *glued) {
  if (out->opt->kind == HB_VALUE_NONE) {
    if (!glued) return HB_ARGS_OPTION;
    hb_usage(a->command, "option '--%s' takes no value", out->opt->long_name);
    return HB_ARGS_ERROR;
  }
  if (glued) {
    out->value = glued;
  } else if (a->next < a->argc) {
    out->value = a->argv[a->next++];
  } else {
    hb_usage(a->command, "option '%s' needs a value", out->spelled);
    return HB_ARGS_ERROR;
  }
  return HB_ARGS_OPTION;
}

hb_args_kind hb_args_next(hb_args *a, hb_arg *out) {
  *out = (hb_arg){0};
  if (a->next >= a->argc) return HB_ARGS_END;
  const char *arg = a->argv[a->next++];
  out->spelled = arg;
  bool is_long = arg[0] == '-' && arg[1] == '-' && arg[2] != '\0';
  bool is_short = arg[0] == '-' && arg[1] != '-' && arg[1] != '\0';
  if (!a->ended && !strcmp(arg, "--")) {
    a->ended = true;
    return hb_args_next(a, out);
  }
  if (a->ended || (!is_long && !is_short) || (is_short && (a->flags & HB_ARGS_LONG_ONLY))) {
    out->value = arg;
    return HB_ARGS_POSITIONAL;
  }
  if (is_long) {
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    out->opt = find(a, arg + 2, len, 0);
    if (!out->opt) return unknown(a, arg, len + 2);
    return take_value(a, out, eq ? eq + 1 : NULL);
  }
  out->opt = find(a, NULL, 0, arg[1]);
  out->is_short = true;
  if (!out->opt) return unknown(a, arg, strlen(arg));
  /* "-xV" is -x with the value V; a flag's letter stands alone (no -abc bundles in hb). */
  if (out->opt->kind == HB_VALUE_NONE && arg[2] != '\0') return unknown(a, arg, strlen(arg));
  return take_value(a, out, arg[2] != '\0' ? arg + 2 : NULL);
}
