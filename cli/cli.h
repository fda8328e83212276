/* cli/cli.h: shared pieces of the hb tool. hb uses only the public API of libheavenbase. */
#ifndef HB_CLI_H
#define HB_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include <heavenbase/heavenbase.h>

#include "options.h"

/* Exit statuses: 0 success, 1 the operation failed, 2 bad usage, 4 no API key for a provider
 * that needs one (HVB_AUTH; 4 as gh's "authentication required", so a script can tell it). */
enum { HB_EXIT_OK = 0, HB_EXIT_FAIL = 1, HB_EXIT_USAGE = 2, HB_EXIT_AUTH = 4 };

int hb_cmd_chat(int argc, char **argv);
int hb_cmd_cfg(int argc, char **argv);
int hb_cmd_spec(int argc, char **argv);
int hb_cmd_repair(int argc, char **argv);
int hb_cmd_gateways(int argc, char **argv);
int hb_cmd_caches(int argc, char **argv);
int hb_cmd_cache(int argc, char **argv);
int hb_cmd_usage(int argc, char **argv);
/* "1,234 in / 567 out tokens · $0.0021 · 812 ms (ttfb 640 ms) · cached: no" and a newline. */
void hb_print_usage_line(FILE *out, const hvb_result *r);
int hb_cmd_embed(int argc, char **argv);
int hb_cmd_imagen(int argc, char **argv);
int hb_cmd_mcp(int argc, char **argv);

/* hb chat --mcp SERVER (repeatable), cli/cmd-mcp.c: the servers given, in order. */
typedef struct hb_mcp_servers {
  const char **list; /* borrowed from argv */
  int n;
} hb_mcp_servers;
void hb_mcp_servers_add(hb_mcp_servers *s, const char *server);
void hb_mcp_servers_clear(hb_mcp_servers *s);
/* The servers opened (cli/cmd-mcp.c): every handle made so far, also after a failure. */
typedef struct hb_mcp_open_set {
  hvb_mcp **list;
  int n;
} hb_mcp_open_set;
/* Start every server of `s` and add its tools to `tools`; HB_EXIT_OK, or a failure reported
 * (naming the server). Free with hb_mcp_close after the tools, whatever was returned. */
int hb_mcp_open(const hb_mcp_servers *s, hvb_tools *tools, hb_mcp_open_set *open);
void hb_mcp_close(hb_mcp_open_set *open);
/* The tool loop over every server's tools, for PROMPT: prints the answer (or with `json`,
 * the conversation's messages). With `stream`, every step is streamed: the answer's text
 * prints as it arrives, each tool step as a STEP line on stderr (`json`: each delta as a JSON
 * line). */
int hb_mcp_chat(hvb_llm *llm, const char *prompt, json_object *call, const hb_mcp_servers *s,
                bool json, bool stream);
int hb_cmd_route(int argc, char **argv);
int hb_cmd_doctor(int argc, char **argv);
int hb_cmd_completion(int argc, char **argv);
/* hb __complete -- WORD...: the candidates for the last word, one per line (completion.c). */
int hb_cmd_complete(int argc, char **argv);

/* Print the help of `command` (NULL: the overview) to `out`; false for an unknown command. */
bool hb_help(const char *command, FILE *out);

/* "hb: <what>: <message>" on stderr; returns HB_EXIT_AUTH for HVB_AUTH, else HB_EXIT_FAIL. */
int hb_fail(const char *what, const hvb_error *err);
/* When the spec fell back from the requested gateway, say so on stderr (the library only logs
 * it, and its default log is silent unless HB_LOG is set). */
void hb_warn_fallback(const hvb_spec *spec);
/* "hb: <message>" plus a hint to run `hb help <command>`; returns HB_EXIT_USAGE. */
int hb_usage(const char *command, const char *fmt, ...) HVB_ATTR_PRINTF(2, 3);

/* Options that select and configure an LLM (preset, model, provider, gateway, base URL, key
 * variable, -o KEY=VALUE), shared by chat, embed, imagen and spec. */
typedef struct hb_llm_opts {
  json_object *options; /* constructor options being built (owned) */
  json_object *call;    /* the command's call options (borrowed; NULL: the command has none) */
} hb_llm_opts;

void hb_llm_opts_init(hb_llm_opts *o);
void hb_llm_opts_clear(hb_llm_opts *o);
/* Apply one parsed option: 1 when it is one of these, 0 when not, -1 on a usage error
 * (reported: -o without '=' names the option). */
int hb_llm_opts_apply(hb_llm_opts *o, const char *command, const hb_arg *arg);
/* Add KEY=VALUE (VALUE as JSON when it parses as JSON) to the options; false when `kv` has no
 * KEY= part. A library option of calls only (hvb_option_scope: "include", "system",
 * "invalid_utf8"...) goes to o->call when the command has call options; everything else to the
 * constructor options, where the library tells its options from request arguments. */
bool hb_llm_opts_add_kv(hb_llm_opts *o, const char *kv);

/* Parse a positive integer from 1 to `max`; false when `v` is not one. */
bool hb_parse_count(const char *v, long max, long *out);

/* Print a JSON value: strings as raw text (whole, NUL bytes included) when `raw_strings`,
 * else JSON that is always valid (hb_write_json); pretty on a terminal, compact otherwise;
 * always ends with a newline. */
void hb_print_json(FILE *out, json_object *value, bool raw_strings);

/* Write `len` bytes of `s`, each byte that is not part of a UTF-8 character as U+FFFD. */
void hb_write_utf8(FILE *out, const char *s, size_t len);
/* Write `value` as JSON text (json-c `flags`), always valid UTF-8 (hb_write_utf8), no newline. */
void hb_write_json(FILE *out, json_object *value, int flags);

/* Read all of stdin; new string (free()); NULL on error. */
char *hb_read_stdin(void);
/* The same, for input that may hold NUL bytes: its length in *len (may be NULL). */
char *hb_read_stdin_len(size_t *len);

#endif
