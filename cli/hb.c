/* cli/hb.c: the hb command-line tool: global options, dispatch, help and version. */
#include "cli.h"

#include <string.h>

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
  const char *usage;
} commands[] = {
    {"chat", hb_cmd_chat, "chat with a model (prompt as argument or '-' for stdin)",
     "usage: hb chat [PROMPT|-] [-s SYSTEM] [-p PRESET] [-m MODEL] [--provider P]\n"
     "               [-g GATEWAY] [--base-url URL] [--api-key-env VAR] [--stream|--no-stream]\n"
     "               [--include FIELDS] [--json] [--tools FILE] [-o KEY=VALUE]...\n"
     "               [--image PATH_OR_URL]...\n"
     "       hb chat -i FILE [--parallel N] [options above]\n"
     "       hb chat [--session FILE] [options above]   (on a terminal: interactive)\n"
     "\n"
     "  PROMPT             the user message; '-' or none reads it from stdin (none on a\n"
     "                     terminal: an interactive session, /help lists its commands)\n"
     "  -s, --system TEXT  a system prompt\n"
     "  --image SOURCE     attach an image to the prompt (a file, an http(s) URL, a data\n"
     "                     URL); repeatable\n"
     "  -p, --preset NAME  preset (default: heavenbase.llm.default_preset, 'chat')\n"
     "  -m, --model NAME   model or alias (unknown names pass through as the model id)\n"
     "  --provider NAME    provider from the catalog\n"
     "  -g, --gateway NAME gateway (openai, mock, ...; see hb gateways list); one that\n"
     "                     cannot be loaded falls back to openai, with a warning\n"
     "  --base-url URL     the provider endpoint, e.g. http://127.0.0.1:8000/v1\n"
     "  --api-key-env VAR  read the API key from environment variable VAR\n"
     "  --stream           stream the reply: the text prints as it arrives, other\n"
     "                     --include fields follow as JSON when it ends\n"
     "  --no-stream        one request, one response (the default)\n"
     "  --include FIELDS   comma-separated: text (default), think, content, message,\n"
     "                     messages, delta, tool_calls, usage, raw, cost, timing\n"
     "  --json             print JSON (with --stream: one JSON delta per line)\n"
     "  --tools FILE       send the OpenAI tools array in FILE; when the model answers\n"
     "                     with tool calls and no text, they print as a JSON array\n"
     "  --mcp SERVER       run a tool loop with the tools of an MCP server: a command\n"
     "                     line, an http(s) URL or a config name (see hb mcp); its\n"
     "                     results go back to the model; repeatable; --json prints the\n"
     "                     conversation's messages\n"
     "  -o KEY=VALUE       a request argument or option; VALUE is JSON when it parses\n"
     "                     as JSON, else a string (-o temperature=0 -o max_tokens=64)\n"
     "  -i, --input FILE   one chat per line of FILE ('-': stdin; empty lines skipped),\n"
     "                     run on the async engine; replies print in input order, one\n"
     "                     per line (newlines inside become spaces; --json: one JSON\n"
     "                     value per line, {\"error\": ...} for a failed line)\n"
     "  --parallel N       with -i: at most N chats in flight (default 1); a progress\n"
     "                     bar goes to stderr when it is a terminal\n"
     "  --session FILE     interactive: resume the session saved in FILE, and save it\n"
     "                     there after each turn\n"
     "  -v, --verbose      after the reply, one line on stderr: tokens, cost, time\n"
     "                     (and time to first byte), cached\n"},
    {"imagen", hb_cmd_imagen, "generate images from a prompt and save them",
     "usage: hb imagen PROMPT [-O FILE] [--size WxH] [-n N] [--seed S] [--image REF]...\n"
     "                 [-p PRESET] [-m MODEL] [--provider P] [-g GATEWAY] [--base-url URL]\n"
     "                 [--api-key-env VAR] [-o KEY=VALUE]...\n"
     "\n"
     "  PROMPT             what to draw\n"
     "  -O, --output FILE  where to save; with -n > 1, FILE-1.EXT, FILE-2.EXT...\n"
     "                     (default: imagen-1.png, ...)\n"
     "  --size WxH         e.g. 1024x1024\n"
     "  -n, --count N      how many images (default 1)\n"
     "  --seed S           a seed (a seeded request is answered from the cache next time)\n"
     "  --image REF        a reference image (file, URL, data URL); repeatable\n"
     "  -p, --preset NAME  preset (default: 'imagen')\n"
     "  -o KEY=VALUE       a request argument or option (-o quality=high); VALUE is JSON\n"
     "                     when it parses as JSON (--arg KEY=VALUE is the same)\n"
     "  -o FILE            deprecated (a value without '='): the output file, with a\n"
     "                     warning; use -O FILE\n"
     "  Prints one line per image: the saved path, its probed size and format.\n"},
    {"cfg", hb_cmd_cfg, "show and edit the layered configuration",
     "usage: hb cfg show [KEY]\n"
     "       hb cfg get KEY\n"
     "       hb cfg set KEY VALUE [--global|--local] [--string]\n"
     "       hb cfg unset KEY [--global|--local]\n"
     "       hb cfg paths\n"
     "       hb cfg trust [DIR]\n"
     "\n"
     "  KEY is dotted and includes the root: heavenbase.llm.default_preset\n"
     "  VALUE is JSON when it parses as JSON (42, true, [1,2], {\"a\":1}), else a string;\n"
     "  --string always stores a string.\n"
     "  --global  the user file ($HB_CONFIG_DIR or ~/.config/heavenbase/config.json), default\n"
     "  --local   the project file (.heavenbase/config.json, nearest parent or here)\n"
     "  A key that is not set is exit status 1. A key the library reads takes a value of\n"
     "  its type and range (hb cfg set refuses others, exit status 2); keys have at most\n"
     "  16 parts and 256 bytes.\n"
     "  trust     let the project DIR (default: the one holding the nearest .heavenbase/)\n"
     "            change where API keys are sent (base_url, api_key_env, headers); a\n"
     "            project file that does so is ignored until then\n"},
    {"embed", hb_cmd_embed, "embed texts (arguments, or one per line of a file) as vectors",
     "usage: hb embed [TEXT...|-i FILE] [-p PRESET] [-m MODEL] [--provider P] [-g GATEWAY]\n"
     "                [--base-url URL] [--api-key-env VAR] [-o KEY=VALUE]... [--json]\n"
     "\n"
     "  TEXT...            texts to embed; with none and no -i, stdin is read as FILE\n"
     "  -i, --input FILE   one text per line ('-' for stdin); empty lines are skipped\n"
     "  -p, --preset NAME  preset (default: 'embed')\n"
     "  --json             one JSON object per line: {\"index\", \"embedding\"}, and a last\n"
     "                     line {\"count\", \"dim\", \"cached\", \"requests\", \"usage\",\n"
     "                     \"elapsed\"}; without it, one JSON array of numbers per line\n"
     "  -o KEY=VALUE       an option or request argument: embedding_batch_size=N,\n"
     "                     embedding_max_workers=N, dimensions=N, input_type=query, cache=false\n"
     "  Vectors print in input order. Repeated texts are sent once; cached ones not at all.\n"
     "  With many inputs and a terminal on stderr, a progress bar shows the batches.\n"},
    {"cache", hb_cmd_cache, "show, clear or prune the response cache",
     "usage: hb cache stats [--json]\n"
     "       hb cache clear [--namespace NS]\n"
     "       hb cache prune\n"
     "\n"
     "  stats   entries, bytes and hits per namespace (text, embedding, image), and the\n"
     "          database file ($HB_CACHE_DIR/llm-cache or ~/.cache/heavenbase/llm-cache)\n"
     "  clear   remove every entry, or those of one namespace, and reset the hit counts\n"
     "  prune   remove the entries past their namespace's ttl_seconds, and the least\n"
     "          recently used ones beyond heavenbase.llm.cache.max_bytes\n"},
    {"usage", hb_cmd_usage, "what the calls cost: the usage ledger, by day, model...",
     "usage: hb usage [--since DATE] [--until DATE] [--by day|model|preset|provider|tag]\n"
     "                [--json|--csv]\n"
     "       hb usage prune --before DATE\n"
     "\n"
     "  Calls, failures, cache hits, tokens in/out/cached, cost in USD and the cost the\n"
     "  cache saved, from the usage ledger ($HB_CACHE_DIR/usage.sqlite or\n"
     "  ~/.local/state/heavenbase/usage.sqlite; heavenbase.llm.usage.path), with totals.\n"
     "  Dates are UTC days (YYYY-MM-DD); --until includes its day. On a terminal,\n"
     "  --by day also draws the spend per day as bars. Calls without a price count as\n"
     "  'unpriced' and add nothing to the cost.\n"
     "  prune   remove the rows older than DATE\n"},
    {"spec", hb_cmd_spec, "show how a preset/model/provider/gateway resolves",
     "usage: hb spec [-p PRESET] [-m MODEL] [--provider P] [-g GATEWAY] [--base-url URL]\n"
     "               [--api-key-env VAR] [-o KEY=VALUE]... [--json]\n"
     "\n"
     "  Prints the resolved spec with its hash_key and client_key. API keys are never\n"
     "  printed: only whether one is set. After a gateway fallback it also shows\n"
     "  requested_gateway and gateway_fallback_reason.\n"},
    {"gateways", hb_cmd_gateways, "list gateway plugins, and why a file was refused",
     "usage: hb gateways list [--all] [--json]\n"
     "       hb gateways info NAME [--json]\n"
     "       hb gateways check PATH [--json]\n"
     "\n"
     "  list   usable gateways: name, version, capabilities, path (or 'built in');\n"
     "         --all adds every refused file with its state (incompatible, broken,\n"
     "         duplicate), the stage it failed at and the reason, and the search path\n"
     "  info   one gateway in detail (exit 1 when it is not usable)\n"
     "  check  load one hb-gateway-NAME.so file and report; exit 1 when not loadable\n"
     "\n"
     "  Search order: hb --gateway-path DIR (repeatable), $HB_GATEWAY_PATH (colon-\n"
     "  separated), ~/.local/share/heavenbase/gateways-1, then the system directory\n"
     "  (pkg-config --variable=gatewaydir heavenbase). The first file of a name wins.\n"},
    {"caches", hb_cmd_caches, "list cache backend plugins, and why a file was refused",
     "usage: hb caches list [--all] [--json]\n"
     "       hb caches check PATH [--json]\n"
     "\n"
     "  list   usable cache backends (sqlite is built in): name, version,\n"
     "         capabilities, path; --all adds refused files with their state, stage and\n"
     "         reason, and the search path\n"
     "  check  load one hb-cache-NAME.so file and report; exit 1 when not loadable\n"
     "\n"
     "  Search order: $HB_CACHE_BACKEND_PATH (colon-separated),\n"
     "  ~/.local/share/heavenbase/caches-1, then the system directory\n"
     "  (pkg-config --variable=cachedir heavenbase). heavenbase.llm.cache.backend\n"
     "  chooses one.\n"},
    {"mcp", hb_cmd_mcp, "list the tools of an MCP server",
     "usage: hb mcp list SERVER [--json]\n"
     "\n"
     "  SERVER is a command line (stdio: the server runs as a child of hb, its stderr\n"
     "  goes to the debug log, HB_LOG=debug), an http(s) URL (Streamable HTTP), or the\n"
     "  NAME of a server in the config: heavenbase.llm.mcp.NAME = {\"command\" or\n"
     "  \"url\", \"env\", \"headers\", \"auth_env\", \"timeout\"}.\n"
     "  list   one line per tool: its name and the first line of its description;\n"
     "         --json prints the server's tools as it sent them\n"
     "\n"
     "  hb chat --mcp SERVER (repeatable) runs a tool loop over the servers' tools.\n"},
    {"route", hb_cmd_route, "show routes and their targets' circuit breakers",
     "usage: hb route status [NAME] [--json]\n"
     "\n"
     "  Shows the route NAME of the catalog (heavenbase.llm.routes.NAME), or every route:\n"
     "  strategy, targets, and each target's circuit breaker in this process, or the\n"
     "  fleet's when the cache backend shares them, marked (fleet) (closed, open,\n"
     "  half-open; failures, successes, calls that skipped it). Routes: hb chat\n"
     "  -p NAME routes a call; --include route shows what a call tried.\n"},
    {"repair", hb_cmd_repair, "repair broken tool-call arguments read from stdin",
     "usage: hb repair [--schema FILE] [--tool-names A,B] [--tool NAME] [--split] [--strict]\n"
     "                 [--json] < ARGUMENTS\n"
     "\n"
     "  Reads one tool call's arguments from stdin and prints them as compact JSON:\n"
     "  fences, prose, truncation, trailing commas, comments, single quotes, Python\n"
     "  literals, raw control characters and invalid UTF-8 are repaired. One final\n"
     "  newline (as echo adds) is not part of the arguments.\n"
     "  --schema FILE      the tool's parameters JSON schema (required fields are filled\n"
     "                     from their defaults), or an OpenAI tools array\n"
     "  --tool-names A,B   the known tools: an unknown --tool is corrected to the closest\n"
     "  --tool NAME        the tool the model called\n"
     "  --split            concatenated objects {...}{...} print as one call per line\n"
     "  --strict           unfixable arguments are an error (HVB_PARSE)\n"
     "  --json             print {\"outcome\", \"arguments\", \"edits\", \"reason\", \"tool\", ...}\n"
     "  Exit status 0 when valid or repaired, 1 when unfixable (the reason on stderr).\n"},
    {"doctor", hb_cmd_doctor, "check the setup: config, keys, plugins, cache, endpoints",
     "usage: hb doctor [--json] [--online]\n"
     "\n"
     "  One line per check, ok / warn / fail, each with a one-line fix: the config files\n"
     "  (read or refused, parse errors, unknown keys), the catalog drop-ins, the key of\n"
     "  each provider a preset uses (never the key itself), the gateway plugins and the\n"
     "  response cache (integrity, size, permissions). Changes nothing.\n"
     "  --online           also GET /models from each provider's endpoint, with timing\n"
     "  --json             print {\"checks\": [{status, check, message, fix}], \"ok\"}\n"
     "  Exit status 0 when no check fails, 1 otherwise.\n"},
    {"completion", hb_cmd_completion, "print the bash or zsh completion script",
     "usage: hb completion bash|zsh\n"
     "\n"
     "  Prints the script; packages install it (bash-completion/completions/hb and the\n"
     "  zsh site-functions). To try it: source <(hb completion bash). Options, commands\n"
     "  and values (presets, models, providers, gateways, fields, files) come from hb.\n"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

bool hb_help(const char *command, FILE *out) {
  if (command) {
    for (size_t i = 0; i < N_COMMANDS; i++) {
      if (!strcmp(commands[i].name, command)) {
        fputs(commands[i].usage, out);
        return true;
      }
    }
    return false;
  }
  fputs("usage: hb [--version] [--gateway-path DIR]... [help [COMMAND]] COMMAND [ARGS]\n"
        "\n  --gateway-path DIR  search DIR for gateway plugins first (before COMMAND)\n"
        "\ncommands:\n",
        out);
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fputs("\nenvironment: HB_CONFIG_DIR, HB_CACHE_DIR, HB_GATEWAY_PATH, HB_LOG (error|warn|info|\n"
        "debug), provider keys such as OPENAI_API_KEY and OPENROUTER_API_KEY. See hb(1).\n",
        out);
  return true;
}

static void print_version(void) {
  printf("hb %s (libheavenbase %s)\n", HVB_VERSION_STRING, hvb_version());
}

/* Print the help of `topic` (NULL: the overview) on stdout. */
static int help(const char *topic) {
  if (!hb_help(topic, stdout)) return hb_usage(NULL, "unknown command '%s'", topic);
  return HB_EXIT_OK;
}

/* The options before the command: --gateway-path DIR (repeatable), --version, --help. Returns
 * the index of the command in argv (argc when there is none), or -1 when hb is done: *rc is
 * then its exit status. */
static int global_options(int argc, char **argv, int *rc) {
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, NULL, hb_command_options_find(NULL, NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) {
      *rc = HB_EXIT_USAGE;
      return -1;
    }
    if (k == HB_ARGS_POSITIONAL) return a.next - 1;
    if (arg.opt->id == HB_OPT_VERSION) {
      print_version();
      *rc = HB_EXIT_OK;
      return -1;
    }
    if (arg.opt->id == HB_OPT_HELP) {
      *rc = help(a.next < argc ? argv[a.next] : NULL);
      return -1;
    }
    hvb_error err = HVB_ERROR_INIT;
    if (!hvb_gateway_path_add(arg.value, &err)) {
      *rc = hb_usage(NULL, "--gateway-path: %s", err.message);
      return -1;
    }
  }
  return argc;
}

/* hb COMMAND ARGS: `hb COMMAND --help` shows the usage, whatever else is there. */
static int run_command(int argc, char **argv) {
  const char *cmd = argv[0];
  if (!strcmp(cmd, "version")) {
    print_version();
    return HB_EXIT_OK;
  }
  if (!strcmp(cmd, "help")) return help(argc > 1 ? argv[1] : NULL);
  if (!strcmp(cmd, "__complete")) return hb_cmd_complete(argc, argv); /* for the scripts */
  for (size_t i = 0; i < N_COMMANDS; i++) {
    if (strcmp(commands[i].name, cmd)) continue;
    for (int a = 1; a < argc; a++) {
      if (!strcmp(argv[a], "--")) break;
      if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
        fputs(commands[i].usage, stdout);
        return HB_EXIT_OK;
      }
    }
    return commands[i].run(argc, argv);
  }
  return hb_usage(NULL, "unknown command '%s'", cmd);
}

int main(int argc, char **argv) {
  int rc = HB_EXIT_OK;
  int first = global_options(argc, argv, &rc);
  if (first < 0) return rc;
  if (first >= argc) {
    hb_help(NULL, stderr);
    return HB_EXIT_USAGE;
  }
  return run_command(argc - first, argv + first);
}
